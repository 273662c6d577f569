"""Plain, obviously-correct loop versions of the conv/pool kernels, for tests only.

Each function works on NumPy arrays in PyTorch's (N, C, H, W) layout, straight from the
definition, and returns the output together with a function that gives the input (and
weight/bias) gradients for an output gradient ``g``. ``pads`` is ((top, bottom), (left,
right)). The fast versions in ``conv.py`` and ``pool.py`` must agree with these.
"""
import numpy as np

__all__ = ["conv2d_ref", "conv_transpose2d_ref", "max_pool2d_ref", "avg_pool2d_ref",
           "adaptive_avg_pool2d_ref"]


def _pad(x, pads, value=0.0):
    return np.pad(x, ((0, 0), (0, 0)) + tuple(pads), constant_values=value)


def conv2d_ref(x, w, b, stride, pads, dilation, groups):
    """y[n, o, i, j] = b[o] + Σ_{c,a,e} x_pad[n, c, i·s + a·d, j·s + e·d] · w[o, c, a, e]."""
    xp = _pad(x, pads)
    N, C, Hp, Wp = xp.shape
    O, Cg, kh, kw = w.shape
    (sh, sw), (dh, dw), Og = stride, dilation, O // groups
    Ho, Wo = (Hp - dh * (kh - 1) - 1) // sh + 1, (Wp - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((N, O, Ho, Wo), dtype=x.dtype)
    for o in range(O):
        c0 = (o // Og) * Cg                              # first input channel of o's group
        for i in range(Ho):
            for j in range(Wo):
                for a in range(kh):
                    for e in range(kw):
                        y[:, o, i, j] += xp[:, c0:c0 + Cg, i * sh + a * dh, j * sw + e * dw] \
                            @ w[o, :, a, e]
        if b is not None:
            y[:, o] += b[o]

    def grads(g):
        gxp, gw = np.zeros_like(xp), np.zeros_like(w)
        for o in range(O):
            c0 = (o // Og) * Cg
            for i in range(Ho):
                for j in range(Wo):
                    for a in range(kh):
                        for e in range(kw):
                            r, c = i * sh + a * dh, j * sw + e * dw
                            gxp[:, c0:c0 + Cg, r, c] += np.outer(g[:, o, i, j], w[o, :, a, e])
                            gw[o, :, a, e] += g[:, o, i, j] @ xp[:, c0:c0 + Cg, r, c]
        (pt, _), (pl, _) = pads
        gx = gxp[:, :, pt:pt + x.shape[2], pl:pl + x.shape[3]]
        return gx, gw, g.sum(axis=(0, 2, 3))
    return y, grads


def conv_transpose2d_ref(x, w, b, stride, padding, output_padding, dilation):
    """Scatter definition: y_full[n, o, i·s + a·d, j·s + e·d] += x[n, c, i, j]·w[c, o, a, e],
    then crop ``padding`` from each side (output_padding extends the bottom/right)."""
    N, C, H, W = x.shape
    _, O, kh, kw = w.shape
    (sh, sw), (ph, pw), (oh, ow), (dh, dw) = stride, padding, output_padding, dilation
    Hf, Wf = (H - 1) * sh + dh * (kh - 1) + 1 + oh, (W - 1) * sw + dw * (kw - 1) + 1 + ow
    yf = np.zeros((N, O, Hf, Wf), dtype=x.dtype)
    for i in range(H):
        for j in range(W):
            for a in range(kh):
                for e in range(kw):
                    yf[:, :, i * sh + a * dh, j * sw + e * dw] += x[:, :, i, j] @ w[:, :, a, e]
    y = yf[:, :, ph:Hf - ph, pw:Wf - pw] + (0 if b is None else b[None, :, None, None])

    def grads(g):
        gf = np.zeros_like(yf)
        gf[:, :, ph:Hf - ph, pw:Wf - pw] = g
        gx, gw = np.zeros_like(x), np.zeros_like(w)
        for i in range(H):
            for j in range(W):
                for a in range(kh):
                    for e in range(kw):
                        gy = gf[:, :, i * sh + a * dh, j * sw + e * dw]
                        gx[:, :, i, j] += gy @ w[:, :, a, e].T
                        gw[:, :, a, e] += x[:, :, i, j].T @ gy
        return gx, gw, g.sum(axis=(0, 2, 3))
    return y, grads


def _pool_windows(x, kernel, stride, pads, dilation, value):
    xp = _pad(x, pads, value)
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    Ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    Wo = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    cells = {(i, j): [(i * sh + a * dh, j * sw + e * dw) for a in range(kh) for e in range(kw)]
             for i in range(Ho) for j in range(Wo)}
    return xp, Ho, Wo, cells


def max_pool2d_ref(x, kernel, stride, pads, dilation):
    """Max over each window of the −∞-padded input; the gradient goes to the first maximum.
    ``pads`` already includes the extra bottom/right padding that ceil_mode needs."""
    xp, Ho, Wo, cells = _pool_windows(x, kernel, stride, pads, dilation, -np.inf)
    N, C = x.shape[:2]
    y = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    arg = {}
    for n in range(N):
        for c in range(C):
            for (i, j), pos in cells.items():
                vals = [xp[n, c, r, q] for r, q in pos]
                k = int(np.argmax(vals))                  # first maximum
                y[n, c, i, j] = vals[k]
                arg[n, c, i, j] = pos[k]

    def grads(g):
        gxp = np.zeros_like(xp)
        for (n, c, i, j), (r, q) in arg.items():
            gxp[n, c, r, q] += g[n, c, i, j]
        (pt, _), (pl, _) = pads
        return gxp[:, :, pt:pt + x.shape[2], pl:pl + x.shape[3]]
    return y, grads


def avg_pool2d_ref(x, kernel, stride, pads, divisor):
    """Sum over each zero-padded window divided by ``divisor`` (an (H_out, W_out) array)."""
    xp, Ho, Wo, cells = _pool_windows(x, kernel, stride, pads, (1, 1), 0.0)
    y = np.zeros(x.shape[:2] + (Ho, Wo), dtype=x.dtype)
    for (i, j), pos in cells.items():
        for r, q in pos:
            y[:, :, i, j] += xp[:, :, r, q] / divisor[i, j]

    def grads(g):
        gxp = np.zeros_like(xp)
        for (i, j), pos in cells.items():
            for r, q in pos:
                gxp[:, :, r, q] += g[:, :, i, j] / divisor[i, j]
        (pt, _), (pl, _) = pads
        return gxp[:, :, pt:pt + x.shape[2], pl:pl + x.shape[3]]
    return y, grads


def adaptive_avg_pool2d_ref(x, out_hw):
    """Output cell (i, j) = mean of x over rows [⌊i·H/H_out⌋, ⌈(i+1)·H/H_out⌉) and the
    same columns (each cell from its own window only)."""
    H, W = x.shape[2:]
    (Ho, Wo) = out_hw
    rows = [(i * H // Ho, -(-(i + 1) * H // Ho)) for i in range(Ho)]
    cols = [(j * W // Wo, -(-(j + 1) * W // Wo)) for j in range(Wo)]
    y = np.empty(x.shape[:2] + (Ho, Wo), dtype=x.dtype)
    for i, (a, b) in enumerate(rows):
        for j, (c, e) in enumerate(cols):
            y[:, :, i, j] = x[:, :, a:b, c:e].mean(axis=(2, 3))

    def grads(g):
        gx = np.zeros_like(x)
        for i, (a, b) in enumerate(rows):
            for j, (c, e) in enumerate(cols):
                gx[:, :, a:b, c:e] += g[:, :, i:i + 1, j:j + 1] / ((b - a) * (e - c))
        return gx
    return y, grads
