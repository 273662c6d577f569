"""More of PyTorch's element-wise functions: hypot, xlogy, logit, sinc, logaddexp2, fmax/fmin,
float_power, heaviside, nan_to_num, deg2rad/rad2deg, signbit; and the aliases PyTorch also
accepts (multiply, subtract, divide, true_divide, negative, absolute, positive).

Forward and derivative side by side, as in ``ops/math.py`` (the scaffold: ``_pointwise.py``).
"""
import math

import numpy as np

from ..backend import xp_of
from ..tensor import Tensor, make
from ._pointwise import QUIET as _QUIET
from ._pointwise import binary as _binary
from ._pointwise import float_pair as _float_pair
from ._pointwise import host_only as _host_only
from ._pointwise import scipy_special as _scipy
from ._pointwise import unary as _unary
from ._util import as_float, binary_operands, result_tensor, tensor_arg, unbroadcast
from .elementwise import abs as _abs
from .elementwise import add, div, mul, neg, sign, sub

__all__ = ["hypot", "xlogy", "logit", "sinc", "logaddexp2", "fmax", "fmin", "float_power",
           "heaviside", "nan_to_num", "deg2rad", "rad2deg", "signbit", "multiply", "subtract",
           "divide", "true_divide", "negative", "absolute", "positive", "sgn", "addcmul",
           "addcdiv", "gammaln", "lgamma", "digamma", "entr", "ndtr"]


def hypot(a, b) -> Tensor:
    """√(a² + b²) without overflow; d/da = a/y, d/db = b/y."""
    return _binary(_float_pair(a, b, "hypot"), "Hypot", lambda a, b, xp: xp.hypot(a, b),
                   lambda g, a, b, y, xp: (g * a / y, g * b / y))


def xlogy(a, b) -> Tensor:
    """a·log(b), and 0 where a = 0 (even for b = 0; a NaN b stays NaN): the entropy term.

    d/da = log(b) (0 where a = 0 and b <= 0, as in PyTorch), d/db = a/b.
    """
    a, b = _float_pair(a, b, "xlogy")
    xp = xp_of(a.array)
    with np.errstate(**_QUIET):
        lb = xp.log(b.array)
        zero = (a.array == 0) & ~xp.isnan(b.array)
        out = xp.where(zero, 0, a.array * lb).astype(lb.dtype)

    def backward(g):
        with np.errstate(**_QUIET):
            glb = xp.where((g == 0) & ~xp.isnan(b.array), 0, g * lb)      # xlogy(g, b)
            ga = xp.where((a.array == 0) & (b.array <= 0), 0, glb).astype(g.dtype)
            return (unbroadcast(ga, a.array.shape) if a.requires_grad else None,
                    unbroadcast(g * a.array / b.array, b.array.shape) if b.requires_grad else None)
    return make(out, (a, b), backward, "XlogyBackward")


def logit(x, eps=None) -> Tensor:
    """log(p/(1−p)), the inverse of sigmoid; ``eps`` clamps p to [eps, 1−eps] first.

    d/dp = 1/(p(1−p)); as in PyTorch, 0 outside [eps, 1−eps] when eps is given, and NaN
    outside [0, 1] when it is not.
    """
    x = as_float(tensor_arg(x, "logit"))
    d = x.array
    xp = xp_of(d)
    p = d if eps is None else xp.clip(d, eps, 1 - eps)
    with np.errstate(**_QUIET):
        out = xp.log(p / (1 - p)).astype(d.dtype)

    def backward(g):
        with np.errstate(**_QUIET):
            dp = g / xp.where(d == 0, 0, d * (1 - d))      # +0 at -0.0 too, as in PyTorch
            if eps is not None:
                dp = xp.where((d < eps) | (d > 1 - eps), 0, dp).astype(g.dtype)
            else:
                dp = xp.where((d < 0) | (d > 1), xp.nan, dp).astype(g.dtype)
            return (dp,)
    return make(out, (x,), backward, "LogitBackward")


def sinc(x) -> Tensor:
    """sin(πx)/(πx), 1 at x = 0; d/dx = (cos(πx) − sinc(x))/x, 0 at x = 0."""
    return _unary(x, "Sinc",
                  lambda d, xp: (xp.sinc(d) if hasattr(xp, "sinc") else _sinc(d, xp)
                                 ).astype(d.dtype),
                  lambda d, y, xp: xp.where(d == 0, 0, (xp.cos(math.pi * d) - y) / d
                                            ).astype(d.dtype))


def _sinc(d, xp):
    with np.errstate(**_QUIET):
        px = math.pi * d
        return xp.where(d == 0, 1, xp.sin(px) / px).astype(d.dtype)


def logaddexp2(a, b) -> Tensor:
    """log2(2^a + 2^b); d/da = 1/(1 + 2^(b−a))."""
    return _binary(_float_pair(a, b, "logaddexp2"), "Logaddexp2",
                   lambda a, b, xp: xp.logaddexp2(a, b),
                   lambda g, a, b, y, xp: (g * (1 / (1 + xp.exp2(b - a))),
                                           g * (1 / (1 + xp.exp2(a - b)))))


def _nan_pick(a, b, name: str, larger: bool) -> Tensor:
    """max/min that ignores a NaN operand; the gradient goes to the picked operand, to ``a``
    on a tie (PyTorch's rule for fmax/fmin, unlike maximum/minimum which split it)."""
    a, b = binary_operands(a, b, name)
    pick = (lambda a, b, xp: xp.fmax(a, b)) if larger else (lambda a, b, xp: xp.fmin(a, b))
    if a.array.dtype.kind != "f":
        return result_tensor(pick(a.array, b.array, xp_of(a.array)))

    def grads(g, a, b, y, xp):
        wa = (((a >= b) if larger else (a <= b)) | xp.isnan(b)).astype(g.dtype)
        return g * wa, g * (1 - wa)
    return _binary((a, b), name.capitalize(), pick, grads)


def fmax(a, b) -> Tensor:
    """Element-wise maximum that ignores NaN (NaN only where both are NaN)."""
    return _nan_pick(a, b, "fmax", True)


def fmin(a, b) -> Tensor:
    """Element-wise minimum that ignores NaN (NaN only where both are NaN)."""
    return _nan_pick(a, b, "fmin", False)


def float_power(a, b) -> Tensor:
    """a ** b computed in float64 (PyTorch's ``float_power``), differentiable."""
    from .elementwise import cast, pow  # noqa: PLC0415
    a, b = binary_operands(a, b, "float_power")
    return pow(cast(a, np.float64), cast(b, np.float64))


def heaviside(x, values) -> Tensor:
    """0 where x < 0, 1 where x > 0, ``values`` where x == 0 (no gradient, as in PyTorch)."""
    tensor_arg(x, "heaviside")
    if isinstance(values, Tensor) and x.dtype != values.dtype:
        raise TypeError(f"heaviside(): input ({x.dtype}) and values ({values.dtype}) must "
                        f"have the same dtype (as PyTorch requires)")
    x, v = binary_operands(x, values, "heaviside")
    xp = xp_of(x.array)
    return result_tensor(xp.heaviside(x.array, v.array) if x.array.dtype.kind == "f" else
                         xp.where(x.array == 0, v.array, x.array > 0).astype(x.array.dtype))


def nan_to_num(x, nan: float = 0.0, posinf=None, neginf=None) -> Tensor:
    """NaN -> ``nan``, +inf -> ``posinf`` (default: the dtype's largest), -inf -> ``neginf``.

    The gradient passes where x was finite and is 0 at the replaced elements.
    """
    tensor_arg(x, "nan_to_num")
    d = x.array
    if d.dtype.kind != "f":
        return Tensor(d.copy())
    xp = xp_of(d)
    out = xp.nan_to_num(d, nan=nan, posinf=posinf, neginf=neginf)
    finite = xp.isfinite(d)
    return make(out, (x,), lambda g: (g * finite,), "NanToNumBackward")


def deg2rad(x) -> Tensor:
    return mul(as_float(tensor_arg(x, "deg2rad")), math.pi / 180)


def rad2deg(x) -> Tensor:
    return mul(as_float(tensor_arg(x, "rad2deg")), 180 / math.pi)


def signbit(x) -> Tensor:
    """Whether the sign bit is set (True for -0.0 and negative NaN payloads too)."""
    xp = xp_of(tensor_arg(x, "signbit").array)
    return result_tensor(xp.signbit(x.array))


def addcmul(input, tensor1, tensor2, *, value=1) -> Tensor:  # noqa: A002
    """input + value·tensor1·tensor2 (composed of differentiable primitives)."""
    return add(input, mul(mul(tensor1, tensor2), value))


def addcdiv(input, tensor1, tensor2, *, value=1) -> Tensor:  # noqa: A002
    """input + value·tensor1/tensor2 (composed of differentiable primitives)."""
    return add(input, mul(div(tensor1, tensor2), value))


def gammaln(x) -> Tensor:
    """log|Γ(x)| (``torch.lgamma``); d/dx = ψ(x), the digamma function. CPU only (scipy).

    +inf at −inf, as in PyTorch (scipy gives −inf).
    """
    return _unary(_host_only(x, "lgamma"), "Lgamma",
                  lambda d, xp: np.where(d == -np.inf, np.inf, _scipy("gammaln")(d)
                                         ).astype(d.dtype),
                  lambda d, y, xp: _scipy("digamma")(d).astype(d.dtype))


lgamma = gammaln


def digamma(x) -> Tensor:
    """ψ(x) = d/dx log Γ(x); d/dx = ψ'(x) (polygamma(1, x)). CPU only (scipy).

    −inf at 0 and +inf at −0, as in PyTorch.
    """
    return _unary(_host_only(x, "digamma"), "Digamma",
                  lambda d, xp: _scipy("digamma")(d).astype(d.dtype),
                  lambda d, y, xp: _scipy("polygamma")(1, d).astype(d.dtype))


def entr(x) -> Tensor:
    """−x·log x for x > 0, 0 at 0, −inf for x < 0 (the entropy term); d/dx = −(log x + 1)."""
    return _unary(x, "Entr",
                  lambda d, xp: xp.where(xp.isnan(d), d, xp.where(
                      d > 0, -d * xp.log(d), xp.where(d == 0, 0, -np.inf)).astype(d.dtype)),
                  lambda d, y, xp: -(xp.log(d) + 1))


def ndtr(x) -> Tensor:
    """The standard normal CDF Φ(x) = (1 + erf(x/√2))/2; d/dx = the normal density."""
    from .math import erf  # noqa: PLC0415  (math does not import this module)
    return mul(add(erf(mul(as_float(tensor_arg(x, "ndtr")), 1 / math.sqrt(2))), 1), 0.5)


# -- PyTorch's alternative names ----------------------------------------------------------------
multiply, subtract, divide, true_divide = mul, sub, div, div
negative, absolute, sgn = neg, _abs, sign


def positive(x) -> Tensor:
    """x itself (``torch.positive``); bool tensors are refused as in PyTorch."""
    if tensor_arg(x, "positive").array.dtype.kind == "b":
        raise TypeError("positive(): bool tensors are not supported (as in PyTorch)")
    return x

