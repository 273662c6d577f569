"""Tensor constructors: zeros, ones, randn, rand, arange, from_numpy."""
import numpy as np

from .tensor import Tensor, get_rng

__all__ = ["zeros", "ones", "randn", "rand", "arange", "zeros_like", "ones_like", "from_numpy"]


def _shape(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def zeros(*shape, dtype=np.float32, requires_grad=False) -> Tensor:
    return Tensor(np.zeros(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape, dtype=np.float32, requires_grad=False) -> Tensor:
    return Tensor(np.ones(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def zeros_like(t: Tensor, requires_grad=False) -> Tensor:
    return Tensor(np.zeros_like(t.data), requires_grad=requires_grad)


def ones_like(t: Tensor, requires_grad=False) -> Tensor:
    return Tensor(np.ones_like(t.data), requires_grad=requires_grad)


def randn(*shape, dtype=np.float32, requires_grad=False, generator=None) -> Tensor:
    rng = generator or get_rng()
    return Tensor(rng.standard_normal(_shape(shape)).astype(dtype), requires_grad=requires_grad)


def rand(*shape, dtype=np.float32, requires_grad=False, generator=None) -> Tensor:
    rng = generator or get_rng()
    return Tensor(rng.random(_shape(shape)).astype(dtype), requires_grad=requires_grad)


def arange(*args, dtype=None) -> Tensor:
    arr = np.arange(*args)
    if dtype is not None:
        arr = arr.astype(dtype)
    elif arr.dtype.kind == "f":
        arr = arr.astype(np.float32)
    return Tensor(arr)


def from_numpy(arr: np.ndarray) -> Tensor:
    """Wrap an array without copying (shares memory, keeps dtype)."""
    return Tensor(np.asarray(arr))
