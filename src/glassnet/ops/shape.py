"""Ops that move data without arithmetic: reshape, transpose, indexing, cat/stack, pad."""
import math

import numpy as np

from ..backend import device_of, xp_of
from ..errors import ShapeError, UnsupportedModeError
from ..tensor import Tensor, make
from ._util import dim_arg, norm_dim, same_device

__all__ = ["reshape", "view", "transpose", "permute", "flatten", "squeeze", "unsqueeze",
           "getitem", "cat", "concat", "stack", "pad", "expand", "repeat"]


def _sizes(args: tuple, kw, name: str, arg: str) -> tuple:
    """``f(2, 3)``, ``f((2, 3))`` or PyTorch's keyword ``f(arg=(2, 3))``."""
    if kw is not None:
        if args:
            raise TypeError(f"{name}(): got sizes both positionally and as {arg}=")
        args = (kw,)
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return args


def reshape(a: Tensor, *shape, **kw) -> Tensor:
    """``a`` with a new shape (one size may be -1); ``shape=``/``size=`` keywords as torch."""
    shape = _sizes(shape, kw.pop("shape", kw.pop("size", None)), "reshape", "shape")
    if kw:
        raise TypeError(f"reshape(): unexpected keyword arguments {sorted(kw)}")
    return _reshape_to(a, shape)


def _reshape_to(a: Tensor, shape: tuple) -> Tensor:
    """``reshape`` once its arguments are parsed (also for unsqueeze, squeeze, flatten)."""
    try:
        out = a.array.reshape(shape)
    except ValueError:
        raise ShapeError(f"reshape(): shape {tuple(shape)} is invalid for a tensor of shape "
                         f"{a.shape} ({a.array.size} elements)") from None
    src = a.array.shape
    return make(out, (a,), lambda g: (g.reshape(src),), "ReshapeBackward")


view = reshape


def transpose(a: Tensor, dim0: int, dim1: int) -> Tensor:
    n = a.array.ndim
    if type(dim0) is int and type(dim1) is int and -n <= dim0 < n and -n <= dim1 < n:
        d0, d1 = dim0 % n, dim1 % n                 # the common case, kept cheap
    else:
        d0, d1 = norm_dim((dim0, dim1), a.ndim, "transpose", a.shape)
    # the array method, not xp.swapaxes (NumPy's wrapper costs ~0.7 µs per call)
    return make(a.array.swapaxes(d0, d1), (a,), lambda g: (g.swapaxes(d0, d1),),
                "TransposeBackward")


def permute(a: Tensor, *dims, **kw) -> Tensor:
    dims = _sizes(dims, kw.pop("dims", None), "permute", "dims")
    if kw:
        raise TypeError(f"permute(): unexpected keyword arguments {sorted(kw)}")
    axes = norm_dim(dims, a.ndim, "permute", a.shape)
    if sorted(axes) != list(range(a.ndim)):
        raise ShapeError(f"permute(dims={dims}): expected a permutation of {a.ndim} dims "
                         f"for a tensor of shape {a.shape}")
    inverse = tuple(int(i) for i in np.argsort(axes))
    xp = xp_of(a.array)
    return make(xp.transpose(a.array, axes), (a,), lambda g: (xp.transpose(g, inverse),),
                "PermuteBackward")


def flatten(a: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if a.ndim == 0:
        return reshape(a, (1,))
    s, e = norm_dim((start_dim, end_dim), a.ndim, "flatten", a.shape)
    if s > e:
        raise ValueError(f"flatten(start_dim={start_dim}, end_dim={end_dim}): start_dim comes "
                         f"after end_dim for a tensor of shape {a.shape}")
    shape = a.shape[:s] + (math.prod(a.shape[s:e + 1]),) + a.shape[e + 1:]
    return _reshape_to(a, shape)


def squeeze(a: Tensor, dim=None) -> Tensor:
    if dim is None:
        shape = tuple(s for s in a.shape if s != 1)
    else:
        axes = norm_dim(dim, a.ndim, "squeeze", a.shape)
        shape = tuple(s for i, s in enumerate(a.shape) if not (i in axes and s == 1))
    return _reshape_to(a, shape)


def unsqueeze(a: Tensor, dim: int) -> Tensor:
    if not -a.ndim - 1 <= dim <= a.ndim:
        raise IndexError(f"unsqueeze(): dim={dim} is out of range for a tensor of shape "
                         f"{a.shape} (expected {-a.ndim - 1} <= dim <= {a.ndim})")
    dim = dim % (a.ndim + 1)
    return _reshape_to(a, a.shape[:dim] + (1,) + a.shape[dim:])


def expand(a: Tensor, *shape, size=None) -> Tensor:
    shape = _sizes(shape, size, "expand", "size")
    lead = len(shape) - a.ndim
    if lead < 0 or any(s == -1 for s in shape[:lead]):
        raise ShapeError(f"expand(): cannot expand a tensor of shape {a.shape} to {shape}")
    shape = tuple(a.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
    from ._util import unbroadcast
    src = a.shape
    try:
        out = xp_of(a.array).broadcast_to(a.array, shape)
    except ValueError:
        raise ShapeError(f"expand(): cannot expand a tensor of shape {a.shape} to {shape} "
                         f"(only size-1 dims can grow)") from None
    return make(out, (a,), lambda g: (unbroadcast(g, src),), "ExpandBackward")


def repeat(a: Tensor, *reps, repeats=None) -> Tensor:
    reps = _sizes(reps, repeats, "repeat", "repeats")
    if len(reps) < a.ndim:
        raise ShapeError(f"repeat(): got {len(reps)} repeat counts {tuple(reps)} for a tensor "
                         f"of shape {a.shape}; expected at least {a.ndim}")
    src = (1,) * (len(reps) - a.ndim) + a.shape
    out = xp_of(a.array).tile(a.array.reshape(src), reps)

    def backward(g):
        split = []
        for r, s in zip(reps, src):
            split += [r, s]
        return (g.reshape(split).sum(axis=tuple(range(0, 2 * len(src), 2))).reshape(a.shape),)
    return make(out, (a,), backward, "RepeatBackward")


def _index_key(key, a: Tensor):
    """Turn Tensors inside an index into arrays, so NumPy indexing rules apply; index arrays
    join ``a``'s device (a host index for a device tensor is copied over). A key that mixes
    integers and index arrays becomes one whose NumPy meaning is PyTorch's (``_torch_key``),
    so reading, writing (``x[key] = v``) and their gradients all follow PyTorch."""
    if _plain_basic(key):                   # x[:, -1]: NumPy's reading is PyTorch's
        return key
    if isinstance(key, Tensor):
        return _on(key.array, a)
    if isinstance(key, tuple):
        key = tuple(_on(k.array, a) if isinstance(k, Tensor) else
                    (_on(k, a) if isinstance(k, np.ndarray) else k) for k in key)
        return _torch_key(key, a)
    if isinstance(key, list):
        return _on(np.asarray(key), a)
    if isinstance(key, np.ndarray):
        return _on(key, a)
    return key


def index_key(key, a: Tensor):
    """The NumPy key that reads ``a`` the way PyTorch reads ``a[key]`` (Tensors become arrays
    on ``a``'s device; a key mixing integers and index arrays is rewritten, ``_torch_key``).
    For code that indexes ``a.array`` directly, e.g. an in-place ``a.array[key] = v``."""
    return _index_key(key, a)


def _torch_key(key: tuple, a: Tensor) -> tuple:
    """The all-array key equivalent to PyTorch's reading of a key mixing ints and arrays.

    PyTorch applies the integers first, then the arrays: ``x[0, :, [0, 1]]`` is
    ``x[0][:, [0, 1]]``. Every slice becomes an ``arange`` and every array is reshaped so
    that the broadcast of all of them has exactly that result's dims. Keys with ``None`` are
    left alone (``getitem`` then indexes in two steps); so are keys NumPy will reject.
    """
    if _torch_order(key, a.ndim) is None or any(k is None for k in key):
        return key
    xp = xp_of(a.array)
    used = sum(_dims_used(k) for k in key if k is not Ellipsis)
    if used > a.ndim or sum(k is Ellipsis for k in key) > 1:
        return key
    entries = []                          # one per input dim: int, slice or int array
    for k in key:
        if isinstance(k, list):
            k = xp.asarray(np.asarray(k))
        if k is Ellipsis:
            entries += [slice(None)] * (a.ndim - used)
        elif hasattr(k, "dtype") and k.dtype.kind == "b":
            entries += list(xp.nonzero(k))
        else:
            entries.append(k)
    entries += [slice(None)] * (a.ndim - len(entries))
    rest = [(d, k) for d, k in enumerate(entries) if not _is_int(k)]
    where = [i for i, (_, k) in enumerate(rest) if not isinstance(k, slice)]
    if any(k.dtype.kind not in "iu" for _, k in rest if not isinstance(k, slice)):
        return key
    try:
        block = np.broadcast_shapes(*[rest[i][1].shape for i in where])
    except ValueError:
        return key
    adjacent = where == list(range(where[0], where[-1] + 1))
    start = where[0] if adjacent else 0   # where the arrays' broadcast dims go
    total = len(rest) - len(where) + len(block)
    out = list(entries)
    slot = 0 if adjacent else len(block)  # the next free output dim for a slice
    for i, (d, k) in enumerate(rest):
        if adjacent and i == where[0]:
            slot += len(block)
        if isinstance(k, slice):
            r = xp.arange(*k.indices(a.shape[d]))
            out[d] = r.reshape((1,) * slot + (-1,) + (1,) * (total - slot - 1))
            slot += 1
        else:
            lead = len(block) - k.ndim
            out[d] = k.reshape((1,) * (start + lead) + k.shape +
                               (1,) * (total - start - len(block)))
    return tuple(out)


def _on(idx, a: Tensor):
    if type(idx) is type(a.array):
        return idx
    from ..backend import to_device
    return to_device(idx, device_of(a.array))


def getitem(a: Tensor, key) -> Tensor:
    """Basic slicing, boolean masks and integer-array indexing, with PyTorch's rule where it
    differs from NumPy's: integer indices are applied first (as basic indexing), then the
    index arrays. ``x[0, :, [0, 1]]`` on a (2, 3, 4) tensor is ``x[0][:, [0, 1]]``, shape
    (3, 2) (NumPy would move the array's dim to the front: (2, 3)).
    """
    key = _index_key(key, a)                # mixed keys come back rewritten (_torch_key) ...
    split = _torch_order(key, a.ndim) if isinstance(key, tuple) and any(
        k is None for k in key) else None   # ... except those with None: two steps
    if split is not None:                   # ints first, then the index arrays
        return getitem(getitem(a, split[0]), split[1])
    xp = xp_of(a.array)
    try:
        out = a.array[key]
    except IndexError as e:
        raise IndexError(f"index {key!r} is invalid for a tensor of shape {a.shape}: {e}") \
            from None
    basic = not _has_advanced(key)
    if basic:
        out = out.view() if isinstance(out, xp.ndarray) else xp.asarray(out)

    def backward(g):
        grad = xp.zeros_like(a.array)
        if basic:
            grad[key] = g
        else:
            xp.add.at(grad, key, g)            # repeated indices accumulate
        return (grad,)
    return make(xp.asarray(out), (a,), backward, "IndexBackward")


def _plain_basic(key) -> bool:
    """A key of Python ints, slices, None and ``...`` only (``x[:, -1]``): NumPy reads it as
    PyTorch does, so it needs no rewriting."""
    if type(key) is tuple:
        return all(type(k) is slice or type(k) is int or k is None or k is Ellipsis
                   for k in key)
    return type(key) is slice or type(key) is int


def _is_int(k) -> bool:
    return (isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_))) or (
        hasattr(k, "shape") and k.ndim == 0 and k.dtype.kind in "iu")


def _dims_used(k) -> int:
    """How many input dims an index entry consumes (a bool mask: its own ndim)."""
    return k.ndim if hasattr(k, "dtype") and k.dtype.kind == "b" else 1


def _torch_order(key, ndim: int):
    """``(ints_key, rest_key)`` when ``key`` mixes integers with index arrays (where PyTorch and
    NumPy disagree on the output's dim order), else None."""
    if not isinstance(key, tuple):
        return None
    ints = [_is_int(k) for k in key]
    arrays = [not i and (isinstance(k, list) or (hasattr(k, "shape") and k.ndim > 0) or
                         (hasattr(k, "dtype") and k.dtype.kind == "b"))
              for i, k in zip(ints, key)]
    if not any(ints) or not any(arrays):
        return None
    used = sum(_dims_used(k) for k in key if k is not None and k is not Ellipsis)
    first, rest = [], []
    for k, is_int in zip(key, ints):
        if k is Ellipsis:
            first += [slice(None)] * max(ndim - used, 0)
            rest.append(Ellipsis)
        elif k is None:
            first.append(None)
            rest.append(slice(None))
        elif is_int:
            first.append(int(k))
        else:
            first += [slice(None)] * _dims_used(k)
            rest.append(k)
    return tuple(first), tuple(rest)


def _has_advanced(key) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, list) or (hasattr(k, "shape") and not isinstance(k, np.generic))
               for k in keys)


def cat(tensors, dim: int = 0, *, axis=None) -> Tensor:
    dim = dim_arg(dim, axis, "cat", 0)
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat(): expected a non-empty list of tensors")
    (axis,) = norm_dim(dim, tensors[0].ndim, "cat", tensors[0].shape)
    same_device("cat", *tensors)
    xp = xp_of(tensors[0].array)
    try:
        out = xp.concatenate([t.array for t in tensors], axis=axis)
    except ValueError as e:
        shapes = [t.shape for t in tensors]
        raise ShapeError(f"cat(dim={dim}): shapes {shapes} do not match outside dim ({e})") \
            from None
    bounds = [int(b) for b in np.cumsum([t.shape[axis] for t in tensors])[:-1]]

    def backward(g):
        return tuple(xp.split(g, bounds, axis=axis))
    return make(out, tuple(tensors), backward, "CatBackward")


concat = cat


def stack(tensors, dim: int = 0, *, axis=None) -> Tensor:
    dim = dim_arg(dim, axis, "stack", 0)
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack(): expected a non-empty list of tensors")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ShapeError(f"stack(): all tensors must have the same shape, got {sorted(shapes)}")
    nd = tensors[0].ndim
    if not -nd - 1 <= dim <= nd:
        raise IndexError(f"stack(): dim={dim} is out of range for tensors of shape "
                         f"{tensors[0].shape} (expected {-nd - 1} <= dim <= {nd})")
    return cat([unsqueeze(t, dim) for t in tensors], dim=dim)


def pad(a: Tensor, pad: tuple, mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad the last dims, PyTorch order: ``(left, right, top, bottom, ...)`` from the last dim.

    Negative padding crops. ``mode`` is ``'constant'``, ``'reflect'``, ``'replicate'`` or
    ``'circular'`` (wrap around; a crop comes first, as in PyTorch); all differentiable.
    """
    if len(pad) % 2 or len(pad) // 2 > a.ndim:
        raise ValueError(f"pad(pad={tuple(pad)}): expected an even number of values covering "
                         f"at most {a.ndim} dims")
    if mode == "circular" and any(int(p) < 0 for p in pad):
        a = _pad(a, tuple(min(int(p), 0) for p in pad))      # crop first, then wrap
        pad = tuple(max(int(p), 0) for p in pad)
    widths = [(0, 0)] * a.ndim
    for i in range(len(pad) // 2):
        widths[a.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    grow = [(max(l, 0), max(r, 0)) for l, r in widths]
    np_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
               "circular": "wrap"}.get(mode)
    if np_mode is None:
        raise UnsupportedModeError(f"pad(mode={mode!r}): expected 'constant', 'reflect', "
                                   f"'replicate' or 'circular'")
    if mode == "circular" and any(g > s for (gl, gr), s in zip(grow, a.shape) for g in (gl, gr)):
        raise ValueError(f"pad(pad={tuple(pad)}, mode='circular'): a padding larger than its "
                         f"dim would wrap around more than once (tensor of shape {a.shape})")
    if mode == "reflect" and any(g >= s for (gl, gr), s in zip(grow, a.shape) for g in (gl, gr)
                                 if g):
        raise ValueError(f"pad(pad={tuple(pad)}, mode='reflect'): each padding must be smaller "
                         f"than its dim, got a tensor of shape {a.shape}")
    kw = {"constant_values": value} if np_mode == "constant" else {}
    xp = xp_of(a.array)
    out = xp.pad(a.array, grow, mode=np_mode, **kw)
    crop = tuple(slice(-min(l, 0), out.shape[i] - (-min(r, 0)))
                 for i, (l, r) in enumerate(widths))
    out = out[crop]
    inner = tuple(slice(max(l, 0), max(l, 0) + s)
                  for (l, r), s in zip(widths, a.shape))
    source = None                   # reflect/replicate: flat input index of each output element
    if np_mode != "constant":
        source = xp.pad(xp.arange(a.array.size).reshape(a.shape), grow, mode=np_mode)[crop]

    def backward(g):
        if source is not None:      # copies of an input element add up their gradients
            grad = xp.bincount(source.ravel(), weights=g.ravel(), minlength=a.array.size)
            return (grad.reshape(a.shape).astype(g.dtype),)
        full = xp.zeros(tuple(s + gl + gr for s, (gl, gr) in zip(a.shape, grow)), g.dtype)
        full[crop] = g
        return (xp.ascontiguousarray(full[inner]),)
    return make(xp.ascontiguousarray(out), (a,), backward, "PadBackward")


_pad = pad                  # pad()'s argument ``pad`` hides the function inside it
