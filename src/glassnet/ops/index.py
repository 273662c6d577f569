"""Index-driven ops: gather/scatter family, index_select, take, masks, nonzero.

An index tensor names positions along one ``dim`` (gather/scatter) or in the flattened
input (take). Picking elements in the forward pass means *adding* the upstream gradient
back at the same positions in the backward pass (``along_add``): an element picked twice
receives both gradients.
"""
import builtins

import numpy as np

from ..backend import xp_of
from ..tensor import Tensor, make
from ._util import norm_dim, same_device, unbroadcast
from .elementwise import where as _where3

__all__ = ["gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "take",
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
    idx = index.data if isinstance(index, Tensor) else np.asarray(index)
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
        raise ValueError(f"{name}(): index of shape {idx.shape} must have as many dims as "
                         f"the input of shape {x.shape}")
    shape = x.shape if x.ndim else (1,)
    ishape = idx.shape if idx.ndim else (1,) * nd
    for i in range(nd):
        if i != d and ishape[i] > shape[i]:
            raise ValueError(f"{name}(): index of shape {idx.shape} is larger than the input "
                             f"of shape {x.shape} outside dim {d}")
        if src_shape is not None and ishape[i] > (src_shape[i] if len(src_shape) else 1):
            raise ValueError(f"{name}(): index of shape {idx.shape} is larger than src of "
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
    xp = xp_of(input.data)
    if input.ndim == 0:
        return make(input.data.reshape(idx.shape).copy(), (input,),
                    lambda g: (g.sum().reshape(()),), "GatherBackward")
    x = _sub(input.data, idx.shape, d)
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
                                  for a in (input.data, idx)])
    from .shape import expand
    xs = shape[:d] + (input.shape[d],) + shape[d:]
    ix = shape[:d] + (idx.shape[d],) + shape[d:]
    return gather(expand(input, xs), d, Tensor(xp_of(idx).broadcast_to(idx, ix)))


def _scatter_args(name: str, input: Tensor, dim, index, src):
    idx = _index_arg(index, name)
    src_shape = src.shape if isinstance(src, Tensor) else None
    if src_shape is not None and len(src_shape) != idx.ndim and idx.size:
        raise ValueError(f"{name}(): src of shape {src_shape} must have as many dims as the "
                         f"index of shape {idx.shape}")
    d = _check_along(name, input, dim, idx, src_shape)
    return idx, d


def scatter(input: Tensor, dim: int, index, src=None, *, value=None, reduce=None) -> Tensor:
    """A copy of ``input`` with ``src[i][j][k]`` written to ``[i][index[i][j][k]][k]`` (for
    ``dim=1``); ``src`` may be a number (or ``value=``). ``reduce='add'|'multiply'`` combines
    instead of overwriting (see :func:`scatter_reduce`). With repeated indices the written value
    is one of them (PyTorch leaves it unspecified too).

    Shape: same as ``input``. Gradients: ``input`` gets ``g`` with the written positions
    zeroed; ``src`` gets ``g`` gathered at them.
    """
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter(): expected src (a tensor) or value (a number)")
    if reduce is not None:
        how = {"add": "sum", "multiply": "prod"}.get(reduce)
        if how is None:
            raise ValueError(f"scatter(reduce={reduce!r}): expected 'add' or 'multiply'")
        return scatter_reduce(input, dim, index, _src_tensor(src, input, index), how)
    idx, d = _scatter_args("scatter", input, dim, index, src)
    if not isinstance(src, Tensor):
        src = _src_tensor(src, input, index)
    same_device("scatter", input, src)
    xp = xp_of(input.data)
    where = _coords(idx, d)
    out = input.data.copy()
    if out.ndim:
        out[where] = _sub(src.data, idx.shape).astype(out.dtype)
    elif idx.size:
        out = src.data.reshape(-1)[-1:].reshape(()).astype(out.dtype)

    def backward(g):
        gi = g.copy()
        gs = None
        if gi.ndim:
            gi[where] = 0
            gs = _pad_to(g[where], src.shape).astype(src.data.dtype) if src.requires_grad \
                else None
        elif idx.size:
            gi = xp.zeros_like(g)
        return gi, gs
    return make(out, (input, src), backward, "ScatterBackward")


def _src_tensor(src, input: Tensor, index) -> Tensor:
    if isinstance(src, Tensor):
        return src
    shape = index.shape if hasattr(index, "shape") else np.asarray(index).shape
    return Tensor(xp_of(input.data).full(shape, src, dtype=input.data.dtype))


def scatter_add(input: Tensor, dim: int, index, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` *added* at ``index`` along ``dim`` (repeats add up).

    Shape: same as ``input``. Gradients: ``input`` gets ``g``; ``src`` gets ``g`` gathered.
    """
    return scatter_reduce(input, dim, index, src, "sum")


_IDENTITY = {"sum": 0, "mean": 0, "prod": 1, "amax": -np.inf, "amin": np.inf}


def scatter_reduce(input: Tensor, dim: int, index, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """Reduce ``src`` into a copy of ``input`` at ``index`` along ``dim``, like
    ``torch.scatter_reduce``: ``reduce`` is ``'sum'``, ``'prod'``, ``'mean'``, ``'amax'`` or
    ``'amin'``; ``include_self=False`` leaves ``input``'s value out where anything lands.

    Gradients follow PyTorch: ``prod`` sends each contributor the product of the others
    (exact with zeros); ``amax``/``amin`` share ``g`` evenly among the contributors equal to
    the result (counting an equal ``input`` element even with ``include_self=False``, as
    PyTorch does); ``mean`` divides by the number of contributors.
    """
    name = "scatter_add" if reduce == "sum" and include_self else "scatter_reduce"
    if reduce not in _IDENTITY:
        raise ValueError(f"scatter_reduce(reduce={reduce!r}): expected one of "
                         f"{sorted(_IDENTITY)}")
    if not isinstance(src, Tensor):
        raise TypeError(f"{name}(): expected src to be a Tensor, got {type(src).__name__}")
    idx, d = _scatter_args(name, input, dim, index, src)
    same_device(name, input, src)
    if input.ndim == 0:
        raise ValueError(f"{name}(): expected an input with at least one dim, got shape ()")
    if src.data.dtype != input.data.dtype:
        raise TypeError(f"{name}(): src dtype {src.dtype} differs from input dtype "
                        f"{input.dtype}")
    xp = xp_of(input.data)
    x, s = input.data, _sub(src.data, idx.shape)
    where = _coords(idx, d)
    hit = xp.zeros(x.shape, bool)
    hit[where] = True
    self_in = xp.ones_like(hit) if include_self else ~hit
    ident = _IDENTITY[reduce]
    if x.dtype.kind != "f" and not np.isfinite(ident):
        info = np.iinfo(x.dtype) if x.dtype.kind in "iu" else None
        ident = (info.min if ident < 0 else info.max) if info else bool(ident > 0)
    out = xp.where(self_in, x, xp.asarray(ident).astype(x.dtype))
    ufunc = {"sum": xp.add, "mean": xp.add, "prod": xp.multiply, "amax": xp.maximum,
             "amin": xp.minimum}[reduce]
    ufunc.at(out, where, s)
    count = None
    if reduce == "mean":
        count = self_in.astype(x.dtype)
        xp.add.at(count, where, 1)
        out = out / count if x.dtype.kind == "f" else out // count

    def backward(g):
        gi = gs = None
        if reduce in ("sum", "mean"):
            gc = g if count is None else g / count
            gi, gs = xp.where(self_in, gc, 0), gc[where]
        elif reduce == "prod":
            gi, gs = _prod_grads(xp, x, s, where, self_in, g)
        else:
            # as PyTorch: the count of tied contributors includes an equal self even when
            # include_self=False (whose own share is then dropped)
            eq_self = x == out
            eq_src = s == out[where]
            n_eq = eq_self.astype(g.dtype)
            xp.add.at(n_eq, where, eq_src.astype(g.dtype))
            gn = g / xp.where(n_eq > 0, n_eq, 1)
            gi, gs = xp.where(eq_self & self_in, gn, 0), xp.where(eq_src, gn[where], 0)
        return gi.astype(x.dtype), _pad_to(gs.astype(x.dtype), src.shape)
    return make(out, (input, src), backward, "ScatterReduceBackward")


def _prod_grads(xp, x, s, where, self_in, g):
    """Each contributor's gradient: g times the product of the *other* contributors.

    With ``P`` the product of the non-zero contributors and ``Z`` the number of zeros:
    a non-zero ``c`` gets ``[Z = 0]·P/c``; a zero gets ``[Z = 1]·P``.
    """
    xs = xp.where(self_in, x, 1)
    p_nz = xp.where(xs != 0, xs, 1).astype(g.dtype)
    xp.multiply.at(p_nz, where, xp.where(s != 0, s, 1).astype(g.dtype))
    z = (xs == 0).astype(np.int64)
    xp.add.at(z, where, (s == 0).astype(np.int64))

    def others(c, p, zc):
        safe = xp.where(c != 0, c, 1)
        return xp.where(c != 0, (zc == 0) * p / safe, (zc == 1) * p)
    gi = xp.where(self_in, g * others(xs, p_nz, z), 0)
    gs = g[where] * others(s, p_nz[where], z[where])
    return gi, gs


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
    xp = xp_of(input.data)
    if input.ndim == 0:
        return make(input.data.reshape(1)[idx].reshape(idx.shape[:0] or ()), (input,),
                    lambda g: (g.sum().reshape(()),), "IndexSelectBackward")
    out = xp.take(input.data, idx, axis=d)

    def backward(g):
        full = xp.broadcast_to(idx.reshape((-1,) + (1,) * (input.ndim - 1 - d)), g.shape)
        return (along_add(input.shape, d, full, g),)
    return make(out, (input,), backward, "IndexSelectBackward")


def take(input: Tensor, index) -> Tensor:
    """Elements of the flattened ``input`` at ``index`` (any shape; negative counts from the
    end), like ``torch.take``. Shape: ``index``'s."""
    idx = _index_arg(index, "take")
    n = input.data.size
    if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
        raise IndexError(f"take(): index values must be in [-{n}, {n}) for a tensor of shape "
                         f"{input.shape}, got [{int(idx.min())}, {int(idx.max())}]")
    xp = xp_of(input.data)
    flat_idx = idx % builtins.max(n, 1)
    out = input.data.reshape(-1)[flat_idx]

    def backward(g):
        grad = xp.bincount(flat_idx.reshape(-1), weights=g.reshape(-1), minlength=n)
        return (grad.reshape(input.shape).astype(g.dtype),)
    return make(out, (input,), backward, "TakeBackward")


def _mask_arg(mask, name: str):
    m = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"{name}(): expected a bool mask, got dtype {m.dtype}")
    return m


def masked_fill(input: Tensor, mask, value) -> Tensor:
    """``value`` where ``mask`` is true, ``input`` elsewhere (``mask`` broadcasts), like
    ``torch.masked_fill``. ``value`` is a number or a 0-d tensor (which gets a gradient: the
    sum of ``g`` over the filled positions)."""
    m = _mask_arg(mask, "masked_fill")
    xp = xp_of(input.data)
    try:
        shape = np.broadcast_shapes(input.shape, m.shape)
    except ValueError:
        raise ValueError(f"masked_fill(): mask of shape {m.shape} does not broadcast with the "
                         f"input of shape {input.shape}") from None
    v = value if isinstance(value, Tensor) else None
    if v is not None and v.ndim != 0:
        raise ValueError(f"masked_fill(): value must be a number or a 0-d tensor, got shape "
                         f"{v.shape}")
    fill = (v.data if v is not None else xp.asarray(value)).astype(input.data.dtype)
    out = xp.where(m, fill, input.data)
    if out.shape != shape:
        out = xp.broadcast_to(out, shape).copy()

    def backward(g):
        gi = unbroadcast(xp.where(m, 0, g).astype(g.dtype), input.shape)
        gv = xp.where(m, g, 0).sum().astype(v.data.dtype) if v is not None else None
        return gi, gv
    return make(out, (input, v), backward, "MaskedFillBackward")


def masked_select(input: Tensor, mask) -> Tensor:
    """The elements of ``input`` where ``mask`` (broadcast with it) is true, as a 1-D tensor."""
    m = _mask_arg(mask, "masked_select")
    xp = xp_of(input.data)
    try:
        shape = np.broadcast_shapes(input.shape, m.shape)
    except ValueError:
        raise ValueError(f"masked_select(): mask of shape {m.shape} does not broadcast with "
                         f"the input of shape {input.shape}") from None
    mb = xp.broadcast_to(m, shape)
    out = xp.broadcast_to(input.data, shape)[mb]

    def backward(g):
        full = xp.zeros(shape, g.dtype)
        full[mb] = g
        return (unbroadcast(full, input.shape),)
    return make(out, (input,), backward, "MaskedSelectBackward")


def nonzero(input, *, as_tuple: bool = False):
    """Indices of the non-zero elements: an int64 ``(n, ndim)`` tensor, or with
    ``as_tuple=True`` one 1-D index tensor per dim (usable as ``x[nonzero(x, as_tuple=True)]``).
    """
    x = input.data if isinstance(input, Tensor) else np.asarray(input)
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
