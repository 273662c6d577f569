"""Spoken-digit recognition on the Free Spoken Digit Dataset (glassnet.apps.speech).

    python examples/speech_digits.py --split random  --out runs/speech          # 10% of files
    python examples/speech_digits.py --split speaker --out runs/speech_theo     # unseen speaker
    python examples/speech_digits.py --predict runs/speech path/to/recording.wav

Hyperparameters come from ``recipes/speech.toml`` (``--recipe``); ``--split``, ``--epochs``
and ``--test-speaker`` override it. Data: ``<data-dir>/fsdd/recordings`` (``--data-dir``, else
$GLASSNET_DATA, else the repository's sibling ``shared/data``). Prints the test accuracy and
the confusion matrix (rows: true digit, columns: predicted).
"""
import argparse
import dataclasses
from pathlib import Path

import numpy as np

from glassnet.apps.speech import (SpeechRecipe, _split, list_recordings, load_features,
                                  load_speech_run, pad_frames, predict_wav, train_speech)
from glassnet.runs.rundir import data_root
from glassnet.train import predict


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default=str(Path(__file__).resolve().parents[1] / "recipes" /
                                           "speech.toml"))
    p.add_argument("--split", choices=["random", "speaker", "official"])
    p.add_argument("--test-speaker")
    p.add_argument("--epochs", type=int)
    p.add_argument("--data-dir")
    p.add_argument("--out", default="runs/speech")
    p.add_argument("--predict", nargs=2, metavar=("RUN_DIR", "WAV"))
    args = p.parse_args()
    if args.predict:
        digit, prob = predict_wav(*args.predict)
        print(f"{args.predict[1]}: {digit} (p={prob[digit]:.3f})")
        return
    recipe = SpeechRecipe.from_toml(args.recipe)
    over = {"split": args.split, "test_speaker": args.test_speaker, "epochs": args.epochs,
            "data_dir": args.data_dir}
    recipe = dataclasses.replace(recipe, **{k: v for k, v in over.items() if v is not None})
    res = train_speech(recipe, args.out, overwrite=True)
    print(f"split {recipe.split}: test accuracy {res['test']['accuracy']:.4f} on "
          f"{res['n_test']} files ({res['n_train']} train), training {res['train_seconds']:.0f} s")
    model, recipe, mean, std = load_speech_run(args.out)
    recs = list_recordings(data_root(recipe.data_dir) / "fsdd" / "recordings")
    test = _split(recs, recipe)
    files = [r for r, t in zip(recs, test) if t]
    x = pad_frames(load_features([r[0] for r in files], recipe.n_mels), mean, std)
    pred = predict(model, x, batch_size=128).argmax(1)
    conf = np.zeros((10, 10), int)
    np.add.at(conf, ([r[1] for r in files], pred), 1)
    print("confusion (rows true 0-9, columns predicted 0-9):")
    print(conf)


if __name__ == "__main__":
    main()
