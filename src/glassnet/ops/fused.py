"""Fused updates for the optimizers (``optim`` sits above ``ops`` and calls down to these).

:func:`adam_update` runs Adam's step as one compiled pass (``ops/kernels/optim.c``) instead of the
six MKL or eleven NumPy passes of ``optim/adam.py``, for float32 parameters of at least
``MIN_ELEMENTS`` elements; :func:`sgd_updates` runs SGD's step for all the float32
parameters of a group in one compiled call (PyTorch's foreach update), instead of two to six
passes per parameter (``optim.SGD`` calls it for groups of ``FUSED_MIN`` elements or more).
Whether they run depends only on the parameters (size, dtype and layout; for SGD, the
group's sizes) and on whether the kernels are on (``GLASSNET_FAST``), never on what the
process did before: the compiled passes round differently from the other paths (they match
PyTorch's fused multiply-adds), so a run must take the same path in every process (a resumed
run equals an uninterrupted one). Below Adam's threshold the kernel's call costs about what
it saves (measured 2026-12-05, 2 threads: 64 elements 7.5 → 5.7 µs, 65,536 99 → 29 µs).
"""
import numpy as np

from . import _fast

__all__ = ["adam_update", "sgd_takes", "sgd_updates", "cross_entropy_rows", "bias_add", "bias_grad",
           "bias_relu", "relu_bias_grad",
           "MIN_ELEMENTS", "BIAS_MIN", "SUM_MIN"]

MIN_ELEMENTS = 64
_F32 = np.dtype(np.float32)         # NumPy's float32 dtype is one object: `is` compares it


def adam_update(theta, g, m, v, beta1: float, beta2: float, step_size: float,
                bias_correction2_sqrt: float, eps: float) -> bool:
    """One Adam step in place (no AMSGrad), as ``torch.optim.Adam``'s single-tensor update:
    m ← lerp(m, g, 1 − β1), v ← β2·v + (1 − β2)·g², θ ← θ − step_size·m / (√v /
    bias_correction2_sqrt + ε), every scalar rounded to float32 as PyTorch does.

    Returns False, having changed nothing, where the kernel does not apply: fewer than
    ``MIN_ELEMENTS`` elements, arrays other than C-contiguous float32 host arrays of one
    size, a read-only θ, or the kernels off."""
    if not _takes(MIN_ELEMENTS, theta, g, m, v):
        return False
    n = theta.size
    f32 = np.float32
    _fast.step_kernel("adam", n)(theta.reshape(-1), g.reshape(-1), m.reshape(-1),
                                 v.reshape(-1), f32(1.0 - beta1), f32(beta2), f32(1.0 - beta2),
                                 f32(-step_size), f32(bias_correction2_sqrt), f32(eps))
    _fast.note("adam")
    return True


def _takes(minimum: int, theta, *others) -> bool:
    """Whether an update kernel takes these arrays: a writeable θ of ``minimum`` elements or
    more, every array a C-contiguous float32 host array of θ's size, the kernels on."""
    if type(theta) is not np.ndarray or theta.size < minimum or not theta.flags.writeable:
        return False
    n = theta.size
    for a in (theta,) + others:
        if type(a) is not np.ndarray or a.dtype is not _F32 or a.size != n or \
                not a.flags.c_contiguous:
            return False
    return _fast.kernels() is not None


def sgd_takes(theta, g, buf) -> bool:
    """Whether :func:`sgd_updates` takes this parameter: C-contiguous float32 host arrays of
    one size (``buf``: the momentum buffer, or None), a writeable θ, the kernels on."""
    return _takes(1, theta, g, *(() if buf is None else (buf,)))


def sgd_updates(thetas: list, gs: list, bufs: list | None, first: bool, lr: float,
                momentum: float, dampening: float, weight_decay: float,
                nesterov: bool) -> None:
    """One SGD step in place for every parameter of the lists, in one compiled call (PyTorch's
    foreach update), each as ``torch.optim.SGD``'s single-tensor update with PyTorch's float32
    fused multiply-adds (see ``sgd_f32`` in ``ops/kernels/optim.c``). ``bufs``: the momentum
    buffers (None without momentum), set to the gradients when ``first``. Every array must
    pass :func:`sgd_takes`."""
    total = sum(t.size for t in thetas)       # (cffi rounds the floats to float32 as NumPy)
    _fast.step_kernel("sgd", total)(thetas, gs, bufs, lr, momentum, 1.0 - dampening,
                                    weight_decay, first, nesterov)
    _fast.note("sgd")


CE_PAR_MIN = 1 << 15        # logits from here on: rows over the threads


def cross_entropy_rows(x2, t, ignore_index: int):
    """(per, p) for float32 logits x2 (R, C) with contiguous rows and integer class targets
    t (R,): per-row losses log Σ e^x − x_t (max-shifted) and p = softmax(x2), in one compiled
    pass per row (``ce_rows_f32`` in ``ops/kernels/loss.c``; e^x by the kernels' Cephes exp,
    ≤ 1.4 ulp, so p and per agree with NumPy's to float32 rounding; a −inf logit gives p ≈
    1e−38·e^{m}/Σ instead of 0). None where it does not apply: other dtypes or layouts, the
    kernels off, or a target out of range or equal to ``ignore_index`` (the caller's NumPy
    arithmetic runs then, and raises or skips those rows)."""
    if type(x2) is not np.ndarray or x2.dtype != np.float32 or x2.ndim != 2 or \
            x2.shape[1] == 0 or (x2.strides[1] != 4 and x2.shape[1] > 1) or \
            type(t) is not np.ndarray or t.dtype.kind not in "iu" or t.shape != x2.shape[:1]:
        return None
    kern = _fast.kernels()
    if kern is None:
        return None
    t = np.ascontiguousarray(t, np.int64)
    per = np.empty(x2.shape[0], np.float32)
    p = np.empty(x2.shape, np.float32)
    if _fast.step_kernel("ce_rows", x2.size, CE_PAR_MIN)(x2, t, ignore_index, per, p):
        return None
    _fast.note("cross_entropy")
    return per, p


# A linear layer's output from here on: the compiled bias passes (2 threads, µs, NumPy →
# kernel: add 128x512 9.7 → 4.8, 128x256 5.4 → 3.9; sum over rows 128x512 7.3 → 5.6; the mlp
# step 1.85 → 1.80 ms, alternating runs).
BIAS_MIN = 1 << 14
SUM_MIN = 1 << 16           # the column sums on the threads from here (128x256: one is faster)


def _rows_f32(a, minimum: int = BIAS_MIN) -> bool:
    return type(a) is np.ndarray and a.dtype == np.float32 and a.ndim == 2 and \
        a.size >= minimum and (a.strides[1] == 4 or a.shape[1] == 1)


def bias_add(y, b) -> bool:
    """y (R, C) += b (C,) in place, rows over the threads (``bias_add_f32``): the same bits
    as NumPy's broadcast add. False, having done nothing, where it does not apply."""
    if not _rows_f32(y) or type(b) is not np.ndarray or b.dtype != np.float32 or \
            _fast.kernels() is None:
        return False
    _fast.step_kernel("bias_add", y.size, BIAS_MIN)(y, np.ascontiguousarray(b))
    _fast.note("linear_bias")
    return True


def bias_relu(y, b, mask) -> bool:
    """y (R, C) = relu(y + b) in place, and mask (R, C) bool (None: not kept) as ReLU's
    ("not y + b <= 0": a NaN passes); ``bias_relu_f32``, one pass instead of bias_add's and
    ReLU's, the same bits. False, having done nothing, where it does not apply. Any size:
    the pass it saves is worth more than the call (threads from ``BIAS_MIN``)."""
    if not _rows_f32(y, 1) or type(b) is not np.ndarray or b.dtype != np.float32 or \
            _fast.kernels() is None:
        return False
    _fast.step_kernel("bias_relu", y.size, BIAS_MIN)(y, np.ascontiguousarray(b), mask)
    _fast.note("linear_relu")
    return True


def relu_bias_grad(g, mask):
    """(g where mask else 0, its column sums) for g (R, C): ReLU's backward and the linear
    layer's bias gradient in one pass (``relu_col_sum_f32``; the same bits as the two apart),
    or None where it does not apply."""
    if not _rows_f32(g, 1) or _fast.kernels() is None:
        return None
    gz = np.empty(g.shape, np.float32)
    gb = np.empty(g.shape[1], np.float32)
    _fast.step_kernel("relu_col_sum", g.size, SUM_MIN)(g, mask, gz, gb)
    _fast.note("linear_relu")
    return gz, gb


def bias_grad(g):
    """Σ_r g[r] for g (R, C): a linear layer's bias gradient, column blocks over the threads
    (``col_sum_f32``; rows added in order, NumPy's sum over axis 0 bit for bit), or None
    where it does not apply."""
    if not _rows_f32(g) or _fast.kernels() is None:
        return None
    out = np.empty(g.shape[1], np.float32)
    _fast.step_kernel("col_sum", g.size, SUM_MIN)(g, out)
    _fast.note("linear_bias")
    return out
