"""Leave-one-speaker-out report of the isolated spoken-digit model (glassnet.apps.speech).

For each of the 6 FSDD speakers in turn: that speaker is the test speaker, the next one in
the list is the validation speaker, and the model trains on the other 4. Every candidate
setting (CONFIGS: aug = speed 0.9-1.1 and gain +-6 dB, small = hidden 32 and dropout 0.5,
all = per-utterance normalisation + aug + SpecAugment, utt-16ep = per-utterance
normalisation and 16 epochs) is trained; the one with the best
VALIDATION accuracy in that fold is chosen, and only its test accuracy is the fold's result
(the test speaker never takes part in a choice). The test accuracies of the other
settings are printed for reference.

    python examples/speech_speakers.py --out runs/speech_loso   # 6 settings x 6 folds

Hyperparameters come from ``recipes/speech.toml``; ``--epochs`` overrides them.
"""
import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from glassnet.apps.speech import SPEAKERS, SpeechRecipe, train_speech

CONFIGS = {
    "plain": {},
    "utterance-norm": {"features": "utterance"},
    "aug+small": {"speed": 0.1, "gain_db": 6.0, "hidden": 32, "dropout": 0.5},
    "all+small": {"features": "utterance", "speed": 0.1, "gain_db": 6.0, "spec_augment": True,
                  "hidden": 32, "dropout": 0.5},
    "utt+aug": {"features": "utterance", "speed": 0.1, "gain_db": 6.0},
    "utt-16ep": {"features": "utterance", "epochs": 16},
}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default=str(Path(__file__).resolve().parents[1] / "recipes" /
                                           "speech.toml"))
    p.add_argument("--epochs", type=int)
    p.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    p.add_argument("--out", default="runs/speech_loso")
    args = p.parse_args()
    base = SpeechRecipe.from_toml(args.recipe)
    if args.epochs:
        base = dataclasses.replace(base, epochs=args.epochs)
    rows = []
    for i, test in enumerate(SPEAKERS):
        valid = SPEAKERS[(i + 1) % len(SPEAKERS)]
        fold = {"test": test, "valid": valid, "runs": {}}
        for name in args.configs:
            recipe = dataclasses.replace(base, split="speaker", test_speaker=test,
                                         valid_speaker=valid, **CONFIGS[name])
            res = train_speech(recipe, Path(args.out) / f"{test}-{name}", overwrite=True,
                               verbose=False)
            fold["runs"][name] = {"valid": res["valid"]["accuracy"],
                                  "test": res["test"]["accuracy"],
                                  "train_seconds": res["train_seconds"]}
            print(f"test {test:9s} valid {valid:9s} {name:24s} valid {res['valid']['accuracy']:.3f}"
                  f"  test {res['test']['accuracy']:.3f}", flush=True)
        fold["chosen"] = max(fold["runs"], key=lambda k: fold["runs"][k]["valid"])
        fold["chosen_test"] = fold["runs"][fold["chosen"]]["test"]
        rows.append(fold)
        print(f"fold {test}: chosen on {valid}: {fold['chosen']} -> test "
              f"{fold['chosen_test']:.3f}", flush=True)
    print("\n| test speaker | valid speaker | " + " | ".join(args.configs) + " | chosen "
          "(on valid) | its test accuracy |")
    print("|---|---|" + "---:|" * len(args.configs) + "---|---:|")
    for f in rows:
        cells = " | ".join(f"{f['runs'][c]['valid']:.3f} / {f['runs'][c]['test']:.3f}"
                           for c in args.configs)
        print(f"| {f['test']} | {f['valid']} | {cells} | {f['chosen']} | "
              f"**{f['chosen_test']:.3f}** |")
    means = {c: float(np.mean([f["runs"][c]["test"] for f in rows])) for c in args.configs}
    chosen = float(np.mean([f["chosen_test"] for f in rows]))
    print(f"mean test accuracy: chosen per fold on validation {chosen:.3f}; per setting "
          + ", ".join(f"{c} {m:.3f}" for c, m in means.items()))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "loso.json").write_text(json.dumps(
        {"folds": rows, "mean_chosen_test": chosen, "mean_test": means}, indent=1))


if __name__ == "__main__":
    main()
