"""Tensor, the computation graph and reverse-mode differentiation.

A :class:`Tensor` wraps an array (``.array``): a NumPy array on the CPU, a CuPy array on
``device="cuda"`` (see ``glassnet.backend``); ``.data`` is PyTorch's detached tensor sharing
it. When an op runs on tensors that require gradients, its output remembers its parents and a
``backward`` closure that maps the output's gradient to one gradient per parent.
:meth:`Tensor.backward` visits the graph in reverse topological order (iteratively, so a chain
of 100,000 ops is fine), accumulates gradients into the ``.grad`` of leaf tensors and then
frees the graph.

Writing an op (see ``glassnet/ops``)::

    def exp(x):
        y = np.exp(x.array)
        def backward(g):               # g: gradient of the loss w.r.t. the output
            return (g * y,)            # one entry per parent (None = no gradient)
        return make(y, (x,), backward)

A backward closure must never modify ``g`` in place; it may return ``g`` itself.

In-place changes (``x += 1``, ``x.mul_(2)``, ``x[0] = 5``: see ``glassnet/_inplace.py``) keep
the tensor object and bump its version counter ``_version``. ``make`` records the version of
every parent; before running a node's backward, :func:`_edges` checks them: an op that reads a
parent's data in its backward (table ``_SAVES``) raises PyTorch's "modified by an inplace
operation" error when that parent changed since. On a tensor in the graph, an in-place op does
not overwrite the array: the tensor takes the new value and node, and a *shadow* tensor keeps
the old value and node for the edges recorded before (``_prev``/``_vstart``).
"""
from __future__ import annotations

import contextlib
import threading

import numpy as np

from .backend import device_of, is_device, normalize_device, to_device, to_host, xp_of

__all__ = ["Tensor", "tensor", "no_grad", "enable_grad", "is_grad_enabled", "manual_seed",
           "make", "records", "as_tensor", "get_rng", "float32", "float64", "int64", "int32",
           "bool_", "set_grad_enabled", "inference_mode"]

float32, float64, int64, int32, bool_ = np.float32, np.float64, np.int64, np.int32, np.bool_


class _GradState(threading.local):
    grad_enabled = True                 # the default in every thread (a plain attribute read)


_state = _GradState()


def is_grad_enabled() -> bool:
    return _state.grad_enabled


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


def inference_mode(mode=True):
    """``torch.inference_mode``: here the same as ``no_grad()`` (when ``mode`` is true).

    Use as ``with inference_mode():``, ``@inference_mode()`` or ``@inference_mode``.
    """
    if callable(mode):
        return _grad_mode(False)(mode)
    return _grad_mode(not mode)


class set_grad_enabled:
    """Turn graph recording on or off, like ``torch.set_grad_enabled``.

    As a function it switches the mode at once (``set_grad_enabled(False)``); as a context
    manager (``with set_grad_enabled(is_train):``) it restores the previous mode on exit.
    """

    def __init__(self, mode: bool):
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"set_grad_enabled(mode): expected a bool, got "
                            f"{type(mode).__name__}")
        self.prev, self.mode = is_grad_enabled(), bool(mode)
        _state.grad_enabled = self.mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _state.grad_enabled = self.prev
        return False

    def __call__(self, func):
        """As a decorator (``@set_grad_enabled(False)``): the mode applies inside ``func``."""
        _state.grad_enabled = self.prev            # the decorator line itself changes nothing
        return _grad_mode(bool(self.mode))(func)


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
    if isinstance(data, Tensor):                 # keeps its dtype (float16 too), like PyTorch
        data = data.array
        dtype = data.dtype if dtype is None else dtype
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


_differentiable: dict = {}


def register_tensor_ops(**ops) -> None:
    """Give Tensor the differentiable ops behind ``clone()`` and ``to()`` (``clone``,
    ``cast``, ``move``). They live in glassnet.ops, a layer above this one, which calls this
    when it is imported: tensor.py itself imports nothing from above."""
    _differentiable.update(ops)


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Attributes:
        array: the underlying array: ``numpy.ndarray`` on ``"cpu"``, ``cupy.ndarray`` on
            ``"cuda"``. What every op reads and writes.
        data: PyTorch's ``.data``: a tensor sharing ``array``, cut off from the graph, whose
            in-place changes are not seen by autograd (``p.data.sub_(lr * p.grad)``).
            Assigning ``t.data = other`` makes ``t`` hold ``other``'s array.
        grad: accumulated gradient (a Tensor of the same shape) or ``None``.
        requires_grad: whether operations on this tensor are recorded for differentiation.
    """

    # _version: bumped by every in-place change; _vers: the parents' versions when recorded
    # (None: all 0);
    # _hooks: {id: fn} from register_hook; _prev (set by in-place ops only): the shadow holding
    # this tensor's node before version _vstart
    __slots__ = ("array", "grad", "requires_grad", "_parents", "_backward", "_op", "_retain",
                 "_version", "_vers", "_hooks", "_prev", "_vstart", "__weakref__")
    __array_priority__ = 1000          # so ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        arr = _to_array(data, dtype)
        if requires_grad and arr.dtype.kind not in "fc":
            raise TypeError(f"tensor(requires_grad=True): only floating tensors can require "
                            f"gradients, got dtype {arr.dtype}")
        self.array = arr
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._parents = ()
        self._backward = None
        self._op = None
        self._retain = False
        self._version = self._vstart = 0
        self._vers = ()
        self._hooks = None

    # -- basic properties
    @property
    def data(self) -> "Tensor":
        """A tensor sharing this one's array, outside the graph (PyTorch's ``.data``).

        Writing into it (``t.data.mul_(2)``, ``t.data[0] = 1``) changes ``t``'s values
        without bumping ``t``'s version, exactly as in PyTorch: autograd does not see it.
        For the NumPy array itself use ``t.numpy()`` (or ``t.array``).
        """
        return _leaf(self.array)

    @data.setter
    def data(self, value) -> None:
        arr = value.array if isinstance(value, Tensor) else _to_array(value, None)
        if self.requires_grad and arr.dtype.kind not in "fc":
            raise TypeError(f"tensor.data = ...: a tensor that requires grad needs floating "
                            f"data, got dtype {arr.dtype}")
        self.array = arr

    @property
    def shape(self) -> tuple:
        return self.array.shape

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def device(self) -> str:
        """Where the data lives: ``"cpu"``, ``"cuda"`` (or a device registered by tests)."""
        return device_of(self.array)

    @property
    def is_cuda(self) -> bool:
        return self.device == "cuda"

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def size_(self) -> int:
        return self.array.size

    def size(self, dim=None):
        return self.array.shape if dim is None else self.array.shape[dim]

    def dim(self) -> int:
        return self.array.ndim

    def numel(self) -> int:
        return self.array.size

    @property
    def is_leaf(self) -> bool:
        return self._backward is None or not self.requires_grad

    @property
    def T(self):
        return self.transpose(-1, -2) if self.ndim >= 2 else self

    def __len__(self):
        return len(self.array)

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array.

        On the CPU this is the underlying array (shared memory, like ``Tensor.numpy()`` in
        PyTorch). On another device it is a copy to host memory (PyTorch raises there and asks
        for ``.cpu().numpy()``; both spellings work here). Unlike PyTorch it does not refuse a
        tensor that requires grad: the array carries no graph either way.
        """
        return to_host(self.array)

    def item(self):
        if self.array.size != 1:
            raise ValueError(f"item(): only one-element tensors can be converted to Python "
                             f"scalars, got shape {self.shape}")
        return self.array.item()

    def cpu(self) -> "Tensor":
        """This tensor on the CPU (itself when already there; differentiable)."""
        return self.to("cpu")

    def cuda(self, device=None) -> "Tensor":
        """This tensor on the GPU (``device`` may be ``"cuda"`` or ``"cuda:0"``)."""
        return self.to("cuda" if device is None else
                       (f"cuda:{device}" if isinstance(device, int) else device))

    def tolist(self):
        return self.array.tolist()

    def detach(self) -> "Tensor":
        """A new tensor sharing the data (and its dtype), cut off from the graph."""
        return _leaf(self.array)

    def clone(self) -> "Tensor":
        return _differentiable["clone"](self)

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        if flag and self.array.dtype.kind != "f":
            raise TypeError(f"requires_grad_(): only floating tensors can require gradients, "
                            f"got dtype {self.dtype}")
        self.requires_grad = bool(flag)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after ``backward()`` (no-op on a leaf)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad(): can't retain_grad on a tensor that has "
                               "requires_grad=False")
        self._retain = True

    @property
    def retains_grad(self) -> bool:
        return bool(self._retain) and not self.is_leaf

    @property
    def grad_fn(self):
        """The node that made this tensor (``name()``, ``next_functions``); None for a leaf."""
        if self._backward is None or not self.requires_grad:
            return None
        return Node(self)

    @property
    def _version_counter(self) -> int:
        return self._version

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed, like PyTorch.

        The hook may return a Tensor that replaces the gradient (for the rest of backward and
        for ``.grad``); it must not change its argument. Works on leaves and non-leaves.
        Returns a handle whose ``remove()`` unregisters the hook.
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook(): cannot register a hook on a tensor that "
                               "doesn't require gradient")
        if not callable(hook):
            raise TypeError(f"register_hook(hook): expected a callable, got "
                            f"{type(hook).__name__}")
        if self._hooks is None:
            self._hooks = {}
        handle = RemovableHandle(self._hooks)
        self._hooks[handle.id] = hook
        return handle

    def float(self) -> "Tensor":
        return self.to(np.float32)

    def double(self) -> "Tensor":
        return self.to(np.float64)

    def long(self) -> "Tensor":
        return Tensor(self.array.astype(np.int64))

    def half(self) -> "Tensor":
        return self.to(np.float16)

    def type(self, dtype=None):
        """Without an argument, PyTorch's type string (``'torch.FloatTensor'``); with a dtype
        (``np.int32``, ``"float64"``, ``"torch.LongTensor"``), the tensor cast to it."""
        if dtype is None:
            return "torch." + _TYPE_NAMES.get(np.dtype(self.dtype), str(self.dtype)) + "Tensor"
        if isinstance(dtype, str) and dtype.startswith("torch."):
            names = {v + "Tensor": k for k, v in _TYPE_NAMES.items()}
            if dtype[6:] not in names:
                raise TypeError(f"type(dtype): unknown type {dtype!r}; expected one of "
                                f"{sorted('torch.' + n for n in names)}")
            dtype = names[dtype[6:]]
        return self.to(np.dtype(dtype))

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
            out = _differentiable["cast"](out, dtype)
        if device is not None:
            out = _differentiable["move"](out, device)
        return out

    def __repr__(self):
        body = np.array2string(to_host(self.array), separator=", ", precision=4,
                               prefix="tensor(")
        extra = "" if self.device == "cpu" else f", device='{self.device}'"
        if self.array.dtype != np.float32 and self.array.dtype != np.int64:
            extra += f", dtype={self.array.dtype}"
        if self._op is not None:
            extra += f", grad_fn=<{self._op}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __bool__(self):
        return bool(self.array)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __array__(self, dtype=None, copy=None):
        host = to_host(self.array)                 # a device tensor is copied to the host
        return host if dtype is None else host.astype(dtype)

    __hash__ = object.__hash__

    # dtype shortcuts; defined last so these names do not shadow the builtins in this class
    def int(self) -> "Tensor":                       # noqa: A003
        return self.to(np.int32)

    def short(self) -> "Tensor":
        return self.to(np.int16)

    def byte(self) -> "Tensor":
        return self.to(np.uint8)

    def char(self) -> "Tensor":
        return self.to(np.int8)

    def bool(self) -> "Tensor":                      # noqa: A003
        return self.to(np.bool_)

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
            if self.array.size != 1:
                raise RuntimeError(f"backward(): grad can be implicitly created only for "
                                   f"scalar outputs, got shape {self.shape}; pass gradient=")
            seed = xp_of(self.array).ones_like(self.array)
        else:
            seed = to_device(_to_array(gradient), self.device)
            seed = xp_of(seed).array(seed, dtype=self.array.dtype, copy=True)
            if seed.shape != self.shape:
                raise ValueError(f"backward(gradient): expected shape {self.shape}, "
                                 f"got {seed.shape}")
        _run_backward([self], [seed], retain_graph)

    # operators are bound at the bottom of this file (ops import Tensor)


# -- versions: which ops read their inputs' / output's data in backward ----------------------
# Ops whose backward reads only shapes, indices or masks made in forward: an in-place change of
# an input or of the output after they ran is harmless (the gradient flows to the old node).
_NO_SAVE = frozenset({
    "AddBackward", "SubBackward", "NegBackward", "SumBackward", "MeanBackward",
    "ReshapeBackward", "TransposeBackward", "PermuteBackward", "ExpandBackward",
    "RepeatBackward", "PadBackward", "CatBackward", "CloneBackward", "ToCopyBackward",
    "IndexBackward", "ReluBackward", "LeakyReluBackward", "ThresholdBackward", "SignBackward",
    "AvgPool2DBackward", "AdaptiveAvgPool2DBackward", "UpsampleNearestBackward",
    "FillBackward", "CopyBackwards", "IndexPutBackward", "DropoutBackward",
})
# Ops whose backward reads only their own output (exp: g·y): inputs may change afterwards.
_SAVES_OUTPUT = frozenset({"ExpBackward", "SigmoidBackward", "TanhBackward", "SqrtBackward",
                           "SoftmaxBackward", "LogSoftmaxBackward"})


def _modified(t: Tensor, expected: int, node: Tensor) -> RuntimeError:
    name = Node(node).name()
    return RuntimeError(
        f"one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: [{t.dtype} {list(t.shape)}], saved by {name}, is at version "
        f"{t._version}; expected version {expected} instead. Hint: compute out of place "
        f"(x = x + y instead of x += y) or .clone() the tensor before changing it.")


def _at_version(p: Tensor, v: int) -> Tensor:
    """The tensor object that held p's node at version v (p itself or one of its shadows)."""
    while v < p._vstart:
        p = p._prev
    return p


# Until the first in-place change in this process every version is 0: make() then records
# None for "all parents at version 0" and backward skips the checks (no cost for programs that
# never change a tensor in place, such as training with the optimizers, which write .data).
_inplace_seen = False


def bump_version(t: Tensor) -> None:
    """Record an in-place change of t's data (version + 1)."""
    global _inplace_seen
    _inplace_seen = True
    t._version += 1


def _edges(node: Tensor) -> tuple:
    """node's parents, checked against the versions its backward saw (cheap when unchanged)."""
    parents = node._parents
    vers = node._vers
    if vers is None:
        vers = (0,) * len(parents)
    moved = node._version != node._vstart       # own data changed in place
    for p, v in zip(parents, vers):
        if p is not None and p._version != v:
            moved = True
    if not moved:
        return parents
    op = node._op
    if op not in _NO_SAVE:
        if node._version != node._vstart:
            raise _modified(node, node._vstart, node)
        if op not in _SAVES_OUTPUT:
            for p, v in zip(parents, vers):
                if p is not None and p._version != v:
                    raise _modified(p, v, node)
    node._parents = tuple(p if p is None else _at_version(p, v) for p, v in zip(parents, vers))
    return node._parents


def _apply_inplace(t: Tensor, fn, what: str) -> Tensor:
    """Give t the value ``fn(src)`` in place, where src stands for t before the change.

    Outside the graph (no_grad, or nothing requires grad) the array is overwritten. When the
    result is recorded, t takes the new value and node and a shadow keeps the old ones, so the
    edges recorded before the change still reach the old node. Either way t's version + 1.
    """
    grad_on = is_grad_enabled()
    if grad_on and t.requires_grad and t._backward is None:
        raise RuntimeError(f"{what}: a leaf Variable that requires grad is being used in an "
                           f"in-place operation.")
    src = t
    if grad_on:
        src = Tensor.__new__(Tensor)
        for name in ("array", "requires_grad", "_parents", "_backward", "_op", "_version",
                     "_vers"):
            setattr(src, name, getattr(t, name))
        src.grad, src._retain, src._hooks = None, False, None
        src._vstart = t._vstart
        if src._vstart:
            src._prev = t._prev
    res = fn(src)
    if res.shape != t.shape:
        raise RuntimeError(f"{what}: output with shape {list(t.shape)} doesn't match the "
                           f"broadcast shape {list(res.shape)}")
    if res.dtype != t.dtype:
        if t.dtype.kind in "biu" and res.dtype.kind not in "biu" or (
                t.dtype.kind == "b" and res.dtype.kind != "b"):
            raise RuntimeError(f"{what}: result type {res.dtype} can't be cast to the desired "
                               f"output type {t.dtype}")
        res = res.to(t.dtype)
    if grad_on and t.requires_grad and not res.requires_grad:   # a constant replaces a node
        res = make(res.array, (src,), lambda g: (None,), "FillBackward")
    if not res.requires_grad:
        try:
            t.array[...] = res.array
        except ValueError as e:                  # a read-only array (e.g. from expand())
            raise RuntimeError(f"{what}: this tensor cannot be written in place ({e}); "
                               f".clone() it first") from None
        bump_version(t)
        return t
    t.array = res.array
    t.requires_grad = True
    t._parents, t._backward, t._op, t._vers = res._parents, res._backward, res._op, res._vers
    bump_version(t)
    t._prev, t._vstart = src, t._version
    return t


# -- grad_fn and hooks --------------------------------------------------------------------------
class Node:
    """``tensor.grad_fn``: the op that made a tensor, as PyTorch shows it.

    ``name()`` is PyTorch's node name (``"MulBackward0"``); ``next_functions`` is one
    ``(node, 0)`` pair per input: the input's own ``grad_fn``, an :class:`AccumulateGrad` for
    a leaf that requires grad, or ``None``. After ``backward()`` has freed the graph the name
    stays and ``next_functions`` is empty.
    """

    __slots__ = ("_t",)

    def __init__(self, t: Tensor):
        self._t = t

    def name(self) -> str:
        op = self._t._op or "Backward"
        return op + "0" if op.endswith(("Backward", "Backwards")) else op

    @property
    def next_functions(self) -> tuple:
        out = []
        for p in self._t._parents:
            if p is None or not p.requires_grad:
                out.append((None, 0))
            elif p._backward is None:
                out.append((AccumulateGrad(p), 0))
            else:
                out.append((Node(p), 0))
        return tuple(out)

    def register_hook(self, hook):
        raise NotImplementedError("grad_fn.register_hook(): node hooks are not supported; "
                                  "use Tensor.register_hook on the tensor instead")

    def __eq__(self, other):
        return type(other) is type(self) and other._t is self._t

    def __hash__(self):
        return id(self._t)

    def __repr__(self):
        return f"<{self.name()} object at {id(self._t):#x}>"


class AccumulateGrad(Node):
    """The node that adds a gradient into a leaf's ``.grad``; ``variable`` is the leaf."""

    __slots__ = ()

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    @property
    def variable(self) -> Tensor:
        return self._t

    @property
    def next_functions(self) -> tuple:
        return ()

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self._t):#x}>"


class RemovableHandle:
    """Returned by ``register_hook`` (and Module hooks): ``remove()`` unregisters."""

    _next_id = 0

    def __init__(self, hooks: dict):
        self.hooks, self.id = hooks, RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _run_hooks(t: Tensor, g):
    for hook in list(t._hooks.values()):
        new = hook(Tensor(g.copy()))
        if new is not None:
            new = new.array if isinstance(new, Tensor) else new
            if new.shape != g.shape:
                raise RuntimeError(f"hook: expected a gradient of shape {t.shape}, got "
                                   f"{new.shape}")
            g = new.astype(g.dtype, copy=False)
    return g


# -- backward ----------------------------------------------------------------------------------
def _topo_order(roots) -> list:
    """Nodes reachable from roots, each after all of its consumers (iterative DFS; a node's
    parents are visited last to first, each once)."""
    order, visited = [], set()
    append, seen = order.append, visited.add
    checked = _inplace_seen
    for root in roots:
        if id(root) in visited:
            continue
        seen(id(root))
        if root._backward is None:
            append(root)
            continue
        stack = [(root, reversed(_edges(root) if checked else root._parents))]
        while stack:
            node, todo = stack[-1]
            for p in todo:
                if p is not None and p.requires_grad and id(p) not in visited:
                    seen(id(p))
                    if p._backward is None:     # a leaf: nothing above it
                        append(p)
                        continue
                    stack.append((p, reversed(_edges(p) if checked else p._parents)))
                    break
            else:
                stack.pop()
                append(node)
    order.reverse()                     # roots first
    return order


def _freed(g):
    raise RuntimeError("backward(): trying to backward through the graph a second time; "
                       "its buffers were freed (use backward(retain_graph=True))")


def _run_backward(roots, seeds, retain_graph: bool, capture=None):
    """Propagate seeds (one per root) through the graph.

    Without ``capture`` the leaves' ``.grad`` accumulate (``backward()``). With a set of tensor
    ids, nothing is written to ``.grad``; the gradients reaching those tensors are returned
    as ``{id: array}`` (``autograd.grad``).
    """
    if not isinstance(roots, (list, tuple)):
        roots, seeds = [roots], [seeds]
    order = _topo_order(roots)
    grads = {}
    for r, s in zip(roots, seeds):
        prev = grads.get(id(r))
        grads[id(r)] = s if prev is None else prev + s
    captured = {}
    leaves = []
    pop, get = grads.pop, grads.get
    for node in order:
        fn = node._backward
        if fn is None:
            leaves.append(node)
            continue
        g = pop(id(node), None)
        if g is not None:
            if node._hooks:
                g = _run_hooks(node, g)
            if capture is not None:
                if id(node) in capture:
                    captured[id(node)] = g
            elif node._retain:
                _accumulate(node, g.copy())
            for p, pg in zip(node._parents, fn(g)):
                if pg is None or p is None or not p.requires_grad:
                    continue
                if pg.shape != p.array.shape:
                    raise RuntimeError(f"internal error: {node._op} gave a gradient of shape "
                                       f"{pg.shape} for an input of shape {p.array.shape}")
                key = id(p)
                prev = get(key)
                grads[key] = pg if prev is None else prev + pg
        if not retain_graph:
            node._backward = _freed
            node._parents = ()
    handed_out = set()
    for leaf in leaves:
        g = get(id(leaf))
        if g is None:
            continue
        if leaf._hooks:
            g = _run_hooks(leaf, g)
        if capture is not None:
            if id(leaf) in capture:
                captured[id(leaf)] = g
            continue
        flags = g.flags
        if id(g) in handed_out or not flags.owndata or (
                type(g) is np.ndarray and not flags.writeable):   # CuPy has no 'writeable'
            g = g.copy()
        handed_out.add(id(g))
        _accumulate(leaf, g)
    return captured


def _accumulate(node: Tensor, g: np.ndarray) -> None:
    if g.dtype != node.array.dtype:
        g = g.astype(node.array.dtype)
    if node.grad is None:
        node.grad = _leaf(g)
    else:
        node.grad.array = node.grad.array + g


def _leaf(data) -> Tensor:
    """A Tensor around an array that is already right (no conversion, no grad): the cheap
    ``Tensor(arr)`` for the engine's own results."""
    out = _new_tensor(Tensor)
    out.array, out.grad, out.requires_grad = data, None, False
    out._parents, out._backward, out._op, out._retain = (), None, None, False
    out._version = out._vstart = 0
    out._vers, out._hooks = (), None
    return out


_new_tensor = object.__new__
_op_names: dict = {}                    # backward's code object -> its node name (cached)


def _op_name(backward) -> str:
    code = getattr(backward, "__code__", None)
    name = _op_names.get(code)
    if name is None:
        name = getattr(backward, "__qualname__", "op").split(".")[0]
        if code is not None:
            _op_names[code] = name
    return name


def records(*parents) -> bool:
    """Whether :func:`make` records a graph node for an op of these inputs (None: absent):
    grad mode on and one of them requiring grad. For ops that keep what their backward
    needs only when it will run."""
    if _state.grad_enabled:
        for p in parents:
            if p is not None and p.requires_grad:
                return True
    return False


def make(data: np.ndarray, parents: tuple, backward, op: str | None = None) -> Tensor:
    """Wrap an op's output; record the graph edge if grad mode is on and a parent needs it.

    Under ``no_grad`` (or when no parent requires grad) the output is a plain leaf: nothing
    of the op (closure, parents) is kept.
    """
    out = _new_tensor(Tensor)
    out.array = data
    out.grad = None
    out._retain = False
    out._version = out._vstart = 0
    out._hooks = None
    if _state.grad_enabled:
        for p in parents:
            if p is not None and p.requires_grad:
                out.requires_grad = True
                out._parents = parents
                out._vers = tuple([0 if p is None else p._version for p in parents]) \
                    if _inplace_seen else None
                out._backward = backward
                out._op = op or _op_name(backward)
                return out
    out.requires_grad = False
    out._parents = ()
    out._vers = ()
    out._backward = None
    out._op = None
    return out


_TYPE_NAMES = {np.dtype(k): v for k, v in (
    (np.float32, "Float"), (np.float64, "Double"), (np.float16, "Half"), (np.int64, "Long"),
    (np.int32, "Int"), (np.int16, "Short"), (np.int8, "Char"), (np.uint8, "Byte"),
    (np.bool_, "Bool"))}


def tensor(data, requires_grad: bool = False, dtype=None, device=None) -> Tensor:
    """Create a tensor from a number, a nested list or an array.

    Python floats become float32 and Python ints become int64, as in PyTorch; a NumPy array
    keeps its dtype unless ``dtype`` is given. The data is copied. ``device`` (``"cpu"``,
    ``"cuda"``) says where it lives; by default where ``data`` is (host data: the CPU).

    Example:
        >>> x = gn.tensor([[1.0, 2.0]], device="cpu")
    """
    if isinstance(data, Tensor):
        data = data.array
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


