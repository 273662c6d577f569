/* A training batch's convolution in blocks of B images, one block at a time per thread
 * (ops/conv.py, `_conv2d_blocked`). Each block's patch rows (B·Ho·Wo, kh·kw·C [+ 1 for the
 * bias]) are built in that thread's buffer, sized to stay in its core's L2, and multiplied
 * there by MKL (called from inside the OpenMP team, MKL runs on the calling thread alone):
 * the batch's whole patch matrix (the cnn workload's conv 32→64: 14.5 MB) is never written
 * to memory, and the backward builds each block's rows again instead of keeping them.
 * Forward, weight gradient and input gradient; the same products as the one-GEMM path, cut
 * by images. Needs im2col (pointwise.c) and sgemm_fn (loops.c), earlier in the unit. */
#ifdef _OPENMP
#include <omp.h>
#define THREAD omp_get_thread_num()
#else
#define THREAD 0
#endif

typedef struct {
    int64_t N, Hp, Wp, C, kh, kw, sh, sw, dh, dw, Ho, Wo, O, K1, B;
} conv_geometry;

/* Block b's images: n0 … n0 + nb − 1 (the last block may hold fewer than B); returns nb. */
static inline int64_t block_images(const conv_geometry *g, int64_t b, int64_t *n0)
{
    *n0 = b * g->B;
    return g->N - *n0 < g->B ? g->N - *n0 : g->B;
}

/* The patch rows of images n0 … n0 + nb − 1 into A (nb·Ho·Wo, K1); with K1 = K + 1 the last
 * column is ones (the bias). */
static void block_patches(const float *xpad, const conv_geometry *g, int64_t n0, int64_t nb,
                          float *A)
{
    int64_t K = g->kh * g->kw * g->C, rows = nb * g->Ho * g->Wo;
    im2col((const char *)(xpad + n0 * g->Hp * g->Wp * g->C), nb, g->Hp, g->Wp, g->C,
           (int64_t)sizeof(float), g->kh, g->kw, g->sh, g->sw, g->dh, g->dw, g->Ho, g->Wo,
           (char *)A, g->K1, 1);
    if (g->K1 > K)
        for (int64_t r = 0; r < rows; r++)
            A[r * g->K1 + K] = 1.0f;
}

/* A block's products when the patches are thin (K1 ≤ THIN_K: a first layer's 3×3 taps of one
 * channel and the bias) and O a multiple of 16: MKL is slow at so few columns, so they are
 * done here 16 output channels at a time, every operand of the inner loop in registers (K1 a
 * compile-time constant per case). Y (R, O) = A (R, K1) · wm (K1, O), four rows at once;
 * d (K1, O) = beta·d + Aᵀ · G (G (R, O)), K1 accumulators over the rows. */
#define THIN_K 16
typedef float v16f __attribute__((vector_size(64)));
#define AI static inline __attribute__((always_inline))
AI v16f load16(const float *p) { v16f v; memcpy(&v, p, sizeof v); return v; }
AI void store16(float *p, v16f v) { memcpy(p, &v, sizeof v); }

AI void thin_forward_k(const float *restrict A, int64_t R, const int K1,
                       const float *restrict wm, int64_t O, float *restrict Y)
{
    for (int64_t oc = 0; oc < O; oc += 16) {
        v16f w[THIN_K];
        for (int k = 0; k < K1; k++)
            w[k] = load16(wm + k * O + oc);
        int64_t r = 0;
        for (; r + 4 <= R; r += 4) {
            const float *a = A + r * K1;
            v16f y0 = a[0] * w[0], y1 = a[K1] * w[0], y2 = a[2 * K1] * w[0],
                 y3 = a[3 * K1] * w[0];
            for (int k = 1; k < K1; k++) {
                y0 += a[k] * w[k];
                y1 += a[K1 + k] * w[k];
                y2 += a[2 * K1 + k] * w[k];
                y3 += a[3 * K1 + k] * w[k];
            }
            store16(Y + r * O + oc, y0);
            store16(Y + (r + 1) * O + oc, y1);
            store16(Y + (r + 2) * O + oc, y2);
            store16(Y + (r + 3) * O + oc, y3);
        }
        for (; r < R; r++) {
            const float *a = A + r * K1;
            v16f y = a[0] * w[0];
            for (int k = 1; k < K1; k++)
                y += a[k] * w[k];
            store16(Y + r * O + oc, y);
        }
    }
}

AI void thin_weight_grad_k(const float *restrict A, int64_t R, const int K1,
                           const float *restrict G, int64_t O, float beta, float *restrict d)
{
    for (int64_t oc = 0; oc < O; oc += 16) {
        v16f acc[THIN_K];
        for (int k = 0; k < K1; k++)
            acc[k] = beta == 0.0f ? (v16f){0} : load16(d + k * O + oc);
        for (int64_t r = 0; r < R; r++) {
            v16f gv = load16(G + r * O + oc);
            const float *a = A + r * K1;
            for (int k = 0; k < K1; k++)
                acc[k] += a[k] * gv;
        }
        for (int k = 0; k < K1; k++)
            store16(d + k * O + oc, acc[k]);
    }
}

#define THIN_CASES(F, ...) switch (K1) {                                                  \
    case 1: F(__VA_ARGS__, 1); break; case 2: F(__VA_ARGS__, 2); break;                    \
    case 3: F(__VA_ARGS__, 3); break; case 4: F(__VA_ARGS__, 4); break;                    \
    case 5: F(__VA_ARGS__, 5); break; case 6: F(__VA_ARGS__, 6); break;                    \
    case 7: F(__VA_ARGS__, 7); break; case 8: F(__VA_ARGS__, 8); break;                    \
    case 9: F(__VA_ARGS__, 9); break; case 10: F(__VA_ARGS__, 10); break;                  \
    case 11: F(__VA_ARGS__, 11); break; case 12: F(__VA_ARGS__, 12); break;                \
    case 13: F(__VA_ARGS__, 13); break; case 14: F(__VA_ARGS__, 14); break;                \
    case 15: F(__VA_ARGS__, 15); break; default: F(__VA_ARGS__, 16); break; }
#define FWD(A, R, wm, O, Y, K) thin_forward_k(A, R, K, wm, O, Y)
#define WGRAD(A, R, G, O, beta, d, K) thin_weight_grad_k(A, R, K, G, O, beta, d)

static void thin_forward(const float *A, int64_t R, int64_t K1, const float *wm, int64_t O,
                         float *Y)
{
    THIN_CASES(FWD, A, R, wm, O, Y)
}

static void thin_weight_grad(const float *A, int64_t R, int64_t K1, const float *G, int64_t O,
                             float beta, float *d)
{
    THIN_CASES(WGRAD, A, R, G, O, beta, d)
}

/* Y = A · wm and d = beta·d + Aᵀ · G for one block: MKL, or by hand when thin. */
static void block_forward(sgemm_fn gemm, const conv_geometry *g, const float *A, int64_t R,
                          const float *wm, float *Y)
{
    if (g->K1 <= THIN_K && g->O % 16 == 0)
        thin_forward(A, R, g->K1, wm, g->O, Y);
    else
        gemm(101, 111, 111, (int)R, (int)g->O, (int)g->K1, 1.0f, A, (int)g->K1, wm,
             (int)g->O, 0.0f, Y, (int)g->O);
}

static void block_weight_grad(sgemm_fn gemm, const conv_geometry *g, const float *A,
                              int64_t R, const float *G, float beta, float *d)
{
    if (g->K1 <= THIN_K && g->O % 16 == 0)
        thin_weight_grad(A, R, g->K1, G, g->O, beta, d);
    else
        gemm(101, 112, 111, (int)g->K1, (int)g->O, (int)R, 1.0f, A, (int)g->K1, G,
             (int)g->O, beta, d, (int)g->O);
}

/* out (N·Ho·Wo, O) = patches · wm, wm (K1, O) the weight rows (i, j, c) [and the bias]. */
void conv_blocks_forward(int64_t fn, const conv_geometry *g, const float *xpad,
                         const float *wm, float *out, float *scratch, int nt)
{
    sgemm_fn gemm = (sgemm_fn)fn;
    int64_t P = g->Ho * g->Wo, blocks = (g->N + g->B - 1) / g->B;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t b = 0; b < blocks; b++) {
        float *A = scratch + (int64_t)THREAD * g->B * P * g->K1;
        int64_t n0, nb = block_images(g, b, &n0);
        block_patches(xpad, g, n0, nb, A);
        block_forward(gemm, g, A, nb * P, wm, out + n0 * P * g->O);
    }
}

/* dwt (nt, K1, O): thread t's share of patchesᵀ · gy (gy (N·Ho·Wo, O)); their sum is the
 * weight gradient (and, in row K, the bias gradient). */
void conv_blocks_weight_grad(int64_t fn, const conv_geometry *g, const float *xpad,
                             const float *gy, float *dwt, float *scratch, int nt)
{
    sgemm_fn gemm = (sgemm_fn)fn;
    int64_t P = g->Ho * g->Wo, blocks = (g->N + g->B - 1) / g->B;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int64_t t = THREAD;
        float *A = scratch + t * g->B * P * g->K1, *d = dwt + t * g->K1 * g->O;
        float beta = 0.0f;
#pragma omp for schedule(static)
        for (int64_t b = 0; b < blocks; b++) {
            int64_t n0, nb = block_images(g, b, &n0);
            block_patches(xpad, g, n0, nb, A);
            block_weight_grad(gemm, g, A, nb * P, gy + n0 * P * g->O, beta, d);
            beta = 1.0f;
        }
        if (beta == 0.0f)                   /* a thread without a block */
            memset(d, 0, (size_t)(g->K1 * g->O) * sizeof(float));
    }
}

/* One block's input gradient: D = gb · wmᵀ in D's buffer (rows: the patches' gradients, wm's
 * first K rows), then each patch value added back to the input cell it was copied from (taps
 * in padding dropped); gb: the block's rows of the output gradient. */
static void block_input_grad(sgemm_fn gemm, const conv_geometry *g, const float *gb,
                             const float *wm, int64_t n0, int64_t nb, int64_t H, int64_t W,
                             int64_t pt, int64_t pl, float *gx, float *D)
{
    int64_t C = g->C, K = g->kh * g->kw * C, P = g->Ho * g->Wo;
    gemm(101, 111, 112, (int)(nb * P), (int)K, (int)g->O, 1.0f, gb, (int)g->O, wm, (int)g->O,
         0.0f, D, (int)K);
    float *gxb = gx + n0 * H * W * C;
    memset(gxb, 0, (size_t)(nb * H * W * C) * sizeof(float));
    for (int64_t p = 0; p < nb * P; p++) {
        int64_t n = p / P, oy = (p % P) / g->Wo, ox = p % g->Wo;
        const float *d = D + p * K;
        for (int64_t i = 0; i < g->kh; i++) {
            int64_t iy = oy * g->sh - pt + i * g->dh;
            if (iy < 0 || iy >= H)
                continue;
            for (int64_t j = 0; j < g->kw; j++) {
                int64_t ix = ox * g->sw - pl + j * g->dw;
                if (ix < 0 || ix >= W)
                    continue;
                float *restrict dst = gxb + ((n * H + iy) * W + ix) * C;
                const float *restrict src = d + (i * g->kw + j) * C;
                for (int64_t c = 0; c < C; c++)
                    dst[c] += src[c];
            }
        }
    }
}

/* gx (N, H, W, C) = the input gradient, block by block. Blocks hold whole images, so threads
 * never write the same cell. pt, pl: the padding before the rows and columns. */
void conv_blocks_input_grad(int64_t fn, const conv_geometry *g, const float *gy,
                            const float *wm, int64_t H, int64_t W, int64_t pt, int64_t pl,
                            float *gx, float *scratch, int nt)
{
    sgemm_fn gemm = (sgemm_fn)fn;
    int64_t P = g->Ho * g->Wo, blocks = (g->N + g->B - 1) / g->B;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t b = 0; b < blocks; b++) {
        float *D = scratch + (int64_t)THREAD * g->B * P * g->K1;
        int64_t n0, nb = block_images(g, b, &n0);
        block_input_grad(gemm, g, gy + n0 * P * g->O, wm, n0, nb, H, W, pt, pl, gx, D);
    }
}

/* ------------------------------------- a conv, its ReLU and a max pool whose windows tile it
 * The same blocks, and each block's conv output (in the thread's second buffer Y) pooled with
 * the ReLU (max_pool_tiled_f32 of pointwise.c, winner index 255 where the ReLU gives 0)
 * before it leaves the core: only the pooled values and the winners reach memory. The
 * backward turns each block's pooled gradient back into the conv output's gradient in Y
 * (max_pool_tiled_backward_f32) and runs the weight and input gradients of the block from
 * there. pk_h × pk_w: the pool's window. With `nchw` the pooled values are written, and
 * their gradient read, as (N, C_out, H_q, W_q) (for a Flatten after the pool: no transposing
 * copy on either side), through the thread's third buffer T (B·H_q·W_q·C_out). */
/* b (n, C, R) = a (n, R, C) transposed image by image: NHWC → NCHW with (R, C) = (H·W, C),
 * NCHW → NHWC with (R, C) = (C, H·W). */
static void transpose_images(const float *restrict a, float *restrict b, int64_t n,
                             int64_t R, int64_t C)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t r = 0; r < R; r++)
                b[(i * C + c) * R + r] = a[(i * R + r) * C + c];
}

void conv_pool_forward(int64_t fn, const conv_geometry *g, const float *xpad,
                       const float *wm, int64_t pkh, int64_t pkw, float *pooled,
                       uint8_t *idx, int nchw, float *scratch, float *ybuf, float *tbuf,
                       int nt)
{
    sgemm_fn gemm = (sgemm_fn)fn;
    int64_t P = g->Ho * g->Wo, Q = (g->Ho / pkh) * (g->Wo / pkw);
    int64_t blocks = (g->N + g->B - 1) / g->B;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t b = 0; b < blocks; b++) {
        int64_t t = THREAD;
        float *A = scratch + t * g->B * P * g->K1, *Y = ybuf + t * g->B * P * g->O;
        float *T = tbuf + t * g->B * Q * g->O;
        int64_t n0, nb = block_images(g, b, &n0);
        float *out = pooled + n0 * Q * g->O;
        block_patches(xpad, g, n0, nb, A);
        block_forward(gemm, g, A, nb * P, wm, Y);
        max_pool_tiled_f32(Y, nb, g->Ho, g->Wo, g->O, pkh, pkw, nchw ? T : out,
                           idx + n0 * Q * g->O, 1, 1);
        if (nchw)
            transpose_images(T, out, nb, Q, g->O);
    }
}

/* gp: the pooled output's gradient, laid out as the forward wrote it; dwt as
 * conv_blocks_weight_grad (NULL: no weight gradient), gx as conv_blocks_input_grad (NULL:
 * none). */
void conv_pool_backward(int64_t fn, const conv_geometry *g, const float *xpad,
                        const float *wm, int64_t pkh, int64_t pkw, const float *gp,
                        const uint8_t *idx, int nchw, float *dwt, int64_t H, int64_t W,
                        int64_t pt, int64_t pl, float *gx, float *scratch, float *ybuf,
                        float *tbuf, int nt)
{
    sgemm_fn gemm = (sgemm_fn)fn;
    int64_t P = g->Ho * g->Wo, Hq = g->Ho / pkh, Wq = g->Wo / pkw, Q = Hq * Wq;
    int64_t blocks = (g->N + g->B - 1) / g->B;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int64_t t = THREAD;
        float *A = scratch + t * g->B * P * g->K1, *G = ybuf + t * g->B * P * g->O;
        float *T = tbuf + t * g->B * Q * g->O;
        float *d = dwt ? dwt + t * g->K1 * g->O : NULL;
        float beta = 0.0f;
#pragma omp for schedule(static)
        for (int64_t b = 0; b < blocks; b++) {
            int64_t n0, nb = block_images(g, b, &n0);
            const float *gb = gp + n0 * Q * g->O;
            if (nchw) {
                transpose_images(gb, T, nb, g->O, Q);
                gb = T;
            }
            max_pool_tiled_backward_f32(gb, idx + n0 * Q * g->O, nb, Hq, Wq, g->O, pkh, pkw,
                                        G, 1);
            if (d) {
                block_patches(xpad, g, n0, nb, A);
                block_weight_grad(gemm, g, A, nb * P, G, beta, d);
                beta = 1.0f;
            }
            if (gx)
                block_input_grad(gemm, g, G, wm, n0, nb, H, W, pt, pl, gx, A);
        }
        if (d && beta == 0.0f)
            memset(d, 0, (size_t)(g->K1 * g->O) * sizeof(float));
    }
}
