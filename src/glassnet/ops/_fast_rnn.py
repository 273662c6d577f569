"""The LSTM and GRU steps as compiled kernels (numba; see ``_fast``): one pass forward, one
back.

NumPy runs a step's gate arithmetic as ~25 ufunc passes over (N, 4H) blocks (exp, +1, 1/x,
products, the backward factors); each kernel here reads its inputs once and writes each
result once, row by row, with the transcendental functions computed in the loop:

* ``_expf`` is Cephes' expf (x = k·ln2 + r, |r| ≤ ln2/2, a degree-7 polynomial for e^r and
  2^k written into the exponent bits): at most 1.4 ulp from exp in float32, and unlike a
  call into libm it vectorises. Its input is clamped to [−87.34, 88.38], so e^x stays finite
  and nonzero: σ then ends at ~3e−39 or 1 where exact arithmetic gives 0 or 1.
* ``_tanhf`` is Cephes' tanhf: an odd polynomial below |x| = 0.625, 1 − 2/(e^{2|x|} + 1)
  above (≤ 2 ulp).

The pre-activations come unscaled (the NumPy path negates and doubles gate rows of the weights
up front; here that is free inside the loop): a gate is 1/(1 + e^{−a}) and LSTM's
g = 2σ(2a_g) − 1, the same formulas as the NumPy path. float32 only: float64 (the gradient
checks) keeps the NumPy path.

Each row is split into short loops with few arrays each: one loop over all seven arrays is
not vectorised by LLVM (too many possible overlaps to check at run time) and ran 7x slower.
``error_model="numpy"`` drops Python's division-by-zero check, which also blocks
vectorisation; fastmath is limited to contraction (FMA), no reassociation (it would undo the
expf's two-part ln2).
"""
import numba
import numpy as np

__all__ = ["build"]

_OPTS = dict(cache=True, nogil=True, error_model="numpy", fastmath={"contract", "nsz"})
f32 = np.float32


def build():
    """{name: kernel}: the LSTM and GRU steps and add_rows, compiled on first call and cached
    on disk; the steps also as ``<name>_par``, their batch rows split over numba's threads
    (``numba.prange``; see ``_fast.parallel_rows`` for when those run)."""
    kernels = _make(range, False)
    par = _make(numba.prange, True)
    kernels.update({name + "_par": k for name, k in par.items() if name != "add_rows"})
    return kernels


# The helpers are module globals, not closure variables of the kernels: numba's disk cache
# keys a function by its closure's contents, and a closure over a dispatcher missed the cache
# in every new process (~3 s of compiling before the first step).
@numba.njit(inline="always", **_OPTS)
def _expf(x):
    if x > f32(88.37626):
        x = f32(88.37626)
    if x < f32(-87.33654):
        x = f32(-87.33654)
    k = np.floor(x * f32(1.44269504088896341) + f32(0.5))
    r = x - k * f32(0.693359375)
    r = r + k * f32(2.12194440e-4)
    y = f32(1.9875691500e-4)
    y = y * r + f32(1.3981999507e-3)
    y = y * r + f32(8.3334519073e-3)
    y = y * r + f32(4.1665795894e-2)
    y = y * r + f32(1.6666665459e-1)
    y = y * r + f32(5.0000001201e-1)
    y = y * r * r + r + f32(1)
    return y * np.int32((np.int32(k) + np.int32(127)) << np.int32(23)).view(np.float32)


@numba.njit(inline="always", **_OPTS)
def _tanhf(x):
    ax = abs(x)
    z = x * x
    p = f32(-5.70498872745e-3)
    p = p * z + f32(2.06390887954e-2)
    p = p * z - f32(5.37397155531e-2)
    p = p * z + f32(1.33314422036e-1)
    p = p * z - f32(3.33332819422e-1)
    p = p * z * x + x
    b = f32(1) - f32(2) / (_expf(ax + ax) + f32(1))
    if x < 0:
        b = -b
    return p if ax < f32(0.625) else b


def _make(prange, parallel: bool):
    """The kernels with rows looped by ``prange`` (range, or numba.prange with parallel=True:
    a different closure, so the two versions are cached apart)."""
    njit = numba.njit(parallel=parallel, **_OPTS)

    @njit
    def lstm_cell(pre, xw, rows, c_prev, acts, c, tc, h):
        """The step's pre-activations in two parts: pre (N, 4H) = h_{t-1}·W_hhᵀ and the
        input projection, row ``rows[n]`` of xw (R, 4H) for sample n; writes acts (N, 4H) =
        i, f, g, o, c (N, H), tc = tanh(c) and h = o·tanh(c)."""
        N, H = c.shape
        one = f32(1)
        two = f32(2)
        for n in prange(N):
            p, x, a = pre[n], xw[rows[n]], acts[n]
            for j in range(2 * H):
                a[j] = one / (one + _expf(-(p[j] + x[j])))
            for j in range(2 * H, 3 * H):                   # g = 2σ(2a_g) − 1 = tanh(a_g)
                a[j] = two / (one + _expf(-two * (p[j] + x[j]))) - one
            for j in range(3 * H, 4 * H):
                a[j] = one / (one + _expf(-(p[j] + x[j])))
            cp, cn = c_prev[n], c[n]
            for j in range(H):
                cn[j] = a[H + j] * cp[j] + a[j] * a[2 * H + j]
            tn, hn = tc[n], h[n]
            for j in range(H):
                t = _tanhf(cn[j])
                tn[j] = t
                hn[j] = a[3 * H + j] * t

    @njit
    def lstm_cell_backward(dh, dc, acts, c_prev, tc, D):
        """Given dh, dc (N, H) on h_t, c_t: writes D (N, 4H), the gradient on the step's
        (unscaled) pre-activations, and turns dc into the gradient on c_{t-1}."""
        N, H = dh.shape
        one = f32(1)
        for n in prange(N):
            a, d, dcn, tn, cp, dhn = acts[n], D[n], dc[n], tc[n], c_prev[n], dh[n]
            for j in range(H):
                t = tn[j]
                dcn[j] = dcn[j] + dhn[j] * a[3 * H + j] * (one - t * t)
            for j in range(H):
                o = a[3 * H + j]
                d[3 * H + j] = dhn[j] * tn[j] * o * (one - o)
            for j in range(H):
                i, g = a[j], a[2 * H + j]
                d[j] = dcn[j] * g * i * (one - i)
                d[2 * H + j] = dcn[j] * i * (one - g * g)
            for j in range(H):
                f = a[H + j]
                d[H + j] = dcn[j] * cp[j] * f * (one - f)
                dcn[j] = dcn[j] * f

    @njit
    def gru_cell(pre, xw, rows, bhn, h_prev, acts, hn, h):
        """pre (N, 3H) = h_{t-1}·W_hhᵀ, row ``rows[n]`` of xw (R, 3H) the
        input projection, bhn (H,) = b_hn; writes acts (N, 3H) = r, z, n, hn = W_hn h + b_hn
        and h = n + z·(h_{t-1} − n)."""
        N, H = h.shape
        one = f32(1)
        for n in prange(N):
            p, x, a, hh, hp, ho = pre[n], xw[rows[n]], acts[n], hn[n], h_prev[n], h[n]
            for j in range(2 * H):
                a[j] = one / (one + _expf(-(p[j] + x[j])))
            for j in range(H):
                hh[j] = p[2 * H + j] + bhn[j]
            for j in range(H):
                a[2 * H + j] = _tanhf(x[2 * H + j] + a[j] * hh[j])
            for j in range(H):
                v = a[2 * H + j]
                ho[j] = v + a[H + j] * (hp[j] - v)

    @njit
    def gru_cell_backward(dh, acts, hn, h_prev, Dh, Dn, dhz):
        """Given dh (N, H) on h_t: writes Dh (N, 3H) = the hidden side's gate gradients
        [dr, dz, dn·r], Dn (N, H) = dn (the input side's n block) and dhz = dh·z (the part
        of dh_{t-1} that skips the product with W_hh)."""
        N, H = dh.shape
        one = f32(1)
        for n in prange(N):
            a, hh, hp, d, dn, dz, g = acts[n], hn[n], h_prev[n], Dh[n], Dn[n], dhz[n], dh[n]
            for j in range(H):
                z, v = a[H + j], a[2 * H + j]
                dn[j] = g[j] * (one - z) * (one - v * v)
                dz[j] = g[j] * z
                d[H + j] = g[j] * (hp[j] - v) * z * (one - z)
            for j in range(H):
                r = a[j]
                d[j] = dn[j] * hh[j] * r * (one - r)
                d[2 * H + j] = dn[j] * r

    @njit
    def add_rows(d, rows, out):
        """out[rows[n]] += d[n] for each row n of d (N, C): a step's gate gradients summed per
        embedding id while they are still in cache (no L·N-row gather and sum afterwards)."""
        for n in range(d.shape[0]):                 # serial: two rows may share an id
            o, x = out[rows[n]], d[n]
            for j in range(d.shape[1]):
                o[j] += x[j]

    return {"lstm_cell": lstm_cell, "lstm_cell_backward": lstm_cell_backward,
            "gru_cell": gru_cell, "gru_cell_backward": gru_cell_backward, "add_rows": add_rows}
