r"""Connectionist temporal classification (CTC, Graves et al. 2006): the loss of a label
sequence given per-frame class log-probabilities, summed over every alignment.

A target ``l = (l_1 … l_S)`` is extended with blanks, ``l' = (b, l_1, b, l_2, …, l_S, b)``
(length S' = 2S + 1). An alignment is a path through ``l'`` that, at each frame, stays,
moves one position, or skips one blank (only between two different labels). In log space,
with ``y_t(k) = log_probs[t, n, k]``:

    forward   α_0(0) = y_0(b),  α_0(1) = y_0(l_1),  α_0(s) = −∞ otherwise
              α_t(s) = y_t(l'_s) + logsumexp(α_{t−1}(s), α_{t−1}(s−1), [skip] α_{t−1}(s−2))
    loss      −log p(l|x) = −logsumexp(α_{T−1}(S'−1), α_{T−1}(S'−2))
    backward  β_{T−1}(S'−1) = y_{T−1}(b),  β_{T−1}(S'−2) = y_{T−1}(l_S)
              β_t(s) = y_t(l'_s) + logsumexp(β_{t+1}(s), β_{t+1}(s+1), [skip] β_{t+1}(s+2))
    gradient  ∂loss/∂y_t(k) = −Σ_{s: l'_s = k} exp(α_t(s) + β_t(s) − y_t(k) + loss)

(T is each sample's own input length.) The recursions loop over time only: every step
updates all samples and all positions s at once, as (N, S') arrays. The arithmetic runs in
float64 on the host; the result has the input's dtype and device.

The gradient is the true derivative with respect to ``log_probs`` (it matches central
differences). PyTorch's kernel returns ``exp(log_probs) − γ`` instead (the derivative with
respect to the logits when ``log_probs = log_softmax(logits)``); behind a log_softmax both
give the same gradient, because the occupation probabilities γ of a frame sum to 1.

``ctc_ref.py`` holds the plain per-sample loops (and a brute-force sum over all paths) the
tests check this against.
"""
import numpy as np

from ..backend import device_of, to_device, to_host
from ..tensor import Tensor, make

__all__ = ["ctc_loss_per_sample"]

_NEG = -np.inf


def _lse3(a, b, c):
    """Elementwise log(e^a + e^b + e^c), −∞ where all three are −∞."""
    m = np.maximum(np.maximum(a, b), c)
    m_safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return m_safe + np.log(np.exp(a - m_safe) + np.exp(b - m_safe) + np.exp(c - m_safe))


def _shift(x, k: int):
    """x moved k positions to the right along the last axis (k < 0: to the left), −∞ fill."""
    out = np.full_like(x, _NEG)
    if k > 0:
        out[:, k:] = x[:, :-k]
    else:
        out[:, :k] = x[:, -k:]
    return out


def _extend(targets: np.ndarray, target_lengths: np.ndarray, blank: int):
    """l' (N, 2S+1) with blanks between and around the labels (padding → blank) and the
    mask of positions where the skip s−2 → s is allowed."""
    N, S = targets.shape
    labels = np.where(np.arange(S) < target_lengths[:, None], targets, blank)
    ext = np.full((N, 2 * S + 1), blank, np.int64)
    ext[:, 1::2] = labels
    skip = np.zeros(ext.shape, bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    return ext, skip


def ctc_loss_per_sample(log_probs: Tensor, targets: np.ndarray, input_lengths: np.ndarray,
                        target_lengths: np.ndarray, blank: int = 0,
                        zero_infinity: bool = False) -> Tensor:
    r"""Per-sample CTC loss −log p(l_n | x_n), differentiable in ``log_probs``.

    The kernel trusts its inputs (``glassnet.nn.functional.ctc_loss`` checks them).

    Args:
        log_probs: (T, N, C) log-probabilities over C classes (blank included).
        targets: (N, S) int labels, padded past each ``target_lengths[n]``.
        input_lengths: (N,) ints in [1, T]; target_lengths: (N,) ints in [0, S].
        blank: the blank class.
        zero_infinity: impossible alignments (loss +∞) give 0 and a zero gradient.

    Shape:
        output: (N,), the dtype of ``log_probs``.
    """
    dtype, device = log_probs.array.dtype, device_of(log_probs.array)
    lp = to_host(log_probs.array).astype(np.float64)
    T, N, _ = lp.shape
    tl = np.asarray(target_lengths, np.int64)
    end = np.asarray(input_lengths, np.int64) - 1                 # last frame of each sample
    ext, skip = _extend(np.asarray(targets, np.int64).reshape(N, -1), tl, blank)
    n_idx = np.arange(N)
    y = lp[:, n_idx[:, None], ext]                                # (T, N, S') y_t(l'_s)
    has_label = tl > 0
    last = 2 * tl                                                  # final blank position

    alpha = np.full(y.shape, _NEG)
    alpha[0, :, 0] = y[0, :, 0]
    if y.shape[2] > 1:
        alpha[0, :, 1] = np.where(has_label, y[0, :, 1], _NEG)
    for t in range(1, T):
        prev = alpha[t - 1]
        alpha[t] = y[t] + _lse3(prev, _shift(prev, 1), np.where(skip, _shift(prev, 2), _NEG))
    a_end = alpha[end, n_idx]                                      # (N, S') at each last frame
    a_last = a_end[n_idx, last]
    a_prev = np.where(has_label, a_end[n_idx, np.maximum(last - 1, 0)], _NEG)
    nll = -np.logaddexp(a_last, a_prev)                            # (N,)
    infinite = ~np.isfinite(nll)
    out = np.where(infinite, 0.0, nll) if zero_infinity else nll

    def backward(g):
        init = np.full(y.shape[1:], _NEG)
        y_end = y[end, n_idx]
        init[n_idx, last] = y_end[n_idx, last]
        init[has_label, last[has_label] - 1] = y_end[has_label, last[has_label] - 1]
        skip_next = _shift(skip.astype(float), -2) > 0             # skip s → s+2 allowed
        beta = np.full(y.shape, _NEG)
        for t in range(T - 1, -1, -1):
            if t < T - 1:
                nxt = beta[t + 1]
                step = y[t] + _lse3(nxt, _shift(nxt, -1),
                                    np.where(skip_next, _shift(nxt, -2), _NEG))
            else:
                step = np.full(y.shape[1:], _NEG)
            beta[t] = np.where((t == end)[:, None], init, np.where((t < end)[:, None], step, _NEG))
        with np.errstate(invalid="ignore"):
            gamma = np.exp(alpha + beta - y + nll[None, :, None])      # (T, N, S') occupation
        gamma = np.nan_to_num(gamma, nan=0.0) if zero_infinity else gamma
        onehot = (ext[:, :, None] == np.arange(lp.shape[2])).astype(np.float64)   # (N, S', C)
        grad = -np.matmul(gamma.transpose(1, 0, 2), onehot).transpose(1, 0, 2)  # (T, N, C)
        scale = to_host(g).astype(np.float64)
        if zero_infinity:
            scale = np.where(infinite, 0.0, scale)
            grad[:, infinite] = 0.0
        return (to_device((grad * scale[None, :, None]).astype(dtype), device),)
    return make(to_device(out.astype(dtype), device), (log_probs,), backward, "CTCLossBackward")
