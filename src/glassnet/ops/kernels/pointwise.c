/* ReLU, the tiled max-pool, the conv's copies.
 * Part of one translation unit: ops/_native.py joins the files of SOURCES, common.c first. */

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
 * a NaN window its last NaN), the rule of PyTorch and of the NumPy path. With `relu` the
 * ReLU that follows is applied in the same pass: a maximum <= 0 becomes 0 and its window's
 * idx NO_WINNER, so the backward sends nothing to it (ReLU's mask, then the pool's
 * gradient: the same bits). */
#define NO_WINNER 255
#define POOL(T, S)                                                                          \
    void max_pool_tiled_##S(const T *restrict x, int64_t N, int64_t H, int64_t W,           \
                            int64_t C, int64_t kh, int64_t kw, T *restrict out,             \
                            uint8_t *restrict idx, int relu, int nt)                        \
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
                if (relu)                                                                   \
                    for (int64_t c = 0; c < C; c++)                                         \
                        if (o[c] <= (T)0) {                                                 \
                            o[c] = (T)0;                                                    \
                            ix[c] = NO_WINNER;                                              \
                        }                                                                   \
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
                                int64_t C, int64_t kh, int64_t kw, T *restrict out,         \
                                int relu, int nt)                                           \
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
                if (relu)                                                                   \
                    for (int64_t c = 0; c < C; c++)                                         \
                        o[c] = o[c] <= (T)0 ? (T)0 : o[c];                                  \
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
                    if (run == 4)       /* one float32 channel: a copy the compiler inlines */
                        memcpy(row + (i * kw + j) * 4, src + (wo * sw + j * dw) * 4, 4);
                    else
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

/* ---------------------------------------------------------------- a linear layer's bias
 * bias_add: y (R, C) += b row by row; col_sum: out (C) = Σ_r g (R, C), rows added in order
 * (NumPy's order for a sum over axis 0, so the same bits). Rows or columns over threads. */
void bias_add_f32(float *y, int64_t s_y, const float *b, int64_t R, int64_t C, int nt)
{
    PAR
    for (int64_t r = 0; r < R; r++) {
        float *restrict yr = y + r * s_y;
        const float *restrict bb = b;
        for (int64_t c = 0; c < C; c++)
            yr[c] += bb[c];
    }
}

/* out (C) = Σ_r g[r] in row order; with a mask, g where mask else 0 is summed and also
 * written to gz (relu_col_sum_f32 below). Columns go in blocks of 64 (the rows stream
 * through cache), each thread a run of blocks. The blocks start on a cache line of gz: the
 * thread with the last block also takes the columns before the first line, since a row's
 * last line holds the next row's first columns when the rows are not line-aligned (else the
 * two threads write that line on every row: 128 × 512 ran 21 → 9 µs, 2 threads). */
#define COL_BLOCK 64
static void col_block(const float *g, int64_t s_g, const uint8_t *mask, float *gz, int64_t R,
                      int64_t C, int64_t c0, int64_t c1, float *out)
{
    float acc[COL_BLOCK] __attribute__((aligned(64)));
    int64_t w = c1 - c0;
    for (int64_t c = 0; c < COL_BLOCK; c++)
        acc[c] = 0.0f;
    for (int64_t r = 0; r < R; r++) {
        const float *restrict gr = g + r * s_g + c0;
        if (!mask) {
            for (int64_t c = 0; c < w; c++)
                acc[c] += gr[c];
            continue;
        }
        const uint8_t *restrict mr = mask + r * C + c0;
        float *restrict zr = gz + r * C + c0;
        for (int64_t c = 0; c < w; c++) {
            float v = mr[c] ? gr[c] : 0.0f;
            zr[c] = v;
            acc[c] += v;
        }
    }
    for (int64_t c = 0; c < w; c++)
        out[c0 + c] = acc[c];
}

static void col_sums(const float *g, int64_t s_g, const uint8_t *mask, float *gz, int64_t R,
                     int64_t C, float *out, int nt)
{
    int64_t head = 0;                   /* columns before gz's first cache line */
    if (gz && (C * sizeof(float)) % 64 == 0)
        head = ((64 - ((uintptr_t)gz & 63)) & 63) / sizeof(float);
    if (head >= C)
        head = 0;
    int64_t blocks = (C - head + COL_BLOCK - 1) / COL_BLOCK;
    int teams = nt < blocks ? nt : (int)blocks;
    PAR
    for (int t = 0; t < teams; t++) {
        for (int64_t k = blocks * t / teams; k < blocks * (t + 1) / teams; k++) {
            int64_t c0 = head + k * COL_BLOCK;
            col_block(g, s_g, mask, gz, R, C, c0, c0 + COL_BLOCK < C ? c0 + COL_BLOCK : C, out);
        }
        if (t == teams - 1 && head > 0)
            col_block(g, s_g, mask, gz, R, C, 0, head, out);
    }
}

void col_sum_f32(const float *g, int64_t s_g, int64_t R, int64_t C, float *out, int nt)
{
    col_sums(g, s_g, NULL, NULL, R, C, out, nt);
}

/* ------------------------------------------------ a linear layer and the ReLU after it
 * bias_relu: y (R, C) = relu(y + b) in place and mask (R, C) as relu_f32's (NULL: none);
 * relu_col_sum: gz = g where mask else 0 (relu_backward_f32's select) and gb = Σ_r gz in
 * col_sum's order: the same bits as bias_add + relu and relu_backward + col_sum apart, one
 * pass each way instead of two. */
void bias_relu_f32(float *y, int64_t s_y, const float *b, uint8_t *mask, int64_t R,
                   int64_t C, int nt)
{
    PAR
    for (int64_t r = 0; r < R; r++) {
        float *restrict yr = y + r * s_y;
        const float *restrict bb = b;
        uint8_t *restrict mr = mask ? mask + r * C : NULL;
        for (int64_t c = 0; c < C; c++) {
            float v = yr[c] + bb[c];
            int p = !(v <= 0.0f);
            yr[c] = p ? v : 0.0f;
            if (mr)
                mr[c] = (uint8_t)p;
        }
    }
}

void relu_col_sum_f32(const float *g, int64_t s_g, const uint8_t *mask, float *gz, int64_t R,
                      int64_t C, float *gb, int nt)
{
    col_sums(g, s_g, mask, gz, R, C, gb, nt);
}
