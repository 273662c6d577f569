"""Containers: Sequential (a pipeline of layers) and ModuleList."""
from .module import Module

__all__ = ["Sequential", "ModuleList"]


class Sequential(Module):
    """Runs its layers in order; ``Sequential(a, b)(x) == b(a(x))``.

    Children are named "0", "1", … so ``state_dict`` keys match PyTorch (``0.weight``).

    Example:
        >>> model = gn.nn.Sequential(gn.nn.Linear(784, 128), gn.nn.ReLU(), gn.nn.Linear(128, 10))
    """

    def __init__(self, *layers: Module):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: argument {i} is {type(layer).__name__}, "
                                f"not a Module")
            setattr(self, str(i), layer)

    def forward(self, x):
        for layer in self._modules.values():
            x = layer(x)
        return x

    def __getitem__(self, i):
        layers = list(self._modules.values())
        return Sequential(*layers[i]) if isinstance(i, slice) else layers[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, layer: Module) -> "Sequential":
        setattr(self, str(len(self)), layer)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered (keys ``0.weight``, …)."""

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
