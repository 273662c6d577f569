"""Leave-one-speaker-out report of the isolated spoken-digit model (glassnet.apps.speech),
with every choice made by an inner leave-one-speaker-out on the other five speakers.

Protocol, for each of the 6 FSDD speakers T in turn (the outer test speaker):

1. inner choice: for each candidate setting (CONFIGS) and each of the 5 other speakers V,
   train on the 4 speakers left (neither T nor V) and measure the accuracy on V; the setting
   with the best mean over the 5 V is chosen. T takes no part in it.
2. the chosen setting trains on all 5 speakers other than T and is tested once on T.

An inner run depends only on the pair {T, V} (it trains on the other 4), so each pair and
setting is trained once (15 pairs x settings) and its accuracy on V serves the outer fold of
T, its accuracy on T the outer fold of V; then 6 final runs. Runs are deterministic.
Settings with ``adapt_rounds`` (self-training on a held-out voice's unlabelled recordings)
adapt a pair's run to T and to V separately, each from the trained model: V's accuracy
never depends on T's recordings.

    OPENBLAS_NUM_THREADS=1 python examples/speech_speakers.py --out runs/speech_loso

Hyperparameters come from ``recipes/speech.toml``, each setting overriding some keys;
``--configs`` picks a subset, ``--reference`` also trains every setting's final run (their
test accuracies are printed for reference only, never used to choose).
"""
import argparse
import dataclasses
import itertools
import json
import time
from pathlib import Path

import numpy as np

from glassnet.apps.speech import (SPEAKERS, SpeechRecipe, frame_features, list_recordings,
                                  load_speech_run, pad_frames, read_wav, speaker_stats,
                                  train_speech)
from glassnet.apps.speech_augment import normalise
from glassnet.runs.rundir import data_root
from glassnet.tensor import Tensor, no_grad

UTT16 = {"features": "utterance", "epochs": 16, "trim_db": 30.0}
SPK16 = {**UTT16, "features": "speaker"}
CONFIGS = {
    "utt+trim": UTT16,
    "spk+trim": SPK16,
    "spk+trim+mfcc-d": {**SPK16, "n_mfcc": 13, "deltas": True},
    "spk+trim+vtlp": {**SPK16, "vtlp": 0.1},
    "spk+trim x3": {**SPK16, "seeds": 3},
    "spk+trim+mfcc-d x3": {**SPK16, "n_mfcc": 13, "deltas": True, "seeds": 3},
    "spk+trim+vtlp-24ep x3": {**SPK16, "vtlp": 0.1, "epochs": 24, "seeds": 3},
    # self-training on the held-out voice's own unlabelled recordings (apps/speech_adapt.py):
    # pseudo-labels of p >= 0.9, 4 epochs of fine-tuning per round, 1 or 2 rounds
    "spk+trim+adapt": {**SPK16, "adapt_rounds": 1},
    "spk+trim+adapt2": {**SPK16, "adapt_rounds": 2},
    "spk+trim+adapt x3": {**SPK16, "adapt_rounds": 1, "seeds": 3},
    "spk+trim+adapt2 x3": {**SPK16, "adapt_rounds": 2, "seeds": 3},
    # the held-out voice's probabilities aligned to a uniform class prior (no training),
    # then as pseudo-labels and predictions of 2 rounds of self-training
    "spk+trim+align": {**SPK16, "adapt_balance": True},
    "spk+trim+adapt2+align": {**SPK16, "adapt_rounds": 2, "adapt_balance": True},
    "spk+trim+adapt2+align x3": {**SPK16, "adapt_rounds": 2, "adapt_balance": True,
                                 "seeds": 3},
}
_DONE = {}                    # recipe -> predictions: a seed shared by two settings runs once
REUSE = False                 # --reuse: a run folder holding the same recipe is read, not rerun


def _finished(recipe, run_dir) -> bool:
    run_dir = Path(run_dir)
    return (REUSE and (run_dir / "predictions.npz").is_file()
            and SpeechRecipe.from_toml(run_dir / "recipe.toml") == recipe)


def accuracy(recipe, run_dir, settings: dict) -> dict:
    """``{speaker: accuracy}`` on the recipe's test and validation speakers; a setting with
    ``"seeds": k`` trains k models (seeds seed … seed + k − 1) and averages their class
    probabilities (``predictions.npz`` of each run): an ensemble."""
    settings = dict(settings)
    seeds = settings.pop("seeds", 1)
    probs = {}
    for k in range(seeds):
        r = dataclasses.replace(recipe, seed=recipe.seed + k, **settings)
        if repr(r) not in _DONE:
            if not _finished(r, f"{run_dir}-seed{k}"):
                train_speech(r, f"{run_dir}-seed{k}", overwrite=True, verbose=False)
            _DONE[repr(r)] = dict(np.load(f"{run_dir}-seed{k}/predictions.npz"))
        pred = _DONE[repr(r)]
        for part in ("test", "valid"):
            probs[part] = probs.get(part, 0) + pred[f"{part}_probs"] / seeds
            probs[part + "_labels"] = pred[f"{part}_labels"]
    out = {recipe.test_speaker: float((probs["test"].argmax(1) == probs["test_labels"]).mean())}
    if recipe.valid_speaker:
        out[recipe.valid_speaker] = float((probs["valid"].argmax(1)
                                           == probs["valid_labels"]).mean())
    return out


def few_recordings_accuracy(run_dirs, speaker: str, k: int, draws: int = 5) -> float:
    """Test accuracy of ``features = "speaker"`` runs (their probabilities averaged: one run,
    or a seed ensemble) when the held-out speaker's statistics come from only ``k`` of its
    recordings (random, ``draws`` times; mean accuracy over all 500) instead of all of them:
    what a new voice needs before the model adapts to it."""
    runs = [load_speech_run(d) for d in run_dirs]
    recipe = runs[0][1]
    recs = [r for r in list_recordings(data_root(recipe.data_dir) / "fsdd" / "recordings")
            if r[2] == speaker]
    feats = [frame_features(read_wav(r[0]), recipe) for r in recs]
    labels = np.array([r[1] for r in recs])
    accs = []
    for d in range(draws):
        pick = np.random.default_rng(d).choice(len(feats), k, replace=False)
        stats = speaker_stats([feats[i] for i in pick], [speaker] * k)[0]
        probs = 0
        for model, _, mean, std in runs:
            x = pad_frames([normalise(f, stats) for f in feats], mean, std)
            with no_grad():
                logits = np.concatenate([model(Tensor(x[i:i + 256])).array
                                         for i in range(0, len(x), 256)]).astype(np.float64)
            p = np.exp(logits - logits.max(1, keepdims=True))
            probs = probs + p / p.sum(1, keepdims=True)
        accs.append(float((probs.argmax(1) == labels).mean()))
    return float(np.mean(accs))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default=str(Path(__file__).resolve().parents[1] / "recipes" /
                                           "speech.toml"))
    p.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    p.add_argument("--reference", action="store_true")
    p.add_argument("--reuse", action="store_true", help="read finished runs of the same "
                   "recipe in --out instead of training them again (runs are deterministic)")
    p.add_argument("--few", type=int, default=10, help="for speaker-normalised picks, also "
                   "report the test speaker with statistics from only this many recordings")
    p.add_argument("--out", default="runs/speech_loso")
    args = p.parse_args()
    base = dataclasses.replace(SpeechRecipe.from_toml(args.recipe), split="speaker")
    global REUSE
    REUSE = args.reuse
    out, start = Path(args.out), time.perf_counter()
    inner = {c: {} for c in args.configs}            # inner[c][(T, V)] = accuracy on V
    for (a, b), c in itertools.product(itertools.combinations(SPEAKERS, 2), args.configs):
        acc = accuracy(dataclasses.replace(base, test_speaker=a, valid_speaker=b),
                       out / "inner" / f"{a}-{b}-{c}", CONFIGS[c])
        inner[c][(a, b)], inner[c][(b, a)] = acc[b], acc[a]
        print(f"inner {c:18s} trained without {a}, {b}: {b} {acc[b]:.3f}  {a} {acc[a]:.3f}",
              flush=True)
    folds = []
    for t in SPEAKERS:
        score = {c: float(np.mean([inner[c][(t, v)] for v in SPEAKERS if v != t]))
                 for c in args.configs}
        chosen = max(args.configs, key=score.get)
        finals = {}
        for c in args.configs if args.reference else [chosen]:
            recipe = dataclasses.replace(base, test_speaker=t, valid_speaker="")
            finals[c] = accuracy(recipe, out / "final" / f"{t}-{c}", CONFIGS[c])[t]
        few = None                  # (an adapted model is adapted with all 500 recordings)
        if (CONFIGS[chosen].get("features") == "speaker" and args.few
                and not CONFIGS[chosen].get("adapt_rounds")
                and not CONFIGS[chosen].get("adapt_balance")):
            few = few_recordings_accuracy([out / "final" / f"{t}-{chosen}-seed{k}" for k in
                                           range(CONFIGS[chosen].get("seeds", 1))], t, args.few)
        folds.append({"test": t, "inner": score, "chosen": chosen, "test_accuracy":
                      finals[chosen], "reference_test": finals, "few": few})
        print(f"fold {t}: inner means " + ", ".join(f"{c} {s:.3f}" for c, s in score.items())
              + f" -> {chosen}: test {finals[chosen]:.3f}"
              + (f" ({few:.3f} with {args.few} recordings' statistics)" if few else ""),
              flush=True)
    seconds = time.perf_counter() - start
    print("\n| test speaker | " + " | ".join(f"inner {c}" for c in args.configs)
          + f" | chosen (inner LOSO) | its test accuracy | same, stats of {args.few} recordings |")
    print("|---|" + "---:|" * len(args.configs) + "---|---:|---:|")
    fmt = lambda v: "–" if v is None else f"{v:.3f}"                   # noqa: E731
    for f in folds:
        print(f"| {f['test']} | " + " | ".join(f"{f['inner'][c]:.3f}" for c in args.configs)
              + f" | {f['chosen']} | **{f['test_accuracy']:.3f}** | {fmt(f['few'])} |")
    tests = [f["test_accuracy"] for f in folds]
    inner_means = {c: float(np.mean([f["inner"][c] for f in folds])) for c in args.configs}
    few = [f["few"] for f in folds if f["few"] is not None]
    print("| mean | " + " | ".join(f"{inner_means[c]:.3f}" for c in args.configs)
          + f" | | **{np.mean(tests):.3f}** | {fmt(np.mean(few) if few else None)} |")
    print(f"\nheld-out speaker accuracy: mean {np.mean(tests):.3f}, min {min(tests):.3f}, "
          f"max {max(tests):.3f}; {len(folds)} folds, {seconds:.0f} s")
    if args.reference:
        for c in args.configs:
            print(f"reference (not a choice): {c} on every fold: mean test "
                  f"{np.mean([f['reference_test'][c] for f in folds]):.3f}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "loso.json").write_text(json.dumps(
        {"configs": {c: CONFIGS[c] for c in args.configs}, "folds": folds,
         "mean_test": float(np.mean(tests)), "min_test": float(min(tests)),
         "seconds": round(seconds, 1)}, indent=1))


if __name__ == "__main__":
    main()
