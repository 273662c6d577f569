"""unfold (im2col) and fold (col2im) of images, like ``F.unfold`` / ``F.fold``; each is the
other's adjoint, so each one's backward is the other.

Shape letters: N batch, C channels, (H, W) image size, (k_h, k_w) kernel, L = number of
sliding blocks = H_out·W_out, H_out = floor((H + 2p − d·(k − 1) − 1)/s) + 1.
Column order is PyTorch's: channel-major, then kernel row, then kernel column
(row c·k_h·k_w + i·k_w + j of a block).

Exposed as ``glassnet.nn.functional.unfold/fold`` (not star-exported into ``glassnet.ops``,
whose ``unfold`` is ``Tensor.unfold(dim, size, step)``).
"""
from ..backend import xp_of
from ..tensor import Tensor, make
from .conv import conv_output_size, ntuple
from .conv_nd import channels_first, channels_last, col2im_nd, inner, pad_last, windows_nd
from .pool_nd import real_input

__all__ = ["unfold", "fold"]


def _args(who, kernel_size, dilation, padding, stride):
    k = ntuple(kernel_size, 2, "kernel_size", who)
    d = ntuple(dilation, 2, "dilation", who)
    p = ntuple(padding, 2, "padding", who)
    s = ntuple(stride, 2, "stride", who)
    if min(k + d + s) <= 0 or min(p) < 0:
        raise ValueError(f"{who}: kernel_size {k}, dilation {d} and stride {s} must be "
                         f"positive and padding {p} non-negative")
    return k, d, tuple((v, v) for v in p), s


def _blocks(who, size, k, d, pads, s) -> tuple:
    out = tuple(conv_output_size(n, ki, si, sum(pi), di)
                for n, ki, si, pi, di in zip(size, k, s, pads, d))
    if min(out) <= 0:
        raise ValueError(f"{who}: kernel {k} (dilation {d}) does not fit the padded input "
                         f"{tuple(n + sum(pi) for n, pi in zip(size, pads))}")
    return out


def _im2col(xd, k, d, pads, s, out):
    """(N, C, H, W) array → (N, C·k_h·k_w, L) array."""
    N, C = xd.shape[:2]
    win = windows_nd(pad_last(channels_last(xd), pads), k, s, d, out)   # (N, Ho, Wo, kh, kw, C)
    cols = win.transpose(0, 5, 3, 4, 1, 2)                               # (N, C, kh, kw, Ho, Wo)
    return xp_of(xd).ascontiguousarray(cols).reshape(N, C * k[0] * k[1], out[0] * out[1])


def _col2im(cd, C, size, k, d, pads, s, out):
    """(N, C·k_h·k_w, L) array → (N, C, H, W) array (overlapping blocks add up)."""
    N = cd.shape[0]
    cols = cd.reshape(N, C, k[0], k[1], out[0], out[1]).transpose(0, 4, 5, 2, 3, 1)
    padded = tuple(n + sum(pi) for n, pi in zip(size, pads))
    return channels_first(col2im_nd(cols, padded, s, d)[inner(pads, size)])


def unfold(x: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding k_h×k_w blocks: (N, C, H, W) → (N, C·k_h·k_w, L)."""
    if x.ndim != 4:
        raise ValueError(f"unfold: expected input (N, C, H, W), got {tuple(x.shape)}")
    k, d, pads, s = _args("unfold", kernel_size, dilation, padding, stride)
    x = real_input(x, "unfold")                   # int/bool → float32, as for pooling
    N, C, H, W = x.shape
    out = _blocks("unfold", (H, W), k, d, pads, s)
    y = _im2col(x.array, k, d, pads, s, out)

    def backward(g):
        return (_col2im(g, C, (H, W), k, d, pads, s, out),)
    return make(y, (x,), backward, "Im2ColBackward")


def fold(x: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum sliding blocks back into an image: (N, C·k_h·k_w, L) → (N, C, H, W) with
    (H, W) = output_size; L must be the number of blocks of that image."""
    if x.ndim != 3:
        raise ValueError(f"fold: expected input (N, C·k_h·k_w, L), got {tuple(x.shape)}")
    size = ntuple(output_size, 2, "output_size", "fold")
    k, d, pads, s = _args("fold", kernel_size, dilation, padding, stride)
    kk = k[0] * k[1]
    out = _blocks("fold", size, k, d, pads, s)
    if x.shape[1] % kk or x.shape[2] != out[0] * out[1]:
        raise ValueError(f"fold: input {tuple(x.shape)} does not match kernel {k} and "
                         f"output_size {size}: expected (N, C·{kk}, {out[0] * out[1]})")
    C = x.shape[1] // kk
    x = real_input(x, "fold")                     # sums: int/bool → float32
    y = _col2im(x.array, C, size, k, d, pads, s, out)

    def backward(g):
        return (_im2col(g, k, d, pads, s, out),)
    return make(y, (x,), backward, "Col2ImBackward")
