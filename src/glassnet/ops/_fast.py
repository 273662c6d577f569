"""Optional compiled kernels (``ops/kernels/*.c``, built by ``ops/_native.py`` with cffi and
the machine's C compiler; ``pip install 'glassnet[fast]'``), used per op only where they
measurably beat the NumPy path; without cffi or a compiler everything runs on NumPy.

The ops that use them (``status()["ops"]`` lists those that ran):

ReLU on large host float arrays (any layout that is a permutation of a contiguous one, like
the conv's channels-last output): one pass writes the output and the bool mask (NumPy: two,
the comparison and the maximum), and the backward is one select pass (NumPy: g·mask).

2-D max pooling over non-overlapping windows that tile the input exactly (kernel = stride,
no padding, no dilation: LeNet's and the cnn workload's 2×2 pools) on host float arrays in
channels-last memory. NumPy needs 6 passes for the forward (running max and the "tap took
over" masks) and 11 for the backward (winner masks, one multiply per tap); the kernel reads
each input once and writes the output and a uint8 winner index in the same pass, and the
backward writes every input cell once.

Same rule as the NumPy path and PyTorch: scanning the window's taps in order, a strictly
greater value or a NaN takes over, so ties keep the first maximum and a NaN window sends its
gradient to its last NaN. The tests check both paths give identical values and gradients.

The LSTM's and GRU's time steps, forward and backward, one pass each over the step's gates
(float32). The conv input gradient's per-tap strided adds (``shift_add``) and the conv's
patch matrix for 8 or more channels (``im2col``). Adam's and SGD's updates in one pass
(called through ``ops.fused``), cross-entropy over class indices, a linear layer's bias
(with the ReLU after it: ``ops.linear_relu``), the pool with the ReLU before it
(``ops.max_pool2d_relu``), and a Sequential's batch-1 eval forward in one call
(``ops.infer``, with MKL).

The pool, the recurrent steps, ``shift_add``, ``im2col`` and Adam also come as ``<name>_par``,
their outer loop split over OpenMP threads (as many as MKL's); :func:`step_kernel` picks them
where :func:`parallel_rows` allows.

``GLASSNET_FAST=0`` (read at the first use) or ``use(False)`` turns the kernels off;
``status()`` says whether they are on and which ops ran them (the benchmark records it).
"""
import os

from . import _native

__all__ = ["kernels", "use", "status", "note", "flat", "dense_order", "parallel_rows",
           "step_kernel", "threads_for", "PARALLEL_MIN"]

_UNSET = object()
_kernels = _UNSET
_used: set = set()


def kernels():
    """The compiled kernels (a namespace), or None when they are off or could not be built."""
    global _kernels
    if _kernels is _UNSET:
        _kernels = _load() if os.environ.get("GLASSNET_FAST", "1") != "0" else None
    return _kernels


def _load():
    from .. import blas
    n = blas.threads()              # MKL's threads (None: MKL off, the rows stay on one)
    return _native.load(n if n is not None and n >= 2 else 1)


def use(enabled: bool) -> None:
    """Turn the compiled kernels on (if they build here) or off for this process."""
    global _kernels
    _kernels = _load() if enabled else None


PARALLEL_MIN = 1 << 12          # values below this: one thread (the launch costs a few µs)


def step_kernel(name: str, cells: int, minimum: int | None = None):
    """The compiled kernel ``name`` (a recurrent step, the tiled max-pool) for work on
    ``cells`` values: its ``_par`` version (outer loop over OpenMP threads) where
    :func:`parallel_rows` allows and the work is big enough (``minimum`` cells, default
    ``PARALLEL_MIN``)."""
    ns = kernels()
    return getattr(ns, name + "_par" if threads_for(cells, minimum) > 1 else name)


def threads_for(cells: int, minimum: int | None = None) -> int:
    """The thread count :func:`step_kernel` uses for ``cells`` values (also for the compiled
    time loops, which call the step kernels from C)."""
    ns = kernels()
    return ns.threads if cells >= (PARALLEL_MIN if minimum is None else minimum) else 1


def parallel_rows() -> bool:
    """Whether the ``_par`` kernels split their rows over threads: only beside MKL running on
    two or more threads (``blas.threads()``, which follows OMP_NUM_THREADS /
    MKL_NUM_THREADS), with the kernels built with OpenMP. They then run on as many threads
    as MKL, on the same OpenMP runtime (libgomp; ``blas`` switches MKL to it). Measured on
    the lstm workload (2 threads): 28.5 → 26 ms per step. Beside NumPy's OpenBLAS (whose idle
    threads spin) the rows stay on one thread."""
    ns = kernels()
    return ns is not None and ns.threads > 1


def note(op: str) -> None:
    """Record that ``op`` ran its compiled kernel (for ``status``)."""
    _used.add(op)


def status() -> dict:
    """{"compiled": "C (cffi <version>)" or None, "enabled": bool, "ops": ops that ran a
    compiled kernel, "parallel_rows": whether the ``_par`` kernels split their rows, "why":
    why the kernels are off (None when on)}.

    Does not build or load the kernels: a process whose ops never needed one reports what
    would have been used."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        found = f"C (cffi {version('cffi')})"
    except PackageNotFoundError:
        found = None
    off = os.environ.get("GLASSNET_FAST", "1") == "0"
    if _kernels is _UNSET:
        enabled, why = found is not None and not off, None
    else:
        enabled = _kernels is not None
        why = None if enabled else ("turned off (GLASSNET_FAST=0 or use(False))"
                                    if _native.why_not() is None else _native.why_not())
    if found is None:
        why = "cffi not installed (pip install 'glassnet[fast]')"
    return {"compiled": found, "enabled": enabled, "ops": sorted(_used),
            "parallel_rows": _kernels is not _UNSET and parallel_rows(), "why": why}


def flat(a, perm=None):
    """``a`` as a 1-D view in memory order, or None when its memory is not one contiguous
    block (``perm``: the axis order to use, default the one of ``dense_order(a)``)."""
    perm = dense_order(a) if perm is None else perm
    if perm is None:
        return None
    v = a.transpose(perm)
    return v.reshape(-1) if v.flags.c_contiguous else None


def dense_order(a):
    """The axis order that makes ``a`` C-contiguous (outermost first), or None if none does
    (a strided slice). A channels-last view (N, C, H, W) gives (0, 2, 3, 1)."""
    perm = tuple(sorted(range(a.ndim), key=lambda i: -a.strides[i]))
    return perm if a.transpose(perm).flags.c_contiguous else None
