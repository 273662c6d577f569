"""Fused updates for the optimizers (``optim`` sits above ``ops`` and calls down to these).

:func:`adam_update` runs Adam's step as one compiled pass (``_fast_optim``) instead of the
six MKL or eleven NumPy passes of ``optim/adam.py``, for parameters of at least
``MIN_ELEMENTS`` elements. Whether it runs depends only on the parameter (its size, dtype and
layout) and on whether numba is installed and on (``GLASSNET_FAST``), never on what the
process did before: the compiled pass rounds differently from the other paths (it matches
PyTorch's fused multiply-adds), so a run must take the same path in every process (a resumed
run equals an uninterrupted one). Below ``MIN_ELEMENTS`` the gain (a few µs) does not pay for
loading numba (~120 MB of RSS, ~0.4 s) in a process that would not load it otherwise (the rnn
workload's largest weight has 65,536 elements).
"""
import numpy as np

from . import _fast

__all__ = ["adam_update", "MIN_ELEMENTS"]

MIN_ELEMENTS = 1 << 17


def adam_update(theta, g, m, v, beta1: float, beta2: float, step_size: float,
                bias_correction2_sqrt: float, eps: float) -> bool:
    """One Adam step in place (no AMSGrad), as ``torch.optim.Adam``'s single-tensor update:
    m ← lerp(m, g, 1 − β1), v ← β2·v + (1 − β2)·g², θ ← θ − step_size·m / (√v /
    bias_correction2_sqrt + ε), every scalar rounded to float32 as PyTorch does.

    Returns False, having changed nothing, where the kernel does not apply: fewer than
    ``MIN_ELEMENTS`` elements, arrays other than C-contiguous float32 host arrays of one
    size, a read-only θ, or numba missing or turned off."""
    if type(theta) is not np.ndarray or theta.size < MIN_ELEMENTS or \
            not theta.flags.writeable:
        return False
    n = theta.size
    for a in (theta, g, m, v):
        if type(a) is not np.ndarray or a.dtype != np.float32 or a.size != n or \
                not a.flags.c_contiguous:
            return False
    if _fast.kernels() is None:
        return False
    f32 = np.float32
    _fast.step_kernel("adam", n)(theta.reshape(-1), g.reshape(-1), m.reshape(-1),
                                 v.reshape(-1), f32(1.0 - beta1), f32(beta2), f32(1.0 - beta2),
                                 f32(-step_size), f32(bias_correction2_sqrt), f32(eps))
    _fast.note("adam")
    return True
