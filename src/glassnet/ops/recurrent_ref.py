"""Plain step-by-step recurrent layers built only from primitive ops (the reference).

Same signature and results as :func:`glassnet.ops.recurrent.recurrent_layer`, but every step
and gate is its own small graph node (linear, sigmoid, tanh, mul, add ...), so autograd derives
the backward through time by itself. Slow; it exists so the tests can prove the fused kernel
right, and to read the equations in code.
"""
from ..backend import device_of, to_device, to_host
from ..tensor import Tensor
from .activation import relu, sigmoid, tanh
from .matmul import linear
from .shape import getitem, stack

__all__ = ["recurrent_layer_reference"]


def recurrent_layer_reference(mode: str, x: Tensor, h0: Tensor, c0, w_ih: Tensor,
                              w_hh: Tensor, b_ih=None, b_hh=None, lengths=None,
                              reverse: bool = False):
    """Reference for ``recurrent_layer``: returns ``(out, h_n, c_n)`` (see there)."""
    L = x.shape[0]
    H = w_hh.shape[1]
    h, c = h0, c0
    outs = [None] * L
    if lengths is not None:                             # (N,) valid lengths on x's device
        lens = to_device(to_host(lengths), device_of(x.array))
    for t in (range(L - 1, -1, -1) if reverse else range(L)):
        gi = linear(getitem(x, t), w_ih, b_ih)          # W_ih x_t + b_ih
        gh = linear(h, w_hh, b_hh)                      # W_hh h_{t-1} + b_hh
        if mode == "LSTM":
            a = gi + gh
            i = sigmoid(a[:, :H])
            f = sigmoid(a[:, H:2 * H])
            g = tanh(a[:, 2 * H:3 * H])
            o = sigmoid(a[:, 3 * H:])
            c_new = f * c + i * g
            h_new = o * tanh(c_new)
        elif mode == "GRU":
            r = sigmoid(gi[:, :H] + gh[:, :H])
            z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
            n = tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
            h_new = (1 - z) * n + z * h
        else:
            a = gi + gh
            h_new = tanh(a) if mode == "RNN_TANH" else relu(a)
        if lengths is not None:                         # keep the state on padded steps
            m = Tensor((t < lens).astype(x.dtype)[:, None])
            h_new = m * h_new + (1 - m) * h
            if mode == "LSTM":
                c_new = m * c_new + (1 - m) * c
            outs[t] = m * h_new
        else:
            outs[t] = h_new
        h = h_new
        if mode == "LSTM":
            c = c_new
    return stack(outs, 0), h, (c if mode == "LSTM" else None)
