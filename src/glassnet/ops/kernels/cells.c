/* The recurrent layers' time steps.
 * Part of one translation unit: ops/_native.py joins the files of SOURCES, common.c first. */

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
