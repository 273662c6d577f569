"""Matrix products (and the optimizer's y ← αx + βy) through Intel oneMKL when it is
installed (``pip install 'glassnet[mkl]'``, Linux x86-64), NumPy otherwise; also MKL's
threaded vector functions for the optimizers' updates of large parameters.

Why: the training workloads spend most of their time in float32 products of a few shapes
(the LSTM's per-step 32×256 @ 256×1024, the mlp's 128×784 @ 784×512, ...), and on the
Intel machines we measured, OpenBLAS runs them 30–40% slower than MKL, the BLAS inside
PyTorch's CPU wheels (docs/performance.md has the table and the command). MKL ships on PyPI
as the ``mkl`` package; we call its ``cblas_sgemm``/``cblas_dgemm`` through ctypes on the
NumPy arrays' memory, so arrays, dtypes and results stay NumPy's.

:func:`matmul` is a drop-in for ``np.matmul(a, b, out=out)`` on host arrays. MKL runs only
for 2-D float32 or float64 operands whose layouts BLAS reads without a copy (row-major, or
the transpose of one, with any leading stride), and only for products of at least
``MIN_FLOPS`` multiply-adds (with two or more MKL threads from ``MIN_FLOPS_THREADED``, and a
single row from ``MIN_ROW``): below that the call's own cost (about 2 µs through ctypes)
beats what MKL saves. A stack of products (3-D operands) goes matrix by matrix. Everything else,
and every non-NumPy array (CuPy), goes to the array module's ``matmul``. :func:`axpby`,
:func:`vmul`, :func:`vsqrt` and :func:`linear_frac` are MKL's threaded vector functions
(``cblas_?axpby``, VML) that SGD and Adam use on parameters of ``MIN_AXPBY`` elements or more
(two threads: mlp's SGD update 358 → 157 µs, a 401K-parameter Adam update 1.3 → 0.55 ms).

A recurrent layer multiplies by the same W_hh at every time step: :func:`pack` keeps such a
right operand in MKL's internal layout (``cblas_?gemm_pack``; the LSTM's 32×256 @ 256×1024
step 89 → 57 µs), and :func:`repeated` plans a product of fixed shapes once and then calls
MKL directly (~6 µs of Python less per call). :func:`threads` / :func:`set_threads` read and
set MKL's thread count.

``GLASSNET_BLAS=numpy`` (read at the first product) or ``use(False)`` turns MKL off;
``status()`` says which library ran (the benchmark records it). MKL's thread count follows
``MKL_NUM_THREADS``/``OMP_NUM_THREADS`` and threadpoolctl, like NumPy's BLAS.

Two BLAS thread pools in one process fight: after a threaded OpenBLAS call its workers spin
for a while, and MKL's workers then lose the cores (the rnn step ran 12 → 48 ms, the gru
36 → 100 ms, with 2 threads each). So when MKL loads, every OpenBLAS of the process (NumPy's,
SciPy's) is set to one thread: the products left to it are the small ones, which it runs on
one thread anyway. This also applies to the user's own NumPy products in the process;
``use(False)`` gives OpenBLAS its thread counts back.
"""
from __future__ import annotations

import ctypes
import os
from importlib import metadata

import numpy as np

__all__ = ["matmul", "repeated", "product_plan", "gemm_address", "pack", "Packed", "axpby",
           "vectors", "vmul", "vsqrt", "linear_frac", "use", "status", "threads", "set_threads",
           "MIN_FLOPS", "MIN_AXPBY"]

MIN_FLOPS = 1 << 21            # M·N·K below this: np.matmul (measured crossover, 1 thread)
# With two or more MKL threads MKL wins from here (a 1 × K row: from MIN_ROW on); see
# ``_worth_mkl`` for the measurements.
MIN_FLOPS_THREADED = 1 << 20
MIN_ROW = 1 << 18
MIN_AXPBY = 1 << 15            # axpby on fewer elements: NumPy (MKL's call and threads cost more)

_UNSET = object()
_gemm = _UNSET                 # {dtype: cblas function} or None
_capped = []                   # (OpenBLAS file, its set_num_threads, threads before)
_vec = {}                      # {(name, dtype): MKL's vector function}
_pack = {}                     # {dtype: (gemm_pack_get_size, gemm_pack, gemm_compute)}
_ROW, _NOTRANS, _TRANS, _PACKED, _B_MATRIX = 101, 111, 112, 151, 162
_ran = False
_openmp = "default"            # MKL's OpenMP runtime: "gnu" once _gnu_openmp switched it


def _library_path() -> str | None:
    """The file of ``libmkl_rt`` installed by the ``mkl`` wheel, or None."""
    try:
        files = metadata.files("mkl") or []
    except metadata.PackageNotFoundError:
        return None
    for f in files:
        if f.name.startswith("libmkl_rt.so"):
            return str(f.locate())
    return None


def _load(honour_env: bool = True):
    global _gemm
    _gemm = None
    if honour_env and os.environ.get("GLASSNET_BLAS", "mkl").lower() in ("numpy", "openblas",
                                                                           "0"):
        return
    path = _library_path()
    if path is None:
        return
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return
    _gnu_openmp(lib)
    P, I = ctypes.c_void_p, ctypes.c_int
    found = {}
    for dtype, name, real in ((np.dtype(np.float32), "cblas_sgemm", ctypes.c_float),
                              (np.dtype(np.float64), "cblas_dgemm", ctypes.c_double)):
        f = getattr(lib, name, None)
        if f is None:                   # not the MKL we know: NumPy does everything
            return
        f.argtypes = [I, I, I, I, I, I, real, P, I, P, I, real, P, I]
        f.restype = None
        found[dtype] = f
    for dtype, p, real in ((np.dtype(np.float32), "s", ctypes.c_float),
                           (np.dtype(np.float64), "d", ctypes.c_double)):
        table = {"axpby": (f"cblas_{p}axpby", [I, real, P, I, real, P, I]),
                 "mul": (f"v{p}Mul", [I, P, P, P]), "sqrt": (f"v{p}Sqrt", [I, P, P]),
                 "linear_frac": (f"v{p}LinearFrac", [I, P, P, real, real, real, real, P])}
        try:                            # an MKL without one of them: no vector functions
            funcs = {key: getattr(lib, name) for key, (name, _) in table.items()}
        except AttributeError:
            continue
        for key, f in funcs.items():
            f.argtypes, f.restype = table[key][1], None
            _vec[key, dtype] = f
    for dtype, p, real in ((np.dtype(np.float32), "s", ctypes.c_float),
                           (np.dtype(np.float64), "d", ctypes.c_double)):
        try:
            size, pk, compute = (getattr(lib, f"cblas_{p}gemm_{n}")
                                 for n in ("pack_get_size", "pack", "compute"))
        except AttributeError:
            continue
        size.argtypes, size.restype = [I, I, I, I], ctypes.c_size_t
        pk.argtypes, pk.restype = [I, I, I, I, I, I, real, P, I, P], None
        compute.argtypes, compute.restype = [I, I, I, I, I, I, P, I, P, I, real, P, I], None
        _pack[dtype] = (size, pk, compute)
    for name, argtypes, restype in (("MKL_Get_Max_Threads", [], I),
                                    ("MKL_Set_Num_Threads", [I], None)):
        f = getattr(lib, name, None)
        if f is not None:
            f.argtypes, f.restype = argtypes, restype
            _vec[name] = f
    _gemm = found
    _single_thread_openblas()


def _gnu_openmp(lib) -> None:
    """Run MKL's threads on GNU OpenMP (libgomp), the runtime the compiled kernels use,
    instead of Intel's (libiomp5): one OpenMP runtime in the process, not two. With two, the
    idle runtime's workers spin while the other's run, three busy threads on two cores (per
    step: the recurrent product on MKL, then the gate kernel on the other's). Measured,
    alternating runs, 2 threads: lstm step 21.2 → 20.0 ms, cnn 13.0 → 12.8, gru and rnn about
    1% less, mlp (no kernels then) the same; 4 MB less resident. Only before MKL's first call, when
    ``MKL_THREADING_LAYER`` is not set and libgomp loads; otherwise MKL keeps its default."""
    setter = getattr(lib, "MKL_Set_Threading_Layer", None)
    if setter is None or os.environ.get("MKL_THREADING_LAYER"):
        return
    try:
        ctypes.CDLL("libgomp.so.1")
    except OSError:
        return
    setter.argtypes, setter.restype = [ctypes.c_int], ctypes.c_int
    global _openmp
    if setter(3) == 3:                  # MKL_THREADING_GNU (MKL returns the layer in use)
        _openmp = "gnu"


_OPENBLAS = (("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
             ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
             ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
             ("openblas_set_num_threads", "openblas_get_num_threads"))


def _single_thread_openblas() -> None:
    """Every OpenBLAS loaded in this process (Linux: read from /proc/self/maps) to 1 thread."""
    try:
        with open("/proc/self/maps") as f:
            paths = sorted({ln.split()[-1] for ln in f if "openblas" in ln.lower() and "/" in ln})
    except OSError:
        return
    for path in paths:
        if any(path == c[0] for c in _capped):
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for set_name, get_name in _OPENBLAS:
            setter, getter = getattr(lib, set_name, None), getattr(lib, get_name, None)
            if setter is not None and getter is not None:
                setter.argtypes, setter.restype, getter.restype = [ctypes.c_int], None, \
                    ctypes.c_int
                _capped.append((path, setter, getter()))
                setter(1)
                break


def _restore_openblas() -> None:
    while _capped:
        _, setter, threads = _capped.pop()
        setter(threads)


def use(enabled: bool) -> None:
    """Turn the MKL products on (if the ``mkl`` package is installed) or off for this process."""
    global _gemm
    if not enabled:
        _gemm = None
        _restore_openblas()
        return
    _load(honour_env=False)


def threads() -> int | None:
    """The threads MKL's products run on (``mkl_get_max_threads``), None when MKL is off."""
    if _gemm is _UNSET:
        _load()
    f = _vec.get("MKL_Get_Max_Threads") if _gemm else None
    return f() if f is not None else None


def set_threads(n: int) -> None:
    """Set MKL's thread count (``mkl_set_num_threads``); nothing when MKL is off."""
    f = _vec.get("MKL_Set_Num_Threads") if _gemm else None
    if f is not None:
        f(int(n))


def status() -> dict:
    """{"mkl": version or None, "enabled": bool, "ran": whether a product went to MKL,
    "openmp": "gnu" when MKL's threads run on libgomp (``_gnu_openmp``) else "default",
    "openblas_single_thread": the OpenBLAS files set to one thread while MKL is on}."""
    try:
        found = metadata.version("mkl")
    except metadata.PackageNotFoundError:
        found = None
    if _gemm is _UNSET:
        _load()
    return {"mkl": found, "enabled": bool(_gemm), "ran": _ran, "openmp": _openmp,
            "openblas_single_thread": [c[0].rsplit("/", 1)[-1] for c in _capped]}


def _operand(x, rows: int, cols: int, item: int):
    """(transpose flag, leading dimension) for reading ``x`` (rows × cols) in place, or None."""
    s0, s1 = x.strides
    if s1 == item and (s0 >= cols * item or rows == 1) and s0 % item == 0:
        return _NOTRANS, max(s0 // item, cols, 1)
    if s0 == item and (s1 >= rows * item or cols == 1) and s1 % item == 0:
        return _TRANS, max(s1 // item, rows, 1)
    return None


class Packed:
    """A right operand b (K, N) copied into MKL's internal layout for many products a @ b
    with a of M rows (:func:`pack`); ``array`` is b itself. Valid while b is unchanged."""
    __slots__ = ("array", "buffer", "M")

    def __init__(self, array, buffer, M):
        self.array, self.buffer, self.M = array, buffer, M

    @property
    def shape(self):
        return self.array.shape


def pack(b, M: int):
    """b (K, N) made ready for repeated products ``matmul(a, ·)`` with a (M, K): a
    :class:`Packed` on MKL (``cblas_?gemm_pack``: the recurrent layers' per-step product
    h·W_hhᵀ, 32×256 @ 256×1024, ran 89 → 57 µs with 2 threads), else b itself (MKL off, a
    product below ``MIN_FLOPS``, a layout or dtype MKL does not take)."""
    if type(b) is not np.ndarray or b.ndim != 2 or M * b.size < MIN_FLOPS:
        return b
    if _gemm is _UNSET:
        _load()
    fns = _gemm and _pack.get(b.dtype)
    K, N = b.shape
    pb = _operand(b, K, N, b.itemsize) if fns else None
    if pb is None:
        return b
    size, pk, _ = fns
    nbytes = size(_B_MATRIX, M, N, K)
    raw = np.empty(nbytes + 64, np.uint8)
    start = -raw.ctypes.data % 64                       # 64-byte aligned, as MKL prefers
    buffer = raw[start:start + nbytes]
    pk(_ROW, _B_MATRIX, pb[0], M, N, K, 1.0, b.ctypes.data, pb[1], buffer.ctypes.data)
    return Packed(b, buffer, M)


def _packed(a, b: Packed, out):
    """a @ b for a packed b: MKL's gemm_compute, or NumPy on b.array where it does not fit."""
    M, K = a.shape
    N = b.array.shape[1]
    pa = _operand(a, M, K, a.itemsize) if a.dtype is b.array.dtype and M == b.M else None
    if pa is None or not _gemm or (out is not None and not (
            type(out) is np.ndarray and out.dtype is a.dtype and out.shape == (M, N)
            and out.flags.c_contiguous and not np.may_share_memory(out, a))):
        return np.matmul(a, b.array) if out is None else np.matmul(a, b.array, out=out)
    c = np.empty((M, N), a.dtype) if out is None else out
    global _ran
    _ran = True
    _pack[a.dtype][2](_ROW, pa[0], _PACKED, M, N, K, a.ctypes.data, pa[1], b.buffer.ctypes.data,
                      0, 0.0, c.ctypes.data, N)
    return c


def repeated(b, M: int, packed: bool = True):
    """A function ``f(a, out)`` that writes ``out = a @ b`` for many a of one shape (M, K) and
    layout into C-contiguous ``out`` (M, N): a recurrent layer's product per time step. ``out``
    must not overlap a or b; b must not change while the function is in use.

    The layouts are checked once, on the first call; later calls with the same shapes and
    strides go straight to MKL (~1 µs of Python instead of ~6 in :func:`matmul`'s checks).
    ``packed``: keep b in MKL's packed layout (:func:`pack`). Anything else (MKL off, other
    shapes or strides, a product below ``MIN_FLOPS``) runs as ``matmul(a, b, out=out)``."""
    b_used = pack(b, M) if packed else b
    plan = []                       # [key, function, arguments before a, between, after c]

    def call(a, out):
        if plan and plan[0] == (a.shape, a.strides, out.shape, out.strides):
            _, fn, pre, mid, post = plan
            fn(*pre, a.ctypes.data, *mid, out.ctypes.data, *post)
            return out
        if not plan:
            plan.extend(_plan(a, b_used, out) or [None])
        return matmul(a, b_used, out=out)
    return call


def product_plan(b, M: int, a, out):
    """The product ``out = a @ b`` of :func:`repeated` for a compiled loop that calls MKL
    itself: ``(function address, packed, transa, transb, M, N, K, lda, b address, ldb,
    keep)`` with ``keep`` the object that must outlive the loop (b's packed copy), or None
    where MKL does not take these arrays (the caller's Python loop runs then). ``a`` and
    ``out`` are examples of the per-step operands (every step's must have their strides);
    the function is ``cblas_?gemm_compute`` (packed b) or ``cblas_?gemm`` with int
    arguments (MKL's LP64 interface, as everywhere in this module)."""
    b_used = pack(b, M)
    plan = _plan(a, b_used, out)
    if not plan:
        return None
    _, fn, pre, mid, _ = plan
    address = ctypes.cast(fn, ctypes.c_void_p).value
    lda, b_address, ldb, _ = mid
    M, N, K = pre[3:6]
    packed = type(b_used) is Packed
    return (address, int(packed), pre[1], _PACKED if packed else pre[2], M, N, K, lda,
            b_address, ldb, b_used)


def gemm_address(dtype=np.float32) -> int | None:
    """The address of MKL's ``cblas_?gemm`` for a compiled caller (LP64 int arguments, as
    everywhere in this module), or None where MKL is off; the caller's products then count as
    run on MKL in :func:`status`."""
    if _gemm is _UNSET:
        _load()
    f = _gemm.get(np.dtype(dtype)) if _gemm else None
    if f is None:
        return None
    global _ran
    _ran = True
    return ctypes.cast(f, ctypes.c_void_p).value


def _plan(a, b, out):
    """[key, function, arguments] for :func:`repeated` (see there), or [] (no fast path)."""
    if _gemm is _UNSET:
        _load()
    if not _gemm or type(a) is not np.ndarray or type(out) is not np.ndarray or a.ndim != 2:
        return []
    M, K = a.shape
    N = b.shape[1]
    dt = a.dtype
    if dt not in _gemm or out.dtype is not dt or out.shape != (M, N) or b.shape[0] != K or \
            not out.flags.c_contiguous or M * K * N < MIN_FLOPS:
        return []
    pa = _operand(a, M, K, dt.itemsize)
    if pa is None:
        return []
    key = (a.shape, a.strides, out.shape, out.strides)
    global _ran
    if type(b) is Packed:
        if b.array.dtype is not dt or b.M != M:
            return []
        _ran = True         # compute(layout, transa, transb, M, N, K, a, lda, b, ldb, beta, c, ldc)
        return [key, _pack[dt][2], (_ROW, pa[0], _PACKED, M, N, K),
                (pa[1], b.buffer.ctypes.data, 0, 0.0), (N,)]
    pb = _operand(b, K, N, dt.itemsize) if type(b) is np.ndarray and b.dtype is dt else None
    if pb is None:
        return []
    _ran = True     # gemm(layout, transa, transb, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc)
    return [key, _gemm[dt], (_ROW, pa[0], pb[0], M, N, K, 1.0), (pa[1], b.ctypes.data, pb[1],
                                                                  0.0), (N,)]


def matmul(a, b, out=None):
    """``a @ b`` (into ``out`` when given), like ``np.matmul``; see the module docstring.
    b may be a :class:`Packed` (2-D a only)."""
    if type(b) is Packed:
        return _packed(a, b, out)
    if type(a) is np.ndarray:
        if type(b) is np.ndarray and a.ndim == 2 == b.ndim:
            macs = a.size * b.shape[1]
            if macs >= MIN_FLOPS or macs >= MIN_ROW and _worth_mkl(macs, a.shape[0]):
                c = _mkl(a, b, out)
                if c is not None:
                    return c
        elif (type(b) is np.ndarray and 2 <= a.ndim <= 3 and 2 <= b.ndim <= 3 and out is None
                and (a if a.ndim == 3 else b).shape[0] * a.shape[-2] * a.shape[-1]
                * b.shape[-1] >= MIN_FLOPS):
            c = _mkl_batched(a, b)
            if c is not None:
                return c
        return np.matmul(a, b) if out is None else np.matmul(a, b, out=out)
    from .backend import xp_of
    return xp_of(a).matmul(a, b, out=out)


def _worth_mkl(macs: int, rows: int) -> bool:
    """Whether a product of ``macs`` multiply-adds (``rows`` rows in a) below ``MIN_FLOPS``
    still goes to MKL: when MKL runs on two or more threads, from ``MIN_FLOPS_THREADED`` on,
    and a single row (a batch-1 linear layer) from ``MIN_ROW`` on.

    Measured with 2 threads, NumPy's time over MKL's for 1 to 128 rows and eight weight
    shapes, both layouts: at 2^20 multiply-adds and above MKL wins in every cell (1.05–5.7x;
    NumPy's one-thread OpenBLAS is slowest on few rows: 4 × 3136 @ 3136 × 128, 185 vs 44 µs),
    below 2^19 NumPy mostly wins; a single row wins from 2^18 with a large weight (1 × 3136 @
    3136 × 128: 18.5 vs 14.9 µs alone, and the batch-1 cnn forward 288 → 246 µs: each core
    keeps its half of the weight in its own cache). With one thread MKL still loses at 2^20
    (128 × 128 @ 128 × 64: NumPy takes 0.87 of MKL's time), hence ``MIN_FLOPS`` there."""
    if _gemm is _UNSET:
        _load()
    f = _vec.get("MKL_Get_Max_Threads") if _gemm else None
    if f is None or f() < 2:
        return False
    return macs >= MIN_FLOPS_THREADED or rows == 1


def vectors(*arrays) -> bool:
    """True when MKL is on and the vector functions below can take ``arrays`` in place: host
    float32/float64 arrays of one dtype and one size (at least ``MIN_AXPBY`` elements),
    C-contiguous, the first ones writeable. Optimizers ask once per parameter."""
    y = arrays[0]
    if type(y) is not np.ndarray or y.size < MIN_AXPBY:
        return False
    if _gemm is _UNSET:
        _load()
    if not _gemm or ("mul", y.dtype) not in _vec:
        return False
    n, dt = y.size, y.dtype
    return all(type(a) is np.ndarray and a.dtype is dt and a.size == n
               and a.flags.c_contiguous for a in arrays) and y.flags.writeable


def axpby(alpha: float, x, beta: float, y) -> bool:
    """``y ← αx + βy`` in place by MKL's threaded ``cblas_?axpby``, when :func:`vectors`
    accepts them and they do not overlap; False (nothing done) otherwise, and the caller does
    it with NumPy. (One rounding of αx + βy where NumPy rounds twice.)"""
    if not vectors(y, x) or np.may_share_memory(x, y):
        return False
    _vec["axpby", y.dtype](y.size, alpha, x.ctypes.data, 1, beta, y.ctypes.data, 1)
    return True


def vmul(a, b, out) -> None:
    """out ← a·b element-wise (MKL VML); the caller has checked :func:`vectors`."""
    _vec["mul", out.dtype](out.size, a.ctypes.data, b.ctypes.data, out.ctypes.data)


def vsqrt(a, out) -> None:
    """out ← √a element-wise (MKL VML); the caller has checked :func:`vectors`."""
    _vec["sqrt", out.dtype](out.size, a.ctypes.data, out.ctypes.data)


def linear_frac(a, b, scale_a: float, shift_a: float, scale_b: float, shift_b: float,
                out) -> None:
    """out ← (scale_a·a + shift_a) / (scale_b·b + shift_b) element-wise (MKL VML, ``out``
    may be ``b``); the caller has checked :func:`vectors`."""
    _vec["linear_frac", out.dtype](out.size, a.ctypes.data, b.ctypes.data, scale_a, shift_a,
                                   scale_b, shift_b, out.ctypes.data)


def _mkl_batched(a, b):
    """A stack of products (one operand may be a single matrix) as one MKL call per matrix,
    or None. Batched products would otherwise go to NumPy's BLAS, whose worker threads then
    spin and take the core from MKL's (a recurrent step ran 3-4x slower with 2 threads)."""
    if a.shape[-1] != b.shape[-2] or a.ndim == b.ndim and a.shape[0] != b.shape[0]:
        return None
    batch = (a if a.ndim == 3 else b).shape[0]
    c = np.empty((batch, a.shape[-2], b.shape[-1]), np.result_type(a, b))
    for i in range(batch):
        if _mkl(a[i] if a.ndim == 3 else a, b[i] if b.ndim == 3 else b, c[i]) is None:
            return None
    return c


def _mkl(a, b, out):
    """The product on MKL, or None where it cannot take it (NumPy then does)."""
    if _gemm is _UNSET:
        _load()
    f = _gemm and a.dtype is b.dtype and _gemm.get(a.dtype)
    M, K = a.shape
    K2, N = b.shape
    if not f or K != K2:
        return None
    item = a.itemsize
    pa, pb = _operand(a, M, K, item), _operand(b, K, N, item)
    if pa is None or pb is None:
        return None
    if out is None:
        c = np.empty((M, N), a.dtype)
    elif (type(out) is np.ndarray and out.dtype is a.dtype and out.shape == (M, N)
            and out.flags.c_contiguous and not np.may_share_memory(out, a)
            and not np.may_share_memory(out, b)):
        c = out
    else:
        return None                                # an unusual out=: NumPy handles it
    global _ran
    _ran = True
    f(_ROW, pa[0], pb[0], M, N, K, 1.0, a.ctypes.data, pa[1], b.ctypes.data, pb[1], 0.0,
      c.ctypes.data, N)
    return c
