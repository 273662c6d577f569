"""Activation layers (element-wise non-linearities and softmax over a dim).

Shape (all): input (*) → output (*) of the same shape.
"""
import math
import numbers

from .. import ops
from ..tensor import Tensor
from .module import Module

__all__ = ["ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "Threshold", "Softmax",
           "LogSoftmax"]


def _number(layer: str, name: str, value) -> float:
    """A finite real number, else TypeError/ValueError naming the layer and argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{layer}({name}={value!r}): {name} must be a number, got "
                        f"{type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{layer}({name}={value!r}): {name} must be finite")
    return value


def _dim(layer: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{layer}(dim={value!r}): dim must be an int, got "
                        f"{type(value).__name__}")
    return int(value)


class ReLU(Module):
    """a = max(0, z)."""

    def forward(self, x: Tensor) -> Tensor:
        return ops.relu(x)


class LeakyReLU(Module):
    """a = z if z > 0 else negative_slope·z."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = _number("LeakyReLU", "negative_slope", negative_slope)

    def forward(self, x: Tensor) -> Tensor:
        return ops.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """a = 1 / (1 + e^−z), squashing to (0, 1)."""

    def forward(self, x: Tensor) -> Tensor:
        return ops.sigmoid(x)


class Tanh(Module):
    """a = tanh(z), squashing to (−1, 1)."""

    def forward(self, x: Tensor) -> Tensor:
        return ops.tanh(x)


class GELU(Module):
    """a = z·Φ(z); ``approximate='tanh'`` uses the tanh formula."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU(approximate={approximate!r}): expected 'none' or 'tanh'")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return ops.gelu(x, self.approximate)


class Threshold(Module):
    """The course's threshold neuron: a = z if z > threshold else value."""

    def __init__(self, threshold: float, value: float):
        super().__init__()
        self.threshold = _number("Threshold", "threshold", threshold)
        self.value = _number("Threshold", "value", value)

    def forward(self, x: Tensor) -> Tensor:
        if x.data.dtype.kind != "f":       # a float value may not fit an int/bool dtype
            x = ops.cast(x, "float32")
        return ops.threshold(x, self.threshold, self.value)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}"


class Softmax(Module):
    """a_i = e^{z_i} / Σ_j e^{z_j} along ``dim``: a probability distribution."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = _dim(type(self).__name__, dim)

    def forward(self, x: Tensor) -> Tensor:
        return ops.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """a_i = z_i − log Σ_j e^{z_j} along ``dim``."""

    def forward(self, x: Tensor) -> Tensor:
        return ops.log_softmax(x, self.dim)
