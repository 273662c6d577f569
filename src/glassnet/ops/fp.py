"""The CPU's floating-point mode: :func:`set_flush_denormal` (``torch.set_flush_denormal``)."""
from . import _fast

__all__ = ["set_flush_denormal"]


def set_flush_denormal(mode: bool) -> bool:
    """Flush subnormal numbers (magnitudes below ~1.2e-38 in float32, ~2.2e-308 in float64)
    to zero on the CPU, as ``torch.set_flush_denormal``: with ``mode`` True such results
    become 0 and such inputs count as 0; False restores IEEE behaviour.

    Why: arithmetic on subnormals runs many times slower on x86. In a long run the momentum
    buffer of a dead ReLU unit (gradient exactly 0) decays by μ every step into the
    subnormals, and SGD's pass slows down (the mlp benchmark after ~800 steps on one batch:
    140 → 310 µs).

    The mode is per thread: it is set in the calling thread and in the threads of the
    compiled kernels and MKL (one OpenMP team), not in threads started later. Needs the
    compiled kernels (``glassnet[fast]``).

    Returns:
        True where the mode was set (x86-64 and AArch64 with the compiled kernels), else
        False (nothing changed).

    Example:
        >>> gn.set_flush_denormal(True)
        True
        >>> gn.tensor([1e-39]) * 1
        tensor([0.])
        >>> gn.set_flush_denormal(False)
        True
    """
    k = _fast.kernels()
    if k is None:
        return False
    return bool(k.lib.set_flush_denormal(bool(mode), k.threads))
