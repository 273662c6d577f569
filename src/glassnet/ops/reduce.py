"""Reductions over dimensions: sum, mean, max, min, var, logsumexp (with ``keepdim``)."""
import builtins
from collections import namedtuple

import numpy as np

from ..backend import xp_of
from ..tensor import Tensor, make
from ._util import as_float, norm_dim

# max/min with ``dim`` return (values, indices), readable by name like torch.return_types
ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])

__all__ = ["sum", "mean", "max", "min", "var", "logsumexp", "argmax", "argmin"]


def _axes(a: Tensor, dim, name: str):
    """``norm_dim`` for reductions; on a 0-d tensor dim 0 or -1 reduces over nothing (torch)."""
    axes = norm_dim(dim, a.ndim, name, a.shape)
    return () if axes is not None and a.ndim == 0 else axes


def _expand(g, shape: tuple, axes, keepdim: bool):
    """Bring a reduced gradient back to broadcast against the input."""
    xp = xp_of(g)
    if axes is None:
        return xp.broadcast_to(g.reshape((1,) * len(shape)), shape)
    if not keepdim:                   # (a reshape: CuPy's expand_dims documents int axes only)
        g = g.reshape(_kept(shape, axes))
    return xp.broadcast_to(g, shape)


def _kept(shape: tuple, axes: tuple) -> tuple:
    """The shape of a reduction over ``axes`` with ``keepdims=True``."""
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def sum(a: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    axes = _axes(a, dim, "sum")
    xp = xp_of(a.data)
    out = xp.sum(a.data, axis=axes, keepdims=keepdim)
    if a.data.dtype.kind in "biu":
        out = out.astype(np.int64)
    shape = a.data.shape

    def backward(g):
        return (_expand(g, shape, axes, keepdim).copy(),)   # (ascontiguousarray makes 0-d 1-d)
    return make(xp.asarray(out), (a,), backward, "SumBackward")


def mean(a: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    if a.data.dtype.kind != "f":
        raise TypeError(f"mean(): expected a floating tensor, got dtype {a.dtype}")
    axes = _axes(a, dim, "mean")
    xp = xp_of(a.data)
    out = xp.mean(a.data, axis=axes, keepdims=keepdim, dtype=a.data.dtype)
    shape = a.data.shape
    n = a.data.size if axes is None else int(np.prod([shape[i] for i in axes]))

    def backward(g):
        return (_expand(g / n, shape, axes, keepdim).copy(),)
    return make(xp.asarray(out, dtype=a.data.dtype), (a,), backward, "MeanBackward")


def _extreme(a: Tensor, dim, keepdim: bool, fn, name: str):
    if a.data.size == 0:
        raise ValueError(f"{name}(): cannot reduce an empty tensor of shape {a.shape}")
    xp = xp_of(a.data)
    if dim is None:
        out = getattr(xp, fn)(a.data)
        mask = a.data == out
        count = mask.sum()

        def backward(g):                      # ties share the gradient evenly, like torch
            return ((g / count).astype(a.data.dtype) * mask,)
        return make(xp.asarray(out), (a,), backward, f"{name.capitalize()}Backward")
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{name}(dim={dim!r}): expected an int dim (or None for all elements)")
    (axis,) = norm_dim(dim, a.ndim, name, a.shape)
    if a.ndim == 0:                           # dim 0 of a scalar: the scalar, at index 0
        return ValuesIndices(make(a.data.copy(), (a,), lambda g: (g,),
                                  f"{name.capitalize()}Backward"),
                             Tensor(xp.asarray(0, dtype=np.int64)))
    idx = (xp.argmax if fn == "max" else xp.argmin)(a.data, axis=axis)
    idx_k = xp.expand_dims(idx, axis)
    values = xp.take_along_axis(a.data, idx_k, axis=axis)

    def backward(g):                          # with dim, the gradient goes to the index found
        gk = g if keepdim else xp.expand_dims(g, axis)
        # one-hot of the index along axis (put_along_axis is not in every array module)
        pos = xp.arange(a.data.shape[axis]).reshape(
            (-1,) + (1,) * (a.ndim - 1 - axis))
        return (xp.where(pos == idx_k, gk, 0).astype(a.data.dtype),)
    vals = make(values if keepdim else xp.squeeze(values, axis), (a,), backward,
                f"{name.capitalize()}Backward")
    return ValuesIndices(vals, Tensor(idx_k if keepdim else idx))


def max(a: Tensor, dim=None, keepdim: bool = False):
    """Largest value; with ``dim`` returns ``(values, indices)`` like ``torch.max``."""
    return _extreme(a, dim, keepdim, "max", "max")


def min(a: Tensor, dim=None, keepdim: bool = False):
    """Smallest value; with ``dim`` returns ``(values, indices)`` like ``torch.min``."""
    return _extreme(a, dim, keepdim, "min", "min")


def argmax(a: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    xp = xp_of(a.data)
    if dim is None:
        return Tensor(xp.asarray(xp.argmax(a.data), dtype=np.int64))
    (axis,) = norm_dim(dim, a.ndim, "argmax", a.shape)
    return Tensor(xp.argmax(a.data, axis=axis, keepdims=keepdim).astype(np.int64))


def argmin(a: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    xp = xp_of(a.data)
    if dim is None:
        return Tensor(xp.asarray(xp.argmin(a.data), dtype=np.int64))
    (axis,) = norm_dim(dim, a.ndim, "argmin", a.shape)
    return Tensor(xp.argmin(a.data, axis=axis, keepdims=keepdim).astype(np.int64))


def var(a: Tensor, dim=None, keepdim: bool = False, correction: int = 1,
        unbiased: bool | None = None) -> Tensor:
    """Variance with Bessel's correction by default (``correction=1``), like ``torch.var``."""
    if a.data.dtype.kind != "f":
        raise TypeError(f"var(): expected a floating tensor, got dtype {a.dtype}")
    if unbiased is not None:
        correction = 1 if unbiased else 0
    axes = _axes(a, dim, "var")
    shape = a.data.shape
    n = a.data.size if axes is None else int(np.prod([shape[i] for i in axes]))
    xp = xp_of(a.data)
    mu = xp.mean(a.data, axis=axes, keepdims=True, dtype=a.data.dtype)
    centred = a.data - mu
    denom = a.data.dtype.type(builtins.max(n - correction, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = xp.sum(centred * centred, axis=axes, keepdims=keepdim) / denom

    def backward(g):
        gk = _expand(g, shape, axes, keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):
            return ((2 / denom) * gk * centred,)
    return make(xp.asarray(out, dtype=a.data.dtype), (a,), backward, "VarBackward")


def logsumexp(a: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """log Σ exp(a), computed stably by subtracting the maximum first."""
    a = as_float(a)
    axes = _axes(a, dim, "logsumexp")
    xp = xp_of(a.data)
    m = xp.max(a.data, axis=axes, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    e = xp.exp(a.data - m)
    s = xp.sum(e, axis=axes, keepdims=True)
    out_k = xp.log(s) + m
    out = out_k if keepdim else (out_k.reshape(()) if axes is None else xp.squeeze(out_k, axes))

    def backward(g):
        gk = g if keepdim else (g.reshape((1,) * a.ndim) if axes is None
                                else g.reshape(_kept(a.shape, axes)))
        return (gk * (e / s),)
    return make(xp.asarray(out, dtype=a.data.dtype), (a,), backward, "LogsumexpBackward")



