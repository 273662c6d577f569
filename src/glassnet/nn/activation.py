"""Activation layers (element-wise non-linearities and softmax over a dim).

Shape (all): input (*) → output (*) of the same shape.
"""
import math
import numbers

import numpy as np

from .. import ops
from ..tensor import Tensor
from .module import Module, Parameter

__all__ = ["ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "Threshold", "Softmax",
           "LogSoftmax", "SiLU", "Mish", "ELU", "CELU", "SELU", "Softplus", "LogSigmoid",
           "Softsign", "Tanhshrink", "Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish", "Softmin",
           "Hardshrink", "Softshrink", "GLU", "PReLU"]


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


class _InplaceFlag(Module):
    """Base of the activations that take PyTorch's ``inplace`` flag (``nn.ReLU(inplace=True)``
    in model code). glassnet accepts it and always returns a new tensor: the input is never
    overwritten, and the values are PyTorch's either way."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        if not isinstance(inplace, (bool, np.bool_)):
            raise TypeError(f"{type(self).__name__}(inplace={inplace!r}): inplace must be a "
                            f"bool")
        self.inplace = bool(inplace)

    def _repr_with_flag(self, text: str = "") -> str:
        if not self.inplace:
            return text
        return f"{text}, inplace=True" if text else "inplace=True"

    def extra_repr(self) -> str:
        return self._repr_with_flag()


class ReLU(_InplaceFlag):
    """a = max(0, z)."""

    def forward(self, x: Tensor) -> Tensor:
        return ops.relu(x)


class LeakyReLU(_InplaceFlag):
    """a = z if z > 0 else negative_slope·z."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__(inplace)
        self.negative_slope = _number("LeakyReLU", "negative_slope", negative_slope)

    def forward(self, x: Tensor) -> Tensor:
        return ops.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return self._repr_with_flag(f"negative_slope={self.negative_slope}")


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


class Threshold(_InplaceFlag):
    """The course's threshold neuron: a = z if z > threshold else value."""

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__(inplace)
        self.threshold = _number("Threshold", "threshold", threshold)
        self.value = _number("Threshold", "value", value)

    def forward(self, x: Tensor) -> Tensor:
        if x.array.dtype.kind != "f":       # a float value may not fit an int/bool dtype
            x = ops.cast(x, "float32")
        return ops.threshold(x, self.threshold, self.value)

    def extra_repr(self) -> str:
        return self._repr_with_flag(f"threshold={self.threshold}, value={self.value}")


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


class Softmin(Softmax):
    """a_i = e^{−z_i} / Σ_j e^{−z_j} along ``dim``: the smallest input gets the most weight."""

    def forward(self, x: Tensor) -> Tensor:
        return ops.softmin(x, self.dim)


class SiLU(_InplaceFlag):
    """a = z·σ(z) (also called swish).

    Example:
        >>> nn.SiLU()(gn.tensor([-1.0, 0.0, 2.0]))     # [-0.2689, 0, 1.7616]
    """

    def forward(self, x: Tensor) -> Tensor:
        return ops.silu(x)


class Mish(_InplaceFlag):
    """a = z·tanh(softplus(z))."""

    def forward(self, x: Tensor) -> Tensor:
        return ops.mish(x)


class ELU(_InplaceFlag):
    """a = z if z > 0 else α·(e^z − 1).

    Args:
        alpha: the value a approaches for z → −∞ is −alpha (default 1.0).
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(inplace)
        self.alpha = _number(type(self).__name__, "alpha", alpha)

    def forward(self, x: Tensor) -> Tensor:
        return ops.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return self._repr_with_flag(f"alpha={self.alpha}")


class CELU(ELU):
    """a = max(0, z) + min(0, α·(e^{z/α} − 1)); alpha must be non-zero."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(alpha, inplace)
        if self.alpha == 0:
            raise ValueError("CELU(alpha=0): alpha must be non-zero (z is divided by it)")

    def forward(self, x: Tensor) -> Tensor:
        return ops.celu(x, self.alpha)


class SELU(_InplaceFlag):
    """a = scale·(z if z > 0 else α·(e^z − 1)), α ≈ 1.6733, scale ≈ 1.0507 (fixed)."""

    def forward(self, x: Tensor) -> Tensor:
        return ops.selu(x)


class Softplus(Module):
    """a = log(1 + e^{βz})/β, a smooth ReLU; a = z where βz > threshold (for stability).

    Args:
        beta: sharpness (default 1); threshold: above it the layer is linear (default 20).
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta = _number("Softplus", "beta", beta)
        if self.beta == 0:
            raise ValueError("Softplus(beta=0): beta must be non-zero (it divides the output)")
        self.threshold = _number("Softplus", "threshold", threshold)

    def forward(self, x: Tensor) -> Tensor:
        return ops.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class LogSigmoid(Module):
    """a = log σ(z) = −softplus(−z), stable for large |z|."""

    def forward(self, x: Tensor) -> Tensor:
        return ops.logsigmoid(x)


class Softsign(Module):
    """a = z / (1 + |z|)."""

    def forward(self, x: Tensor) -> Tensor:
        return ops.softsign(x)


class Tanhshrink(Module):
    """a = z − tanh(z)."""

    def forward(self, x: Tensor) -> Tensor:
        return ops.tanhshrink(x)


class Hardtanh(_InplaceFlag):
    """a = clamp(z, min_val, max_val) (defaults −1 and 1).

    Args:
        min_val, max_val: the two saturation levels, min_val <= max_val.
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__(inplace)
        name = type(self).__name__
        self.min_val = _number(name, "min_val", min_val)
        self.max_val = _number(name, "max_val", max_val)
        if self.min_val > self.max_val:
            raise ValueError(f"{name}(min_val={min_val}, max_val={max_val}): min_val must be "
                             f"<= max_val")

    def forward(self, x: Tensor) -> Tensor:
        return ops.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return self._repr_with_flag(f"min_val={self.min_val}, max_val={self.max_val}")


class ReLU6(Hardtanh):
    """a = min(max(0, z), 6)."""

    def __init__(self, inplace: bool = False):
        super().__init__(0.0, 6.0, inplace)

    def forward(self, x: Tensor) -> Tensor:
        return ops.relu6(x)

    def extra_repr(self) -> str:
        return self._repr_with_flag()


class Hardsigmoid(_InplaceFlag):
    """a = 0 for z <= −3, 1 for z >= 3, z/6 + 1/2 in between."""

    def forward(self, x: Tensor) -> Tensor:
        return ops.hardsigmoid(x)

    def extra_repr(self) -> str:
        return ""                          # PyTorch's Hardsigmoid does not show inplace either


class Hardswish(_InplaceFlag):
    """a = z·hardsigmoid(z): 0 for z <= −3, z for z >= 3, z·(z + 3)/6 in between."""

    def forward(self, x: Tensor) -> Tensor:
        return ops.hardswish(x)

    def extra_repr(self) -> str:
        return ""                          # PyTorch's Hardswish does not show inplace either


class Hardshrink(Module):
    """a = z where |z| > lambd, else 0.

    Args:
        lambd: the half-width of the zeroed band (default 0.5).
    """

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = _number(type(self).__name__, "lambd", lambd)

    def forward(self, x: Tensor) -> Tensor:
        return ops.hardshrink(x, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """a = z − lambd above lambd, z + lambd below −lambd, 0 in between (lambd >= 0)."""

    def __init__(self, lambd: float = 0.5):
        super().__init__(lambd)
        if self.lambd < 0:
            raise ValueError(f"Softshrink(lambd={lambd}): lambd must be >= 0")

    def forward(self, x: Tensor) -> Tensor:
        return ops.softshrink(x, self.lambd)


class GLU(Module):
    """Gated linear unit: a = u·σ(v), u and v the two halves of the input along ``dim``.

    Shape: (*, 2M, *) -> (*, M, *), halving dimension ``dim`` (default -1).
    """

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = _dim("GLU", dim)

    def forward(self, x: Tensor) -> Tensor:
        return ops.glu(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class PReLU(Module):
    """a = z if z > 0 else w·z, with learned slopes w (``weight``, initialised to ``init``).

    Args:
        num_parameters: 1 (one slope shared by all channels) or C_in (one per channel, the
            input's dim 1).
        init: the initial slope (default 0.25).

    Shape: input (N, C_in, *) or any shape when num_parameters = 1; output the same.

    Example:
        >>> act = nn.PReLU(16)              # weight: (16,), state-dict key "weight"
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25):
        super().__init__()
        if isinstance(num_parameters, bool) or not isinstance(num_parameters, numbers.Integral) \
                or num_parameters < 1:
            raise ValueError(f"PReLU(num_parameters={num_parameters!r}): expected an int >= 1")
        self.num_parameters = int(num_parameters)
        init = _number("PReLU", "init", init)
        self.weight = Parameter(np.full(self.num_parameters, init, np.float32))

    def forward(self, x: Tensor) -> Tensor:
        return ops.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"
