"""The scaffold of the element-wise functions in ``math.py`` and ``special.py``.

An op there passes its forward and its derivative side by side, one line each, and these
helpers build the graph node around them:

- :func:`unary`: ``y = f(x)`` with backward ``g · f'(x)``;
- :func:`binary`: ``y = f(a, b)`` with backward ``grads(g, …) = (g·∂y/∂a, g·∂y/∂b)``, each
  summed back to its operand's shape (None for an operand that does not require grad).

Both run the maths with floating-point warnings off (inf and NaN are results, as in PyTorch).
"""
import numpy as np

from ..backend import xp_of
from ..tensor import Tensor, make
from ._util import as_float, binary_operands, tensor_arg, unbroadcast

QUIET = dict(divide="ignore", invalid="ignore", over="ignore")


def unary(x, name: str, f, df) -> Tensor:
    """y = f(d, xp) and dy/dx = df(d, y, xp); d is x as a float array, xp its array module."""
    x = as_float(tensor_arg(x, name.lower()))
    d = x.array
    xp = xp_of(d)
    with np.errstate(**QUIET):
        y = f(d, xp)

    def backward(g):
        with np.errstate(**QUIET):
            return (g * df(d, y, xp),)
    return make(y, (x,), backward, name + "Backward")


def float_pair(a, b, op: str) -> tuple:
    """Both operands as tensors of one dtype, float32 when neither is floating (as torch)."""
    a, b = binary_operands(a, b, op)
    if a.array.dtype.kind != "f":
        a, b = as_float(a), as_float(b)
    return a, b


def binary(pair: tuple, name: str, f, grads) -> Tensor:
    """y = f(A, B, xp) for ``pair`` = (a, b) from ``float_pair`` or ``binary_operands``;
    backward: (g·∂y/∂a, g·∂y/∂b) = grads(g, A, B, y, xp). A, B are the operands' arrays."""
    a, b = pair
    A, B = a.array, b.array
    xp = xp_of(A)
    with np.errstate(**QUIET):
        y = f(A, B, xp)

    def backward(g):
        with np.errstate(**QUIET):
            ga, gb = grads(g, A, B, y, xp)
        return (unbroadcast(ga, A.shape) if a.requires_grad else None,
                unbroadcast(gb, B.shape) if b.requires_grad else None)
    return make(y, (a, b), backward, name + "Backward")


def scipy_special(name: str):
    """A function of ``scipy.special`` (a dependency, imported on first use)."""
    from scipy import special  # noqa: PLC0415
    return getattr(special, name)


def host_only(x, op: str) -> Tensor:
    """x as a float tensor, refused on a device: the scipy functions run on the CPU only."""
    x = as_float(tensor_arg(x, op))
    if xp_of(x.array) is not np:
        raise RuntimeError(f"{op}(): implemented on the CPU only (scipy), got a tensor on "
                           f"{x.device} (move it with .cpu())")
    return x
