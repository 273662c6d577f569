"""Non-linearities: relu, leaky_relu, sigmoid, tanh, gelu, threshold, softmax, log_softmax.

``inplace`` (relu, leaky_relu, threshold) is accepted as in ``torch.nn.functional``; a new
tensor is returned and the input is left as it was.
"""
import math

import numpy as np

from ..backend import erf, xp_of
from ..tensor import Tensor, is_grad_enabled, make
from . import _fast
from ._pointwise import scipy_special
from ._util import as_float, dim_arg, norm_dim

__all__ = ["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "threshold", "softmax",
           "log_softmax"]


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    """max(0, x); the gradient is 0 where x <= 0 and 1 elsewhere (0 at x = 0; a NaN input
    passes its gradient through), like PyTorch.

    Large float arrays go through the compiled kernel of ``ops/_fast.py`` when it is on
    (one pass each way instead of two, same values and gradients)."""
    a = x.array
    if a.dtype.kind == "f" and not (x.requires_grad and is_grad_enabled()):
        return make(xp_of(a).maximum(a, 0, dtype=x.dtype), (x,), None)   # no mask to keep
    if a.size >= _FAST_RELU_MIN and type(a) is np.ndarray and a.dtype in _FAST_DTYPES:
        kern = _fast.kernels()
        perm = _fast.dense_order(a) if kern is not None else None
        if perm is not None:
            return _relu_fast(kern, x, perm)
    if a.dtype.kind != "f":
        mask = a > 0
        out = a * mask
    else:
        out = xp_of(a).maximum(a, 0, dtype=x.dtype)    # NaN stays NaN
        mask = out != 0                                 # x > 0 or NaN: one pass, as x > 0
    xp = xp_of(a)      # a select, as PyTorch's: an inf or NaN g stays out where x <= 0
    return make(out, (x,), lambda g: (xp.where(mask, g, xp.zeros((), g.dtype)),),
                "ReluBackward")


# The kernel wins from ~2**14 elements (fwd + bwd with the graph, 2 threads: 64x256 12.1 ->
# 10.1 us, 128x512 37 -> 22 us; 32x256 7.5 -> 8.6 us, so smaller arrays stay on NumPy).
_FAST_RELU_MIN = 1 << 14
# Two threads from 2**16 elements (fwd + bwd, 2 threads: 128x512 25.5 -> 20.1 us, 256x512
# 76.5 -> 30.0, the cnn workload's 64x32x28x28 1108 -> 578 us; 128x256 15.1 vs 16.2 stays serial).
_RELU_PAR_MIN = 1 << 16
_FAST_DTYPES = (np.float32, np.float64)


def _relu_fast(kern, x, perm):
    """relu by the compiled kernel on the memory-order 1-D views of x, out and mask."""
    a = x.array
    out, mask = np.empty_like(a), np.empty_like(a, dtype=np.bool_)  # same layout as a
    _fast.step_kernel("relu", a.size, _RELU_PAR_MIN)(_fast.flat(a, perm), _fast.flat(out, perm),
                                                     _fast.flat(mask, perm))
    _fast.note("relu")

    def backward(g):
        gf = _fast.flat(g, perm) if type(g) is np.ndarray and g.dtype == a.dtype else None
        if gf is None:                  # a gradient in another layout or dtype
            return (g * mask,)
        gx = np.empty_like(a)
        _fast.step_kernel("relu_backward", a.size, _RELU_PAR_MIN)(gf, _fast.flat(mask, perm),
                                                                  _fast.flat(gx, perm))
        return (gx,)
    return make(out, (x,), backward, "ReluBackward")


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    x = as_float(x)
    pos = x.array > 0
    slope = xp_of(x.array).where(pos, 1, negative_slope).astype(x.array.dtype)
    return make(x.array * slope, (x,), lambda g: (g * slope,), "LeakyReluBackward")


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + e^-x), computed without overflow for large |x|.

    On the CPU: scipy's ``expit``, one pass in the input's dtype (2-16x faster than the
    formula below, within 4 ulp of it); elsewhere e = exp(-|x|), then 1/(1+e) or e/(1+e).
    """
    x = as_float(x)
    d = x.array
    xp = xp_of(d)
    if xp is np and d.dtype.kind == "f":
        out = scipy_special("expit")(d)       # scipy imported at the first call
    else:
        e = xp.exp(-xp.abs(d))
        out = xp.where(d >= 0, 1 / (1 + e), e / (1 + e)).astype(d.dtype)
    return make(out, (x,), lambda g: (g * out * (1 - out),), "SigmoidBackward")


def tanh(x: Tensor) -> Tensor:
    x = as_float(x)
    out = xp_of(x.array).tanh(x.array)
    return make(out, (x,), lambda g: (g * (1 - out * out),), "TanhBackward")


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x·Φ(x) (exact, erf-based) or the tanh approximation, as in ``torch.nn.GELU``."""
    x = as_float(x)
    d = x.array
    xp = xp_of(d)
    if approximate == "tanh":
        k = math.sqrt(2 / math.pi)
        inner = k * (d + 0.044715 * d ** 3)
        t = xp.tanh(inner)
        out = 0.5 * d * (1 + t)

        def backward(g):
            dinner = k * (1 + 3 * 0.044715 * d * d)
            return (g * (0.5 * (1 + t) + 0.5 * d * (1 - t * t) * dinner),)
    elif approximate == "none":
        cdf = 0.5 * (1 + erf(d / math.sqrt(2)))      # scipy's or cupyx's erf
        with np.errstate(invalid="ignore"):          # -inf · 0 = NaN, as in PyTorch
            out = d * cdf

        def backward(g):
            with np.errstate(over="ignore", invalid="ignore"):
                pdf = xp.exp(-0.5 * d * d) / math.sqrt(2 * math.pi)
                return (g * (cdf + d * pdf),)
    else:
        raise ValueError(f"gelu(approximate={approximate!r}): expected 'none' or 'tanh'")
    return make(out.astype(d.dtype), (x,), backward, "GeluBackward")


def threshold(x: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else ``value`` (the neuron that "fires" above a threshold).

    Written as "value where x <= threshold" like PyTorch, so a NaN input stays NaN.
    """
    fire = ~(x.array <= threshold)
    out = xp_of(x.array).where(fire, x.array, x.array.dtype.type(value))
    return make(out, (x,), lambda g: (g * fire,), "ThresholdBackward")


def softmax(x: Tensor, dim: int = -1, *, axis=None, dtype=None) -> Tensor:
    """exp(x_i) / Σ_j exp(x_j) along ``dim`` (alias ``axis``; max-shifted for stability)."""
    x = as_float(x if dtype is None else x.to(dtype))  # dtype=: cast first, like PyTorch
    (axis,) = norm_dim(dim_arg(dim, axis, "softmax", -1), x.ndim, "softmax", x.shape)
    xp = xp_of(x.array)
    e = xp.exp(x.array - _max_keep(x.array, axis))
    out = e / e.sum(axis=axis, keepdims=True)

    def backward(g):
        return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)
    return make(out, (x,), backward, "SoftmaxBackward")


def log_softmax(x: Tensor, dim: int = -1, *, axis=None, dtype=None) -> Tensor:
    """x_i − log Σ_j exp(x_j) along ``dim`` (alias ``axis``), stable for logits of any size."""
    x = as_float(x if dtype is None else x.to(dtype))  # dtype=: cast first, like PyTorch
    (axis,) = norm_dim(dim_arg(dim, axis, "log_softmax", -1), x.ndim, "log_softmax", x.shape)
    xp = xp_of(x.array)
    shifted = x.array - _max_keep(x.array, axis)
    out = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))

    def backward(g):
        return (g - xp.exp(out) * g.sum(axis=axis, keepdims=True),)
    return make(out, (x,), backward, "LogSoftmaxBackward")


def _max_keep(d, axis: int):
    """max along axis (kept), -inf for an empty axis (CuPy's max has no ``initial=``)."""
    if d.ndim and d.shape[axis] == 0:
        return xp_of(d).full(d.shape[:axis] + (1,) + d.shape[axis + 1:], -np.inf, d.dtype)
    return d.max(axis=axis, keepdims=True)
