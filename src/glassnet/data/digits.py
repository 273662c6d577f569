"""UCI 8x8 handwritten digits, shipped inside the package (no download, no scikit-learn).

Source: "Optical Recognition of Handwritten Digits" (Alpaydin & Kaynak, 1998), UCI Machine
Learning Repository, https://doi.org/10.24432/C50P49 — licensed CC BY 4.0. The file
``glassnet/data/files/digits.csv.gz`` is an unchanged copy of scikit-learn's
``sklearn/datasets/data/digits.csv.gz`` (the test set of the UCI data: 1797 samples from
43 writers). Each row holds 64 pixel counts (0..16, an 8x8 image in row-major order)
followed by the label 0..9.

Shape glossary: N = 1797 samples.
"""
from __future__ import annotations

import gzip
from importlib import resources

import numpy as np

__all__ = ["load_digits", "DIGITS_SPLITS"]

#: deterministic split: every fifth sample (index % 5 == 4) is test -> 1438 train, 359 test.
DIGITS_SPLITS = ("train", "test", "all")


def _read_csv() -> np.ndarray:
    ref = resources.files("glassnet.data") / "files" / "digits.csv.gz"
    with ref.open("rb") as f:
        text = gzip.decompress(f.read()).decode("ascii")
    table = np.loadtxt(text.splitlines(), delimiter=",", dtype=np.int64)
    if table.shape != (1797, 65):
        raise ValueError(f"load_digits: packaged digits.csv.gz has shape {table.shape}, "
                         f"expected (1797, 65); the installation is damaged")
    return table


def load_digits(split: str = "all") -> tuple[np.ndarray, np.ndarray]:
    """The UCI 8x8 digits as float32 images in [0, 1] and int64 labels.

    Args:
        split: ``"all"`` (1797 samples, in file order), ``"train"`` or ``"test"`` (a fixed,
            deterministic split: sample ``i`` is test when ``i % 5 == 4``).

    Shape:
        images: (N, 1, 8, 8) float32 = counts / 16. labels: (N,) int64 in 0..9.

    Example:
        >>> x, y = load_digits()
        >>> x.shape, x.dtype, y.dtype
        ((1797, 1, 8, 8), dtype('float32'), dtype('int64'))
    """
    if split not in DIGITS_SPLITS:
        raise ValueError(f"load_digits(split): expected one of {DIGITS_SPLITS}, got {split!r}")
    table = _read_csv()
    x = table[:, :64].reshape(-1, 1, 8, 8).astype(np.float32)
    np.divide(x, np.float32(16), out=x)
    y = table[:, 64].astype(np.int64)
    if split != "all":
        test = np.arange(len(y)) % 5 == 4
        keep = test if split == "test" else ~test
        x, y = x[keep], y[keep]
    return x, y
