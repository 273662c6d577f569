/* The recurrent layers' whole time loops, MKL's product called from C.
 * Part of one translation unit: ops/_native.py joins the files of SOURCES, common.c first. */

/* ------------------------------------------------------- whole time loops, products included
 * The per-step product h·W (MKL's cblas_sgemm_compute on a packed W, or cblas_sgemm) is
 * called from here through the function address blas.product_plan gives, so a layer's time
 * loop is one call from Python instead of ~3 per step (~8 µs of Python a step). MKL's LP64
 * interface: int arguments, row-major (101), packed b (151). */
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

/* The two dh buffers of a backward loop trade places after every step, so the gradient that
 * reaches h0 ends in dh2 exactly when L is odd (what the loops return). */
static inline void swap(float **a, float **b)
{
    float *t = *a;
    *a = *b;
    *b = t;
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
    for (int64_t k = 0; k < L; k++) {
        int64_t t = reverse ? k : L - 1 - k, q = reverse ? t : t + 1;
        float *D = dA + t * N * H;
        rnn_cell_backward(dh, H, G0 + q * N * H, H, S0 + q * N * H, H, D, H, N, H, relu, nt);
        if (dT)
            add_rows(D, H, rows + t * N, dT, H, N, H);
        if (t != (reverse ? L - 1 : 0) || want_h0)
            run_product(&P, D, dh2);
        swap(&dh, &dh2);
    }
    return (int)(L & 1);                /* one swap a step */
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
        swap(&dh, &dh2);
    }
    return (int)(L & 1);                /* one swap a step */
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
        swap(&dh, &dh2);
    }
    return (int)(L & 1);                /* one swap a step */
}
