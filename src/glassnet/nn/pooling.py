"""Pooling and upsampling layers: MaxPool1d/2d/3d, AvgPool1d/2d/3d, MaxUnpool1d/2d/3d,
AdaptiveAvgPool1d/2d/3d, AdaptiveMaxPool1d/2d/3d, Upsample.

Shape glossary: N batch, C channels, L length, D depth, H height, W width, k kernel size,
s stride, p padding, d dilation.
"""
import numpy as np

from .. import ops
from ..ops import adaptive_pool, pool3d, pool_nd
from ..ops.conv import ntuple
from ..ops.interpolate import interpolate
from ..tensor import Tensor
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
           "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
           "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
           "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]


def _check(layer: str, x: Tensor, dims: str) -> None:
    n = len(dims.split(", "))
    if x.ndim != n + 2:
        raise ValueError(f"{layer}: expected input (N, C, {dims}), got {tuple(x.shape)}")


class _MaxPoolNd(Module):
    _dims = 2

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):
        super().__init__()
        name, n = type(self).__name__, self._dims
        self.kernel_size = ntuple(kernel_size, n, "kernel_size", name)
        self.stride = self.kernel_size if stride is None else ntuple(stride, n, "stride", name)
        self.padding = ntuple(padding, n, "padding", name)
        self.dilation = ntuple(dilation, n, "dilation", name)
        if min(self.kernel_size + self.stride + self.dilation) <= 0:
            raise ValueError(f"{name}: kernel_size {self.kernel_size}, stride {self.stride} "
                             f"and dilation {self.dilation} must be positive")
        if any(p > k // 2 for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"{name}(padding={padding}): padding must be at most half the "
                             f"kernel size {self.kernel_size}")
        self.ceil_mode, self.return_indices = bool(ceil_mode), bool(return_indices)

    def _pool(self, x: Tensor):
        if self.return_indices:
            return pool_nd.max_pool_with_indices(
                f"max_pool{self._dims}d", self._dims, x, self.kernel_size, self.stride,
                self.padding, self.dilation, self.ceil_mode)
        return self._op(x, self.kernel_size, self.stride, self.padding, self.dilation,
                        self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding="
                f"{self.padding}, dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool2d(_MaxPoolNd):
    r"""Max over k_h × k_w windows: keeps the strongest response of each feature map region.

    Args:
        kernel_size: k, an int or (k_h, k_w).
        stride: s (default: kernel_size). padding: p (≤ k/2, counts as −∞).
        dilation: d (default 1). ceil_mode: round the output size up instead of down.
        return_indices: also return the int64 flat index (within each H·W plane) of every
            maximum, for :class:`MaxUnpool2d`.

    Shape:
        input (N, C, H, W) → output (N, C, H_out, W_out),
        H_out = floor((H + 2p − d·(k − 1) − 1) / s) + 1 (ceil with ``ceil_mode``).
        With ``return_indices``: (output, indices), both (N, C, H_out, W_out).

    Example:
        >>> gn.nn.MaxPool2d(2)(gn.randn(64, 32, 28, 28)).shape
        (64, 32, 14, 14)
    """
    _dims = 2

    _op = staticmethod(ops.max_pool2d)

    def forward(self, x: Tensor):
        _check("MaxPool2d", x, "H, W")
        return self._pool(x)


class MaxPool1d(_MaxPoolNd):
    r"""Max over windows of length k along the last axis.

    Args: as :class:`MaxPool2d` with ints.

    Shape:
        input (N, C, L) → output (N, C, L_out), L_out = floor((L + 2p − d·(k − 1) − 1)/s) + 1.

    Example:
        >>> gn.nn.MaxPool1d(3, stride=2)(gn.randn(4, 8, 50)).shape
        (4, 8, 24)
    """
    _dims = 1

    _op = staticmethod(ops.max_pool1d)

    def forward(self, x: Tensor):
        _check("MaxPool1d", x, "L")
        return self._pool(x)


class AvgPool2d(Module):
    r"""Mean over k_h × k_w windows.

    Args:
        kernel_size, stride (default kernel_size), padding (zeros, ≤ k/2), ceil_mode: as
            :class:`MaxPool2d`.
        count_include_pad: count the zero padding in the divisor (default True).
        divisor_override: divide by this number instead.

    Shape:
        input (N, C, H, W) → output (N, C, H_out, W_out), H_out = floor((H + 2p − k)/s) + 1.

    Example:
        >>> gn.nn.AvgPool2d(2)(gn.randn(1, 3, 8, 8)).shape
        (1, 3, 4, 4)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__()
        self.kernel_size = ntuple(kernel_size, 2, "kernel_size", "AvgPool2d")
        self.stride = self.kernel_size if stride is None else ntuple(stride, 2, "stride",
                                                                     "AvgPool2d")
        self.padding = ntuple(padding, 2, "padding", "AvgPool2d")
        if min(self.kernel_size + self.stride) <= 0:
            raise ValueError(f"AvgPool2d: kernel_size {self.kernel_size} and stride "
                             f"{self.stride} must be positive")
        self.ceil_mode, self.count_include_pad = bool(ceil_mode), bool(count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, x: Tensor) -> Tensor:
        _check("AvgPool2d", x, "H, W")
        return ops.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                              self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool3d(_MaxPoolNd):
    r"""Max over k_d × k_h × k_w windows of volumes.

    Args: as :class:`MaxPool2d` with ints or (d, h, w) triples.

    Shape:
        input (N, C, D, H, W) → output (N, C, D_out, H_out, W_out),
        D_out = floor((D + 2p − d·(k − 1) − 1) / s) + 1 (ceil with ``ceil_mode``), H, W
        likewise. With ``return_indices``: (output, indices into each D·H·W volume).

    Example:
        >>> gn.nn.MaxPool3d(2)(gn.randn(2, 4, 8, 8, 8)).shape
        (2, 4, 4, 4, 4)
    """
    _dims = 3
    _op = staticmethod(pool3d.max_pool3d)

    def forward(self, x: Tensor):
        _check("MaxPool3d", x, "D, H, W")
        return self._pool(x)


class _AvgPoolNd(Module):
    _dims = 2

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__()
        name, n = type(self).__name__, self._dims
        self.kernel_size = ntuple(kernel_size, n, "kernel_size", name)
        self.stride = self.kernel_size if stride is None else ntuple(stride, n, "stride", name)
        self.padding = ntuple(padding, n, "padding", name)
        if min(self.kernel_size + self.stride) <= 0 or min(self.padding) < 0:
            raise ValueError(f"{name}: kernel_size {self.kernel_size} and stride "
                             f"{self.stride} must be positive, padding {self.padding} >= 0")
        if divisor_override is not None and (isinstance(divisor_override, bool) or
                                             not isinstance(divisor_override, (int, np.integer))
                                             or divisor_override <= 0):
            raise ValueError(f"{name}(divisor_override={divisor_override!r}): expected a "
                             f"positive int or None")
        self.ceil_mode, self.count_include_pad = bool(ceil_mode), bool(count_include_pad)
        self.divisor_override = divisor_override

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    r"""Mean over windows of length k along the last axis.

    Args: kernel_size, stride (default kernel_size), padding (zeros, ≤ k/2), ceil_mode,
    count_include_pad: as :class:`AvgPool2d`, with ints.

    Shape:
        input (N, C, L) → output (N, C, L_out), L_out = floor((L + 2p − k)/s) + 1.

    Example:
        >>> gn.nn.AvgPool1d(3, stride=2)(gn.randn(4, 8, 50)).shape
        (4, 8, 24)
    """
    _dims = 1

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True):
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)

    def forward(self, x: Tensor) -> Tensor:
        _check("AvgPool1d", x, "L")
        return pool_nd.avg_pool1d(x, self.kernel_size, self.stride, self.padding,
                                  self.ceil_mode, self.count_include_pad)


class AvgPool3d(_AvgPoolNd):
    r"""Mean over k_d × k_h × k_w windows of volumes.

    Args: as :class:`AvgPool2d`, with ints or (d, h, w) triples.

    Shape:
        input (N, C, D, H, W) → output (N, C, D_out, H_out, W_out),
        D_out = floor((D + 2p − k)/s) + 1 (ceil with ``ceil_mode``), H, W likewise.

    Example:
        >>> gn.nn.AvgPool3d(2)(gn.randn(1, 3, 4, 8, 8)).shape
        (1, 3, 2, 4, 4)
    """
    _dims = 3

    def forward(self, x: Tensor) -> Tensor:
        _check("AvgPool3d", x, "D, H, W")
        return pool_nd.avg_pool3d(x, self.kernel_size, self.stride, self.padding,
                                  self.ceil_mode, self.count_include_pad,
                                  self.divisor_override)


class _MaxUnpoolNd(Module):
    _dims = 2

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name, n = type(self).__name__, self._dims
        self.kernel_size = ntuple(kernel_size, n, "kernel_size", name)
        self.stride = self.kernel_size if stride is None else ntuple(stride, n, "stride", name)
        self.padding = ntuple(padding, n, "padding", name)
        if min(self.kernel_size + self.stride) <= 0 or min(self.padding) < 0:
            raise ValueError(f"{name}: kernel_size {self.kernel_size} and stride "
                             f"{self.stride} must be positive, padding {self.padding} >= 0")

    def forward(self, x: Tensor, indices: Tensor, output_size=None) -> Tensor:
        n = self._dims
        return pool_nd.max_unpool_nd(type(self).__name__, n, x, indices, self.kernel_size,
                                     self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


_UNPOOL_DOC = r"""Partial inverse of :class:`{pool}`: puts each value back at the position its
    ``indices`` (from ``{pool}(..., return_indices=True)``) name; every other output is zero.

    Args:
        kernel_size, stride (default kernel_size), padding: those of the pooling.

    Shape:
        input and indices (N, C, {dims}) → output (N, C, {outs}) with
        {first}_out = ({first} − 1)·s − 2p + k, or the ``output_size`` given to forward.

    Example:
        >>> pool, unpool = gn.nn.{pool}(2, return_indices=True), gn.nn.{cls}(2)
        >>> y, idx = pool(gn.randn({ex}))
        >>> unpool(y, idx).shape
        ({ex})
    """


class MaxUnpool1d(_MaxUnpoolNd):
    __doc__ = _UNPOOL_DOC.format(pool="MaxPool1d", cls="MaxUnpool1d", dims="L",
                                 outs="L_out", first="L", ex="1, 2, 8")
    _dims = 1


class MaxUnpool2d(_MaxUnpoolNd):
    __doc__ = _UNPOOL_DOC.format(pool="MaxPool2d", cls="MaxUnpool2d", dims="H, W",
                                 outs="H_out, W_out", first="H", ex="1, 2, 4, 6")
    _dims = 2


class MaxUnpool3d(_MaxUnpoolNd):
    __doc__ = _UNPOOL_DOC.format(pool="MaxPool3d", cls="MaxUnpool3d", dims="D, H, W",
                                 outs="D_out, H_out, W_out", first="D", ex="1, 2, 4, 4, 2")
    _dims = 3


class AdaptiveAvgPool2d(Module):
    r"""Average pooling to a fixed output size, whatever the input size.

    Output cell (i, j) averages rows floor(i·H/H_out) … ceil((i+1)·H/H_out) − 1 and the same
    columns; ``AdaptiveAvgPool2d(1)`` is global average pooling.

    Args:
        output_size: H_out and W_out: an int or (H_out, W_out); None keeps the input size.

    Shape:
        input (N, C, H, W) → output (N, C, H_out, W_out).

    Example:
        >>> gn.nn.AdaptiveAvgPool2d((5, 7))(gn.randn(1, 64, 8, 9)).shape
        (1, 64, 5, 7)
    """

    def __init__(self, output_size):
        super().__init__()
        pair = isinstance(output_size, (tuple, list))
        sizes = tuple(output_size) if pair else (output_size,)
        if (pair and len(sizes) != 2) or not all(
                s is None or (isinstance(s, (int, np.integer)) and not isinstance(s, bool)
                              and s >= 1) for s in sizes):
            raise ValueError(f"AdaptiveAvgPool2d(output_size={output_size!r}): expected a "
                             f"positive int or a pair of positive ints (or None)")
        self.output_size = sizes if pair else output_size

    def forward(self, x: Tensor) -> Tensor:
        _check("AdaptiveAvgPool2d", x, "H, W")
        if 0 in x.shape[2:]:
            raise ValueError(f"AdaptiveAvgPool2d: input {tuple(x.shape)} has an empty spatial "
                             f"dim")
        return ops.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class _AdaptivePoolNd(Module):
    _dims = 1

    def __init__(self, output_size, return_indices: bool = False):
        super().__init__()
        n, name = self._dims, type(self).__name__
        many = isinstance(output_size, (tuple, list))
        sizes = tuple(output_size) if many else (output_size,)
        if (many and len(sizes) != n) or not all(
                s is None or (isinstance(s, (int, np.integer)) and not isinstance(s, bool)
                              and s >= 1) for s in sizes):
            raise ValueError(f"{name}(output_size={output_size!r}): expected a positive int "
                             f"or {n} of them (None keeps that size)")
        self.output_size = sizes if many else output_size
        self.return_indices = bool(return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


_ADAPTIVE_DOC = r"""Adaptive {what} pooling to a fixed output size, whatever the input size.

    Output cell i of an axis of size n pooled to m covers floor(i·n/m) … ceil((i+1)·n/m) − 1.

    Args:
        output_size: an int or a tuple of {n} ({letters}_out); None keeps that input size.{extra}

    Shape:
        input (N, C, {letters}) → output (N, C, {outs}).

    Example:
        >>> gn.nn.{cls}({ex_arg})(gn.randn({ex_in})).shape
        ({ex_out})
    """
_INDICES = """
        return_indices: also return the int64 flat index of each maximum in its (n, c)
            plane (for the MaxUnpool layers)."""


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    __doc__ = _ADAPTIVE_DOC.format(what="average", n=1, letters="L", extra="", outs="L_out",
                                   cls="AdaptiveAvgPool1d", ex_arg="5", ex_in="2, 3, 12",
                                   ex_out="2, 3, 5")
    _dims = 1

    def __init__(self, output_size):
        super().__init__(output_size)

    def forward(self, x: Tensor) -> Tensor:
        return adaptive_pool.adaptive_avg_pool1d(x, self.output_size)


class AdaptiveAvgPool3d(_AdaptivePoolNd):
    __doc__ = _ADAPTIVE_DOC.format(what="average", n=3, letters="D, H, W", extra="",
                                   outs="D_out, H_out, W_out", cls="AdaptiveAvgPool3d",
                                   ex_arg="(2, 3, 3)", ex_in="1, 4, 5, 7, 7",
                                   ex_out="1, 4, 2, 3, 3")
    _dims = 3

    def __init__(self, output_size):
        super().__init__(output_size)

    def forward(self, x: Tensor) -> Tensor:
        return adaptive_pool.adaptive_avg_pool3d(x, self.output_size)


class AdaptiveMaxPool1d(_AdaptivePoolNd):
    __doc__ = _ADAPTIVE_DOC.format(what="max", n=1, letters="L", extra=_INDICES, outs="L_out",
                                   cls="AdaptiveMaxPool1d", ex_arg="5", ex_in="2, 3, 12",
                                   ex_out="2, 3, 5")
    _dims = 1

    def forward(self, x: Tensor):
        return adaptive_pool.adaptive_max_pool1d(x, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptivePoolNd):
    __doc__ = _ADAPTIVE_DOC.format(what="max", n=2, letters="H, W", extra=_INDICES,
                                   outs="H_out, W_out", cls="AdaptiveMaxPool2d",
                                   ex_arg="(5, 7)", ex_in="1, 64, 8, 9", ex_out="1, 64, 5, 7")
    _dims = 2

    def forward(self, x: Tensor):
        return adaptive_pool.adaptive_max_pool2d(x, self.output_size, self.return_indices)


class AdaptiveMaxPool3d(_AdaptivePoolNd):
    __doc__ = _ADAPTIVE_DOC.format(what="max", n=3, letters="D, H, W", extra=_INDICES,
                                   outs="D_out, H_out, W_out", cls="AdaptiveMaxPool3d",
                                   ex_arg="2", ex_in="1, 4, 5, 7, 7", ex_out="1, 4, 2, 2, 2")
    _dims = 3

    def forward(self, x: Tensor):
        return adaptive_pool.adaptive_max_pool3d(x, self.output_size, self.return_indices)


class Upsample(Module):
    r"""Upsampling (or resizing) of 1-d, 2-d or 3-d signals, like ``torch.nn.Upsample``.

    'nearest': output pixel i copies input pixel floor(i / scale_factor) (floor(i·H/H_out)
    when ``size`` is given). 'linear' / 'bilinear' / 'trilinear' interpolate between the two
    nearest input pixels along each axis, 'bicubic' between four (Keys' kernel, a = −0.75).
    See ``glassnet.ops.interpolate`` for the coordinate rules, identical to PyTorch's.

    Args:
        size: output size (int or tuple), or
        scale_factor: multiplier (number or tuple); give exactly one.
        mode: 'nearest' (default), 'nearest-exact', 'linear' (3-D input), 'bilinear',
            'bicubic' (4-D), 'trilinear' (5-D) or 'area'.
        align_corners: linear/cubic modes only: align the corner pixels' centres (True) or
            their outer edges (False, default behaviour).
        recompute_scale_factor: take the coordinate scale from the output size.

    Shape:
        input (N, C, H, W) → output (N, C, H_out, W_out), H_out = size or
        floor(H · scale_factor). Also (N, C, L) and (N, C, D, H, W).

    Example:
        >>> gn.nn.Upsample(scale_factor=2, mode="bilinear")(gn.randn(1, 8, 7, 7)).shape
        (1, 8, 14, 14)
    """

    _MODES = {"nearest": None, "nearest-exact": None, "area": None, "linear": 3,
              "bilinear": 4, "bicubic": 4, "trilinear": 5}

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest",
                 align_corners: bool | None = None, recompute_scale_factor: bool | None = None):
        super().__init__()
        name = type(self).__name__
        if mode not in self._MODES:
            raise ValueError(f"{name}(mode={mode!r}): expected one of {sorted(self._MODES)}")
        if align_corners is not None and self._MODES[mode] is None:
            raise ValueError(f"{name}(align_corners={align_corners!r}): only for the modes "
                             f"linear, bilinear, bicubic and trilinear, not {mode!r}")
        if (size is None) == (scale_factor is None):
            raise ValueError(f"{name}: give exactly one of size and scale_factor")
        arg, value = ("size", size) if size is not None else ("scale_factor", scale_factor)
        values = value if isinstance(value, (tuple, list)) else (value,)
        integral = arg == "size"
        if not 1 <= len(values) <= 3 or not all(
                not isinstance(v, bool) and isinstance(v, (int, np.integer) if integral else
                                                       (int, float, np.integer, np.floating))
                and 0 < v < float("inf") for v in values):
            raise ValueError(f"{name}({arg}={value!r}): expected a positive "
                             f"{'int' if integral else 'number'} or a tuple of them")
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, x: Tensor) -> Tensor:
        name, need = type(self).__name__, self._MODES[self.mode]
        if x.ndim not in (3, 4, 5) or need is not None and x.ndim != need:
            shape = {3: "(N, C, L)", 4: "(N, C, H, W)", 5: "(N, C, D, H, W)"}.get(
                need, "(N, C, L), (N, C, H, W) or (N, C, D, H, W)")
            raise ValueError(f"{name}(mode={self.mode!r}): expected input {shape}, got "
                             f"{tuple(x.shape)}")
        if 0 in x.shape[2:]:
            raise ValueError(f"{name}: input {tuple(x.shape)} has an empty spatial dim")
        arg = "size" if self.size is not None else "scale_factor"
        given = self.size if self.size is not None else self.scale_factor
        if isinstance(given, (tuple, list)) and len(given) != x.ndim - 2:
            raise ValueError(f"{name}({arg}={given!r}): {len(given)} values for {x.ndim - 2} "
                             f"spatial dims of input {tuple(x.shape)}")
        factors = given if isinstance(given, (tuple, list)) else (given,) * (x.ndim - 2)
        if self.scale_factor is not None and min(
                int(n * f) for n, f in zip(x.shape[2:], factors)) <= 0:
            raise ValueError(f"{name}(scale_factor={given!r}): empty output for input "
                             f"{tuple(x.shape)}")
        return interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                           self.recompute_scale_factor)

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else \
            f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    r"""Nearest-neighbour upsampling of images: ``Upsample(size, scale_factor,
    mode='nearest')``.

    Shape:
        input (N, C, H, W) → output (N, C, H_out, W_out), H_out = size or
        floor(H · scale_factor).

    Example:
        >>> gn.nn.UpsamplingNearest2d(scale_factor=2)(gn.randn(1, 3, 4, 4)).shape
        (1, 3, 8, 8)
    """

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")

    def forward(self, x: Tensor) -> Tensor:
        _check("UpsamplingNearest2d", x, "H, W")
        return super().forward(x)


class UpsamplingBilinear2d(Upsample):
    r"""Bilinear upsampling of images with aligned corners: ``Upsample(size, scale_factor,
    mode='bilinear', align_corners=True)``.

    Shape:
        input (N, C, H, W) → output (N, C, H_out, W_out), H_out = size or
        floor(H · scale_factor).

    Example:
        >>> gn.nn.UpsamplingBilinear2d(scale_factor=2)(gn.randn(1, 3, 4, 4)).shape
        (1, 3, 8, 8)
    """

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
