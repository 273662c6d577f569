"""Normalisation layers: BatchNorm1d/2d/3d, LayerNorm, and Dropout2d (GroupNorm, InstanceNorm
and RMSNorm live in ``nn/group_norm.py``).

Shape glossary: N batch, C channels (features), L length, H height, W width.
"""
import numpy as np

from .. import ops
from ..ops.pool_nd import real_input
from ..backend import to_device
from ..tensor import Tensor, get_rng, make
from .linear import check_positive_int
from .module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "Dropout1d", "Dropout2d",
           "Dropout3d", "dropout1d", "dropout2d", "dropout3d", "LocalResponseNorm",
           "local_response_norm"]


def check_eps(name: str, eps, allow_none: bool = False) -> None:
    if eps is None and allow_none:
        return
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.number)) \
            or not 0 < eps < float("inf"):
        raise ValueError(f"{name}(eps={eps!r}): eps must be a positive finite number")


def check_float(name: str, x: Tensor) -> None:
    if x.array.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point input, got dtype {x.array.dtype}")


def affine_parameters(module, affine: bool, bias: bool, shape, dtype) -> None:
    """``weight`` (ones) and, with ``bias``, ``bias`` (zeros) of ``shape`` when ``affine``;
    None for each one not learnt (PyTorch's names and initial values)."""
    if affine:
        module.weight = Parameter(np.ones(shape, dtype=dtype))
        if bias:
            module.bias = Parameter(np.zeros(shape, dtype=dtype))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def normalized_shape_arg(name: str, normalized_shape) -> tuple:
    """LayerNorm's and RMSNorm's ``normalized_shape`` (an int or ints) as a tuple of ints."""
    if not isinstance(normalized_shape, (int, np.integer, tuple, list)):
        raise TypeError(f"{name}(normalized_shape={normalized_shape!r}): expected an int "
                        f"or a tuple of ints")
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else \
        tuple(normalized_shape)
    check_positive_int(name, **{f"normalized_shape[{i}]": v for i, v in enumerate(shape)})
    return tuple(int(v) for v in shape)


def check_trailing(name: str, x: Tensor, normalized_shape: tuple) -> None:
    """x: a floating-point (*, *normalized_shape) input of LayerNorm or RMSNorm."""
    k = len(normalized_shape)
    if x.ndim < k or tuple(x.shape[x.ndim - k:]) != normalized_shape:
        raise ValueError(f"{name}(normalized_shape={normalized_shape}): expected input "
                         f"(*, {', '.join(map(str, normalized_shape))}), got {tuple(x.shape)}")
    check_float(name, x)


def init_norm_state(module, num_features, eps, momentum, affine, track_running_stats, bias,
                    dtype) -> None:
    """The settings, per-channel ``weight``/``bias`` (affine) and running statistics
    (``running_mean``, ``running_var``, ``num_batches_tracked``) of a batch or instance norm,
    with PyTorch's names and initial values."""
    module.num_features, module.eps, module.momentum = int(num_features), float(eps), momentum
    module.affine, module.track_running_stats = bool(affine), bool(track_running_stats)
    affine_parameters(module, affine, bias, num_features, dtype)
    if track_running_stats:
        module.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=dtype)))
        module.register_buffer("running_var", Tensor(np.ones(num_features, dtype=dtype)))
        module.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
    else:
        module.running_mean = module.running_var = module.num_batches_tracked = None


class _BatchNorm(Module):
    _ranks: tuple = ()
    _shape_text = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *, bias: bool = True,
                 dtype=np.float32):
        super().__init__()
        name = type(self).__name__
        check_positive_int(name, num_features=num_features)
        for key, v in (("momentum", momentum), ("eps", eps)):
            if (v is None and key == "eps") or (v is not None and (
                    isinstance(v, bool) or not isinstance(v, (int, float, np.number)))):
                raise TypeError(f"{name}({key}={v!r}): {key} must be a number")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{name}(momentum={momentum!r}): expected a number in [0, 1] "
                             f"or None (cumulative average)")
        if not 0 < eps < float("inf"):
            raise ValueError(f"{name}(eps={eps!r}): eps must be positive and finite")
        init_norm_state(self, num_features, eps, momentum, affine, track_running_stats, bias,
                        dtype)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.array[...] = 0
            self.running_var.array[...] = 1
            self.num_batches_tracked.array[...] = 0

    def forward(self, x: Tensor) -> Tensor:
        name = f"{type(self).__name__}(num_features={self.num_features})"
        if x.ndim not in self._ranks or x.shape[1] != self.num_features:
            shape = self._shape_text.format(c=self.num_features)
            raise ValueError(f"{name}: expected input {shape}, got {tuple(x.shape)}")
        if x.array.dtype.kind != "f":
            raise TypeError(f"{name}: expected a floating-point input, got dtype {x.array.dtype}")
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array += 1
            if momentum is None:                     # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked.array)
        use_running = not self.training or self.track_running_stats
        return ops.batch_norm(x, self.running_mean if use_running else None,
                              self.running_var if use_running else None, self.weight,
                              self.bias, self.training, momentum if momentum is not None
                              else 0.0, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine="
                f"{self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm2d(_BatchNorm):
    r"""Batch normalisation per channel over (N, H, W):  y = γ · (x − μ_B)/√(σ²_B + eps) + β.

    In training, μ_B and σ²_B (biased) come from the batch, and the buffers are updated:
    running ← (1 − momentum)·running + momentum·batch statistic (unbiased variance);
    ``momentum=None`` gives a cumulative average. In eval mode the running statistics are used.

    Args:
        num_features: C. eps: added to the variance (1e-5). momentum: 0.1 or None.
        affine: learn γ (``weight``, ones) and β (``bias``, zeros; keyword ``bias=False``
            learns γ only).
        track_running_stats: keep ``running_mean``, ``running_var``, ``num_batches_tracked``.

    Shape:
        input (N, C, H, W) → output (N, C, H, W).

    Example:
        >>> bn = gn.nn.BatchNorm2d(32); y = bn(gn.randn(8, 32, 14, 14)); bn.eval()
    """
    _ranks = (4,)
    _shape_text = "(N, {c}, H, W)"


class BatchNorm1d(_BatchNorm):
    r"""Batch normalisation per feature over N (and L): as :class:`BatchNorm2d`.

    Shape:
        input (N, C) or (N, C, L) → output of the same shape.

    Example:
        >>> gn.nn.BatchNorm1d(100)(gn.randn(20, 100)).shape
        (20, 100)
    """
    _ranks = (2, 3)
    _shape_text = "(N, {c}) or (N, {c}, L)"


class BatchNorm3d(_BatchNorm):
    r"""Batch normalisation per channel over (N, D, H, W) of volumes: as :class:`BatchNorm2d`.

    Shape:
        input (N, C, D, H, W) → output (N, C, D, H, W).

    Example:
        >>> gn.nn.BatchNorm3d(4)(gn.randn(2, 4, 3, 5, 5)).shape
        (2, 4, 3, 5, 5)
    """
    _ranks = (5,)
    _shape_text = "(N, {c}, D, H, W)"


class LayerNorm(Module):
    r"""Layer normalisation over the last dims of each sample: y = γ·(x − μ)/√(σ² + eps) + β.

    Args:
        normalized_shape: the trailing shape D (int or tuple) normalised together.
        eps: added to the variance (1e-5).
        elementwise_affine: learn γ (ones) and β (zeros) of shape D. bias: learn β.

    Shape:
        input (*, *D) → output (*, *D).

    Example:
        >>> gn.nn.LayerNorm(64)(gn.randn(8, 10, 64)).shape
        (8, 10, 64)
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, *, dtype=np.float32):
        super().__init__()
        self.normalized_shape = normalized_shape_arg("LayerNorm", normalized_shape)
        check_eps("LayerNorm", eps)
        self.eps, self.elementwise_affine = float(eps), bool(elementwise_affine)
        affine_parameters(self, elementwise_affine, bias, self.normalized_shape, dtype)

    def forward(self, x: Tensor) -> Tensor:
        check_trailing("LayerNorm", x, self.normalized_shape)
        return ops.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


def dropout2d(x: Tensor, p: float = 0.5, training: bool = True, generator=None) -> Tensor:
    """Zero whole channels: each (n, c) feature map is dropped with probability p and the
    rest scaled by 1/(1 − p). x: (N, C, H, W) or (N, C, L); identity when not training."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d(p={p}): p must be in [0, 1]")
    if not training or p == 0.0:
        return x
    rng = generator or get_rng()
    keep = rng.random(x.shape[:2], dtype=np.float32) >= p       # host mask, copied over
    scale = (keep / np.float32(1 - p) if p < 1 else keep * np.float32(0)).astype(x.dtype)
    scale = to_device(scale, x.device)
    scale = scale.reshape(x.shape[:2] + (1,) * (x.ndim - 2))
    return make(x.array * scale, (x,), lambda g: (g * scale,), "Dropout2dBackward")


class Dropout2d(Module):
    """Randomly zero entire channels (feature maps) in training, scaling the rest by 1/(1−p).

    Args:
        p: probability of dropping a channel (default 0.5).

    Shape:
        input (N, C, H, W) → same (also (N, C, L)).

    Example:
        >>> gn.nn.Dropout2d(0.2)(gn.randn(8, 16, 10, 10)).shape
        (8, 16, 10, 10)
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout2d(p={p!r}): p must be a probability in [0, 1]")
        self.p = float(p)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (3, 4):
            raise ValueError(f"Dropout2d: expected input (N, C, H, W), got {tuple(x.shape)}")
        return dropout2d(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def _channel_dropout(who: str, x: Tensor, nd: int, p: float, training: bool, generator):
    """Dropout of whole channels of (N, C, *S) or unbatched (C, *S) with nd spatial dims."""
    if x.ndim not in (nd + 1, nd + 2):
        letters = {1: "L", 3: "D, H, W"}[nd]
        raise ValueError(f"{who}: expected input (N, C, {letters}) or unbatched (C, "
                         f"{letters}), got {tuple(x.shape)}")
    if x.ndim == nd + 1:
        return ops.squeeze(dropout2d(ops.unsqueeze(x, 0), p, training, generator), 0)
    return dropout2d(x, p, training, generator)


def dropout1d(x: Tensor, p: float = 0.5, training: bool = True, generator=None) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) with probability p, scale the rest by
    1/(1 − p); identity when not training."""
    return _channel_dropout("dropout1d", x, 1, p, training, generator)


def dropout3d(x: Tensor, p: float = 0.5, training: bool = True, generator=None) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) with probability p, scale the
    rest by 1/(1 − p); identity when not training."""
    return _channel_dropout("dropout3d", x, 3, p, training, generator)


class _ChannelDropout(Module):
    _fn = None

    def __init__(self, p: float = 0.5):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}(p={p!r}): p must be a probability in "
                             f"[0, 1]")
        self.p = float(p)

    def forward(self, x: Tensor) -> Tensor:
        return type(self)._fn(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout1d(_ChannelDropout):
    """Randomly zero entire channels of sequences in training, scaling the rest by 1/(1−p).

    Args:
        p: probability of dropping a channel (default 0.5).

    Shape:
        input (N, C, L) or (C, L) → same.

    Example:
        >>> gn.nn.Dropout1d(0.2)(gn.randn(8, 16, 10)).shape
        (8, 16, 10)
    """
    _fn = staticmethod(dropout1d)


class Dropout3d(_ChannelDropout):
    """Randomly zero entire channels of volumes in training, scaling the rest by 1/(1−p).

    Args:
        p: probability of dropping a channel (default 0.5).

    Shape:
        input (N, C, D, H, W) or (C, D, H, W) → same.

    Example:
        >>> gn.nn.Dropout3d(0.2)(gn.randn(2, 4, 3, 5, 5)).shape
        (2, 4, 3, 5, 5)
    """
    _fn = staticmethod(dropout3d)


def local_response_norm(x: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """b_c = a_c / (k + α/n · Σ_{c'} a_{c'}²)^β over the n = ``size`` neighbouring channels
    c' ∈ [c − n/2, c + (n − 1)/2] (zero beyond the edges), like ``F.local_response_norm``
    (composed of pad, average pooling and pow, as PyTorch computes it)."""
    if x.ndim < 3:
        raise ValueError(f"local_response_norm: expected input (N, C, *) with at least one "
                         f"spatial dim, got {tuple(x.shape)}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
        raise ValueError(f"local_response_norm(size={size!r}): expected a positive int")
    x = real_input(x, "local_response_norm")          # int/bool → float32 (x² overflows)
    sq = x * x
    N, C = x.shape[:2]
    if x.ndim == 3:
        div = ops.pad(ops.unsqueeze(sq, 1), (0, 0, size // 2, (size - 1) // 2))
        div = ops.squeeze(ops.avg_pool2d(div, (size, 1), stride=1), 1)
    else:
        div = ops.reshape(sq, N, 1, C, x.shape[2], int(np.prod(x.shape[3:])))
        div = ops.pad(div, (0, 0, 0, 0, size // 2, (size - 1) // 2))
        div = ops.reshape(ops.avg_pool3d(div, (size, 1, 1), stride=1), *x.shape)
    return x / (div * alpha + k) ** beta


class LocalResponseNorm(Module):
    r"""Local response normalisation across channels (AlexNet):
    b_c = a_c / (k + α/n · Σ_{c'} a_{c'}²)^β, the sum over the n neighbouring channels.

    Args:
        size: n, the number of neighbouring channels. alpha: α (1e-4). beta: β (0.75).
        k: additive constant (1.0).

    Shape:
        input (N, C, *) → output (N, C, *).

    Example:
        >>> gn.nn.LocalResponseNorm(2)(gn.randn(4, 8, 5, 5)).shape
        (4, 8, 5, 5)
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        check_positive_int("LocalResponseNorm", size=size)
        for key, v in (("alpha", alpha), ("beta", beta), ("k", k)):
            if isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
                raise TypeError(f"LocalResponseNorm({key}={v!r}): expected a number")
        self.size, self.alpha, self.beta, self.k = int(size), float(alpha), float(beta), \
            float(k)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 3:
            raise ValueError(f"LocalResponseNorm(size={self.size}): expected input (N, C, *) "
                             f"with a spatial dim, got {tuple(x.shape)}")
        return local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
