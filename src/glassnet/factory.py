"""Tensor constructors: zeros, ones, full, empty, eye, arange, linspace, logspace, randn, rand,
randint, their ``*_like`` forms and from_numpy (all take ``dtype=`` and ``device=``).

Random tensors are drawn on the host from glassnet's generator and then moved to ``device``,
so one seed gives the same numbers on every device.
"""
import numpy as np

from .backend import normalize_device, to_device, xp_for_device, xp_of
from .errors import UnsupportedModeError
from .tensor import Tensor, get_rng

__all__ = ["zeros", "ones", "randn", "rand", "arange", "zeros_like", "ones_like", "from_numpy",
           "full", "full_like", "empty", "empty_like", "eye", "linspace", "logspace", "randint",
           "randn_like", "rand_like", "randint_like", "randperm", "tril_indices",
           "triu_indices", "bernoulli", "multinomial", "normal"]


def _shape(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def _xp(device):
    return np if device is None else xp_for_device(device)


def zeros(*shape, dtype=np.float32, requires_grad=False, device=None) -> Tensor:
    """A tensor of zeros, e.g. ``gn.zeros(2, 3, device="cuda")``."""
    return Tensor(_xp(device).zeros(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape, dtype=np.float32, requires_grad=False, device=None) -> Tensor:
    """A tensor of ones, e.g. ``gn.ones(2, 3, device="cuda")``."""
    return Tensor(_xp(device).ones(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def zeros_like(t: Tensor, requires_grad=False, device=None) -> Tensor:
    """Zeros with ``t``'s shape, dtype and (unless ``device`` is given) device."""
    xp = xp_of(t.array) if device is None else xp_for_device(device)
    return Tensor(xp.zeros(t.shape, dtype=t.dtype), requires_grad=requires_grad)


def ones_like(t: Tensor, requires_grad=False, device=None) -> Tensor:
    """Ones with ``t``'s shape, dtype and (unless ``device`` is given) device."""
    xp = xp_of(t.array) if device is None else xp_for_device(device)
    return Tensor(xp.ones(t.shape, dtype=t.dtype), requires_grad=requires_grad)


def _place(arr: np.ndarray, device):
    return arr if device is None else to_device(arr, normalize_device(device))


def randn(*shape, dtype=np.float32, requires_grad=False, generator=None, device=None) -> Tensor:
    """Standard normal samples (drawn on the host, then moved to ``device``)."""
    rng = generator or get_rng()
    arr = rng.standard_normal(_shape(shape)).astype(dtype)
    return Tensor(_place(arr, device), requires_grad=requires_grad)


def rand(*shape, dtype=np.float32, requires_grad=False, generator=None, device=None) -> Tensor:
    """Uniform samples in [0, 1) (drawn on the host, then moved to ``device``)."""
    rng = generator or get_rng()
    arr = rng.random(_shape(shape)).astype(dtype)
    return Tensor(_place(arr, device), requires_grad=requires_grad)


def arange(*args, dtype=None, device=None) -> Tensor:
    """Like ``torch.arange``: ints give int64, floats give float32."""
    arr = np.arange(*args)
    if dtype is not None:
        arr = arr.astype(dtype)
    elif arr.dtype.kind == "f":
        arr = arr.astype(np.float32)
    return Tensor(_place(arr, device))


def from_numpy(arr: np.ndarray) -> Tensor:
    """Wrap an array without copying (shares memory, keeps dtype)."""
    return Tensor(np.asarray(arr))


def _check_shape(shape, name: str) -> tuple:
    shape = _shape(shape)
    if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0 for s in shape):
        raise ValueError(f"{name}(): expected non-negative int sizes, got {tuple(shape)}")
    return tuple(int(s) for s in shape)


def _fill_dtype(value, dtype):
    """``full``'s dtype when none is given: bool, int64 or float32 from the value, as torch."""
    if dtype is not None:
        return dtype
    if isinstance(value, (bool, np.bool_)):
        return np.bool_
    if isinstance(value, (int, np.integer)):
        return np.int64
    return np.float32


def full(size, fill_value, *, dtype=None, requires_grad=False, device=None) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (dtype from the value unless given:
    bool, int64 or float32), like ``torch.full``."""
    shape = _check_shape((size,) if isinstance(size, (int, np.integer)) else size, "full")
    return Tensor(_xp(device).full(shape, fill_value, dtype=_fill_dtype(fill_value, dtype)),
                  requires_grad=requires_grad)


def _like(t: Tensor, dtype, device):
    xp = xp_of(t.array) if device is None else xp_for_device(device)
    return xp, (t.dtype if dtype is None else dtype)


def full_like(t: Tensor, fill_value, *, dtype=None, requires_grad=False, device=None) -> Tensor:
    """``fill_value`` with ``t``'s shape, dtype and device (unless given)."""
    xp, dtype = _like(t, dtype, device)
    return Tensor(xp.full(t.shape, fill_value, dtype=dtype), requires_grad=requires_grad)


def empty(*shape, dtype=np.float32, requires_grad=False, device=None) -> Tensor:
    """An uninitialised tensor in PyTorch; here zeros, so that results never depend on
    leftover memory."""
    return zeros(*_check_shape(shape, "empty"), dtype=dtype, requires_grad=requires_grad,
                 device=device)


def empty_like(t: Tensor, *, dtype=None, requires_grad=False, device=None) -> Tensor:
    """``empty`` with ``t``'s shape, dtype and device (unless given)."""
    xp, dtype = _like(t, dtype, device)
    return Tensor(xp.zeros(t.shape, dtype=dtype), requires_grad=requires_grad)


def eye(n: int, m: int | None = None, *, dtype=np.float32, requires_grad=False,
        device=None) -> Tensor:
    """The ``n x m`` identity matrix (``m = n`` by default)."""
    _check_shape((n,) if m is None else (n, m), "eye")
    return Tensor(_xp(device).eye(n, m, dtype=dtype), requires_grad=requires_grad)


def linspace(start, end, steps: int, *, dtype=np.float32, requires_grad=False,
             device=None) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"linspace(steps={steps!r}): expected a non-negative int")
    if np.dtype(dtype) == np.bool_:
        raise UnsupportedModeError("linspace(dtype=bool): not defined for bool (as in PyTorch)")
    arr = np.linspace(float(start), float(end), int(steps)).astype(dtype)
    return Tensor(_place(arr, device), requires_grad=requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=np.float32,
             requires_grad=False, device=None) -> Tensor:
    """``base ** linspace(start, end, steps)``."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"logspace(steps={steps!r}): expected a non-negative int")
    arr = (float(base) ** np.linspace(float(start), float(end), int(steps))).astype(dtype)
    return Tensor(_place(arr, device), requires_grad=requires_grad)


def randint(*args, size=None, dtype=np.int64, generator=None, device=None) -> Tensor:
    """Uniform integers in ``[low, high)``: ``randint(high, size)`` or
    ``randint(low, high, size)``, like ``torch.randint`` (drawn on the host)."""
    if size is None and args and isinstance(args[-1], (tuple, list)):
        *args, size = args
    if size is None or len(args) not in (1, 2):
        raise TypeError("randint(): expected randint(high, size) or randint(low, high, size)")
    low, high = (0, args[0]) if len(args) == 1 else args
    if high <= low:
        raise ValueError(f"randint(low={low}, high={high}): expected low < high")
    rng = generator or get_rng()
    arr = rng.integers(int(low), int(high), size=_check_shape(size, "randint")).astype(dtype)
    return Tensor(_place(arr, device))


def randn_like(t: Tensor, *, dtype=None, requires_grad=False, generator=None,
               device=None) -> Tensor:
    """Standard normal samples with ``t``'s shape, dtype and device (unless given)."""
    dtype = t.dtype if dtype is None else dtype
    return randn(*t.shape, dtype=dtype, requires_grad=requires_grad, generator=generator,
                 device=t.device if device is None else device)


def rand_like(t: Tensor, *, dtype=None, requires_grad=False, generator=None,
              device=None) -> Tensor:
    """Uniform samples in [0, 1) with ``t``'s shape, dtype and device (unless given)."""
    dtype = t.dtype if dtype is None else dtype
    return rand(*t.shape, dtype=dtype, requires_grad=requires_grad, generator=generator,
                device=t.device if device is None else device)


def randint_like(t: Tensor, low, high=None, *, dtype=None, generator=None,
                 device=None) -> Tensor:
    """Uniform integers in ``[low, high)`` (or ``[0, low)``) with ``t``'s shape."""
    low, high = (0, low) if high is None else (low, high)
    return randint(low, high, t.shape, dtype=t.dtype if dtype is None else dtype,
                   generator=generator, device=t.device if device is None else device)


def randperm(n: int, *, dtype=np.int64, generator=None, device=None) -> Tensor:
    """A random permutation of ``0 .. n-1`` (drawn on the host)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"randperm(n={n!r}): expected a non-negative int")
    rng = generator or get_rng()
    return Tensor(_place(rng.permutation(int(n)).astype(dtype), device))


def _triangle_indices(name: str, row: int, col: int, offset: int, lower: bool, dtype,
                      device) -> Tensor:
    for arg, v in (("row", row), ("col", col)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"{name}({arg}={v!r}): expected a non-negative int")
    r, c = (np.tril_indices if lower else np.triu_indices)(int(row), int(offset), int(col))
    return Tensor(_place(np.stack([r, c]).astype(dtype).reshape(2, -1), device))


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=np.int64,
                 device=None) -> Tensor:
    """The ``(2, N)`` row/column indices of the lower triangle of a ``row x col`` matrix
    (``offset`` diagonals above the main one included), row by row."""
    return _triangle_indices("tril_indices", row, col, offset, True, dtype, device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=np.int64,
                 device=None) -> Tensor:
    """The ``(2, N)`` row/column indices of the upper triangle of a ``row x col`` matrix."""
    return _triangle_indices("triu_indices", row, col, offset, False, dtype, device)


def _host(t) -> np.ndarray:
    return np.asarray(t.numpy() if isinstance(t, Tensor) else t)


def bernoulli(input: Tensor, p=None, *, generator=None) -> Tensor:
    """0/1 samples: 1 with probability ``input`` (elementwise; or ``p`` for every element),
    in ``input``'s dtype and device."""
    probs = _host(input) if p is None else np.full(input.shape, float(p))
    if probs.size and (np.isnan(probs).any() or probs.min() < 0 or probs.max() > 1):
        raise ValueError("bernoulli(): probabilities must be in [0, 1]")
    rng = generator or get_rng()
    arr = (rng.random(probs.shape) < probs).astype(input.dtype)
    return Tensor(_place(arr, None if input.device == "cpu" else input.device))


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """``num_samples`` category indices per row, drawn with probabilities proportional to the
    (non-negative) weights in ``input`` (1-D, or 2-D: one draw per row), as int64."""
    w = _host(input).astype(np.float64)
    if w.ndim not in (1, 2) or (w.size and (w.min() < 0 or not np.isfinite(w).all())):
        raise ValueError(f"multinomial(): expected 1-D or 2-D finite non-negative weights, got "
                         f"shape {w.shape}")
    rows = w.reshape(-1, w.shape[-1])
    if (rows.sum(axis=1) <= 0).any():
        raise ValueError("multinomial(): each row of weights must have a positive sum")
    if not replacement and num_samples > int((rows > 0).sum(axis=1).min()):
        raise ValueError(f"multinomial(num_samples={num_samples}): cannot draw more samples "
                         f"than non-zero weights without replacement")
    rng = generator or get_rng()
    out = np.stack([rng.choice(len(r), size=num_samples, replace=replacement, p=r / r.sum())
                    for r in rows]).astype(np.int64)
    out = out.reshape(w.shape[:-1] + (num_samples,))
    return Tensor(_place(out, None if input.device == "cpu" else input.device))


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=np.float32,
           device=None) -> Tensor:
    """Samples of N(mean, std²): ``mean``/``std`` may be tensors (broadcast together, their
    shape and dtype) or numbers with ``size``."""
    rng = generator or get_rng()
    like = next((t for t in (mean, std) if isinstance(t, Tensor)), None)
    m, s = _host(mean), _host(std)
    if s.size and s.min() < 0:
        raise ValueError("normal(): std must be non-negative")
    shape = tuple(size) if size is not None else np.broadcast_shapes(m.shape, s.shape)
    out_dtype = like.dtype if like is not None else dtype
    arr = (m + s * rng.standard_normal(shape)).astype(out_dtype)
    return Tensor(_place(arr, device if device is not None or like is None
                         else (None if like.device == "cpu" else like.device)))
