"""Helpers shared by the ops: broadcasting reduction, operand coercion, device checks."""
import numpy as np

from ..backend import device_of, xp_of
from ..errors import ShapeError
from ..tensor import Tensor


def unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``g`` over the axes that broadcasting added or stretched, giving ``shape``."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape) if axes else g.reshape(shape)


def to_tensor(x, like: Tensor | None = None) -> Tensor:
    """Wrap a number or array as a constant tensor, matching ``like``'s float dtype."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (bool, int, float, np.number)) and like is not None:
        xp = xp_of(like.array)                    # the constant lives on like's device
        kind = like.array.dtype.kind
        if kind == "f":
            return Tensor(xp.asarray(x, dtype=like.array.dtype))
        if isinstance(x, (float, np.floating)):
            return Tensor(xp.asarray(x, dtype=np.float32))
        if kind == "b" and not isinstance(x, (bool, np.bool_)):
            return Tensor(xp.asarray(x, dtype=np.int64))      # bool tensor + 2 -> int64
        return Tensor(xp.asarray(x, dtype=like.array.dtype))
    return Tensor(x)


def tensor_arg(x, op: str) -> Tensor:
    """``x`` itself if it is a Tensor, else a TypeError naming ``op`` (as PyTorch refuses
    ``torch.sin(1.5)``)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be a Tensor, got {type(x).__name__}")
    return x


def result_tensor(arr) -> Tensor:
    """A graph-free result (bool, integer) as a Tensor that keeps its dtype: NumPy gives a
    scalar (``np.int32``, ``np.bool_``) for 0-d inputs, which ``Tensor()`` would treat as a
    Python number (int32 -> int64)."""
    return Tensor(np.asarray(arr) if isinstance(arr, np.generic) else arr)


def as_float(a: Tensor) -> Tensor:
    """Integer/bool input to a float-valued op (exp, sigmoid ...) becomes float32, as in torch.

    Such tensors never require grad, so the cast needs no graph edge.
    """
    if a.array.dtype.kind in "fc":
        return a
    return Tensor(a.array.astype(np.float32))


def promote(a: Tensor, b: Tensor) -> tuple:
    """PyTorch-style promotion: an int/bool operand takes the float operand's dtype, and a 0-d
    float tensor takes a dimensioned float tensor's dtype (float32 + 0-d float64 -> float32)."""
    ka, kb = a.array.dtype.kind, b.array.dtype.kind
    if ka == kb == "f" and a.array.dtype != b.array.dtype and (a.ndim == 0) != (b.ndim == 0):
        from .elementwise import cast      # a 0-d float takes the dimensioned float's dtype
        return (cast(a, b.array.dtype), b) if a.ndim == 0 else (a, cast(b, a.array.dtype))
    if ka == "f" and kb != "f":
        b = Tensor(b.array.astype(a.array.dtype))
    elif kb == "f" and ka != "f":
        a = Tensor(a.array.astype(b.array.dtype))
    return a, b


def same_device(op: str, *tensors) -> None:
    """Raise naming ``op`` and both devices when the tensors (None skipped) live apart."""
    kind = None
    for t in tensors:                            # fast path: one array type (no lookups)
        if t is not None:
            if kind is None:
                kind = type(t.array)
            elif type(t.array) is not kind:
                break
    else:
        return
    first = None
    for t in tensors:
        if t is None:
            continue
        d = device_of(t.array)
        if first is None:
            first = d
        elif d != first:
            raise RuntimeError(f"{op}(): expected all tensors on the same device, got {first} "
                               f"and {d} (move them with .to(device))")


def binary_operands(a, b, op: str = "op") -> tuple:
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = Tensor(a)                  # two Python scalars: int64 / float32 / bool, as torch
    if not isinstance(a, Tensor):
        a = to_tensor(a, b)
    if not isinstance(b, Tensor):
        b = to_tensor(b, a)
    if type(a.array) is not type(b.array):
        a, b = _one_device(a, b, op)
    sa, sb = a.array.shape, b.array.shape
    if sa != sb:
        for x, y in zip(sa[::-1], sb[::-1]):
            if x != y and x != 1 and y != 1:
                raise ShapeError(f"{op}(): shapes {sa} and {sb} cannot be broadcast together "
                                 f"(size {x} vs {y})")
    return promote(a, b)


def _one_device(a: Tensor, b: Tensor, op: str) -> tuple:
    """Mixed devices: a 0-d CPU tensor joins the other's device (a scalar, as in PyTorch);
    anything else is an error naming the op and both devices."""
    da, db = device_of(a.array), device_of(b.array)
    if da == db:
        return a, b
    if da == "cpu" and a.ndim == 0:
        return a.to(db), b
    if db == "cpu" and b.ndim == 0:
        return a, b.to(da)
    raise RuntimeError(f"{op}(): expected both tensors on the same device, got {da} and {db} "
                       f"(move one with .to(device))")


def norm_dim(dim, ndim: int, name: str = "dim", shape: tuple | None = None):
    """Normalise an int/tuple/None dim argument to a tuple of non-negative axes (or None).

    ``name`` (the calling op, e.g. ``"sum"``) and ``shape`` only make error messages precise:
    ``sum(): dim=2 is out of range for a tensor of shape (2, 3) (expected -2 <= dim < 2)``.
    """
    if dim is None:
        return None
    if type(dim) is int and -ndim <= dim < ndim:        # the common case, kept cheap
        return (dim % ndim,)
    op = "" if name == "dim" else f"{name}(): "
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    n = max(ndim, 1)
    out = []
    for d in dims:
        if not isinstance(d, (int, np.integer)) or isinstance(d, bool):
            raise TypeError(f"{op}dim: expected int or tuple of ints, got {dim!r}")
        if not -n <= d < n:
            where = f"shape {tuple(shape)}" if shape is not None else f"{ndim} dims"
            raise IndexError(f"{op}dim={d} is out of range for a tensor of {where} "
                             f"(expected {-n} <= dim < {n})")
        out.append(int(d) % n)
    return tuple(out)


def dim_arg(dim, axis, name: str, default=None):
    """``axis=`` is PyTorch's alias of ``dim=``: return whichever was given (not both;
    ``default`` is the value of ``dim`` when it was not passed)."""
    if axis is None:
        return dim
    if dim is not None and dim != default and dim != axis:
        raise TypeError(f"{name}(): got both dim={dim!r} and its alias axis={axis!r}")
    return axis
