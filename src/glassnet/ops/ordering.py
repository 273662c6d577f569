"""Order statistics: sort, argsort, topk, kthvalue, median, quantile, mode.

Each returns values (differentiable) and int64 indices, like ``torch.sort``; the backward sends
each output's gradient to the element it came from (``along_add``).
"""
import numpy as np

from ..backend import to_host, xp_of
from ..tensor import Tensor, make
from ._util import dim_arg, norm_dim
from .index import along_add
from .reduce import ValuesIndices
from .shape import reshape, squeeze, stack

__all__ = ["sort", "argsort", "topk", "kthvalue", "median", "msort", "quantile", "mode"]


def _one_dim(a: Tensor, dim, name: str) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}(dim={dim!r}): expected an int dim")
    (d,) = norm_dim(dim, a.ndim, name, a.shape)
    return d


def _order(x, axis: int, descending: bool):
    """Stable sorting permutation along ``axis``; NaN counts as the largest value (torch)."""
    xp = xp_of(x)
    if not descending:
        return xp.argsort(x, axis=axis, kind="stable")
    # reverse, sort ascending, reverse back: ties keep their order, NaN comes first
    n = x.shape[axis]
    p = xp.argsort(xp.flip(x, axis), axis=axis, kind="stable")
    return xp.flip(n - 1 - p, axis)


def _picked(a: Tensor, idx, d: int, name: str):
    """Values of ``a`` at ``idx`` along ``d``; the gradient goes back to those elements."""
    xp = xp_of(a.array)
    vals = xp.take_along_axis(a.array, idx, axis=d)

    def backward(g):
        return (along_add(a.shape, d, idx, g),)
    return make(vals, (a,), backward, f"{name}Backward")


def sort(a: Tensor, dim: int = -1, descending: bool = False, stable: bool = False, *,
         axis=None):
    """Sorted values along ``dim`` and where they came from: ``(values, indices)``.

    The sort is always stable (equal values keep their order), which is one of the orders
    PyTorch may return with ``stable=False`` and exactly its order with ``stable=True``.
    """
    d = _one_dim(a, dim_arg(dim, axis, "sort", -1), "sort")
    if a.ndim == 0:
        return ValuesIndices(make(a.array.copy(), (a,), lambda g: (g,), "SortBackward"),
                             Tensor(xp_of(a.array).zeros((), np.int64)))
    idx = _order(a.array, d, descending).astype(np.int64)
    return ValuesIndices(_picked(a, idx, d, "Sort"), Tensor(idx))


def msort(a: Tensor) -> Tensor:
    """``sort(a, dim=0).values``."""
    return sort(a, 0).values


def argsort(a: Tensor, dim: int = -1, descending: bool = False, stable: bool = False, *,
            axis=None) -> Tensor:
    """The int64 indices that sort ``a`` along ``dim`` (stable)."""
    d = _one_dim(a, dim_arg(dim, axis, "argsort", -1), "argsort")
    if a.ndim == 0:
        return Tensor(xp_of(a.array).zeros((), np.int64))
    return Tensor(_order(a.array, d, descending).astype(np.int64))


def topk(a: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The ``k`` largest (or smallest) values along ``dim`` with their indices, in order.

    Shape: ``a``'s, with ``k`` along ``dim``.
    """
    d = _one_dim(a, dim, "topk")
    n = a.shape[d] if a.ndim else 1
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
        raise ValueError(f"topk(k={k!r}): k must be an int in [0, {n}] for dim {dim} of a "
                         f"tensor of shape {a.shape}")
    if a.ndim == 0:
        return sort(a)
    xp = xp_of(a.array)
    idx = xp.take(_order(a.array, d, largest), xp.arange(k), axis=d).astype(np.int64)
    return ValuesIndices(_picked(a, idx, d, "Topk"), Tensor(idx))


def kthvalue(a: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """The ``k``-th smallest value (1-based) along ``dim`` and its index."""
    d = _one_dim(a, dim, "kthvalue")
    n = a.shape[d] if a.ndim else 1
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise ValueError(f"kthvalue(k={k!r}): k must be an int in [1, {n}] for dim {dim} of a "
                         f"tensor of shape {a.shape}")
    return _select(a, d, k - 1, keepdim, "Kthvalue")


def _select(a: Tensor, d: int, pos: int, keepdim: bool, name: str, nan_wins: bool = False):
    """The element at sorted position ``pos`` along ``d`` (``nan_wins``: a slice holding a NaN
    gives its first NaN instead, as ``torch.median`` does)."""
    xp = xp_of(a.array)
    if a.ndim == 0:
        return ValuesIndices(make(a.array.copy(), (a,), lambda g: (g,), f"{name}Backward"),
                             Tensor(xp.zeros((), np.int64)))
    order = _order(a.array, d, False)
    where = xp.full(a.shape[:d] + (1,) + a.shape[d + 1:], pos)
    if nan_wins and a.array.dtype.kind == "f":       # NaNs sort last: the first of them
        nans = xp.isnan(a.array).sum(axis=d, keepdims=True)
        where = xp.where(nans > 0, a.shape[d] - nans, where)
    idx = xp.take_along_axis(order, where, axis=d).astype(np.int64)
    vals = _picked(a, idx, d, name)
    if keepdim:
        return ValuesIndices(vals, Tensor(idx))
    return ValuesIndices(squeeze(vals, d), Tensor(xp.squeeze(idx, d)))


def median(a: Tensor, dim=None, keepdim: bool = False):
    """The lower median (no averaging of the two middle values), like ``torch.median``:
    a 0-d tensor without ``dim``, ``(values, indices)`` with it. A slice holding a NaN has
    median NaN."""
    if dim is None:
        if a.array.size == 0:
            raise ValueError(f"median(): cannot reduce an empty tensor of shape {a.shape}")
        flat = reshape(a, (-1,))
        return _select(flat, 0, (flat.shape[0] - 1) // 2, False, "Median", True).values
    d = _one_dim(a, dim, "median")
    n = a.shape[d] if a.ndim else 1
    if n == 0:
        raise ValueError(f"median(): cannot reduce over the empty dim {dim} of a tensor of "
                         f"shape {a.shape}")
    return _select(a, d, (n - 1) // 2, keepdim, "Median", True)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def quantile(a: Tensor, q, dim=None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """The ``q``-th quantiles (``q`` a number or a 1-D tensor in [0, 1]) over ``dim`` (all
    elements by default), like ``torch.quantile``: between the sorted values at positions
    ``floor(q·(n−1))`` and ``ceil(q·(n−1))``, by ``interpolation``. Differentiable (built from
    ``sort``, indexing and arithmetic).

    Shape: the reduced shape, with ``len(q)`` in front when ``q`` is a tensor.
    """
    if a.array.dtype.kind != "f":
        raise TypeError(f"quantile(): expected a floating tensor, got dtype {a.dtype}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"quantile(interpolation={interpolation!r}): expected one of "
                         f"{_INTERPOLATIONS}")
    qs = np.asarray(q.numpy() if isinstance(q, Tensor) else q, dtype=np.float64)
    if qs.ndim > 1 or (qs.size and (qs.min() < 0 or qs.max() > 1)) or np.isnan(qs).any():
        raise ValueError(f"quantile(q={q!r}): expected a number or a 1-D tensor in [0, 1]")
    if dim is None:
        x, d = reshape(a, (-1,)), 0
    else:
        d = _one_dim(a, dim, "quantile")
        x = a if a.ndim else reshape(a, (1,))
    n = x.shape[d]
    if n == 0:
        raise ValueError(f"quantile(): cannot reduce over an empty dim of shape {a.shape}")
    s = sort(x, d).values
    outs = []
    for qv in qs.reshape(-1):
        pos = qv * (n - 1)
        lo, hi = int(np.floor(pos)), int(np.ceil(pos))
        frac = pos - lo
        if interpolation == "lower":
            hi, frac = lo, 0.0
        elif interpolation == "higher":
            lo, frac = hi, 0.0
        elif interpolation == "nearest":
            lo = hi = int(np.round(pos))        # round half to even, as torch
            frac = 0.0
        elif interpolation == "midpoint":
            frac = 0.5 if hi != lo else 0.0
        v_lo = s[(slice(None),) * d + (lo,)]
        if interpolation in ("linear", "midpoint"):      # always the lerp, as torch (inf -> nan)
            v = v_lo + (s[(slice(None),) * d + (hi,)] - v_lo) * float(frac)
        else:
            v = v_lo
        if keepdim:
            v = reshape(v, _kept(a.shape, d if dim is not None else None))
        outs.append(v)
    if qs.ndim == 0:
        return outs[0]
    return stack(outs, 0)


def _kept(shape: tuple, d) -> tuple:
    return tuple(1 for _ in shape) if d is None else shape[:d] + (1,) + shape[d + 1:]


def mode(a: Tensor, dim: int = -1, keepdim: bool = False):
    """The most frequent value along ``dim`` (the smallest among equally frequent ones) and
    the index of its last occurrence, like ``torch.mode``; the gradient goes to that element."""
    d = _one_dim(a, dim, "mode")
    if a.ndim == 0:
        return sort(a)
    xp = xp_of(a.array)
    if a.shape[d] == 0:
        raise ValueError(f"mode(): cannot reduce over an empty dim of shape {a.shape}")
    moved = np.moveaxis(to_host(a.array), d, -1)          # one pass of np.unique per row
    rows = moved.reshape(-1, moved.shape[-1])
    pick = np.empty(rows.shape[0], np.int64)
    for r, row in enumerate(rows):
        vals, counts = np.unique(row, return_counts=True)
        best = vals[np.argmax(counts)]               # np.unique sorts: smallest first
        pick[r] = np.flatnonzero((row == best) | (np.isnan(row) & np.isnan(best))
                                 if row.dtype.kind == "f" else row == best)[-1]
    idx = xp.asarray(np.expand_dims(pick.reshape(moved.shape[:-1]), d))
    vals = _picked(a, idx, d, "Mode")
    if keepdim:
        return ValuesIndices(vals, Tensor(idx))
    return ValuesIndices(squeeze(vals, d), Tensor(xp.squeeze(idx, d)))
