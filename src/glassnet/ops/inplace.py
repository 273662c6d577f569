"""The ops behind in-place methods that no other op computes: ``fill_``/``zero_``,
``copy_`` and ``x[key] = value``.

Each takes ``src`` (the tensor before the change) and returns the new value as a fresh tensor;
``glassnet/_inplace.py`` then writes it into the tensor (``tensor._apply_inplace``).
"""
from __future__ import annotations

from ..backend import xp_of
from ..tensor import Tensor, make
from ._util import to_tensor, unbroadcast
from .shape import _index_key

__all__ = ["fill", "copy_from", "index_put"]


def fill(src: Tensor, value) -> Tensor:
    """``value`` (a number, or an array of src's shape) everywhere; no gradient to src."""
    xp = xp_of(src.array)
    if isinstance(value, Tensor):
        value = value.array
    out = xp.empty_like(src.array)
    out[...] = value
    return make(out, (src,), lambda g: (None,), "FillBackward")


def copy_from(src: Tensor, other) -> Tensor:
    """``other`` broadcast to src's shape and cast to its dtype (``src.copy_(other)``)."""
    other = to_tensor(other, src)
    xp = xp_of(src.array)
    try:
        out = xp.broadcast_to(other.array, src.array.shape).astype(src.array.dtype)
    except ValueError:
        raise RuntimeError(f"copy_(src): src of shape {list(other.shape)} can't be broadcast "
                           f"to the tensor's shape {list(src.shape)}") from None
    odt, oshape = other.array.dtype, other.array.shape

    def backward(g):
        return None, unbroadcast(g, oshape).astype(odt, copy=False)
    return make(out, (src, other), backward, "CopyBackwards")


def index_put(src: Tensor, key, value) -> Tensor:
    """src with ``src[key] = value``: the gradient of the overwritten entries goes to value."""
    value = to_tensor(value, src)
    key = _index_key(key, src)
    out = src.array.copy()
    out[key] = value.array
    vshape, vdt = value.array.shape, value.array.dtype

    def backward(g):
        g_src = g.copy()
        g_src[key] = 0
        g_val = g[key]
        if g_val.shape != vshape:                  # value was broadcast into the slots
            if g_val.ndim < len(vshape):
                g_val = g_val.reshape((1,) * (len(vshape) - g_val.ndim) + g_val.shape)
            g_val = unbroadcast(g_val, vshape)
        return g_src, g_val.astype(vdt, copy=False)
    return make(out, (src, value), backward, "IndexPutBackward")
