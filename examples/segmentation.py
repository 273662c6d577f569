"""Semantic segmentation of real MNIST digits with a small U-Net: the ``segmentation`` task.

    python examples/segmentation.py                          # recipes/segmentation.toml
    python examples/segmentation.py --set train_canvases=500 --set epochs=1   # smoke run

The same as ``glassnet train recipes/segmentation.toml``: 64x64 canvases holding 1-3 MNIST
digits (glassnet.data.canvases), a U-Net-like encoder-decoder (glassnet.runs.unet), per-pixel
cross-entropy through glassnet.train.fit with early stopping on the validation mean IoU, and
the test mean IoU and pixel accuracy against the all-background baseline. Copies the run's
input / target / prediction picture to --picture.
"""
import argparse
import shutil
from pathlib import Path

from glassnet.runs.segmentation import SegmentationRecipe, train_segmentation

REPO = Path(__file__).resolve().parents[1]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a key of recipes/segmentation.toml")
    ap.add_argument("--data-dir", help="folder holding mnist/ (default: ../shared/data)")
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "segmentation")
    ap.add_argument("--picture", type=Path, default=REPO / "docs" / "segmentation.png")
    args = ap.parse_args(argv)
    recipe = SegmentationRecipe.from_toml(REPO / "recipes" / "segmentation.toml")
    record = train_segmentation(recipe.with_overrides(args.set), args.out, overwrite=True,
                                data_dir=args.data_dir)
    if (args.out / "segmentation.png").is_file():
        shutil.copyfile(args.out / "segmentation.png", args.picture)
        print(f"saved {args.picture}")
    return record


if __name__ == "__main__":
    main()
