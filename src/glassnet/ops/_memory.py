"""Keep freed array memory in the process heap instead of returning it to the OS (glibc).

A training step allocates and frees the same large arrays (activations, patch matrices,
gradients) every step. By default glibc serves blocks of more than ~128 KB-32 MB with fresh
``mmap`` pages and gives them back on ``free``; every new array then pays one page fault per
4 KB on first touch, which measured ~40% of a CNN training step on NumPy. Raising
``M_MMAP_THRESHOLD`` (to its 32 MB maximum) and ``M_TRIM_THRESHOLD`` makes later steps reuse
the same heap pages, as PyTorch's caching allocators and jemalloc/tcmalloc do.

Set the environment variable ``GLASSNET_MALLOC_TUNING=0`` to leave malloc alone.
"""
import ctypes
import os
import sys

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_done = False


def keep_freed_memory(mmap_threshold: int = 32 << 20, trim_threshold: int = 1 << 30) -> bool:
    """Apply the malloc settings once (glibc on Linux only). Returns True if they were set."""
    global _done
    if _done or not sys.platform.startswith("linux") or \
            os.environ.get("GLASSNET_MALLOC_TUNING", "1") == "0":
        return _done
    try:
        libc = ctypes.CDLL("libc.so.6")
        ok = libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold) == 1
        ok = libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold) == 1 and ok
    except (OSError, AttributeError):
        return False
    _done = ok
    return ok
