"""Sentence polarity (Pang & Lee, movie reviews): a pooled BiGRU against bag-of-words
logistic regression — a few lines over the ``text_classification`` task.

    python examples/sentiment.py --out runs/sentiment [--set model=rnn --set seed=1]

The same as ``glassnet train recipes/sentiment.toml --out runs/sentiment``: the recipe holds
every setting (see docs/rnn.md); ``--set KEY=VALUE`` overrides one. An existing run in
``--out`` is replaced.
"""
import argparse
from pathlib import Path

from glassnet.runs.text_classification import (TextClassificationRecipe,
                                               train_text_classification)

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "sentiment.toml"

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/sentiment")
    ap.add_argument("--data-dir", help="data root holding sentiment/rt-polaritydata")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()
    recipe = TextClassificationRecipe.from_toml(RECIPE).with_overrides(args.set)
    train_text_classification(recipe, args.out, overwrite=True, data_dir=args.data_dir)
