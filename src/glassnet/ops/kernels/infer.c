/* A chain of layers run for inference in one call: ops/infer.py plans it (shapes, buffers,
 * weights), this file runs it. Images in NCHW, as the user's tensors are, so a Flatten is
 * free and a Linear's weight reads the flattened features in PyTorch's order.
 *
 * A convolution is one product per image: out (Co, Ho·Wo) = W (Co, C·kh·kw) · cols, where
 * cols (C·kh·kw, Ho·Wo) holds, row by row, the input plane shifted by one kernel tap (zeros
 * where the tap reads padding); MKL's cblas_sgemm is called through the address
 * blas.gemm_address gives (LP64 ints, row-major 101, no transpose 111, transpose 112). The
 * bias and the activation that follows (ReLU, sigmoid, tanh) are one pass over the output.
 * (sgemm_fn comes from loops.c, earlier in the translation unit.) */

typedef struct {
    int32_t kind;       /* 0 conv2d, 1 linear, 2 max pool, 3 activation alone, 4 batch norm,
                           5 average pool, 6 adaptive average pool */
    int32_t act;        /* applied to the output: 0 none, 1 relu, 2 sigmoid, 3 tanh,
                           4 leaky relu (slope alpha) */
    int64_t N, C, H, W;          /* input (linear: N rows of C features, H = W = 1) */
    int64_t Co, Ho, Wo;          /* output */
    int64_t kh, kw, sh, sw, pt, pl, dh, dw;
    const float *w, *b;          /* conv (Co, C, kh, kw), linear (Co, C) or batch norm's γ
                                    (C); b: the bias or β; either may be NULL */
    const float *src;            /* the step's input */
    float *dst, *cols;           /* its output; the conv's patch rows (C·kh·kw, Ho·Wo) */
    const float *mean, *var;     /* batch norm's running statistics */
    float eps, alpha;            /* batch norm's eps; leaky relu's slope */
    int32_t count_pad;           /* average pool: padding counts in the divisor */
} infer_step;

/* o[0:n] = act(o + v) (v: one bias for the row) or act(o + b[i]); one loop per activation so
 * each vectorises. */
#define BIAS_ACT(NAME, F)                                                                   \
    static void NAME(float *restrict o, const float *restrict b, float v, int64_t n,       \
                     float alpha)                                                           \
    {                                                                                       \
        (void)alpha;                                                                        \
        if (b)                                                                              \
            for (int64_t i = 0; i < n; i++) {                                               \
                float t = o[i] + b[i];                                                      \
                o[i] = F;                                                                   \
            }                                                                               \
        else                                                                                \
            for (int64_t i = 0; i < n; i++) {                                               \
                float t = o[i] + v;                                                         \
                o[i] = F;                                                                   \
            }                                                                               \
    }
BIAS_ACT(add_none, t)
BIAS_ACT(add_relu, t <= 0.0f ? 0.0f : t)
BIAS_ACT(add_sigmoid, 1.0f / (1.0f + expf(-t)))
BIAS_ACT(add_tanh, tanhf(t))
BIAS_ACT(add_leaky, t > 0.0f ? t : t * alpha)

static void row_act(float *o, const float *b, float v, int64_t n, int act, float alpha)
{
    switch (act) {
    case 1: add_relu(o, b, v, n, alpha); break;
    case 2: add_sigmoid(o, b, v, n, alpha); break;
    case 3: add_tanh(o, b, v, n, alpha); break;
    case 4: add_leaky(o, b, v, n, alpha); break;
    default: add_none(o, b, v, n, alpha);
    }
}

/* out (R, n) += b[r] per row (per_row; b may be NULL) or b[i] per column, then the
 * activation. */
static void bias_act(float *out, const float *b, int64_t R, int64_t n, int per_row, int act,
                     float alpha)
{
    if (!b && !act)
        return;
    for (int64_t r = 0; r < R; r++)
        row_act(out + r * n, per_row ? NULL : b, per_row && b ? b[r] : 0.0f, n, act, alpha);
}

/* im2col_rows for stride 1 and an output as wide as the input ('same' padding): a tap's row
 * is the input plane shifted by one offset, so it is one contiguous copy, then zeros where
 * the shift wrapped around a row's end or left the plane. */
static void im2col_rows_same(const float *restrict x, const infer_step *s, float *restrict cols)
{
    int64_t Ho = s->Ho, W = s->W, L = Ho * W, H = s->H;
    for (int64_t c = 0; c < s->C; c++)
        for (int64_t ky = 0; ky < s->kh; ky++)
            for (int64_t kx = 0; kx < s->kw; kx++) {
                float *row = cols + ((c * s->kh + ky) * s->kw + kx) * L;
                int64_t y0 = ky * s->dh - s->pt, x0 = kx * s->dw - s->pl;
                int64_t ylo = y0 < 0 ? -y0 : 0, yhi = H - y0 < Ho ? H - y0 : Ho;
                int64_t lo = x0 < 0 ? -x0 : 0, hi = W - x0 < W ? W - x0 : W;
                if (yhi <= ylo || hi <= lo) {
                    memset(row, 0, (size_t)L * sizeof(float));
                    continue;
                }
                const float *src = x + c * H * W + y0 * W + x0;   /* row[j] = src[j] inside */
                int64_t first = ylo * W + lo, last = (yhi - 1) * W + hi;
                memset(row, 0, (size_t)first * sizeof(float));
                for (int64_t j = first; j < last; j++)
                    row[j] = src[j];
                memset(row + last, 0, (size_t)(L - last) * sizeof(float));
                for (int64_t ox = 0; ox < lo; ox++)          /* the wrapped columns */
                    for (int64_t j = ylo * W + ox; j < yhi * W; j += W)
                        row[j] = 0.0f;
                for (int64_t ox = hi; ox < W; ox++)
                    for (int64_t j = ylo * W + ox; j < yhi * W; j += W)
                        row[j] = 0.0f;
            }
}

/* cols (C·kh·kw, Ho·Wo) of one image x (C, H, W). */
static void im2col_rows(const float *restrict x, const infer_step *s, float *restrict cols)
{
    int64_t Ho = s->Ho, Wo = s->Wo, L = Ho * Wo, H = s->H, W = s->W;
    if (s->sh == 1 && s->sw == 1 && Wo == W) {
        im2col_rows_same(x, s, cols);
        return;
    }
    for (int64_t c = 0; c < s->C; c++)
        for (int64_t ky = 0; ky < s->kh; ky++)
            for (int64_t kx = 0; kx < s->kw; kx++) {
                float *row = cols + ((c * s->kh + ky) * s->kw + kx) * L;
                int64_t x0 = kx * s->dw - s->pl;        /* ix = ox·sw + x0 */
                int64_t lo = 0, hi = Wo;                /* the ox that read inside the row */
                while (lo < Wo && lo * s->sw + x0 < 0)
                    lo++;
                while (hi > lo && (hi - 1) * s->sw + x0 >= W)
                    hi--;
                for (int64_t oy = 0; oy < Ho; oy++) {
                    float *r = row + oy * Wo;
                    int64_t iy = oy * s->sh - s->pt + ky * s->dh;
                    if (iy < 0 || iy >= H) {
                        memset(r, 0, (size_t)Wo * sizeof(float));
                        continue;
                    }
                    const float *xr = x + (c * H + iy) * W + x0;
                    for (int64_t ox = 0; ox < lo; ox++)
                        r[ox] = 0.0f;
                    if (s->sw == 1)
                        for (int64_t ox = lo; ox < hi; ox++)
                            r[ox] = xr[ox];
                    else
                        for (int64_t ox = lo; ox < hi; ox++)
                            r[ox] = xr[ox * s->sw];
                    for (int64_t ox = hi; ox < Wo; ox++)
                        r[ox] = 0.0f;
                }
            }
}

/* out (Co, L) = act(w (Co, K) · cols (K, L) + b) for small K: for each output row, K
 * scaled-row adds kept in cache (MKL's product of 9 × 784 patches ran ~25 µs, this ~5). */
#define SMALL_K 16
static void thin_product(const float *restrict w, const float *restrict cols,
                         const float *restrict b, float *restrict out, int64_t Co, int64_t K,
                         int64_t L, int act, float alpha)
{
    for (int64_t co = 0; co < Co; co++) {
        float *o = out + co * L;
        const float *wr = w + co * K;
        float v = b ? b[co] : 0.0f;
        for (int64_t i = 0; i < L; i++)
            o[i] = v;
        for (int64_t k = 0; k < K; k++) {
            float wk = wr[k];
            const float *c = cols + k * L;
            for (int64_t i = 0; i < L; i++)
                o[i] += wk * c[i];
        }
        if (act)
            row_act(o, NULL, 0.0f, L, act, alpha);
    }
}

static void conv_step(sgemm_fn gemm, const infer_step *s)
{
    int64_t L = s->Ho * s->Wo, K = s->C * s->kh * s->kw;
    int direct = s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1 && s->pt == 0 &&
                 s->pl == 0 && s->Ho == s->H && s->Wo == s->W;     /* 1×1: cols is x itself */
    for (int64_t n = 0; n < s->N; n++) {
        const float *x = s->src + n * s->C * s->H * s->W;
        float *out = s->dst + n * s->Co * L;
        if (!direct)
            im2col_rows(x, s, s->cols);
        if (K <= SMALL_K) {             /* a product this thin runs faster as row updates */
            thin_product(s->w, direct ? x : s->cols, s->b, out, s->Co, K, L, s->act, s->alpha);
            continue;
        }
        gemm(101, 111, 111, (int)s->Co, (int)L, (int)K, 1.0f, s->w, (int)K,
             direct ? x : s->cols, (int)L, 0.0f, out, (int)L);
        bias_act(out, s->b, s->Co, L, 1, s->act, s->alpha);
    }
}

static inline float take_max(float m, float v)
{
    return (v > m || v != v) ? v : m;          /* a NaN wins and stays, as in PyTorch */
}

/* Max over each window (taps in padding are skipped). 2×2 windows at stride 2 without
 * padding (LeNet's pools) take a loop that vectorises. */
static void pool_step(const infer_step *s)
{
    int tiled2 = s->kh == 2 && s->kw == 2 && s->sh == 2 && s->sw == 2 && s->pt == 0 &&
                 s->pl == 0 && s->dh == 1 && s->dw == 1;
    for (int64_t p = 0; p < s->N * s->C; p++) {
        const float *x = s->src + p * s->H * s->W;
        float *out = s->dst + p * s->Ho * s->Wo;
        for (int64_t oy = 0; oy < s->Ho; oy++) {
            float *o = out + oy * s->Wo;
            if (tiled2) {
                const float *a = x + 2 * oy * s->W, *c = a + s->W;
                for (int64_t ox = 0; ox < s->Wo; ox++)
                    o[ox] = take_max(take_max(take_max(a[2 * ox], a[2 * ox + 1]), c[2 * ox]),
                                     c[2 * ox + 1]);
            } else
                for (int64_t ox = 0; ox < s->Wo; ox++) {
                    float m = -INFINITY;
                    for (int64_t ky = 0; ky < s->kh; ky++) {
                        int64_t iy = oy * s->sh - s->pt + ky * s->dh;
                        if (iy < 0 || iy >= s->H)
                            continue;
                        for (int64_t kx = 0; kx < s->kw; kx++) {
                            int64_t ix = ox * s->sw - s->pl + kx * s->dw;
                            if (ix >= 0 && ix < s->W)
                                m = take_max(m, x[iy * s->W + ix]);
                        }
                    }
                    o[ox] = m;
                }
            if (s->act)
                row_act(o, NULL, 0.0f, s->Wo, s->act, s->alpha);
        }
    }
}

/* Batch norm with running statistics: y = (x − mean)·(1/√(var + eps))·γ + β per channel,
 * as ops.batch_norm computes it in eval mode. */
static void norm_step(const infer_step *s)
{
    int64_t L = s->H * s->W;
    for (int64_t n = 0; n < s->N; n++)
        for (int64_t c = 0; c < s->C; c++) {
            const float *x = s->src + (n * s->C + c) * L;
            float *o = s->dst + (n * s->C + c) * L;
            float m = s->mean[c], inv = 1.0f / sqrtf(s->var[c] + s->eps);
            float g = s->w ? s->w[c] : 1.0f, bb = s->b ? s->b[c] : 0.0f;
            for (int64_t i = 0; i < L; i++)
                o[i] = (x[i] - m) * inv * g + bb;
            if (s->act)
                row_act(o, NULL, 0.0f, L, s->act, s->alpha);
        }
}

/* Average pools. kind 5: k_h × k_w windows (no ceil mode), divided by the whole window when
 * padding counts (count_include_pad) or else by its taps inside the input. kind 6 (adaptive):
 * output cell i covers rows ⌊i·H/Ho⌋ … ⌈(i+1)·H/Ho⌉ − 1, likewise columns. */
static inline void avg_window(int adaptive, int64_t i, int64_t n, int64_t n_out, int64_t st,
                              int64_t pad, int64_t k, int64_t *lo, int64_t *hi)
{
    if (adaptive) {                   /* [lo, hi): the input range output cell i covers */
        *lo = i * n / n_out;
        *hi = ((i + 1) * n + n_out - 1) / n_out;
    } else {
        *lo = i * st - pad;
        *hi = *lo + k;
    }
}

static void avg_pool_step(const infer_step *s)
{
    int adaptive = s->kind == 6;
    for (int64_t p = 0; p < s->N * s->C; p++) {
        const float *x = s->src + p * s->H * s->W;
        float *out = s->dst + p * s->Ho * s->Wo;
        for (int64_t oy = 0; oy < s->Ho; oy++) {
            int64_t y0, y1;
            avg_window(adaptive, oy, s->H, s->Ho, s->sh, s->pt, s->kh, &y0, &y1);
            for (int64_t ox = 0; ox < s->Wo; ox++) {
                int64_t x0, x1;
                avg_window(adaptive, ox, s->W, s->Wo, s->sw, s->pl, s->kw, &x0, &x1);
                int64_t a = y0 < 0 ? 0 : y0, bnd = y1 > s->H ? s->H : y1;
                int64_t l = x0 < 0 ? 0 : x0, r = x1 > s->W ? s->W : x1;
                float sum = 0.0f;
                for (int64_t iy = a; iy < bnd; iy++)
                    for (int64_t ix = l; ix < r; ix++)
                        sum += x[iy * s->W + ix];
                int64_t count = s->kind == 5 && s->count_pad ? s->kh * s->kw
                                                              : (bnd - a) * (r - l);
                out[oy * s->Wo + ox] = sum / (float)count;
            }
            if (s->act)
                row_act(out + oy * s->Wo, NULL, 0.0f, s->Wo, s->act, s->alpha);
        }
    }
}

void infer_chain(int64_t fn, const infer_step *steps, int n)
{
    sgemm_fn gemm = (sgemm_fn)fn;
    for (int i = 0; i < n; i++) {
        const infer_step *s = steps + i;
        switch (s->kind) {
        case 0:
            conv_step(gemm, s);
            break;
        case 1:
            gemm(101, 111, 112, (int)s->N, (int)s->Co, (int)s->C, 1.0f, s->src, (int)s->C, s->w,
                 (int)s->C, 0.0f, s->dst, (int)s->Co);
            bias_act(s->dst, s->b, s->N, s->Co, 0, s->act, s->alpha);
            break;
        case 2:
            pool_step(s);
            break;
        case 4:
            norm_step(s);
            break;
        case 5:
        case 6:
            avg_pool_step(s);
            break;
        default: {
            int64_t count = s->N * s->C * s->H * s->W;
            memcpy(s->dst, s->src, (size_t)count * sizeof(float));
            row_act(s->dst, NULL, 0.0f, count, s->act, s->alpha);
        }
        }
    }
}
