"""Datasets: the map-style ``Dataset`` protocol, ``TensorDataset``, ``Subset`` and ``random_split``.

A dataset is anything with ``len(ds)`` and ``ds[i]`` (a sample, usually a tuple such as
``(image, label)``). :class:`TensorDataset` holds whole arrays, so a
:class:`~glassnet.data.DataLoader` can cut a batch out of them with one fancy-index per array
instead of a Python loop over samples.

Shape glossary: N = number of samples, C = channels, H, W = image height and width.
"""
from __future__ import annotations

import abc
import numbers

import numpy as np

from ..tensor import Tensor, get_rng

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split"]


class Dataset(abc.ABC):
    """Abstract map-style dataset: subclasses implement ``__getitem__`` and ``__len__``.

    Example:
        >>> class Squares(Dataset):
        ...     def __len__(self):
        ...         return 10
        ...     def __getitem__(self, i):
        ...         return np.float32(i), np.int64(i * i)
        >>> len(Squares())
        10
    """

    @abc.abstractmethod
    def __getitem__(self, index):
        """Return sample ``index`` (0 <= index < len(self))."""

    @abc.abstractmethod
    def __len__(self) -> int:
        """Return the number of samples."""


def _as_array(x, position: int) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.array
    if isinstance(x, np.ndarray):
        return x
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"TensorDataset(arrays[{position}]): expected an array or Tensor, "
                        f"got {type(x).__name__} that is not numeric")
    if arr.dtype.kind == "f" and arr.dtype != np.float32:
        arr = arr.astype(np.float32)          # Python floats become float32, like gn.tensor
    elif arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)            # Python ints become int64
    return arr


class TensorDataset(Dataset):
    """A dataset of equally long arrays (or Tensors), indexed together along dimension 0.

    NumPy arrays and Tensors keep their dtype (no copy); nested lists follow ``gn.tensor``'s
    rules (floats -> float32, ints -> int64).

    Args:
        *arrays: one or more arrays/Tensors with the same first dimension N.

    Shape:
        arrays[k]: (N, *) — sample ``i`` is ``tuple(Tensor(a[i]) for a in arrays)``.

    Attributes:
        arrays: the tuple of underlying ``numpy.ndarray`` objects.

    Example:
        >>> ds = TensorDataset(np.zeros((100, 1, 8, 8), np.float32), np.arange(100))
        >>> x, y = ds[3]
        >>> x.shape, y.item()
        ((1, 8, 8), 3)
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset(*arrays): expected at least one array, got none")
        arrays = tuple(_as_array(a, k) for k, a in enumerate(arrays))
        for k, a in enumerate(arrays):
            if a.ndim == 0:
                raise ValueError(f"TensorDataset(arrays[{k}]): expected at least 1 dimension "
                                 f"(N, *), got a 0-d array")
        sizes = [a.shape[0] for a in arrays]
        if len(set(sizes)) != 1:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ValueError(f"TensorDataset(*arrays): all arrays must have the same first "
                             f"dimension N, got shapes {shapes}")
        self.arrays = arrays

    def __getitem__(self, index):
        return tuple(Tensor(a[index]) for a in self.arrays)

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def __repr__(self):
        shapes = ", ".join(f"{a.shape} {a.dtype}" for a in self.arrays)
        return f"TensorDataset({shapes})"


class Subset(Dataset):
    """The samples of ``dataset`` at positions ``indices``, in that order.

    Args:
        dataset: any dataset.
        indices: sequence of integer positions into ``dataset``.

    Example:
        >>> ds = TensorDataset(np.arange(10))
        >>> len(Subset(ds, [0, 2, 4]))
        3
    """

    def __init__(self, dataset, indices):
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(dataset)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"Subset(indices): positions must lie in [0, {n}), got range "
                             f"[{idx.min()}, {idx.max()}]")
        self.dataset = dataset
        self.indices = idx % n if n else idx

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def __len__(self) -> int:
        return int(self.indices.shape[0])


def _split_lengths(lengths, n: int) -> list[int]:
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split(lengths): expected at least one length, got none")
    if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in lengths):
        if any(v < 0 for v in lengths) or sum(lengths) != n:
            raise ValueError(f"random_split(lengths): integer lengths must be >= 0 and sum to "
                             f"len(dataset)={n}, got {lengths} (sum {sum(lengths)})")
        return [int(v) for v in lengths]
    fracs = [float(v) for v in lengths]
    if any(f < 0 or f > 1 for f in fracs) or abs(sum(fracs) - 1.0) > 1e-6:
        raise ValueError(f"random_split(lengths): fractions must lie in [0, 1] and sum to 1, "
                         f"got {lengths} (sum {sum(fracs)})")
    sizes = [int(np.floor(f * n)) for f in fracs]
    for i in range(n - sum(sizes)):            # hand out the remainder round-robin
        sizes[i % len(sizes)] += 1
    return sizes


def random_split(dataset, lengths, seed: int | None = None) -> list[Subset]:
    """Split ``dataset`` into disjoint random :class:`Subset` s of the given lengths.

    Args:
        dataset: any dataset of length N.
        lengths: integers summing to N, or fractions summing to 1 (the remainder of
            ``floor(f * N)`` is handed out one by one from the first subset on).
        seed: seed for the permutation; ``None`` draws one from ``glassnet.tensor.get_rng()``
            (so ``gn.manual_seed`` makes it reproducible).

    Example:
        >>> train, val = random_split(TensorDataset(np.arange(10)), [0.8, 0.2], seed=0)
        >>> len(train), len(val)
        (8, 2)
    """
    n = len(dataset)
    sizes = _split_lengths(lengths, n)
    if seed is None:
        seed = int(get_rng().integers(2**63))
    perm = np.random.default_rng(seed).permutation(n)
    bounds = np.cumsum([0] + sizes)
    return [Subset(dataset, perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
