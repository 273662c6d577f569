"""Tensor, the computation graph and reverse-mode differentiation.

A :class:`Tensor` wraps an array (``.data``): a NumPy array on the CPU, a CuPy array on
``device="cuda"`` (see ``glassnet.backend``). When an op runs on tensors that require
gradients, its output remembers its parents and a ``backward`` closure that maps the output's
gradient to one gradient per parent. :meth:`Tensor.backward` visits the graph in reverse
topological order (iteratively, so a chain of 100,000 ops is fine), accumulates gradients into
the ``.grad`` of leaf tensors and then frees the graph.

Writing an op (see ``glassnet/ops``)::

    def exp(x):
        y = np.exp(x.data)
        def backward(g):               # g: gradient of the loss w.r.t. the output
            return (g * y,)            # one entry per parent (None = no gradient)
        return make(y, (x,), backward)

A backward closure must never modify ``g`` in place; it may return ``g`` itself.
"""
from __future__ import annotations

import contextlib
import threading

import numpy as np

from .backend import device_of, is_device, normalize_device, to_device, to_host, xp_of

__all__ = ["Tensor", "tensor", "no_grad", "enable_grad", "is_grad_enabled", "manual_seed",
           "make", "as_tensor", "get_rng", "float32", "float64", "int64", "int32", "bool_"]

float32, float64, int64, int32, bool_ = np.float32, np.float64, np.int64, np.int32, np.bool_

_state = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_state, "grad_enabled", True)


@contextlib.contextmanager
def _grad_mode(enabled: bool):
    prev = is_grad_enabled()
    _state.grad_enabled = enabled
    try:
        yield
    finally:
        _state.grad_enabled = prev


def no_grad(func=None):
    """Context manager (or decorator) under which ops record no graph, like ``torch.no_grad``.

    Use as ``with no_grad():``, ``@no_grad()`` or ``@no_grad``.
    """
    return _grad_mode(False) if func is None else _grad_mode(False)(func)


def enable_grad(func=None):
    """Turn recording back on inside ``no_grad`` (context manager or decorator)."""
    return _grad_mode(True) if func is None else _grad_mode(True)(func)


# -- randomness ------------------------------------------------------------------------------
_rng = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed glassnet's global generator (weight init, dropout). Returns the generator."""
    global _rng
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed(seed): expected an int, got {type(seed).__name__}")
    _rng = np.random.default_rng(int(seed))
    return _rng


def get_rng() -> np.random.Generator:
    """The global generator used by initialisers and dropout."""
    return _rng


def set_rng_state(state: dict) -> None:
    _rng.bit_generator.state = state


# -- the tensor ------------------------------------------------------------------------------
def _to_array(data, dtype=None):
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        dtype = np.dtype(dtype)
    if type(data) is np.ndarray:                 # the common case, kept cheap
        xp, is_array = np, True
    else:                                        # a device array stays on its device
        xp = xp_of(data)
        is_array = xp is not np or isinstance(data, np.ndarray)
    arr = xp.asarray(data, dtype=dtype)
    if arr.dtype == object:
        raise TypeError("tensor(data): expected numbers or an array of numbers, got objects")
    if dtype is None:
        if arr.dtype.kind == "f" and arr.dtype != np.float32 and not is_array:
            arr = arr.astype(np.float32)         # Python floats become float32, like PyTorch
        elif arr.dtype.kind == "f" and arr.dtype == np.float16:
            arr = arr.astype(np.float32)
        elif arr.dtype.kind in "iu" and not is_array:
            arr = arr.astype(np.int64)
    return arr


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Attributes:
        data: the underlying array: ``numpy.ndarray`` on ``"cpu"``, ``cupy.ndarray`` on
            ``"cuda"``.
        grad: accumulated gradient (a Tensor of the same shape) or ``None``.
        requires_grad: whether operations on this tensor are recorded for differentiation.
    """

    __slots__ = ("data", "grad", "requires_grad", "_parents", "_backward", "_op", "_retain",
                 "__weakref__")
    __array_priority__ = 1000          # so ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        arr = _to_array(data, dtype)
        if requires_grad and arr.dtype.kind not in "fc":
            raise TypeError(f"tensor(requires_grad=True): only floating tensors can require "
                            f"gradients, got dtype {arr.dtype}")
        self.data = arr
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._parents = ()
        self._backward = None
        self._op = None
        self._retain = False

    # -- basic properties
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self) -> str:
        """Where the data lives: ``"cpu"``, ``"cuda"`` (or a device registered by tests)."""
        return device_of(self.data)

    @property
    def is_cuda(self) -> bool:
        return self.device == "cuda"

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size_(self) -> int:
        return self.data.size

    def size(self, dim=None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        return self._backward is None or not self.requires_grad

    @property
    def T(self):
        return self.transpose(-1, -2) if self.ndim >= 2 else self

    def __len__(self):
        return len(self.data)

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array.

        On the CPU this is the underlying array (shared memory, like ``Tensor.numpy()`` in
        PyTorch). On another device it is a copy to host memory (PyTorch raises there and asks
        for ``.cpu().numpy()``; both spellings work here). Unlike PyTorch it does not refuse a
        tensor that requires grad: the array carries no graph either way.
        """
        return to_host(self.data)

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item(): only one-element tensors can be converted to Python "
                             f"scalars, got shape {self.shape}")
        return self.data.item()

    def cpu(self) -> "Tensor":
        """This tensor on the CPU (itself when already there; differentiable)."""
        return self.to("cpu")

    def cuda(self, device=None) -> "Tensor":
        """This tensor on the GPU (``device`` may be ``"cuda"`` or ``"cuda:0"``)."""
        return self.to("cuda" if device is None else
                       (f"cuda:{device}" if isinstance(device, int) else device))

    def tolist(self):
        return self.data.tolist()

    def detach(self) -> "Tensor":
        """A new tensor sharing the data, cut off from the graph."""
        return Tensor(self.data)

    def clone(self) -> "Tensor":
        from .ops.elementwise import clone
        return clone(self)

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        if flag and self.data.dtype.kind != "f":
            raise TypeError(f"requires_grad_(): only floating tensors can require gradients, "
                            f"got dtype {self.dtype}")
        self.requires_grad = bool(flag)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after ``backward()``."""
        self._retain = True

    def float(self) -> "Tensor":
        return self.to(np.float32)

    def double(self) -> "Tensor":
        return self.to(np.float64)

    def long(self) -> "Tensor":
        return Tensor(self.data.astype(np.int64))

    def to(self, *args, dtype=None, device=None, non_blocking: bool = False) -> "Tensor":
        """Change dtype and/or device, like ``torch.Tensor.to``.

        ``t.to("cuda")``, ``t.to(np.float64)``, ``t.to("cpu", np.float32)``,
        ``t.to(other_tensor)`` (other's device and dtype). Differentiable; a no-op returns
        ``self``. ``non_blocking`` is accepted for PyTorch compatibility and ignored.

        Example:
            >>> x = gn.randn(2, 3).to("cpu")
        """
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif is_device(a):
                device = a
            else:
                dtype = a
        out = self
        if dtype is not None:
            from .ops.elementwise import cast
            out = cast(out, dtype)
        if device is not None:
            from .ops.device import move
            out = move(out, device)
        return out

    def __repr__(self):
        body = np.array2string(to_host(self.data), separator=", ", precision=4,
                               prefix="tensor(")
        extra = "" if self.device == "cpu" else f", device='{self.device}'"
        if self.data.dtype != np.float32 and self.data.dtype != np.int64:
            extra += f", dtype={self.data.dtype}"
        if self._op is not None:
            extra += f", grad_fn=<{self._op}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __bool__(self):
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __array__(self, dtype=None, copy=None):
        host = to_host(self.data)                 # a device tensor is copied to the host
        return host if dtype is None else host.astype(dtype)

    __hash__ = object.__hash__

    # -- differentiation
    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        ``gradient`` is required unless the tensor holds a single element (then it is 1).
        The graph is freed afterwards unless ``retain_graph=True``.
        """
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad and has no "
                               "graph (did you forget requires_grad=True or use no_grad()?)")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward(): grad can be implicitly created only for "
                                   f"scalar outputs, got shape {self.shape}; pass gradient=")
            seed = xp_of(self.data).ones_like(self.data)
        else:
            seed = to_device(_to_array(gradient), self.device)
            seed = xp_of(seed).array(seed, dtype=self.data.dtype, copy=True)
            if seed.shape != self.shape:
                raise ValueError(f"backward(gradient): expected shape {self.shape}, "
                                 f"got {seed.shape}")
        _run_backward(self, seed, retain_graph)

    # operators are bound at the bottom of this file (ops import Tensor)


def _topo_order(root: Tensor) -> list:
    """Nodes reachable from root, each after all of its parents' consumers (iterative DFS)."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for p in node._parents:
            if p is not None and p.requires_grad and id(p) not in visited:
                stack.append((p, False))
    order.reverse()                     # root first
    return order


def _freed(g):
    raise RuntimeError("backward(): trying to backward through the graph a second time; "
                       "its buffers were freed (use backward(retain_graph=True))")


def _run_backward(root: Tensor, seed: np.ndarray, retain_graph: bool) -> None:
    order = _topo_order(root)
    grads = {id(root): seed}
    leaves = []
    for node in order:
        fn = node._backward
        if fn is None:
            leaves.append(node)
            continue
        g = grads.pop(id(node), None)
        if g is not None:
            if node._retain:
                _accumulate(node, g.copy())
            for p, pg in zip(node._parents, fn(g)):
                if pg is None or p is None or not p.requires_grad:
                    continue
                if pg.shape != p.data.shape:
                    raise RuntimeError(f"internal error: {node._op} gave a gradient of shape "
                                       f"{pg.shape} for an input of shape {p.data.shape}")
                prev = grads.get(id(p))
                grads[id(p)] = pg if prev is None else prev + pg
        if not retain_graph:
            node._backward = _freed
            node._parents = ()
    handed_out = set()
    for leaf in leaves:
        g = grads.get(id(leaf))
        if g is None:
            continue
        flags = g.flags
        if id(g) in handed_out or not flags.owndata or (
                type(g) is np.ndarray and not flags.writeable):   # CuPy has no 'writeable'
            g = g.copy()
        handed_out.add(id(g))
        _accumulate(leaf, g)


def _accumulate(node: Tensor, g: np.ndarray) -> None:
    if g.dtype != node.data.dtype:
        g = g.astype(node.data.dtype)
    if node.grad is None:
        node.grad = Tensor(g)
    else:
        node.grad.data = node.grad.data + g


def make(data: np.ndarray, parents: tuple, backward, op: str | None = None) -> Tensor:
    """Wrap an op's output; record the graph edge if grad mode is on and a parent needs it."""
    out = Tensor.__new__(Tensor)
    out.data = data
    out.grad = None
    out._retain = False
    if is_grad_enabled() and any(p is not None and p.requires_grad for p in parents):
        out.requires_grad = True
        out._parents = parents
        out._backward = backward
        out._op = op or getattr(backward, "__qualname__", "op").split(".")[0]
    else:
        out.requires_grad = False
        out._parents = ()
        out._backward = None
        out._op = None
    return out


def tensor(data, requires_grad: bool = False, dtype=None, device=None) -> Tensor:
    """Create a tensor from a number, a nested list or an array.

    Python floats become float32 and Python ints become int64, as in PyTorch; a NumPy array
    keeps its dtype unless ``dtype`` is given. The data is copied. ``device`` (``"cpu"``,
    ``"cuda"``) says where it lives; by default where ``data`` is (host data: the CPU).

    Example:
        >>> x = gn.tensor([[1.0, 2.0]], device="cpu")
    """
    if isinstance(data, Tensor):
        data = data.data
    arr = _to_array(data, dtype)
    if arr is data or (isinstance(data, np.ndarray) and np.shares_memory(arr, data)):
        arr = arr.copy()
    if device is not None:
        arr = to_device(arr, normalize_device(device))
    return Tensor(arr, requires_grad=requires_grad)


def as_tensor(x, dtype=None) -> Tensor:
    """Return x if it is already a Tensor, else wrap it (without copying when possible)."""
    if isinstance(x, Tensor):
        return x
    return Tensor(x, dtype=dtype)


