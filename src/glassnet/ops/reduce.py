"""Reductions over dimensions: sum, mean, max, min, var, logsumexp (with ``keepdim``)."""
import builtins
import math
from collections import namedtuple

import numpy as np

from ..backend import xp_of
from ..tensor import Tensor, make
from ._util import as_float, dim_arg, norm_dim
from .elementwise import cast, maximum, minimum

# max/min with ``dim`` return (values, indices), readable by name like torch.return_types
ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])

__all__ = ["sum", "mean", "max", "min", "var", "logsumexp", "argmax", "argmin", "amax", "amin",
           "prod"]


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


def _cast_in(a: Tensor, dtype, name: str) -> Tensor:
    """``dtype=`` of sum/mean/prod/cumsum: the input is cast first, as in PyTorch."""
    if dtype is None or np.dtype(dtype) == a.array.dtype:
        return a
    return cast(a, dtype)


def _total(a: Tensor, fn: str, axes, keepdim: bool, dtype):
    """sum or prod over ``axes``; bool and integer inputs give int64 unless ``dtype`` is set
    (as in PyTorch). An array even for a full reduction (NumPy gives a scalar)."""
    xp = xp_of(a.array)
    out = getattr(xp, fn)(a.array, axis=axes, keepdims=keepdim)
    if a.array.dtype.kind in "biu" and dtype is None:
        out = out.astype(np.int64)
    return xp.asarray(out)


def sum(a: Tensor, dim=None, keepdim: bool = False, *, dtype=None, axis=None) -> Tensor:
    """Sum over ``dim`` (int, tuple or None for all); ``axis`` is an alias of ``dim``."""
    a = _cast_in(a, dtype, "sum")
    axes = _axes(a, dim_arg(dim, axis, "sum"), "sum")
    out = _total(a, "sum", axes, keepdim, dtype)
    shape = a.array.shape

    def backward(g):
        return (_expand(g, shape, axes, keepdim).copy(),)   # (ascontiguousarray makes 0-d 1-d)
    return make(out, (a,), backward, "SumBackward")


def mean(a: Tensor, dim=None, keepdim: bool = False, *, dtype=None, axis=None) -> Tensor:
    a = _cast_in(a, dtype, "mean")
    if a.array.dtype.kind != "f":
        raise TypeError(f"mean(): expected a floating tensor, got dtype {a.dtype}")
    axes = _axes(a, dim_arg(dim, axis, "mean"), "mean")
    xp = xp_of(a.array)
    shape = a.array.shape
    n = a.array.size if axes is None else math.prod(shape[i] for i in axes)
    if n and xp is np:   # np.mean's own sum in the dtype / n, without its ~4 us wrapper
        out = xp.add.reduce(a.array, axis=axes, keepdims=keepdim, dtype=a.array.dtype) / n
    else:                # empty: NaN with NumPy's "mean of empty slice" warning; CuPy
        out = xp.mean(a.array, axis=axes, keepdims=keepdim, dtype=a.array.dtype)

    def backward(g):
        if axes is None:                      # one call instead of broadcast + copy
            return (xp.full(shape, g / n, dtype=g.dtype),)
        return (_expand(g / n, shape, axes, keepdim).copy(),)
    return make(xp.asarray(out, dtype=a.array.dtype), (a,), backward, "MeanBackward")


def _extreme(a: Tensor, dim, keepdim: bool, fn, name: str):
    if a.array.size == 0:
        raise ValueError(f"{name}(): cannot reduce an empty tensor of shape {a.shape}")
    xp = xp_of(a.array)
    if dim is None:
        out = getattr(xp, fn)(a.array)
        mask = a.array == out
        count = mask.sum()

        def backward(g):                      # ties share the gradient evenly, like torch
            return ((g / count).astype(a.array.dtype) * mask,)
        return make(xp.asarray(out), (a,), backward, f"{name.capitalize()}Backward")
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{name}(dim={dim!r}): expected an int dim (or None for all elements)")
    (axis,) = norm_dim(dim, a.ndim, name, a.shape)
    if a.ndim == 0:                           # dim 0 of a scalar: the scalar, at index 0
        return ValuesIndices(make(a.array.copy(), (a,), lambda g: (g,),
                                  f"{name.capitalize()}Backward"),
                             Tensor(xp.asarray(0, dtype=np.int64)))
    idx = (xp.argmax if fn == "max" else xp.argmin)(a.array, axis=axis)
    idx_k = xp.expand_dims(idx, axis)
    values = xp.take_along_axis(a.array, idx_k, axis=axis)

    def backward(g):                          # with dim, the gradient goes to the index found
        gk = g if keepdim else xp.expand_dims(g, axis)
        # one-hot of the index along axis (put_along_axis is not in every array module)
        pos = xp.arange(a.array.shape[axis]).reshape(
            (-1,) + (1,) * (a.ndim - 1 - axis))
        return (xp.where(pos == idx_k, gk, 0).astype(a.array.dtype),)
    vals = make(values if keepdim else xp.squeeze(values, axis), (a,), backward,
                f"{name.capitalize()}Backward")
    return ValuesIndices(vals, Tensor(idx_k if keepdim else idx))


def max(a: Tensor, dim=None, keepdim: bool = False, *, axis=None):
    """Largest value; with ``dim`` returns ``(values, indices)`` like ``torch.max``;
    ``max(a, other_tensor)`` is the element-wise ``maximum``."""
    if isinstance(dim, Tensor):
        return maximum(a, dim)
    return _extreme(a, dim_arg(dim, axis, "max"), keepdim, "max", "max")


def min(a: Tensor, dim=None, keepdim: bool = False, *, axis=None):
    """Smallest value; with ``dim`` returns ``(values, indices)`` like ``torch.min``;
    ``min(a, other_tensor)`` is the element-wise ``minimum``."""
    if isinstance(dim, Tensor):
        return minimum(a, dim)
    return _extreme(a, dim_arg(dim, axis, "min"), keepdim, "min", "min")


def _arg_extreme(name: str, a: Tensor, dim, keepdim: bool) -> Tensor:
    """argmax / argmin: int64 index over the flattened tensor, or along one ``dim``."""
    xp = xp_of(a.array)
    fn = getattr(a.array, name)                 # the array's method: no wrapper call
    if dim is None:
        return Tensor(xp.asarray(fn(), dtype=np.int64))
    (axis,) = norm_dim(dim, a.ndim, name, a.shape)
    return Tensor(fn(axis=axis, keepdims=keepdim).astype(np.int64, copy=False))


def argmax(a: Tensor, dim=None, keepdim: bool = False, *, axis=None) -> Tensor:
    return _arg_extreme("argmax", a, dim_arg(dim, axis, "argmax"), keepdim)


def argmin(a: Tensor, dim=None, keepdim: bool = False, *, axis=None) -> Tensor:
    return _arg_extreme("argmin", a, dim_arg(dim, axis, "argmin"), keepdim)


def spread_args(a: Tensor, dim, unbiased, correction, axis, name: str):
    """``(dim, correction)`` from PyTorch's two spellings of var/std: ``(dim, unbiased,
    keepdim)`` positionally, or ``correction=`` by keyword; ``var(a, False)`` is unbiased."""
    if a.array.dtype.kind != "f":
        raise TypeError(f"{name}(): expected a floating tensor, got dtype {a.dtype}")
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{name}(): give either unbiased or correction, not both")
    if correction is None:
        correction = 0 if unbiased is False else 1
    return dim_arg(dim, axis, name), correction


def var(a: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: int | None = None, axis=None) -> Tensor:
    """Variance with Bessel's correction by default (``correction=1``), like ``torch.var``:
    ``var(a, dim, unbiased, keepdim)`` or ``var(a, dim, keepdim=, correction=)``."""
    dim, correction = spread_args(a, dim, unbiased, correction, axis, "var")
    axes = _axes(a, dim, "var")
    shape = a.array.shape
    n = a.array.size if axes is None else int(np.prod([shape[i] for i in axes]))
    xp = xp_of(a.array)
    mu = xp.mean(a.array, axis=axes, keepdims=True, dtype=a.array.dtype)
    centred = a.array - mu
    denom = a.array.dtype.type(builtins.max(n - correction, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = xp.sum(centred * centred, axis=axes, keepdims=keepdim) / denom

    def backward(g):
        gk = _expand(g, shape, axes, keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):
            return ((2 / denom) * gk * centred,)
    return make(xp.asarray(out, dtype=a.array.dtype), (a,), backward, "VarBackward")


def logsumexp(a: Tensor, dim=None, keepdim: bool = False, *, axis=None) -> Tensor:
    """log Σ exp(a), computed stably by subtracting the maximum first."""
    a = as_float(a)
    axes = _axes(a, dim_arg(dim, axis, "logsumexp"), "logsumexp")
    xp = xp_of(a.array)
    m = xp.max(a.array, axis=axes, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    e = xp.exp(a.array - m)
    s = xp.sum(e, axis=axes, keepdims=True)
    out_k = xp.log(s) + m
    out = out_k if keepdim else (out_k.reshape(()) if axes is None else xp.squeeze(out_k, axes))

    def backward(g):
        gk = g if keepdim else (g.reshape((1,) * a.ndim) if axes is None
                                else g.reshape(_kept(a.shape, axes)))
        return (gk * (e / s),)
    return make(xp.asarray(out, dtype=a.array.dtype), (a,), backward, "LogsumexpBackward")





def _amax_amin(a: Tensor, dim, keepdim: bool, fn: str) -> Tensor:
    axes = _axes(a, None if dim == () else dim, fn)
    if a.array.size == 0 and (axes is None or any(a.shape[i] == 0 for i in axes)):
        raise ValueError(f"{fn}(): cannot reduce over an empty dim of a tensor of shape "
                         f"{a.shape}")
    xp = xp_of(a.array)
    out_k = getattr(xp, fn)(a.array, axis=axes, keepdims=True)
    out = out_k if keepdim else out_k.reshape(
        () if axes is None else tuple(s for i, s in enumerate(a.shape) if i not in axes))

    def backward(g):                  # ties share the gradient evenly, like torch.amax
        mask = a.array == out_k
        count = mask.sum(axis=axes, keepdims=True)
        gk = g.reshape(out_k.shape)
        return (xp.where(mask, gk / count, 0).astype(a.array.dtype),)
    return make(xp.asarray(out), (a,), backward, f"{fn.capitalize()}Backward")


def amax(a: Tensor, dim=(), keepdim: bool = False, *, axis=None) -> Tensor:
    """Largest value over ``dim`` (int or tuple; all dims by default); tied maxima share
    the gradient evenly (unlike ``max(dim=)``, which sends it to one index)."""
    return _amax_amin(a, dim_arg(dim, axis, "amax", ()), keepdim, "amax")


def amin(a: Tensor, dim=(), keepdim: bool = False, *, axis=None) -> Tensor:
    """Smallest value over ``dim``; tied minima share the gradient evenly."""
    return _amax_amin(a, dim_arg(dim, axis, "amin", ()), keepdim, "amin")


def _exclusive_cumprod(x, axis: int, reverse: bool = False):
    """Products of the elements strictly before (or after) each one along ``axis``."""
    xp = xp_of(x)
    if reverse:
        return xp.flip(_exclusive_cumprod(xp.flip(x, axis), axis), axis)
    ones = xp.ones_like(xp.take(x, xp.asarray([0]), axis=axis))
    head = xp.take(x, xp.arange(x.shape[axis] - 1), axis=axis)
    return xp.cumprod(xp.concatenate([ones, head], axis=axis), axis=axis)


def prod(a: Tensor, dim=None, keepdim: bool = False, *, dtype=None, axis=None) -> Tensor:
    """Product over one ``dim`` (or all elements). The gradient of each element is the product
    of the others, formed from prefix and suffix products, so it is exact when some are 0."""
    a = _cast_in(a, dtype, "prod")
    dim = dim_arg(dim, axis, "prod")
    if dim is not None and (not isinstance(dim, (int, np.integer)) or isinstance(dim, bool)):
        raise TypeError(f"prod(dim={dim!r}): expected an int dim (or None for all elements)")
    axes = _axes(a, dim, "prod")
    out = _total(a, "prod", axes, keepdim, dtype)
    shape = a.array.shape

    def backward(g):
        flat = a.array.reshape(-1) if axes is None else a.array
        ax = 0 if axes is None else (axes[0] if axes else None)
        if ax is None or flat.size == 0:                   # 0-d input: d a / d a = 1
            return (_expand(g, shape, axes, keepdim).astype(a.array.dtype),)
        others = _exclusive_cumprod(flat, ax) * _exclusive_cumprod(flat, ax, reverse=True)
        return ((_expand(g, shape, axes, keepdim) * others.reshape(shape)).astype(a.array.dtype),)
    return make(out, (a,), backward, "ProdBackward")
