"""Tensor methods that take another tensor's shape or dtype: expand_as, view_as, reshape_as,
type_as, new_zeros/new_ones/new_full/new_empty/new_tensor, plus ``mT``, ``where`` as a method
and the dtype predicates. Bound onto ``Tensor`` in ``_bind.py``.
"""
import numpy as np

from ..backend import to_device, xp_for_device, xp_of
from ..tensor import Tensor
from .elementwise import cast
from .index import where as _where
from .shape import expand, reshape, transpose

__all__ = ["expand_as", "view_as", "reshape_as", "type_as", "new_zeros", "new_ones",
           "new_full", "new_empty", "new_tensor", "matrix_transpose", "where_method",
           "is_floating_point", "is_complex", "ndimension", "nelement"]


def expand_as(a: Tensor, other: Tensor) -> Tensor:
    """``a.expand(other.shape)``."""
    return expand(a, other.shape)


def view_as(a: Tensor, other: Tensor) -> Tensor:
    """``a.view(other.shape)``."""
    return reshape(a, other.shape)


reshape_as = view_as


def type_as(a: Tensor, other: Tensor) -> Tensor:
    """``a`` cast to ``other``'s dtype (itself when it already has it)."""
    return a if a.dtype == other.dtype else cast(a, other.dtype)


def _shape(size) -> tuple:
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size


def new_full(a: Tensor, size, fill_value, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``, with ``a``'s dtype and device."""
    xp = xp_of(a.array) if device is None else xp_for_device(device)
    return Tensor(xp.full(tuple(size), fill_value, dtype=a.dtype if dtype is None else dtype),
                  requires_grad=requires_grad)


def new_zeros(a: Tensor, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Zeros of ``size`` with ``a``'s dtype and device."""
    return new_full(a, _shape(size), 0, dtype=dtype, device=device,
                    requires_grad=requires_grad)


def new_ones(a: Tensor, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Ones of ``size`` with ``a``'s dtype and device."""
    return new_full(a, _shape(size), 1, dtype=dtype, device=device,
                    requires_grad=requires_grad)


new_empty = new_zeros


def new_tensor(a: Tensor, data, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``data`` as a new tensor with ``a``'s dtype and device (unless given)."""
    arr = np.array(data.numpy() if isinstance(data, Tensor) else data,
                   dtype=a.dtype if dtype is None else dtype)
    return Tensor(to_device(arr, a.device if device is None else device),
                  requires_grad=requires_grad)


def matrix_transpose(a: Tensor) -> Tensor:
    """``a.mT``: the last two dims swapped."""
    if a.ndim < 2:
        raise ValueError(f"mT: expected a tensor with at least 2 dims, got shape {a.shape}")
    return transpose(a, -2, -1)


def where_method(a: Tensor, condition, y) -> Tensor:
    """``a.where(condition, y)``: ``a`` where ``condition`` holds, else ``y``."""
    return _where(condition, a, y)


def is_floating_point(a: Tensor) -> bool:
    return a.dtype.kind == "f"


def is_complex(a: Tensor) -> bool:
    return a.dtype.kind == "c"


def ndimension(a: Tensor) -> int:
    """``a.dim()``."""
    return a.ndim


def nelement(a: Tensor) -> int:
    """``a.numel()``."""
    return int(a.array.size)
