"""Module and Parameter: the stateful shells that hold weights and compose networks."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..backend import is_device, normalize_device, to_device, xp_of
from ..errors import ShapeError, StateDictKeyError
from ..tensor import Tensor
from ._hooks import add_hook, call_with_hooks

__all__ = ["Module", "Parameter"]


class Parameter(Tensor):
    """A tensor that a Module registers as a learnable weight (``requires_grad=True``)."""

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        arr = data.array if isinstance(data, Tensor) else xp_of(data).asarray(data)
        if arr.dtype.kind != "f":
            arr = arr.astype(np.float32)
        super().__init__(arr, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


_builtin_classes: dict = {}
_edits = 0      # attributes assigned or deleted through any Module (see edits())


def edits() -> int:
    """How many attributes have been assigned or deleted through ``Module.__setattr__`` /
    ``__delattr__`` in this process: what is planned from layers' settings (a Sequential's
    inference chain, nn/inference.py) is planned again when it moves."""
    return _edits



def _BUILTIN(cls) -> bool:
    """glassnet's own layers (user subclasses may take any input); cached per class."""
    known = _builtin_classes.get(cls)
    if known is None:
        known = _builtin_classes[cls] = cls.__module__.startswith("glassnet.nn.")
    return known


def _layer_input(layer, x):
    """A built-in layer's first input: a Tensor; a numeric NumPy array is wrapped (no copy),
    anything else is a TypeError naming the layer."""
    if isinstance(x, np.ndarray) and x.dtype.kind in "biuf":
        return Tensor(x)
    if isinstance(x, (np.ndarray, Tensor)):
        what = f"{x.dtype} {'array' if isinstance(x, np.ndarray) else 'Tensor'}"
    else:
        what = type(x).__name__
    raise TypeError(f"{type(layer).__name__}: expected a glassnet Tensor as input, got a "
                    f"{what} (wrap numbers with gn.tensor(...))")


class Module:
    """Base class of every layer and model.

    Assigning a :class:`Parameter` or a ``Module`` to an attribute registers it, so
    ``parameters()``, ``state_dict()`` and ``zero_grad()`` find it. Subclasses implement
    ``forward``; call the module itself (``model(x)``) to run it. Buffers that are not
    learned but belong to the state (e.g. running statistics) use ``register_buffer``.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "training", True)

    # -- registration
    def __setattr__(self, name, value):
        global _edits
        _edits += 1
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before "
                               f"assigning attributes")
        for store in (self._parameters, self._modules, self._buffers):
            store.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif value is None and name in self.__dict__.get("_null_params", ()):
            self._parameters[name] = None
        object.__setattr__(self, name, value)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is None:
            self.__dict__.setdefault("_null_params", set()).add(name)
        setattr(self, name, param)
        if param is None:
            self._parameters[name] = None

    def register_buffer(self, name: str, value, persistent: bool = True) -> None:
        """Register non-learned state (a Tensor) saved in ``state_dict`` when persistent."""
        value = value if value is None or isinstance(value, Tensor) else Tensor(value)
        object.__setattr__(self, name, value)
        self._buffers[name] = value
        if not persistent:
            self.__dict__.setdefault("_non_persistent", set()).add(name)

    def __delattr__(self, name):
        global _edits
        _edits += 1
        for store in (self._parameters, self._modules, self._buffers):
            store.pop(name, None)
        object.__delattr__(self, name)

    # -- running
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args, **kwargs):
        if args and (not isinstance(args[0], Tensor) or args[0].array.dtype.kind not in "biuf") \
                and _BUILTIN(type(self)):
            args = (_layer_input(self, args[0]),) + args[1:]
        if "_has_hooks" in self.__dict__:
            return call_with_hooks(self, args, kwargs)
        return self.forward(*args, **kwargs)

    # -- hooks (nn/_hooks.py); each returns a handle with remove()
    def register_forward_pre_hook(self, hook, *, prepend: bool = False):
        """Call ``hook(module, args)`` before ``forward``; a non-None result replaces the
        positional arguments (a tuple, or a single value)."""
        return add_hook(self, "_forward_pre_hooks", hook, prepend)

    def register_forward_hook(self, hook, *, prepend: bool = False):
        """Call ``hook(module, args, output)`` after ``forward``; a non-None result replaces
        the output."""
        return add_hook(self, "_forward_hooks", hook, prepend)

    def register_full_backward_hook(self, hook, prepend: bool = False):
        """Call ``hook(module, grad_input, grad_output)`` during backward, like PyTorch.

        ``grad_output``: the gradients with respect to the module's outputs; ``grad_input``:
        with respect to its positional tensor inputs (None for an input that does not
        require grad). A non-None result (a tuple like ``grad_input``) replaces the gradients
        passed on to the inputs.
        """
        return add_hook(self, "_backward_hooks", hook, prepend)

    # -- traversal
    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        """This module and every submodule with its dotted name, depth first in registration
        order (PyTorch's order); a module reached twice is given once."""
        stack = [(prefix, self)]
        seen = set() if memo is None else memo
        while stack:
            name, mod = stack.pop()
            if remove_duplicate:
                if id(mod) in seen:
                    continue
                seen.add(id(mod))
            yield name, mod
            children = [(f"{name}.{cn}" if name else cn, c) for cn, c in mod._modules.items()
                        if c is not None]
            stack.extend(reversed(children))

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def children(self):
        return iter(m for m in self._modules.values() if m is not None)

    def named_children(self):
        return iter((n, m) for n, m in self._modules.items() if m is not None)

    def named_parameters(self, prefix: str = ""):
        seen = set()
        for mname, mod in self._walk(prefix):
            for pname, p in mod._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mname}.{pname}" if mname else pname), p

    def parameters(self):
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self, prefix: str = ""):
        for mname, mod in self._walk(prefix):
            for bname, b in mod._buffers.items():
                if b is not None:
                    yield (f"{mname}.{bname}" if mname else bname), b

    def _walk(self, prefix=""):
        """Depth-first, in registration order (the order PyTorch uses for state_dict keys)."""
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child._walk(f"{prefix}.{name}" if prefix else name)

    # -- state
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Parameters and persistent buffers as arrays, with PyTorch's key names.

        The arrays live on the model's device (NumPy on the CPU), as in PyTorch;
        ``glassnet.io`` copies device arrays to the host when it saves them.
        """
        out = OrderedDict()
        for mname, mod in self._walk():
            skip = mod.__dict__.get("_non_persistent", set())
            for name, p in list(mod._parameters.items()) + list(mod._buffers.items()):
                if p is not None and name not in skip:
                    out[f"{mname}.{name}" if mname else name] = p.array
        return out

    def load_state_dict(self, state: dict, strict: bool = True):
        """Copy arrays (NumPy, glassnet or anything array-like) into parameters and buffers.

        Raises ``StateDictKeyError`` (a ``KeyError`` and ``RuntimeError``) for missing or
        unexpected keys (when ``strict``) and ``ShapeError`` (a ``ValueError`` and
        ``RuntimeError``) for a shape mismatch, naming the key and both shapes; PyTorch
        raises ``RuntimeError`` for both.
        """
        own = {}
        for mname, mod in self._walk():
            skip = mod.__dict__.get("_non_persistent", set())
            for name, p in list(mod._parameters.items()) + list(mod._buffers.items()):
                if p is not None and name not in skip:
                    own[f"{mname}.{name}" if mname else name] = p
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise StateDictKeyError(f"load_state_dict: missing keys {missing}, unexpected "
                                    f"keys {unexpected}")
        for key, p in own.items():
            if key not in state:
                continue
            value = state[key]
            if isinstance(value, Tensor):
                arr = value.array
            elif hasattr(value, "detach") and not isinstance(value, np.ndarray):
                arr = value.detach().cpu().numpy()          # a torch tensor
            else:
                arr = xp_of(value).asarray(value)          # host or device array
            if arr.shape != p.array.shape:
                raise ShapeError(f"load_state_dict: '{key}' expected shape {p.array.shape}, "
                                 f"got {arr.shape}")
            # the value keeps the parameter's device (as in PyTorch)
            p.array[...] = to_device(arr.astype(p.array.dtype, copy=False), p.device)
        return missing, unexpected

    # -- modes and grads
    def train(self, mode: bool = True) -> "Module":
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.array[...] = 0

    def requires_grad_(self, flag: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad = flag
        return self

    def num_parameters(self) -> int:
        return int(sum(p.array.size for p in self.parameters()))

    def apply(self, fn) -> "Module":
        """Call ``fn`` on every submodule (children first, depth first), then on self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self, *args, dtype=None, device=None) -> "Module":
        """Move and/or cast every parameter, gradient and buffer in place, like PyTorch.

        ``model.to("cuda")``, ``model.to(np.float64)``, ``model.to("cpu", np.float32)``.
        Only floating tensors change dtype. Parameters stay the same objects, so an optimizer
        built before the move still holds them (its state follows on its next step).

        Example:
            >>> model = nn.Linear(4, 2).to("cpu")
        """
        for a in args:
            if is_device(a):
                device = a
            else:
                dtype = a
        if device is not None:
            device = normalize_device(device)
        for t in list(self.parameters()) + [b for _, b in self.named_buffers()]:
            for holder in (t, t.grad):
                if holder is None:
                    continue
                if dtype is not None and holder.array.dtype.kind == "f":
                    holder.array = holder.array.astype(dtype)
                if device is not None:
                    holder.array = to_device(holder.array, device)
        return self

    def cuda(self, device=None) -> "Module":
        """Move every parameter, gradient and buffer to the GPU (``"cuda"``)."""
        return self.to("cuda" if device is None else
                       (f"cuda:{device}" if isinstance(device, int) else device))

    def cpu(self) -> "Module":
        """Move every parameter, gradient and buffer to the CPU."""
        return self.to("cpu")

    def double(self) -> "Module":
        return self.to(np.float64)

    def float(self) -> "Module":
        return self.to(np.float32)

    # -- display
    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        lines = [f"({name}): " + _indent(repr(m)) for name, m in self._modules.items()
                 if m is not None]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")
