"""Stateless functions behind the layers: ``import glassnet.nn.functional as F``."""
import numpy as np

from .. import ops
from ..ops import (gelu, leaky_relu, linear, log_softmax, relu, sigmoid, softmax, tanh,
                   threshold)
from ..backend import to_device, xp_of
from ..tensor import Tensor, get_rng, make
from .losses import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,
                     l1_loss, mse_loss, nll_loss)

__all__ = ["linear", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "threshold", "softmax",
           "log_softmax", "dropout", "one_hot", "pad", "cross_entropy", "nll_loss", "mse_loss",
           "l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"]

pad = ops.pad
from ..ops import (celu, elu, glu, hardshrink, hardsigmoid, hardswish, hardtanh,  # noqa: E402
                   logsigmoid, mish, prelu, relu6, selu, silu, softmin, softplus, softshrink,
                   softsign, tanhshrink)
__all__ += ["silu", "mish", "elu", "celu", "selu", "softplus", "logsigmoid", "softsign",
            "tanhshrink", "hardtanh", "relu6", "hardsigmoid", "hardswish", "softmin",
            "hardshrink", "softshrink", "glu", "prelu"]
from .losses import huber_loss, kl_div, smooth_l1_loss  # noqa: E402
__all__ += ["huber_loss", "smooth_l1_loss", "kl_div"]
from .attention import scaled_dot_product_attention  # noqa: E402
__all__ += ["scaled_dot_product_attention"]
from ._functional_cnn import *  # noqa: F401,F403,E402  (conv, pooling, normalisation)
from ._functional_cnn import __all__ as _cnn_all  # noqa: E402
__all__ += _cnn_all
from .ctc import ctc_loss  # noqa: E402
__all__ += ["ctc_loss"]


def dropout(x: Tensor, p: float = 0.5, training: bool = True, generator=None) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1−p) (training only).

    The mask is drawn on the host from glassnet's generator and copied to ``x``'s device, so
    a seed gives the same mask on every device (at the cost of one host -> device copy).
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout(p={p}): p must be in [0, 1]")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    rng = generator or get_rng()
    keep = (rng.random(x.shape, dtype=np.float32) >= p)
    scale = to_device((keep / np.float32(1 - p)).astype(x.array.dtype), x.device)
    return make(x.array * scale, (x,), lambda g: (g * scale,), "DropoutBackward")


def one_hot(labels, num_classes: int = -1) -> Tensor:
    """int64 class indices (*) → int64 one-hot (*, num_classes)."""
    y = labels.array if isinstance(labels, Tensor) else xp_of(labels).asarray(labels)
    if y.dtype.kind not in "iu":
        raise TypeError(f"one_hot(labels): expected integer class indices, got {y.dtype}")
    n = int(y.max()) + 1 if num_classes < 0 else num_classes
    if y.size and (y.min() < 0 or y.max() >= n):
        raise ValueError(f"one_hot: labels must be in [0, {n}), got range "
                         f"[{y.min()}, {y.max()}]")
    return Tensor(xp_of(y).eye(n, dtype=np.int64)[y])


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """``input / max(‖input‖_p, eps)`` along ``dim``, like ``torch.nn.functional.normalize``:
    unit-length rows (``dim=1``) by default. Shape: unchanged."""
    denom = ops.clamp(ops.stats.norm(input, p, dim, keepdim=True), min=eps)
    return input / denom


__all__ += ["normalize"]
