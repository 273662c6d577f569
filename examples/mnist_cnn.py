"""A LeNet-style CNN on MNIST: the ``image_classification`` task with ``recipes/mnist_cnn.toml``.

    python examples/mnist_cnn.py [--epochs 3] [--data-dir ../shared/data]

The same as ``glassnet train recipes/mnist_cnn.toml``. One epoch against the same model in
PyTorch, each framework alone in its own process: ``python benchmarks/jobs.py``.
"""
import argparse
from pathlib import Path

from glassnet.runs.image import ImageRecipe, train_image

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "mnist_cnn.toml"


def build_model(nn):
    """The recipe's ``cnn`` preset for 1x28x28 inputs, in glassnet.nn or torch.nn (the same
    names and arguments); benchmarks/jobs.py builds both frameworks' models with it."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--data-dir", help="folder holding mnist/ (default: $GLASSNET_DATA)")
    ap.add_argument("--out", default="runs/mnist_cnn")
    args = ap.parse_args(argv)
    recipe = ImageRecipe.from_toml(RECIPE)
    if args.epochs is not None:
        recipe = recipe.with_overrides([f"epochs={args.epochs}"])
    return train_image(recipe, args.out, overwrite=True, data_dir=args.data_dir)


if __name__ == "__main__":
    main()
