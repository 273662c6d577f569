"""Matrix products: ``matmul`` (batched, broadcasting) and the fused ``linear`` layer op."""
import numpy as np

from ..backend import xp_of
from ..errors import ShapeError
from ..tensor import Tensor, make, records
from ..blas import matmul as gemm
from . import _fast
from ._util import same_device, unbroadcast
from .fused import bias_add, bias_grad, bias_relu, relu_bias_grad

__all__ = ["matmul", "linear", "linear_relu"]


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """a @ b with NumPy semantics: 1-D operands are promoted, leading dims broadcast."""
    if not isinstance(a, Tensor):             # ndarray @ Tensor arrives via __rmatmul__
        a = Tensor(a)
    if not isinstance(b, Tensor):
        b = Tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul(): both operands need at least 1 dim, got shapes "
                         f"{a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[0 if b.ndim == 1 else -2]:
        raise ShapeError(f"matmul(): shapes {a.shape} and {b.shape} cannot be multiplied "
                         f"({a.shape[-1]} != {b.shape[0 if b.ndim == 1 else -2]})")
    if type(a.array) is not type(b.array):
        same_device("matmul", a, b)
    xp = xp_of(a.array)
    try:
        out = gemm(a.array, b.array)
    except ValueError:
        raise ShapeError(f"matmul(): shapes {a.shape} and {b.shape} cannot be multiplied "
                         f"(batch dims {a.shape[:-2]} and {b.shape[:-2]} do not broadcast)") \
            from None

    def backward(g):
        A = a.array[None, :] if a.ndim == 1 else a.array          # promote vectors to matrices
        B = b.array[:, None] if b.ndim == 1 else b.array
        # g as the product of the promoted operands (a 1-D x 1-D product gives a 0-d g)
        G = g.reshape(np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
                      + (A.shape[-2], B.shape[-1]))
        ga = gb = None
        if a.requires_grad:
            ga = gemm(G, xp.swapaxes(B, -1, -2))
            ga = unbroadcast(ga, A.shape).reshape(a.shape)
        if b.requires_grad:
            gb = gemm(xp.swapaxes(A, -1, -2), G)
            gb = unbroadcast(gb, B.shape).reshape(b.shape)
        return ga, gb
    return make(out, (a, b), backward, "MmBackward")


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x·Wᵀ + b, one fused op. x: (*, in), weight: (out, in), bias: (out,)."""
    xd = x.array
    if xd.ndim == 0 or weight.ndim != 2 or xd.shape[-1] != weight.shape[1]:
        raise ShapeError(f"linear(): expected input (..., in_features) for weight "
                         f"(out_features, in_features) = {weight.shape}, got {x.shape}")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ShapeError(f"linear(): expected bias of shape ({weight.shape[0]},) for weight of "
                         f"shape {weight.shape}, got {bias.shape}")
    if type(xd) is not type(weight.array) or (bias is not None and
                                              type(bias.array) is not type(xd)):
        same_device("linear", x, weight, bias)
    x2 = xd.reshape(-1, xd.shape[-1]) if xd.ndim != 2 else xd
    y = gemm(x2, weight.array.T)
    if bias is not None and not bias_add(y, bias.array):
        y += bias.array
    if xd.ndim != 2:
        y = y.reshape(xd.shape[:-1] + (weight.array.shape[0],))

    def backward(g):
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        gx = gw = gb = None
        if x.requires_grad:
            gx = gemm(g2, weight.array).reshape(xd.shape)
        if weight.requires_grad:
            gw = gemm(g2.T, x2)
        if bias is not None and bias.requires_grad:
            gb = bias_grad(g2)
            if gb is None:
                gb = g2.sum(axis=0)
        return gx, gw, gb
    return make(y, (x, weight, bias), backward, "AddmmBackward")


def linear_relu(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor | None:
    """relu(x·Wᵀ + b) as one graph node ("LinearReluBackward") for 2-D float32 host x, with
    the bias add, the ReLU and its mask in one compiled pass after the product, and ReLU's
    backward and the bias gradient in one pass before the two products: the same values and
    gradients, bit for bit, as :func:`linear` then ``relu``. None, having done nothing, where
    it does not apply (other shapes, dtypes or devices, the kernels off): the caller runs
    the two ops then. Shapes as :func:`linear` (x (N, in), weight (out, in), bias (out,))."""
    xd = x.array
    if type(xd) is not np.ndarray or xd.ndim != 2 or xd.dtype != np.float32 or \
            type(weight.array) is not np.ndarray or weight.array.dtype != np.float32 or \
            weight.ndim != 2 or xd.shape[1] != weight.shape[1] or \
            bias.shape != (weight.shape[0],) or type(bias.array) is not np.ndarray or \
            _fast.kernels() is None:
        return None
    recording = records(x, weight, bias)
    y = gemm(xd, weight.array.T)
    mask = np.empty(y.shape, np.bool_) if recording else None
    if not bias_relu(y, bias.array, mask):
        return None

    def backward(g):
        gz, gb = relu_bias_grad(g, mask) or (None, None)
        if gz is None:                  # g not float32 rows: NumPy (a select, as ReLU's)
            gz = np.where(mask, g, np.zeros((), g.dtype))
            gb = gz.sum(axis=0)
        gx = gemm(gz, weight.array) if x.requires_grad else None
        gw = gemm(gz.T, xd) if weight.requires_grad else None
        return gx, gw, gb if bias.requires_grad else None
    return make(y, (x, weight, bias), backward if recording else None, "LinearReluBackward")
