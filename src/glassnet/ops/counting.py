"""Counting and searching: count_nonzero, bincount, unique, searchsorted, bucketize, histc.

Their outputs are integer counts or positions (``histc`` gives float counts), so none of them
has a gradient, as in PyTorch.
"""
import numpy as np

from ..backend import xp_of
from ..tensor import Tensor
from ._util import norm_dim

__all__ = ["count_nonzero", "bincount", "unique", "searchsorted", "bucketize", "histc"]


def _data(x, name: str, arg: str = "input"):
    if isinstance(x, Tensor):
        return x.array
    if isinstance(x, (int, float, bool, np.number, np.ndarray, list, tuple)):
        return np.asarray(x)
    raise TypeError(f"{name}(): expected a tensor for {arg}, got {type(x).__name__}")


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """How many elements are not zero (over ``dim``: int, tuple or all), as int64."""
    x = _data(input, "count_nonzero")
    axes = norm_dim(dim, x.ndim, "count_nonzero", x.shape)
    if x.ndim == 0 and axes is not None:          # dim 0 of a 0-d tensor: nothing to reduce
        axes = ()
    xp = xp_of(x)
    return Tensor(xp.asarray((x != 0).sum(axis=axes), dtype=np.int64))


def bincount(input: Tensor, weights=None, minlength: int = 0) -> Tensor:
    """Occurrences of each value ``0..max`` of a 1-D non-negative integer tensor (summed
    ``weights`` instead of ones when given): int64, or the weights' float dtype."""
    x = _data(input, "bincount")
    if x.ndim != 1 or x.dtype.kind not in "iu" or (x.size and int(x.min()) < 0):
        raise ValueError(f"bincount(): expected a 1-D tensor of non-negative ints, got "
                         f"{x.dtype} of shape {x.shape}")
    xp = xp_of(x)
    if weights is None:
        return Tensor(xp.bincount(x, minlength=int(minlength)).astype(np.int64))
    w = _data(weights, "bincount", "weights")
    if w.shape != x.shape:
        raise ValueError(f"bincount(): weights of shape {w.shape} must match the input of "
                         f"shape {x.shape}")
    dtype = w.dtype if w.dtype.kind == "f" else np.float64
    return Tensor(xp.bincount(x, weights=w, minlength=int(minlength)).astype(dtype))


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim=None):
    """The distinct values (sorted), like ``torch.unique``; optionally where each element went
    (``return_inverse``, input's shape) and how often each value occurs (``return_counts``).
    With ``dim``, the distinct slices along that dim."""
    x = _data(input, "unique")
    xp = xp_of(x)
    if dim is None:
        vals, inv, counts = np.unique(np.asarray(x if xp is np else x.get()),
                                      return_inverse=True, return_counts=True)
        inv = inv.reshape(x.shape)
    else:
        (d,) = norm_dim(dim, x.ndim, "unique", x.shape)
        vals, inv, counts = np.unique(np.asarray(x if xp is np else x.get()), axis=d,
                                      return_inverse=True, return_counts=True)
        inv = inv.reshape(-1)
    outs = [Tensor(xp.asarray(vals))]
    if return_inverse:
        outs.append(Tensor(xp.asarray(inv, dtype=np.int64)))
    if return_counts:
        outs.append(Tensor(xp.asarray(counts, dtype=np.int64)))
    return outs[0] if len(outs) == 1 else tuple(outs)


def searchsorted(sorted_sequence: Tensor, values, *, out_int32: bool = False,
                 right: bool = False, side=None, sorter=None) -> Tensor:
    """Where each of ``values`` would go in the sorted last dim of ``sorted_sequence`` to keep
    it sorted (``right=True``/``side='right'``: after equal elements), like
    ``torch.searchsorted``. An N-D sequence searches row by row with matching leading dims."""
    seq = _data(sorted_sequence, "searchsorted", "sorted_sequence")
    v = _data(values, "searchsorted", "values")
    if side is not None:
        if side not in ("left", "right"):
            raise ValueError(f"searchsorted(side={side!r}): expected 'left' or 'right'")
        right = side == "right"
    if seq.ndim == 0:
        raise ValueError("searchsorted(): sorted_sequence must have at least 1 dim")
    xp = xp_of(seq)
    how = "right" if right else "left"
    if sorter is not None:
        seq = xp.take_along_axis(seq, _data(sorter, "searchsorted", "sorter"), axis=-1)
    if seq.ndim == 1:
        out = xp.searchsorted(seq, v, side=how)
    else:
        if v.ndim != seq.ndim or v.shape[:-1] != seq.shape[:-1]:
            raise ValueError(f"searchsorted(): values of shape {v.shape} must share the "
                             f"leading dims of sorted_sequence {seq.shape}")
        rows_s, rows_v = seq.reshape(-1, seq.shape[-1]), v.reshape(-1, v.shape[-1])
        out = xp.stack([xp.searchsorted(s, r, side=how) for s, r in zip(rows_s, rows_v)]
                       ).reshape(v.shape) if rows_s.shape[0] else xp.zeros(v.shape, np.int64)
    return Tensor(xp.asarray(out, dtype=np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False,
              right: bool = False) -> Tensor:
    """The bucket index of each element given sorted 1-D ``boundaries``:
    ``boundaries[i-1] < x <= boundaries[i]`` (``right=True``: ``<= x <``)."""
    b = _data(boundaries, "bucketize", "boundaries")
    if b.ndim != 1:
        raise ValueError(f"bucketize(): boundaries must be 1-D, got shape {b.shape}")
    return searchsorted(Tensor(b), input, out_int32=out_int32, right=right)


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """Counts in ``bins`` equal-width bins over ``[min, max]`` (the data's range when both are
    0); elements outside are ignored. Same dtype as the (floating) input."""
    x = _data(input, "histc")
    if x.dtype.kind != "f":
        raise TypeError(f"histc(): expected a floating tensor, got dtype {x.dtype}")
    if bins <= 0:
        raise ValueError(f"histc(bins={bins}): expected a positive number of bins")
    xp = xp_of(x)
    lo, hi = float(min), float(max)
    if lo == hi and x.size:
        lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi or not np.isfinite([lo, hi]).all():
        raise ValueError(f"histc(min={min}, max={max}): expected a finite range with max > "
                         f"min, got [{lo}, {hi}]")
    counts, _ = xp.histogram(x, bins=int(bins), range=(lo, hi))
    return Tensor(counts.astype(x.dtype))
