"""Self-train a finished connected-digit CTC run on one of its held-out voices and print the
voice's word error rate before and after (glassnet.apps.speech_ctc_adapt.adapt_run): the
model pseudo-labels the voice's utterances it is sure of (p(best string | x) >= 0.9) and is
fine-tuned for 4 epochs on fresh training utterances plus those; the voice's labels are read
only to score.

    glassnet train recipes/speech_ctc.toml --out runs/speech_ctc
    OPENBLAS_NUM_THREADS=1 python examples/speech_ctc_adapt.py runs/speech_ctc theo
    python examples/speech_ctc_adapt.py runs/speech_ctc jackson --valid-noise-db -41
    python examples/speech_ctc_adapt.py runs/speech_ctc theo --rounds 5 --align --top 0.2
"""
import argparse
import json
from pathlib import Path

from glassnet.apps.speech_ctc_adapt import adapt_run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir", help="a finished speech_ctc run folder")
    ap.add_argument("voice", help="the run's validation or test speaker")
    ap.add_argument("--valid-noise-db", type=float, default=0.0,
                    help="the validation voice with white noise at this level in its clips")
    ap.add_argument("--control", action="store_true",
                    help="fine-tune on the training utterances alone (no pseudo-labels)")
    ap.add_argument("--rounds", type=int, default=1, help="self-training rounds (default 1)")
    ap.add_argument("--align", action="store_true",
                    help="decode aligned to the voice's class priors (pseudo-labels and final)")
    ap.add_argument("--top", type=float, default=0.0,
                    help="curriculum: round r also pseudo-labels the r*TOP most confident share")
    ap.add_argument("--save", action="store_true",
                    help="write weights-adapted-<voice>.safetensors into the run folder")
    ap.add_argument("--json", type=Path, help="write the whole result here")
    args = ap.parse_args()
    res = adapt_run(args.run_dir, args.voice, valid_noise_db=args.valid_noise_db,
                    control=args.control, save=args.save, rounds=args.rounds,
                    align=args.align, top=args.top)
    b, a = res["before"], res["after"]
    print(f"{args.voice} ({res['set']}): WER {b['wer']:.4f} -> {a['wer']:.4f}, sequences "
          f"{b['sequence_accuracy']:.3f} -> {a['sequence_accuracy']:.3f}; pseudo-labelled "
          f"{res['kept']} of {b['n']} ({res['kept_correct']} right); {res['seconds']:.0f} s")
    for r in res["rounds"][1:]:
        print(f"  round {r['round']}: pseudo-labelled {r['kept']} ({r['kept_correct']} right)")
    if "before_aligned" in res:
        print(f"  aligned, before fine-tuning: WER {res['before_aligned']['wer']:.4f}")
    for r in res["rounds"][:-1]:
        print(f"  after round {r['round']}: WER {r['after']['wer']:.4f}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
