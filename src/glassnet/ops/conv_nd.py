"""N-d convolutions on one generic channels-last path: conv3d, conv_transpose1d/3d and the
grouped conv_transpose2d (``ops/conv.py`` keeps its tuned 1-d/2-d paths untouched).

Shape letters: N batch, C_in / C_out channels, (D, H, W) or L spatial sizes, k kernel,
s stride, p padding, d dilation, G groups, K = k_1·…·k_n kernel taps.

* conv: the padded channels-last input (N, *S, C) is viewed as its windows
  (N, *S_out, *k, C) by stride tricks; one copy gives the per-group patch matrices
  (G, N·S_out, K·C_in/G) and one batched GEMM the output. Backward: dW = patchesᵀ·g (one
  batched GEMM), dx = col2im of g·Wᵀ (one sliced add per kernel tap, no ``np.add.at``).
* conv_transpose is the adjoint: x·W scatters each input pixel's k-stamp into the full
  output by col2im, then the padding is cropped. Its backward reads the (padded) output
  gradient's windows, exactly the forward of a conv.
"""
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..backend import xp_of
from ..tensor import Tensor, make
from ._util import same_device
from .conv import check_fits, conv_output_size, conv_padding, ntuple

__all__ = ["conv3d", "conv_transpose1d", "conv_transpose3d", "conv_transpose_nd"]


# -- channels-last N-d helpers ---------------------------------------------------------------
def channels_last(a: np.ndarray) -> np.ndarray:
    """(N, C, *S) → (N, *S, C) view."""
    return xp_of(a).moveaxis(a, 1, -1)


def channels_first(a: np.ndarray) -> np.ndarray:
    """(N, *S, C) → (N, C, *S) view."""
    return xp_of(a).moveaxis(a, -1, 1)


def pad_last(x: np.ndarray, pads: tuple) -> np.ndarray:
    """Zero-pad the spatial axes of a channels-last (N, *S, C) array by ((before, after), …)."""
    if not any(a or b for a, b in pads):
        return x
    shape = (x.shape[0],) + tuple(n + a + b for n, (a, b) in zip(x.shape[1:-1], pads)) + \
        (x.shape[-1],)
    out = xp_of(x).zeros(shape, dtype=x.dtype)
    out[inner(pads, x.shape[1:-1])] = x
    return out


def inner(pads: tuple, size: tuple) -> tuple:
    """Index of the un-padded part of a padded channels-last array."""
    return (slice(None),) + tuple(slice(a, a + n) for (a, _), n in zip(pads, size))


def windows_nd(xpad: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple,
               out_size: tuple) -> np.ndarray:
    """Read-only view (N, *S_out, *k, C) of the sliding windows of xpad (N, *S, C)."""
    st = xpad.strides
    shape = (xpad.shape[0],) + tuple(out_size) + tuple(kernel) + (xpad.shape[-1],)
    strides = (st[0],) + tuple(t * s for t, s in zip(st[1:-1], stride)) + \
        tuple(t * d for t, d in zip(st[1:-1], dilation)) + (st[-1],)
    if type(xpad) is np.ndarray:
        return as_strided(xpad, shape, strides, writeable=False)
    return xp_of(xpad).lib.stride_tricks.as_strided(xpad, shape, strides)


def col2im_nd(cols: np.ndarray, padded: tuple, stride: tuple, dilation: tuple) -> np.ndarray:
    """Adjoint of ``windows_nd``: add cols (N, *S_out, *k, C) back into (N, *padded, C)."""
    nd = len(padded)
    N, C = cols.shape[0], cols.shape[-1]
    out_size, kernel = cols.shape[1:1 + nd], cols.shape[1 + nd:1 + 2 * nd]
    out = xp_of(cols).zeros((N,) + tuple(padded) + (C,), dtype=cols.dtype)
    lead = (slice(None),) * (1 + nd)
    for tap in np.ndindex(*kernel):
        dst = (slice(None),) + tuple(slice(t * d, t * d + s * (o - 1) + 1, s) for t, d, s, o
                                     in zip(tap, dilation, stride, out_size))
        out[dst] += cols[lead + tap]
    return out


# -- convolution -----------------------------------------------------------------------------
def conv3d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """3-D cross-correlation, like ``torch.nn.functional.conv3d``.

    Args:
        x: (N, C_in, D, H, W). weight: (C_out, C_in / G, k_d, k_h, k_w). bias: (C_out,).
        stride, dilation: int or (d, h, w). padding: int, tuple, 'same' or 'valid'.

    Shape: D_out = floor((D + 2·p_d − d_d·(k_d − 1) − 1) / s_d) + 1, H_out, W_out likewise.
    """
    if x.ndim != 5 or weight.ndim != 5:
        raise ValueError(f"conv3d: expected input (N, C_in, D, H, W) and weight (C_out, "
                         f"C_in/G, k_d, k_h, k_w), got {tuple(x.shape)} and "
                         f"{tuple(weight.shape)}")
    k = tuple(weight.shape[2:])
    s = ntuple(stride, 3, "stride", "conv3d")
    d = ntuple(dilation, 3, "dilation", "conv3d")
    pads = conv_padding(padding, k, d, s, "conv3d")
    return conv_nd("conv3d", x, weight, bias, s, pads, d, groups)


def conv_nd(who: str, x: Tensor, weight: Tensor, bias, s: tuple, pads: tuple, d: tuple,
            G: int) -> Tensor:
    """Generic grouped cross-correlation over the n = x.ndim − 2 spatial axes."""
    N, C, *size = x.shape
    O, Cg, *k = weight.shape
    nd, k = len(size), tuple(k)
    if C != Cg * G or O % G:
        raise ValueError(f"{who}: input has {C} channels, weight {tuple(weight.shape)} with "
                         f"groups={G} expects {Cg * G} (and C_out divisible by groups)")
    check_fits(who, tuple(size), k, d, pads)
    same_device(who, x, weight, bias)
    out_size = tuple(conv_output_size(n, ki, si, sum(p), di)
                     for n, ki, si, p, di in zip(size, k, s, pads, d))
    xp = xp_of(x.array)
    xpad = pad_last(channels_last(x.array), pads)
    L, Og, KK = N * math.prod(out_size), O // G, math.prod(k)
    A = windows_nd(xpad, k, s, d, out_size).reshape(L, KK, G, Cg)     # the one copy
    A = xp.ascontiguousarray(A.transpose(2, 0, 1, 3)).reshape(G, L, KK * Cg)
    perm = (0,) + tuple(range(3, 3 + nd)) + (2, 1)                     # (G, *k, C_g, O_g)
    Wm = weight.array.reshape((G, Og, Cg) + k).transpose(perm).reshape(G, KK * Cg, Og)
    out = xp.matmul(A, Wm).transpose(1, 0, 2).reshape(L, O)
    if bias is not None:
        out += bias.array
    y = channels_first(out.reshape((N,) + out_size + (O,)))

    def backward(g):
        g3 = channels_last(g).reshape(L, G, Og).transpose(1, 0, 2)     # (G, L, O_g)
        gx = gw = gb = None
        if bias is not None and bias.requires_grad:
            gb = channels_last(g).reshape(L, O).sum(axis=0)
        if weight.requires_grad:
            gw = xp.matmul(A.transpose(0, 2, 1), g3).reshape((G,) + k + (Cg, Og))
            back = (0, 2 + nd, 1 + nd) + tuple(range(1, 1 + nd))
            gw = xp.ascontiguousarray(gw.transpose(back)).reshape((O, Cg) + k)
        if x.requires_grad:
            dA = xp.matmul(g3, Wm.transpose(0, 2, 1)).reshape(G, L, KK, Cg)
            dA = dA.transpose(1, 2, 0, 3).reshape((N,) + out_size + k + (C,))
            gx = channels_first(col2im_nd(dA, xpad.shape[1:-1], s, d)[inner(pads, size)])
        return gx, gw, gb
    return make(y, (x, weight, bias), backward, "ConvolutionBackward")


# -- transposed convolution ------------------------------------------------------------------
def conv_transpose1d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """Transposed 1-D convolution, like ``F.conv_transpose1d``.

    x (N, C_in, L), weight (C_in, C_out / G, k) → (N, C_out, L_out),
    L_out = (L − 1)·s − 2p + d·(k − 1) + output_padding + 1.
    """
    return conv_transpose_nd("conv_transpose1d", 1, x, weight, bias, stride, padding,
                             output_padding, groups, dilation)


def conv_transpose3d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """Transposed 3-D convolution: x (N, C_in, D, H, W), weight (C_in, C_out / G, k_d, k_h,
    k_w) → (N, C_out, D_out, H_out, W_out), sizes as in :func:`conv_transpose1d`."""
    return conv_transpose_nd("conv_transpose3d", 3, x, weight, bias, stride, padding,
                             output_padding, groups, dilation)


def conv_transpose_nd(who: str, nd: int, x: Tensor, weight: Tensor, bias, stride, padding,
                      output_padding, groups, dilation) -> Tensor:
    """Generic grouped transposed convolution over ``nd`` spatial axes (arguments checked
    and named after ``who``)."""
    if x.ndim != nd + 2 or weight.ndim != nd + 2:
        raise ValueError(f"{who}: expected input (N, C_in, {nd} spatial dims) and weight "
                         f"(C_in, C_out/G, {nd} kernel dims), got {tuple(x.shape)} and "
                         f"{tuple(weight.shape)}")
    N, Ci, *size = x.shape
    Ci_w, Og, *k = weight.shape
    G = groups
    if isinstance(G, bool) or not isinstance(G, (int, np.integer)) or G <= 0 or Ci % G:
        raise ValueError(f"{who}(groups={groups!r}): expected a positive divisor of the "
                         f"{Ci} input channels")
    if Ci != Ci_w:
        raise ValueError(f"{who}: input has {Ci} channels, weight {tuple(weight.shape)} "
                         f"expects {Ci_w}")
    k = tuple(k)
    s = ntuple(stride, nd, "stride", who)
    p = ntuple(padding, nd, "padding", who)
    op = ntuple(output_padding, nd, "output_padding", who)
    d = ntuple(dilation, nd, "dilation", who)
    if any(o >= max(a, b) for o, a, b in zip(op, s, d)):
        raise ValueError(f"{who}(output_padding={op}): must be smaller than stride {s} or "
                         f"dilation {d}")
    full = tuple((n - 1) * si + di * (ki - 1) + 1 + o
                 for n, si, di, ki, o in zip(size, s, d, k, op))
    out_size = tuple(f - 2 * pi for f, pi in zip(full, p))
    if min(out_size) <= 0:
        raise ValueError(f"{who}: padding {p} leaves no output for input {tuple(size)} "
                         f"(output size {out_size})")
    same_device(who, x, weight, bias)
    xp = xp_of(x.array)
    O, Cig, KK = Og * G, Ci // G, math.prod(k)
    Lin = N * math.prod(size)
    xg = channels_last(x.array).reshape(Lin, G, Cig).transpose(1, 0, 2)     # (G, L_in, C_ig)
    perm = (0, 1) + tuple(range(3, 3 + nd)) + (2,)                       # (G, C_ig, *k, O_g)
    Wm = weight.array.reshape((G, Cig, Og) + k).transpose(perm).reshape(G, Cig, KK * Og)
    cols = xp.matmul(xg, Wm).reshape(G, Lin, KK, Og).transpose(1, 2, 0, 3)  # (L, K, G, O_g)
    yfull = col2im_nd(cols.reshape((N,) + tuple(size) + k + (O,)), full, s, d)
    crop = tuple((pi, f - pi - o) for pi, f, o in zip(p, full, out_size))
    y = yfull[inner(crop, out_size)]
    if bias is not None:
        y = y + bias.array
    y = channels_first(y)

    def backward(g):
        gx = gw = gb = None
        gl = channels_last(g)
        if bias is not None and bias.requires_grad:
            gb = gl.reshape(-1, O).sum(axis=0)
        if x.requires_grad or weight.requires_grad:
            A = windows_nd(pad_last(gl, crop), k, s, d, tuple(size)).reshape(Lin, KK, G, Og)
            A = xp.ascontiguousarray(A.transpose(2, 0, 1, 3)).reshape(G, Lin, KK * Og)
            if x.requires_grad:
                gx = xp.matmul(A, Wm.transpose(0, 2, 1)).transpose(1, 0, 2)   # (L, G, C_ig)
                gx = channels_first(gx.reshape((N,) + tuple(size) + (Ci,)))
            if weight.requires_grad:
                gw = xp.matmul(xg.transpose(0, 2, 1), A).reshape((G, Cig) + k + (Og,))
                back = (0, 1, 2 + nd) + tuple(range(2, 2 + nd))
                gw = xp.ascontiguousarray(gw.transpose(back)).reshape((Ci, Og) + k)
        return gx, gw, gb
    return make(y, (x, weight, bias), backward, "ConvolutionBackward")
