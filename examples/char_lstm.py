"""Character-level LSTM language model on Tiny Shakespeare, then a sample — a few lines over
the ``text_generation`` task.

    python examples/char_lstm.py --out runs/char_lstm [--set max_minutes=5]

The same as ``glassnet train recipes/char_lstm.toml --out runs/char_lstm`` followed by
``glassnet generate runs/char_lstm --prompt "ROMEO:"``: the recipe holds every setting (see
docs/rnn.md); ``--set KEY=VALUE`` overrides one. An existing run in ``--out`` is replaced.
"""
import argparse
from pathlib import Path

from glassnet.apps.text import sample
from glassnet.runs.text_generation import (TextGenerationRecipe, load_text_generation_run,
                                           train_text_generation)

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "char_lstm.toml"

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/char_lstm")
    ap.add_argument("--data-dir", help="data root holding tinyshakespeare/input.txt")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()
    recipe = TextGenerationRecipe.from_toml(RECIPE).with_overrides(args.set)
    train_text_generation(recipe, args.out, overwrite=True, data_dir=args.data_dir)
    model, chars = load_text_generation_run(args.out)
    prompt = "ROMEO:" if set("ROMEO:") <= set(chars) else ""
    print(sample(model, chars, prompt, 300, temperature=0.8, top_k=20, seed=0))
