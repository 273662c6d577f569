/* Cross-entropy.
 * Part of one translation unit: ops/_native.py joins the files of SOURCES, common.c first. */

/* Cross-entropy over the rows of logits x (R, C), class targets t: per[r] =
 * log Σ_c e^{x_rc − m_r} − (x_{r,t_r} − m_r) with m_r the row's max, and p (R, C) =
 * softmax(x), which the backward turns into p − onehot(t). The max and the sum are vector
 * reductions (omp simd: lanes summed in another order than NumPy's pairwise sum). Returns
 * the number of targets outside [0, C) or equal to `ignore`, having computed nothing when
 * there are any (the caller's NumPy path then raises or skips them). */
int64_t ce_rows_f32(const float *x, int64_t s_x, const int64_t *t, int64_t R, int64_t C,
                    int64_t ignore, float *per, float *p, int nt)
{
    int64_t bad = 0;
    for (int64_t r = 0; r < R; r++)
        bad += t[r] < 0 || t[r] >= C || t[r] == ignore;
    if (bad)
        return bad;
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
    return 0;
}
