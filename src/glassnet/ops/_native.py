"""Build and load the compiled kernels of ``ops/kernels/*.c`` (cffi, a C compiler with OpenMP).

The C files (one translation unit, joined in the order of ``SOURCES``) are compiled once per
machine into a small extension module, kept in
``$GLASSNET_CACHE`` (default ``~/.cache/glassnet``) under a name that hashes the source, the
flags, the Python and cffi versions and the CPU's instruction sets (``-march=native``): a
second process loads it in ~1 ms and ~1 MB, where numba (the kernels' earlier home) cost
~140 MB of resident memory and ~0.4 s at the first call. The module is built in a temporary
folder and moved into place with one rename, so concurrent first runs cannot see a half
written file.

:func:`load` returns a namespace whose functions take NumPy arrays (the shapes and strides
come from the arrays) or None, with the reason in :func:`why_not`: cffi missing, no compiler,
or the build failed. Each kernel ``k`` also comes as ``k_par``, its outer loop split over
``threads`` OpenMP threads (see ``_fast.step_kernel``).
"""
import hashlib
import importlib.machinery
import importlib.util
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["load", "why_not", "cache_dir", "CDEF", "SOURCES"]

SOURCES = ("common.c", "pointwise.c", "optim.c", "cells.c", "loops.c", "loss.c", "infer.c",
           "conv.c", "chain.c")

CDEF = """
int set_flush_denormal(int on, int nt);
void relu_f32(void *x, void *out, void *mask, int64_t n, int nt);
void relu_f64(void *x, void *out, void *mask, int64_t n, int nt);
void relu_backward_f32(void *g, void *mask, void *out, int64_t n, int nt);
void relu_backward_f64(void *g, void *mask, void *out, int64_t n, int nt);
void max_pool_tiled_f32(void *x, int64_t N, int64_t H, int64_t W, int64_t C, int64_t kh,
                        int64_t kw, void *out, void *idx, int relu, int nt);
void max_pool_tiled_f64(void *x, int64_t N, int64_t H, int64_t W, int64_t C, int64_t kh,
                        int64_t kw, void *out, void *idx, int relu, int nt);
void max_pool_tiled_backward_f32(void *g, void *idx, int64_t N, int64_t Ho, int64_t Wo,
                                 int64_t C, int64_t kh, int64_t kw, void *gx, int nt);
void max_pool_tiled_backward_f64(void *g, void *idx, int64_t N, int64_t Ho, int64_t Wo,
                                 int64_t C, int64_t kh, int64_t kw, void *gx, int nt);
void max_pool_tiled_max_f32(void *x, int64_t N, int64_t H, int64_t W, int64_t C, int64_t kh,
                            int64_t kw, void *out, int relu, int nt);
void max_pool_tiled_max_f64(void *x, int64_t N, int64_t H, int64_t W, int64_t C, int64_t kh,
                            int64_t kw, void *out, int relu, int nt);
void im2col(void *xpad, int64_t N, int64_t H, int64_t W, int64_t C, int64_t item, int64_t kh,
            int64_t kw, int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t Ho, int64_t Wo,
            void *out, int64_t ld, int nt);
void shift_add_f32(void *gx, void *t, int64_t N, int64_t Hg, int64_t Wg, int64_t Ht,
                   int64_t Wt, int64_t C, int64_t h0, int64_t sh, int64_t w0, int64_t sw,
                   int64_t th, int64_t tw, int64_t nh, int64_t nw, int nt);
void shift_add_f64(void *gx, void *t, int64_t N, int64_t Hg, int64_t Wg, int64_t Ht,
                   int64_t Wt, int64_t C, int64_t h0, int64_t sh, int64_t w0, int64_t sw,
                   int64_t th, int64_t tw, int64_t nh, int64_t nw, int nt);
void adam_f32(void *theta, void *g, void *m, void *v, int64_t n, float weight, float beta2,
              float one_minus_beta2, float neg_step, float bc2_sqrt, float eps, int nt);
void sgd_f32(void **ptrs, int64_t *n, int64_t count, float lr, float momentum,
             float one_minus_damp, float wd, int has_buf, int first, int nesterov, int nt);
void lstm_cell(void *pre, int64_t s_pre, void *xw, int64_t s_xw, void *rows,
               void *c_prev, int64_t s_cp, void *acts, int64_t s_a, void *c, int64_t s_c,
               void *tc, int64_t s_tc, void *h, int64_t s_h, int64_t N, int64_t H, int nt);
void lstm_cell_backward(void *dh, int64_t s_dh, void *dc, int64_t s_dc, void *acts,
                        int64_t s_a, void *c_prev, int64_t s_cp, void *tc, int64_t s_tc,
                        void *D, int64_t s_d, int64_t N, int64_t H, int nt);
void gru_cell(void *pre, int64_t s_pre, void *xw, int64_t s_xw, void *rows, void *bhn,
              void *h_prev, int64_t s_hp, void *acts, int64_t s_a, void *hn, int64_t s_hn,
              void *h, int64_t s_h, int64_t N, int64_t H, int nt);
void gru_cell_backward(void *dh, int64_t s_dh, void *acts, int64_t s_a, void *hn,
                       int64_t s_hn, void *h_prev, int64_t s_hp, void *Dh, int64_t s_d,
                       void *Dn, int64_t s_dn, void *dhz, int64_t s_dz, int64_t N, int64_t H,
                       int nt);
void rnn_cell(void *h, int64_t s_h, void *xw, int64_t s_xw, void *rows, int64_t N, int64_t H,
              int relu, int nt);
void rnn_cell_backward(void *dh, int64_t s_dh, void *g, int64_t s_g, void *h, int64_t s_h,
                       void *D, int64_t s_d, int64_t N, int64_t H, int relu, int nt);
void rnn_forward_loop(int64_t fn, int packed, int transa, int transb, int M, int Np, int K,
                      int lda, void *b, int ldb, void *S0, void *xw, int64_t s_xw, void *rows,
                      int64_t L, int64_t N, int64_t H, int reverse, int zero_h0, int relu,
                      int nt);
int rnn_backward_loop(int64_t fn, int packed, int transa, int transb, int M, int Np, int K,
                      int lda, void *b, int ldb, void *G0, void *S0, void *dA, void *dh,
                      void *dh2, void *dT, void *rows, int64_t L, int64_t N, int64_t H,
                      int reverse, int want_h0, int relu, int nt);
void lstm_forward_loop(int64_t fn, int packed, int transa, int transb, int M, int Np, int K,
                       int lda, void *b, int ldb, void *S, void *pre, void *xw, int64_t s_xw,
                       void *rows, void *acts, void *aux, int64_t L, int64_t N, int64_t H,
                       int reverse, int zero_h0, int nt);
int lstm_backward_loop(int64_t fn, int packed, int transa, int transb, int M, int Np, int K,
                       int lda, void *b, int ldb, void *G, void *S, void *acts, void *aux,
                       void *dA, void *dh, void *dh2, void *dc, void *dT, void *rows,
                       int64_t L, int64_t N, int64_t H, int reverse, int want_h0, int nt);
void gru_forward_loop(int64_t fn, int packed, int transa, int transb, int M, int Np, int K,
                      int lda, void *b, int ldb, void *S0, void *pre, void *xw, int64_t s_xw,
                      void *rows, void *bhn, void *acts, void *aux, int64_t L, int64_t N,
                      int64_t H, int reverse, int zero_h0, int nt);
int gru_backward_loop(int64_t fn, int packed, int transa, int transb, int M, int Np, int K,
                      int lda, void *b, int ldb, void *G0, void *S0, void *acts, void *aux,
                      void *dAh, void *dAn, void *dh, void *dh2, void *dhz, void *dT,
                      void *rows, int64_t L, int64_t N, int64_t H, int reverse, int want_h0,
                      int nt);
int64_t ce_rows_f32(void *x, int64_t s_x, void *t, int64_t R, int64_t C, int64_t ignore,
                    void *per, void *p, int nt);
void bias_add_f32(void *y, int64_t s_y, void *b, int64_t R, int64_t C, int nt);
void col_sum_f32(void *g, int64_t s_g, int64_t R, int64_t C, void *out, int nt);
void bias_relu_f32(void *y, int64_t s_y, void *b, void *mask, int64_t R, int64_t C, int nt);
void relu_col_sum_f32(void *g, int64_t s_g, void *mask, void *gz, int64_t R, int64_t C,
                      void *gb, int nt);
void add_rows(void *d, int64_t s_d, void *rows, void *out, int64_t s_o, int64_t N,
              int64_t C);
typedef struct {
    int32_t kind, act;
    int64_t N, C, H, W, Co, Ho, Wo, kh, kw, sh, sw, pt, pl, dh, dw;
    const float *w, *b, *src;
    float *dst, *cols;
    const float *mean, *var;
    float eps, alpha;
    int32_t count_pad;
} infer_step;
void infer_chain(int64_t fn, infer_step *steps, int n);
typedef struct {
    int64_t n_in, n_out;
    int32_t relu, nt_fwd, nt_bwd;
    const float *w, *b, *src;
    float *dst;
    uint8_t *mask;
    float *gz, *dw, *db, *dsrc;
} chain_layer;
void linear_chain_forward(int64_t fn, chain_layer *layers, int n, int64_t N);
void linear_chain_backward(int64_t fn, chain_layer *layers, int n, int64_t N, void *g);
typedef struct {
    int64_t N, Hp, Wp, C, kh, kw, sh, sw, dh, dw, Ho, Wo, O, K1, B;
} conv_geometry;
void conv_blocks_forward(int64_t fn, conv_geometry *g, void *xpad, void *wm, void *out,
                         void *scratch, int nt);
void conv_blocks_weight_grad(int64_t fn, conv_geometry *g, void *xpad, void *gy, void *dwt,
                             void *scratch, int nt);
void conv_blocks_input_grad(int64_t fn, conv_geometry *g, void *gy, void *wm, int64_t H,
                            int64_t W, int64_t pt, int64_t pl, void *gx, void *scratch, int nt);
void conv_pool_forward(int64_t fn, conv_geometry *g, void *xpad, void *wm, int64_t pkh,
                       int64_t pkw, void *pooled, void *idx, int nchw, void *scratch,
                       void *ybuf, void *tbuf, int nt);
void conv_pool_backward(int64_t fn, conv_geometry *g, void *xpad, void *wm, int64_t pkh,
                        int64_t pkw, void *gp, void *idx, int nchw, void *dwt, int64_t H,
                        int64_t W, int64_t pt, int64_t pl, void *gx, void *scratch,
                        void *ybuf, void *tbuf, int nt);
"""

_why = None
_F32, _I64 = np.dtype(np.float32), np.dtype(np.int64)


def why_not() -> str | None:
    """Why :func:`load` returned None (None when it did not, or was not called)."""
    return _why


def cache_dir() -> Path:
    """Where built modules are kept: ``$GLASSNET_CACHE``, else ``$XDG_CACHE_HOME/glassnet``,
    else ``~/.cache/glassnet``."""
    env = os.environ.get("GLASSNET_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "glassnet"


def _flags(openmp: bool) -> list:
    flags = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-Wno-unknown-pragmas"]
    if platform.machine().lower() in ("x86_64", "amd64"):
        flags.append("-march=native")
    return flags + (["-fopenmp"] if openmp else [])


def _cpu() -> str:
    """The CPU's instruction sets (Linux: the flags line of /proc/cpuinfo), for the cache key."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return line
    except OSError:
        pass
    return platform.processor() + platform.machine()


def load(threads: int = 1):
    """The kernels as a namespace (``k`` and ``k_par`` on ``threads`` threads), or None."""
    global _why
    try:
        import cffi
    except ImportError:
        _why = "cffi not installed (pip install 'glassnet[fast]')"
        return None
    folder = Path(__file__).with_name("kernels")
    source = "\n".join((folder / name).read_text() for name in SOURCES)
    errors = []
    for openmp in (True, False):
        key = hashlib.sha256("\0".join([source, CDEF, " ".join(_flags(openmp)), sys.version,
                                        cffi.__version__, _cpu()]).encode()).hexdigest()[:16]
        name = f"_glassnet_kernels_{key}"
        try:
            lib = _import(_built(cffi, name, source, openmp), name)
        except Exception as e:          # no compiler, no OpenMP, a failed build: NumPy runs
            errors.append(f"{type(e).__name__}: {str(e).strip().splitlines()[-1:]}")
            continue
        _why = None
        return _Kernels(lib, threads if openmp else 1, openmp)
    _why = "the C kernels did not build (" + "; ".join(errors) + ")"
    return None


def _built(cffi, name: str, source: str, openmp: bool) -> Path:
    """The module's file in the cache, compiled there first if missing."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    cache = cache_dir()
    path = cache / (name + suffix)
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=name, dir=cache)
    try:
        ffi = cffi.FFI()
        ffi.cdef(CDEF)
        ffi.set_source(name, source, extra_compile_args=_flags(openmp),
                       extra_link_args=["-fopenmp"] if openmp else [])
        built = ffi.compile(tmpdir=tmp, verbose=False)
        os.replace(built, path)         # one rename: a concurrent run sees all or nothing
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def _import(path: Path, name: str):
    if name in sys.modules:             # loaded before (``_fast.use`` loads again)
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module


class _Kernels:
    """The C kernels behind the signatures the ops call (arrays in, results written in place)."""

    def __init__(self, module, threads: int, openmp: bool):
        self.ffi, self.lib, self.openmp = module.ffi, module.lib, openmp
        self.threads = max(1, int(threads))
        for name in ("relu", "relu_backward", "max_pool_tiled", "max_pool_tiled_backward",
                     "max_pool_tiled_max",
                     "im2col", "shift_add",
                     "adam", "sgd", "lstm_cell", "lstm_cell_backward", "gru_cell",
                     "gru_cell_backward", "rnn_cell", "rnn_cell_backward", "ce_rows",
                     "bias_add", "col_sum", "bias_relu", "relu_col_sum"):
            setattr(self, name, _bind(getattr(self, "_" + name), 1))
            setattr(self, name + "_par", _bind(getattr(self, "_" + name), self.threads))

    def _p(self, a):
        """A pointer to the memory of C-contiguous a (the kernels index it flat)."""
        try:
            return self.ffi.from_buffer(a)
        except (BufferError, ValueError, TypeError):
            raise TypeError(f"compiled kernel: expected a C-contiguous array, got strides "
                            f"{a.strides} for shape {a.shape}") from None

    def _row(self, a):
        """(pointer, row stride in elements) of a 2-D float32 array with contiguous rows (the
        rows themselves may lie apart: a column slice of a wider array)."""
        s = a.strides
        if a.dtype is not _F32 or len(s) != 2 or (s[1] != 4 and a.shape[1] > 1 and a.size):
            raise TypeError(f"compiled kernel: expected float32 rows, got {a.dtype} "
                            f"{a.shape} strides {s}")
        try:
            return self.ffi.from_buffer(a), s[0] >> 2
        except (BufferError, ValueError, TypeError):    # rows apart: point at the first one
            return self.ffi.cast("char *", a.ctypes.data), s[0] >> 2

    def _relu(self, nt, x, out, mask):
        f = self.lib.relu_f32 if x.dtype == np.float32 else self.lib.relu_f64
        f(self._p(x), self._p(out), self._p(mask), x.size, nt)

    def _relu_backward(self, nt, g, mask, out):
        f = self.lib.relu_backward_f32 if g.dtype == np.float32 else self.lib.relu_backward_f64
        f(self._p(g), self._p(mask), self._p(out), g.size, nt)

    def _max_pool_tiled(self, nt, x, kh, kw, out, idx, relu=False):
        f = self.lib.max_pool_tiled_f32 if x.dtype == np.float32 else self.lib.max_pool_tiled_f64
        f(self._p(x), *x.shape, kh, kw, self._p(out), self._p(idx), bool(relu), nt)

    def _max_pool_tiled_backward(self, nt, g, idx, kh, kw, gx, zero=None):
        f = self.lib.max_pool_tiled_backward_f32 if g.dtype == np.float32 else \
            self.lib.max_pool_tiled_backward_f64
        f(self._p(g), self._p(idx), *g.shape, kh, kw, self._p(gx), nt)

    def _max_pool_tiled_max(self, nt, x, kh, kw, out, relu=False):
        f = self.lib.max_pool_tiled_max_f32 if x.dtype == np.float32 else \
            self.lib.max_pool_tiled_max_f64
        f(self._p(x), *x.shape, kh, kw, self._p(out), bool(relu), nt)

    def _im2col(self, nt, xpad, kh, kw, sh, sw, dh, dw, Ho, Wo, out):
        """out (L, ld ≥ kh·kw·C), rows contiguous: the patches of xpad (contiguous)."""
        if out.strides[1] != out.itemsize or out.dtype != xpad.dtype:
            raise TypeError("compiled im2col: expected rows of contiguous values of xpad's dtype")
        self.lib.im2col(self._p(xpad), *xpad.shape, xpad.itemsize, kh, kw, sh, sw, dh, dw,
                        Ho, Wo, self._p(out), out.strides[0] // out.itemsize, nt)

    def _shift_add(self, nt, gx, t, h0, sh, w0, sw, th, tw, nh, nw):
        f = self.lib.shift_add_f32 if gx.dtype == np.float32 else self.lib.shift_add_f64
        N, Hg, Wg, C = gx.shape
        f(self._p(gx), self._p(t), N, Hg, Wg, t.shape[1], t.shape[2], C, h0, sh, w0, sw, th,
          tw, nh, nw, nt)

    def _adam(self, nt, theta, g, m, v, weight, beta2, one_minus_beta2, neg_step, bc2_sqrt,
              eps):
        self.lib.adam_f32(self._p(theta), self._p(g), self._p(m), self._p(v), theta.size,
                          weight, beta2, one_minus_beta2, neg_step, bc2_sqrt, eps, nt)

    def _sgd(self, nt, thetas, gs, bufs, lr, momentum, one_minus_damp, wd, first, nesterov):
        """SGD's update of every (θ, g, buf) of the lists (C-contiguous float32 arrays) in one
        call; bufs None: no momentum."""
        p = self._p
        self.lib.sgd_f32(self.ffi.new("void *[]", [p(a) for a in thetas + gs + (bufs or [])]),
                         self.ffi.new("int64_t[]", [a.size for a in thetas]), len(thetas), lr,
                         momentum, one_minus_damp, wd, bufs is not None, first, nesterov, nt)

    def _lstm_cell(self, nt, pre, xw, rows, c_prev, acts, c, tc, h):
        N, H = c.shape
        self.lib.lstm_cell(*self._row(pre), *self._row(xw), self._ids(rows), *self._row(c_prev),
                           *self._row(acts), *self._row(c), *self._row(tc), *self._row(h),
                           N, H, nt)

    def _lstm_cell_backward(self, nt, dh, dc, acts, c_prev, tc, D):
        N, H = dh.shape
        self.lib.lstm_cell_backward(*self._row(dh), *self._row(dc), *self._row(acts),
                                    *self._row(c_prev), *self._row(tc), *self._row(D), N, H, nt)

    def _gru_cell(self, nt, pre, xw, rows, bhn, h_prev, acts, hn, h):
        N, H = h.shape
        self.lib.gru_cell(*self._row(pre), *self._row(xw), self._ids(rows),
                          self._p(np.ascontiguousarray(bhn)), *self._row(h_prev),
                          *self._row(acts), *self._row(hn), *self._row(h), N, H, nt)

    def _gru_cell_backward(self, nt, dh, acts, hn, h_prev, Dh, Dn, dhz):
        N, H = dh.shape
        self.lib.gru_cell_backward(*self._row(dh), *self._row(acts), *self._row(hn),
                                   *self._row(h_prev), *self._row(Dh), *self._row(Dn),
                                   *self._row(dhz), N, H, nt)

    def _rnn_cell(self, nt, h, xw, rows, relu):
        N, H = h.shape
        self.lib.rnn_cell(*self._row(h), *self._row(xw), self._ids(rows), N, H, bool(relu), nt)

    def _rnn_cell_backward(self, nt, dh, g, h, D, relu):
        N, H = dh.shape
        gp, gs = (self.ffi.NULL, 0) if g is None else self._row(g)
        self.lib.rnn_cell_backward(*self._row(dh), gp, gs, *self._row(h), *self._row(D), N, H,
                                   bool(relu), nt)

    def _bias_add(self, nt, y, b):
        R, C = y.shape
        self.lib.bias_add_f32(*self._row(y), *self._dense("bias_add", (b, (C,))), R, C, nt)

    def _bias_relu(self, nt, y, b, mask):
        """y (R, C) = relu(y + b) in place; mask (R, C) uint8/bool contiguous, or None."""
        R, C = y.shape
        m = self.ffi.NULL if mask is None else self._p(mask)
        if mask is not None and mask.shape != (R, C):
            raise TypeError(f"compiled bias_relu: expected a mask {(R, C)}, got {mask.shape}")
        self.lib.bias_relu_f32(*self._row(y), *self._dense("bias_relu", (b, (C,))), m, R, C,
                               nt)

    def _relu_col_sum(self, nt, g, mask, gz, gb):
        """gz = g where mask else 0 (contiguous (R, C)), gb (C,) = its column sums."""
        R, C = g.shape
        if mask.shape != (R, C) or gz.shape != (R, C) or not gz.flags.c_contiguous:
            raise TypeError("compiled relu_col_sum: expected mask and contiguous gz (R, C)")
        self.lib.relu_col_sum_f32(*self._row(g), self._p(mask), self._p(gz), R, C,
                                  *self._dense("relu_col_sum", (gb, (C,))), nt)

    def _col_sum(self, nt, g, out):
        R, C = g.shape
        self.lib.col_sum_f32(*self._row(g), R, C, *self._dense("col_sum", (out, (C,))), nt)

    def _ce_rows(self, nt, x, t, ignore, per, p) -> int:
        """The number of targets out of range or ignored (0: per and p were written)."""
        R, C = x.shape
        if per.shape != (R,) or p.shape != (R, C) or not p.flags.c_contiguous or \
                t.shape != (R,):
            raise TypeError("compiled ce_rows: expected t and per (R,), contiguous p (R, C)")
        return self.lib.ce_rows_f32(*self._row(x), self._ids(t), R, C, ignore, self._p(per),
                                    self._p(p), nt)

    def _plan_args(self, plan):
        """The product's C arguments from ``blas.product_plan``."""
        fn, packed, transa, transb, M, N, K, lda, b, ldb, _ = plan
        return fn, packed, transa, transb, M, N, K, lda, self.ffi.cast("void *", b), ldb

    def _dense(self, name, *shaped):
        """Pointers to C-contiguous float32 arrays of the given shapes ((array, shape) pairs;
        a None array gives NULL): the time loops index them with their shapes alone."""
        out = []
        for a, shape in shaped:
            if a is None:
                out.append(self.ffi.NULL)
                continue
            if a.dtype is not _F32 or not a.flags.c_contiguous or a.shape != shape:
                raise TypeError(f"compiled {name}: expected contiguous float32 {shape}, got "
                                f"{a.dtype} {a.shape}")
            out.append(self._p(a))
        return out

    def rnn_forward_loop(self, plan, S0, xw, rows, reverse, zero_h0, relu, nt):
        """The RNN's whole forward (``rnn_forward_loop`` in kernels/loops.c): S0 (L+1, N, H)."""
        L1, N, H = S0.shape
        self.lib.rnn_forward_loop(*self._plan_args(plan), *self._dense("rnn_forward_loop",
                                                                       (S0, S0.shape)),
                                  *self._row(xw), self._ids(rows[:L1 - 1]), L1 - 1, N, H,
                                  bool(reverse), bool(zero_h0), bool(relu), nt)

    def rnn_backward_loop(self, plan, G0, S0, dA, dh, dh2, dT, rows, reverse, want_h0, relu,
                          nt) -> bool:
        """The RNN's backward through time; True when the final dh is in dh2."""
        L, N, H = dA.shape
        st, nh = (L + 1, N, H), (N, H)
        ptrs = self._dense("rnn_backward_loop", (G0, st), (S0, st), (dA, dA.shape), (dh, nh),
                           (dh2, nh), (dT, None if dT is None else (dT.shape[0], H)))
        return bool(self.lib.rnn_backward_loop(*self._plan_args(plan), *ptrs,
                                               self._ids(rows[:L]), L, N, H, bool(reverse),
                                               bool(want_h0), bool(relu), nt))

    def lstm_forward_loop(self, plan, S, pre, xw, rows, acts, aux, reverse, zero_h0, nt):
        """The LSTM's whole forward: S (2, L+1, N, H), pre (N, 4H), acts (L, N, 4H), aux."""
        _, L1, N, H = S.shape
        L = L1 - 1
        ptrs = self._dense("lstm_forward_loop", (S, S.shape), (pre, (N, 4 * H)))
        self.lib.lstm_forward_loop(*self._plan_args(plan), *ptrs, *self._row(xw),
                                   self._ids(rows[:L]),
                                   *self._dense("lstm_forward_loop", (acts, (L, N, 4 * H)),
                                                (aux, (L, N, H))),
                                   L, N, H, bool(reverse), bool(zero_h0), nt)

    def lstm_backward_loop(self, plan, G, S, acts, aux, dA, dh, dh2, dc, dT, rows, reverse,
                           want_h0, nt) -> bool:
        """The LSTM's backward through time; True when the final dh is in dh2."""
        L, N, GH = dA.shape
        H = GH // 4
        nh = (N, H)
        ptrs = self._dense("lstm_backward_loop", (G, S.shape), (S, (2, L + 1, N, H)),
                           (acts, dA.shape), (aux, (L, N, H)), (dA, dA.shape), (dh, nh),
                           (dh2, nh), (dc, nh), (dT, None if dT is None else (dT.shape[0], GH)))
        return bool(self.lib.lstm_backward_loop(*self._plan_args(plan), *ptrs,
                                                self._ids(rows[:L]), L, N, H, bool(reverse),
                                                bool(want_h0), nt))

    def gru_forward_loop(self, plan, S0, pre, xw, rows, bhn, acts, aux, reverse, zero_h0, nt):
        """The GRU's whole forward: S0 (L+1, N, H), pre (N, 3H), acts (L, N, 3H), aux."""
        L1, N, H = S0.shape
        L = L1 - 1
        ptrs = self._dense("gru_forward_loop", (S0, S0.shape), (pre, (N, 3 * H)))
        self.lib.gru_forward_loop(*self._plan_args(plan), *ptrs, *self._row(xw),
                                  self._ids(rows[:L]),
                                  *self._dense("gru_forward_loop", (bhn, (H,)),
                                               (acts, (L, N, 3 * H)), (aux, (L, N, H))),
                                  L, N, H, bool(reverse), bool(zero_h0), nt)

    def gru_backward_loop(self, plan, G0, S0, acts, aux, dAh, dAn, dh, dh2, dhz, dT, rows,
                          reverse, want_h0, nt) -> bool:
        """The GRU's backward through time; True when the final dh is in dh2."""
        L, N, GH = dAh.shape
        H = GH // 3
        st, nh = (L + 1, N, H), (N, H)
        ptrs = self._dense("gru_backward_loop", (G0, st), (S0, st), (acts, dAh.shape),
                           (aux, (L, N, H)), (dAh, dAh.shape), (dAn, (L, N, H)), (dh, nh),
                           (dh2, nh), (dhz, nh), (dT, None if dT is None else (dT.shape[0], GH)))
        return bool(self.lib.gru_backward_loop(*self._plan_args(plan), *ptrs,
                                               self._ids(rows[:L]), L, N, H, bool(reverse),
                                               bool(want_h0), nt))

    def conv_geometry(self, **sizes):
        """The ``conv_geometry`` record of kernels/conv.c (N, Hp, Wp, C, kh, kw, sh, sw, dh,
        dw, Ho, Wo, O, K1, B)."""
        g = self.ffi.new("conv_geometry *")
        for name, value in sizes.items():
            setattr(g, name, int(value))
        return g

    def conv_blocks(self, which, fn, geometry, *arrays, extra=(), nt=1):
        """``conv_blocks_<which>`` (forward, weight_grad, input_grad) on C-contiguous float32
        arrays (in the C signature's order; ``extra``: the input grad's H, W, pt, pl after its
        first two arrays)."""
        ptrs = [self._dense_any(which, a) for a in arrays]
        f = getattr(self.lib, "conv_blocks_" + which)
        if which == "input_grad":
            f(fn, geometry, ptrs[0], ptrs[1], *extra, *ptrs[2:], nt)
        else:
            f(fn, geometry, *ptrs, nt)

    def conv_pool_forward(self, fn, geometry, xpad, wm, pool, pooled, idx, nchw, buffers,
                          nt=1):
        """``conv_pool_forward`` of kernels/conv.c: pooled ((N, C, Hq, Wq) with ``nchw``,
        else (N, Hq, Wq, C)) and idx; ``buffers``: the threads' A, Y and T."""
        d = self._dense_any
        self.lib.conv_pool_forward(fn, geometry, d("pool", xpad), d("pool", wm), *pool,
                                   d("pool", pooled), self._p(idx), bool(nchw),
                                   *[d("pool", b) for b in buffers], nt)

    def conv_pool_backward(self, fn, geometry, xpad, wm, pool, gp, idx, nchw, dwt, hw, pads,
                           gx, buffers, nt=1):
        """``conv_pool_backward``: dwt (nt, K1, O) and gx (N, H, W, C), either None."""
        d, null = self._dense_any, self.ffi.NULL
        self.lib.conv_pool_backward(fn, geometry, d("pool", xpad), d("pool", wm), *pool,
                                    d("pool", gp), self._p(idx), bool(nchw),
                                    null if dwt is None else d("pool", dwt), *hw, *pads,
                                    null if gx is None else d("pool", gx),
                                    *[d("pool", b) for b in buffers], nt)

    def _dense_any(self, name, a):
        if a.dtype is not _F32 or not a.flags.c_contiguous:
            raise TypeError(f"compiled conv_blocks_{name}: expected contiguous float32, got "
                            f"{a.dtype} {a.shape} strides {a.strides}")
        return self._p(a)

    def add_rows(self, d, rows, out):
        self.lib.add_rows(*self._row(d), self._ids(rows), *self._row(out), *d.shape)

    def _ids(self, rows):
        if rows.dtype is not _I64 or not rows.flags.c_contiguous:
            raise TypeError(f"compiled kernel: expected contiguous int64 row ids, got "
                            f"{rows.dtype}")
        return self.ffi.from_buffer(rows)


def _bind(method, nt: int):
    def kernel(*args):
        return method(nt, *args)
    kernel.__name__ = method.__name__.lstrip("_") + ("_par" if nt > 1 else "")
    return kernel
