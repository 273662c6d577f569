"""Tensor constructors: zeros, ones, randn, rand, arange, from_numpy (all take ``device=``).

Random tensors are drawn on the host from glassnet's generator and then moved to ``device``,
so one seed gives the same numbers on every device.
"""
import numpy as np

from .backend import normalize_device, to_device, xp_for_device, xp_of
from .tensor import Tensor, get_rng

__all__ = ["zeros", "ones", "randn", "rand", "arange", "zeros_like", "ones_like", "from_numpy"]


def _shape(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def _xp(device):
    return np if device is None else xp_for_device(device)


def zeros(*shape, dtype=np.float32, requires_grad=False, device=None) -> Tensor:
    """A tensor of zeros, e.g. ``gn.zeros(2, 3, device="cuda")``."""
    return Tensor(_xp(device).zeros(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape, dtype=np.float32, requires_grad=False, device=None) -> Tensor:
    """A tensor of ones, e.g. ``gn.ones(2, 3, device="cuda")``."""
    return Tensor(_xp(device).ones(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def zeros_like(t: Tensor, requires_grad=False, device=None) -> Tensor:
    """Zeros with ``t``'s shape, dtype and (unless ``device`` is given) device."""
    xp = xp_of(t.data) if device is None else xp_for_device(device)
    return Tensor(xp.zeros(t.shape, dtype=t.dtype), requires_grad=requires_grad)


def ones_like(t: Tensor, requires_grad=False, device=None) -> Tensor:
    """Ones with ``t``'s shape, dtype and (unless ``device`` is given) device."""
    xp = xp_of(t.data) if device is None else xp_for_device(device)
    return Tensor(xp.ones(t.shape, dtype=t.dtype), requires_grad=requires_grad)


def _place(arr: np.ndarray, device):
    return arr if device is None else to_device(arr, normalize_device(device))


def randn(*shape, dtype=np.float32, requires_grad=False, generator=None, device=None) -> Tensor:
    """Standard normal samples (drawn on the host, then moved to ``device``)."""
    rng = generator or get_rng()
    arr = rng.standard_normal(_shape(shape)).astype(dtype)
    return Tensor(_place(arr, device), requires_grad=requires_grad)


def rand(*shape, dtype=np.float32, requires_grad=False, generator=None, device=None) -> Tensor:
    """Uniform samples in [0, 1) (drawn on the host, then moved to ``device``)."""
    rng = generator or get_rng()
    arr = rng.random(_shape(shape)).astype(dtype)
    return Tensor(_place(arr, device), requires_grad=requires_grad)


def arange(*args, dtype=None, device=None) -> Tensor:
    """Like ``torch.arange``: ints give int64, floats give float32."""
    arr = np.arange(*args)
    if dtype is not None:
        arr = arr.astype(dtype)
    elif arr.dtype.kind == "f":
        arr = arr.astype(np.float32)
    return Tensor(_place(arr, device))


def from_numpy(arr: np.ndarray) -> Tensor:
    """Wrap an array without copying (shares memory, keeps dtype)."""
    return Tensor(np.asarray(arr))
