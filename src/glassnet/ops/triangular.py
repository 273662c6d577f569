"""Triangles and diagonals of matrices: tril, triu, diagonal, diag, diag_embed, trace.

``tril``/``triu`` keep a triangle (the gradient passes through the same mask); the diagonal
ops read or write the positions ``(i, i + offset)`` of two dims, and each backward writes or
reads the same positions.
"""
import numpy as np

from ..backend import xp_of
from ..errors import ArgumentError
from ..tensor import Tensor, make
from ._util import norm_dim
from .reduce import sum as _sum
from .shape import reshape

__all__ = ["tril", "triu", "diagonal", "diag", "diag_embed", "trace", "diagflat"]


def _triangle(a: Tensor, diagonal: int, lower: bool) -> Tensor:
    name = "tril" if lower else "triu"
    if a.ndim < 2:
        raise ValueError(f"{name}(): expected a tensor with at least 2 dims, got shape "
                         f"{a.shape}")
    if isinstance(diagonal, bool) or not isinstance(diagonal, (int, np.integer)):
        raise TypeError(f"{name}(diagonal={diagonal!r}): expected an int")
    xp = xp_of(a.array)
    rows, cols = a.shape[-2:]
    keep = (xp.tril if lower else xp.triu)(xp.ones((rows, cols), bool), int(diagonal))
    zero = xp.zeros((), a.array.dtype)
    return make(xp.where(keep, a.array, zero), (a,), lambda g: (xp.where(keep, g, 0),),
                f"{name.capitalize()}Backward")


def tril(a: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (``j <= i + diagonal``); the rest is 0."""
    return _triangle(a, diagonal, True)


def triu(a: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (``j >= i + diagonal``); the rest is 0."""
    return _triangle(a, diagonal, False)


def _diag_positions(xp, rows: int, cols: int, offset: int):
    n = max(0, min(rows + min(offset, 0), cols - max(offset, 0)))
    i = xp.arange(n)
    return i - min(offset, 0), i + max(offset, 0)


def diagonal(a: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The elements ``(i, i + offset)`` of dims ``dim1``, ``dim2``, as a new last dim, like
    ``torch.diagonal``. Shape: the other dims, then the diagonal's length."""
    if a.ndim < 2:
        raise ValueError(f"diagonal(): expected a tensor with at least 2 dims, got shape "
                         f"{a.shape}")
    d1, d2 = norm_dim((dim1, dim2), a.ndim, "diagonal", a.shape)
    if d1 == d2:
        raise ArgumentError(f"diagonal(dim1={dim1}, dim2={dim2}): the dims must differ")
    xp = xp_of(a.array)
    moved = xp.moveaxis(a.array, (d1, d2), (-2, -1))
    r, c = _diag_positions(xp, moved.shape[-2], moved.shape[-1], int(offset))
    out = moved[..., r, c]

    def backward(g):
        grad = xp.zeros(moved.shape, g.dtype)
        grad[..., r, c] = g
        return (xp.moveaxis(grad, (-2, -1), (d1, d2)),)
    return make(out, (a,), backward, "DiagonalBackward")


_diagonal = diagonal          # diag()'s argument ``diagonal`` hides the function


def diag_embed(a: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices whose ``offset`` diagonal (in dims ``dim1``, ``dim2`` of the output) holds the
    last dim of ``a``; zeros elsewhere, like ``torch.diag_embed``.

    Shape: ``(*, n)`` → ``(*, n + |offset|, n + |offset|)`` (with those two dims placed at
    ``dim1``, ``dim2``).
    """
    if a.ndim < 1:
        raise ValueError("diag_embed(): expected a tensor with at least 1 dim, got shape ()")
    d1, d2 = norm_dim((dim1, dim2), a.ndim + 1, "diag_embed", a.shape)
    if d1 == d2:
        raise ArgumentError(f"diag_embed(dim1={dim1}, dim2={dim2}): the dims must differ")
    xp = xp_of(a.array)
    m = a.shape[-1] + abs(int(offset))
    r, c = _diag_positions(xp, m, m, int(offset))
    full = xp.zeros(a.shape[:-1] + (m, m), a.array.dtype)
    full[..., r, c] = a.array
    out = xp.moveaxis(full, (-2, -1), (d1, d2))

    def backward(g):
        return (xp.moveaxis(g, (d1, d2), (-2, -1))[..., r, c],)
    return make(out, (a,), backward, "DiagEmbedBackward")


def diag(a: Tensor, diagonal: int = 0) -> Tensor:
    """1-D input: a square matrix with ``a`` on the ``diagonal``-th diagonal. 2-D input: that
    diagonal as a 1-D tensor. Like ``torch.diag``."""
    if a.ndim == 1:
        return diag_embed(a, diagonal, 0, 1)
    if a.ndim == 2:
        return _diagonal(a, diagonal, 0, 1)
    raise ValueError(f"diag(): expected a 1-D or 2-D tensor, got shape {a.shape}")


def trace(a: Tensor) -> Tensor:
    """The sum of the main diagonal of a 2-D tensor."""
    if a.ndim != 2:
        raise ValueError(f"trace(): expected a 2-D tensor, got shape {a.shape}")
    return _sum(diagonal(a))


def diagflat(a: Tensor, offset: int = 0) -> Tensor:
    """A square matrix with the flattened ``a`` on its ``offset`` diagonal."""
    return diag_embed(reshape(a, (-1,)), offset, 0, 1)
