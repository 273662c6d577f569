"""Fused updates for the optimizers (``optim`` sits above ``ops`` and calls down to these).

:func:`adam_update` runs Adam's step as one compiled pass (``_fast_optim``) instead of the
six MKL or eleven NumPy passes of ``optim/adam.py``, but only where numba's kernels are
already loaded because an op needed them (a conv, pool or recurrent step of a training
batch): loading numba costs ~120 MB of RSS and ~0.4 s, more than the update ever gains
(1-3% of a step), so an MLP trained with Adam keeps the MKL/NumPy update.
"""
import numpy as np

from . import _fast

__all__ = ["adam_update"]


def adam_update(theta, g, m, v, beta1: float, beta2: float, step_size: float,
                bias_correction2_sqrt: float, eps: float) -> bool:
    """One Adam step in place (no AMSGrad), as ``torch.optim.Adam``'s single-tensor update:
    m ← lerp(m, g, 1 − β1), v ← β2·v + (1 − β2)·g², θ ← θ − step_size·m / (√v /
    bias_correction2_sqrt + ε), every scalar rounded to float32 as PyTorch does.

    Returns False, having changed nothing, where the kernel does not apply: numba's kernels
    not loaded yet, arrays other than C-contiguous float32 host arrays of one size, or a
    read-only θ."""
    kern = _fast.loaded()
    if kern is None or type(theta) is not np.ndarray or not theta.flags.writeable:
        return False
    n = theta.size
    for a in (theta, g, m, v):
        if type(a) is not np.ndarray or a.dtype != np.float32 or a.size != n or \
                not a.flags.c_contiguous:
            return False
    f32 = np.float32
    _fast.step_kernel("adam", n)(theta.reshape(-1), g.reshape(-1), m.reshape(-1),
                                 v.reshape(-1), f32(1.0 - beta1), f32(beta2), f32(1.0 - beta2),
                                 f32(-step_size), f32(bias_correction2_sqrt), f32(eps))
    _fast.note("adam")
    return True
