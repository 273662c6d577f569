"""Per-sample normalisations: group_norm, instance_norm and rms_norm, closed-form backward.

group_norm splits the C channels of each sample into G groups and normalises each group over
its m = (C/G)·(spatial size) values; instance_norm is group_norm with G = C (plus optional
running statistics); rms_norm divides by the root mean square, without centring.

With x̂ = (x − μ)·r, r = 1/sqrt(var + eps), y = γ·x̂ + β and h = γ·g (g = dL/dy):

    dx = r · (h − mean(h) − x̂·mean(h·x̂))       (means over each group's m values)
    rms_norm (x̂ = x·r, r = 1/sqrt(mean(x²) + eps)):  dx = r · (h − x̂·mean(h·x̂))
"""
import numpy as np

from ..backend import xp_of
from ..tensor import Tensor, make
from ._util import same_device
from .norm import batch_norm

__all__ = ["group_norm", "instance_norm", "rms_norm"]


def group_norm(x: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise each group of C/G channels of each sample, like ``F.group_norm``.

    Shape: x (N, C, *) → same; weight and bias (C,) or None; C must be divisible by G.
    """
    if x.ndim < 2:
        raise ValueError(f"group_norm: expected input (N, C, *), got {tuple(x.shape)}")
    N, C = x.shape[:2]
    if not isinstance(num_groups, (int, np.integer)) or num_groups <= 0 or C % num_groups:
        raise ValueError(f"group_norm(num_groups={num_groups!r}): expected a positive "
                         f"divisor of the {C} channels of input {tuple(x.shape)}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != (C,):
            raise ValueError(f"group_norm: {name} must have shape ({C},), got {tuple(p.shape)}")
    same_device("group_norm", x, weight, bias)
    xd = x.array
    xp = xp_of(xd)
    if xd.size == 0:                                 # empty batch or spatial dim: as PyTorch
        return _empty(x, weight, bias, xp)
    G = int(num_groups)
    xr = xd.reshape(N, G, -1)
    mean = xr.mean(axis=2, keepdims=True)
    xc = xr - mean
    var = xp.mean(xp.square(xc), axis=2, keepdims=True)
    inv = (1.0 / xp.sqrt(var + xd.dtype.type(eps))).astype(xd.dtype)
    xhat = (xc * inv).reshape(xd.shape)
    cshape = (1, C) + (1,) * (xd.ndim - 2)
    y = xhat * weight.array.reshape(cshape) if weight is not None else xhat.copy()
    if bias is not None:
        y += bias.array.reshape(cshape)
    caxes = (0,) + tuple(range(2, xd.ndim))

    def backward(g):
        gw = (g * xhat).sum(axis=caxes) if weight is not None and weight.requires_grad \
            else None
        gb = g.sum(axis=caxes) if bias is not None and bias.requires_grad else None
        gx = None
        if x.requires_grad:
            h = (g * weight.array.reshape(cshape) if weight is not None else g).reshape(N, G, -1)
            xh = xhat.reshape(N, G, -1)
            gx = h - h.mean(axis=2, keepdims=True) - xh * (h * xh).mean(axis=2, keepdims=True)
            gx = (gx * inv).reshape(xd.shape)
        return gx, gw, gb
    return make(y, (x, weight, bias), backward, "NativeGroupNormBackward")


def _empty(x: Tensor, weight, bias, xp) -> Tensor:
    """The (empty) output for an empty input, with zero gradients for weight and bias."""
    def backward(g):
        return (g, None if weight is None else xp.zeros_like(weight.array),
                None if bias is None else xp.zeros_like(bias.array))
    return make(x.array.copy(), (x, weight, bias), backward, "NativeGroupNormBackward")


def instance_norm(x: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel of each sample over its spatial dims, like ``F.instance_norm``.

    Shape: x (N, C, *) → same; running_mean/var, weight, bias (C,) or None.
    With ``use_input_stats`` the statistics come from x and the running buffers (if given)
    move towards the batch average of the per-instance mean and unbiased variance:
    r ← (1 − momentum)·r + momentum·stat. Otherwise the running statistics normalise x.
    """
    if x.ndim < 3:
        raise ValueError(f"instance_norm: expected input (N, C, *) with spatial dims, got "
                         f"{tuple(x.shape)}")
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm(use_input_stats=False): needs running_mean and "
                             "running_var")
        return batch_norm(x, running_mean, running_var, weight, bias, False, 0.0, eps)
    C = x.shape[1]
    if x.array.size == 0:
        return group_norm(x, C, weight, bias, eps)
    m = x.array.size // (x.shape[0] * C)
    if m <= 1:
        raise ValueError(f"instance_norm: expected more than 1 spatial element per channel "
                         f"when using input statistics, got input {tuple(x.shape)}")
    if running_mean is not None:
        xd = x.array
        axes = tuple(range(2, xd.ndim))
        mean = xd.mean(axis=axes)                                 # (N, C)
        var = xd.var(axis=axes, ddof=1)
        mom = running_mean.array.dtype.type(momentum)
        running_mean.array *= 1 - mom
        running_mean.array += (mom * mean.mean(axis=0)).astype(running_mean.dtype)
        running_var.array *= 1 - mom
        running_var.array += (mom * var.mean(axis=0)).astype(running_var.dtype)
    return group_norm(x, C, weight, bias, eps)


def rms_norm(x: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """y = x / sqrt(mean(x²) + eps) · γ over the last dims, like ``F.rms_norm``.

    Shape: x (*, *normalized_shape) → same; weight normalized_shape or None.
    ``eps=None`` uses the machine epsilon of x's dtype, as PyTorch does.
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else \
        tuple(normalized_shape)
    k = len(shape)
    if x.ndim < k or tuple(x.shape[x.ndim - k:]) != shape:
        raise ValueError(f"rms_norm(normalized_shape={shape}): expected input (*, "
                         f"{', '.join(map(str, shape))}), got {tuple(x.shape)}")
    if weight is not None and tuple(weight.shape) != shape:
        raise ValueError(f"rms_norm: weight must have shape {shape}, got {tuple(weight.shape)}")
    same_device("rms_norm", x, weight)
    xd = x.array
    xp = xp_of(xd)
    e = np.finfo(xd.dtype).eps if eps is None else eps
    axes = tuple(range(xd.ndim - k, xd.ndim))
    inv = (1.0 / xp.sqrt(xp.mean(xp.square(xd), axis=axes, keepdims=True) +
                         xd.dtype.type(e))).astype(xd.dtype)
    xhat = xd * inv
    y = xhat * weight.array if weight is not None else xhat
    lead = tuple(range(xd.ndim - k))

    def backward(g):
        gw = (g * xhat).sum(axis=lead) if weight is not None and weight.requires_grad else None
        gx = None
        if x.requires_grad:
            h = g * weight.array if weight is not None else g
            gx = (h - xhat * (h * xhat).mean(axis=axes, keepdims=True)) * inv
        return gx, gw
    return make(y, (x, weight), backward, "RmsNormBackward")
