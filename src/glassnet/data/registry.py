"""A name -> loader registry, used by the CLI (``glassnet train --data digits``)."""
from __future__ import annotations

from .dataset import TensorDataset
from .digits import load_digits
from .mnist import load_mnist

__all__ = ["get_dataset", "available_datasets"]


def _digits(root=None, split="train", **kwargs):
    if root is not None:
        raise ValueError("get_dataset('digits', root=...): digits ships with glassnet and "
                         "takes no root")
    return load_digits(split, **kwargs)


def _mnist(root=None, split="train", **kwargs):
    return load_mnist(root, split, **kwargs)


_REGISTRY = {"digits": _digits, "mnist": _mnist}


def available_datasets() -> list[str]:
    """Names accepted by :func:`get_dataset`."""
    return sorted(_REGISTRY)


def get_dataset(name: str, root=None, split: str = "train", **kwargs) -> TensorDataset:
    """Load a named dataset as a ``TensorDataset(images, labels)``.

    ``ds.arrays`` gives the underlying ``(images, labels)`` NumPy arrays (float32 in [0, 1],
    shape (N, C, H, W); int64 labels, shape (N,)).

    Args:
        name: ``"digits"`` (8x8, packaged; splits train/test/all) or ``"mnist"`` (28x28;
            splits train/test; extra keyword arguments such as ``download=True`` go to
            :func:`load_mnist`).
        root: data folder for datasets that read files (see :func:`load_mnist`).
        split: which part to load.

    Example:
        >>> ds = get_dataset("digits", split="test")
        >>> x, y = ds.arrays
        >>> x.shape
        (359, 1, 8, 8)
    """
    if name not in _REGISTRY:
        raise ValueError(f"get_dataset(name): expected one of {available_datasets()}, "
                         f"got {name!r}")
    return TensorDataset(*_REGISTRY[name](root=root, split=split, **kwargs))
