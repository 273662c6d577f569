"""PyTorch's other activations: silu, mish, elu, celu, selu, softplus, logsigmoid, softsign,
tanhshrink, hardtanh, relu6, hardsigmoid, hardswish, softmin.

Each forward is written next to its derivative. The piecewise ones follow PyTorch's choice
at the kinks exactly (tested at the kink points): hardtanh, relu6 and hardsigmoid pass the
gradient only strictly inside their linear piece; hardswish's derivative is 0 at x = −3 and
1 at x = 3; elu/celu/selu take the negative branch's derivative at x = 0.

``inplace`` is accepted where PyTorch has it (``F.relu6(x, inplace=True)``); a new tensor is
returned and ``x`` is left as it was (the values are PyTorch's either way).
"""
import math

import numpy as np

from ..backend import xp_of
from ..tensor import Tensor, make
from ._util import as_float, norm_dim, result_tensor, tensor_arg, unbroadcast
from .activation import sigmoid, softmax
from .elementwise import mul, neg

__all__ = ["silu", "mish", "elu", "celu", "selu", "softplus", "logsigmoid", "softsign",
           "tanhshrink", "hardtanh", "relu6", "hardsigmoid", "hardswish", "softmin",
           "hardshrink", "softshrink", "glu", "prelu"]

_QUIET = dict(over="ignore", invalid="ignore", divide="ignore")
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _sig(d, xp):
    """σ(d) without overflow, in d's dtype."""
    e = xp.exp(-xp.abs(d))
    return xp.where(d >= 0, 1 / (1 + e), e / (1 + e)).astype(d.dtype)


def _softplus(d, xp):
    """log(1 + e^d) without overflow: max(d, 0) + log1p(e^−|d|)."""
    return xp.maximum(d, 0) + xp.log1p(xp.exp(-xp.abs(d)))


def silu(x: Tensor, inplace: bool = False) -> Tensor:
    """x·σ(x) (swish); d/dx = σ(x)·(1 + x·(1 − σ(x)))."""
    x = as_float(tensor_arg(x, "silu"))
    d = x.array
    s = _sig(d, xp_of(d))
    with np.errstate(**_QUIET):
        out = d * s

    def backward(g):
        with np.errstate(**_QUIET):
            return (g * (s * (1 + d * (1 - s))),)
    return make(out, (x,), backward, "SiluBackward")


def mish(x: Tensor, inplace: bool = False) -> Tensor:
    """x·tanh(softplus(x)); d/dx = t + x·σ(x)·(1 − t²) with t = tanh(softplus(x))."""
    x = as_float(tensor_arg(x, "mish"))
    d = x.array
    xp = xp_of(d)
    with np.errstate(**_QUIET):
        t = xp.tanh(_softplus(d, xp))
        out = d * t

    def backward(g):
        with np.errstate(**_QUIET):
            return (g * (t + d * _sig(d, xp) * (1 - t * t)),)
    return make(out, (x,), backward, "MishBackward")


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, α·(e^x − 1) otherwise; d/dx = 1 or α·e^x (the latter at x = 0)."""
    return _elu(x, alpha, 1.0, 1.0, "EluBackward")


def celu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, α·(e^(x/α) − 1)); d/dx = 1 or e^(x/α)."""
    if alpha == 0:
        raise ValueError("celu(alpha=0): alpha must be non-zero (it divides x)")
    return _elu(x, alpha, 1.0, 1.0 / alpha, "CeluBackward")


def selu(x: Tensor, inplace: bool = False) -> Tensor:
    """scale·elu(x, α) with PyTorch's fixed α ≈ 1.6733 and scale ≈ 1.0507 (self-normalising)."""
    return _elu(x, SELU_ALPHA, SELU_SCALE, 1.0, "SeluBackward")


def _elu(x: Tensor, alpha: float, scale: float, inv: float, name: str) -> Tensor:
    """scale·x for x > 0, scale·α·(e^(inv·x) − 1) otherwise (PyTorch's elu kernel)."""
    x = as_float(tensor_arg(x, name[:-len("Backward")].lower()))
    d = x.array
    xp = xp_of(d)
    neg = d <= 0
    with np.errstate(**_QUIET):
        e = xp.exp(xp.where(neg, d, 0) * inv)          # e^(inv·x) on the negative side only
        out = xp.where(neg, scale * alpha * (e - 1), scale * d).astype(d.dtype)
        slope = xp.where(neg, scale * alpha * inv * e, scale).astype(d.dtype)
    return make(out, (x,), lambda g: (g * slope,), name)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(βx))/β, and x itself where βx > threshold; d/dx = σ(βx) (1 above)."""
    x = as_float(tensor_arg(x, "softplus"))
    d = x.array
    xp = xp_of(d)
    bx = d * beta
    lin = bx > threshold
    with np.errstate(**_QUIET):
        out = xp.where(lin, d, _softplus(bx, xp) / beta).astype(d.dtype)
        slope = xp.where(lin, 1, _sig(bx, xp)).astype(d.dtype)
    return make(out, (x,), lambda g: (g * slope,), "SoftplusBackward")


def logsigmoid(x: Tensor) -> Tensor:
    """log σ(x) = −softplus(−x), stable for any x; d/dx = σ(−x) = 1 − σ(x)."""
    x = as_float(tensor_arg(x, "logsigmoid"))
    d = x.array
    xp = xp_of(d)
    out = (-_softplus(-d, xp)).astype(d.dtype)
    return make(out, (x,), lambda g: (g * _sig(-d, xp),), "LogSigmoidBackward")


def softsign(x: Tensor) -> Tensor:
    """x/(1 + |x|); d/dx = 1/(1 + |x|)²."""
    x = as_float(tensor_arg(x, "softsign"))
    d = x.array
    a = xp_of(d).abs(d)
    den = 1 + a
    with np.errstate(**_QUIET):          # PyTorch's composite 1/den − |x|/den²: NaN at ±inf
        slope = 1 / den - a / den / den
        out = d / den
    return make(out, (x,), lambda g: (g * slope,), "SoftsignBackward")


def tanhshrink(x: Tensor) -> Tensor:
    """x − tanh(x); d/dx = tanh²(x)."""
    x = as_float(tensor_arg(x, "tanhshrink"))
    d = x.array
    t = xp_of(d).tanh(d)
    return make(d - t, (x,), lambda g: (g * (t * t),), "TanhshrinkBackward")


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """clamp(x, min_val, max_val); the gradient is 1 strictly inside (min_val, max_val) (and
    at NaN, as in PyTorch)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh(min_val={min_val}, max_val={max_val}): min_val must be "
                         f"<= max_val")
    tensor_arg(x, "hardtanh")
    xp = xp_of(x.array)
    if x.array.dtype.kind == "b":
        raise TypeError("hardtanh(): bool inputs are not supported (as in PyTorch)")
    if x.array.dtype.kind in "iu":      # integers stay integers; bounds truncated, as in torch
        if x.array.dtype.kind == "u" and min_val < 0:
            raise ValueError(f"hardtanh(min_val={min_val}): cannot clamp an unsigned "
                             f"{x.dtype} tensor to negative limits (as in PyTorch)")
        return result_tensor(xp.clip(x.array, math.trunc(min_val), math.trunc(max_val)))
    d = x.array
    inside = ~((d <= min_val) | (d >= max_val))
    out = xp.minimum(xp.maximum(d, d.dtype.type(min_val)), d.dtype.type(max_val))
    return make(out, (x,), lambda g: (g * inside,), "HardtanhBackward")


def relu6(x: Tensor, inplace: bool = False) -> Tensor:
    """min(max(0, x), 6) = hardtanh(x, 0, 6)."""
    if tensor_arg(x, "relu6").array.dtype.kind == "b":
        raise TypeError("relu6(): bool inputs are not supported (as in PyTorch)")
    return hardtanh(x, 0.0, 6.0)


def hardsigmoid(x: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3)/6: 0 below −3, 1 above 3; d/dx = 1/6 strictly inside (−3, 3)."""
    x = as_float(tensor_arg(x, "hardsigmoid"))
    d = x.array
    xp = xp_of(d)
    inside = (d > -3) & (d < 3)
    out = xp.minimum(xp.maximum(d / 6 + 0.5, 0), 1).astype(d.dtype)
    return make(out, (x,), lambda g: (g * (inside / 6).astype(g.dtype),), "HardsigmoidBackward")


def hardswish(x: Tensor, inplace: bool = False) -> Tensor:
    """x·relu6(x + 3)/6; d/dx = 0 for x <= −3, x/3 + 1/2 for −3 < x < 3, 1 for x >= 3."""
    x = as_float(tensor_arg(x, "hardswish"))
    d = x.array
    xp = xp_of(d)
    with np.errstate(**_QUIET):
        out = (d * xp.minimum(xp.maximum(d + 3, 0), 6) / 6).astype(d.dtype)
    slope = xp.where(d <= -3, 0, xp.where(d < 3, d / 3 + 0.5, 1)).astype(d.dtype)
    return make(out, (x,), lambda g: (g * slope,), "HardswishBackward")


def softmin(x: Tensor, dim: int = -1) -> Tensor:
    """softmax(−x) along ``dim``: the smallest values get the largest weights."""
    return softmax(neg(as_float(tensor_arg(x, "softmin"))), dim)



def hardshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0; the gradient is 0 on [−lambd, lambd] (and passes at NaN)."""
    x = as_float(tensor_arg(x, "hardshrink"))
    d = x.array
    dead = (d >= -lambd) & (d <= lambd)
    out = xp_of(d).where(dead, 0, d).astype(d.dtype)
    return make(out, (x,), lambda g: (g * ~dead,), "HardshrinkBackward")


def softshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    """x − lambd above lambd, x + lambd below −lambd, 0 in between (lambd >= 0)."""
    if not lambd >= 0:
        raise ValueError(f"softshrink(lambd={lambd}): lambd must be >= 0")
    x = as_float(tensor_arg(x, "softshrink"))
    d = x.array
    xp = xp_of(d)
    dead = (d >= -lambd) & (d <= lambd)
    out = xp.where(dead, 0, d - xp.sign(d) * lambd).astype(d.dtype)
    return make(out, (x,), lambda g: (g * ~dead,), "SoftshrinkBackward")


def glu(x: Tensor, dim: int = -1) -> Tensor:
    """The gated linear unit: a·σ(b), where a and b are the two halves of x along ``dim``.

    Shape: (*, 2M, *) -> (*, M, *). Composed of slicing, sigmoid and mul.
    """
    tensor_arg(x, "glu")
    if x.ndim == 0:
        raise ValueError("glu(): a 0-d tensor has no dimension to halve")
    (axis,) = norm_dim(dim, x.ndim, "glu", x.shape)
    n = x.shape[axis]
    if n % 2:
        raise ValueError(f"glu(): dim={dim} of shape {tuple(x.shape)} has odd size {n}; it "
                         f"must split into two halves")
    head = (slice(None),) * axis
    x = as_float(x)
    return mul(x[head + (slice(0, n // 2),)], sigmoid(x[head + (slice(n // 2, n),)]))


def prelu(x: Tensor, weight: Tensor) -> Tensor:
    """max(0, x) + w·min(0, x) with a learned slope w: one per channel (dim 1), or one shared.

    d/dx = 1 for x > 0, w otherwise; d/dw = Σ x·g over the x < 0 entries of its channel.
    """
    tensor_arg(x, "prelu")
    tensor_arg(weight, "prelu")
    c = weight.array.size
    if c != 1 and (x.ndim < 2 or x.shape[1] != c):
        raise ValueError(f"prelu(): weight has {c} slopes, the input of shape "
                         f"{tuple(x.shape)} must have {c} channels in dim 1")
    x = as_float(x)
    if x.dtype != weight.dtype:
        raise TypeError(f"prelu(): input is {x.dtype} but weight is {weight.dtype} (convert "
                        f"one, e.g. the layer with .to({str(x.dtype)!r}); PyTorch refuses too)")
    d = x.array
    xp = xp_of(d)
    shape = (1, c) + (1,) * (d.ndim - 2) if c != 1 else ()
    w = weight.array.reshape(shape)
    pos = d > 0
    out = xp.where(pos, d, w * d).astype(d.dtype)

    def backward(g):
        gx = g * xp.where(pos, 1, w).astype(g.dtype) if x.requires_grad else None
        gw = None
        if weight.requires_grad:
            gw = unbroadcast(g * xp.where(pos, 0, d), shape).reshape(weight.array.shape)
            gw = gw.astype(weight.array.dtype)
        return gx, gw
    return make(out, (x, weight), backward, "PreluBackward")
