"""Writing through an index along one dim: scatter, scatter_add, scatter_reduce.

``scatter`` overwrites, ``scatter_add`` adds, ``scatter_reduce`` combines with sum, prod,
mean, amax or amin. The gradient of ``input`` passes through the positions that keep their
value; ``src`` gets the gradient read back at its destinations (times the product of the other
contributors for ``prod``, shared among ties for ``amax``/``amin``).
"""
import numpy as np

from ..backend import xp_of
from ..errors import ArgumentError, DTypeError
from ..tensor import Tensor, make
from ._util import same_device
from .index import _check_along, _coords, _index_arg, _pad_to, _sub

__all__ = ["scatter", "scatter_add", "scatter_reduce"]


def _scatter_args(name: str, input: Tensor, dim, index, src):
    idx = _index_arg(index, name)
    src_shape = src.shape if isinstance(src, Tensor) else None
    if src_shape is not None and len(src_shape) != idx.ndim and idx.size:
        raise ArgumentError(f"{name}(): src of shape {src_shape} must have as many dims as the "
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
            raise ArgumentError(f"scatter(reduce={reduce!r}): expected 'add' or 'multiply'")
        return scatter_reduce(input, dim, index, _src_tensor(src, input, index), how)
    idx, d = _scatter_args("scatter", input, dim, index, src)
    if not isinstance(src, Tensor):
        src = _src_tensor(src, input, index)
    elif src.array.dtype != input.array.dtype:  # a number casts; a tensor must match (PyTorch)
        raise DTypeError(f"scatter(): src dtype {src.dtype} differs from input dtype "
                         f"{input.dtype}")
    same_device("scatter", input, src)
    xp = xp_of(input.array)
    where = _coords(idx, d)
    out = input.array.copy()
    if out.ndim:
        out[where] = _sub(src.array, idx.shape).astype(out.dtype)
    elif idx.size:
        out = src.array.reshape(-1)[-1:].reshape(()).astype(out.dtype)

    def backward(g):
        gi = g.copy()
        gs = None
        if gi.ndim:
            gi[where] = 0
            gs = _pad_to(g[where], src.shape).astype(src.array.dtype) if src.requires_grad \
                else None
        elif idx.size:
            gi = xp.zeros_like(g)
        return gi, gs
    return make(out, (input, src), backward, "ScatterBackward")


def _src_tensor(src, input: Tensor, index) -> Tensor:
    if isinstance(src, Tensor):
        return src
    shape = index.shape if hasattr(index, "shape") else np.asarray(index).shape
    return Tensor(xp_of(input.array).full(shape, src, dtype=input.array.dtype))


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
        raise ArgumentError(f"scatter_reduce(reduce={reduce!r}): expected one of "
                            f"{sorted(_IDENTITY)}")
    if not isinstance(src, Tensor):
        raise TypeError(f"{name}(): expected src to be a Tensor, got {type(src).__name__}")
    idx, d = _scatter_args(name, input, dim, index, src)
    same_device(name, input, src)
    if input.ndim == 0:
        raise ValueError(f"{name}(): expected an input with at least one dim, got shape ()")
    if src.array.dtype != input.array.dtype:
        raise DTypeError(f"{name}(): src dtype {src.dtype} differs from input dtype "
                         f"{input.dtype}")
    xp = xp_of(input.array)
    x, s = input.array, _sub(src.array, idx.shape)
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
