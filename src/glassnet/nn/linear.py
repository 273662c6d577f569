"""Dense layers: Linear (z = W·x + b), Identity, Flatten."""
import math

import numpy as np

from .. import ops
from ..tensor import Tensor
from . import init
from .module import Module, Parameter

__all__ = ["Linear", "Identity", "Flatten", "Unflatten"]


def check_positive_int(layer: str, **kwargs) -> None:
    """Raise a ValueError naming the layer and argument unless each value is a positive int."""
    for name, v in kwargs.items():
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v <= 0:
            raise ValueError(f"{layer}({name}={v!r}): {name} must be a positive integer")


class Linear(Module):
    r"""A layer of neurons: each output is z_j = Σ_i W_ji · x_i + b_j.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample (number of neurons).
        bias: learn an additive bias ``b`` (default True).

    Shape:
        input (*, in_features) → output (*, out_features).

    Attributes:
        weight: (out_features, in_features), initialised U(−1/√in, 1/√in) like PyTorch.
        bias: (out_features,), same distribution.

    Example:
        >>> layer = gn.nn.Linear(784, 10)
        >>> layer(gn.randn(32, 784)).shape
        (32, 10)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 dtype=np.float32):
        super().__init__()
        check_positive_int("Linear", in_features=in_features, out_features=out_features)
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return ops.linear(self._checked(x), self.weight, self.bias)

    def forward_relu(self, x: Tensor) -> Tensor | None:
        """``relu(self(x))`` as one op (``ops.linear_relu``: one pass for the bias and the
        ReLU each way, the same values and gradients), or None where it does not apply
        (Sequential then runs the layer and the ReLU apart)."""
        x = self._checked(x)
        return None if self.bias is None else ops.linear_relu(x, self.weight, self.bias)

    def forward_chain(self, x: Tensor, chain: list) -> Tensor | None:
        """The run of Linear layers ``chain`` = [(weight, bias, relu), …] that starts with
        this one, each followed by a ReLU where ``relu``, as one op each way
        (``ops.linear_chain``: one compiled call instead of ~10 Python calls a layer, the
        same values), or None where it does not apply (Sequential then runs them one by
        one)."""
        return ops.linear_chain(self._checked(x), chain)

    def _checked(self, x: Tensor) -> Tensor:
        shape = x.array.shape
        if not shape or shape[-1] != self.in_features:
            raise ValueError(f"Linear(in_features={self.in_features}): expected input "
                             f"(..., {self.in_features}), got {tuple(x.shape)}")
        if x.array.dtype != self.weight.array.dtype:
            if x.array.dtype.kind != "f":
                raise TypeError(f"Linear(in_features={self.in_features}): expected a floating "
                                f"input, got dtype {x.dtype}")
            x = x.to(self.weight.array.dtype)
        return x

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    """Returns its input unchanged. Shape: any → same."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Flatten(Module):
    """Flattens dims ``start_dim..end_dim`` into one.

    Shape: (N, *dims) → (N, ∏ dims) with the defaults (start_dim=1, end_dim=-1); a batch of
    32 images of 20×20 becomes (32, 400).
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        for name, v in (("start_dim", start_dim), ("end_dim", end_dim)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"Flatten({name}={v!r}): {name} must be an int")
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x: Tensor) -> Tensor:
        shape = x.array.shape
        nd = max(len(shape), 1)
        if not (-nd <= self.start_dim < nd and -nd <= self.end_dim < nd):
            raise ValueError(f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim}): out "
                             f"of range for input {tuple(x.shape)}")
        s, e = self.start_dim % nd, self.end_dim % nd
        if not shape or s > e:                  # 0-d input, or the op's own error
            return ops.flatten(x, self.start_dim, self.end_dim)
        # ops.flatten's reshape, with the size product in Python (np.prod costs ~4 µs)
        return ops.reshape(x, shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expands dim ``dim`` into ``unflattened_size``. Shape: (N, ∏ s) → (N, *s) for dim=1."""

    def __init__(self, dim: int, unflattened_size: tuple):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"Unflatten(dim={dim!r}): dim must be an int")
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(f"Unflatten(unflattened_size={unflattened_size!r}): expected a "
                            f"tuple of sizes")
        check_positive_int("Unflatten", **{f"unflattened_size[{i}]": s
                                           for i, s in enumerate(unflattened_size)})
        self.dim, self.unflattened_size = int(dim), tuple(int(s) for s in unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 0 or not -x.ndim <= self.dim < x.ndim:
            raise ValueError(f"Unflatten(dim={self.dim}): out of range for input "
                             f"{tuple(x.shape)}")
        d = self.dim % x.ndim
        if x.shape[d] != int(np.prod(self.unflattened_size)):
            raise ValueError(f"Unflatten(dim={self.dim}, unflattened_size="
                             f"{self.unflattened_size}): input {tuple(x.shape)} has "
                             f"{x.shape[d]} there, expected {int(np.prod(self.unflattened_size))}")
        return ops.reshape(x, x.shape[:d] + self.unflattened_size + x.shape[d + 1:])
