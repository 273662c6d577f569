"""Decode one held-out voice with a seed ensemble of finished connected-digit CTC runs (the
same recipe, other seeds: their frame posteriors averaged), self-train the ensemble there
(its confident strings, p >= 0.9, pseudo-label the voice; every member is fine-tuned on
them for 4 epochs) and print the voice's word error rate before and after, beside each
member's own (glassnet.apps.speech_ctc_ensemble.adapt_ensemble); the voice's labels are
read only to score.

    glassnet train recipes/speech_ctc.toml --out runs/s0          # --set seed=1, seed=2 alike
    OPENBLAS_NUM_THREADS=1 python examples/speech_ctc_ensemble.py runs/s0 runs/s1 runs/s2 theo
    python examples/speech_ctc_ensemble.py runs/s0 runs/s1 runs/s2 jackson --valid-noise-db -41
    # the recipe's self-training (5 rounds, aligned, curriculum), members combined by strings:
    python examples/speech_ctc_ensemble.py runs/s0 runs/s1 runs/s2 theo --combine strings \
        --rounds 5 --align --top 0.2
"""
import argparse
import json
from pathlib import Path

from glassnet.apps.speech_ctc_ensemble import adapt_ensemble


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dirs", nargs="+", help="finished speech_ctc runs differing in seed")
    ap.add_argument("voice", help="their validation or test speaker")
    ap.add_argument("--valid-noise-db", type=float, default=0.0,
                    help="the validation voice with white noise at this level in its clips")
    ap.add_argument("--no-singles", action="store_true",
                    help="skip self-training each member alone (faster)")
    ap.add_argument("--combine", choices=("frames", "strings"), default="frames",
                    help="average the frame posteriors, or rescore the members' best strings "
                         "by the mixture's probability")
    ap.add_argument("--rounds", type=int, default=1, help="self-training rounds")
    ap.add_argument("--align", action="store_true",
                    help="decode with outputs aligned to the voice's class priors")
    ap.add_argument("--top", type=float, default=0.0,
                    help="curriculum: round r also keeps the r*TOP most confident utterances")
    ap.add_argument("--json", type=Path, help="write the whole result here")
    args = ap.parse_args()
    res = adapt_ensemble(args.run_dirs, args.voice, valid_noise_db=args.valid_noise_db,
                         singles=not args.no_singles, combine=args.combine,
                         rounds=args.rounds, align=args.align, top=args.top)
    for m in res["members"]:
        after = f" -> {m['after']['wer']:.4f} (kept {m['kept']}, {m['kept_correct']} right)" \
            if "after" in m else ""
        print(f"  member seed {m['seed']} ({m['run']}): WER {m['before']['wer']:.4f}{after}")
    e = res["ensemble"]
    print(f"{args.voice} ({res['set']}): ensemble of {len(res['members'])} WER "
          f"{e['before']['wer']:.4f} -> {e['after']['wer']:.4f}, sequences "
          f"{e['before']['sequence_accuracy']:.3f} -> {e['after']['sequence_accuracy']:.3f}; "
          f"pseudo-labelled {e['kept']} of {e['before']['n']} ({e['kept_correct']} right); "
          f"members' mean WER {res['members_mean']['before']:.4f}"
          + (f" -> {res['members_mean']['after']:.4f}" if "after" in res["members_mean"]
             else "") + f"; {res['seconds']:.0f} s")
    if "singles_average" in res:
        print(f"  the members self-trained alone, combined: WER "
              f"{res['singles_average']['after']['wer']:.4f}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1, default=int))


if __name__ == "__main__":
    main()
