"""Containers: Sequential (a pipeline of layers), ModuleList, ModuleDict, ParameterList and
ParameterDict: they register what they hold, so ``parameters()`` and ``state_dict()`` (with
PyTorch's keys: ``0.weight``, ``name.weight``, ``0``, ``name``) find it."""
from ..tensor import Tensor
from . import inference
from .activation import ReLU
from .conv import Conv2d
from .linear import Flatten, Linear
from .module import Module, Parameter
from .pooling import MaxPool2d

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]


class _IndexedModules(Module):
    """List editing shared by Sequential and ModuleList, as in PyTorch: set, delete, insert
    and pop by index; keys stay "0" … "n−1" (they are renumbered after a delete or insert)."""

    def _check_module(self, module, what: str) -> Module:
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.{what}: expected a Module, got "
                            f"{type(module).__name__}")
        return module

    def _index(self, i) -> int:
        n = len(self._modules)
        if isinstance(i, bool) or not isinstance(i, int) or not -n <= i < n:
            raise IndexError(f"{type(self).__name__}: index {i!r} out of range for length {n}")
        return i % n

    def _renumber(self, modules: list) -> None:
        for key in list(self._modules):
            delattr(self, key)
        for i, m in enumerate(modules):
            setattr(self, str(i), m)

    def __setitem__(self, i: int, module: Module) -> None:
        _replace(self, self._modules, str(self._index(i)),
                 self._check_module(module, "__setitem__"))

    def __delitem__(self, i) -> None:
        mods = list(self._modules.values())
        if isinstance(i, slice):
            del mods[i]
        else:
            del mods[self._index(i)]
        self._renumber(mods)

    def insert(self, index: int, module: Module):
        mods = list(self._modules.values())
        mods.insert(index, self._check_module(module, "insert"))
        self._renumber(mods)
        return self

    def pop(self, i: int = -1) -> Module:
        module = self._modules[str(self._index(i))]
        del self[i]
        return module

    def __add__(self, other):
        return type(self)(*(list(self) + list(other))) if isinstance(self, Sequential) else \
            type(self)(list(self) + list(other))

    def __iadd__(self, other):
        for m in other:
            setattr(self, str(len(self._modules)), self._check_module(m, "__iadd__"))
        return self


class Sequential(_IndexedModules):
    """Runs its layers in order; ``Sequential(a, b)(x) == b(a(x))``.

    Children are named "0", "1", … so ``state_dict`` keys match PyTorch (``0.weight``).

    One reordering, exact: a ``ReLU`` directly followed by a ``MaxPool2d`` runs as the pool
    and then the ReLU. Max commutes with ReLU, so the output is the same, and so are the
    gradients (where a window's maximum is positive both orders send the gradient to its
    first maximum; where it is not, both send zero). The ReLU then touches a quarter of the
    values (the cnn benchmark's step: 18.8 → ~16.5 ms). It is skipped when either layer has
    hooks or a replaced ``forward`` (``gn.inspect`` tools see the literal order) or the pool
    returns indices; ``gn.nn.Sequential.fuse_relu_pool = False`` turns it off.

    A ``Linear`` directly followed by a ``ReLU`` runs as one op (``ops.linear_relu``): the
    bias add and the ReLU are one pass after the product, and ReLU's backward and the bias
    gradient one pass before the backward's products; values and gradients are the same
    bits (the mlp benchmark's step: ~3% faster). Skipped under the same conditions as the
    reordering; ``gn.nn.Sequential.fuse_linear_relu = False`` turns it off.

    A run of two or more float32 ``Linear`` layers, each with the ``ReLU`` that directly
    follows it if any (an MLP, a classifier head), is one graph node (``ops.linear_chain``):
    the forward and the backward are one compiled call each, MKL's products called from C
    between the same bias, ReLU and column-sum passes, without ~10 Python calls a layer each
    way (the mlp benchmark's step: 1.62 → 1.52 ms). It needs the compiled kernels and MKL,
    2-D contiguous input, and no hooks or replaced ``forward`` on the layers;
    ``gn.nn.Sequential.fuse_linear_chain = False`` turns it off.

    A ``Conv2d → ReLU → MaxPool2d`` whose pool windows tile the conv's output and whose conv
    runs in blocks of images (8 or more input channels, or while training a first layer's
    thin patches of at most 16 values with 16·k output channels; two or more images, the
    compiled kernels and MKL) is one op too (``ops.conv2d_relu_pool``): each block's conv output is
    pooled while it is in cache, and only the pooled values reach memory. Under the same
    conditions and flag as the reordering.

    In eval mode without gradients, one input (batch 1) of a chain of Conv2d, Linear, max
    and average pools, BatchNorm (running statistics), ReLU, LeakyReLU, Sigmoid, Tanh,
    Flatten and Dropout layers runs as one compiled call
    (``nn/inference.py``: the cnn benchmark's batch-1 forward ~0.27 → ~0.1 ms); values agree
    with the layers run one by one within float32 rounding. ``gn.nn.inference.explain(model,
    shape)`` shows the chain; ``gn.nn.Sequential.plan_inference = False`` turns it off.

    Example:
        >>> model = gn.nn.Sequential(gn.nn.Linear(784, 128), gn.nn.ReLU(), gn.nn.Linear(128, 10))
    """
    fuse_relu_pool = True
    fuse_linear_relu = True
    fuse_linear_chain = True
    plan_inference = True

    def __init__(self, *layers: Module):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: argument {i} is {type(layer).__name__}, "
                                f"not a Module")
            setattr(self, str(i), layer)

    def forward(self, x):
        if not self.training and self.plan_inference:
            y = inference.run(self, x)
            if y is not None:
                return y
        relu = None                        # a plain ReLU waiting to see if a pool follows
        fuse, fuse_linear = self.fuse_relu_pool, self.fuse_linear_relu
        skip = 0
        layers = tuple(self._modules.values())
        for i, layer in enumerate(layers):
            if skip:                       # layers that ran inside a fused op before them
                skip -= 1
                continue
            if relu is not None:
                if type(layer) is MaxPool2d and _plain(layer) and not layer.return_indices:
                    y = layer.forward_relu(x) if isinstance(x, Tensor) else None
                    x, relu = relu(layer(x)) if y is None else y, None
                    continue
                x, relu = relu(x), None
            if fuse and type(layer) is Conv2d and i + 2 < len(layers) and \
                    type(layers[i + 1]) is ReLU and type(layers[i + 2]) is MaxPool2d and \
                    isinstance(x, Tensor) and all(_plain(m) for m in layers[i:i + 3]):
                flat = i + 3 < len(layers) and type(layers[i + 3]) is Flatten
                y = layer.forward_relu_pool(x, layers[i + 2], nchw=flat)
                if y is not None:
                    x, skip = y, 2
                    continue
            if self.fuse_linear_chain and type(layer) is Linear and _plain(layer) and \
                    isinstance(x, Tensor):
                chain, end = _linear_run(layers, i)
                y = layer.forward_chain(x, chain) if len(chain) > 1 else None
                if y is not None:
                    x, skip = y, end - i - 1
                    continue
            if fuse_linear and type(layer) is Linear and i + 1 < len(layers) and \
                    type(layers[i + 1]) is ReLU and isinstance(x, Tensor) and _plain(layer) \
                    and _plain(layers[i + 1]):
                y = layer.forward_relu(x)
                if y is not None:
                    x, skip = y, 1
                    continue
            if fuse and type(layer) is ReLU and _plain(layer):
                relu = layer
            else:
                x = layer(x)
        return x if relu is None else relu(x)

    def __getitem__(self, i):
        layers = list(self._modules.values())
        return Sequential(*layers[i]) if isinstance(i, slice) else layers[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, layer: Module) -> "Sequential":
        setattr(self, str(len(self)), self._check_module(layer, "append"))
        return self

    def extend(self, layers) -> "Sequential":
        for layer in layers:
            self.append(layer)
        return self


def _linear_run(layers: tuple, i: int) -> tuple:
    """([(weight, bias, relu)], end) for the plain Linear layers from ``i`` on, each with the
    plain ReLU that follows it if there is one; ``end``: the index after them."""
    chain = []
    while i < len(layers) and type(layers[i]) is Linear and _plain(layers[i]):
        relu = i + 1 < len(layers) and type(layers[i + 1]) is ReLU and _plain(layers[i + 1])
        chain.append((layers[i].weight, layers[i].bias, relu))
        i += 2 if relu else 1
    return chain, i


def _plain(module: Module) -> bool:
    """No hooks and no replaced ``forward`` (what inspection tools install)."""
    d = module.__dict__
    return "_has_hooks" not in d and "forward" not in d


class ModuleList(_IndexedModules):
    """A list of modules whose parameters are registered (keys ``0.weight``, …); set, delete,
    insert, pop, ``+`` and ``+=`` work like on a list (keys renumbered as in PyTorch).

    Example:
        >>> blocks = gn.nn.ModuleList([gn.nn.Linear(4, 4) for _ in range(3)])
        >>> blocks.insert(0, gn.nn.ReLU()); len(blocks)
        4
    """

    def __init__(self, modules=()):
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> "ModuleList":
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList.append: expected a Module, got "
                            f"{type(module).__name__}")
        setattr(self, str(len(self)), module)
        return self

    def extend(self, modules) -> "ModuleList":
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, i):
        mods = list(self._modules.values())
        return ModuleList(mods[i]) if isinstance(i, slice) else mods[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


def _replace(owner: Module, store: dict, key: str, value) -> None:
    """Put value under an existing key in place (a plain setattr would move the key to the
    end, changing the iteration and state_dict order that PyTorch keeps)."""
    store[key] = value
    object.__setattr__(owner, key, value)


def _key(who: str, key) -> str:
    if not isinstance(key, str) or not key or "." in key:
        raise KeyError(f"{who}: keys must be non-empty strings without '.', got {key!r}")
    return key


def _pairs(who: str, items) -> list:
    """A dict (or a ModuleDict/ParameterDict) or an iterable of (key, value) pairs → pairs."""
    if items is None:
        return []
    if hasattr(items, "items"):
        return list(items.items())
    pairs = []
    for i, kv in enumerate(items):
        if not isinstance(kv, (tuple, list)) or len(kv) != 2:
            raise TypeError(f"{who}.update: element {i} should be a (key, value) pair, got "
                            f"{kv!r}")
        pairs.append(tuple(kv))
    return pairs


class _NamedDict(Module):
    """The dict methods shared by ModuleDict and ParameterDict, over the store that registers
    their values (``_modules`` or ``_parameters``): keys keep their insertion order, and a
    value put under an existing key keeps its place (as in PyTorch)."""
    _store_name, _what = "_modules", "module"

    def _value(self, key: str, value):
        """``value`` checked (and converted) for ``self[key] = value``."""
        raise NotImplementedError

    def _store(self) -> dict:
        return getattr(self, self._store_name)

    def __getitem__(self, key: str):
        store = self._store()
        if key not in store:
            raise KeyError(f"{type(self).__name__}: no {self._what} named {key!r} (keys: "
                           f"{list(store)})")
        return store[key]

    def __setitem__(self, key: str, value) -> None:
        value = self._value(key, value)
        if key in self._store():
            _replace(self, self._store(), key, value)
        else:
            setattr(self, _key(type(self).__name__, key), value)

    def __delitem__(self, key: str) -> None:
        self[key]
        delattr(self, key)

    def __len__(self):
        return len(self._store())

    def __iter__(self):
        return iter(list(self._store()))

    def __contains__(self, key) -> bool:
        return key in self._store()

    def keys(self):
        return self._store().keys()

    def items(self):
        return self._store().items()

    def values(self):
        return self._store().values()

    def pop(self, key: str):
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        for key in list(self._store()):
            del self[key]

    def update(self, items) -> None:
        for key, value in _pairs(type(self).__name__, items):
            self[key] = value


class ModuleDict(_NamedDict):
    """Modules held by name, like a dict; registered, so their parameters are the model's.

    Keys keep their insertion order; ``state_dict`` keys are ``<name>.<param>`` as in PyTorch.
    It has no ``forward``: index it in your own.

    Example:
        >>> heads = gn.nn.ModuleDict({"cls": gn.nn.Linear(8, 3), "reg": gn.nn.Linear(8, 1)})
        >>> heads["cls"](gn.randn(2, 8)).shape
        (2, 3)
    """
    _store_name, _what = "_modules", "module"

    def __init__(self, modules=None):
        super().__init__()
        self.update(modules)

    def _value(self, key: str, module) -> Module:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict[{key!r}]: expected a Module, got "
                            f"{type(module).__name__}")
        return module


def _as_parameter(who: str, value) -> Parameter:
    """A Parameter stays itself; a Tensor or array becomes a Parameter (as PyTorch does)."""
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value.array)
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return Parameter(value)
    raise TypeError(f"{who}: expected a Parameter or a Tensor, got {type(value).__name__}")


class ParameterList(Module):
    """A list of parameters (keys ``0``, ``1``, … in ``state_dict``); tensors and arrays put
    into it become Parameters.

    Example:
        >>> ws = gn.nn.ParameterList([gn.nn.Parameter(gn.randn(3, 3)) for _ in range(2)])
        >>> len(list(ws.parameters()))
        2
    """

    def __init__(self, values=None):
        super().__init__()
        self.extend(values or ())

    def _index(self, i: int) -> str:
        n = len(self)
        if not isinstance(i, int) or not -n <= i < n:
            raise IndexError(f"ParameterList: index {i!r} out of range for length {n}")
        return str(i % n)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return ParameterList(list(self)[i])
        return self._parameters[self._index(i)]

    def __setitem__(self, i: int, value) -> None:
        _replace(self, self._parameters, self._index(i), _as_parameter("ParameterList", value))

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def append(self, value) -> "ParameterList":
        setattr(self, str(len(self)), _as_parameter("ParameterList.append", value))
        return self

    def extend(self, values) -> "ParameterList":
        for v in values:
            self.append(v)
        return self

    def extra_repr(self) -> str:
        return "\n".join(f"({i}): Parameter of shape {tuple(p.shape)}"
                         for i, p in enumerate(self))


class ParameterDict(_NamedDict):
    """Parameters held by name, like a dict (keys are the ``state_dict`` keys).

    Example:
        >>> pd = gn.nn.ParameterDict({"scale": gn.nn.Parameter(gn.ones(4))})
        >>> pd["scale"].shape
        (4,)
    """
    _store_name, _what = "_parameters", "parameter"

    def __init__(self, parameters=None):
        super().__init__()
        self.update(parameters)

    def _value(self, key: str, value) -> Parameter:
        return _as_parameter(f"ParameterDict[{key!r}]", value)

    def extra_repr(self) -> str:
        return "\n".join(f"({k}): Parameter of shape {tuple(p.shape)}" for k, p in self.items())
