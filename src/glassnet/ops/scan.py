"""Cumulative ops along one dim: cumsum, cumprod, cummax, cummin, logcumsumexp.

Each output element ``y_j`` depends on the inputs ``x_0 .. x_j`` along ``dim``, so each
backward runs a *reverse* scan of the upstream gradient.
"""
import numpy as np

from ..backend import xp_of
from ..tensor import Tensor, make
from ._util import as_float, dim_arg, norm_dim
from .index import along_add
from .reduce import ValuesIndices, _cast_in

__all__ = ["cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"]


def _scan_dim(a: Tensor, dim, axis, name: str) -> int:
    dim = dim_arg(dim, axis, name)
    if dim is None or isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}(dim={dim!r}): expected an int dim")
    (d,) = norm_dim(dim, a.ndim, name, a.shape)
    return d


def _rev_cumsum(g, axis: int):
    """Σ_{j >= i} g_j along ``axis``."""
    xp = xp_of(g)
    return xp.flip(xp.cumsum(xp.flip(g, axis), axis=axis), axis)


def cumsum(a: Tensor, dim=None, *, dtype=None, axis=None) -> Tensor:
    """``y_j = Σ_{i<=j} x_i`` along ``dim``. Shape: same as the input."""
    a = _cast_in(a, dtype, "cumsum")
    d = _scan_dim(a, dim, axis, "cumsum")
    xp = xp_of(a.array)
    if a.ndim == 0:
        return make(a.array.copy(), (a,), lambda g: (g,), "CumsumBackward")
    out = xp.cumsum(a.array, axis=d)
    if a.array.dtype.kind in "biu" and dtype is None:
        out = out.astype(np.int64)
    return make(out, (a,), lambda g: (_rev_cumsum(g, d),), "CumsumBackward")


def cumprod(a: Tensor, dim=None, *, dtype=None, axis=None) -> Tensor:
    """``y_j = Π_{i<=j} x_i`` along ``dim``. Shape: same as the input.

    Backward: ``dL/dx_k = P_k · S_k`` with ``P_k = Π_{i<k} x_i`` and the reverse recurrence
    ``S_k = g_k + x_{k+1}·S_{k+1}``; no division, so zeros in ``x`` get exact gradients. When no
    element is 0 it takes the one-line form ``Σ_{j>=k} g_j y_j / x_k``.
    """
    a = _cast_in(a, dtype, "cumprod")
    d = _scan_dim(a, dim, axis, "cumprod")
    xp = xp_of(a.array)
    if a.ndim == 0:
        return make(a.array.copy(), (a,), lambda g: (g,), "CumprodBackward")
    x = a.array
    out = xp.cumprod(x, axis=d)
    if x.dtype.kind in "biu" and dtype is None:
        out = out.astype(np.int64)

    def backward(g):
        if not bool((x == 0).any()):
            return ((_rev_cumsum(g * out, d) / x).astype(x.dtype),)
        gm, xm = xp.moveaxis(g, d, 0), xp.moveaxis(x, d, 0)
        s = xp.empty_like(gm)
        s[-1] = gm[-1]
        for k in range(len(xm) - 2, -1, -1):
            s[k] = gm[k] + xm[k + 1] * s[k + 1]
        before = xp.concatenate([xp.ones_like(xm[:1]), xp.cumprod(xm[:-1], axis=0)], axis=0)
        return (xp.moveaxis(before * s, 0, d).astype(x.dtype),)
    return make(out, (a,), backward, "CumprodBackward")


def _cum_extreme(a: Tensor, dim, axis, name: str):
    d = _scan_dim(a, dim, axis, name)
    xp = xp_of(a.array)
    if a.ndim == 0:
        return ValuesIndices(make(a.array.copy(), (a,), lambda g: (g,), f"{name}Backward"),
                             Tensor(xp.zeros((), np.int64)))
    x = a.array
    ufunc = xp.maximum if name == "cummax" else xp.minimum
    values = ufunc.accumulate(x, axis=d)
    if x.dtype.kind == "f":              # a NaN stays the running value, as in torch
        values = xp.where(xp.logical_or.accumulate(xp.isnan(x), axis=d), xp.nan, values)
    pos = xp.arange(x.shape[d]).reshape((-1,) + (1,) * (a.ndim - 1 - d))
    hit = (x == values) | (xp.isnan(x) if x.dtype.kind == "f" else False)
    seen = xp.where(hit, pos, -1)       # NaN ties with NaN: the latest one, as torch
    indices = xp.maximum.accumulate(seen, axis=d).astype(np.int64)

    def backward(g):                    # each output's gradient goes to the element it copied
        return (along_add(x.shape, d, indices, g),)
    return ValuesIndices(make(values, (a,), backward, f"{name.capitalize()}Backward"),
                         Tensor(indices))


def cummax(a: Tensor, dim=None, *, axis=None):
    """Running maximum along ``dim``: ``(values, indices)`` like ``torch.cummax``; a tie
    points at the latest position, and the gradient of each output goes to that element."""
    return _cum_extreme(a, dim, axis, "cummax")


def cummin(a: Tensor, dim=None, *, axis=None):
    """Running minimum along ``dim``: ``(values, indices)`` like ``torch.cummin``."""
    return _cum_extreme(a, dim, axis, "cummin")


def logcumsumexp(a: Tensor, dim=None, *, axis=None) -> Tensor:
    """``y_j = log Σ_{i<=j} exp(x_i)``, accumulated with ``logaddexp`` (no overflow).

    Backward: ``dL/dx_i = Σ_{j>=i} g_j exp(x_i − y_j)``, summed in log space separately for
    the positive and negative parts of ``g`` so that large ``x`` does not overflow.
    """
    a = as_float(a)
    d = _scan_dim(a, dim, axis, "logcumsumexp")
    xp = xp_of(a.array)
    if a.ndim == 0:
        return make(a.array.copy(), (a,), lambda g: (g,), "LogcumsumexpBackward")
    x = a.array
    out = xp.logaddexp.accumulate(x, axis=d) if x.shape[d] else x.copy()

    def rev_lcse(v):
        return xp.flip(xp.logaddexp.accumulate(xp.flip(v, d), axis=d), d)

    def backward(g):
        if not g.size:
            return (xp.zeros_like(x),)
        # in float64: x + (log g - y) cancels when |x| is large (x ~ 1000 loses 5e-4 in
        # float32 there); the forward's y stays as computed
        x64, g64, y64 = (v.astype(xp.float64) for v in (x, g, out))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            pos = xp.exp(x64 + rev_lcse(xp.log(xp.where(g64 > 0, g64, 0)) - y64))
            neg = xp.exp(x64 + rev_lcse(xp.log(xp.where(g64 < 0, -g64, 0)) - y64))
        return ((pos - neg).astype(x.dtype),)
    return make(out, (a,), backward, "LogcumsumexpBackward")
