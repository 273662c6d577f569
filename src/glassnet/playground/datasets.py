"""The playground's 2-D datasets: two classes of points in the plane [−6, 6]².

Each generator takes the number of points ``n``, the ``noise`` level (0 = clean, 0.5 = very
noisy) and a :class:`numpy.random.Generator`, and returns ``(x, y)``: ``x`` of shape (n, 2)
float32 and ``y`` of shape (n,) float32 holding the class, 0 or 1. The same seed gives the
same points.

* ``circles``: class 1 inside a disc of radius 2.5, class 0 on a ring between 3.5 and 5;
  noise moves each point by N(0, (2.5·noise)²) in each coordinate.
* ``xor``: points in [−5, 5]², class 1 where x₁·x₂ > 0 (quadrants I and III); the label
  comes from the clean point, the noise N(0, (2.5·noise)²) is added after.
* ``spirals``: two interleaved spiral arms of 1¾ turns, one per class, noise N(0, (2·noise)²).
* ``gaussians``: two blobs centred at (2, 2) (class 1) and (−2, −2) (class 0), with standard
  deviation 0.8 + 4·noise.
"""
from __future__ import annotations

import numpy as np

__all__ = ["DATASETS", "make_dataset", "PLANE"]

PLANE = 6.0          # the plane shown and sampled is [−PLANE, PLANE]²


def _halves(n: int) -> tuple[int, int]:
    return n // 2, n - n // 2


def circles(n: int, noise: float, rng: np.random.Generator):
    n1, n0 = _halves(n)
    r = np.concatenate([rng.uniform(0.0, 2.5, n1), rng.uniform(3.5, 5.0, n0)])
    t = rng.uniform(0.0, 2 * np.pi, n)
    x = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    y = np.concatenate([np.ones(n1), np.zeros(n0)])
    return x + rng.normal(0.0, 2.5 * noise, x.shape), y


def xor(n: int, noise: float, rng: np.random.Generator):
    x = rng.uniform(-5.0, 5.0, (n, 2))
    x += np.where(x > 0, 0.3, -0.3)                  # keep clean points off the axes
    y = (x[:, 0] * x[:, 1] > 0).astype(np.float64)
    return x + rng.normal(0.0, 2.5 * noise, x.shape), y


def spirals(n: int, noise: float, rng: np.random.Generator):
    xs, ys = [], []
    for label, (count, shift) in enumerate(zip(_halves(n), (0.0, np.pi))):
        s = np.arange(count) / max(count, 1)
        r, t = 5.0 * s, 1.75 * 2 * np.pi * s + shift
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(count, float(1 - label)))
    x = np.concatenate(xs)
    return x + rng.normal(0.0, 2.0 * noise, x.shape), np.concatenate(ys)


def gaussians(n: int, noise: float, rng: np.random.Generator):
    n1, n0 = _halves(n)
    sd = 0.8 + 4.0 * noise
    x = np.concatenate([rng.normal(2.0, sd, (n1, 2)), rng.normal(-2.0, sd, (n0, 2))])
    return x, np.concatenate([np.ones(n1), np.zeros(n0)])


DATASETS = {"circles": circles, "xor": xor, "spirals": spirals, "gaussians": gaussians}


def make_dataset(name: str, n: int, noise: float, rng: np.random.Generator):
    """``n`` shuffled points of dataset ``name`` → (x (n, 2) float32, y (n,) float32 in {0, 1}).

    Example:
        >>> x, y = make_dataset("xor", 200, 0.1, np.random.default_rng(0))
        >>> x.shape, y.shape
        ((200, 2), (200,))
    """
    if name not in DATASETS:
        raise ValueError(f"dataset {name!r}: expected one of {', '.join(DATASETS)}")
    x, y = DATASETS[name](int(n), float(noise), rng)
    order = rng.permutation(len(x))
    x = np.clip(x[order], -PLANE, PLANE)
    return x.astype(np.float32), y[order].astype(np.float32)
