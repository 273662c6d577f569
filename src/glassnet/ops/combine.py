"""Joining and re-viewing tensors the NumPy way, as PyTorch spells it: hstack, vstack, dstack,
column_stack, atleast_1d/2d/3d, broadcast_to, broadcast_tensors, unflatten, select, ravel,
rot90, diff, block_diag, cartesian_prod, tensordot, kron.

Each is composed from differentiable primitives (cat, reshape, expand, getitem, flip,
transpose, einsum), so each gets its backward from them.
"""
import numpy as np

from ..tensor import Tensor
from .arrange import flip, meshgrid
from .einstein import einsum
from ._util import norm_dim
from .shape import cat, expand, getitem, pad, reshape, stack, transpose

__all__ = ["hstack", "vstack", "row_stack", "dstack", "column_stack", "atleast_1d",
           "atleast_2d", "atleast_3d", "broadcast_to", "broadcast_tensors", "broadcast_shapes",
           "unflatten", "select", "ravel", "rot90", "diff", "block_diag", "cartesian_prod",
           "tensordot", "kron", "concatenate"]

concatenate = cat


def _tensors(tensors, name: str) -> list:
    tensors = list(tensors)
    if not tensors or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"{name}(): expected a non-empty sequence of tensors")
    return tensors


def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (0-d becomes shape (1,)); one tensor in, one out."""
    out = [reshape(t, (1,)) if t.ndim == 0 else t for t in _flat(tensors)]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_2d(*tensors):
    """Each tensor with at least 2 dims: (n,) becomes (1, n)."""
    out = [reshape(t, (1,) * (2 - t.ndim) + t.shape) if t.ndim < 2 else t
           for t in _flat(tensors)]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_3d(*tensors):
    """Each tensor with at least 3 dims: (n,) becomes (1, n, 1), (m, n) becomes (m, n, 1)."""
    def up(t):
        if t.ndim == 0:
            return reshape(t, (1, 1, 1))
        if t.ndim == 1:
            return reshape(t, (1, t.shape[0], 1))
        if t.ndim == 2:
            return reshape(t, t.shape + (1,))
        return t
    out = [up(t) for t in _flat(tensors)]
    return out[0] if len(out) == 1 else tuple(out)


def _flat(tensors) -> list:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    return _tensors(tensors, "atleast_nd")


def hstack(tensors) -> Tensor:
    """Concatenate along dim 1 (dim 0 for 1-D tensors)."""
    ts = [atleast_1d(t) for t in _tensors(tensors, "hstack")]
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Concatenate along dim 0, 1-D tensors becoming rows."""
    return cat([atleast_2d(t) for t in _tensors(tensors, "vstack")], 0)


row_stack = vstack


def dstack(tensors) -> Tensor:
    """Concatenate along dim 2 (depth), after ``atleast_3d``."""
    return cat([atleast_3d(t) for t in _tensors(tensors, "dstack")], 2)


def column_stack(tensors) -> Tensor:
    """1-D (and 0-d) tensors become columns, then ``hstack``."""
    ts = _tensors(tensors, "column_stack")
    return hstack([reshape(t, (t.array.size, 1)) if t.ndim <= 1 else t for t in ts])


def broadcast_shapes(*shapes) -> tuple:
    """The shape that ``shapes`` broadcast to (an error names them when they do not)."""
    try:
        return tuple(np.broadcast_shapes(*[(s,) if isinstance(s, int) else tuple(s)
                                           for s in shapes]))
    except ValueError:
        raise ValueError(f"broadcast_shapes(): shapes {list(shapes)} do not broadcast") \
            from None


def broadcast_to(a: Tensor, shape) -> Tensor:
    """``a`` expanded to ``shape`` (``-1`` keeps a dim), like ``torch.broadcast_to``."""
    return expand(a, tuple(shape))


def broadcast_tensors(*tensors) -> tuple:
    """The tensors expanded to their common broadcast shape."""
    ts = _tensors(tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple))
                  else tensors, "broadcast_tensors")
    try:
        shape = np.broadcast_shapes(*[t.shape for t in ts])
    except ValueError:
        raise ValueError(f"broadcast_tensors(): shapes {[t.shape for t in ts]} do not "
                         f"broadcast") from None
    return tuple(expand(t, shape) for t in ts)


def unflatten(a: Tensor, dim: int, sizes) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one may be -1), like ``torch.unflatten``."""
    if a.ndim == 0:
        raise ValueError("unflatten(): cannot unflatten a 0-d tensor")
    (d,) = norm_dim(dim, a.ndim, "unflatten", a.shape)
    sizes = tuple(int(s) for s in sizes)
    if any(s < -1 for s in sizes):
        raise ValueError(f"unflatten(sizes={sizes}): sizes must be >= 0 (or one -1)")
    known = int(np.prod([s for s in sizes if s != -1]))
    if sizes.count(-1) > 1 or (sizes.count(-1) == 0 and known != a.shape[d]) or (
            sizes.count(-1) == 1 and (known == 0 or a.shape[d] % known)):
        raise ValueError(f"unflatten(sizes={sizes}): does not match dim {d} of size "
                         f"{a.shape[d]} (tensor of shape {a.shape})")
    return reshape(a, a.shape[:d] + sizes + a.shape[d + 1:])


def select(a: Tensor, dim: int, index: int) -> Tensor:
    """``a`` at ``index`` along ``dim``, that dim removed (``a[:, index]`` for ``dim=1``)."""
    if a.ndim == 0:
        raise ValueError("select(): cannot select from a 0-d tensor")
    (d,) = norm_dim(dim, a.ndim, "select", a.shape)
    n = a.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} is out of range for dim {d} of size {n} "
                         f"(tensor of shape {a.shape})")
    return getitem(a, (slice(None),) * d + (int(index),))


def ravel(a: Tensor) -> Tensor:
    """The tensor as 1-D."""
    return reshape(a, (-1,))


def rot90(a: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by ``k`` quarter turns from ``dims[0]`` towards ``dims[1]``, like
    ``torch.rot90`` (as flips and a transpose)."""
    if len(dims) != 2 or a.ndim < 2:
        raise ValueError(f"rot90(dims={tuple(dims)}): expected 2 dims of a tensor with at "
                         f"least 2 dims, got shape {a.shape}")
    d0, d1 = norm_dim(tuple(dims), a.ndim, "rot90", a.shape)
    if d0 == d1:
        raise ValueError(f"rot90(dims={tuple(dims)}): the two dims must differ")
    k %= 4
    if k == 1:
        return transpose(flip(a, d1), d0, d1)
    if k == 2:
        return flip(a, (d0, d1))
    if k == 3:
        return flip(transpose(a, d0, d1), d1)
    return reshape(a, a.shape)


def diff(a: Tensor, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (``prepend``/``append`` joined first)."""
    if int(n) == 0:
        return a
    if a.ndim == 0:
        raise ValueError("diff(): expected a tensor with at least 1 dim, got shape ()")
    (d,) = norm_dim(dim, a.ndim, "diff", a.shape)
    parts = [p for p in (prepend, a, append) if p is not None]
    x = cat(parts, d) if len(parts) > 1 else a
    for _ in range(int(n)):
        m = x.shape[d]
        hi = getitem(x, (slice(None),) * d + (slice(1, m),))
        lo = getitem(x, (slice(None),) * d + (slice(0, max(m - 1, 0)),))
        x = hi - lo if x.array.dtype.kind != "b" else Tensor(hi.array != lo.array)
    return x


def block_diag(*tensors) -> Tensor:
    """A block-diagonal matrix of the (0-d, 1-d or 2-d) tensors, zeros elsewhere."""
    ts = [t if t.ndim == 2 else reshape(t, (1, t.array.size)) for t in
          _tensors(tensors, "block_diag")]
    if any(t.ndim > 2 for t in tensors):
        raise ValueError("block_diag(): expected tensors with at most 2 dims")
    cols = sum(t.shape[1] for t in ts)
    rows, left = [], 0
    for t in ts:
        rows.append(pad(t, (left, cols - left - t.shape[1])))
        left += t.shape[1]
    return cat(rows, 0)


def cartesian_prod(*tensors) -> Tensor:
    """All combinations of the 1-D tensors' elements, one per row (``(N1*N2*..., k)``)."""
    ts = _tensors(tensors, "cartesian_prod")
    if any(t.ndim != 1 for t in ts):
        raise ValueError(f"cartesian_prod(): expected 1-D tensors, got shapes "
                         f"{[t.shape for t in ts]}")
    if len(ts) == 1:
        return ts[0]
    grids = meshgrid(*ts, indexing="ij")
    return stack([reshape(g, (-1,)) for g in grids], 1)


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Sum over the last ``dims`` dims of ``a`` and the first of ``b`` (or the listed pairs
    ``dims=([a dims], [b dims])``), as one ``einsum``."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    if isinstance(dims, (int, np.integer)):
        if not 0 <= dims <= min(a.ndim, b.ndim):
            raise ValueError(f"tensordot(dims={dims}): expected 0 <= dims <= "
                             f"{min(a.ndim, b.ndim)} for shapes {a.shape} and {b.shape}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = [[int(i) for i in (d if isinstance(d, (list, tuple)) else [d])]
                  for d in dims]
        if len(da) != len(db):
            raise ValueError(f"tensordot(dims={dims}): expected as many dims of a as of b")
        da = [i % max(a.ndim, 1) for i in da]
        db = [i % max(b.ndim, 1) for i in db]
    for i, j in zip(da, db):               # a size-1 dim broadcasts, as in PyTorch
        if a.shape[i] != b.shape[j]:
            if 1 not in (a.shape[i], b.shape[j]):
                raise ValueError(f"tensordot(dims={dims}): contracted dims of shapes "
                                 f"{a.shape} and {b.shape} differ in size")
            if a.shape[i] == 1:
                a = expand(a, a.shape[:i] + (b.shape[j],) + a.shape[i + 1:])
            else:
                b = expand(b, b.shape[:j] + (a.shape[i],) + b.shape[j + 1:])
    sa = list(letters[:a.ndim])
    sb = list(letters[a.ndim:a.ndim + b.ndim])
    for i, j in zip(da, db):
        sb[j] = sa[i]
    out = [c for i, c in enumerate(sa) if i not in da] + [c for j, c in enumerate(sb)
                                                          if j not in db]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


def kron(a: Tensor, b: Tensor) -> Tensor:
    """The Kronecker product: block ``(i, j)`` is ``a[i, j] * b`` (any number of dims)."""
    nd = max(a.ndim, b.ndim)
    a = reshape(a, (1,) * (nd - a.ndim) + a.shape)
    b = reshape(b, (1,) * (nd - b.ndim) + b.shape)
    ia = tuple(x for s in a.shape for x in (s, 1))
    ib = tuple(x for s in b.shape for x in (1, s))
    prod = reshape(a, ia) * reshape(b, ib)
    return reshape(prod, tuple(x * y for x, y in zip(a.shape, b.shape)))

