"""MNIST canvases for semantic segmentation: digits pasted on a blank canvas, a class per pixel.

Each canvas (1, size, size) holds 1-3 digits (28x28) at random positions; where two overlap the
brighter pixel wins. The target gives every pixel a class: 0 = background, 1 + d = ink
(pixel > 0.5) of a digit d, so ``NUM_CLASSES = 11``. Used by the ``segmentation`` task
(``data = "mnist-canvases"``) and ``examples/segmentation.py``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["make_canvases", "NUM_CLASSES"]

NUM_CLASSES = 11


def make_canvases(images, labels, n: int, size: int = 64, rng=None):
    """``n`` canvases built from ``images`` (M, 1, 28, 28) in [0, 1] with digit ``labels``.

    Args:
        images, labels: the digits to paste (e.g. an MNIST split).
        n: canvases to make.
        size: canvas side (>= 28).
        rng: a ``numpy.random.Generator`` (seeded by the caller); a fresh one if None.

    Shape:
        returns x (n, 1, size, size) float32 and targets (n, size, size) int64 in 0..10.

    Example:
        >>> x, t = make_canvases(images, labels, 4, rng=np.random.default_rng(0))
    """
    if size < 28:
        raise ValueError(f"make_canvases(size={size}): expected >= 28 (a digit is 28x28)")
    rng = np.random.default_rng() if rng is None else rng
    x = np.zeros((n, 1, size, size), np.float32)
    t = np.zeros((n, size, size), np.int64)
    for i in range(n):
        for _ in range(rng.integers(1, 4)):
            k = rng.integers(len(images))
            r, c = rng.integers(0, size - 28, 2)
            img = images[k, 0]
            ink = img > 0.5
            x[i, 0, r:r + 28, c:c + 28] = np.maximum(x[i, 0, r:r + 28, c:c + 28], img)
            t[i, r:r + 28, c:c + 28][ink] = 1 + labels[k]
    return x, t
