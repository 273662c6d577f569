"""Element-wise maths beyond arithmetic: trigonometric and hyperbolic functions, logarithms
and exponentials in other bases, erf, rounding, and the binary functions atan2, logaddexp,
copysign, lerp, fmod and remainder.

Most ops here are one line each: the forward ``f`` and its derivative ``f'`` side by side,
passed to ``_pointwise.unary``, which wraps them as ``y = f(x)`` with backward ``g · f'(x)``
(``_pointwise.binary`` likewise for two operands).
Integer and bool inputs become float32 first (as in PyTorch: ``torch.sin(int_tensor)`` is
float32); they never require grad. Rounding keeps integer dtypes and has a zero gradient
almost everywhere, as in PyTorch.
"""
import math

import numpy as np

from ..backend import erf as _erf
from ..backend import xp_of
from ..tensor import Tensor, make
from ._pointwise import QUIET as _QUIET
from ._pointwise import binary as _binary
from ._pointwise import float_pair as _float_pair
from ._pointwise import host_only as _host_only
from ._pointwise import scipy_special as _scipy
from ._pointwise import unary as _unary
from ._util import binary_operands, result_tensor, tensor_arg

__all__ = ["sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh",
           "atanh", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh",
           "log2", "log10", "log1p", "expm1", "exp2", "rsqrt", "reciprocal", "square",
           "erf", "erfc", "erfinv", "floor", "ceil", "trunc", "fix", "round", "frac",
           "atan2", "arctan2", "logaddexp", "copysign", "lerp", "fmod", "remainder",
           "floor_divide", "isnan", "isinf", "isfinite", "isposinf", "isneginf", "isclose",
           "allclose"]

_LN2, _LN10 = math.log(2.0), math.log(10.0)


# -- trigonometric and hyperbolic ------------------------------------------------------------
def sin(x):
    return _unary(x, "Sin", lambda d, xp: xp.sin(d), lambda d, y, xp: xp.cos(d))


def cos(x):
    return _unary(x, "Cos", lambda d, xp: xp.cos(d), lambda d, y, xp: -xp.sin(d))


def tan(x):
    """tan(x); d/dx = 1 + tan²(x)."""
    return _unary(x, "Tan", lambda d, xp: xp.tan(d), lambda d, y, xp: 1 + y * y)


def asin(x):
    return _unary(x, "Asin", lambda d, xp: xp.arcsin(d),
                  lambda d, y, xp: 1 / xp.sqrt(1 - d * d))


def acos(x):
    return _unary(x, "Acos", lambda d, xp: xp.arccos(d),
                  lambda d, y, xp: -1 / xp.sqrt(1 - d * d))


def atan(x):
    return _unary(x, "Atan", lambda d, xp: xp.arctan(d), lambda d, y, xp: 1 / (1 + d * d))


def sinh(x):
    return _unary(x, "Sinh", lambda d, xp: xp.sinh(d), lambda d, y, xp: xp.cosh(d))


def cosh(x):
    return _unary(x, "Cosh", lambda d, xp: xp.cosh(d), lambda d, y, xp: xp.sinh(d))


def asinh(x):
    return _unary(x, "Asinh", lambda d, xp: xp.arcsinh(d),
                  lambda d, y, xp: 1 / xp.sqrt(d * d + 1))


def acosh(x):
    """acosh(x) for x >= 1; d/dx = 1/√(x²−1) (PyTorch's formula: +inf at x = ±1)."""
    return _unary(x, "Acosh", lambda d, xp: xp.arccosh(d),
                  lambda d, y, xp: 1 / xp.sqrt(d * d - 1))


def atanh(x):
    return _unary(x, "Atanh", lambda d, xp: xp.arctanh(d), lambda d, y, xp: 1 / (1 - d * d))


arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh


# -- logarithms, exponentials, powers --------------------------------------------------------
def log2(x):
    return _unary(x, "Log2", lambda d, xp: xp.log2(d), lambda d, y, xp: 1 / (d * _LN2))


def log10(x):
    return _unary(x, "Log10", lambda d, xp: xp.log10(d), lambda d, y, xp: 1 / (d * _LN10))


def log1p(x):
    """log(1 + x), exact for tiny x; d/dx = 1/(1 + x)."""
    return _unary(x, "Log1p", lambda d, xp: xp.log1p(d), lambda d, y, xp: 1 / (1 + d))


def expm1(x):
    """e^x − 1, exact for tiny x; d/dx = e^x = y + 1."""
    return _unary(x, "Expm1", lambda d, xp: xp.expm1(d), lambda d, y, xp: y + 1)


def exp2(x):
    return _unary(x, "Exp2", lambda d, xp: xp.exp2(d), lambda d, y, xp: y * _LN2)


def rsqrt(x):
    """1/√x; d/dx = −y³/2."""
    return _unary(x, "Rsqrt", lambda d, xp: 1 / xp.sqrt(d), lambda d, y, xp: -0.5 * y * y * y)


def reciprocal(x):
    """1/x; d/dx = −y²."""
    return _unary(x, "Reciprocal", lambda d, xp: 1 / d, lambda d, y, xp: -y * y)


def square(x):
    """x²; an integer tensor stays integer (as in PyTorch); d/dx = 2x."""
    tensor_arg(x, "square")
    if x.array.dtype.kind in "iub":
        d = x.array.astype(np.int64) if x.array.dtype.kind == "b" else x.array
        return result_tensor(d * d)
    return _unary(x, "Square", lambda d, xp: d * d, lambda d, y, xp: 2 * d)


# -- the error function ----------------------------------------------------------------------
def erf(x):
    """erf(x) = 2/√π ∫₀ˣ e^(−t²) dt; d/dx = 2/√π · e^(−x²)."""
    k = 2 / math.sqrt(math.pi)
    return _unary(x, "Erf", lambda d, xp: _erf(d), lambda d, y, xp: k * xp.exp(-d * d))


def erfc(x):
    """1 − erf(x), exact in the tail on the CPU (scipy's erfc; ``1 - erf`` on a device)."""
    k = 2 / math.sqrt(math.pi)
    return _unary(x, "Erfc",
                  lambda d, xp: _scipy("erfc")(d) if xp is np else 1 - _erf(d),
                  lambda d, y, xp: -k * xp.exp(-d * d))


def erfinv(x):
    """The inverse of erf on (−1, 1); d/dx = √π/2 · e^(y²). CPU only (scipy)."""
    k = math.sqrt(math.pi) / 2
    return _unary(_host_only(x, "erfinv"), "Erfinv", lambda d, xp: _scipy("erfinv")(d),
                  lambda d, y, xp: k * xp.exp(y * y))


# -- rounding (zero gradient, integer dtypes kept) -------------------------------------------
def _rounding(x, name: str, f) -> Tensor:
    tensor_arg(x, name.lower())
    if x.array.dtype.kind == "b":
        raise TypeError(f"{name.lower()}(): bool tensors are not supported (as in PyTorch)")
    if x.array.dtype.kind in "iu":
        return Tensor(x.array.copy())
    xp = xp_of(x.array)
    return make(f(x.array, xp), (x,), lambda g: (xp.zeros_like(g),), name + "Backward")


def floor(x):
    return _rounding(x, "Floor", lambda d, xp: xp.floor(d))


def ceil(x):
    return _rounding(x, "Ceil", lambda d, xp: xp.ceil(d))


def trunc(x):
    """Round toward zero."""
    return _rounding(x, "Trunc", lambda d, xp: xp.trunc(d))


fix = trunc


def round(x, decimals: int = 0):  # noqa: A001  (PyTorch's name)
    """Round half to even (0.5 -> 0, 1.5 -> 2, like PyTorch), to ``decimals`` places."""
    tensor_arg(x, "round")
    if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)):
        raise TypeError(f"round(decimals={decimals!r}): decimals must be an int")
    if decimals == 0:
        return _rounding(x, "Round", lambda d, xp: xp.round(d))
    if x.array.dtype.kind in "iub":
        raise TypeError(f"round(decimals={decimals}): integer tensors are not supported with "
                        f"decimals, got dtype {x.dtype}")
    return _rounding(x, "Round", lambda d, xp: xp.round(d, int(decimals)))


def frac(x):
    """x − trunc(x), with x's sign; d/dx = 1."""
    tensor_arg(x, "frac")
    if x.array.dtype.kind in "iub":
        raise TypeError(f"frac(): expected a floating tensor, got dtype {x.dtype}")
    xp = xp_of(x.array)
    with np.errstate(invalid="ignore"):           # inf - inf = NaN, as in PyTorch
        out = x.array - xp.trunc(x.array)
    return make(out, (x,), lambda g: (g,), "FracBackward")


# -- binary functions ------------------------------------------------------------------------
def atan2(a, b) -> Tensor:
    """The angle of the point (b, a): atan(a/b) in the right quadrant.

    d/da = b/(a² + b²), d/db = −a/(a² + b²); both 0 at the origin, as in PyTorch.
    """
    def grads(g, a, b, y, xp):
        inv = 1 / (a * a + b * b)
        inv = xp.where(xp.isinf(inv), 0, inv).astype(g.dtype)
        return g * b * inv, -g * a * inv
    return _binary(_float_pair(a, b, "atan2"), "Atan2", lambda a, b, xp: xp.arctan2(a, b),
                   grads)


arctan2 = atan2


def logaddexp(a, b) -> Tensor:
    """log(e^a + e^b) without overflow; d/da = 1/(1 + e^(b−a)), the softmax weight of a."""
    return _binary(_float_pair(a, b, "logaddexp"), "Logaddexp",
                   lambda a, b, xp: xp.logaddexp(a, b),
                   lambda g, a, b, y, xp: (g * (1 / (1 + xp.exp(b - a))),
                                           g * (1 / (1 + xp.exp(a - b)))))


def copysign(a, b) -> Tensor:
    """|a| with the sign of b. d/da = y/a (0 where a = 0, like PyTorch), d/db = 0."""
    def grads(g, a, b, y, xp):
        ratio = xp.where(a == 0, 0, y / xp.where(a == 0, 1, a))
        return g * ratio.astype(g.dtype), xp.zeros_like(g)
    return _binary(_float_pair(a, b, "copysign"), "Copysign",
                   lambda a, b, xp: xp.copysign(a, b), grads)


def lerp(input, end, weight) -> Tensor:  # noqa: A002  (PyTorch's argument name)
    """input + weight·(end − input), written out of differentiable primitives."""
    from .elementwise import add, mul, sub  # noqa: PLC0415  (elementwise imports nothing here)
    if not isinstance(input, Tensor) and not isinstance(end, Tensor):
        raise TypeError("lerp(input, end, weight): input or end must be a Tensor")
    return add(input, mul(weight, sub(end, input)))


class IntegerDivisionByZero(ZeroDivisionError, RuntimeError):
    """An integer ``%``, ``//``, fmod or rounded div by zero. Both a ``ZeroDivisionError``
    (Python's) and a ``RuntimeError`` (what PyTorch raises, "ZeroDivisionError")."""


def _int_checked(a, b, op: str) -> tuple:
    """The operands of a division-like op, refusing two bools and an integer zero divisor."""
    a, b = binary_operands(a, b, op)
    if a.array.dtype.kind == "b" and b.array.dtype.kind == "b":
        raise TypeError(f"{op}(): not implemented for two bool tensors (as in PyTorch)")
    if a.array.dtype.kind in "iub" and b.array.dtype.kind in "iub" and a.array.size and \
            bool((b.array == 0).any()):
        raise IntegerDivisionByZero(f"{op}(): integer division by zero (PyTorch raises "
                                    f"RuntimeError 'ZeroDivisionError')")
    return a, b


def fmod(a, b) -> Tensor:
    """C-style remainder: a − trunc(a/b)·b, with the sign of ``a`` (-5 fmod 3 = -2).

    d/da = 1, d/db = −trunc(a/b).
    """
    return _binary(_int_checked(a, b, "fmod"), "Fmod", lambda a, b, xp: xp.fmod(a, b),
                   lambda g, a, b, y, xp: (g, -g * xp.trunc(a / b)))


def remainder(a, b) -> Tensor:
    """Python-style remainder (``%``): a − floor(a/b)·b, with the sign of ``b`` (-5 % 3 = 1).

    d/da = 1, d/db = −(a // b) (the floor quotient, computed as ``//`` does).
    """
    return _binary(_int_checked(a, b, "remainder"), "Remainder",
                   lambda a, b, xp: xp.remainder(a, b),
                   lambda g, a, b, y, xp: (g, -g * xp.floor_divide(a, b)))


def floor_divide(a, b) -> Tensor:
    """floor(a / b) (``//``, Python's rule: -5 // 3 = -2); integers stay integers.

    Its gradient is zero (PyTorch's convention for the rounded quotient).
    """
    return _rounded_div(a, b, "floor", "floor_divide")


def _rounded_div(a, b, mode: str, op: str) -> Tensor:
    """a / b rounded toward −inf (``mode='floor'``) or toward zero (``'trunc'``)."""
    a, b = _int_checked(a, b, op)
    if a.array.dtype.kind in "iub":
        xp = xp_of(a.array)
        with np.errstate(**_QUIET):
            q = xp.floor_divide(a.array, b.array)
            if mode == "trunc":                 # floor rounded one too far for inexact negatives
                q = q + ((q < 0) & (q * b.array != a.array))
        return result_tensor(q)
    return _binary((a, b), "Div",
                   (lambda a, b, xp: xp.floor_divide(a, b)) if mode == "floor" else
                   (lambda a, b, xp: xp.trunc(a / b)),
                   lambda g, a, b, y, xp: (xp.zeros_like(g), xp.zeros_like(g)))


# -- floating-point predicates (bool results, no graph) --------------------------------------
def _predicate(x, fn, name: str) -> Tensor:
    xp = xp_of(tensor_arg(x, name).array)
    return result_tensor(fn(x.array, xp))


def isnan(x):
    return _predicate(x, lambda d, xp: xp.isnan(d), "isnan")


def isinf(x):
    return _predicate(x, lambda d, xp: xp.isinf(d), "isinf")


def isfinite(x):
    return _predicate(x, lambda d, xp: xp.isfinite(d), "isfinite")


def isposinf(x):
    return _predicate(x, lambda d, xp: xp.isinf(d) & (d > 0), "isposinf")


def isneginf(x):
    return _predicate(x, lambda d, xp: xp.isinf(d) & (d < 0), "isneginf")


def isclose(a, b, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """|a − b| <= atol + rtol·|b| element-wise (bool), as ``torch.isclose``."""
    if rtol < 0 or atol < 0:
        raise ValueError(f"isclose(rtol={rtol}, atol={atol}): tolerances must be >= 0")
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype != b.dtype:
        raise TypeError(f"isclose(): expected both tensors to have the same dtype, got "
                        f"{a.dtype} and {b.dtype} (as PyTorch requires)")
    a, b = binary_operands(a, b, "isclose")
    xp = xp_of(a.array)
    with np.errstate(**_QUIET):
        return result_tensor(xp.isclose(a.array, b.array, rtol=rtol, atol=atol,
                                        equal_nan=equal_nan))


def allclose(a, b, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """Whether every element is close (a Python bool, like ``torch.allclose``)."""
    return bool(isclose(a, b, rtol, atol, equal_nan).array.all())
