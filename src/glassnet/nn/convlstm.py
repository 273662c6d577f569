r"""ConvLSTM2d: an LSTM whose gates are convolutions, for sequences of images (video).

Shape letters: L sequence length, N batch, C_in input channels, C_h = hidden_channels, H, W
height and width (kept: every convolution is 'same', stride 1), k_h, k_w kernel size.
"""
import math

import numpy as np

from .. import ops
from ..ops.conv import ntuple
from ..ops.convlstm import convlstm2d
from ..tensor import Tensor
from . import init
from .linear import check_positive_int
from .module import Module, Parameter

__all__ = ["ConvLSTM2d"]


class ConvLSTM2d(Module):
    r"""Convolutional LSTM layer (Shi et al. 2015), one layer, one direction.

    The hidden state h and the cell c are images (N, C_h, H, W). At every step t one
    'same' convolution over the channel concatenation [x_t, h_{t-1}] gives the four gates::

        [a_i, a_f, a_g, a_o] = W ⋆ [x_t, h_{t-1}] + b
        i, f, o = σ(a_i), σ(a_f), σ(a_o);   g = tanh(a_g)
        c_t = f ⊙ c_{t-1} + i ⊙ g;          h_t = o ⊙ tanh(c_t)

    Peephole-free: the paper's extra W_ci ⊙ c, W_cf ⊙ c, W_co ⊙ c terms are left out, as in
    most implementations (they add little and break the single-convolution form).

    Runs as one fused graph op (``glassnet.ops.convlstm.convlstm2d``: im2col + GEMM per
    step, hand-written backward through time); ``convlstm2d_reference`` is the step-by-step
    version from primitive ops, and the tests prove the two agree.

    Devices: the fused op works through the input's array module (``backend.xp_of``) and
    creates the zero initial state on the input's device; input, state and layer must share
    one device (an error names both otherwise). Off the CPU it also needs the patch helpers
    of ``ops/conv.py`` converted (see docs/gpu.md, "Not converted yet").

    Args:
        input_channels: C_in, channels of each input frame x_t.
        hidden_channels: C_h, channels of h and c.
        kernel_size: k, an int or (k_h, k_w); the padding is chosen so H, W are kept
            ('same'; for even k the extra row/column is padded at the bottom/right).
        bias: learn b (default True).
        batch_first: input and output are (N, L, ·) instead of (L, N, ·) (default False).
        dtype: keyword-only parameter dtype (default float32).

    Forward: ``layer(input, hx=None)``
        input: (L, N, C_in, H, W), or (N, L, C_in, H, W) with batch_first.
        hx: (h_0, c_0), each (N, C_h, H, W), or None for zeros.

    Returns:
        ``(output, (h_n, c_n))``: output (L, N, C_h, H, W) (or (N, L, ...) with batch_first),
        the hidden state of every step; h_n, c_n (N, C_h, H, W), the final state.

    Attributes:
        weight: (4·C_h, C_in + C_h, k_h, k_w), gate blocks i, f, g, o along dim 0; input
            channels then hidden channels along dim 1. bias: (4·C_h,). Both initialised
            U(−1/√fan_in, 1/√fan_in), fan_in = (C_in + C_h)·k_h·k_w, like PyTorch's Conv2d.

    Example:
        >>> layer = gn.nn.ConvLSTM2d(1, 16, 3, batch_first=True)
        >>> out, (h, c) = layer(gn.randn(4, 10, 1, 16, 16))
        >>> out.shape, h.shape
        ((4, 10, 16, 16, 16), (4, 16, 16, 16))
    """

    def __init__(self, input_channels: int, hidden_channels: int, kernel_size=3,
                 bias: bool = True, batch_first: bool = False, *, dtype=np.float32):
        super().__init__()
        check_positive_int("ConvLSTM2d", input_channels=input_channels,
                           hidden_channels=hidden_channels)
        self.kernel_size = ntuple(kernel_size, 2, "kernel_size", "ConvLSTM2d")
        if min(self.kernel_size) <= 0:
            raise ValueError(f"ConvLSTM2d(kernel_size={kernel_size!r}): must be positive")
        self.input_channels, self.hidden_channels = int(input_channels), int(hidden_channels)
        self.batch_first = bool(batch_first)
        self.weight = Parameter(np.empty((4 * hidden_channels, input_channels +
                                          hidden_channels) + self.kernel_size, dtype))
        if bias:
            self.bias = Parameter(np.empty(4 * hidden_channels, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """U(−1/√fan_in, 1/√fan_in) for weight and bias (PyTorch's Conv2d default)."""
        fan_in = self.weight.shape[1] * self.kernel_size[0] * self.kernel_size[1]
        k = 1 / math.sqrt(fan_in)
        init.uniform_(self.weight, -k, k)
        if self.bias is not None:
            init.uniform_(self.bias, -k, k)

    def forward(self, input: Tensor, hx=None):
        name = f"ConvLSTM2d(input_channels={self.input_channels})"
        if not isinstance(input, Tensor):
            input = Tensor(input)
        if input.ndim != 5 or input.shape[2] != self.input_channels:
            want = "(N, L, C_in, H, W)" if self.batch_first else "(L, N, C_in, H, W)"
            raise ValueError(f"{name}: expected input {want} with C_in={self.input_channels}, "
                             f"got {tuple(input.shape)}")
        dt = self.weight.array.dtype
        if input.array.dtype != dt:
            if input.array.dtype.kind != "f":
                raise TypeError(f"{name}: expected a floating input, got dtype {input.dtype}")
            input = input.to(dt)
        x = ops.transpose(input, 0, 1) if self.batch_first else input
        h0 = c0 = None
        if hx is not None:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{name}: expected hx as a tuple (h_0, c_0), got "
                                f"{type(hx).__name__}")
            h0, c0 = (s if isinstance(s, Tensor) else Tensor(s) for s in hx)
            h0, c0 = (s.to(dt) if s.array.dtype != dt else s for s in (h0, c0))
        out, h_n, c_n = convlstm2d(x, h0, c0, self.weight, self.bias)
        if self.batch_first:
            out = ops.transpose(out, 0, 1)
        return out, (h_n, c_n)

    def extra_repr(self) -> str:
        s = f"{self.input_channels}, {self.hidden_channels}, kernel_size={self.kernel_size}"
        if self.bias is None:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        return s
