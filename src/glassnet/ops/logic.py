"""Comparisons, logical and bitwise ops, and the any/all reductions: bool or integer results,
no gradient (nothing here is differentiable, so nothing records a graph).

Comparisons follow PyTorch's type promotion (a Python float against an int tensor compares
in float32) and return bool tensors. Bitwise ops (``~ & | ^ << >>``) accept integer and bool
tensors only; on bool tensors ``~`` is logical not, as in PyTorch.
"""
import numpy as np

from ..backend import xp_of
from ..errors import DTypeError
from ..tensor import Tensor
from ._util import binary_operands, dim_arg, norm_dim, result_tensor, tensor_arg

__all__ = ["eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less",
           "less_equal", "not_equal", "equal", "logical_not", "logical_and", "logical_or",
           "logical_xor", "bitwise_not", "bitwise_and", "bitwise_or", "bitwise_xor",
           "bitwise_left_shift", "bitwise_right_shift", "any", "all"]

_OPERAND = (Tensor, bool, int, float, np.number, np.bool_, np.ndarray, list, tuple)


def _binary(name: str, fn: str, doc: str, integral: bool = False):
    """The op ``name``: NumPy's ``fn`` of two broadcast operands, no graph; ``integral``
    refuses floating operands (the bitwise ops)."""
    def op(a, b) -> Tensor:
        a, b = binary_operands(a, b, name)
        if integral:
            _integral(name, a, b)
        with np.errstate(invalid="ignore"):
            return result_tensor(getattr(xp_of(a.array), fn)(a.array, b.array))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


def _compare(name: str, fn: str):
    return _binary(name, fn, f"Element-wise ``{fn}`` with broadcasting; a bool tensor "
                             f"(PyTorch's ``{name}``).")


eq = _compare("eq", "equal")
ne = _compare("ne", "not_equal")
lt = _compare("lt", "less")
le = _compare("le", "less_equal")
gt = _compare("gt", "greater")
ge = _compare("ge", "greater_equal")
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def equal(a: Tensor, b: Tensor) -> bool:
    """True when both have the same shape and elements (a Python bool, like ``torch.equal``)."""
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"equal(): expected two Tensors, got {type(a).__name__} and "
                        f"{type(b).__name__}")
    return a.shape == b.shape and bool(eq(a, b).array.all())


def comparison_method(op):
    """``Tensor.__eq__`` etc.: unknown operands (None, strings) give NotImplemented, so
    ``t == None`` is False and ``t in [a, b]`` works by identity, as in PyTorch."""
    def method(self, other):
        if not isinstance(other, _OPERAND) and xp_of(other) is np:
            return NotImplemented
        return op(self, other)
    method.__name__ = op.__name__
    return method


# -- logical: any dtype, truthiness of each element -------------------------------------------
def logical_not(x: Tensor) -> Tensor:
    return result_tensor(xp_of(tensor_arg(x, "logical_not").array).logical_not(x.array))


def _logical(name: str):
    return _binary(name, name, f"Element-wise ``{name}`` of the truth values (a bool tensor).")


logical_and = _logical("logical_and")
logical_or = _logical("logical_or")
logical_xor = _logical("logical_xor")


# -- bitwise: integer and bool tensors only ---------------------------------------------------
def _integral(name: str, *tensors) -> None:
    for t in tensors:
        if t.array.dtype.kind not in "iub":
            raise DTypeError(f"{name}(): expected integer or bool tensors, got dtype "
                             f"{t.array.dtype} (PyTorch has no bitwise ops on floats)")


def bitwise_not(x: Tensor) -> Tensor:
    """``~x``: bit inversion of integers, logical not of bools."""
    _integral("bitwise_not", tensor_arg(x, "bitwise_not"))
    return result_tensor(xp_of(x.array).invert(x.array))


def _bitwise(name: str, fn: str):
    return _binary(name, fn, f"Element-wise ``{fn}`` of integer/bool tensors, with "
                             f"broadcasting.", integral=True)


bitwise_and = _bitwise("bitwise_and", "bitwise_and")
bitwise_or = _bitwise("bitwise_or", "bitwise_or")
bitwise_xor = _bitwise("bitwise_xor", "bitwise_xor")
bitwise_left_shift = _bitwise("bitwise_left_shift", "left_shift")
bitwise_right_shift = _bitwise("bitwise_right_shift", "right_shift")


# -- any / all ---------------------------------------------------------------------------------
def _reduce_bool(name: str, x: Tensor, dim, keepdim: bool) -> Tensor:
    tensor_arg(x, name)
    axes = norm_dim(dim, x.ndim, name, x.shape)
    if axes is not None and len(set(axes)) != len(axes):
        raise IndexError(f"{name}(): dim={dim!r} names a dimension twice (tensor of shape "
                         f"{tuple(x.shape)})")
    d = x.array
    if d.ndim == 0 and axes is not None:
        axes = None                     # dim 0 / -1 of a 0-d tensor is the tensor itself
    out = getattr(xp_of(d), name)(d != 0, axis=axes, keepdims=keepdim)
    if d.dtype == np.uint8:             # PyTorch keeps uint8 for uint8 inputs
        out = out.astype(np.uint8)
    return Tensor(xp_of(d).asarray(out))


def any(input: Tensor, dim=None, keepdim: bool = False, *,  # noqa: A001,A002
        axis=None) -> Tensor:
    """Whether any element (along ``dim``: an int or a tuple) is non-zero; a bool tensor."""
    return _reduce_bool("any", input, dim_arg(dim, axis, "any"), keepdim)


def all(input: Tensor, dim=None, keepdim: bool = False, *,  # noqa: A001,A002
        axis=None) -> Tensor:
    """Whether every element (along ``dim``: an int or a tuple) is non-zero; a bool tensor."""
    return _reduce_bool("all", input, dim_arg(dim, axis, "all"), keepdim)
