/* A chain of linear layers, each optionally followed by a ReLU, run for training in one call
 * each way (ops/linear_chain.py plans the buffers and keeps the graph): the products are
 * MKL's cblas_sgemm through the address blas.gemm_address gives, the bias, ReLU and mask
 * passes and the backward's select and column sums are pointwise.c's kernels, the same calls
 * in the same order as the layers run one by one, so the same values come out, without the
 * ~10 Python calls a layer costs each way. Part of one translation unit: ops/_native.py
 * joins the files of SOURCES (sgemm_fn comes from loops.c). */

typedef struct {
    int64_t n_in, n_out;
    int32_t relu;
    int32_t nt_fwd, nt_bwd;     /* threads of the bias pass and of the backward's sums */
    const float *w, *b;         /* weight (n_out, n_in), bias (n_out) or NULL */
    const float *src;           /* the layer's input rows (N, n_in) */
    float *dst;                 /* its output rows (N, n_out) */
    uint8_t *mask;              /* relu: where the output passed (N, n_out); NULL: not kept */
    float *gz;                  /* backward, relu: the gradient before the ReLU (N, n_out) */
    float *dw, *db;             /* weight and bias gradients, NULL: not wanted */
    float *dsrc;                /* the gradient for src (N, n_in), NULL: not wanted */
} chain_layer;

/* dst = src · wᵀ (+ b) (then ReLU, recording the mask), layer after layer. */
void linear_chain_forward(int64_t fn, chain_layer *layers, int n, int64_t N)
{
    sgemm_fn gemm = (sgemm_fn)fn;
    for (int l = 0; l < n; l++) {
        chain_layer *L = layers + l;
        gemm(101, 111, 112, (int)N, (int)L->n_out, (int)L->n_in, 1.0f, L->src, (int)L->n_in, L->w,
             (int)L->n_in, 0.0f, L->dst, (int)L->n_out);
        if (L->relu)
            bias_relu_f32(L->dst, L->n_out, L->b, L->mask, N, L->n_out, L->nt_fwd);
        else if (L->b)
            bias_add_f32(L->dst, L->n_out, L->b, N, L->n_out, L->nt_fwd);
    }
}

/* From g (N, out of the last layer) back: per layer, the select through the ReLU and the
 * bias gradient in one pass (or the column sums alone), then the input's gradient g · w and
 * the weight's gᵀ · src, as ops.linear_relu / ops.linear do. */
void linear_chain_backward(int64_t fn, chain_layer *layers, int n, int64_t N, const float *g)
{
    sgemm_fn gemm = (sgemm_fn)fn;
    for (int l = n - 1; l >= 0; l--) {
        chain_layer *L = layers + l;
        const float *gz = g;
        if (L->relu) {
            relu_col_sum_f32(g, L->n_out, L->mask, L->gz, N, L->n_out, L->db, L->nt_bwd);
            gz = L->gz;
        } else if (L->db)
            col_sum_f32(g, L->n_out, N, L->n_out, L->db, L->nt_bwd);
        if (L->dsrc)
            gemm(101, 111, 111, (int)N, (int)L->n_in, (int)L->n_out, 1.0f, gz, (int)L->n_out, L->w,
                 (int)L->n_in, 0.0f, L->dsrc, (int)L->n_in);
        if (L->dw)
            gemm(101, 112, 111, (int)L->n_out, (int)L->n_in, (int)N, 1.0f, gz, (int)L->n_out,
                 L->src, (int)L->n_in, 0.0f, L->dw, (int)L->n_in);
        g = L->dsrc;
    }
}
