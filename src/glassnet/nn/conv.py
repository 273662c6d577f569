"""Convolution layers: Conv1d/2d/3d, ConvTranspose1d/2d/3d (thin shells over ``ops.conv`` and
``ops.conv_nd``).

Shape glossary: N batch, C_in / C_out channels, L length, D depth, H height, W width, k kernel size,
s stride, p padding, d dilation, G groups.
"""
import math

import numpy as np

from .. import ops
from ..ops.conv import check_fits, conv_padding, ntuple
from ..ops.conv_nd import conv3d, conv_transpose1d, conv_transpose3d
from ..tensor import Tensor
from . import init
from .linear import check_positive_int
from .module import Module, Parameter

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d"]

_PAD_MODES = {"zeros": None, "reflect": "reflect", "replicate": "replicate"}


class _ConvNd(Module):
    _dims = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 groups, bias, padding_mode, dtype, output_padding=0):
        super().__init__()
        name, n = type(self).__name__, self._dims
        check_positive_int(name, in_channels=in_channels, out_channels=out_channels,
                           groups=groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}(groups={groups}): in_channels={in_channels} and "
                             f"out_channels={out_channels} must both be divisible by groups")
        self.kernel_size = ntuple(kernel_size, n, "kernel_size", name)
        self.stride = ntuple(stride, n, "stride", name)
        self.dilation = ntuple(dilation, n, "dilation", name)
        if min(self.kernel_size + self.stride + self.dilation) <= 0:
            raise ValueError(f"{name}: kernel_size {self.kernel_size}, stride {self.stride} "
                             f"and dilation {self.dilation} must be positive")
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"{name}(padding_mode={padding_mode!r}): expected one of "
                             f"{sorted(_PAD_MODES)}")
        if self._transposed and (isinstance(padding, str) or padding_mode != "zeros"):
            raise ValueError(f"{name}(padding={padding!r}, padding_mode={padding_mode!r}): "
                             f"only int/tuple padding with zeros")
        self._pads = conv_padding(padding, self.kernel_size, self.dilation, self.stride, name)
        self.padding = padding if isinstance(padding, str) else ntuple(padding, n, "padding",
                                                                       name)
        self.output_padding = ntuple(output_padding, n, "output_padding", name)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.groups, self.padding_mode = int(groups), padding_mode
        shape = ((in_channels, out_channels // groups) if self._transposed
                 else (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform_(a=√5) for weight, U(±1/√fan_in) for bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _check_input(self, x: Tensor) -> Tensor:
        """Check rank and channels (naming the layer); returns a batched floating input."""
        shape = x.array.shape
        if len(shape) not in (self._dims + 1, self._dims + 2) or \
                shape[-self._dims - 1] != self.in_channels:
            dims = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}[self._dims]
            raise ValueError(f"{self._name()}: expected input (N, {self.in_channels}, "
                             f"{', '.join(dims)}), got {tuple(x.shape)}")
        if x.array.dtype != self.weight.array.dtype:
            if x.array.dtype.kind != "f":
                raise TypeError(f"{self._name()}: expected a floating input, got dtype "
                                f"{x.dtype}")
            x = x.to(self.weight.array.dtype)
        if not self._transposed:
            check_fits(self._name, shape[-self._dims:], self.kernel_size, self.dilation,
                       self._pads)
        return x

    def _name(self) -> str:
        return f"{type(self).__name__}(in_channels={self.in_channels})"

    def _conv(self, x):
        x, pad = self._padded(x)
        return self._op(x, self.weight, self.bias, self.stride, pad, self.dilation,
                        self.groups)

    def _padded(self, x: Tensor):
        """Apply a non-zero padding_mode explicitly; returns (x, padding for the conv op)."""
        mode = _PAD_MODES[self.padding_mode]
        if mode is None:
            return x, self.padding
        flat = tuple(v for before_after in reversed(self._pads) for v in before_after)
        return ops.pad(x, flat, mode=mode), 0

    def forward(self, x: Tensor) -> Tensor:
        x = self._check_input(x)
        unbatched = x.ndim == self._dims + 1
        if unbatched:
            x = ops.unsqueeze(x, 0)
        y = self._conv(x)
        return ops.squeeze(y, 0) if unbatched else y

    def forward_relu_pool(self, x: Tensor, pool, nchw: bool = False) -> Tensor | None:
        """``pool(relu(self(x)))`` as one op (``ops.conv2d_relu_pool``: the conv in blocks of
        images, each block pooled while in cache) for a 2-d conv and a MaxPool2d whose
        windows tile its output, or None where it does not apply (Sequential then runs the
        layers apart). ``nchw``: the output in (N, C, H, W) memory (a Flatten follows)."""
        if self._dims != 2 or self._transposed or self.groups != 1 or \
                self.padding_mode != "zeros" or pool.return_indices or pool.ceil_mode or \
                pool.stride != pool.kernel_size or pool.padding != (0, 0) or \
                pool.dilation != (1, 1):
            return None
        x = self._check_input(x)
        if x.ndim != 4:
            return None
        return ops.conv2d_relu_pool(x, self.weight, self.bias, self.stride, self._pads,
                                    self.dilation, pool.kernel_size, nchw)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._dims:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._dims:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._dims:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode!r}"
        return s


class Conv2d(_ConvNd):
    r"""2-D convolution: C_out learnable filters of size C_in/G × k_h × k_w scan the image.

    out[n, o] = bias[o] + Σ_c Σ_{a,b} weight[o, c, a, b] · x_pad[n, c, s·i + d·a, s·j + d·b]
    (a cross-correlation, as in every deep-learning library).

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size: k, an int or (k_h, k_w).
        stride: s (default 1). padding: p, an int, (p_h, p_w), ``'same'`` (stride 1 only,
            output size = input size) or ``'valid'`` (= 0). dilation: d (default 1).
        groups: G; channels split into G groups convolved independently (default 1).
        bias: learn a bias per output channel (default True).
        padding_mode: ``'zeros'`` (default), ``'reflect'`` or ``'replicate'``.

    Shape:
        input (N, C_in, H, W) → output (N, C_out, H_out, W_out) with
        H_out = floor((H + 2·p_h − d_h·(k_h − 1) − 1) / s_h) + 1, W_out likewise.

    Attributes:
        weight: (C_out, C_in/G, k_h, k_w), kaiming_uniform(a=√5) like PyTorch.
        bias: (C_out,), U(−1/√fan_in, 1/√fan_in) with fan_in = C_in/G · k_h · k_w.

    Example:
        >>> conv = gn.nn.Conv2d(1, 32, 3, padding=1)
        >>> conv(gn.randn(64, 1, 28, 28)).shape
        (64, 32, 28, 28)
    """
    _dims = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 *, dtype=np.float32):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype)

    _op = staticmethod(ops.conv2d)


class Conv1d(_ConvNd):
    r"""1-D convolution over sequences: filters of size C_in/G × k slide along L.

    Args: as :class:`Conv2d`, with ints (or 1-tuples) for kernel_size, stride, padding,
    dilation.

    Shape:
        input (N, C_in, L) → output (N, C_out, L_out),
        L_out = floor((L + 2p − d·(k − 1) − 1) / s) + 1.

    Attributes:
        weight: (C_out, C_in/G, k). bias: (C_out,). Initialised like PyTorch.

    Example:
        >>> gn.nn.Conv1d(16, 33, 3, stride=2)(gn.randn(20, 16, 50)).shape
        (20, 33, 24)
    """
    _dims = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 *, dtype=np.float32):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype)

    _op = staticmethod(ops.conv1d)


class ConvTranspose2d(_ConvNd):
    r"""Transposed 2-D convolution ("deconvolution"): each input pixel scatters a weighted
    k_h × k_w stamp into the output at stride s; it is the gradient of Conv2d w.r.t. its input
    and is used to upsample in decoders.

    Args:
        in_channels, out_channels, kernel_size, stride, dilation, bias: as :class:`Conv2d`.
        padding: p, removed from each side of the full output.
        output_padding: extra rows/columns added at the bottom/right (< stride or dilation),
            to pick among the input sizes a strided Conv2d maps to the same output size.
        groups: G; each group of C_in/G input channels makes C_out/G output channels.

    Shape:
        input (N, C_in, H, W) → output (N, C_out, H_out, W_out) with
        H_out = (H − 1)·s_h − 2·p_h + d_h·(k_h − 1) + output_padding_h + 1, W_out likewise.

    Attributes:
        weight: (C_in, C_out/G, k_h, k_w) (note the order), initialised like PyTorch.
        bias: (C_out,).

    Example:
        >>> up = gn.nn.ConvTranspose2d(64, 32, 2, stride=2)
        >>> up(gn.randn(8, 64, 14, 14)).shape
        (8, 32, 28, 28)
    """
    _dims = 2
    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", *, dtype=np.float32):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype, output_padding)
        if any(o >= max(s, d) for o, s, d in zip(self.output_padding, self.stride,
                                                 self.dilation)):
            raise ValueError(f"{type(self).__name__}(output_padding={self.output_padding}): "
                             f"must be smaller than stride {self.stride} or dilation "
                             f"{self.dilation}")

    _transpose_op = staticmethod(ops.conv_transpose2d)

    def forward(self, x: Tensor, output_size=None) -> Tensor:
        """``output_size`` (the spatial sizes, optionally with N and C in front) picks the
        output_padding that gives exactly that size, as in PyTorch."""
        x = self._check_input(x)
        unbatched = x.ndim == self._dims + 1
        if unbatched:
            x = ops.unsqueeze(x, 0)
        op = self.output_padding if output_size is None else self._output_padding(
            x, output_size)
        y = self._transpose_op(x, self.weight, self.bias, self.stride, self.padding, op,
                               self.groups, self.dilation)
        return ops.squeeze(y, 0) if unbatched else y

    def _output_padding(self, x: Tensor, output_size) -> tuple:
        n, name = self._dims, type(self).__name__
        sizes = tuple(output_size)[-n:] if isinstance(output_size, (tuple, list)) else None
        if sizes is None or len(tuple(output_size)) not in (n, n + 2) or not all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in sizes):
            raise ValueError(f"{name}(output_size={output_size!r}): expected {n} ints (or "
                             f"{n + 2} with N and C in front)")
        pads = []
        for i, want in enumerate(sizes):
            lo = ((x.shape[2 + i] - 1) * self.stride[i] - 2 * self.padding[i] +
                  self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            if not lo <= want <= lo + self.stride[i] - 1:
                raise ValueError(f"{name}(output_size={output_size!r}): size {want} of "
                                 f"spatial dim {i} is outside [{lo}, {lo + self.stride[i] - 1}]"
                                 f" for input {tuple(x.shape)}")
            pads.append(want - lo)
        return tuple(pads)


class Conv3d(_ConvNd):
    r"""3-D convolution over volumes (video clips, CT scans): filters of size
    C_in/G × k_d × k_h × k_w slide along depth, height and width.

    Args: as :class:`Conv2d`, with ints or (d, h, w) triples for kernel_size, stride,
    padding, dilation.

    Shape:
        input (N, C_in, D, H, W) → output (N, C_out, D_out, H_out, W_out) with
        D_out = floor((D + 2·p_d − d_d·(k_d − 1) − 1) / s_d) + 1, H_out and W_out likewise.

    Attributes:
        weight: (C_out, C_in/G, k_d, k_h, k_w). bias: (C_out,). Initialised like PyTorch.

    Example:
        >>> gn.nn.Conv3d(3, 8, 3, padding=1)(gn.randn(2, 3, 4, 16, 16)).shape
        (2, 8, 4, 16, 16)
    """
    _dims = 3

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 *, dtype=np.float32):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype)

    _op = staticmethod(conv3d)


class ConvTranspose1d(ConvTranspose2d):
    r"""Transposed 1-D convolution: each input step scatters a weighted length-k stamp into
    the output at stride s (the gradient of Conv1d w.r.t. its input; upsamples sequences).

    Args: as :class:`ConvTranspose2d`, with ints (or 1-tuples).

    Shape:
        input (N, C_in, L) → output (N, C_out, L_out),
        L_out = (L − 1)·s − 2p + d·(k − 1) + output_padding + 1.

    Attributes:
        weight: (C_in, C_out/G, k). bias: (C_out,). Initialised like PyTorch.

    Example:
        >>> gn.nn.ConvTranspose1d(16, 8, 4, stride=2, padding=1)(gn.randn(2, 16, 10)).shape
        (2, 8, 20)
    """
    _dims = 1
    _transpose_op = staticmethod(conv_transpose1d)


class ConvTranspose3d(ConvTranspose2d):
    r"""Transposed 3-D convolution (upsamples volumes): as :class:`ConvTranspose2d` with
    (d, h, w) triples.

    Shape:
        input (N, C_in, D, H, W) → output (N, C_out, D_out, H_out, W_out),
        D_out = (D − 1)·s_d − 2p_d + d_d·(k_d − 1) + output_padding_d + 1, likewise H, W.

    Attributes:
        weight: (C_in, C_out/G, k_d, k_h, k_w). bias: (C_out,).

    Example:
        >>> gn.nn.ConvTranspose3d(4, 2, 2, stride=2)(gn.randn(1, 4, 2, 3, 3)).shape
        (1, 2, 4, 6, 6)
    """
    _dims = 3
    _transpose_op = staticmethod(conv_transpose3d)
