"""Resampling: ``interpolate`` with PyTorch's modes and coordinate rules.

Modes: 'nearest' (``ops.pool.upsample_nearest`` for 1-d/2-d), 'nearest-exact', 'linear'
(N, C, L), 'bilinear' / 'bicubic' (N, C, H, W), 'trilinear' (N, C, D, H, W) and 'area'
(adaptive average pooling). All but 'area' are separable: along each spatial axis, output
index o reads a few input taps i_t(o) with weights w_t(o), y[o] = Σ_t w_t(o)·x[i_t(o)]
(the very sums PyTorch's kernels compute, so NaN/inf reach exactly the same outputs).
The backward of one axis is the transposed (out × in) interpolation matrix, one GEMM.
uint8 images under 'bilinear'/'bicubic' stay uint8, in PyTorch's fixed-point arithmetic.

Source coordinate of output index o (scale = in/out, or 1/scale_factor when a scale factor
is given and not recomputed):
    align_corners=True:   src = o·(in − 1)/(out − 1)
    align_corners=False:  src = (o + 0.5)·scale − 0.5   (clamped at 0 for linear modes)
linear: taps floor(src), floor(src)+1 (clipped) with weights 1 − λ, λ (λ = src − floor);
cubic: taps floor(src) − 1 … + 2 (clipped to the edge) with Keys' kernel, a = −0.75.
"""
import math

import numpy as np

from ..backend import device_of, to_device, xp_of
from ..tensor import Tensor, make
from .pool import adaptive_avg_pool2d, real_input, upsample_nearest
from .shape import reshape, squeeze, unsqueeze

__all__ = ["interpolate"]

_MODES = {"nearest": None, "nearest-exact": None, "area": None, "linear": 1, "bilinear": 2,
          "bicubic": 2, "trilinear": 3}
_A = -0.75                                                   # PyTorch's bicubic constant


def _taps(mode: str, n_in: int, n_out: int, scale: float, align: bool):
    """(indices (T, out) int64, weights (T, out) float64) of one axis."""
    o = np.arange(n_out, dtype=np.float64)
    if mode in ("nearest", "nearest-exact"):
        src = np.floor((o + 0.5) * scale if mode == "nearest-exact" else o * scale)
        return np.minimum(src, n_in - 1).astype(np.int64)[None], np.ones((1, n_out))
    if align:
        src = o * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    else:
        src = (o + 0.5) * scale - 0.5
    if mode == "bicubic":
        i0 = np.floor(src)
        t = src - i0
        idx = np.clip(i0.astype(np.int64)[None] + np.arange(-1, 3)[:, None], 0, n_in - 1)

        def near(x):                                          # |x| <= 1
            return ((_A + 2) * x - (_A + 3)) * x * x + 1

        def far(x):                                           # 1 < |x| < 2
            return ((_A * x - 5 * _A) * x + 8 * _A) * x - 4 * _A
        return idx, np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)])
    if not align:
        src = np.maximum(src, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    lam = np.clip(src - i0, 0.0, 1.0)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return np.stack([i0, i1]), np.stack([1.0 - lam, lam])


def _matrix(idx, w, n_in: int):
    """The (out × in) interpolation matrix of one axis from its taps (repeats summed)."""
    mat = np.zeros((idx.shape[1], n_in))
    for t in range(idx.shape[0]):
        np.add.at(mat, (np.arange(idx.shape[1]), idx[t]), w[t])
    return mat


def _resample(x: Tensor, axes_taps: list, name: str) -> Tensor:
    """Apply, axis by axis, y[..., o, ...] = Σ_t w_t(o)·x[..., i_t(o), ...]."""
    xd = x.array
    xp = xp_of(xd)
    dev = None if xp is np else device_of(xd)
    plan = []                                        # (axis, matrix) for backward
    y = xd
    for axis, (idx, w) in axes_taps:
        mat = _matrix(idx, w, y.shape[axis])
        wshape = (1,) * axis + (-1,) + (1,) * (y.ndim - axis - 1)
        dt = xd.dtype
        idx_d, w_d, mat_d = idx, w.astype(dt), mat.astype(dt)
        if dev is not None:
            idx_d, w_d, mat_d = (to_device(a, dev) for a in (idx, w_d, mat_d))
        out = xp.take(y, idx_d[0], axis=axis)
        if idx.shape[0] > 1:                         # nearest: a copy (keeps int dtypes)
            out = out * w_d[0].reshape(wshape)
        for t in range(1, idx.shape[0]):
            out += xp.take(y, idx_d[t], axis=axis) * w_d[t].reshape(wshape)
        plan.append((axis, mat_d))
        y = out

    def backward(g):
        for axis, mat in reversed(plan):
            g = xp.moveaxis(xp.moveaxis(g, axis, -1) @ mat, -1, axis)
        return (xp.ascontiguousarray(g),)
    return make(y, (x,), backward, name)


def _resample_uint8(x: Tensor, mode: str, outs: tuple, scales: list, align: bool) -> Tensor:
    """uint8 images stay uint8, as in PyTorch (whose CPU kernel comes from Pillow-SIMD).

    Width first, then height; each pass rounds to uint8. A pass multiplies by the axis's
    (out × in) interpolation matrix in fixed point: weights × 2^p rounded half away from
    zero, p the largest (< 22) that keeps 2·max|w|·2^p below 2^15; then
    y = clip((Σ w·x + 2^(p−1)) >> p, 0, 255). A pass whose size does not change is skipped.
    """
    xd = x.array
    xp = xp_of(xd)
    y = xd.astype(np.int64)
    for axis in (3, 2):
        n_in, n_out = y.shape[axis], outs[axis - 2]
        if n_in == n_out:
            continue
        mat = _matrix(*_taps(mode, n_in, n_out, scales[axis - 2], align), n_in)
        p, w_max = 0, float(np.abs(mat).max())
        while p < 22 and int(0.5 + w_max * (1 << (p + 1))) < (1 << 15):
            p += 1
        wi = np.trunc(mat * (1 << p) + np.where(mat < 0, -0.5, 0.5)).astype(np.int64)
        if xp is not np:
            wi = to_device(wi, device_of(xd))
        y = xp.moveaxis(xp.moveaxis(y, axis, -1) @ wi.T + (1 << (p - 1)), -1, axis)
        y = xp.clip(y >> p, 0, 255)
    return Tensor(xp.ascontiguousarray(y.astype(np.uint8)))


def _sizes(who: str, x: Tensor, nd: int, size, scale_factor, recompute) -> tuple:
    """(output sizes, per-axis scale in/out used for source coordinates)."""
    ins = tuple(x.shape[2:])
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{who}: give exactly one of size and scale_factor")
    if size is not None:
        vals = (size,) * nd if isinstance(size, (int, np.integer)) else tuple(size)
        if len(vals) != nd or not all(isinstance(v, (int, np.integer)) and not isinstance(
                v, bool) and v > 0 for v in vals):
            raise ValueError(f"{who}(size={size!r}): expected a positive int or {nd} of them "
                             f"for input {tuple(x.shape)}")
        outs = tuple(int(v) for v in vals)
        return outs, [i / o for i, o in zip(ins, outs)]
    sf = (scale_factor,) * nd if not isinstance(scale_factor, (tuple, list)) else \
        tuple(scale_factor)
    if len(sf) != nd or not all(isinstance(v, (int, float, np.number)) and not isinstance(
            v, bool) and 0 < v < float("inf") for v in sf):
        raise ValueError(f"{who}(scale_factor={scale_factor!r}): expected a positive number or "
                         f"{nd} of them for input {tuple(x.shape)}")
    outs = tuple(int(math.floor(i * float(f))) for i, f in zip(ins, sf))
    if min(outs) <= 0:
        raise ValueError(f"{who}(scale_factor={scale_factor!r}): output size {outs} is empty "
                         f"for input {tuple(x.shape)}")
    scales = [i / o if recompute else 1.0 / float(f) for i, o, f in zip(ins, outs, sf)]
    return outs, scales


def interpolate(x: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize (N, C, L), (N, C, H, W) or (N, C, D, H, W), like ``F.interpolate``.

    Args:
        size: output spatial size (int or tuple), or scale_factor: multiplier(s); one of them.
        mode: 'nearest', 'nearest-exact', 'linear' (3-D input), 'bilinear' or 'bicubic'
            (4-D), 'trilinear' (5-D), 'area'.
        align_corners: for the linear/cubic modes: map the corner pixels' centres onto each
            other (True) or the corner pixels' edges (False, the default).
        recompute_scale_factor: compute the coordinate scale from the output size instead of
            using scale_factor.

    Shape: (N, C, *S) → (N, C, *S_out), S_out = size or floor(S · scale_factor).
    """
    who = f"interpolate(mode={mode!r})"
    if mode not in _MODES:
        raise ValueError(f"{who}: expected one of {sorted(_MODES)}")
    if antialias:
        raise ValueError(f"{who}: antialias=True is not supported")
    if x.ndim not in (3, 4, 5):
        raise ValueError(f"{who}: expected input (N, C, L), (N, C, H, W) or (N, C, D, H, W), "
                         f"got {tuple(x.shape)}")
    nd = x.ndim - 2
    need = _MODES[mode]
    if need is not None and need != nd:
        raise ValueError(f"{who}: needs a {need + 2}-D input, got {tuple(x.shape)}")
    if align_corners is not None and need is None:
        raise ValueError(f"{who}: align_corners can only be set with the interpolating modes "
                         f"linear, bilinear, bicubic and trilinear")
    if 0 in x.shape[2:]:
        raise ValueError(f"{who}: input {tuple(x.shape)} has an empty spatial dim")
    if mode in ("bilinear", "bicubic") and x.dtype == np.uint8:
        outs, scales = _sizes(who, x, nd, size, scale_factor, bool(recompute_scale_factor))
        return _resample_uint8(x, mode, outs, scales, bool(align_corners))
    if mode not in ("nearest", "nearest-exact"):
        x = real_input(x, "interpolate")            # int/bool → float32 (nearest copies)
    elif x.array.dtype.kind not in "biuf":
        raise TypeError(f"{who}: expected a real-valued input, got dtype {x.dtype}")
    outs, scales = _sizes(who, x, nd, size, scale_factor, bool(recompute_scale_factor))
    if mode == "nearest" and nd < 3 and not recompute_scale_factor:
        return upsample_nearest(x, size, scale_factor)
    if mode == "area":
        return _area(x, outs)
    axes_taps = [(2 + i, _taps(mode, n, o, sc, bool(align_corners)))
                 for i, (n, o, sc) in enumerate(zip(x.shape[2:], outs, scales))]
    name = {"nearest": "UpsampleNearest", "nearest-exact": "UpsampleNearestExact",
            "bicubic": "UpsampleBicubic2D"}.get(mode, f"Upsample{mode.capitalize()}")
    return _resample(x, axes_taps, f"{name}Backward")


def _area(x: Tensor, outs: tuple) -> Tensor:
    """'area' = adaptive average pooling to ``outs`` (1-d and 3-d through the 2-d op)."""
    if x.ndim == 4:
        return adaptive_avg_pool2d(x, outs)
    if x.ndim == 3:
        return squeeze(adaptive_avg_pool2d(unsqueeze(x, 2), (1, outs[0])), 2)
    N, C, D, H, W = x.shape                              # pool (H, W), then D
    y = adaptive_avg_pool2d(reshape(x, N, C * D, H, W), outs[1:])
    y = adaptive_avg_pool2d(reshape(y, N, C, D, outs[1] * outs[2]),
                            (outs[0], outs[1] * outs[2]))
    return reshape(y, N, C, *outs)
