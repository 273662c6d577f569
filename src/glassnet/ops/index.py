"""Index-driven reads: gather, index_select, take, masks, nonzero (the scatter family, which
writes, is in ``scattering.py``).

An index tensor names positions along one ``dim`` (gather/scatter) or in the flattened
input (take). Picking elements in the forward pass means *adding* the upstream gradient
back at the same positions in the backward pass (``along_add``): an element picked twice
receives both gradients.
"""
import builtins

import numpy as np

from ..backend import xp_of
from ..errors import ArgumentError
from ..tensor import Tensor, make
from ._util import norm_dim, unbroadcast
from .elementwise import where as _where3

__all__ = ["gather", "index_select", "take",
           "take_along_dim", "masked_fill", "masked_select", "nonzero", "argwhere", "where"]


def along_add(shape: tuple, axis: int, idx, g):
    """A zero array of ``shape`` with ``g`` added at positions ``idx`` along ``axis``.

    ``idx`` has ``g``'s shape; ``shape`` equals it except along ``axis``. Repeated indices
    add up (one ``bincount``, no ``np.add.at``).
    """
    xp = xp_of(g)
    if g.size == 0:
        return xp.zeros(shape, g.dtype)
    gm, im = xp.moveaxis(g, axis, -1), xp.moveaxis(idx, axis, -1)
    n = shape[axis]
    lead = gm.shape[:-1]
    rows = xp.arange(int(np.prod(lead))).reshape(lead + (1,))
    moved = tuple(s for i, s in enumerate(shape) if i != axis) + (n,)
    total = int(np.prod(moved))
    grad = xp.bincount((rows * n + im).reshape(-1), weights=gm.reshape(-1), minlength=total)
    return xp.moveaxis(grad.reshape(moved), -1, axis).astype(g.dtype)


def _index_arg(index, name: str, arg: str = "index"):
    """An integer index array (Tensor, array or list)."""
    idx = index.array if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{name}(): expected an integer {arg} tensor, got dtype {idx.dtype}")
    return idx


def _coords(idx, axis: int):
    """Full index tuple: ``idx`` along ``axis``, every position elsewhere (broadcast aranges)."""
    xp = xp_of(idx)
    nd = idx.ndim
    return tuple(idx if i == axis else
                 xp.arange(s).reshape((1,) * i + (s,) + (1,) * (nd - 1 - i))
                 for i, s in enumerate(idx.shape))


def _check_along(name: str, x: Tensor, dim, idx, src_shape=None) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}(dim={dim!r}): expected an int dim")
    (d,) = norm_dim(dim, x.ndim, name, x.shape)
    nd = builtins.max(x.ndim, 1)
    if idx.ndim != x.ndim and not (x.ndim == 0 and idx.ndim <= 1):
        raise ArgumentError(f"{name}(): index of shape {idx.shape} must have as many dims as "
                            f"the input of shape {x.shape}")
    shape = x.shape if x.ndim else (1,)
    ishape = idx.shape if idx.ndim else (1,) * nd
    for i in range(nd):
        if i != d and ishape[i] > shape[i]:
            raise ArgumentError(f"{name}(): index of shape {idx.shape} is larger than the "
                                f"input of shape {x.shape} outside dim {d}")
        if src_shape is not None and ishape[i] > (src_shape[i] if len(src_shape) else 1):
            raise ArgumentError(f"{name}(): index of shape {idx.shape} is larger than src of "
                                f"shape {tuple(src_shape)} in dim {i}")
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= shape[d]):
        raise IndexError(f"{name}(): index values must be in [0, {shape[d]}) for dim {d} of "
                         f"a tensor of shape {x.shape}, got [{int(idx.min())}, "
                         f"{int(idx.max())}]")
    return d


def _sub(arr, shape: tuple, skip: int = -1):
    """The leading corner of ``arr`` with ``shape`` (all of ``arr`` along ``skip``)."""
    return arr[tuple(slice(None) if i == skip else slice(0, s) for i, s in enumerate(shape))]


def _pad_to(g, shape: tuple):
    """``g`` placed in the leading corner of a zero array of ``shape``."""
    if g.shape == shape:
        return g
    xp = xp_of(g)
    full = xp.zeros(shape, g.dtype)
    full[tuple(slice(0, s) for s in g.shape)] = g
    return full


def gather(input: Tensor, dim: int, index, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j][k] = input[i][index[i][j][k]][k]`` (for ``dim=1``), like ``torch.gather``.

    Shape: ``index``'s shape; ``index`` has as many dims as ``input`` and is no larger
    outside ``dim``. The gradient adds ``g`` back at the gathered positions.
    """
    idx = _index_arg(index, "gather")
    d = _check_along("gather", input, dim, idx)
    xp = xp_of(input.array)
    if input.ndim == 0:
        return make(input.array.reshape(idx.shape).copy(), (input,),
                    lambda g: (g.sum().reshape(()),), "GatherBackward")
    x = _sub(input.array, idx.shape, d)
    out = xp.take_along_axis(x, idx, axis=d)

    def backward(g):
        return (_pad_to(along_add(x.shape, d, idx, g), input.shape),)
    return make(out, (input,), backward, "GatherBackward")


def take_along_dim(input: Tensor, indices, dim=None) -> Tensor:
    """``torch.take_along_dim``: gather with broadcasting (``dim=None``: the flat input)."""
    idx = _index_arg(indices, "take_along_dim", "indices")
    if dim is None:
        return take(input, Tensor(idx.reshape(-1)))
    (d,) = norm_dim(dim, input.ndim, "take_along_dim", input.shape)
    shape = np.broadcast_shapes(*[tuple(s for i, s in enumerate(a.shape) if i != d)
                                  for a in (input.array, idx)])
    from .shape import expand
    xs = shape[:d] + (input.shape[d],) + shape[d:]
    ix = shape[:d] + (idx.shape[d],) + shape[d:]
    return gather(expand(input, xs), d, Tensor(xp_of(idx).broadcast_to(idx, ix)))


def index_select(input: Tensor, dim: int, index) -> Tensor:
    """The slices ``index`` (1-D, int) of ``input`` along ``dim``, like ``torch.index_select``.

    Shape: ``input``'s, with ``len(index)`` along ``dim``.
    """
    idx = _index_arg(index, "index_select")
    if idx.ndim > 1:
        raise ValueError(f"index_select(): index must be 0-d or 1-d, got shape {idx.shape}")
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"index_select(dim={dim!r}): expected an int dim")
    (d,) = norm_dim(dim, input.ndim, "index_select", input.shape)
    idx = idx.reshape(-1)
    n = input.shape[d] if input.ndim else 1
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
        raise IndexError(f"index_select(): index values must be in [0, {n}) for dim {d} of a "
                         f"tensor of shape {input.shape}")
    xp = xp_of(input.array)
    if input.ndim == 0:
        return make(input.array.reshape(1)[idx].reshape(idx.shape[:0] or ()), (input,),
                    lambda g: (g.sum().reshape(()),), "IndexSelectBackward")
    out = xp.take(input.array, idx, axis=d)

    def backward(g):
        full = xp.broadcast_to(idx.reshape((-1,) + (1,) * (input.ndim - 1 - d)), g.shape)
        return (along_add(input.shape, d, full, g),)
    return make(out, (input,), backward, "IndexSelectBackward")


def take(input: Tensor, index) -> Tensor:
    """Elements of the flattened ``input`` at ``index`` (any shape; negative counts from the
    end), like ``torch.take``. Shape: ``index``'s."""
    idx = _index_arg(index, "take")
    n = input.array.size
    if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
        raise IndexError(f"take(): index values must be in [-{n}, {n}) for a tensor of shape "
                         f"{input.shape}, got [{int(idx.min())}, {int(idx.max())}]")
    xp = xp_of(input.array)
    flat_idx = idx % builtins.max(n, 1)
    out = input.array.reshape(-1)[flat_idx]

    def backward(g):
        grad = xp.bincount(flat_idx.reshape(-1), weights=g.reshape(-1), minlength=n)
        return (grad.reshape(input.shape).astype(g.dtype),)
    return make(out, (input,), backward, "TakeBackward")


def _mask_arg(mask, name: str, input: Tensor) -> tuple:  # noqa: A002
    """The bool mask array and the shape it and ``input`` broadcast to."""
    m = mask.array if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"{name}(): expected a bool mask, got dtype {m.dtype}")
    try:
        return m, np.broadcast_shapes(input.shape, m.shape)
    except ValueError:
        raise ValueError(f"{name}(): mask of shape {m.shape} does not broadcast with the "
                         f"input of shape {input.shape}") from None


def masked_fill(input: Tensor, mask, value) -> Tensor:
    """``value`` where ``mask`` is true, ``input`` elsewhere (``mask`` broadcasts), like
    ``torch.masked_fill``. ``value`` is a number or a 0-d tensor (which gets a gradient: the
    sum of ``g`` over the filled positions)."""
    m, shape = _mask_arg(mask, "masked_fill", input)
    xp = xp_of(input.array)
    v = value if isinstance(value, Tensor) else None
    if v is not None and v.ndim != 0:
        raise ValueError(f"masked_fill(): value must be a number or a 0-d tensor, got shape "
                         f"{v.shape}")
    fill = (v.array if v is not None else xp.asarray(value)).astype(input.array.dtype)
    out = xp.where(m, fill, input.array)
    if out.shape != shape:
        out = xp.broadcast_to(out, shape).copy()

    def backward(g):
        gi = unbroadcast(xp.where(m, 0, g).astype(g.dtype), input.shape)
        gv = xp.where(m, g, 0).sum().astype(v.array.dtype) if v is not None else None
        return gi, gv
    return make(out, (input, v), backward, "MaskedFillBackward")


def masked_select(input: Tensor, mask) -> Tensor:
    """The elements of ``input`` where ``mask`` (broadcast with it) is true, as a 1-D tensor."""
    m, shape = _mask_arg(mask, "masked_select", input)
    xp = xp_of(input.array)
    mb = xp.broadcast_to(m, shape)
    out = xp.broadcast_to(input.array, shape)[mb]

    def backward(g):
        full = xp.zeros(shape, g.dtype)
        full[mb] = g
        return (unbroadcast(full, input.shape),)
    return make(out, (input,), backward, "MaskedSelectBackward")


def nonzero(input, *, as_tuple: bool = False):
    """Indices of the non-zero elements: an int64 ``(n, ndim)`` tensor, or with
    ``as_tuple=True`` one 1-D index tensor per dim (usable as ``x[nonzero(x, as_tuple=True)]``).
    """
    x = input.array if isinstance(input, Tensor) else np.asarray(input)
    xp = xp_of(x)
    if as_tuple:
        return tuple(Tensor(i.astype(np.int64)) for i in xp.nonzero(xp.atleast_1d(x)))
    return Tensor(xp.argwhere(x).astype(np.int64))


def argwhere(input) -> Tensor:
    """``nonzero(input)``: an int64 ``(n, ndim)`` tensor of the non-zero positions."""
    return nonzero(input)


def where(condition, input=None, other=None):
    """``where(cond, a, b)``: ``a`` where ``cond`` holds, else ``b`` (see ``elementwise.where``);
    ``where(cond)`` alone is ``nonzero(cond, as_tuple=True)``, as in PyTorch."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError("where(): expected where(condition) or where(condition, input, other)")
    return _where3(condition, input, other)
