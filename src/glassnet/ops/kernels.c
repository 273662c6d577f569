/* glassnet's compiled kernels: ReLU, the tiled max-pool, the conv's patch matrix and input
 * gradient adds, Adam's update, and the LSTM and GRU time steps.
 *
 * Built once per machine by ops/_native.py (cffi; gcc or clang, -O3 -march=native -fopenmp)
 * and loaded as a small extension module: no LLVM in the process. Every kernel has a NumPy
 * twin in the op that calls it, and the tests check the two agree (bit for bit for the
 * copies, adds and ReLU; within float32 rounding for the recurrent steps).
 *
 * Arrays come as pointers to their first element with the shape and, for 2-D rows, the row
 * stride in elements; the last axis is always contiguous. `nt` is the thread count of the
 * kernel's outer loop (1: no OpenMP team is started).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#define PAR _Pragma("omp parallel for num_threads(nt) schedule(static) if(nt > 1)")

/* ---------------------------------------------------------------- ReLU, one pass each way
 * out = max(x, 0) and mask = not x <= 0 (a NaN passes, as in PyTorch); backward: out = g
 * where mask, else 0 (a select, so an inf or NaN g stays out). */
#define RELU(T, S)                                                                          \
    void relu_##S(const T *restrict x, T *restrict out, uint8_t *restrict mask, int64_t n, \
                  int nt)                                                                   \
    {                                                                                       \
        PAR                                                                                 \
        for (int64_t i = 0; i < n; i++) {                                                   \
            T v = x[i];                                                                     \
            int p = !(v <= (T)0);                                                           \
            mask[i] = (uint8_t)p;                                                           \
            out[i] = p ? v : (T)0;                                                          \
        }                                                                                   \
    }                                                                                       \
    void relu_backward_##S(const T *restrict g, const uint8_t *restrict mask,               \
                           T *restrict out, int64_t n, int nt)                              \
    {                                                                                       \
        PAR                                                                                 \
        for (int64_t i = 0; i < n; i++)                                                     \
            out[i] = mask[i] ? g[i] : (T)0;                                                 \
    }
RELU(float, f32)
RELU(double, f64)

/* ------------------------------------------------- max pool over windows that tile the input
 * x (N, H, W, C) channels-last → out (N, H/kh, W/kw, C) and idx, the winning tap i·kw + j.
 * Taps in order: a strictly greater value or a NaN takes over (ties keep the first maximum,
 * a NaN window its last NaN), the rule of PyTorch and of the NumPy path. */
#define POOL(T, S)                                                                          \
    void max_pool_tiled_##S(const T *restrict x, int64_t N, int64_t H, int64_t W,           \
                            int64_t C, int64_t kh, int64_t kw, T *restrict out,             \
                            uint8_t *restrict idx, int nt)                                  \
    {                                                                                       \
        int64_t Ho = H / kh, Wo = W / kw;                                                   \
        PAR                                                                                 \
        for (int64_t r = 0; r < N * Ho; r++) {                                              \
            int64_t n = r / Ho, ho = r % Ho;                                                \
            for (int64_t wo = 0; wo < Wo; wo++) {                                           \
                T *o = out + (r * Wo + wo) * C;                                             \
                uint8_t *ix = idx + (r * Wo + wo) * C;                                      \
                const T *first = x + ((n * H + ho * kh) * W + wo * kw) * C;                 \
                for (int64_t c = 0; c < C; c++) {                                           \
                    o[c] = first[c];                                                        \
                    ix[c] = 0;                                                              \
                }                                                                           \
                for (int64_t k = 1; k < kh * kw; k++) {                                     \
                    const T *t = x + ((n * H + ho * kh + k / kw) * W + wo * kw + k % kw) * C; \
                    for (int64_t c = 0; c < C; c++) {                                       \
                        T v = t[c];                                                         \
                        if (v > o[c] || v != v) {                                           \
                            o[c] = v;                                                       \
                            ix[c] = (uint8_t)k;                                             \
                        }                                                                   \
                    }                                                                       \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
    }                                                                                       \
    /* gx (N, H, W, C): g where the cell won its window, else 0; every cell is written. */  \
    void max_pool_tiled_backward_##S(const T *restrict g, const uint8_t *restrict idx,      \
                                     int64_t N, int64_t Ho, int64_t Wo, int64_t C,          \
                                     int64_t kh, int64_t kw, T *restrict gx, int nt)        \
    {                                                                                       \
        int64_t H = Ho * kh, W = Wo * kw;                                                   \
        PAR                                                                                 \
        for (int64_t r = 0; r < N * Ho; r++) {                                              \
            int64_t n = r / Ho, ho = r % Ho;                                                \
            for (int64_t wo = 0; wo < Wo; wo++) {                                           \
                const T *gg = g + (r * Wo + wo) * C;                                        \
                const uint8_t *ix = idx + (r * Wo + wo) * C;                                \
                for (int64_t k = 0; k < kh * kw; k++) {                                     \
                    T *d = gx + ((n * H + ho * kh + k / kw) * W + wo * kw + k % kw) * C;    \
                    for (int64_t c = 0; c < C; c++)                                         \
                        d[c] = ix[c] == k ? gg[c] : (T)0;                                   \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
    }
POOL(float, f32)
POOL(double, f64)

/* The same max without the winner index (inference: no graph). NaN wins as above, so a
 * window with a NaN gives NaN, like np.maximum. */
#define POOL_MAX(T, S)                                                                      \
    void max_pool_tiled_max_##S(const T *restrict x, int64_t N, int64_t H, int64_t W,       \
                                int64_t C, int64_t kh, int64_t kw, T *restrict out, int nt) \
    {                                                                                       \
        int64_t Ho = H / kh, Wo = W / kw;                                                   \
        PAR                                                                                 \
        for (int64_t r = 0; r < N * Ho; r++) {                                              \
            int64_t n = r / Ho, ho = r % Ho;                                                \
            for (int64_t wo = 0; wo < Wo; wo++) {                                           \
                T *o = out + (r * Wo + wo) * C;                                             \
                const T *first = x + ((n * H + ho * kh) * W + wo * kw) * C;                 \
                for (int64_t c = 0; c < C; c++)                                             \
                    o[c] = first[c];                                                        \
                for (int64_t k = 1; k < kh * kw; k++) {                                     \
                    const T *t = x + ((n * H + ho * kh + k / kw) * W + wo * kw + k % kw) * C; \
                    for (int64_t c = 0; c < C; c++) {                                       \
                        T v = t[c];                                                         \
                        o[c] = (v > o[c] || v != v) ? v : o[c];                             \
                    }                                                                       \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
    }
POOL_MAX(float, f32)
POOL_MAX(double, f64)

/* ------------------------------------------------------------------------- the conv's copies
 * im2col: out (N·Ho·Wo, kh·kw·C) = the patches of xpad (N, H, W, C), columns (i, j, c), its
 * rows `ld` ≥ kh·kw·C elements apart; any dtype (`item` bytes per element), one memcpy of C
 * values per tap. */
void im2col(const char *restrict xpad, int64_t N, int64_t H, int64_t W, int64_t C,
            int64_t item, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t dh,
            int64_t dw, int64_t Ho, int64_t Wo, char *restrict out, int64_t ld, int nt)
{
    int64_t run = C * item, K = ld * item;      /* rows ld elements apart (room for a bias column) */
    PAR
    for (int64_t r = 0; r < N * Ho; r++) {
        int64_t n = r / Ho, ho = r % Ho;
        for (int64_t wo = 0; wo < Wo; wo++) {
            char *row = out + (r * Wo + wo) * K;
            for (int64_t i = 0; i < kh; i++) {
                const char *src = xpad + ((n * H + ho * sh + i * dh) * W) * run;
                for (int64_t j = 0; j < kw; j++)
                    memcpy(row + (i * kw + j) * run, src + (wo * sw + j * dw) * run, run);
            }
        }
    }
}

/* shift_add: gx[n, h0 + i·sh, w0 + j·sw] += t[n, th + i, tw + j] for i < nh, j < nw, both
 * channels-last (gx (N, Hg, Wg, C), t (N, Ht, Wt, C)): a conv tap's input gradient added at
 * its offset, the same adds in the same order as the NumPy path. */
#define SHIFT_ADD(T, S)                                                                     \
    void shift_add_##S(T *restrict gx, const T *restrict t, int64_t N, int64_t Hg,          \
                       int64_t Wg, int64_t Ht, int64_t Wt, int64_t C, int64_t h0,           \
                       int64_t sh, int64_t w0, int64_t sw, int64_t th, int64_t tw,          \
                       int64_t nh, int64_t nw, int nt)                                      \
    {                                                                                       \
        PAR                                                                                 \
        for (int64_t n = 0; n < N; n++)                                                     \
            for (int64_t i = 0; i < nh; i++)                                                \
                for (int64_t j = 0; j < nw; j++) {                                          \
                    T *a = gx + ((n * Hg + h0 + i * sh) * Wg + w0 + j * sw) * C;            \
                    const T *b = t + ((n * Ht + th + i) * Wt + tw + j) * C;                 \
                    for (int64_t c = 0; c < C; c++)                                         \
                        a[c] += b[c];                                                       \
                }                                                                           \
    }
SHIFT_ADD(float, f32)
SHIFT_ADD(double, f64)

/* --------------------------------------------------------------------------------- Adam
 * One update in place of float32 θ, m, v from g (n elements), torch.optim.Adam's
 * single-tensor arithmetic operation by operation, including where its vectorised kernels
 * fuse a multiply-add (one rounding): m ← lerp(m, g, w) with w = 1 − β1 (from w ≥ 0.5 as
 * g + (w − 1)·(g − m)), v ← v·β2 + (1 − β2)·g·g (addcmul), θ ← θ + (−s·m) / (√v / √(1 − β2^t)
 * + ε) (addcdiv). The fused multiply-adds are computed in double (the float product is exact
 * there) and rounded once; no other contraction (fp-contract=off for this function). */
__attribute__((optimize("fp-contract=off")))
void adam_f32(float *restrict theta, const float *restrict g, float *restrict m,
              float *restrict v, int64_t n, float weight, float beta2, float one_minus_beta2,
              float neg_step, float bc2_sqrt, float eps, int nt)
{
    int low = weight < 0.5f;
    float coeff = low ? weight : weight - 1.0f;
    PAR
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i], mi = m[i];
        float base = low ? mi : gi;
        mi = (float)((double)coeff * (double)(gi - mi) + (double)base);
        float vi = (float)((double)(one_minus_beta2 * gi) * (double)gi + (double)(v[i] * beta2));
        m[i] = mi;
        v[i] = vi;
        theta[i] = theta[i] + neg_step * mi / (sqrtf(vi) / bc2_sqrt + eps);
    }
}

/* SGD, torch.optim.SGD's single-tensor update in float32 with its fused multiply-adds:
 * d = fma(θ, λ, g) (weight decay), b = d on the first step, else fma(d, 1 − τ, b·μ) (the
 * product b·μ rounded first: mul_ then add_), d = fma(b, μ, d) (Nesterov) or b, θ = fma(d,
 * −η, θ). `has_buf` = 0: no momentum (buf is not read). */
__attribute__((optimize("fp-contract=off")))
void sgd_f32(float *restrict theta, const float *restrict g, float *restrict buf, int64_t n,
             float lr, float momentum, float one_minus_damp, float wd, int has_buf, int first,
             int nesterov, int nt)
{
    PAR
    for (int64_t i = 0; i < n; i++) {
        float d = g[i];
        if (wd != 0.0f)
            d = fmaf(theta[i], wd, d);
        if (has_buf) {
            float b = first ? d : fmaf(d, one_minus_damp, buf[i] * momentum);
            buf[i] = b;
            d = nesterov ? fmaf(b, momentum, d) : b;
        }
        theta[i] = fmaf(d, -lr, theta[i]);
    }
}

/* ------------------------------------------------------------------ the recurrent steps
 * float32. expf_c is Cephes' expf (x = k·ln2 + r, |r| ≤ ln2/2, a degree-7 polynomial for e^r,
 * 2^k written into the exponent bits): at most 1.4 ulp from exp, and unlike a call into libm
 * it vectorises. Its input is clamped to [−87.34, 88.38], so e^x stays finite and nonzero: σ
 * then ends at ~3e−39 or 1 where exact arithmetic gives 0 or 1. tanhf_c is Cephes' tanhf: an
 * odd polynomial below |x| = 0.625, 1 − 2/(e^{2|x|} + 1) above (≤ 2 ulp).
 *
 * The pre-activations come unscaled (the NumPy path negates and doubles gate rows of the
 * weights up front): a gate is 1/(1 + e^{−a}) and LSTM's g = 2σ(2a_g) − 1, the NumPy path's
 * formulas. Each row is split into short loops over few arrays, which the compiler
 * vectorises. */
static inline float expf_c(float x)
{
    x = x > 88.37626f ? 88.37626f : x;
    x = x < -87.33654f ? -87.33654f : x;
    float k = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - k * 0.693359375f;
    r = r + k * 2.12194440e-4f;
    float y = 1.9875691500e-4f;
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    y = y * r * r + r + 1.0f;
    union { int32_t i; float f; } u;
    u.i = ((int32_t)k + 127) << 23;
    return y * u.f;
}

static inline float tanhf_c(float x)
{
    float ax = fabsf(x), z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    p = p * z * x + x;
    float b = 1.0f - 2.0f / (expf_c(ax + ax) + 1.0f);
    b = x < 0 ? -b : b;
    return ax < 0.625f ? p : b;
}

/* One LSTM step. pre (N, 4H) = h_{t-1}·W_hhᵀ; the input projection of sample n is row
 * rows[n] of xw (·, 4H). Writes acts (N, 4H) = i, f, g, o; c (N, H); tc = tanh(c); h = o·tc.
 * sX: the row stride of X in elements. */
void lstm_cell(const float *pre, int64_t s_pre, const float *xw, int64_t s_xw,
               const int64_t *rows, const float *c_prev, int64_t s_cp, float *acts,
               int64_t s_a, float *c, int64_t s_c, float *tc, int64_t s_tc, float *h,
               int64_t s_h, int64_t N, int64_t H, int nt)
{
    PAR
    for (int64_t n = 0; n < N; n++) {
        const float *restrict p = pre + n * s_pre, *restrict x = xw + rows[n] * s_xw;
        float *restrict a = acts + n * s_a;
        for (int64_t j = 0; j < 2 * H; j++)
            a[j] = 1.0f / (1.0f + expf_c(-(p[j] + x[j])));
        for (int64_t j = 2 * H; j < 3 * H; j++)             /* g = 2σ(2a_g) − 1 = tanh(a_g) */
            a[j] = 2.0f / (1.0f + expf_c(-2.0f * (p[j] + x[j]))) - 1.0f;
        for (int64_t j = 3 * H; j < 4 * H; j++)
            a[j] = 1.0f / (1.0f + expf_c(-(p[j] + x[j])));
        const float *restrict cp = c_prev + n * s_cp;
        float *restrict cn = c + n * s_c;
        for (int64_t j = 0; j < H; j++)
            cn[j] = a[H + j] * cp[j] + a[j] * a[2 * H + j];
        float *restrict tn = tc + n * s_tc, *restrict hn = h + n * s_h;
        for (int64_t j = 0; j < H; j++) {
            float t = tanhf_c(cn[j]);
            tn[j] = t;
            hn[j] = a[3 * H + j] * t;
        }
    }
}

/* Given dh, dc (N, H) on h_t, c_t: writes D (N, 4H), the gradient on the step's unscaled
 * pre-activations, and turns dc into the gradient on c_{t-1}. */
void lstm_cell_backward(const float *dh, int64_t s_dh, float *dc, int64_t s_dc,
                        const float *acts, int64_t s_a, const float *c_prev, int64_t s_cp,
                        const float *tc, int64_t s_tc, float *D, int64_t s_d, int64_t N,
                        int64_t H, int nt)
{
    PAR
    for (int64_t n = 0; n < N; n++) {
        const float *restrict a = acts + n * s_a, *restrict tn = tc + n * s_tc;
        const float *restrict cp = c_prev + n * s_cp, *restrict dhn = dh + n * s_dh;
        float *restrict d = D + n * s_d, *restrict dcn = dc + n * s_dc;
        for (int64_t j = 0; j < H; j++) {
            float t = tn[j];
            dcn[j] = dcn[j] + dhn[j] * a[3 * H + j] * (1.0f - t * t);
        }
        for (int64_t j = 0; j < H; j++) {
            float o = a[3 * H + j];
            d[3 * H + j] = dhn[j] * tn[j] * o * (1.0f - o);
        }
        for (int64_t j = 0; j < H; j++) {
            float i = a[j], g = a[2 * H + j];
            d[j] = dcn[j] * g * i * (1.0f - i);
            d[2 * H + j] = dcn[j] * i * (1.0f - g * g);
        }
        for (int64_t j = 0; j < H; j++) {
            float f = a[H + j];
            d[H + j] = dcn[j] * cp[j] * f * (1.0f - f);
            dcn[j] = dcn[j] * f;
        }
    }
}

/* One GRU step. pre (N, 3H) = h_{t-1}·W_hhᵀ, row rows[n] of xw (·, 3H) the input projection,
 * bhn (H,) = b_hn; writes acts (N, 3H) = r, z, n; hn = W_hn h + b_hn; h = n + z·(h_{t-1} − n). */
void gru_cell(const float *pre, int64_t s_pre, const float *xw, int64_t s_xw,
              const int64_t *rows, const float *bhn, const float *h_prev, int64_t s_hp,
              float *acts, int64_t s_a, float *hn, int64_t s_hn, float *h, int64_t s_h,
              int64_t N, int64_t H, int nt)
{
    PAR
    for (int64_t n = 0; n < N; n++) {
        const float *restrict p = pre + n * s_pre, *restrict x = xw + rows[n] * s_xw;
        const float *restrict hp = h_prev + n * s_hp;
        float *restrict a = acts + n * s_a, *restrict hh = hn + n * s_hn, *restrict ho = h + n * s_h;
        for (int64_t j = 0; j < 2 * H; j++)
            a[j] = 1.0f / (1.0f + expf_c(-(p[j] + x[j])));
        for (int64_t j = 0; j < H; j++)
            hh[j] = p[2 * H + j] + bhn[j];
        for (int64_t j = 0; j < H; j++)
            a[2 * H + j] = tanhf_c(x[2 * H + j] + a[j] * hh[j]);
        for (int64_t j = 0; j < H; j++) {
            float v = a[2 * H + j];
            ho[j] = v + a[H + j] * (hp[j] - v);
        }
    }
}

/* Given dh (N, H) on h_t: writes Dh (N, 3H) = the hidden side's gate gradients
 * [dr, dz, dn·r], Dn (N, H) = dn (the input side's n block) and dhz = dh·z (the part of
 * dh_{t-1} that skips the product with W_hh). */
void gru_cell_backward(const float *dh, int64_t s_dh, const float *acts, int64_t s_a,
                       const float *hn, int64_t s_hn, const float *h_prev, int64_t s_hp,
                       float *Dh, int64_t s_d, float *Dn, int64_t s_dn, float *dhz,
                       int64_t s_dz, int64_t N, int64_t H, int nt)
{
    PAR
    for (int64_t n = 0; n < N; n++) {
        const float *restrict a = acts + n * s_a, *restrict hh = hn + n * s_hn;
        const float *restrict hp = h_prev + n * s_hp, *restrict g = dh + n * s_dh;
        float *restrict d = Dh + n * s_d, *restrict dn = Dn + n * s_dn, *restrict dz = dhz + n * s_dz;
        for (int64_t j = 0; j < H; j++) {
            float z = a[H + j], v = a[2 * H + j];
            dn[j] = g[j] * (1.0f - z) * (1.0f - v * v);
            dz[j] = g[j] * z;
        }
        for (int64_t j = 0; j < H; j++) {
            float z = a[H + j];
            d[H + j] = g[j] * (hp[j] - a[2 * H + j]) * z * (1.0f - z);
        }
        for (int64_t j = 0; j < H; j++) {
            float r = a[j];
            d[j] = dn[j] * hh[j] * r * (1.0f - r);
            d[2 * H + j] = dn[j] * r;
        }
    }
}

/* One Elman RNN step in place: h (N, H) holds h_{t-1}·W_hhᵀ and becomes act(h + xw[rows[n]])
 * with act = tanh (relu = 0) or max(·, 0) (relu = 1; NaN stays NaN, like np.maximum). */
void rnn_cell(float *h, int64_t s_h, const float *xw, int64_t s_xw, const int64_t *rows,
              int64_t N, int64_t H, int relu, int nt)
{
    PAR
    for (int64_t n = 0; n < N; n++) {
        float *restrict hn = h + n * s_h;
        const float *restrict x = xw + rows[n] * s_xw;
        if (relu)
            for (int64_t j = 0; j < H; j++) {
                float v = hn[j] + x[j];
                hn[j] = v < 0.0f ? 0.0f : v;
            }
        else
            for (int64_t j = 0; j < H; j++)
                hn[j] = tanhf_c(hn[j] + x[j]);
    }
}

/* D (N, H) = (dh + g)·act'(h_t) with tanh' = 1 − h², relu' = [h > 0]; g (the gradient
 * arriving on h_t from the layer's output) may be NULL. */
void rnn_cell_backward(const float *dh, int64_t s_dh, const float *g, int64_t s_g,
                       const float *h, int64_t s_h, float *D, int64_t s_d, int64_t N,
                       int64_t H, int relu, int nt)
{
    PAR
    for (int64_t n = 0; n < N; n++) {
        const float *restrict a = dh + n * s_dh, *restrict hn = h + n * s_h;
        float *restrict d = D + n * s_d;
        if (g) {
            const float *restrict b = g + n * s_g;
            if (relu)
                for (int64_t j = 0; j < H; j++)
                    d[j] = hn[j] > 0.0f ? a[j] + b[j] : 0.0f * (a[j] + b[j]);
            else
                for (int64_t j = 0; j < H; j++)
                    d[j] = (a[j] + b[j]) * (1.0f - hn[j] * hn[j]);
        } else {
            if (relu)
                for (int64_t j = 0; j < H; j++)
                    d[j] = hn[j] > 0.0f ? a[j] : 0.0f * a[j];
            else
                for (int64_t j = 0; j < H; j++)
                    d[j] = a[j] * (1.0f - hn[j] * hn[j]);
        }
    }
}

/* ------------------------------------------------------- whole time loops, products included
 * The per-step product h·W (MKL's cblas_sgemm_compute on a packed W, or cblas_sgemm) is
 * called from here through the function address blas.product_plan gives, so a layer's time
 * loop is one call from Python instead of ~3 per step (~8 µs of Python a step). MKL's LP64
 * interface: int arguments, row-major (101), packed b (151). */
void add_rows(const float *d, int64_t s_d, const int64_t *rows, float *out, int64_t s_o,
              int64_t N, int64_t C);

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *,
                         int, float, float *, int);
typedef void (*sgemm_compute_fn)(int, int, int, int, int, int, const float *, int, const float *,
                                 int, float, float *, int);
typedef struct {
    int64_t fn;
    int packed, transa, transb, M, N, K, lda, ldb;
    const float *b;
} product_t;

static void run_product(const product_t *P, const float *a, float *c)
{
    if (P->packed)
        ((sgemm_compute_fn)P->fn)(101, P->transa, 151, P->M, P->N, P->K, a, P->lda, P->b,
                                  P->ldb, 0.0f, c, P->N);
    else
        ((sgemm_fn)P->fn)(101, P->transa, P->transb, P->M, P->N, P->K, 1.0f, a, P->lda, P->b,
                          P->ldb, 0.0f, c, P->N);
}

/* The Elman RNN's forward over all L steps: S0 (L+1, N, H) is the state buffer's h part
 * (S0[first] = h0), xw the input projection's rows, rows (L, N) their ids. The same products
 * and rnn_cell calls as rnn.py's loop, in the same order. */
void rnn_forward_loop(int64_t fn, int packed, int transa, int transb, int M, int Np, int K,
                      int lda, const float *b, int ldb, float *S0, const float *xw,
                      int64_t s_xw, const int64_t *rows, int64_t L, int64_t N, int64_t H,
                      int reverse, int zero_h0, int relu, int nt)
{
    product_t P = {fn, packed, transa, transb, M, Np, K, lda, ldb, b};
    for (int64_t k = 0; k < L; k++) {
        int64_t t = reverse ? L - 1 - k : k;
        float *hp = S0 + (reverse ? t + 1 : t) * N * H, *h = S0 + (reverse ? t : t + 1) * N * H;
        if (zero_h0 && k == 0)
            memset(h, 0, (size_t)(N * H) * sizeof(float));
        else
            run_product(&P, hp, h);
        rnn_cell(h, H, xw, s_xw, rows + t * N, N, H, relu, nt);
    }
}

/* Its backward through time: G0 (L+1, N, H) the gradient on S0, dA (L, N, H) the steps' gate
 * gradients (written), dh and dh2 (N, H) two buffers (dh zero on entry), dT (V, H) the
 * per-id sums for an embedding input (NULL: none), the product dA_t·W_hh as P. Returns 1
 * when the gradient reaching h0 ended in dh2, else 0. */
int rnn_backward_loop(int64_t fn, int packed, int transa, int transb, int M, int Np, int K,
                      int lda, const float *b, int ldb, const float *G0, const float *S0,
                      float *dA, float *dh, float *dh2, float *dT, const int64_t *rows,
                      int64_t L, int64_t N, int64_t H, int reverse, int want_h0, int relu,
                      int nt)
{
    product_t P = {fn, packed, transa, transb, M, Np, K, lda, ldb, b};
    int swapped = 0;
    for (int64_t k = 0; k < L; k++) {
        int64_t t = reverse ? k : L - 1 - k, q = reverse ? t : t + 1;
        float *D = dA + t * N * H;
        rnn_cell_backward(dh, H, G0 + q * N * H, H, S0 + q * N * H, H, D, H, N, H, relu, nt);
        if (dT)
            add_rows(D, H, rows + t * N, dT, H, N, H);
        if (t != (reverse ? L - 1 : 0) || want_h0)
            run_product(&P, D, dh2);
        float *tmp = dh;
        dh = dh2;
        dh2 = tmp;
        swapped ^= 1;
    }
    return swapped;
}

static void add_into(float *restrict a, const float *restrict b, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        a[i] += b[i];
}

/* The LSTM's forward over all L steps, lstm.py's compiled loop in C: S (2, L+1, N, H) the
 * state buffer (h then c), pre (N, 4H) a scratch row block, acts (L, N, 4H), aux (L, N, H). */
void lstm_forward_loop(int64_t fn, int packed, int transa, int transb, int M, int Np, int K,
                       int lda, const float *b, int ldb, float *S, float *pre, const float *xw,
                       int64_t s_xw, const int64_t *rows, float *acts, float *aux, int64_t L,
                       int64_t N, int64_t H, int reverse, int zero_h0, int nt)
{
    product_t P = {fn, packed, transa, transb, M, Np, K, lda, ldb, b};
    float *S0 = S, *S1 = S + (L + 1) * N * H;
    for (int64_t k = 0; k < L; k++) {
        int64_t t = reverse ? L - 1 - k : k, p = reverse ? t + 1 : t, q = reverse ? t : t + 1;
        if (zero_h0 && k == 0)
            memset(pre, 0, (size_t)(N * 4 * H) * sizeof(float));
        else
            run_product(&P, S0 + p * N * H, pre);
        lstm_cell(pre, 4 * H, xw, s_xw, rows + t * N, S1 + p * N * H, H, acts + t * N * 4 * H,
                  4 * H, S1 + q * N * H, H, aux + t * N * H, H, S0 + q * N * H, H, N, H, nt);
    }
}

/* Its backward through time: G (2, L+1, N, H) the gradient on S; dh, dh2, dc (N, H) with dh
 * zero and dc the gradient on c_n on entry; dA (L, N, 4H) written; dT (V, 4H) per-id sums or
 * NULL; P the product dA_t·W_hh. Returns 1 when the gradient reaching h0 ended in dh2; dc
 * ends as the gradient reaching c0. */
int lstm_backward_loop(int64_t fn, int packed, int transa, int transb, int M, int Np, int K,
                       int lda, const float *b, int ldb, const float *G, const float *S,
                       const float *acts, const float *aux, float *dA, float *dh, float *dh2,
                       float *dc, float *dT, const int64_t *rows, int64_t L, int64_t N,
                       int64_t H, int reverse, int want_h0, int nt)
{
    product_t P = {fn, packed, transa, transb, M, Np, K, lda, ldb, b};
    const float *S1 = S + (L + 1) * N * H;
    int swapped = 0;
    for (int64_t k = 0; k < L; k++) {
        int64_t t = reverse ? k : L - 1 - k, q = reverse ? t : t + 1, p = reverse ? t + 1 : t;
        float *D = dA + t * N * 4 * H;
        add_into(dh, G + q * N * H, N * H);
        lstm_cell_backward(dh, H, dc, H, acts + t * N * 4 * H, 4 * H, S1 + p * N * H, H,
                           aux + t * N * H, H, D, 4 * H, N, H, nt);
        if (dT)
            add_rows(D, 4 * H, rows + t * N, dT, 4 * H, N, 4 * H);
        if (t != (reverse ? L - 1 : 0) || want_h0)
            run_product(&P, D, dh2);
        float *tmp = dh;
        dh = dh2;
        dh2 = tmp;
        swapped ^= 1;
    }
    return swapped;
}

/* The GRU's forward over all L steps (gru.py's compiled loop): S0 (L+1, N, H), pre (N, 3H),
 * bhn (H,), acts (L, N, 3H), aux (L, N, H) = W_hn h + b_hn. */
void gru_forward_loop(int64_t fn, int packed, int transa, int transb, int M, int Np, int K,
                      int lda, const float *b, int ldb, float *S0, float *pre, const float *xw,
                      int64_t s_xw, const int64_t *rows, const float *bhn, float *acts,
                      float *aux, int64_t L, int64_t N, int64_t H, int reverse, int zero_h0,
                      int nt)
{
    product_t P = {fn, packed, transa, transb, M, Np, K, lda, ldb, b};
    for (int64_t k = 0; k < L; k++) {
        int64_t t = reverse ? L - 1 - k : k, p = reverse ? t + 1 : t, q = reverse ? t : t + 1;
        if (zero_h0 && k == 0)
            memset(pre, 0, (size_t)(N * 3 * H) * sizeof(float));
        else
            run_product(&P, S0 + p * N * H, pre);
        gru_cell(pre, 3 * H, xw, s_xw, rows + t * N, bhn, S0 + p * N * H, H,
                 acts + t * N * 3 * H, 3 * H, aux + t * N * H, H, S0 + q * N * H, H, N, H, nt);
    }
}

/* Its backward: G0 (L+1, N, H); dAh (L, N, 3H) and dAn (L, N, H) written; dh, dh2, dhz
 * (N, H), dh zero on entry; dT (V, 3H) per-id sums or NULL. Returns 1 when the gradient
 * reaching h0 ended in dh2. */
int gru_backward_loop(int64_t fn, int packed, int transa, int transb, int M, int Np, int K,
                      int lda, const float *b, int ldb, const float *G0, const float *S0,
                      const float *acts, const float *aux, float *dAh, float *dAn, float *dh,
                      float *dh2, float *dhz, float *dT, const int64_t *rows, int64_t L,
                      int64_t N, int64_t H, int reverse, int want_h0, int nt)
{
    product_t P = {fn, packed, transa, transb, M, Np, K, lda, ldb, b};
    int swapped = 0;
    for (int64_t k = 0; k < L; k++) {
        int64_t t = reverse ? k : L - 1 - k, q = reverse ? t : t + 1, p = reverse ? t + 1 : t;
        float *Dh = dAh + t * N * 3 * H, *Dn = dAn + t * N * H;
        add_into(dh, G0 + q * N * H, N * H);
        gru_cell_backward(dh, H, acts + t * N * 3 * H, 3 * H, aux + t * N * H, H,
                          S0 + p * N * H, H, Dh, 3 * H, Dn, H, dhz, H, N, H, nt);
        if (dT) {
            add_rows(Dh, 3 * H, rows + t * N, dT, 3 * H, N, 2 * H);
            add_rows(Dn, H, rows + t * N, dT + 2 * H, 3 * H, N, H);
        }
        if (t != (reverse ? L - 1 : 0) || want_h0) {
            run_product(&P, Dh, dh2);
            add_into(dh2, dhz, N * H);
        }
        float *tmp = dh;
        dh = dh2;
        dh2 = tmp;
        swapped ^= 1;
    }
    return swapped;
}

/* Cross-entropy over the rows of logits x (R, C), class targets t (all in [0, C)): per[r] =
 * log Σ_c e^{x_rc − m_r} − (x_{r,t_r} − m_r) with m_r the row's max, and p (R, C) =
 * softmax(x), which the backward turns into p − onehot(t). The max and the sum are vector
 * reductions (omp simd: lanes summed in another order than NumPy's pairwise sum). */
void ce_rows_f32(const float *x, int64_t s_x, const int64_t *t, int64_t R, int64_t C,
                 float *per, float *p, int nt)
{
    PAR
    for (int64_t r = 0; r < R; r++) {
        const float *restrict xr = x + r * s_x;
        float *restrict pr = p + r * C;
        float m = xr[0];                /* a NaN in the row makes its e, s, per and p NaN */
        _Pragma("omp simd reduction(max:m)")
        for (int64_t c = 1; c < C; c++)
            m = xr[c] > m ? xr[c] : m;
        for (int64_t c = 0; c < C; c++)
            pr[c] = expf_c(xr[c] - m);
        float s = 0.0f;
        _Pragma("omp simd reduction(+:s)")
        for (int64_t c = 0; c < C; c++)
            s += pr[c];
        per[r] = logf(s) - (xr[t[r]] - m);
        for (int64_t c = 0; c < C; c++)
            pr[c] = pr[c] / s;
    }
}

/* out[rows[n]] += d[n] for each row n of d (N, C): a step's gate gradients summed per
 * embedding id while still in cache. Serial: two rows may share an id. */
void add_rows(const float *d, int64_t s_d, const int64_t *rows, float *out, int64_t s_o,
              int64_t N, int64_t C)
{
    for (int64_t n = 0; n < N; n++) {
        float *restrict o = out + rows[n] * s_o;
        const float *restrict x = d + n * s_d;
        for (int64_t j = 0; j < C; j++)
            o[j] += x[j];
    }
}
