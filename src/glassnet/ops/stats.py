"""Spread and size of a tensor: std, var_mean, std_mean, aminmax, nansum/nanmean and the
vector p-norm.

``var`` lives in ``reduce.py``; ``std`` repeats its few lines (instead of ``sqrt(var)``) so that
its backward is one formula, ``g·(x − mean) / ((n − correction)·std)``, like PyTorch's.
"""
import builtins
from collections import namedtuple

import numpy as np

from ..backend import xp_of
from ..tensor import Tensor, make
from ._util import norm_dim
from .reduce import _axes, _expand, amax, amin, mean, spread_args, var
from .reduce import sum as sum_
from .elementwise import clamp, sqrt
from .matmul import matmul
from .shape import reshape, transpose, unsqueeze
from .triangular import diagonal

# norm is left out: ``ops.norm`` is the normalisation module (see ops/__init__)
__all__ = ["std", "var_mean", "std_mean", "aminmax", "nansum", "nanmean", "dist", "cdist",
           "cov", "corrcoef"]


def std(a: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: int | None = None, axis=None) -> Tensor:
    """Standard deviation over ``dim`` with Bessel's correction by default, like ``torch.std``.

    Args:
        a: a floating tensor.
        dim: int, tuple or None (all elements); ``axis`` is an alias.
        unbiased: the older spelling (``True`` = correction 1, ``False`` = 0).
        keepdim: keep the reduced dims as size 1.
        correction: subtract this from the count in the denominator (1 by default).

    Shape: the input shape with ``dim`` removed (kept as size 1 with ``keepdim``).
    """
    dim, correction = spread_args(a, dim, unbiased, correction, axis, "std")
    axes = _axes(a, dim, "std")
    shape = a.array.shape
    n = a.array.size if axes is None else int(np.prod([shape[i] for i in axes]))
    xp = xp_of(a.array)
    centred = a.array - xp.mean(a.array, axis=axes, keepdims=True, dtype=a.array.dtype)
    denom = a.array.dtype.type(builtins.max(n - correction, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = xp.sqrt(xp.sum(centred * centred, axis=axes, keepdims=keepdim) / denom)
    out = xp.asarray(out, dtype=a.array.dtype)

    def backward(g):
        gk = _expand(g / out, shape, axes, keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):
            return ((gk * centred / denom).astype(a.array.dtype),)
    return make(out, (a,), backward, "StdBackward")


def var_mean(a: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: int | None = None, axis=None) -> tuple:
    """``(var(a, dim), mean(a, dim))`` in one call, like ``torch.var_mean``."""
    dim, correction = spread_args(a, dim, unbiased, correction, axis, "var_mean")
    norm_dim(dim, a.ndim, "var_mean", a.shape)
    return var(a, dim, keepdim=keepdim, correction=correction), mean(a, dim, keepdim)


def std_mean(a: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: int | None = None, axis=None) -> tuple:
    """``(std(a, dim), mean(a, dim))`` in one call, like ``torch.std_mean``."""
    dim, correction = spread_args(a, dim, unbiased, correction, axis, "std_mean")
    norm_dim(dim, a.ndim, "std_mean", a.shape)
    return std(a, dim, keepdim=keepdim, correction=correction), mean(a, dim, keepdim)


def norm(a: Tensor, p=2, dim=None, keepdim: bool = False) -> Tensor:
    """The vector p-norm ``(Σ|x|^p)^(1/p)`` over ``dim`` (all elements by default), like
    ``torch.norm`` / ``torch.linalg.vector_norm``; ``p`` may be ``inf``, ``-inf`` or 0.

    The gradient at an all-zero slice is 0 (a subgradient), as in PyTorch.
    """
    if a.array.dtype.kind != "f":
        raise TypeError(f"norm(): expected a floating tensor, got dtype {a.dtype}")
    if p == "fro":
        p = 2
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise TypeError(f"norm(p={p!r}): expected a number (or inf, -inf, 'fro')")
    axes = _axes(a, dim, "norm")
    xp = xp_of(a.array)
    x = a.array
    ax = xp.abs(x)
    p = float(p)
    if p == np.inf or p == -np.inf:
        fn = xp.amax if p > 0 else xp.amin
        out_k = fn(ax, axis=axes, keepdims=True) if x.size else xp.zeros(
            _keep_shape(x.shape, axes), x.dtype)
    elif p == 0:
        out_k = xp.sum(x != 0, axis=axes, keepdims=True).astype(x.dtype)
    else:
        with np.errstate(divide="ignore", over="ignore"):
            out_k = xp.sum(ax ** p, axis=axes, keepdims=True) ** (1 / p)
    out_k = xp.asarray(out_k, dtype=x.dtype)
    out = out_k if keepdim else out_k.reshape(
        () if axes is None else tuple(s for i, s in enumerate(x.shape) if i not in axes))

    def backward(g):
        gk = g.reshape(out_k.shape)
        if p == 0:
            return (xp.zeros_like(x),)
        if p in (np.inf, -np.inf):         # ties share the gradient evenly
            mask = ax == out_k
            count = mask.sum(axis=axes, keepdims=True)
            return (xp.where(mask, xp.sign(x) * gk / count, 0).astype(x.dtype),)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if p == 1:
                grad = xp.sign(x) * gk
            elif p == 2:
                grad = x * gk / out_k
            else:
                grad = xp.sign(x) * ax ** (p - 1) * gk / out_k ** (p - 1)
        if p >= 1:
            grad = xp.where(out_k == 0, 0, grad)
        return (grad.astype(x.dtype),)
    return make(out, (a,), backward, "NormBackward")


def _keep_shape(shape: tuple, axes) -> tuple:
    return tuple(1 for _ in shape) if axes is None else tuple(
        1 if i in axes else s for i, s in enumerate(shape))


MinMax = namedtuple("MinMax", ["min", "max"])


def aminmax(a: Tensor, *, dim=None, keepdim: bool = False):
    """``(amin, amax)`` over ``dim`` (all elements by default), like ``torch.aminmax``."""
    d = () if dim is None else dim
    return MinMax(amin(a, d, keepdim), amax(a, d, keepdim))


def nansum(a: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``sum`` treating NaN as 0 (the NaN elements get no gradient)."""
    xp = xp_of(a.array)
    if a.array.dtype.kind != "f":
        return sum_(a, dim, keepdim, dtype=dtype)
    nan = xp.isnan(a.array)
    clean = make(xp.where(nan, 0, a.array), (a,), lambda g: (xp.where(nan, 0, g),),
                 "NansumBackward")
    return sum_(clean, dim, keepdim, dtype=dtype)


def nanmean(a: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``mean`` over the elements that are not NaN."""
    if a.array.dtype.kind != "f":
        raise TypeError(f"nanmean(): expected a floating tensor, got dtype {a.dtype}")
    xp = xp_of(a.array)
    axes = _axes(a, dim, "nanmean")
    count = xp.sum(~xp.isnan(a.array), axis=axes, keepdims=keepdim).astype(a.array.dtype)
    total = nansum(a, dim, keepdim, dtype=dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        return total / Tensor(count.astype(total.array.dtype))


def dist(a: Tensor, b: Tensor, p=2) -> Tensor:
    """``norm(a - b, p)`` over all elements (after broadcasting)."""
    return norm(a - b, p)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0) -> Tensor:
    """Pairwise p-norm distances between the rows of ``x1`` ``(*, P, M)`` and of ``x2``
    ``(*, R, M)``: shape ``(*, P, R)``. The gradient at a zero distance is 0, as in PyTorch."""
    if x1.ndim < 2 or x2.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise ValueError(f"cdist(): expected (*, P, M) and (*, R, M) tensors, got shapes "
                         f"{x1.shape} and {x2.shape}")
    if x1.array.dtype.kind != "f" or x2.array.dtype.kind != "f":
        raise TypeError(f"cdist(): expected floating tensors, got {x1.dtype} and {x2.dtype}")
    return norm(unsqueeze(x1, -2) - unsqueeze(x2, -3), p, dim=-1)


def cov(input: Tensor, *, correction: int = 1, fweights=None, aweights=None) -> Tensor:
    """The covariance matrix of the variables in the rows of ``input`` (observations in
    columns; a 1-D input is one variable), like ``torch.cov`` without weights."""
    if fweights is not None or aweights is not None:
        raise ValueError("cov(): fweights/aweights are not supported")
    if input.ndim > 2:
        raise ValueError(f"cov(): expected a 1-D or 2-D tensor, got shape {input.shape}")
    x = input if input.ndim == 2 else reshape(input, (1, -1))
    if x.array.dtype.kind != "f":
        x = x.float()
    n = x.shape[1]
    xc = x - mean(x, 1, keepdim=True)
    out = matmul(xc, transpose(xc, 0, 1)) / float(max(n - correction, 0))
    return reshape(out, ()) if input.ndim < 2 or input.shape[0] == 1 else out


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the rows' variables (clipped to [-1, 1])."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = sqrt(diagonal(c))
    return clamp(c / unsqueeze(d, 1) / unsqueeze(d, 0), -1.0, 1.0)
