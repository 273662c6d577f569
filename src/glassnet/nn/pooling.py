"""Pooling layers: MaxPool1d/2d/3d, AvgPool1d/2d/3d, MaxUnpool1d/2d/3d,
AdaptiveAvgPool1d/2d/3d, AdaptiveMaxPool1d/2d/3d (upsampling: ``upsampling.py``).

One private base per kind, like PyTorch's ``_MaxPoolNd``: it validates the arguments of
``_dims`` spatial axes and calls the kind's op ``_op``; a public class adds its docstring.

Shape glossary: N batch, C channels, L length, D depth, H height, W width, k kernel size,
s stride, p padding, d dilation.
"""
import numpy as np

from .. import ops
from ..ops import adaptive_pool, pool3d, pool_nd
from ..ops.conv import ntuple
from ..tensor import Tensor
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
           "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
           "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d"]

_LETTERS = {1: "L", 2: "H, W", 3: "D, H, W"}


class _WindowPoolNd(Module):
    """kernel_size, stride (default: kernel_size) and padding over ``_dims`` axes."""
    _dims = 2

    def _set_window(self, kernel_size, stride, padding) -> None:
        name, n = type(self).__name__, self._dims
        self.kernel_size = ntuple(kernel_size, n, "kernel_size", name)
        self.stride = self.kernel_size if stride is None else ntuple(stride, n, "stride", name)
        self.padding = ntuple(padding, n, "padding", name)

    def _check_positive(self) -> None:
        if min(self.kernel_size + self.stride) <= 0 or min(self.padding) < 0:
            raise ValueError(f"{type(self).__name__}: kernel_size {self.kernel_size} and "
                             f"stride {self.stride} must be positive, padding {self.padding} "
                             f">= 0")

    def _check_input(self, x: Tensor) -> None:
        if x.ndim != self._dims + 2:
            raise ValueError(f"{type(self).__name__}: expected input (N, C, "
                             f"{_LETTERS[self._dims]}), got {tuple(x.shape)}")

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _MaxPoolNd(_WindowPoolNd):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):
        super().__init__()
        name, n = type(self).__name__, self._dims
        self._set_window(kernel_size, stride, padding)
        self.dilation = ntuple(dilation, n, "dilation", name)
        if min(self.kernel_size + self.stride + self.dilation) <= 0:
            raise ValueError(f"{name}: kernel_size {self.kernel_size}, stride {self.stride} "
                             f"and dilation {self.dilation} must be positive")
        if any(p > k // 2 for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"{name}(padding={padding}): padding must be at most half the "
                             f"kernel size {self.kernel_size}")
        self.ceil_mode, self.return_indices = bool(ceil_mode), bool(return_indices)

    def forward(self, x: Tensor):
        self._check_input(x)
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

    def forward_relu(self, x: Tensor) -> Tensor | None:
        """``relu(self(x))`` as one op (``ops.max_pool2d_relu``: the same values and
        gradients), or None where it does not apply (Sequential then runs the two apart)."""
        self._check_input(x)
        if self.return_indices:
            return None
        return ops.max_pool2d_relu(x, self.kernel_size, self.stride, self.padding,
                                   self.dilation, self.ceil_mode)


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


class _AvgPoolNd(_WindowPoolNd):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__()
        name = type(self).__name__
        self._set_window(kernel_size, stride, padding)
        self._check_positive()
        if divisor_override is not None and (isinstance(divisor_override, bool) or
                                             not isinstance(divisor_override, (int, np.integer))
                                             or divisor_override <= 0):
            raise ValueError(f"{name}(divisor_override={divisor_override!r}): expected a "
                             f"positive int or None")
        self.ceil_mode, self.count_include_pad = bool(ceil_mode), bool(count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        args = (self.kernel_size, self.stride, self.padding, self.ceil_mode,
                self.count_include_pad)
        if self.divisor_override is not None:       # AvgPool1d has none, like PyTorch's
            args += (self.divisor_override,)
        return self._op(x, *args)


class AvgPool2d(_AvgPoolNd):
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
    _dims = 2
    _op = staticmethod(ops.avg_pool2d)


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
    _op = staticmethod(pool_nd.avg_pool1d)

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True):
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)


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
    _op = staticmethod(pool_nd.avg_pool3d)


class _MaxUnpoolNd(_WindowPoolNd):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self._set_window(kernel_size, stride, padding)
        self._check_positive()

    def forward(self, x: Tensor, indices: Tensor, output_size=None) -> Tensor:
        return pool_nd.max_unpool_nd(type(self).__name__, self._dims, x, indices,
                                     self.kernel_size, self.stride, self.padding, output_size)


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


class _AdaptivePoolNd(Module):
    _dims = 1

    def __init__(self, output_size):
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

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class _AdaptiveAvgPoolNd(_AdaptivePoolNd):
    def forward(self, x: Tensor) -> Tensor:
        return self._op(x, self.output_size)


class _AdaptiveMaxPoolNd(_AdaptivePoolNd):
    def __init__(self, output_size, return_indices: bool = False):
        super().__init__(output_size)
        self.return_indices = bool(return_indices)

    def forward(self, x: Tensor):
        return self._op(x, self.output_size, self.return_indices)


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


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
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
    _dims = 2
    _op = staticmethod(ops.adaptive_avg_pool2d)

    def forward(self, x: Tensor) -> Tensor:     # the 1-d/3-d ops check these themselves
        if x.ndim != 4:
            raise ValueError(f"AdaptiveAvgPool2d: expected input (N, C, H, W), got "
                             f"{tuple(x.shape)}")
        if 0 in x.shape[2:]:
            raise ValueError(f"AdaptiveAvgPool2d: input {tuple(x.shape)} has an empty spatial "
                             f"dim")
        return super().forward(x)


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    __doc__ = _ADAPTIVE_DOC.format(what="average", n=1, letters="L", extra="", outs="L_out",
                                   cls="AdaptiveAvgPool1d", ex_arg="5", ex_in="2, 3, 12",
                                   ex_out="2, 3, 5")
    _dims = 1
    _op = staticmethod(adaptive_pool.adaptive_avg_pool1d)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    __doc__ = _ADAPTIVE_DOC.format(what="average", n=3, letters="D, H, W", extra="",
                                   outs="D_out, H_out, W_out", cls="AdaptiveAvgPool3d",
                                   ex_arg="(2, 3, 3)", ex_in="1, 4, 5, 7, 7",
                                   ex_out="1, 4, 2, 3, 3")
    _dims = 3
    _op = staticmethod(adaptive_pool.adaptive_avg_pool3d)


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    __doc__ = _ADAPTIVE_DOC.format(what="max", n=1, letters="L", extra=_INDICES, outs="L_out",
                                   cls="AdaptiveMaxPool1d", ex_arg="5", ex_in="2, 3, 12",
                                   ex_out="2, 3, 5")
    _dims = 1
    _op = staticmethod(adaptive_pool.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    __doc__ = _ADAPTIVE_DOC.format(what="max", n=2, letters="H, W", extra=_INDICES,
                                   outs="H_out, W_out", cls="AdaptiveMaxPool2d",
                                   ex_arg="(5, 7)", ex_in="1, 64, 8, 9", ex_out="1, 64, 5, 7")
    _dims = 2
    _op = staticmethod(adaptive_pool.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    __doc__ = _ADAPTIVE_DOC.format(what="max", n=3, letters="D, H, W", extra=_INDICES,
                                   outs="D_out, H_out, W_out", cls="AdaptiveMaxPool3d",
                                   ex_arg="2", ex_in="1, 4, 5, 7, 7", ex_out="1, 4, 2, 2, 2")
    _dims = 3
    _op = staticmethod(adaptive_pool.adaptive_max_pool3d)
