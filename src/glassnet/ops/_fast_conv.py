"""The conv's compiled copies (numba; see ``_fast``): the patch matrix and the input
gradient's per-tap adds, each also as ``<name>_par`` with its rows over numba's threads.
Both give bit-identical results to the NumPy path (the same copies, the same adds in the same
order); ``ops/conv.py`` uses them from ``FAST_MIN`` values on."""
import numba

__all__ = ["build"]


def build():
    """{name: kernel} for im2col and shift_add, one-thread and ``_par``."""
    out = {}
    for prange, parallel, suffix in ((range, False, ""), (numba.prange, True, "_par")):
        out["shift_add" + suffix] = _shift_add(prange, parallel)
        out["im2col" + suffix] = _im2col(prange, parallel)
    return out


def _shift_add(prange, parallel: bool):
    """``shift_add``, images looped by ``prange`` (range, or numba.prange with
    parallel=True: a different closure, so the two versions are cached apart)."""
    @numba.njit(cache=True, nogil=True, parallel=parallel)
    def shift_add(gx, t, h0, sh, w0, sw, th, tw, nh, nw):
        """gx[n, h0 + i·sh, w0 + j·sw] += t[n, th + i, tw + j] for i < nh, j < nw, both
        (N, ·, ·, C): a conv tap's input gradient added at its offset (NumPy's strided add
        of the same runs 2-3x slower on one thread)."""
        for n in prange(gx.shape[0]):
            for i in range(nh):
                for j in range(nw):
                    a, b = gx[n, h0 + i * sh, w0 + j * sw], t[n, th + i, tw + j]
                    for c in range(a.shape[0]):
                        a[c] += b[c]
    return shift_add


def _im2col(prange, parallel: bool):
    """``im2col``, rows (n, h_out) looped by ``prange`` (as ``_shift_add``)."""
    @numba.njit(cache=True, nogil=True, parallel=parallel)
    def im2col(xpad, kh, kw, sh, sw, dh, dw, Ho, Wo, out):
        """out (N·H_out·W_out, k_h·k_w·C) = the patches of xpad (N, H, W, C), columns
        (i, j, c). NumPy's copy of the strided window view
        runs ~2x slower on one thread (0.82 vs 0.70 ms, two threads 0.38, for the cnn
        workload's 64×14×14×32 input)."""
        N, C = xpad.shape[0], xpad.shape[3]
        for r in prange(N * Ho):
            n, ho = r // Ho, r % Ho
            for wo in range(Wo):
                row = out[r * Wo + wo]
                for i in range(kh):
                    src = xpad[n, ho * sh + i * dh]
                    for j in range(kw):
                        s, base = src[wo * sw + j * dw], (i * kw + j) * C
                        for c in range(C):
                            row[base + c] = s[c]
    return im2col
