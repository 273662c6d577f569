/* Adam's and SGD's updates.
 * Part of one translation unit: ops/_native.py joins the files of SOURCES, common.c first. */

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
 * −η, θ). `has_buf` = 0: no momentum (buf is not read). sgd_range updates elements
 * [lo, hi) of one tensor. */
typedef struct {
    float lr, momentum, one_minus_damp, wd;
    int has_buf, first, nesterov;
} sgd_hyper;

__attribute__((optimize("fp-contract=off")))
static void sgd_range(float *restrict theta, const float *restrict g, float *restrict buf,
                      int64_t lo, int64_t hi, const sgd_hyper *h)
{
    float lr = h->lr, momentum = h->momentum, one_minus_damp = h->one_minus_damp, wd = h->wd;
    int has_buf = h->has_buf, first = h->first, nesterov = h->nesterov;
    for (int64_t i = lo; i < hi; i++) {
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

/* `count` tensors in one call and one OpenMP team, as PyTorch's foreach update (a model's
 * parameters cost one call, not one each): ptrs holds the count θ, then the count g, then
 * (has_buf) the count momentum buffers; n[t] elements each. The elements of all of them are
 * split evenly over the threads, as if they were one tensor. */
void sgd_f32(void **ptrs, const int64_t *n, int64_t count, float lr, float momentum,
             float one_minus_damp, float wd, int has_buf, int first, int nesterov, int nt)
{
    float **theta = (float **)ptrs, **g = theta + count, **buf = theta + 2 * count;
    sgd_hyper h = {lr, momentum, one_minus_damp, wd, has_buf, first, nesterov};
    int64_t total = 0;
    for (int64_t t = 0; t < count; t++)
        total += n[t];
    PAR
    for (int k = 0; k < nt; k++) {
        int64_t lo = total * k / nt, hi = total * (k + 1) / nt, at = 0;
        for (int64_t t = 0; t < count && at < hi; t++) {
            int64_t a = lo > at ? lo - at : 0, b = hi - at < n[t] ? hi - at : n[t];
            if (a < b)
                sgd_range(theta[t], g[t], has_buf ? buf[t] : NULL, a, b, &h);
            at += n[t];
        }
    }
}
