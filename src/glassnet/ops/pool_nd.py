"""N-d pooling on one generic channels-last path: avg_pool1d/3d, max pooling with
``return_indices`` (1-d, 2-d, 3-d) and max_unpool1d/2d/3d (max_pool3d without indices is two
2-d passes, ``ops/pool3d.py``). ``ops/pool.py`` keeps its tuned
2-d paths (no indices) untouched.

Shape letters: N batch, C channels, S = (D, H, W), (H, W) or (L,) spatial sizes, k kernel,
s stride, p padding, d dilation, K = k_1·…·k_n window taps.

* max: the (−∞-padded) channels-last windows (N, *S_out, *k, C) are copied once to
  (N, *S_out, K, C); argmax picks each window's first maximum (the last NaN when the window
  holds one, as PyTorch's scan does). The flat index of the winner in its (n, c) plane of
  the un-padded input is what PyTorch returns as ``indices``; backward adds g at those
  indices (one ``bincount``).
* avg: one sliced add per tap over the zero-padded windows, times 1/divisor (a separable
  product of per-axis window sizes); backward is the adjoint (col2im).
* max_unpool: writes each value at its index in a zero output; backward gathers g there.
"""
import math

import numpy as np

from ..backend import device_of, to_device, xp_of
from ..tensor import Tensor, make
from .conv import ntuple
from .conv_nd import channels_first, channels_last, col2im_nd, inner, windows_nd

__all__ = ["avg_pool1d", "avg_pool3d", "max_pool_with_indices", "max_unpool1d",
           "max_unpool2d", "max_unpool3d", "pool_output_size"]


def real_input(x: Tensor, who: str) -> Tensor:
    """Integer/bool inputs become float32 (pooling averages and pads with −∞); complex or
    other dtypes raise a TypeError naming ``who``."""
    kind = x.array.dtype.kind
    if kind == "f":
        return x
    if kind in "iub":
        return x.to(np.float32)
    raise TypeError(f"{who}: expected a real-valued input, got dtype {x.dtype}")


def pool_output_size(size: int, kernel: int, stride: int, pad: int, dilation: int = 1,
                     ceil_mode: bool = False) -> int:
    """floor (or ceil) ((size + 2p − d·(k − 1) − 1) / s) + 1; with ceil_mode the last window
    must start inside the input or the left padding (PyTorch's rule)."""
    num = size + 2 * pad - dilation * (kernel - 1) - 1
    out = (-(-num // stride) if ceil_mode else num // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def window_counts(n, k, s, p, n_out, include_pad):
    """Per-axis divisor of average pooling: the window's size clipped to the padded input
    (``include_pad``) or to the input itself."""
    start = np.arange(n_out) * s - p
    end = np.minimum(start + k, n + p)
    if include_pad:
        return (end - start).astype(np.float64)
    return (np.minimum(end, n) - np.maximum(start, 0)).astype(np.float64)


def pool_setup(who: str, x: Tensor, nd: int, kernel_size, stride, padding, dilation,
               ceil_mode):
    """Check the arguments (errors name ``who``) → (k, s, d, pads, out_size)."""
    letters = {1: "L", 2: "H, W", 3: "D, H, W"}[nd]
    if x.ndim != nd + 2:
        raise ValueError(f"{who}: expected input (N, C, {letters}), got {tuple(x.shape)}")
    k = ntuple(kernel_size, nd, "kernel_size", who)
    s = k if stride is None or stride == () or stride == [] else ntuple(stride, nd, "stride",
                                                                         who)
    p = ntuple(padding, nd, "padding", who)
    d = ntuple(dilation, nd, "dilation", who)
    if min(k + s + d) <= 0 or min(p) < 0:
        raise ValueError(f"{who}: kernel_size {k}, stride {s} and dilation {d} must be "
                         f"positive and padding {p} non-negative")
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise ValueError(f"{who}(padding={p}): padding must be at most half the kernel "
                         f"size {k}")
    size = tuple(x.shape[2:])
    out = tuple(pool_output_size(n, ki, si, pi, di, ceil_mode)
                for n, ki, si, pi, di in zip(size, k, s, p, d))
    if min(out) <= 0:
        raise ValueError(f"{who}: kernel size {k} (dilation {d}) is larger than the padded "
                         f"input {tuple(n + 2 * pi for n, pi in zip(size, p))}")
    pads = tuple((pi, max(0, (o - 1) * si + di * (ki - 1) + 1 - n - pi))
                 for n, ki, si, pi, di, o in zip(size, k, s, p, d, out))
    return k, s, d, pads, out


def _padded(xl: np.ndarray, pads: tuple, value) -> np.ndarray:
    shape = (xl.shape[0],) + tuple(n + a + b for n, (a, b) in zip(xl.shape[1:-1], pads)) + \
        (xl.shape[-1],)
    out = xp_of(xl).full(shape, value, dtype=xl.dtype)
    out[inner(pads, xl.shape[1:-1])] = xl
    return out


# -- max pooling with indices ----------------------------------------------------------------
def max_pool_with_indices(who: str, nd: int, x: Tensor, kernel_size, stride=None, padding=0,
                          dilation=1, ceil_mode: bool = False) -> tuple:
    """Max pooling over ``nd`` spatial axes → (output, int64 indices), like PyTorch's
    ``max_pool{nd}d(..., return_indices=True)``.

    Shape: (N, C, *S) → both (N, C, *S_out); S_out as in max_pool2d. indices[n, c, o] is the
    flat position, within the un-padded (n, c) plane of size prod(S), of the value chosen.
    """
    x = real_input(x, who)
    k, s, d, pads, out_size = pool_setup(who, x, nd, kernel_size, stride, padding, dilation,
                                         ceil_mode)
    xd = x.array
    xp = xp_of(xd)
    N, C, size = xd.shape[0], xd.shape[1], tuple(xd.shape[2:])
    KK, P = math.prod(k), math.prod(size)
    w = windows_nd(_padded(channels_last(xd), pads, -np.inf), k, s, d, out_size)
    w = w.reshape((N,) + out_size + (KK, C))                       # the one copy
    tap = xp.argmax(w, axis=-2)                                    # first maximum
    nan = xp.isnan(w)
    if nan.any():                                                  # the last NaN wins
        last = KK - 1 - xp.argmax(nan[..., ::-1, :], axis=-2)
        tap = xp.where(nan.any(axis=-2), last, tap)
    out = xp.take_along_axis(w, tap[..., None, :], axis=-2)[..., 0, :]
    flat = xp.zeros(tap.shape, dtype=np.int64)
    for i in range(nd):
        ti = (tap // math.prod(k[i + 1:])) % k[i]                  # the tap's offset on axis i
        o = xp.arange(out_size[i]).reshape((1,) * (1 + i) + (-1,) + (1,) * (nd - i))
        pos = xp.clip(o * s[i] + ti * d[i] - pads[i][0], 0, size[i] - 1)
        flat = flat * size[i] + pos            # a −∞ window keeps a real (first) position
    indices = channels_first(flat)                                 # (N, C, *S_out)
    rows = xp.arange(N * C, dtype=np.int64).reshape((N, C) + (1,) * nd) * P

    def backward(g):
        gx = xp.bincount((indices + rows).ravel(), weights=g.ravel(), minlength=N * C * P)
        return (gx.astype(g.dtype).reshape(xd.shape),)
    y = make(channels_first(out), (x,), backward, f"MaxPool{nd}DWithIndicesBackward")
    return y, Tensor(xp.ascontiguousarray(indices))


# -- average pooling -------------------------------------------------------------------------
def avg_pool_nd(who: str, nd: int, x: Tensor, kernel_size, stride=None, padding=0,
                ceil_mode: bool = False, count_include_pad: bool = True,
                divisor_override=None) -> Tensor:
    """Mean over windows of ``nd`` spatial axes (arguments named after ``who``)."""
    x = real_input(x, who)
    k, s, d, pads, out_size = pool_setup(who, x, nd, kernel_size, stride, padding, 1,
                                         ceil_mode)
    if divisor_override is not None and (isinstance(divisor_override, bool) or not isinstance(
            divisor_override, (int, np.integer)) or divisor_override <= 0):
        raise ValueError(f"{who}(divisor_override={divisor_override!r}): expected a positive "
                         f"int or None")
    xd = x.array
    xp = xp_of(xd)
    size = tuple(xd.shape[2:])
    if divisor_override:
        div = np.full(out_size, float(divisor_override))
    else:
        div = np.ones(())
        for n, ki, si, (pi, _), o in zip(size, k, s, pads, out_size):
            div = np.multiply.outer(div, window_counts(n, ki, si, pi, o, count_include_pad))
    inv = (1.0 / div).astype(xd.dtype)[None, ..., None]           # (1, *S_out, 1)
    if xp is not np:
        inv = to_device(inv, device_of(xd))
    xpad = _padded(channels_last(xd), pads, 0)
    w = windows_nd(xpad, k, s, d, out_size)
    lead = (slice(None),) * (1 + nd)
    out = w[lead + (0,) * nd].copy()
    for tap in list(np.ndindex(*k))[1:]:
        out += w[lead + tap]
    out *= inv

    def backward(g):
        gs = channels_last(g) * inv
        cols = xp.broadcast_to(gs.reshape(gs.shape[:-1] + (1,) * nd + gs.shape[-1:]),
                               gs.shape[:-1] + k + gs.shape[-1:])
        return (channels_first(col2im_nd(cols, xpad.shape[1:-1], s, d)[inner(pads, size)]),)
    return make(channels_first(out), (x,), backward, f"AvgPool{nd}DBackward")


def avg_pool1d(x: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over windows of length k: (N, C, L) → (N, C, L_out),
    L_out = floor((L + 2p − k)/s) + 1 (ceil with ``ceil_mode``)."""
    return avg_pool_nd("avg_pool1d", 1, x, kernel_size, stride, padding, ceil_mode,
                       count_include_pad)


def avg_pool3d(x: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """Mean over k_d×k_h×k_w windows, like ``torch.nn.functional.avg_pool3d``.

    Shape: (N, C, D, H, W) → (N, C, D_out, H_out, W_out), D_out = floor((D + 2p − k)/s) + 1
    (ceil with ``ceil_mode``), likewise H, W.
    """
    return avg_pool_nd("avg_pool3d", 3, x, kernel_size, stride, padding, ceil_mode,
                       count_include_pad, divisor_override)


# -- max unpooling ---------------------------------------------------------------------------
def max_unpool_nd(who: str, nd: int, x: Tensor, indices, kernel_size, stride=None,
                  padding=0, output_size=None) -> Tensor:
    """Place each value of x at its index (from max pooling) in a zero output.

    Shape: x and indices (N, C, *S_in) → (N, C, *S_out) with
    S_out = (S_in − 1)·s − 2p + k, or ``output_size`` (its last nd entries).
    """
    letters = {1: "L", 2: "H, W", 3: "D, H, W"}[nd]
    if x.ndim != nd + 2:
        raise ValueError(f"{who}: expected input (N, C, {letters}), got {tuple(x.shape)}")
    idx = indices.array if isinstance(indices, Tensor) else np.asarray(indices)
    if tuple(idx.shape) != tuple(x.shape) or idx.dtype.kind not in "iu":
        raise ValueError(f"{who}: expected integer indices of the input's shape "
                         f"{tuple(x.shape)}, got {idx.dtype} {tuple(idx.shape)}")
    k = ntuple(kernel_size, nd, "kernel_size", who)
    s = k if stride is None else ntuple(stride, nd, "stride", who)
    p = ntuple(padding, nd, "padding", who)
    if output_size is None:
        out_size = tuple((n - 1) * si - 2 * pi + ki
                         for n, si, pi, ki in zip(x.shape[2:], s, p, k))
    else:
        out_size = ntuple(tuple(output_size)[-nd:], nd, "output_size", who)
    if min(out_size) <= 0:
        raise ValueError(f"{who}: output size {out_size} must be positive")
    xd = x.array
    xp = xp_of(xd)
    N, C, P = xd.shape[0], xd.shape[1], math.prod(out_size)
    idx = xp.asarray(idx).reshape(N * C, -1).astype(np.int64)
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= P):
        raise ValueError(f"{who}: indices must lie in [0, {P}) for output size {out_size}, "
                         f"got range [{int(idx.min())}, {int(idx.max())}]")
    rows = xp.arange(N * C)[:, None]
    out = xp.zeros((N * C, P), dtype=xd.dtype)
    out[rows, idx] = xd.reshape(N * C, -1)

    def backward(g):
        return (g.reshape(N * C, P)[rows, idx].reshape(xd.shape),)
    return make(out.reshape((N, C) + out_size), (x,), backward, f"MaxUnpool{nd}DBackward")


def max_unpool1d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of max_pool1d(return_indices=True): (N, C, L) → (N, C, (L − 1)·s − 2p + k)."""
    return max_unpool_nd("max_unpool1d", 1, x, indices, kernel_size, stride, padding,
                         output_size)


def max_unpool2d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of max_pool2d(return_indices=True): (N, C, H, W) → (N, C, H_out, W_out),
    H_out = (H − 1)·s − 2p + k (or ``output_size``); non-maximal positions are zero."""
    return max_unpool_nd("max_unpool2d", 2, x, indices, kernel_size, stride, padding,
                         output_size)


def max_unpool3d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of max_pool3d(return_indices=True): (N, C, D, H, W) → (N, C, D_out, H_out,
    W_out), D_out = (D − 1)·s − 2p + k (or ``output_size``)."""
    return max_unpool_nd("max_unpool3d", 3, x, indices, kernel_size, stride, padding,
                         output_size)
