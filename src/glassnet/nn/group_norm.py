"""Per-sample normalisation layers: GroupNorm, InstanceNorm1d/2d/3d and RMSNorm.

Shape glossary: N batch, C channels, L length, D depth, H height, W width.
"""
import warnings

import numpy as np

from .. import ops
from ..tensor import Tensor
from .linear import check_positive_int
from .module import Module, Parameter
from .normalization import (affine_parameters, check_eps, check_float, check_trailing,
                            init_norm_state, normalized_shape_arg)

__all__ = ["GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "RMSNorm"]


class GroupNorm(Module):
    r"""Group normalisation: the C channels of each sample are split into G groups, and each
    group is normalised over its channels and positions: y = γ·(x − μ_g)/√(σ²_g + eps) + β.

    Unlike batch norm it does not depend on the batch, so it behaves the same in training and
    evaluation. G = 1 normalises the whole sample (like LayerNorm over (C, *) with per-channel
    γ, β); G = C is instance normalisation.

    Args:
        num_groups: G, must divide num_channels. num_channels: C.
        eps: added to the variance (1e-5). affine: learn γ (``weight``, ones) and β (``bias``,
            zeros), one per channel. bias: keyword-only; False learns γ without β.

    Shape:
        input (N, C, *) → output (N, C, *).

    Example:
        >>> gn.nn.GroupNorm(2, 6)(gn.randn(4, 6, 10, 10)).shape
        (4, 6, 10, 10)
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, *, bias: bool = True, dtype=np.float32):
        super().__init__()
        check_positive_int("GroupNorm", num_groups=num_groups, num_channels=num_channels)
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm(num_groups={num_groups}, num_channels={num_channels})"
                             f": num_channels must be divisible by num_groups")
        check_eps("GroupNorm", eps)
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps, self.affine = float(eps), bool(affine)
        affine_parameters(self, affine, bias, num_channels, dtype)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm(num_groups={self.num_groups}, num_channels="
                             f"{self.num_channels}): expected input (N, {self.num_channels}, *)"
                             f", got {tuple(x.shape)}")
        check_float("GroupNorm", x)
        return ops.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _InstanceNorm(Module):
    _dims = 1
    _letters = "L"

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False, *,
                 bias: bool = True, dtype=np.float32):
        super().__init__()
        name = type(self).__name__
        check_positive_int(name, num_features=num_features)
        check_eps(name, eps)
        if momentum is not None and (isinstance(momentum, bool) or not isinstance(
                momentum, (int, float, np.number)) or not 0.0 <= momentum <= 1.0):
            raise ValueError(f"{name}(momentum={momentum!r}): expected a number in [0, 1] "
                             f"or None")
        init_norm_state(self, num_features, eps, momentum, affine, track_running_stats, bias,
                        dtype)

    def forward(self, x: Tensor) -> Tensor:
        name = f"{type(self).__name__}(num_features={self.num_features})"
        n = self._dims
        if x.ndim not in (n + 1, n + 2):
            raise ValueError(f"{name}: expected input (N, C, {self._letters}) or unbatched "
                             f"(C, {self._letters}), got {tuple(x.shape)}")
        check_float(name, x)
        unbatched = x.ndim == n + 1
        if unbatched:
            x = ops.unsqueeze(x, 0)
        if x.shape[1] != self.num_features:
            if self.affine or self.track_running_stats:
                raise ValueError(f"{name}: expected {self.num_features} channels at dim "
                                 f"{0 if unbatched else 1}, got input "
                                 f"{tuple(x.shape[1:] if unbatched else x.shape)}")
            warnings.warn(f"{name}: input has {x.shape[1]} channels, not num_features; "
                          f"it is normalised anyway (affine=False)", stacklevel=2)
        y = ops.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              self.training or not self.track_running_stats,
                              self.momentum if self.momentum is not None else 0.0, self.eps)
        return ops.squeeze(y, 0) if unbatched else y

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine="
                f"{self.affine}, track_running_stats={self.track_running_stats}")


_INSTANCE_DOC = r"""Instance normalisation: each channel of each sample is normalised over its
    {what}: y = γ·(x − μ_nc)/√(σ²_nc + eps) + β (used in style transfer and GANs).

    With ``track_running_stats`` the layer keeps running_mean/running_var (the batch average
    of the per-instance mean and unbiased variance, updated with ``momentum`` in training) and
    uses them in eval mode; otherwise it always normalises with the input's own statistics.

    Args:
        num_features: C. eps: added to the variance (1e-5). momentum: 0.1 (None acts as 0).
        affine: learn γ (``weight``, ones) and β (``bias``, zeros) per channel (default False).
        bias: keyword-only; with ``affine``, False learns γ without β.
        track_running_stats: keep ``running_mean``, ``running_var``, ``num_batches_tracked``
            (default False).

    Shape:
        input (N, C, {dims}) or unbatched (C, {dims}) → output of the same shape.

    Example:
        >>> gn.nn.{cls}(3, affine=True)(gn.randn({ex})).shape
        ({ex})
    """


class InstanceNorm1d(_InstanceNorm):
    __doc__ = _INSTANCE_DOC.format(what="length L", dims="L", cls="InstanceNorm1d",
                                   ex="4, 3, 20")
    _dims, _letters = 1, "L"


class InstanceNorm2d(_InstanceNorm):
    __doc__ = _INSTANCE_DOC.format(what="H × W positions", dims="H, W", cls="InstanceNorm2d",
                                   ex="4, 3, 8, 8")
    _dims, _letters = 2, "H, W"


class InstanceNorm3d(_InstanceNorm):
    __doc__ = _INSTANCE_DOC.format(what="D × H × W positions", dims="D, H, W",
                                   cls="InstanceNorm3d", ex="2, 3, 4, 5, 5")
    _dims, _letters = 3, "D, H, W"


class RMSNorm(Module):
    r"""Root-mean-square normalisation over the last dims: y = x / √(mean(x²) + eps) · γ.

    No centring and no bias (as in LLaMA-style transformers).

    Args:
        normalized_shape: the trailing shape D (int or tuple) normalised together.
        eps: added to mean(x²); None (default) uses the input dtype's machine epsilon.
        elementwise_affine: learn γ (``weight``, ones) of shape D (default True).

    Shape:
        input (*, *D) → output (*, *D).

    Example:
        >>> gn.nn.RMSNorm(64)(gn.randn(8, 10, 64)).shape
        (8, 10, 64)
    """

    def __init__(self, normalized_shape, eps: float | None = None,
                 elementwise_affine: bool = True, *, dtype=np.float32):
        super().__init__()
        self.normalized_shape = normalized_shape_arg("RMSNorm", normalized_shape)
        check_eps("RMSNorm", eps, allow_none=True)
        self.eps = None if eps is None else float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def forward(self, x: Tensor) -> Tensor:
        check_trailing("RMSNorm", x, self.normalized_shape)
        return ops.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
