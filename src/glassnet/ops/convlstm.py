"""Fused ConvLSTM kernel: one graph op runs a whole ConvLSTM layer over a sequence of images.

ConvLSTM (Shi et al. 2015, "Convolutional LSTM Network") is an LSTM whose input-to-state and
state-to-state maps are convolutions, so the hidden state h and the cell c keep their spatial
layout (N, C_h, H, W). Gate order i, f, g, o as in ``nn.LSTM``; peephole-free (no W_c ⊙ c
terms), like most implementations; one weight over the concatenation [x_t, h_{t-1}]::

    [a_i, a_f, a_g, a_o] = W ⋆ [x_t, h_{t-1}] + b       (⋆ = 'same' cross-correlation)
    i, f, o = σ(a_i), σ(a_f), σ(a_o);   g = tanh(a_g)
    c_t = f ⊙ c_{t-1} + i ⊙ g;          h_t = o ⊙ tanh(c_t)

Shape letters: L time steps, N batch, C_in input channels, C_h hidden channels, H, W height and
width (kept by every step), k_h, k_w kernel size; R = N·H·W pixels of one step.

How the fast path works (``convlstm2d_reference`` below computes the same from primitive ops):

* Everything runs channels-last, so a step's gates are an (R, 4·C_h) matrix and the gate
  arithmetic is exactly the fused LSTM kernel's (``ops/recurrent/lstm.py``) with R rows.
* The input part of all L steps is one im2col + one GEMM (``ops/conv.py``), bias included.
* Per step: im2col of the zero-padded h_{t-1} and one GEMM with the hidden part of W.
* Backward through time: per step, the gate gradient dA_t (R, 4·C_h) is formed on
  cache-sized blocks and gives dh_{t-1} = col2im(dA_t·W_hᵀ) (the conv input gradient: one
  GEMM and k_h·k_w sliced adds). After the loop, the weight gradients Σ_t cols(h_{t-1})ᵀ·dA_t
  and cols(X)ᵀ·dA (bias included), and the input gradient, are big GEMMs over all L·R rows
  (the hidden one in chunks of steps, at most ``PATCH_FLOATS`` patch elements at a time).

Device-ready: every array is created and transformed through ``xp = xp_of(x.array)`` (NumPy on
the CPU, CuPy on a GPU), and the zero initial state is created on the input's device. The
patch helpers it shares with ``ops/conv.py`` (``pad_nhwc``, ``im2col``, ``col2im``) must be
device-ready too for the layer to run off the CPU.
"""
import numpy as np

from ..backend import xp_of
from ..tensor import Tensor, make
from ._util import same_device
from .activation import sigmoid, tanh
from .conv import col2im, conv2d, conv_padding, im2col, nchw_view, nhwc_view, pad_nhwc
from .shape import cat, stack

__all__ = ["convlstm2d", "convlstm2d_reference"]

PATCH_FLOATS = 1 << 24     # most patch-matrix elements the backward builds at once (64 MB)


def _check(who, x, h0, c0, weight, bias):
    if x.ndim != 5:
        raise ValueError(f"{who}: expected input (L, N, C_in, H, W), got {tuple(x.shape)}")
    L, N, C, H, W = x.shape
    if weight.ndim != 4 or weight.shape[0] % 4 or weight.shape[1] <= C:
        raise ValueError(f"{who}: expected weight (4·C_h, C_in + C_h, k_h, k_w) with "
                         f"C_in={C}, got {tuple(weight.shape)}")
    Ch = weight.shape[0] // 4
    if weight.shape[1] != C + Ch:
        raise ValueError(f"{who}: weight {tuple(weight.shape)} has {weight.shape[1]} input "
                         f"channels, expected C_in + C_h = {C} + {Ch}")
    if bias is not None and tuple(bias.shape) != (4 * Ch,):
        raise ValueError(f"{who}: expected bias ({4 * Ch},), got {tuple(bias.shape)}")
    for s, label in ((h0, "h_0"), (c0, "c_0")):
        if s is not None and tuple(s.shape) != (N, Ch, H, W):
            raise ValueError(f"{who}: expected {label} of shape {(N, Ch, H, W)} "
                             f"(N, C_h, H, W), got {tuple(s.shape)}")
    return L, N, C, H, W, Ch


def convlstm2d(x: Tensor, h0: Tensor | None, c0: Tensor | None, weight: Tensor,
               bias: Tensor | None = None):
    """Run one ConvLSTM layer over a time-major sequence of images (fused fast path).

    Args:
        x: input (L, N, C_in, H, W).
        h0, c0: initial hidden state and cell (N, C_h, H, W), or None for zeros.
        weight: (4·C_h, C_in + C_h, k_h, k_w), gate blocks i, f, g, o; input channels first,
            then hidden channels. bias: (4·C_h,) or None. Padding is 'same', stride 1.

    Returns:
        ``(out, h_n, c_n)``: out (L, N, C_h, H, W), the hidden state of every step; h_n, c_n
        (N, C_h, H, W). All differentiable with respect to every input.

    Example:
        >>> out, h, c = convlstm2d(gn.randn(5, 2, 1, 8, 8), None, None, gn.randn(16, 5, 3, 3))
        >>> out.shape, h.shape
        ((5, 2, 4, 8, 8), (2, 4, 8, 8))
    """
    L, N, C, H, W, Ch = _check("convlstm2d", x, h0, c0, weight, bias)
    same_device("convlstm2d", x, h0, c0, weight, bias)
    xp, dt = xp_of(x.array), weight.array.dtype
    if h0 is None:
        h0 = Tensor(xp.zeros((N, Ch, H, W), dt))      # on the input's device
    if c0 is None:
        c0 = Tensor(xp.zeros((N, Ch, H, W), dt))
    core = _core(x, h0, c0, weight, bias, L, N, C, H, W, Ch)
    out = _take(core, (0, slice(1, L + 1)), (0, 1, 4, 2, 3))
    h_n = _take(core, (0, L), (0, 3, 1, 2))
    c_n = _take(core, (1, L), (0, 3, 1, 2))
    return out, h_n, c_n


def _take(core: Tensor, key, axes) -> Tensor:
    """A slice of the (channels-last) state buffer as a (channels-first view) graph node."""
    out = core.array[key].transpose(axes)
    inverse = tuple(sorted(range(len(axes)), key=axes.__getitem__))

    def backward(g):
        grad = xp_of(g).zeros_like(core.array)
        grad[key] = g.transpose(inverse)
        return (grad,)
    return make(out, (core,), backward, "ConvLSTMOutBackward")


def _core(x, h0, c0, weight, bias, L, N, C, H, W, Ch):
    """Forward over time. Returns S (2, L+1, N, H, W, C_h): S[0] hidden, S[1] cell states,
    S[:, 0] the initial state and S[:, t+1] the state after step t (channels-last)."""
    Wt, dt = weight.array, weight.array.dtype
    xp = xp_of(Wt)
    O, (kh, kw) = 4 * Ch, Wt.shape[2:]
    k, one = (kh, kw), (1, 1)
    pads = conv_padding("same", k, one, one, "convlstm2d")
    (pt, _), (pl, _) = pads
    R = N * H * W
    # input part of every step: one im2col + GEMM; bias as a ones column
    Xn = nhwc_view(x.array.reshape(L * N, C, H, W))
    Xcols = im2col(pad_nhwc(Xn, pads), k, one, one, (H, W), ones_column=bias is not None)
    Wx = Wt[:, :C].transpose(2, 3, 1, 0).reshape(kh * kw * C, O)
    if bias is not None:
        Wx = xp.concatenate([Wx, bias.array[None].astype(dt)])
    XW = (Xcols @ Wx).reshape(L, R, O)
    # σ(a) = 1/(1 + exp(−a)) and tanh(a) = 2σ(2a) − 1: scale the gate columns once
    scale = xp.full(O, -1, dt)
    scale[2 * Ch:3 * Ch] = -2
    XW *= scale
    Wh = Wt[:, C:].transpose(2, 3, 1, 0).reshape(kh * kw * Ch, O)
    WhS = Wh * scale
    S = xp.empty((2, L + 1, N, H, W, Ch), dt)
    S[0, 0] = nhwc_view(h0.array)
    S[1, 0] = nhwc_view(c0.array)
    hpad = pad_nhwc(S[0, 0], pads)                  # zero border stays; interior per step
    acts = xp.empty((L, R, O), dt)                  # i, f, g, o of every step
    tcs = xp.empty((L, R, Ch), dt)                  # tanh(c_t)
    tmp = xp.empty((R, Ch), dt)
    with np.errstate(over="ignore"):                # exp(−a) → inf gives σ = 0
        for t in range(L):
            hpad[:, pt:pt + H, pl:pl + W] = S[0, t]
            A = acts[t]
            xp.matmul(im2col(hpad, k, one, one, (H, W)), WhS, out=A)
            A += XW[t]
            xp.exp(A, out=A)
            A += 1
            xp.reciprocal(A, out=A)                 # i, f, σ(2a_g), o
            g = A[:, 2 * Ch:3 * Ch]
            g *= 2
            g -= 1                                  # g = tanh(a_g)
            c = S[1, t + 1].reshape(R, Ch)
            xp.multiply(A[:, Ch:2 * Ch], S[1, t].reshape(R, Ch), out=c)
            xp.multiply(A[:, :Ch], g, out=tmp)
            c += tmp
            xp.tanh(c, out=tcs[t])
            xp.multiply(A[:, 3 * Ch:], tcs[t], out=S[0, t + 1].reshape(R, Ch))

    def backward(G):
        return _bptt(G, S, acts, tcs, Xcols, x, h0, c0, weight, bias, Wx, Wh, pads, C, Ch)
    return make(S, (x, h0, c0, weight, bias), backward, "ConvLSTMBackward")


def _bptt(G, S, A, tc, Xcols, x, h0, c0, weight, bias, Wx, Wh, pads, C, Ch):
    """Backward through time; G is the gradient on the state buffer S."""
    N, H, W = S.shape[2:5]
    L, R, O = A.shape
    xp, dt = xp_of(S), S.dtype
    kh, kw = weight.shape[2:]
    k, one = (kh, kw), (1, 1)
    (pt, _), (pl, _) = pads
    need_w = weight.requires_grad
    need_h = need_w or h0.requires_grad or c0.requires_grad or x.requires_grad or (
        bias is not None and bias.requires_grad)
    dA = xp.empty((L, R, O), dt)
    dh = G[0, L].reshape(R, Ch).copy()
    dc = G[1, L].reshape(R, Ch).copy()
    t1 = xp.empty((R, Ch), dt)
    gWh = xp.zeros_like(Wh) if need_w else None
    WhT = xp.ascontiguousarray(Wh.T)
    padded_hw = (H + sum(pads[0]), W + sum(pads[1]))
    # per step, on (R, 4·C_h) blocks that stay in cache:
    #   dc += dh·o·(1 − tanh²c);  di = dc·g·σ'(i);  df = dc·c_{t-1}·σ'(f);
    #   dg = dc·i·(1 − g²);  do = dh·tanh(c)·σ'(o);  dc_{t-1} = dc·f
    for t in range(L - 1, -1, -1) if need_h else ():
        if t < L - 1:
            dh += G[0, t + 1].reshape(R, Ch)
            dc += G[1, t + 1].reshape(R, Ch)
        a, tct, D = A[t], tc[t], dA[t]
        i, f, g, o = (a[:, j * Ch:(j + 1) * Ch] for j in range(4))
        xp.multiply(tct, tct, out=t1)
        xp.subtract(1, t1, out=t1)
        t1 *= o
        t1 *= dh
        dc += t1
        xp.subtract(1, a, out=D)
        D *= a                                      # σ' = s(1 − s) (g block replaced next)
        Dg = D[:, 2 * Ch:3 * Ch]
        xp.multiply(g, g, out=Dg)
        xp.subtract(1, Dg, out=Dg)                  # tanh' = 1 − g²
        D[:, :Ch] *= g
        D[:, Ch:2 * Ch] *= S[1, t].reshape(R, Ch)
        Dg *= i
        D[:, 3 * Ch:] *= tct
        D.reshape(R, 4, Ch)[:, :3] *= dc[:, None, :]
        D[:, 3 * Ch:] *= dh
        dc *= f
        dcols = (D @ WhT).reshape(N, H, W, kh, kw, Ch)     # conv input grad: GEMM + col2im
        dh = col2im(dcols, padded_hw, one, one)[:, pt:pt + H, pl:pl + W].reshape(R, Ch)
    if need_w:      # hidden weight grad Σ_t cols(h_{t-1})ᵀ·dA_t: big GEMMs over chunks of steps
        chunk = max(1, PATCH_FLOATS // (R * kh * kw * Ch))
        for t0 in range(0, L, chunk):
            t2 = min(L, t0 + chunk)
            hp = pad_nhwc(S[0, t0:t2].reshape((t2 - t0) * N, H, W, Ch), pads)
            gWh += im2col(hp, k, one, one, (H, W)).T @ dA[t0:t2].reshape(-1, O)
    dh += G[0, 0].reshape(R, Ch)
    dc += G[1, 0].reshape(R, Ch)
    dA2 = dA.reshape(L * R, O)
    gx = gw = gb = None
    if x.requires_grad:
        K = kh * kw * C
        dcols = (dA2 @ Wx[:K].T).reshape(L * N, H, W, kh, kw, C)
        gxp = col2im(dcols, padded_hw, one, one)[:, pt:pt + H, pl:pl + W]
        gx = xp.ascontiguousarray(gxp.reshape(L, N, H, W, C).transpose(0, 1, 4, 2, 3))
    if need_w or (bias is not None and bias.requires_grad):
        gXb = Xcols.T @ dA2                         # (k_h·k_w·C_in [+ 1], 4·C_h)
        if bias is not None and bias.requires_grad:
            gb = gXb[-1].copy()
        if need_w:
            gw = xp.empty(weight.shape, dt)
            gw[:, :C] = gXb[:kh * kw * C].reshape(kh, kw, C, O).transpose(3, 2, 0, 1)
            gw[:, C:] = gWh.reshape(kh, kw, Ch, O).transpose(3, 2, 0, 1)
    gh0 = xp.ascontiguousarray(nchw_view(dh.reshape(N, H, W, Ch))) if h0.requires_grad \
        else None
    gc0 = xp.ascontiguousarray(nchw_view(dc.reshape(N, H, W, Ch))) if c0.requires_grad \
        else None
    return gx, gh0, gc0, gw, gb


def convlstm2d_reference(x: Tensor, h0: Tensor | None, c0: Tensor | None, weight: Tensor,
                         bias: Tensor | None = None):
    """Step-by-step ConvLSTM built from primitive ops (conv2d, sigmoid, tanh, mul, add).

    Same arguments and results as :func:`convlstm2d`; autograd derives the backward through
    time. Slow; it is the readable statement of the equations and the tests' reference.
    """
    L, N, C, H, W, Ch = _check("convlstm2d_reference", x, h0, c0, weight, bias)
    xp, dt = xp_of(x.array), weight.array.dtype
    h = h0 if h0 is not None else Tensor(xp.zeros((N, Ch, H, W), dt))
    c = c0 if c0 is not None else Tensor(xp.zeros((N, Ch, H, W), dt))
    outs = []
    for t in range(L):
        a = conv2d(cat([x[t], h], 1), weight, bias, padding="same")
        i = sigmoid(a[:, :Ch])
        f = sigmoid(a[:, Ch:2 * Ch])
        g = tanh(a[:, 2 * Ch:3 * Ch])
        o = sigmoid(a[:, 3 * Ch:])
        c = f * c + i * g
        h = o * tanh(c)
        outs.append(h)
    return stack(outs, 0), h, c
