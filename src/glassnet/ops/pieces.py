"""Cutting a tensor into pieces: split, chunk, unbind, narrow, tensor_split and ``unfold``
(sliding windows).

Each piece is a slice of the input; its backward writes the piece's gradient into a zero
tensor of the input's shape (the engine adds the pieces' gradients up).
"""
import numpy as np

from ..backend import xp_of
from ..errors import ArgumentError
from ..tensor import Tensor, make
from ._util import dim_arg, norm_dim

__all__ = ["split", "chunk", "unbind", "narrow", "tensor_split", "unfold", "hsplit", "vsplit",
           "dsplit"]


def _dim(a: Tensor, dim, name: str) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}(dim={dim!r}): expected an int dim")
    if a.ndim == 0:
        raise ValueError(f"{name}(): expected a tensor with at least one dim, got shape ()")
    (d,) = norm_dim(dim, a.ndim, name, a.shape)
    return d


def _slice(a: Tensor, d: int, start: int, stop: int, name: str, keep: bool = True) -> Tensor:
    """``a[..., start:stop, ...]`` along ``d`` (``keep=False``: the single index ``start``)."""
    key = (slice(None),) * d + ((slice(start, stop),) if keep else (start,))
    xp = xp_of(a.array)

    def backward(g):
        grad = xp.zeros(a.shape, g.dtype)
        grad[key] = g
        return (grad,)
    return make(a.array[key], (a,), backward, f"{name}Backward")


def split(a: Tensor, split_size_or_sections, dim: int = 0, *, axis=None) -> tuple:
    """Pieces along ``dim``: of ``split_size`` each (the last may be smaller) for an int, or
    of the listed sizes (which must add up to the dim's size), like ``torch.split``."""
    d = _dim(a, dim_arg(dim, axis, "split", 0), "split")
    n = a.shape[d]
    s = split_size_or_sections
    if isinstance(s, (int, np.integer)) and not isinstance(s, bool):
        if s <= 0 and not (s == 0 and n == 0):
            raise ValueError(f"split(split_size={s}): expected a positive size")
        sizes = ([s] * (n // s) + ([n % s] if n % s else [])) if s else []
        sizes = sizes or [0]
    else:
        sizes = [int(v) for v in s]
        if sum(sizes) != n or any(v < 0 for v in sizes):
            raise ValueError(f"split(sections={list(s)}): sizes must be >= 0 and add up to "
                             f"{n}, the size of dim {d} of a tensor of shape {a.shape}")
    bounds = np.cumsum([0] + sizes)
    return tuple(_slice(a, d, int(lo), int(hi), "Split") for lo, hi in
                 zip(bounds[:-1], bounds[1:]))


def chunk(a: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most ``chunks`` pieces of size ``ceil(n / chunks)`` along ``dim``, like
    ``torch.chunk`` (fewer when that size covers the dim sooner)."""
    if isinstance(chunks, bool) or not isinstance(chunks, (int, np.integer)) or chunks <= 0:
        raise ValueError(f"chunk(chunks={chunks!r}): expected a positive int")
    d = _dim(a, dim, "chunk")
    n = a.shape[d]
    if n == 0:                                  # an empty dim: ``chunks`` empty pieces
        return split(a, [0] * chunks, d)
    return split(a, -(-n // chunks), d)


def tensor_split(a: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """``torch.tensor_split``: ``sections`` near-equal pieces (the first ``n % sections`` one
    longer) or cuts at the listed indices."""
    d = _dim(a, dim, "tensor_split")
    n = a.shape[d]
    s = indices_or_sections
    if isinstance(s, (int, np.integer)) and not isinstance(s, bool):
        if s <= 0:
            raise ValueError(f"tensor_split(sections={s}): expected a positive int")
        sizes = [n // s + (1 if i < n % s else 0) for i in range(s)]
        bounds = np.cumsum([0] + sizes)
    else:
        cuts = [min(max(int(i), 0), n) for i in s]
        bounds = [0] + cuts + [n]
    return tuple(_slice(a, d, int(lo), max(int(lo), int(hi)), "TensorSplit")
                 for lo, hi in zip(bounds[:-1], bounds[1:]))


def unbind(a: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim`` with that dim removed: ``n`` tensors."""
    d = _dim(a, dim, "unbind")
    return tuple(_slice(a, d, i, None, "Unbind", keep=False) for i in range(a.shape[d]))


def narrow(a: Tensor, dim: int, start: int, length: int) -> Tensor:
    """``a`` restricted to ``start .. start+length-1`` along ``dim`` (``start`` may be
    negative)."""
    d = _dim(a, dim, "narrow")
    n = a.shape[d]
    if isinstance(start, Tensor):
        start = int(start.item())
    if not -n <= start <= n or length < 0 or (start % n if n else 0) + length > n:
        raise IndexError(f"narrow(start={start}, length={length}): out of range for dim {d} "
                         f"of size {n} (tensor of shape {a.shape})")
    start = start + n if start < 0 else start
    return _slice(a, d, start, start + length, "Narrow")


def unfold(a: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """``Tensor.unfold``: every window of ``size`` elements along ``dimension``, ``step``
    apart, as a new last dim.

    Shape: ``a``'s with ``dimension`` becoming ``(n − size) // step + 1`` and ``size``
    appended. Backward: each window's gradient is added back where the window was taken.
    """
    xp = xp_of(a.array)
    if a.ndim == 0:
        d, n = 0, 1
    else:
        d = _dim(a, dimension, "unfold")
        n = a.shape[d]
    for name, v in (("size", size), ("step", step)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"unfold({name}={v!r}): expected an int")
    if step <= 0 or size < 0 or size > n:
        raise ArgumentError(f"unfold(size={size}, step={step}): need 0 <= size <= {n} (the size "
                            f"of dim {dimension} of a tensor of shape {a.shape}) and step > 0")
    x = a.array.reshape(1) if a.ndim == 0 else a.array
    windows = (n - size) // step + 1
    stop = step * (windows - 1) + 1

    def key(j):
        return (slice(None),) * d + (slice(j, j + stop, step),)
    parts = [x[key(j)] for j in range(size)]
    out = xp.stack(parts, axis=-1) if parts else xp.zeros(
        x.shape[:d] + (windows,) + x.shape[d + 1:] + (0,), x.dtype)
    if a.ndim == 0:
        out = out.reshape((size,))

    def backward(g):
        grad = xp.zeros(x.shape, g.dtype)
        gg = g.reshape((windows, size)) if a.ndim == 0 else g
        for j in range(size):
            grad[key(j)] += gg[..., j]
        return (grad.reshape(a.shape),)
    return make(out, (a,), backward, "UnfoldBackward")


def _split_at(a: Tensor, sections, d: int, name: str, need: int) -> tuple:
    if a.ndim < need:
        raise ValueError(f"{name}(): expected a tensor with at least {need} dims, got shape "
                         f"{a.shape}")
    if isinstance(sections, (int, np.integer)) and not isinstance(sections, bool) and (
            sections <= 0 or a.shape[d] % sections):
        raise ValueError(f"{name}(sections={sections}): dim {d} of size {a.shape[d]} does not "
                         f"split into {sections} equal parts")
    return tensor_split(a, sections, d)


def hsplit(a: Tensor, sections) -> tuple:
    """``tensor_split`` along dim 1 (dim 0 for 1-D); an int must divide the size."""
    return _split_at(a, sections, 1 if a.ndim > 1 else 0, "hsplit", 1)


def vsplit(a: Tensor, sections) -> tuple:
    """``tensor_split`` along dim 0 of a tensor with at least 2 dims."""
    return _split_at(a, sections, 0, "vsplit", 2)


def dsplit(a: Tensor, sections) -> tuple:
    """``tensor_split`` along dim 2 of a tensor with at least 3 dims."""
    return _split_at(a, sections, 2, "dsplit", 3)
