"""Optional compiled kernels (numba, ``pip install 'glassnet[fast]'``), used per op only
where they measurably beat the NumPy path; without numba everything runs on NumPy.

Seven ops so far.

ReLU on large host float arrays (any layout that is a permutation of a contiguous one, like
the conv's channels-last output): one pass writes the output and the bool mask (NumPy: two,
the comparison and the maximum), and the backward is one select pass (NumPy: g·mask).

2-D max pooling over non-overlapping windows that tile the input exactly (kernel = stride,
no padding, no dilation: LeNet's and the cnn workload's 2×2 pools) on host float arrays in
channels-last memory. NumPy needs 6 passes for the forward (running max and the "tap took
over" masks) and 11 for the backward (winner masks, one multiply per tap); the kernel reads
each input once and writes the output and a uint8 winner index in the same pass, and the
backward writes every input cell once. Measured on the cnn workload's two pools (1 thread,
CPU time, forward + backward): 3.9 → 1.3 ms and 1.35 → 0.46 ms.

Same rule as the NumPy path and PyTorch: scanning the window's taps in order, a strictly
greater value or a NaN takes over, so ties keep the first maximum and a NaN window sends its
gradient to its last NaN. The tests check both paths give identical values and gradients.

The LSTM's and GRU's time steps, forward and backward, one pass each over the step's gates
(float32; ``_fast_rnn`` has the kernels and why they are written as they are).

The conv input gradient's per-tap strided adds (``shift_add``; 189 → 88 µs on one thread,
53 µs on two, for the cnn workload's 64×14×14×32 taps), and the conv's patch matrix for 8 or
more channels (``im2col``): ``_fast_conv``.

Adam's update in one pass for parameters of 2^17 elements or more (``_fast_optim``, called
through ``ops.fused.adam_update``).

The pool, the recurrent steps, ``shift_add``, ``im2col`` and Adam also come as ``<name>_par``,
rows split over numba's threads; :func:`step_kernel` picks them where :func:`parallel_rows`
allows.

``GLASSNET_FAST=0`` (read at the first use) or ``use(False)`` turns the kernels off;
``status()`` says whether they are on and which ops ran them (the benchmark records it).
Compiled code is cached on disk by numba (``cache=True``), so only the first run compiles.
"""
import os

__all__ = ["kernels", "use", "status", "note", "flat", "dense_order", "parallel_rows",
           "step_kernel", "PARALLEL_MIN"]

_UNSET = object()
_kernels = _UNSET
_used: set = set()
_parallel = None


def kernels():
    """The compiled kernels (a namespace), or None when numba is missing or turned off."""
    global _kernels
    if _kernels is _UNSET:
        _kernels = _load() if os.environ.get("GLASSNET_FAST", "1") != "0" else None
    return _kernels


def _load():
    try:
        import numba
    except ImportError:
        return None
    return _build(numba)


def use(enabled: bool) -> None:
    """Turn the compiled kernels on (if numba is installed) or off for this process."""
    global _kernels
    _kernels = _load() if enabled else None


PARALLEL_MIN = 1 << 12          # values below this: one thread (the launch costs a few µs)


def step_kernel(name: str, cells: int):
    """The compiled kernel ``name`` (a recurrent step, the tiled max-pool) for work on
    ``cells`` values: its ``_par`` version (rows split over numba's threads) where
    :func:`parallel_rows` allows and the work is big enough."""
    ns = kernels()
    if cells >= PARALLEL_MIN and parallel_rows():
        return getattr(ns, name + "_par")
    return getattr(ns, name)


def parallel_rows() -> bool:
    """Whether the recurrent step kernels may split their rows over threads (the ``_par``
    kernels): only beside MKL running on two or more threads, with numba's OpenMP layer.

    Decided once. numba then runs on as many threads as MKL (``blas.threads()``, which
    follows OMP_NUM_THREADS / MKL_NUM_THREADS), at most NUMBA_NUM_THREADS. Starting numba's
    OpenMP layer can reset the thread count of MKL's OpenMP runtime; MKL's count is set back
    right after. Measured on the lstm workload (2 threads): 28.5 → 26 ms per step. Beside
    NumPy's OpenBLAS (whose idle threads spin) or on numba's other layers (workqueue: 34 ms)
    the rows stay on one thread."""
    global _parallel
    if _parallel is None:
        _parallel = _start_parallel()
    return _parallel


def _start_parallel() -> bool:
    from .. import blas
    n = blas.threads()
    if n is None or n < 2 or kernels() is None:
        return False
    import numba
    if numba.config.NUMBA_NUM_THREADS < 2:
        return False
    try:
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
        layer = numba.threading_layer()
    except (ValueError, RuntimeError):
        return False
    finally:
        blas.set_threads(n)
    return layer == "omp"


def note(op: str) -> None:
    """Record that ``op`` ran its compiled kernel (for ``status``)."""
    _used.add(op)


def status() -> dict:
    """{"numba": version or None, "enabled": bool, "ops": ops that ran a compiled kernel,
    "parallel_rows": whether recurrent steps split their rows over threads}.

    Does not import numba (that alone costs ~120 MB of RSS): a process whose ops never
    needed a kernel reports what would have been used."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        found = version("numba")
    except PackageNotFoundError:
        found = None
    if _kernels is _UNSET:
        enabled = found is not None and os.environ.get("GLASSNET_FAST", "1") != "0"
    else:
        enabled = _kernels is not None
    return {"numba": found, "enabled": enabled, "ops": sorted(_used),
            "parallel_rows": bool(_parallel)}


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


def _build(numba):
    """The kernels as attributes of one namespace; the row-parallel ones also as
    ``<name>_par`` (rows split over numba's threads, see :func:`step_kernel`)."""
    njit = numba.njit(cache=True, nogil=True)
    max_pool_tiled, max_pool_tiled_backward = _pool_kernels(numba, range, False)

    @njit
    def relu(x, out, mask):
        """One pass over 1-D x: out = max(x, 0) and mask = not x <= 0 (NaN: both pass)."""
        zero = x.dtype.type(0)
        for i in range(x.size):
            v = x[i]
            p = not v <= zero
            mask[i] = p
            out[i] = v if p else zero

    @njit
    def relu_backward(g, mask, out):
        """out = g where mask, else 0 (a select: an inf or NaN g stays out, like PyTorch)."""
        zero = g.dtype.type(0)
        for i in range(g.size):
            out[i] = g[i] if mask[i] else zero

    class Kernels:
        pass
    ns = Kernels()
    ns.max_pool_tiled = max_pool_tiled
    ns.max_pool_tiled_backward = max_pool_tiled_backward
    ns.relu = relu
    ns.relu_backward = relu_backward
    from . import _fast_conv, _fast_optim, _fast_rnn  # import numba: only where it is installed
    vars(ns).update(_fast_rnn.build())
    vars(ns).update(_fast_optim.build())
    ns.max_pool_tiled_par, ns.max_pool_tiled_backward_par = _pool_kernels(numba, numba.prange,
                                                                          True)
    vars(ns).update(_fast_conv.build())
    return ns


def _pool_kernels(numba, prange, parallel: bool):
    """The tiled max-pool pair, rows (n, h_out) looped by ``prange``: range, or numba.prange
    with parallel=True (a different closure: the two versions are cached apart)."""
    njit = numba.njit(cache=True, nogil=True, parallel=parallel)

    @njit
    def max_pool_tiled(x, kh, kw, out, idx):
        """x (N, H, W, C) → out (N, H/kh, W/kw, C) and idx, the winning tap (i·kw + j)."""
        N, Ho, Wo, C = out.shape
        for r in prange(N * Ho):
            n, ho = r // Ho, r % Ho
            for wo in range(Wo):
                o, ix, first = out[n, ho, wo], idx[n, ho, wo], x[n, ho * kh, wo * kw]
                for c in range(C):
                    o[c] = first[c]
                    ix[c] = 0
                for k in range(1, kh * kw):
                    t = x[n, ho * kh + k // kw, wo * kw + k % kw]
                    for c in range(C):
                        v = t[c]
                        if v > o[c] or v != v:      # strictly greater, or NaN
                            o[c] = v
                            ix[c] = k

    @njit
    def max_pool_tiled_backward(g, idx, kh, kw, gx, zero):
        """gx (N, H, W, C): g where the cell won its window, else ``zero`` (gx's dtype);
        every cell is written."""
        N, Ho, Wo, C = g.shape
        for r in prange(N * Ho):
            n, ho = r // Ho, r % Ho
            for wo in range(Wo):
                gg, ix = g[n, ho, wo], idx[n, ho, wo]
                for k in range(kh * kw):
                    d = gx[n, ho * kh + k // kw, wo * kw + k % kw]
                    for c in range(C):
                        d[c] = gg[c] if ix[c] == k else zero

    return max_pool_tiled, max_pool_tiled_backward
