"""Rearranging elements: flip, roll, movedim, swapaxes, t, tile, repeat_interleave, meshgrid.

Each output element is a copy of one input element, so each backward moves the gradient back
the inverse way (flip again, roll back, move the dims back, add up the repeats).
"""
import numpy as np

from ..backend import xp_of
from ..errors import ArgumentError
from ..tensor import Tensor, make
from ._util import norm_dim
from .index import along_add
from .shape import expand, repeat, reshape, transpose

__all__ = ["flip", "fliplr", "flipud", "roll", "movedim", "moveaxis", "swapaxes", "swapdims",
           "t", "contiguous", "tile", "repeat_interleave", "meshgrid"]


def _dims(dims, a: Tensor, name: str) -> tuple:
    if isinstance(dims, (int, np.integer)) and not isinstance(dims, bool):
        dims = (dims,)
    axes = norm_dim(tuple(dims), a.ndim, name, a.shape)
    if len(set(axes)) != len(axes):
        raise ArgumentError(f"{name}(dims={tuple(dims)}): a dim appears twice")
    return axes


def flip(a: Tensor, dims) -> Tensor:
    """Reverse the order of elements along ``dims`` (int or tuple). Shape: unchanged."""
    axes = _dims(dims, a, "flip")
    xp = xp_of(a.array)
    if a.ndim == 0 or not axes:
        return make(a.array.copy(), (a,), lambda g: (g,), "FlipBackward")
    return make(xp.flip(a.array, axes).copy(), (a,), lambda g: (xp.flip(g, axes),),
                "FlipBackward")


def fliplr(a: Tensor) -> Tensor:
    """Flip dim 1 (left/right); needs at least 2 dims."""
    if a.ndim < 2:
        raise ValueError(f"fliplr(): expected at least 2 dims, got a tensor of shape {a.shape}")
    return flip(a, 1)


def flipud(a: Tensor) -> Tensor:
    """Flip dim 0 (up/down); needs at least 1 dim."""
    if a.ndim < 1:
        raise ValueError(f"flipud(): expected at least 1 dim, got a tensor of shape {a.shape}")
    return flip(a, 0)


def _roll(x, shifts: tuple, axes: tuple):
    """``np.roll`` as one ``take`` per axis (the same call on every array module)."""
    xp = xp_of(x)
    for s, ax in zip(shifts, axes):
        n = x.shape[ax]
        if n:
            x = xp.take(x, (xp.arange(n) - int(s)) % n, axis=ax)
    return x


def roll(a: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements by ``shifts`` along ``dims`` with wrap-around, like ``torch.roll``;
    without ``dims`` the flattened tensor is rolled and the shape restored."""
    shifts_t = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in shifts_t):
        raise TypeError(f"roll(shifts={shifts!r}): expected an int or a tuple of ints")
    if dims is None:
        if len(shifts_t) != 1:
            raise ArgumentError(f"roll(shifts={shifts!r}): without dims expected one shift")
        s = int(shifts_t[0])
        out = _roll(a.array.reshape(-1), (s,), (0,)).reshape(a.shape)
        return make(out, (a,), lambda g: (_roll(g.reshape(-1), (-s,), (0,)).reshape(a.shape),),
                    "RollBackward")
    axes = norm_dim(dims, a.ndim, "roll", a.shape)
    if len(axes) != len(shifts_t):
        raise ArgumentError(f"roll(shifts={shifts!r}, dims={dims!r}): expected as many shifts as "
                            f"dims")
    if a.ndim == 0:
        return make(a.array.copy(), (a,), lambda g: (g,), "RollBackward")
    back = tuple(-int(s) for s in shifts_t)
    return make(_roll(a.array, shifts_t, axes), (a,), lambda g: (_roll(g, back, axes),),
                "RollBackward")


def movedim(a: Tensor, source, destination) -> Tensor:
    """Move dims ``source`` to positions ``destination`` (ints or tuples), keeping the
    order of the others, like ``torch.movedim``."""
    src = _dims(source, a, "movedim")
    dst = _dims(destination, a, "movedim")
    if len(src) != len(dst):
        raise ValueError(f"movedim(source={source!r}, destination={destination!r}): expected "
                         f"as many destinations as sources")
    xp = xp_of(a.array)
    if a.ndim == 0:
        return make(a.array.copy(), (a,), lambda g: (g,), "MovedimBackward")
    return make(xp.moveaxis(a.array, src, dst), (a,), lambda g: (xp.moveaxis(g, dst, src),),
                "MovedimBackward")


moveaxis = movedim


def swapaxes(a: Tensor, axis0: int, axis1: int) -> Tensor:
    """``transpose(a, axis0, axis1)``."""
    return transpose(a, axis0, axis1)


swapdims = swapaxes


def t(a: Tensor) -> Tensor:
    """Transpose a 2-D tensor; 0-D and 1-D tensors come back as they are, like ``torch.t``."""
    if a.ndim > 2:
        raise ValueError(f"t(): expected a tensor with at most 2 dims, got shape {a.shape} "
                         f"(use transpose(dim0, dim1) or permute)")
    return transpose(a, 0, 1) if a.ndim == 2 else a


def contiguous(a: Tensor, memory_format=None) -> Tensor:
    """``a`` itself (NumPy copies on demand), accepted so that PyTorch code runs."""
    return a


def tile(a: Tensor, dims) -> Tensor:
    """Repeat the whole tensor ``dims[i]`` times along each dim, like ``torch.tile``: with
    fewer counts than dims, the leading dims repeat once."""
    reps = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if any(isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 0 for r in reps):
        raise ValueError(f"tile(dims={dims!r}): expected non-negative ints")
    reps = (1,) * (a.ndim - len(reps)) + reps
    return repeat(a, reps)


def repeat_interleave(a: Tensor, repeats=None, dim=None, *, output_size=None) -> Tensor:
    """Repeat each element ``repeats`` times (an int, or one count per element along
    ``dim``), like ``torch.repeat_interleave``; without ``dim`` the flattened tensor.
    ``repeat_interleave(counts)`` alone gives ``[0]*counts[0] + [1]*counts[1] + ...``.

    Backward: each element's gradient is the sum over its copies.
    """
    xp = xp_of(a.array)
    if repeats is None:
        c = a.array.reshape(-1)
        if c.dtype.kind not in "iu" or (c.size and int(c.min()) < 0):
            raise ValueError("repeat_interleave(repeats): expected non-negative integer counts")
        return Tensor(xp.repeat(xp.arange(c.size, dtype=np.int64), c))
    if dim is None:
        a, d = reshape(a, (-1,)), 0
    else:
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"repeat_interleave(dim={dim!r}): expected an int dim")
        (d,) = norm_dim(dim, a.ndim, "repeat_interleave", a.shape)
        if a.ndim == 0:
            a = reshape(a, (1,))
    n = a.shape[d]
    r = repeats.array if isinstance(repeats, Tensor) else repeats
    if isinstance(r, bool) or (isinstance(r, (int, np.integer)) and r < 0):
        raise ValueError(f"repeat_interleave(repeats={repeats!r}): expected a non-negative int "
                         f"or tensor of counts")
    if not isinstance(r, (int, np.integer)):
        r = xp.asarray(r)
        if r.dtype.kind not in "iu" or (r.size and int(r.min()) < 0):
            raise ValueError(f"repeat_interleave(repeats): expected non-negative integer "
                             f"counts, got dtype {r.dtype}")
        r = r.reshape(-1)
        if r.size == 1:
            r = int(r[0])
        elif r.size != n:
            raise ValueError(f"repeat_interleave(): got {r.size} counts for dim {d} of size "
                             f"{n} (tensor of shape {a.shape})")
    src = xp.repeat(xp.arange(n), r)           # which input element each output copies

    def backward(g):
        full = xp.broadcast_to(src.reshape((-1,) + (1,) * (a.ndim - 1 - d)), g.shape)
        return (along_add(a.shape, d, full, g),)
    return make(xp.take(a.array, src, axis=d), (a,), backward, "RepeatInterleaveBackward")


def meshgrid(*tensors, indexing: str = "ij") -> tuple:
    """Coordinate grids from 1-D tensors, like ``torch.meshgrid``: with ``indexing='ij'``
    output ``i`` varies along dim ``i``; ``'xy'`` swaps the first two dims (as NumPy).

    Shape: ``(len(t0), len(t1), ...)`` for ``'ij'``; ``(len(t1), len(t0), ...)`` for ``'xy'``.
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ArgumentError(f"meshgrid(indexing={indexing!r}): expected 'ij' or 'xy'")
    if not tensors:
        raise ValueError("meshgrid(): expected at least one tensor")
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor) or x.ndim > 1:
            raise ValueError(f"meshgrid(): expected 0-d or 1-d tensors, got "
                             f"{getattr(x, 'shape', type(x).__name__)} at position {i}")
    sizes = [x.array.size for x in tensors]
    pos = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        pos[0], pos[1] = 1, 0
    shape = [0] * len(tensors)
    for p, s in zip(pos, sizes):
        shape[p] = s
    out = []
    for p, x in zip(pos, tensors):
        view = [1] * len(tensors)
        view[p] = x.array.size
        out.append(expand(reshape(x, tuple(view)), tuple(shape)))
    return tuple(out)
