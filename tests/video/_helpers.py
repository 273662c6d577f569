"""Helpers for the video tests: central differences and the shared data folder."""
import os
from pathlib import Path

import numpy as np
import pytest


def central_diff(f, arrs: dict, name: str, eps: float = 1e-6) -> np.ndarray:
    """∂f/∂arrs[name] by central differences (float64 arrays; f takes the dict)."""
    a = arrs[name]
    grad = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        old = a[idx]
        a[idx] = old + eps
        hi = f(arrs)
        a[idx] = old - eps
        lo = f(arrs)
        a[idx] = old
        grad[idx] = (hi - lo) / (2 * eps)
    return grad


def mnist_dir() -> Path:
    """The shared MNIST folder, or skip the test with the reason."""
    root = Path(os.environ["GLASSNET_DATA"]) if os.environ.get("GLASSNET_DATA") else \
        Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
    path = root / "mnist"
    if not (path / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST not found in {path} (set GLASSNET_DATA to the shared data folder)")
    return path
