"""Convolutions: conv1d, conv2d and conv_transpose2d as im2col + one GEMM, channels-last inside.

Shape letters: N batch, C_in / C_out channels, H, W (or L) spatial sizes, k kernel size,
s stride, p padding (per side), d dilation, G groups.

How the fast path works (the plain loops in ``ops/reference.py`` compute the same thing):

* The input (N, C, H, W) is viewed as channels-last (N, H, W, C). When it already lives in
  channels-last memory (every conv output does, see below) that view costs nothing.
* ``_windows`` views the padded input as (N, H_out, W_out, k_h, k_w, C) with stride tricks
  (no copy); reshaping it to the patch matrix (N·H_out·W_out, k_h·k_w·C) is the one copy
  (im2col). One GEMM with the weight matrix (k_h·k_w·C, C_out) gives (N·H_out·W_out, C_out),
  i.e. channels-last output. It is returned as an (N, C_out, H_out, W_out) *view*, so
  element-wise ops and the next conv/pool keep working in channels-last memory.
* Backward: dW = patchesᵀ·g (one GEMM; the bias gradient rides along as the ones column).
  dx = Σ over the k_h·k_w kernel taps of g·W_ij added into the strided slice of input
  pixels that tap read (``conv_input_grad``): k_h·k_w small GEMMs and sliced adds, no
  gradient patch matrix. Grouped convs use one batched GEMM and ``col2im`` (one sliced add
  per kernel offset, no ``np.add.at``).
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..backend import xp_of
from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor, make, records
from .. import blas
from ..blas import matmul as gemm
from . import _fast
from ._memory import keep_freed_memory
from ._util import same_device
from .shape import cat, squeeze, unsqueeze

keep_freed_memory()        # big per-step arrays reuse heap pages (see ops/_memory.py)
# Patch matrices and input gradients of fewer values stay on NumPy: for one image's 196 × 288
# patches the compiled copy measured no faster in the batch-1 forward (233-240 µs either way).
FAST_MIN = 1 << 18

__all__ = ["conv1d", "conv2d", "conv2d_relu_pool", "conv_transpose2d", "conv_output_size"]


def conv_output_size(size: int, kernel: int, stride: int = 1, pad_total: int = 0,
                     dilation: int = 1) -> int:
    """floor((size + pad_total − d·(k − 1) − 1) / s) + 1 (pad_total = both sides together)."""
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


def ntuple(v, n: int, name: str, who: str) -> tuple:
    """An int or a length-n sequence of ints → tuple of n ints (errors name ``who(name=...)``)."""
    vals = (v,) * n if isinstance(v, (int, np.integer)) else tuple(v) if isinstance(
        v, (tuple, list)) else None
    if vals is None or not all(
            isinstance(t, (int, np.integer)) and not isinstance(t, bool) for t in vals):
        raise TypeError(f"{who}({name}={v!r}): expected an int or a tuple of {n} ints")
    if len(vals) != n:  # the right type, the wrong length: PyTorch's RuntimeError
        raise ArgumentError(f"{who}({name}={v!r}): expected an int or a tuple of {n} ints")
    return tuple(int(t) for t in vals)


def conv_padding(padding, kernel: tuple, dilation: tuple, stride: tuple, who: str) -> tuple:
    """Resolve ``padding`` (int, tuple, 'same', 'valid') to per-side pads (before, after)*dims."""
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding != "same":
            raise ValueError(f"{who}(padding={padding!r}): expected an int, a tuple, "
                             f"'same' or 'valid'")
        if any(s != 1 for s in stride):
            raise ValueError(f"{who}(padding='same'): not supported for strided convolution "
                             f"(stride={stride}), as in PyTorch")
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in total)
    p = ntuple(padding, n, "padding", who)
    if any(v < 0 for v in p):
        raise ArgumentError(f"{who}(padding={padding!r}): padding must be >= 0")
    return tuple((v, v) for v in p)


def check_fits(who, size: tuple, kernel: tuple, dilation: tuple, pads: tuple) -> None:
    """Raise a clear error when the (dilated) kernel is larger than the padded input (a
    geometry that fits is remembered, so a layer pays the check once per input size).
    ``who`` names the caller in the error: a str, or a function returning one."""
    key = (tuple(size), kernel, dilation, pads)
    try:
        if key in _fitting:
            return
    except TypeError:                   # an unhashable argument: checked every time
        key = None
    _check_fits(who, size, kernel, dilation, pads)
    if key is not None and plain_args(key[0], kernel, dilation) and type(pads) is tuple \
            and all(type(p) is tuple and plain_args(*p) for p in pads):
        if len(_fitting) >= CACHE_SIZE:         # many input sizes: start over
            _fitting.clear()
        _fitting.add(key)


CACHE_SIZE = 4096       # entries per geometry cache (keys include the input size)
_fitting: set = set()


def _check_fits(who, size: tuple, kernel: tuple, dilation: tuple, pads: tuple) -> None:
    who = who() if callable(who) else who          # a layer passes its name lazily
    padded = tuple(s + a + b for s, (a, b) in zip(size, pads))
    eff = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(e > p for e, p in zip(eff, padded)):
        raise ShapeError(f"{who}: kernel size {eff} (after dilation) is larger than the padded "
                         f"input {padded} (input {tuple(size)} + padding)")


# -- channels-last helpers -------------------------------------------------------------------
def pad_nhwc(x: np.ndarray, pads: tuple, value=0) -> np.ndarray:
    """Zero- (or ``value``-) pad the H and W axes of an (N, H, W, C) array."""
    (pt, pb), (pl, pr) = pads
    if not (pt or pb or pl or pr):
        return x
    N, H, W, C = x.shape
    out = xp_of(x).empty((N, H + pt + pb, W + pl + pr, C), dtype=x.dtype)
    if value == 0:
        out[:, :pt] = 0
        out[:, pt + H:] = 0
        out[:, pt:pt + H, :pl] = 0
        out[:, pt:pt + H, pl + W:] = 0
    else:
        out.fill(value)
    out[:, pt:pt + H, pl:pl + W] = x
    return out


def windows(xpad: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple,
            out_hw: tuple) -> np.ndarray:
    """View (N, H_out, W_out, k_h, k_w, C) of the sliding windows of xpad (N, H, W, C);
    read-only on NumPy (CuPy's ``as_strided`` has no ``writeable``: do not write to it)."""
    N, _, _, C = xpad.shape
    sN, sH, sW, sC = xpad.strides
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    shape = (N, out_hw[0], out_hw[1], kh, kw, C)
    strides = (sN, sH * sh, sW * sw, sH * dh, sW * dw, sC)
    if type(xpad) is np.ndarray:
        if xpad.size and xpad.flags.c_contiguous:   # a view of its buffer: 1 µs, not 5
            view = np.ndarray(shape, xpad.dtype, xpad, 0, strides)
            view.flags.writeable = False
            return view
        return as_strided(xpad, shape, strides, writeable=False)
    return xp_of(xpad).lib.stride_tricks.as_strided(xpad, shape, strides)


def im2col(xpad: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple, out_hw: tuple,
           ones_column: bool = False) -> np.ndarray:
    """The patch matrix (N·H_out·W_out, k_h·k_w·C) of xpad (N, H, W, C), columns (i, j, c).

    With ``ones_column`` a last column of ones is appended, so that one GEMM with the weight
    matrix stacked on the bias row also adds the bias (and its transpose gives the bias
    gradient next to the weight gradient).
    """
    N, _, _, C = xpad.shape
    (kh, kw), (Ho, Wo) = kernel, out_hw
    L, K = N * Ho * Wo, kh * kw * C
    if C >= 8 and L * K >= FAST_MIN and type(xpad) is np.ndarray and \
            xpad.flags.c_contiguous and _fast.kernels() is not None:
        A = np.empty((L, K + int(ones_column)), xpad.dtype)    # the same copy, compiled
        _fast.step_kernel("im2col", A.size)(xpad, kh, kw, *stride, *dilation, Ho, Wo, A)
        if ones_column:
            A[:, K] = 1
        _fast.note("im2col")
        return A
    if C >= 8 and not ones_column:        # one copy from the strided window view
        return windows(xpad, kernel, stride, dilation, out_hw).reshape(L, K)
    xp = xp_of(xpad)
    A = xp.empty((L, K + int(ones_column)), dtype=xpad.dtype)
    # a view into A: splitting the last axis of (N, H_out, W_out, K) never copies
    A6 = A.reshape(N, Ho, Wo, K + int(ones_column))[..., :K].reshape(N, Ho, Wo, kh, kw, C)
    if C >= 8:
        xp.copyto(A6, windows(xpad, kernel, stride, dilation, out_hw))
    else:                                 # few channels: k_h·k_w slab copies are faster
        for i in range(kh):
            for j in range(kw):
                A6[:, :, :, i, j] = xpad[offset_slice(i, j, stride, dilation, out_hw)]
    if ones_column:
        A[:, K] = 1
    return A


def im2col_planes(xpad: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple,
                  out_hw: tuple, ones_column: bool = False) -> np.ndarray:
    """``im2col``'s patch matrix (N·H_out·W_out, k_h·k_w·C [+ 1]) as a Fortran-ordered view
    of a (k_h·k_w·C [+ 1], N·H_out·W_out) array (one image plane per row of that array).

    For few channels (the first layer of an image model) this copies 30% faster than
    ``im2col`` and its GEMMs run faster too (measured on the cnn workload's 1→32 conv:
    forward 1.07 vs 1.47 ms, weight gradient 1.25 vs 1.32 ms).
    """
    N, _, _, C = xpad.shape
    (kh, kw), (Ho, Wo) = kernel, out_hw
    K = kh * kw * C
    xp = xp_of(xpad)
    AT = xp.empty((K + int(ones_column), N, Ho, Wo), dtype=xpad.dtype)
    # one strided copy of the window view (k_h, k_w, C, N, H_out, W_out): as fast as k_h·k_w
    # plane copies on a batch, twice as fast on one image (6 vs 11 µs at 1×28×28)
    xp.copyto(AT[:K].reshape(kh, kw, C, N, Ho, Wo),
              windows(xpad, kernel, stride, dilation, out_hw).transpose(3, 4, 5, 0, 1, 2))
    if ones_column:
        AT[K] = 1
    return AT.reshape(K + int(ones_column), N * Ho * Wo).T


def offset_slice(i, j, stride, dilation, out_hw):
    """Index of the (N, H_out, W_out, C) elements of a padded input at kernel offset (i, j)."""
    (sh, sw), (dh, dw) = stride, dilation
    return (slice(None), slice(i * dh, i * dh + sh * (out_hw[0] - 1) + 1, sh),
            slice(j * dw, j * dw + sw * (out_hw[1] - 1) + 1, sw))


def col2im(dcols: np.ndarray, padded_hw: tuple, stride: tuple, dilation: tuple) -> np.ndarray:
    """Adjoint of ``windows``: add each window's gradient back into (N, H_p, W_p, C).

    One sliced add per kernel offset (i, j); overlapping windows simply add up.
    """
    N, Ho, Wo, kh, kw, C = dcols.shape
    out = xp_of(dcols).zeros((N, padded_hw[0], padded_hw[1], C), dtype=dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            out[offset_slice(i, j, stride, dilation, (Ho, Wo))] += dcols[:, :, :, i, j]
    return out


def nchw_view(y_nhwc: np.ndarray) -> np.ndarray:
    """(N, H, W, C) → (N, C, H, W) view (channels-last memory, PyTorch's logical order)."""
    return y_nhwc.transpose(0, 3, 1, 2)


def nhwc_view(x_nchw: np.ndarray) -> np.ndarray:
    """(N, C, H, W) → (N, H, W, C) view; free when the memory is already channels-last."""
    return x_nchw.transpose(0, 2, 3, 1)


# -- conv2d ----------------------------------------------------------------------------------
def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D cross-correlation, like ``torch.nn.functional.conv2d``.

    Args:
        x: (N, C_in, H, W). weight: (C_out, C_in / G, k_h, k_w). bias: (C_out,) or None.
        stride, dilation: int or (h, w). padding: int, (h, w), 'same' or 'valid'.
        groups: G; input and output channels are split into G independent groups.

    Shape: H_out = floor((H + 2·p_h − d_h·(k_h − 1) − 1) / s_h) + 1, W_out likewise.
    """
    kh, kw = weight.shape[2:]
    key = (kh, kw, stride, padding, dilation)
    geometry = _geometry.get(key) if plain_args(stride, padding, dilation) else None
    if geometry is None:
        s = ntuple(stride, 2, "stride", "conv2d")
        d = ntuple(dilation, 2, "dilation", "conv2d")
        geometry = (s, conv_padding(padding, (kh, kw), d, s, "conv2d"), d)
        if plain_args(stride, padding, dilation):
            _geometry[key] = geometry
    s, pads, d = geometry
    return _conv2d(x, weight, bias, s, pads, d, groups)


_geometry: dict = {}    # (k_h, k_w, stride, padding, dilation) as given -> checked tuples


def plain_args(*values) -> bool:
    """True when every value is an int, a str or a tuple of ints (exact types, no bool):
    such arguments can key a cache of their checked form without hiding a later bad call."""
    for v in values:
        if type(v) is tuple:
            for t in v:
                if type(t) is not int:
                    return False
        elif type(v) is not int and type(v) is not str:
            return False
    return True


def _conv2d(x, weight, bias, s, pads, d, G):
    N, C, H, W = x.shape
    O, Cg, kh, kw = weight.shape
    if C != Cg * G or O % G:
        raise ShapeError(f"conv2d: input has {C} channels, weight {tuple(weight.shape)} with "
                         f"groups={G} expects {Cg * G} (and C_out divisible by groups)")
    check_fits("conv2d", (H, W), (kh, kw), d, pads)
    same_device("conv2d", x, weight, bias)
    Ho = conv_output_size(H, kh, s[0], sum(pads[0]), d[0])
    Wo = conv_output_size(W, kw, s[1], sum(pads[1]), d[1])
    xp = xp_of(x.array)
    L, Og, K = N * Ho * Wo, O // G, kh * kw * Cg
    if G == 1:
        blocked = _blocked_kernels(x.array, weight.array, C, N, L * K,
                                   records(x, weight, bias))
        if blocked is not None:
            return _conv2d_blocked(x, weight, bias, s, pads, d, (Ho, Wo), *blocked)
    xpad = pad_nhwc(nhwc_view(x.array), pads)
    # bias rides in the GEMM (as a ones column) when a graph is recorded (the same patch
    # matrix then gives the bias gradient) or when the patches are copied plane by plane
    # (C_in < 8: one more plane); without a graph, im2col's plain reshape copy and one add
    # of the bias are cheaper (batch-1 cnn inference: conv 32→64 on 14×14, 154 → 87 µs)
    fused = G == 1 and bias is not None and (C < 8 or records(x, weight, bias))
    if G == 1:
        patches = im2col if C >= 8 else im2col_planes
        A = patches(xpad, (kh, kw), s, d, (Ho, Wo), ones_column=fused)  # the one copy
        Wm = weight.array.transpose(2, 3, 1, 0).reshape(K, O)     # (k_h·k_w·C_in, C_out)
        out = gemm(A, xp.concatenate([Wm, bias.array[None].astype(Wm.dtype)]) if fused else Wm)
    else:                                                        # one batched GEMM
        cols = windows(xpad, (kh, kw), s, d, (Ho, Wo))
        A = cols.reshape(L, kh * kw, G, Cg).transpose(2, 0, 1, 3).reshape(G, L, K)
        Wm = weight.array.reshape(G, Og, Cg, kh, kw).transpose(0, 3, 4, 2, 1).reshape(G, K, Og)
        out = gemm(A, Wm).transpose(1, 0, 2).reshape(L, O)
    if bias is not None and not fused:
        out += bias.array
    y = nchw_view(out.reshape(N, Ho, Wo, O))

    def backward(g):
        g2 = nhwc_view(g).reshape(L, O)
        gx = gw = gb = None
        need_gb = bias is not None and bias.requires_grad
        if G == 1 and (weight.requires_grad or need_gb):
            gwb = _weight_grad(A, g2)                            # (K [+ 1], C_out)
            if need_gb:
                gb = gwb[K].copy() if fused else g2.sum(axis=0)
            if weight.requires_grad:
                gw = xp.ascontiguousarray(gwb[:K].reshape(kh, kw, Cg, O).transpose(3, 2, 0, 1))
        elif need_gb:
            gb = g2.sum(axis=0)
        if G > 1:
            g2 = g2.reshape(L, G, Og).transpose(1, 0, 2)         # (G, L, O_g)
        if weight.requires_grad and G > 1:
            gw = gemm(A.transpose(0, 2, 1), g2).reshape(G, kh, kw, Cg, Og)
            gw = xp.ascontiguousarray(gw.transpose(0, 4, 3, 1, 2).reshape(O, Cg, kh, kw))
        if x.requires_grad and G == 1:
            gx = nchw_view(conv_input_grad(g2, weight.array, (H, W), (Ho, Wo), s, pads, d))
        elif x.requires_grad:
            dA = gemm(g2, Wm.transpose(0, 2, 1))            # (G, L, K)
            dA = dA.reshape(G, L, kh * kw, Cg).transpose(1, 2, 0, 3)   # (L, kk, G, C_g)
            dxp = col2im(dA.reshape(N, Ho, Wo, kh, kw, C), xpad.shape[1:3], s, d)
            (pt, _), (pl, _) = pads
            gx = nchw_view(dxp[:, pt:pt + H, pl:pl + W])
        return gx, gw, gb
    return make(y, (x, weight, bias), backward, "ConvolutionBackward")


# The patch rows of one block of images (kernels/conv.c) are kept under this many bytes, so
# that they stay in a core's L2 (2 MB here) while MKL multiplies them: the cnn workload's
# conv 32→64 takes 4 images a block (measured in C, 2 threads: forward 2.1–2.4 → 1.6 ms with
# 2–8 images a block, the weight gradient 1.8 → 2.0 ms as the rows are built again).
BLOCK_BYTES = 1 << 20
THIN_K = 16                 # kernels/conv.c's THIN_K: patches (+ bias) this thin or thinner


def _blocked_kernels(xd, wd, C: int, N: int, size: int, recording: bool = True):
    """(kernels, MKL's sgemm address) where a batch's conv runs in blocks of images on the
    threads (``kernels/conv.c``), else None: float32 host arrays, 8 or more input channels
    (the compiled patch copy) or, while a graph is recorded, patches of at most ``THIN_K``
    values with the bias and a multiple of 16 output channels (a first layer's 3×3 taps of
    one channel: multiplied by hand in the blocks; the cnn workload's step 8.73 → 8.41 ms,
    but its forward without a graph 3.27 → 3.40 ms, hence not there), two or more images, a
    patch matrix of ``FAST_MIN`` values or more, the kernels and MKL on
    (``benchmarks/profile_step.py`` turns MKL's address off to see every product)."""
    if type(xd) is not np.ndarray or type(wd) is not np.ndarray or xd.dtype != np.float32 \
            or wd.dtype != np.float32 or N < 2 or size < FAST_MIN or \
            (C < 8 and (wd[0].size + 1 > THIN_K or wd.shape[0] % 16 or not recording)):
        return None
    kern = _fast.kernels()
    fn = blas.gemm_address(np.float32) if kern is not None else None
    return None if fn is None else (kern, fn)


def _blocked_setup(x, weight, bias, s, pads, d, out_hw, kern, per_row: int = 0):
    """The padded channels-last input, the weight rows (bias last), the ``conv_geometry``
    record and the thread count of a blocked conv; ``per_row``: floats of a second buffer per
    output pixel (the fused pool's conv output), counted in the block's size."""
    N, C, H, W = x.shape
    O, _, kh, kw = weight.shape
    K = kh * kw * C
    K1 = K + (bias is not None)
    P = out_hw[0] * out_hw[1]
    xpad = np.ascontiguousarray(pad_nhwc(nhwc_view(x.array), pads))
    Wm = weight.array.transpose(2, 3, 1, 0).reshape(K, O)          # rows (i, j, c)
    wm = np.ascontiguousarray(Wm if bias is None else
                              np.concatenate([Wm, bias.array[None].astype(np.float32)]))
    nt = kern.threads
    B = max(1, min(-(-N // nt), BLOCK_BYTES // (P * (K1 + per_row) * 4)))
    geometry = kern.conv_geometry(N=N, Hp=xpad.shape[1], Wp=xpad.shape[2], C=C, kh=kh, kw=kw,
                                  sh=s[0], sw=s[1], dh=d[0], dw=d[1], Ho=out_hw[0],
                                  Wo=out_hw[1], O=O, K1=K1, B=B)
    return xpad, wm, geometry, nt, B * P


def _weight_grads(dwt, bias, weight, K: int, kh: int, kw: int, C: int):
    """(weight gradient, bias gradient) from the threads' shares dwt (nt, K1, C_out)."""
    gwb = dwt.sum(axis=0) if dwt.shape[0] > 1 else dwt[0]
    gb = gwb[K].copy() if bias is not None and bias.requires_grad else None
    gw = np.ascontiguousarray(gwb[:K].reshape(kh, kw, C, -1).transpose(3, 2, 0, 1)) \
        if weight.requires_grad else None
    return gw, gb


def _conv2d_blocked(x, weight, bias, s, pads, d, out_hw, kern, fn):
    """conv2d with groups 1 in blocks of images (see ``kernels/conv.c``): the same products
    as the one-GEMM path, cut by images, and no patch matrix of the whole batch kept."""
    N, C, H, W = x.shape
    O, _, kh, kw = weight.shape
    K = kh * kw * C
    xpad, wm, geometry, nt, rows = _blocked_setup(x, weight, bias, s, pads, d, out_hw, kern)
    K1 = wm.shape[0]
    out = np.empty((N * out_hw[0] * out_hw[1], O), np.float32)
    kern.conv_blocks("forward", fn, geometry, xpad, wm, out,
                     np.empty(nt * rows * K1, np.float32), nt=nt)
    _fast.note("conv_blocks")
    y = nchw_view(out.reshape(N, *out_hw, O))

    def backward(g):
        g2 = np.ascontiguousarray(nhwc_view(g), dtype=np.float32).reshape(-1, O)
        scratch = np.empty(nt * rows * K1, np.float32)
        gx = gw = gb = None
        if weight.requires_grad or (bias is not None and bias.requires_grad):
            dwt = np.empty((nt, K1, O), np.float32)
            kern.conv_blocks("weight_grad", fn, geometry, xpad, g2, dwt, scratch, nt=nt)
            gw, gb = _weight_grads(dwt, bias, weight, K, kh, kw, C)
        if x.requires_grad:
            gx4 = np.empty((N, H, W, C), np.float32)
            kern.conv_blocks("input_grad", fn, geometry, g2, wm, gx4, scratch,
                             extra=(H, W, pads[0][0], pads[1][0]), nt=nt)
            gx = nchw_view(gx4)
        return gx, gw, gb
    return make(y, (x, weight, bias), backward, "ConvolutionBackward")


def conv2d_relu_pool(x: Tensor, weight: Tensor, bias: Tensor | None, stride: tuple,
                     pads: tuple, dilation: tuple, pool: tuple,
                     nchw: bool = False) -> Tensor | None:
    """``max_pool2d(relu(conv2d(x, ...)), pool)`` as one op where the conv runs in blocks of
    images (see ``_blocked_kernels``) and the pool's ``pool`` = (p_h, p_w) windows tile the
    conv's output (stride = window, no padding or dilation): each block's conv output is
    pooled with the ReLU while it is in the core's cache, so only the pooled values and the
    winners reach memory; the backward rebuilds each block's output gradient from them.
    Values and gradients are those of the three ops with the blocked conv. Arguments as
    resolved by ``Conv2d`` (stride, ((top, bottom), (left, right)) pads, dilation). With
    ``nchw`` the output's memory is (N, C, H, W), not channels-last: a Flatten after it is
    then free, forward and back (Sequential asks for it when one follows). None,
    having done nothing, elsewhere: the caller runs the ops apart."""
    N, C, H, W = x.shape
    O, Cg, kh, kw = weight.shape
    Ho = conv_output_size(H, kh, stride[0], sum(pads[0]), dilation[0])
    Wo = conv_output_size(W, kw, stride[1], sum(pads[1]), dilation[1])
    (ph, pw), K = pool, kh * kw * C
    if Cg != C or Ho % ph or Wo % pw or ph * pw >= 255:
        return None
    blocked = _blocked_kernels(x.array, weight.array, C, N, N * Ho * Wo * K,
                               records(x, weight, bias))
    if blocked is None:
        return None
    kern, fn = blocked
    xpad, wm, geometry, nt, rows = _blocked_setup(x, weight, bias, stride, pads, dilation,
                                                  (Ho, Wo), kern, per_row=O)
    K1 = wm.shape[0]
    Hq, Wq = Ho // ph, Wo // pw
    pooled = np.empty((N, O, Hq, Wq) if nchw else (N, Hq, Wq, O), np.float32)
    idx = np.empty((N, Hq, Wq, O), np.uint8)

    def buffers():                      # each thread's patch rows, conv output, pooled block
        return (np.empty(nt * rows * K1, np.float32), np.empty(nt * rows * O, np.float32),
                np.empty(nt * rows * O // (ph * pw) + 1, np.float32))
    kern.conv_pool_forward(fn, geometry, xpad, wm, pool, pooled, idx, nchw, buffers(), nt=nt)
    _fast.note("conv_blocks")

    def backward(g):
        gp = np.ascontiguousarray(g if nchw else nhwc_view(g), dtype=np.float32)
        need_w = weight.requires_grad or (bias is not None and bias.requires_grad)
        dwt = np.empty((nt, K1, O), np.float32) if need_w else None
        gx4 = np.empty((N, H, W, C), np.float32) if x.requires_grad else None
        kern.conv_pool_backward(fn, geometry, xpad, wm, pool, gp, idx, nchw, dwt, (H, W),
                                (pads[0][0], pads[1][0]), gx4, buffers(), nt=nt)
        gw, gb = _weight_grads(dwt, bias, weight, K, kh, kw, C) if need_w else (None, None)
        return (None if gx4 is None else nchw_view(gx4)), gw, gb
    return make(pooled if nchw else nchw_view(pooled), (x, weight, bias), backward,
                "ConvReluPoolBackward")


def _weight_grad(A: np.ndarray, g2: np.ndarray) -> np.ndarray:
    """Aᵀ·g (K, C_out) for patches A (L, K) and output gradient g2 (L, C_out).

    OpenBLAS runs this long-reduction GEMM fastest with the smaller of K and C_out as the
    output's row count (measured: conv 32→64 3×3 on 14×14, gᵀ·A 15% faster; conv 1→32,
    Aᵀ·g 10% faster), so the product is taken in that orientation.
    """
    if g2.shape[1] < A.shape[1]:
        return gemm(g2.T, A).T
    return gemm(A.T, g2)


def conv_input_grad(g2: np.ndarray, w: np.ndarray, in_hw: tuple, out_hw: tuple, s: tuple,
                    pads: tuple, d: tuple) -> np.ndarray:
    """dL/dx of conv2d with groups = 1: g2 (N·H_out·W_out, C_out) → (N, H, W, C_in).

    Output pixel (h, w) read the input pixel (h·s_h + i·d_h − p_t, w·s_w + j·d_w − p_l)
    through kernel tap W[:, :, i, j]. So dx is, summed over the k_h·k_w taps, one GEMM
    g·W_ij ((N·H_out·W_out, C_out)·(C_out, C_in)) added into the strided slice of input
    pixels that tap read (clipped to the un-padded input): no patch matrix of the
    gradient and no col2im scatter (measured 35% faster than either at the cnn workload's
    32→64 layer). A tap that reads every input pixel exactly once (the centre tap of a
    stride-1 'same' conv) writes its GEMM straight into dx, so dx needs no zero fill.
    """
    O, C, kh, kw = w.shape
    (H, W), (Ho, Wo), (sh, sw), (dh, dw) = in_hw, out_hw, s, d
    (pt, _), (pl, _) = pads
    N = g2.shape[0] // (Ho * Wo)
    xp = xp_of(g2)
    taps = xp.ascontiguousarray(w.transpose(2, 3, 0, 1))      # (k_h, k_w, C_out, C_in)
    dtype = np.result_type(g2.dtype, w.dtype)
    identity = [(i, j) for i in range(kh) for j in range(kw)
                if (Ho, Wo, sh, sw, i * dh, j * dw) == (H, W, 1, 1, pt, pl)]
    if identity:
        i0, j0 = identity[0]
        gx = gemm(g2, taps[i0, j0]).reshape(N, H, W, C)
    else:
        i0 = j0 = None
        gx = xp.zeros((N, H, W, C), dtype=dtype)
    tmp = xp.empty((g2.shape[0], C), dtype=dtype)
    t4 = tmp.reshape(N, Ho, Wo, C)
    add = _fast.step_kernel("shift_add", gx.size) if xp is np and gx.size >= FAST_MIN and \
        gx.dtype in (np.float32, np.float64) and _fast.kernels() is not None else None
    for i in range(kh):
        rows = _tap_range(i * dh - pt, sh, Ho, H)
        for j in range(kw):
            cols = _tap_range(j * dw - pl, sw, Wo, W)
            if rows is None or cols is None or (i, j) == (i0, j0):
                continue
            gemm(g2, taps[i, j], out=tmp)
            if add is None:
                gx[:, rows[1], cols[1]] += t4[:, rows[0], cols[0]]
            else:                       # the same adds, compiled (ops/_fast.py)
                (r, gr), (c, gc) = rows, cols
                add(gx, t4, gr.start, gr.step, gc.start, gc.step, r.start, c.start,
                    r.stop - r.start, c.stop - c.start)
                _fast.note("conv_input_grad")
    return gx


def _tap_range(shift: int, stride: int, n_out: int, n_in: int):
    """For a tap reading input index o·stride + shift: (output slice, input slice) of the
    outputs whose read lands inside [0, n_in), or None when none does."""
    lo = max(0, -(shift // stride))                     # ceil(−shift / stride)
    hi = min(n_out, (n_in - 1 - shift) // stride + 1)
    if lo >= hi:
        return None
    start = lo * stride + shift
    return slice(lo, hi), slice(start, start + (hi - lo - 1) * stride + 1, stride)


def conv1d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D cross-correlation: x (N, C_in, L), weight (C_out, C_in / G, k) → (N, C_out, L_out).

    L_out = floor((L + 2p − d·(k − 1) − 1) / s) + 1. Runs as conv2d on a height-1 image.
    """
    k = weight.shape[2]
    s = ntuple(stride, 1, "stride", "conv1d")
    d = ntuple(dilation, 1, "dilation", "conv1d")
    pads = conv_padding(padding, (k,), d, s, "conv1d")
    y = _conv2d(unsqueeze(x, 2), unsqueeze(weight, 2), bias, (1,) + s, ((0, 0),) + pads,
                (1,) + d, groups)
    return squeeze(y, 2)


# -- conv_transpose2d ------------------------------------------------------------------------
def conv_transpose2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """Transposed 2-D convolution (the gradient of conv2d w.r.t. its input), like PyTorch.

    Args:
        x: (N, C_in, H, W). weight: (C_in, C_out, k_h, k_w). bias: (C_out,) or None.
        stride, padding, output_padding, dilation: int or (h, w).
        groups: G; weight is then (C_in, C_out / G, k_h, k_w) and each group of C_in / G
            input channels makes its C_out / G output channels (G calls of the G = 1 path,
            concatenated: differentiable through slicing and ``cat``).

    Shape: H_out = (H − 1)·s − 2p + d·(k − 1) + output_padding + 1, W_out likewise.
    """
    if groups != 1:
        return _grouped_transpose2d(x, weight, bias, stride, padding, output_padding, groups,
                                    dilation)
    N, Ci, H, W = x.shape
    Ci_w, O, kh, kw = weight.shape
    if Ci != Ci_w:
        raise ShapeError(f"conv_transpose2d: input has {Ci} channels, weight "
                         f"{tuple(weight.shape)} expects {Ci_w}")
    s = ntuple(stride, 2, "stride", "conv_transpose2d")
    p = ntuple(padding, 2, "padding", "conv_transpose2d")
    op = ntuple(output_padding, 2, "output_padding", "conv_transpose2d")
    d = ntuple(dilation, 2, "dilation", "conv_transpose2d")
    if any(o >= max(a, b) for o, a, b in zip(op, s, d)):
        raise ValueError(f"conv_transpose2d(output_padding={op}): must be smaller than "
                         f"stride {s} or dilation {d}")
    full = tuple((n - 1) * si + di * (k - 1) + 1 + o
                 for n, si, di, k, o in zip((H, W), s, d, (kh, kw), op))
    Ho, Wo = full[0] - 2 * p[0], full[1] - 2 * p[1]
    if Ho <= 0 or Wo <= 0:
        raise ValueError(f"conv_transpose2d: padding {p} leaves no output for input "
                         f"{(H, W)} (H_out, W_out = {Ho}, {Wo})")
    same_device("conv_transpose2d", x, weight, bias)
    xp = xp_of(x.array)
    K = kh * kw * O
    xn = nhwc_view(x.array).reshape(N * H * W, Ci)
    Wm = weight.array.transpose(0, 2, 3, 1).reshape(Ci, K)      # (C_in, k_h·k_w·C_out)
    cols = gemm(xn, Wm).reshape(N, H, W, kh, kw, O)
    yfull = col2im(cols, full, s, d)
    y = yfull[:, p[0]:p[0] + Ho, p[1]:p[1] + Wo]
    if bias is not None:
        y = y + bias.array
    y = nchw_view(y)

    def backward(g):
        gx = gw = gb = None
        gn = nhwc_view(g)
        if bias is not None and bias.requires_grad:
            gb = gn.sum(axis=(0, 1, 2))
        if x.requires_grad or weight.requires_grad:
            gp = pad_nhwc(gn, ((p[0], full[0] - p[0] - Ho), (p[1], full[1] - p[1] - Wo)))
            A = windows(gp, (kh, kw), s, d, (H, W)).reshape(N * H * W, K)
            if x.requires_grad:
                gx = nchw_view(gemm(A, Wm.T).reshape(N, H, W, Ci))
            if weight.requires_grad:
                gw = gemm(xn.T, A).reshape(Ci, kh, kw, O).transpose(0, 3, 1, 2)
                gw = xp.ascontiguousarray(gw)
        return gx, gw, gb
    return make(y, (x, weight, bias), backward, "ConvolutionBackward")


def _grouped_transpose2d(x, weight, bias, stride, padding, output_padding, G, dilation):
    if isinstance(G, bool) or not isinstance(G, (int, np.integer)) or G <= 0 or \
            x.ndim != 4 or x.shape[1] % G or x.shape[1] != weight.shape[0]:
        raise ValueError(f"conv_transpose2d(groups={G!r}): expected a positive divisor of the "
                         f"input channels, input {tuple(x.shape)} and weight "
                         f"{tuple(weight.shape)} with C_in = weight.shape[0]")
    ci, og = x.shape[1] // G, weight.shape[1]
    outs = [conv_transpose2d(x[:, g * ci:(g + 1) * ci], weight[g * ci:(g + 1) * ci],
                             None if bias is None else bias[g * og:(g + 1) * og], stride,
                             padding, output_padding, 1, dilation) for g in range(G)]
    return cat(outs, 1)
