"""Adaptive pooling to a fixed output size: adaptive_avg_pool1d/3d and adaptive_max_pool1d/2d/3d
(``ops/pool.py`` has the 2-d average).

Output cell o of an axis of size n pooled to m covers [floor(o·n/m), ceil((o+1)·n/m)) (the
windows may overlap or differ in size by one), PyTorch's rule.

* avg: separable, so the 1-d and 3-d forms reuse the 2-d op on reshaped views.
* max: one argmax per output cell over its (flattened) window: the first maximum in raster
  order, or the last NaN when the window holds one (PyTorch's scan). The flat index of the
  winner in its (n, c) plane is returned as ``indices``; backward adds g there (bincount).
"""
import itertools
import math

import numpy as np

from ..backend import xp_of
from ..tensor import Tensor, make
from .pool import adaptive_avg_pool2d
from .pool_nd import real_input
from .shape import reshape, squeeze, unsqueeze

__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
           "adaptive_max_pool2d", "adaptive_max_pool3d"]


def _output_size(who: str, x: Tensor, nd: int, output_size) -> tuple:
    letters = {1: "L", 2: "H, W", 3: "D, H, W"}[nd]
    if x.ndim != nd + 2:
        raise ValueError(f"{who}: expected input (N, C, {letters}), got {tuple(x.shape)}")
    if 0 in x.shape[2:]:
        raise ValueError(f"{who}: input {tuple(x.shape)} has an empty spatial dim")
    vals = tuple(output_size) if isinstance(output_size, (tuple, list)) else \
        (output_size,) * nd
    if len(vals) != nd or not all(v is None or (isinstance(v, (int, np.integer)) and not
                                                isinstance(v, bool) and v > 0) for v in vals):
        raise ValueError(f"{who}(output_size={output_size!r}): expected a positive int or "
                         f"{nd} of them (None keeps that size)")
    return tuple(int(n if v is None else v) for n, v in zip(x.shape[2:], vals))


def _windows(n_in: int, n_out: int) -> list:
    return [((o * n_in) // n_out, -(-(o + 1) * n_in // n_out)) for o in range(n_out)]


def adaptive_avg_pool1d(x: Tensor, output_size) -> Tensor:
    """Average pooling of (N, C, L) to (N, C, L_out), windows as in adaptive_avg_pool2d."""
    (lo,) = _output_size("adaptive_avg_pool1d", x, 1, output_size)
    x = real_input(x, "adaptive_avg_pool1d")
    return squeeze(adaptive_avg_pool2d(unsqueeze(x, 2), (1, lo)), 2)


def adaptive_avg_pool3d(x: Tensor, output_size) -> Tensor:
    """Average pooling of (N, C, D, H, W) to (N, C, D_out, H_out, W_out): (H, W) first, then
    D (the mean is separable)."""
    outs = _output_size("adaptive_avg_pool3d", x, 3, output_size)
    x = real_input(x, "adaptive_avg_pool3d")
    N, C, D, H, W = x.shape
    y = adaptive_avg_pool2d(reshape(x, N, C * D, H, W), outs[1:])
    y = adaptive_avg_pool2d(reshape(y, N, C, D, outs[1] * outs[2]),
                            (outs[0], outs[1] * outs[2]))
    return reshape(y, N, C, *outs)


def adaptive_max_pool_nd(who: str, nd: int, x: Tensor, output_size) -> tuple:
    """(output, int64 indices), both (N, C, *S_out); indices are flat in each (n, c) plane."""
    outs = _output_size(who, x, nd, output_size)
    x = real_input(x, who)
    xd = x.array
    xp = xp_of(xd)
    N, C, size = xd.shape[0], xd.shape[1], tuple(xd.shape[2:])
    P = math.prod(size)
    out = xp.empty((N, C) + outs, dtype=xd.dtype)
    flat = xp.empty((N, C) + outs, dtype=np.int64)
    wins = [_windows(n, m) for n, m in zip(size, outs)]
    for cell in itertools.product(*(range(m) for m in outs)):
        box = [wins[i][o] for i, o in enumerate(cell)]
        w = xd[(slice(None), slice(None)) + tuple(slice(a, b) for a, b in box)]
        wf = w.reshape(N, C, math.prod(w.shape[2:]))
        pick = xp.argmax(wf, axis=2)                               # first maximum
        nan = xp.isnan(wf)
        if nan.any():                                              # the last NaN wins
            last = wf.shape[2] - 1 - xp.argmax(nan[:, :, ::-1], axis=2)
            pick = xp.where(nan.any(axis=2), last, pick)
        key = (slice(None), slice(None)) + cell
        out[key] = xp.take_along_axis(wf, pick[:, :, None], axis=2)[:, :, 0]
        pos = xp.zeros(pick.shape, dtype=np.int64)
        rest = pick
        for i in reversed(range(nd)):                              # window → plane coordinates
            span = box[i][1] - box[i][0]
            coord = rest % span + box[i][0]
            rest = rest // span
            pos = pos + coord * math.prod(size[i + 1:])
        flat[key] = pos
    rows = xp.arange(N * C, dtype=np.int64).reshape((N, C) + (1,) * nd) * P

    def backward(g):
        gx = xp.bincount((flat + rows).ravel(), weights=g.ravel(), minlength=N * C * P)
        return (gx.astype(g.dtype).reshape(xd.shape),)
    y = make(out, (x,), backward, f"AdaptiveMaxPool{nd}DBackward")
    return y, Tensor(flat)


def adaptive_max_pool1d(x: Tensor, output_size, return_indices: bool = False):
    """Max over adaptive windows: (N, C, L) → (N, C, L_out) (and the int64 indices)."""
    y, idx = adaptive_max_pool_nd("adaptive_max_pool1d", 1, x, output_size)
    return (y, idx) if return_indices else y


def adaptive_max_pool2d(x: Tensor, output_size, return_indices: bool = False):
    """Max over adaptive windows: (N, C, H, W) → (N, C, H_out, W_out) (and the indices)."""
    y, idx = adaptive_max_pool_nd("adaptive_max_pool2d", 2, x, output_size)
    return (y, idx) if return_indices else y


def adaptive_max_pool3d(x: Tensor, output_size, return_indices: bool = False):
    """Max over adaptive windows: (N, C, D, H, W) → (N, C, D_out, H_out, W_out)."""
    y, idx = adaptive_max_pool_nd("adaptive_max_pool3d", 3, x, output_size)
    return (y, idx) if return_indices else y
