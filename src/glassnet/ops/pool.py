"""Pooling and resampling: max_pool1d/2d, avg_pool2d, adaptive_avg_pool2d, upsample_nearest.

Like ``ops/conv.py`` these work channels-last inside: the window view (N, H_out, W_out, k_h,
k_w, C) comes from stride tricks, the forward reduces over the k_h·k_w offsets with one
vectorised NumPy call per offset, and the backward scatters with one sliced add per offset.
Plain loop versions for the tests live in ``ops/reference.py``.
"""
import math

import numpy as np

from ..backend import device_of, to_device, xp_of
from ..errors import ShapeError
from ..tensor import Tensor, is_grad_enabled, make
from . import _fast
from .conv import (CACHE_SIZE, nchw_view, nhwc_view, ntuple, offset_slice, pad_nhwc,
                   plain_args, windows)
from .pool_nd import max_pool_with_indices, pool_output_size, real_input
from .pool_nd import window_counts as _window_counts
from .shape import squeeze, unsqueeze

__all__ = ["max_pool1d", "max_pool2d", "max_pool2d_relu", "avg_pool2d", "adaptive_avg_pool2d",
           "upsample_nearest", "pool_output_size"]


def _pool_setup(who, x, kernel_size, stride, padding, dilation, ceil_mode):
    """Checked (kernel, stride, dilation, pads, output size); remembered per input size and
    arguments when these are plain ints/tuples (see ``conv.plain_args``)."""
    if x.ndim != 4:
        raise ValueError(f"{who}: expected input (N, C, H, W), got {tuple(x.shape)}")
    plain = plain_args(kernel_size, padding, dilation) and type(ceil_mode) is bool and (
        stride is None or plain_args(stride))
    key = (who, x.shape[2:], kernel_size, stride, padding, dilation, ceil_mode)
    found = _setups.get(key) if plain else None
    if found is None:
        found = _pool_geometry(who, x, kernel_size, stride, padding, dilation, ceil_mode)
        if plain:
            if len(_setups) >= CACHE_SIZE:      # many input sizes: start over
                _setups.clear()
            _setups[key] = found
    return found


_setups: dict = {}


def _pool_geometry(who, x, kernel_size, stride, padding, dilation, ceil_mode):
    k = ntuple(kernel_size, 2, "kernel_size", who)
    s = k if stride is None or stride == () or stride == [] else ntuple(stride, 2, "stride",
                                                                         who)
    p = ntuple(padding, 2, "padding", who)
    d = ntuple(dilation, 2, "dilation", who)
    if min(k + s + d) <= 0 or min(p) < 0:
        raise ValueError(f"{who}: kernel_size {k}, stride {s} and dilation {d} must be "
                         f"positive and padding {p} non-negative")
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise ValueError(f"{who}(padding={p}): padding must be at most half the kernel "
                         f"size {k}")
    H, W = x.shape[2:]
    out = tuple(pool_output_size(n, ki, si, pi, di, ceil_mode)
                for n, ki, si, pi, di in zip((H, W), k, s, p, d))
    if min(out) <= 0:
        raise ShapeError(f"{who}: kernel size {k} (dilation {d}) is larger than the padded "
                         f"input {(H + 2 * p[0], W + 2 * p[1])}")
    # pad after: enough for the last window (ceil_mode may need more than p)
    pads = tuple((pi, max(0, (o - 1) * si + di * (ki - 1) + 1 - n - pi))
                 for n, ki, si, pi, di, o in zip((H, W), k, s, p, d, out))
    return k, s, d, pads, out


def _offsets(kh, kw):
    return [(i, j) for i in range(kh) for j in range(kw)]


# -- max pooling -----------------------------------------------------------------------------
def max_pool2d(x: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Max over k_h×k_w windows, like ``torch.nn.functional.max_pool2d``.

    Shape: (N, C, H, W) → (N, C, H_out, W_out), H_out = floor((H + 2p − d·(k − 1) − 1)/s) + 1
    (ceil with ``ceil_mode``). ``stride`` defaults to ``kernel_size``. Padding counts as −∞.
    The gradient goes to the first maximum of each window (PyTorch's choice on ties); a
    window holding NaN outputs NaN and sends its gradient to its last NaN, as PyTorch does.
    The forward keeps, per kernel tap, one bool array "this tap took over the running max";
    the backward turns them into winner masks and writes g·mask into each tap's slice.
    With ``return_indices`` it returns (output, int64 flat indices into each H·W plane), by
    the generic path of ``ops/pool_nd.py`` (for max_unpool2d). Integer input gives an integer
    output (bool input becomes float32).
    """
    if isinstance(x, Tensor) and x.array.dtype.kind in "iu":
        # integers keep their dtype, as in PyTorch: pooled in float64 (exact below 2**53)
        r = max_pool2d(x.to(np.float64), kernel_size, stride, padding, dilation, ceil_mode,
                       return_indices)
        out = r[0] if return_indices else r
        out = Tensor(out.array.astype(x.array.dtype))
        return (out, r[1]) if return_indices else out
    if return_indices:
        return max_pool_with_indices("max_pool2d", 2, x, kernel_size, stride, padding,
                                     dilation, ceil_mode)
    x = real_input(x, "max_pool2d")
    k, s, d, pads, out_hw = _pool_setup("max_pool2d", x, kernel_size, stride, padding,
                                        dilation, ceil_mode)
    recording = x.requires_grad and is_grad_enabled()
    if not recording and _tiles_exactly(x.array, k, s, d, pads, out_hw):
        # inference: the windows tile the input, so the pool is one compiled pass (no winner
        # index; one image's 2×2 pool 14.5 → 5 µs), else k_h·k_w - 1 np.maximum calls over
        # strided views (np.maximum keeps NaN, as the running max and the kernel do)
        x4 = nhwc_view(x.array)
        kern = _fast.kernels()
        if kern is not None:
            N, H, W, C = x4.shape
            out = np.empty((N, H // k[0], W // k[1], C), x4.dtype)
            # one image stays on one thread (a team's wake-up costs more than its pool)
            _fast.step_kernel("max_pool_tiled_max", x4.size, FAST_POOL_MIN)(x4, k[0], k[1], out)
            _fast.note("max_pool2d")
            return make(nchw_view(out), (x,), None)
        taps = [x4[:, i::k[0], j::k[1]] for i in range(k[0]) for j in range(k[1])]
        out = np.maximum(taps[0], taps[1]) if len(taps) > 1 else taps[0].copy()
        for t in taps[2:]:
            np.maximum(out, t, out=out)
        return make(nchw_view(out), (x,), None)
    kern = _fast.kernels() if x.array.size >= FAST_POOL_MIN else None
    if kern is not None and _tiles_exactly(x.array, k, s, d, pads, out_hw):
        return _max_pool2d_tiled(x, k)
    xp = xp_of(x.array)
    xpad = pad_nhwc(nhwc_view(x.array), pads, value=-np.inf)
    win = windows(xpad, k, s, d, out_hw)
    offsets = _offsets(*k)
    out, better = _running_max(xp, [win[:, :, :, i, j] for i, j in offsets], recording)
    disjoint = all(si >= di * (ki - 1) + 1 for si, di, ki in zip(s, d, k))
    tiled = disjoint and s == k and xpad.shape[1:3] == tuple(o * ki for o, ki in zip(out_hw, k))

    def backward(g):
        gn = xp.ascontiguousarray(nhwc_view(g))   # one copy if g is NCHW (after Flatten)
        # every input cell lies in exactly one window when tiled: no zero fill needed
        gxp = (xp.empty if tiled else xp.zeros)(xpad.shape, dtype=g.dtype)
        for (i, j), won in zip(offsets, _winner_masks(better)):
            dst = gxp[offset_slice(i, j, s, d, out_hw)]
            if disjoint:
                xp.multiply(gn, won, out=dst)
            else:
                dst += gn * won
        (pt, _), (pl, _) = pads
        H, W = x.shape[2:]
        return (nchw_view(gxp[:, pt:pt + H, pl:pl + W]),)
    return make(nchw_view(out), (x,), backward, "MaxPool2DBackward")


# Training (a graph recorded): the compiled kernel with its winner index from this many
# elements (a batch's activations), and its threaded version from here on in inference too.
FAST_POOL_MIN = 1 << 17


def _tiles_exactly(a, k, s, d, pads, out_hw) -> bool:
    """True when the compiled tiled kernel applies: host float data in channels-last memory,
    windows = strides, no dilation or padding, and the windows cover the input exactly."""
    return (type(a) is np.ndarray and a.dtype in (np.float32, np.float64) and s == k
            and d == (1, 1) and not any(p for pair in pads for p in pair)
            and a.shape[2:] == (out_hw[0] * k[0], out_hw[1] * k[1]) and k[0] * k[1] < 255
            and nhwc_view(a).flags.c_contiguous)


def max_pool2d_relu(x: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                    ceil_mode: bool = False) -> Tensor | None:
    """``relu(max_pool2d(x, ...))`` as one op where the windows tile the input of float host
    data in channels-last memory (a conv's output): the compiled pool applies the ReLU in
    the same pass and its backward sends nothing through a window whose maximum was <= 0,
    so values and gradients are those of the two ops, bit for bit, without ReLU's passes.
    None, having done nothing, elsewhere (the caller runs the two ops)."""
    if not isinstance(x, Tensor) or x.array.dtype.kind != "f" or _fast.kernels() is None:
        return None
    k, s, d, pads, out_hw = _pool_setup("max_pool2d", x, kernel_size, stride, padding,
                                        dilation, ceil_mode)
    if not _tiles_exactly(x.array, k, s, d, pads, out_hw):
        return None
    if x.requires_grad and is_grad_enabled():
        return _max_pool2d_tiled(x, k, relu=True)
    x4 = nhwc_view(x.array)
    N, H, W, C = x4.shape
    out = np.empty((N, H // k[0], W // k[1], C), x4.dtype)
    _fast.step_kernel("max_pool_tiled_max", x4.size, FAST_POOL_MIN)(x4, k[0], k[1], out, True)
    _fast.note("max_pool2d")
    return make(nchw_view(out), (x,), None)


def _max_pool2d_tiled(x, k, relu: bool = False):
    """max_pool2d (then ReLU) by the compiled kernel of ``ops/_fast.py`` (same values and
    gradients)."""
    x4 = nhwc_view(x.array)
    N, H, W, C = x4.shape
    (kh, kw) = k
    out = np.empty((N, H // kh, W // kw, C), x4.dtype)
    idx = np.empty(out.shape, np.uint8)    # the winning tap of each window (255: ReLU's 0)
    _fast.step_kernel("max_pool_tiled", x4.size)(x4, kh, kw, out, idx, relu)
    _fast.note("max_pool2d")

    def backward(g):
        gn = np.ascontiguousarray(nhwc_view(g), dtype=x4.dtype)
        gx = np.empty_like(x4)
        _fast.step_kernel("max_pool_tiled_backward", x4.size)(gn, idx, kh, kw, gx,
                                                              x4.dtype.type(0))
        return (nchw_view(gx),)
    return make(nchw_view(out), (x,), backward,
                "MaxPool2DReluBackward" if relu else "MaxPool2DBackward")


def _running_max(xp, taps: list, track: bool):
    """Max over the window taps (each (N, H_out, W_out, C)) and, if ``track``, for each tap
    k ≥ 1 the bool array "tap k beats the max of taps 0..k−1" (PyTorch's scan: a strictly
    greater value or a NaN takes over, so ties keep the first maximum and NaN the last NaN).

    The maxima come from np.maximum (which propagates NaN); the strict comparisons are
    redone with the NaN rule only when the output holds a NaN.
    """
    if len(taps) == 1:
        return taps[0].copy(), []
    out = xp.maximum(taps[0], taps[1])
    better = [xp.greater(taps[1], taps[0]) if track else None]
    for t in taps[2:]:
        if track:
            better.append(xp.greater(t, out))
        xp.maximum(out, t, out=out)
    if track and xp.isnan(out).any():
        cur, better = taps[0].copy(), []
        for t in taps[1:]:
            b = xp.greater(t, cur) | xp.isnan(t)
            xp.copyto(cur, t, where=b)
            better.append(b)
    return out, better if track else None


def _winner_masks(better: list) -> list:
    """Masks "tap k holds the window's chosen maximum": the last tap that beat all before it
    (tap 0 where none did)."""
    masks, taken = [None] * (len(better) + 1), None
    for k in range(len(better), 0, -1):
        b = better[k - 1]
        masks[k] = b if taken is None else b & ~taken
        taken = b if taken is None else taken | b
    masks[0] = ~taken if taken is not None else True
    return masks


def max_pool1d(x: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Max over windows of length k: (N, C, L) → (N, C, L_out), L_out as in max_pool2d
    (with ``return_indices`` also the int64 indices into each length-L row)."""
    if return_indices:
        return max_pool_with_indices("max_pool1d", 1, x, kernel_size, stride, padding,
                                     dilation, ceil_mode)
    if x.ndim != 3:
        raise ValueError(f"max_pool1d: expected input (N, C, L), got {tuple(x.shape)}")
    k = ntuple(kernel_size, 1, "kernel_size", "max_pool1d")
    s = k if stride is None else ntuple(stride, 1, "stride", "max_pool1d")
    p = ntuple(padding, 1, "padding", "max_pool1d")
    d = ntuple(dilation, 1, "dilation", "max_pool1d")
    y = max_pool2d(unsqueeze(x, 2), (1,) + k, (1,) + s, (0,) + p, (1,) + d, ceil_mode)
    return squeeze(y, 2)


# -- average pooling -------------------------------------------------------------------------
def avg_pool2d(x: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over k_h×k_w windows, like ``torch.nn.functional.avg_pool2d``.

    Shape: (N, C, H, W) → (N, C, H_out, W_out), H_out = floor((H + 2p − k)/s) + 1 (ceil with
    ``ceil_mode``). With ``count_include_pad`` the zero padding counts in the divisor.
    """
    x = real_input(x, "avg_pool2d")
    k, s, d, pads, out_hw = _pool_setup("avg_pool2d", x, kernel_size, stride, padding, 1,
                                        ceil_mode)
    H, W = x.shape[2:]
    div = np.outer(*[_window_counts(n, ki, si, pi, o, count_include_pad)
                     for n, ki, si, (pi, _), o in zip((H, W), k, s, pads, out_hw)])
    if divisor_override:
        div = np.full(out_hw, float(divisor_override))
    inv = (1.0 / div).astype(x.array.dtype)[None, :, :, None]
    xp = xp_of(x.array)
    if xp is not np:
        inv = to_device(inv, device_of(x.array))
    xpad = pad_nhwc(nhwc_view(x.array), pads)
    win = windows(xpad, k, s, d, out_hw)
    out = win[:, :, :, 0, 0].copy()
    for i, j in _offsets(*k)[1:]:
        out += win[:, :, :, i, j]
    out *= inv

    def backward(g):
        gs = nhwc_view(g) * inv
        gxp = xp.zeros(xpad.shape, dtype=g.dtype)
        for i, j in _offsets(*k):
            gxp[offset_slice(i, j, s, d, out_hw)] += gs
        (pt, _), (pl, _) = pads
        return (nchw_view(gxp[:, pt:pt + H, pl:pl + W]),)
    return make(nchw_view(out), (x,), backward, "AvgPool2DBackward")


def _adaptive_windows(n_in: int, n_out: int) -> list:
    """Window i covers [floor(i·n/m), ceil((i+1)·n/m)) (PyTorch's adaptive pooling rule)."""
    return [((i * n_in) // n_out, -(-(i + 1) * n_in // n_out)) for i in range(n_out)]


def _mean_windows_last(x: np.ndarray, wins: list) -> np.ndarray:
    """Mean of each window along the last axis: (..., n_in) → (..., n_out)."""
    out = xp_of(x).empty(x.shape[:-1] + (len(wins),), dtype=x.dtype)
    for i, (a, b) in enumerate(wins):
        out[..., i] = x[..., a:b].mean(axis=-1)
    return out


def _spread_windows_last(g: np.ndarray, wins: list, n_in: int) -> np.ndarray:
    """Adjoint of ``_mean_windows_last``: (..., n_out) → (..., n_in)."""
    gx = xp_of(g).zeros(g.shape[:-1] + (n_in,), dtype=g.dtype)
    for i, (a, b) in enumerate(wins):
        gx[..., a:b] += g[..., i:i + 1] / g.dtype.type(b - a)
    return gx


def adaptive_avg_pool2d(x: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output size (H_out, W_out), like PyTorch.

    Output cell (i, j) averages rows [floor(i·H/H_out), ceil((i+1)·H/H_out)) and the same for
    columns. The mean is separable: first over each column window, then over each row window,
    one slice reduction per window, so a NaN or inf reaches only the output cells whose
    window holds it (a product with an averaging matrix would spread it: NaN·0 = NaN).
    Shape: (N, C, H, W) → (N, C, H_out, W_out); ``None`` in output_size keeps that size.
    """
    if x.ndim != 4:
        raise ValueError(f"adaptive_avg_pool2d: expected input (N, C, H, W), got "
                         f"{tuple(x.shape)}")
    x = real_input(x, "adaptive_avg_pool2d")
    H, W = x.shape[2:]
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size, output_size)
    Ho, Wo = (H if output_size[0] is None else output_size[0],
              W if output_size[1] is None else output_size[1])
    Ho, Wo = ntuple((Ho, Wo), 2, "output_size", "adaptive_avg_pool2d")
    if Ho <= 0 or Wo <= 0:
        raise ValueError(f"adaptive_avg_pool2d(output_size={output_size}): must be positive")
    wins_h, wins_w = _adaptive_windows(H, Ho), _adaptive_windows(W, Wo)
    cols = _mean_windows_last(x.array, wins_w)                            # (N, C, H, W_out)
    out = _mean_windows_last(cols.swapaxes(2, 3), wins_h).swapaxes(2, 3)   # (N, C, H_out, W_out)

    def backward(g):
        gcols = _spread_windows_last(g.swapaxes(2, 3), wins_h, H).swapaxes(2, 3)
        return (_spread_windows_last(gcols, wins_w, W),)
    return make(out, (x,), backward, "AdaptiveAvgPool2DBackward")


# -- upsampling ------------------------------------------------------------------------------
def upsample_nearest(x: Tensor, size=None, scale_factor=None) -> Tensor:
    """Nearest-neighbour upsampling of (N, C, H, W) (or (N, C, L)), like ``F.interpolate``.

    Output size: ``size`` if given, else floor(H · scale_factor). Output pixel i copies input
    pixel floor(i · H / H_out) (floor(i / scale_factor) when a scale factor is given).
    """
    nd = x.ndim - 2
    if nd not in (1, 2):
        raise ValueError(f"upsample_nearest: expected input (N, C, L) or (N, C, H, W), got "
                         f"{tuple(x.shape)}")
    if (size is None) == (scale_factor is None):
        raise ValueError("upsample_nearest: give exactly one of size and scale_factor")
    ins = x.shape[2:]
    if size is not None:
        outs = ntuple(size, nd, "size", "upsample_nearest")
        scales = [i / o for i, o in zip(ins, outs)]
    else:
        sf = (scale_factor,) * nd if np.isscalar(scale_factor) else tuple(scale_factor)
        outs = tuple(int(math.floor(i * f)) for i, f in zip(ins, sf))
        scales = [1.0 / f for f in sf]
    idx = [np.minimum(np.floor(np.arange(o) * sc).astype(np.int64), i - 1)
           for i, o, sc in zip(ins, outs, scales)]
    xd = x.array
    xp = xp_of(xd)
    if all(o % i == 0 and np.array_equal(ix, np.arange(o) // (o // i))
           for i, o, ix in zip(ins, outs, idx)):
        reps = [o // i for i, o in zip(ins, outs)]            # fast path: integer factors
        view_shape, bshape = xd.shape[:2], xd.shape[:2]
        for n, r in zip(ins, reps):
            view_shape, bshape = view_shape + (n, 1), bshape + (n, r)
        out = xp.broadcast_to(xd.reshape(view_shape), bshape).reshape(xd.shape[:2] + outs)

        def backward(g):
            return (g.reshape(bshape).sum(axis=tuple(range(3, 3 + 2 * nd, 2))),)
        return make(out, (x,), backward, "UpsampleNearestBackward")
    key = (slice(None), slice(None)) + tuple(
        ix if xp is np else to_device(ix, device_of(xd)) for ix in np.ix_(*idx))
    out = xd[key]

    def backward(g):
        gx = xp.zeros(xd.shape, dtype=g.dtype)
        xp.add.at(gx, key, g)
        return (gx,)
    return make(out, (x,), backward, "UpsampleNearestBackward")
