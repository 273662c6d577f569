"""Element-wise arithmetic with NumPy broadcasting; gradients are summed back to each shape."""
import numpy as np

from ..backend import xp_of
from ..errors import ArgumentError
from ..tensor import Tensor, make
from ._util import as_float, binary_operands, same_device, to_tensor, unbroadcast

__all__ = ["add", "sub", "mul", "div", "pow", "neg", "exp", "log", "sqrt", "abs", "clamp",
           "clip", "maximum", "minimum", "where", "cast", "clone", "sign", "clamp_min",
           "clamp_max"]


def add(a, b, *, alpha=1) -> Tensor:
    """a + alpha·b (``alpha`` as in ``torch.add``)."""
    if alpha != 1:
        b = mul(b, alpha)
    a, b = binary_operands(a, b, "add")
    sa, sb = a.array.shape, b.array.shape

    def backward(g):
        return (unbroadcast(g, sa) if a.requires_grad else None,
                unbroadcast(g, sb) if b.requires_grad else None)
    return make(a.array + b.array, (a, b), backward, "AddBackward")


def sub(a, b, *, alpha=1) -> Tensor:
    """a − alpha·b (``alpha`` as in ``torch.sub``)."""
    if alpha != 1:
        b = mul(b, alpha)
    a, b = binary_operands(a, b, "sub")
    sa, sb = a.array.shape, b.array.shape

    def backward(g):
        return (unbroadcast(g, sa) if a.requires_grad else None,
                unbroadcast(-g, sb) if b.requires_grad else None)
    return make(a.array - b.array, (a, b), backward, "SubBackward")


def mul(a, b) -> Tensor:
    a, b = binary_operands(a, b, "mul")

    def backward(g):
        return (unbroadcast(g * b.array, a.array.shape) if a.requires_grad else None,
                unbroadcast(g * a.array, b.array.shape) if b.requires_grad else None)
    return make(a.array * b.array, (a, b), backward, "MulBackward")


def div(a, b, *, rounding_mode=None) -> Tensor:
    """a / b. ``rounding_mode='trunc'`` rounds toward zero, ``'floor'`` toward −inf (both keep
    integer dtypes and have a zero gradient); ``None`` is true division (ints give float32)."""
    if rounding_mode is not None:
        if rounding_mode not in ("trunc", "floor"):
            raise ArgumentError(f"div(rounding_mode={rounding_mode!r}): expected None, 'trunc' "
                                f"or 'floor'")
        from .math import _rounded_div  # noqa: PLC0415  (math builds on this module)
        return _rounded_div(a, b, rounding_mode, "div")
    a, b = binary_operands(a, b, "div")
    if a.array.dtype.kind != "f":                     # true division gives floats, like torch
        a, b = Tensor(a.array.astype(np.float32)), Tensor(b.array.astype(np.float32))
    out = a.array / b.array

    def backward(g):
        return (unbroadcast(g / b.array, a.array.shape) if a.requires_grad else None,
                unbroadcast(-g * out / b.array, b.array.shape) if b.requires_grad else None)
    return make(out, (a, b), backward, "DivBackward")


def pow(a, b) -> Tensor:
    """a ** b. With a constant exponent the gradient is b·a^(b-1)."""
    a, b = binary_operands(a, b, "pow")
    xp = xp_of(a.array)
    if a.array.dtype.kind in "iub" and bool((b.array < 0).any()):
        raise ArgumentError("pow(): integers to negative integer powers are not allowed "
                            "(as in PyTorch; use a float base)")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = _power(xp, a.array, b.array)       # 0 ** -1 = inf, (-2) ** 0.5 = nan, as torch

    def backward(g):
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if a.requires_grad:      # b·a^(b-1), and exactly 0 where b == 0 (even at a = 0)
                da = xp.where(b.array == 0, 0, b.array * _power(xp, a.array, b.array - 1))
                ga = unbroadcast(g * da.astype(out.dtype), a.array.shape)
            if b.requires_grad:      # a^b·log(a), PyTorch's: 0 at a = 0 for b >= 0; NaN for
                db = out * xp.log(a.array)            # a < 0, ±inf at a = 0 for b < 0 ...
                db = xp.where((a.array == 0) & (b.array >= 0), 0, db)
                gb = unbroadcast(g * db.astype(out.dtype), b.array.shape)
        return ga, gb
    return make(out, (a, b), backward, "PowBackward")


def _power(xp, a, b):
    """a ** b; a 0-d exponent ±0.5 is sqrt / 1/sqrt, as PyTorch computes it (so -0.0 ** -0.5
    is -inf there and here)."""
    if b.ndim == 0 and a.dtype.kind == "f" and b == 0.5:
        return xp.sqrt(a)
    if b.ndim == 0 and a.dtype.kind == "f" and b == -0.5:
        return (1 / xp.sqrt(a)).astype(a.dtype)
    return xp.power(a, b)


def neg(a: Tensor) -> Tensor:
    return make(-a.array, (a,), lambda g: (-g,), "NegBackward")


def exp(a: Tensor) -> Tensor:
    a = as_float(a)
    out = xp_of(a.array).exp(a.array)
    return make(out, (a,), lambda g: (g * out,), "ExpBackward")


def log(a: Tensor) -> Tensor:
    a = as_float(a)
    return make(xp_of(a.array).log(a.array), (a,), lambda g: (g / a.array,), "LogBackward")


def sqrt(a: Tensor) -> Tensor:
    a = as_float(a)
    out = xp_of(a.array).sqrt(a.array)
    return make(out, (a,), lambda g: (g / (2 * out),), "SqrtBackward")


def abs(a: Tensor) -> Tensor:
    xp = xp_of(a.array)
    return make(xp.abs(a.array), (a,), lambda g: (g * xp.sign(a.array),), "AbsBackward")


def sign(a: Tensor) -> Tensor:
    """-1, 0 or 1 (0 for NaN, as in PyTorch); the gradient is 0."""
    if not isinstance(a, Tensor):
        raise TypeError(f"sign(): argument 'input' must be a Tensor, got {type(a).__name__}")
    xp = xp_of(a.array)
    if a.array.dtype.kind == "b":
        return Tensor(a.array.copy())
    out = xp.sign(a.array)
    if out.dtype.kind == "f":
        out = xp.where(xp.isnan(out), 0, out).astype(out.dtype)
    return make(out, (a,), lambda g: (xp.zeros_like(g),), "SignBackward")


def clamp_min(a: Tensor, min) -> Tensor:  # noqa: A002  (PyTorch's argument name)
    return clamp(a, min=min)


def clamp_max(a: Tensor, max) -> Tensor:  # noqa: A002
    return clamp(a, max=max)


def clamp(a: Tensor, min=None, max=None) -> Tensor:
    """Limit values to [min, max]; the gradient passes only where the value was inside."""
    if min is None and max is None:
        raise ArgumentError("clamp(): at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):      # constant tensor bounds
        if any(isinstance(v, Tensor) and v.requires_grad for v in (min, max)):
            raise TypeError("clamp(): min/max tensors that require grad are not supported; "
                            "use maximum()/minimum() to differentiate through the bounds")
        same_device("clamp", a, *(v for v in (min, max) if isinstance(v, Tensor)))
        min = min.array if isinstance(min, Tensor) else min
        max = max.array if isinstance(max, Tensor) else max
    xp = xp_of(a.array)
    out = xp.clip(a.array, min, max)
    if out.dtype != a.array.dtype and a.array.dtype.kind == "f":
        out = out.astype(a.array.dtype)

    def backward(g):
        inside = xp.ones(a.array.shape, dtype=bool)
        if min is not None:
            inside &= a.array >= min
        if max is not None:
            inside &= a.array <= max
        return (g * inside,)
    return make(out, (a,), backward, "ClampBackward")


clip = clamp


def _select(a, b, pick_a: np.ndarray, out: np.ndarray, name: str) -> Tensor:
    # ties split the gradient equally, as PyTorch does for maximum/minimum
    tie = a.array == b.array
    xp = xp_of(out)

    def backward(g):
        wa = xp.where(tie, 0.5, pick_a).astype(g.dtype)
        return (unbroadcast(g * wa, a.array.shape) if a.requires_grad else None,
                unbroadcast(g * (1 - wa), b.array.shape) if b.requires_grad else None)
    return make(out, (a, b), backward, name)


def maximum(a, b) -> Tensor:
    a, b = binary_operands(a, b, "maximum")
    return _select(a, b, a.array > b.array, xp_of(a.array).maximum(a.array, b.array),
                   "MaximumBackward")


def minimum(a, b) -> Tensor:
    a, b = binary_operands(a, b, "minimum")
    return _select(a, b, a.array < b.array, xp_of(a.array).minimum(a.array, b.array),
                   "MinimumBackward")


def where(cond, a, b) -> Tensor:
    """Pick ``a`` where ``cond`` is true and ``b`` elsewhere (broadcasting all three).

    ``a`` and ``b`` may be Python numbers (``where(mask, 1, 3)`` is int64, as in PyTorch);
    two numbers live on ``cond``'s device.
    """
    if isinstance(cond, Tensor) and not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = Tensor(xp_of(cond.array).asarray(a, dtype=_scalar_dtype(a)))
    a, b = binary_operands(a, b, "where")
    xp = xp_of(a.array, b.array)
    if isinstance(cond, Tensor):
        same_device("where", cond, a)
        c = cond.array
    else:
        c = xp.asarray(cond)               # a host mask/list for a device tensor is copied
    c = c.astype(bool)

    def backward(g):
        return (unbroadcast(xp.where(c, g, 0).astype(g.dtype), a.array.shape)
                if a.requires_grad else None,
                unbroadcast(xp.where(c, 0, g).astype(g.dtype), b.array.shape)
                if b.requires_grad else None)
    return make(xp.where(c, a.array, b.array), (a, b), backward, "WhereBackward")


def _scalar_dtype(v):
    """PyTorch's dtype for a lone Python number: bool, int64 or float32."""
    if isinstance(v, (bool, np.bool_)):
        return np.bool_
    return np.int64 if isinstance(v, (int, np.integer)) else np.float32


def cast(a: Tensor, dtype) -> Tensor:
    dtype = np.dtype(dtype)
    src = a.array.dtype
    if dtype.kind != "f":
        return Tensor(a.array.astype(dtype))
    return make(a.array.astype(dtype), (a,), lambda g: (g.astype(src),), "ToCopyBackward")


def clone(a: Tensor) -> Tensor:
    return make(a.array.copy(), (a,), lambda g: (g,), "CloneBackward")


_ = to_tensor
