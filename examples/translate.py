"""English → French translation with a GRU encoder–decoder and attention (docs/translation.md).

    python examples/translate.py --out runs/translation                      # train (recipe)
    python examples/translate.py --out runs/translation --epochs 2 --limit 2000   # quick try
    python examples/translate.py --load runs/translation "I am cold." "She is tall." --beam 5

Training reads ``recipes/translation.toml`` (``--recipe`` for another) and the pairs from
``fra-eng.zip`` (``--data``, else $GLASSNET_DATA/translation, else the repository's sibling
``shared/data/translation``). It prints per-epoch train and held-out loss, then corpus BLEU on
the held-out English sentences (greedy and beam search) and example translations; everything
also lands in ``<out>/results.json``. The same run comes from
``glassnet train recipes/translation.toml --out runs/translation``; translate afterwards with
``glassnet translate runs/translation "I am cold."``.

On a shared machine, set ``OPENBLAS_NUM_THREADS=1``: these matrices are small and BLAS threads
fighting for busy cores made each step several times slower in our runs.
"""
import argparse
import dataclasses
from pathlib import Path

from glassnet.apps.translation import Translator
from glassnet.apps.translation_train import TranslationRecipe, train_translation

ROOT = Path(__file__).resolve().parents[1]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("sentences", nargs="*", help="English sentences to translate (with --load)")
    p.add_argument("--load", metavar="RUN_DIR", help="translate with a trained run")
    p.add_argument("--beam", type=int, default=1, help="beam width for --load (1 = greedy)")
    p.add_argument("--recipe", default=str(ROOT / "recipes" / "translation.toml"))
    p.add_argument("--out", default="runs/translation", help="run directory to write")
    p.add_argument("--data", help="path of fra-eng.zip")
    for key in ("epochs", "limit", "hidden", "batch_size"):
        p.add_argument("--" + key.replace("_", "-"), type=int)
    p.add_argument("--minutes", type=float, help="wall-clock cap on training")
    args = p.parse_args()

    if args.load:
        translator = Translator.load(args.load)
        for text in args.sentences or ["I am cold.", "He is very tall.", "We are friends."]:
            print(f"{text}  ->  {translator.translate(text, beam=args.beam)}")
        return
    recipe = TranslationRecipe.from_toml(args.recipe)
    changes = {k: getattr(args, k) for k in ("data", "epochs", "limit", "hidden", "batch_size",
                                             "minutes") if getattr(args, k) is not None}
    recipe = dataclasses.replace(recipe, **changes)
    res = train_translation(recipe, args.out, overwrite=True)
    beam = f"beam{recipe.beam}"
    for ex in res["examples"]:
        print(f"{ex['en']}\n  greedy: {ex['greedy']}\n  {beam}:  {ex[beam]}\n"
              f"  refs:   {' | '.join(ex['references'][:3])}")


if __name__ == "__main__":
    main()
