"""Writing slices picked by an index along one dim: index_add, index_copy, index_fill.

The gradient of ``input`` passes through the positions left alone (all of them for
``index_add``); ``source`` gets the gradient read back at its destinations.
"""
import numpy as np

from ..backend import xp_of
from ..tensor import Tensor, make
from ._util import norm_dim, same_device
from .index import along_add
from .shape import reshape

__all__ = ["index_add", "index_copy", "index_fill"]


def _args(name: str, input: Tensor, dim, index, source=None):
    idx = index.array if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu" or idx.ndim > 1:
        raise TypeError(f"{name}(): expected a 0-d or 1-d integer index, got {idx.dtype} of "
                        f"shape {idx.shape}")
    (d,) = norm_dim(dim, input.ndim, name, input.shape)
    idx = idx.reshape(-1)
    n = input.shape[d]
    if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
        raise IndexError(f"{name}(): index values must be in [-{n}, {n}) for dim {d} of a "
                         f"tensor of shape {input.shape}")
    idx = idx % n if n else idx
    if source is not None:
        want = input.shape[:d] + (idx.size,) + input.shape[d + 1:]
        if source.ndim == 0 and idx.size == 1:
            want = source.shape if input.ndim == 1 else want
        if source.shape != want and source.array.size != int(np.prod(want)):
            raise ValueError(f"{name}(): source of shape {source.shape} does not fit; "
                             f"expected {want} for input {input.shape}, dim {d}, "
                             f"{idx.size} indices")
        same_device(name, input, source)
    return d, idx


def _as_1d(fn):
    """A 0-d input is treated as its 1-element 1-d view (as PyTorch does)."""
    def wrapper(input: Tensor, dim: int, index, arg, **kw) -> Tensor:
        if input.ndim:
            return fn(input, dim, index, arg, **kw)
        norm_dim(dim, 0, fn.__name__, ())
        if isinstance(arg, Tensor) and fn.__name__ != "index_fill":
            arg = reshape(arg, (-1,))
        return reshape(fn(reshape(input, (1,)), 0, index, arg, **kw), ())
    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


def _key(d: int, idx):
    return (slice(None),) * d + (idx,)


@_as_1d
def index_add(input: Tensor, dim: int, index, source: Tensor, *, alpha=1) -> Tensor:
    """``input`` with ``alpha * source[..., i, ...]`` added to slice ``index[i]`` along ``dim``
    (repeated indices add up), like ``torch.index_add``."""
    d, idx = _args("index_add", input, dim, index, source)
    xp = xp_of(input.array)
    want = input.shape[:d] + (idx.size,) + input.shape[d + 1:]
    src = source.array.reshape(want)
    full = xp.broadcast_to(idx.reshape((-1,) + (1,) * (input.ndim - 1 - d)), want)
    out = input.array + along_add(input.shape, d, full, (alpha * src).astype(input.array.dtype))

    def backward(g):
        return g, (alpha * xp.take(g, idx, axis=d)).reshape(source.shape).astype(g.dtype)
    return make(out, (input, source), backward, "IndexAddBackward")


@_as_1d
def index_copy(input: Tensor, dim: int, index, source: Tensor) -> Tensor:
    """``input`` with slice ``index[i]`` along ``dim`` replaced by ``source``'s slice ``i``."""
    d, idx = _args("index_copy", input, dim, index, source)
    want = input.shape[:d] + (idx.size,) + input.shape[d + 1:]
    out = input.array.copy()
    out[_key(d, idx)] = source.array.reshape(want)
    xp = xp_of(out)

    def backward(g):
        gi = g.copy()
        gi[_key(d, idx)] = 0
        return gi, xp.take(g, idx, axis=d).reshape(source.shape)
    return make(out, (input, source), backward, "IndexCopyBackward")


@_as_1d
def index_fill(input: Tensor, dim: int, index, value) -> Tensor:
    """``input`` with the slices ``index`` along ``dim`` set to ``value`` (a number or a 0-d
    tensor, which gets the summed gradient of the filled positions)."""
    d, idx = _args("index_fill", input, dim, index)
    v = value if isinstance(value, Tensor) else None
    if v is not None and v.ndim != 0:
        raise ValueError(f"index_fill(): value must be a number or a 0-d tensor, got shape "
                         f"{v.shape}")
    xp = xp_of(input.array)
    out = input.array.copy()
    out[_key(d, idx)] = v.array if v is not None else value
    mask = xp.zeros(input.shape, bool)
    mask[_key(d, idx)] = True

    def backward(g):
        gv = xp.where(mask, g, 0).sum().astype(v.array.dtype) if v is not None else None
        return xp.where(mask, 0, g), gv
    return make(out, (input, v), backward, "IndexFillBackward")
