"""Video prediction on Moving MNIST: a ConvLSTM encoder–forecaster predicts 10 future frames.

    python examples/moving_mnist.py --recipe recipes/moving_mnist.toml --out runs/moving_mnist
    python examples/moving_mnist.py --epochs 1 --train-sequences 64 --test-sequences 16  # smoke

A thin script over :mod:`glassnet.apps.video` (model, metrics and trainer live there); the
same run is ``glassnet train recipes/moving_mnist.toml --data-dir ../shared/data/mnist
--out runs/moving_mnist``. Keys of the recipe can be overridden on the command line. An
existing run in ``--out`` is replaced. Outputs in ``--out``: run.json, recipe.toml,
metrics.jsonl, weights.safetensors, frames.png (rows: input, truth, prediction) and
prediction.gif.
"""
import argparse
import dataclasses

from glassnet.apps.video import VideoRecipe, train_video
from glassnet.runs.common import print_result

KEYS = [f for f in dataclasses.fields(VideoRecipe) if f.name not in ("task", "data_dir")]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipe", help="TOML file with keys of glassnet.apps.video.VideoRecipe")
    ap.add_argument("--data-dir", help="folder of the MNIST files")
    ap.add_argument("--out", default="runs/moving_mnist")
    for f in KEYS:
        ap.add_argument("--" + f.name.replace("_", "-"), type=type(f.default))
    args = ap.parse_args(argv)
    try:
        base = VideoRecipe.from_toml(args.recipe) if args.recipe else VideoRecipe()
        given = {f.name: getattr(args, f.name) for f in KEYS if getattr(args, f.name) is not None}
        if args.data_dir:
            given["data_dir"] = args.data_dir
        recipe = VideoRecipe(**{**dataclasses.asdict(base), **given})
    except (ValueError, OSError) as e:
        raise SystemExit(f"moving_mnist.py: error: {e}") from None
    res = train_video(recipe, args.out, overwrite=True)
    print_result("video", res["test"], res["baselines"], args.out)


if __name__ == "__main__":
    main()
