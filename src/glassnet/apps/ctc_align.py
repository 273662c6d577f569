r"""Class-prior alignment of CTC outputs: reweigh a voice's frame posteriors so that every
label gets the same total posterior mass, for a new voice that says every label equally
often.

The CTC counterpart of :func:`glassnet.apps.speech_adapt.align_to_uniform`. A model that
systematically hears one digit where another was said puts too much posterior mass on it
over all of a voice's frames. With p_t(c) the frame posteriors of all the voice's
utterances (every output frame of every utterance, stacked), one weight per class w_c
(the blank's fixed at 1) gives

    q_t(c) = w_c·p_t(c) / Σ_c' w_c'·p_t(c')

and w is chosen so that every non-blank label has the same mass Σ_t q_t(c), and the
non-blank labels together the mass they had, Σ_t Σ_{c ≠ blank} p_t(c) (the blank keeps its
own). Sinkhorn's balancing of the (frames × classes) matrix finds it: scale the columns to
those masses, renormalise the rows, repeat; then divide w by the blank's weight (the row
renormalisation makes that the same q). Decoding (greedy, beam, the confidence
p(ℓ | x)) then reads log q in place of the model's log-probabilities.

No label is read: the weights are a function of the posteriors alone. The assumption is
the prior: the voice's utterances hold every label about equally often (FSDD-built
utterances do: each clip is drawn uniformly among the voice's recordings, 50 per digit).

    >>> log_q, w = align_ctc_priors(log_probs_of_every_utterance)
    >>> prefix_beam_search(log_q[0], 8)
"""
from __future__ import annotations

import numpy as np

__all__ = ["ctc_prior_weights", "reweight", "align_ctc_priors"]


def _stack(log_probs, where: str) -> tuple[list, np.ndarray]:
    """The utterances as float64 (T_i, C) arrays, and their frames stacked (ΣT_i, C)."""
    seqs = [log_probs] if isinstance(log_probs, np.ndarray) and log_probs.ndim == 2 \
        else list(log_probs)
    if not seqs:
        raise ValueError(f"{where}(log_probs): expected at least one (T, C) sequence, got none")
    seqs = [np.asarray(s, np.float64) for s in seqs]
    c = seqs[0].shape[-1] if seqs[0].ndim == 2 else 0
    for i, s in enumerate(seqs):
        if s.ndim != 2 or s.shape[1] != c or c < 2:
            raise ValueError(f"{where}(log_probs): expected (T_i, C) log-probabilities with "
                             f"the same C >= 2 for every sequence, got shape {s.shape} at "
                             f"sequence {i}")
        if np.isnan(s).any() or np.isposinf(s).any() or \
                (len(s) and not np.isfinite(s.max(1)).all()):
            raise ValueError(f"{where}(log_probs): expected log-probabilities, got NaN, +inf "
                             f"or a frame with no finite value in sequence {i}")
    frames = np.concatenate(seqs)
    if not len(frames):
        raise ValueError(f"{where}(log_probs): expected at least one frame, got none")
    return seqs, frames


def ctc_prior_weights(log_probs, *, blank: int = 0, iters: int = 1000,
                      tol: float = 1e-6) -> np.ndarray:
    """The class weights w (w[blank] = 1) that give every non-blank class the same total
    posterior mass over all frames, keeping the non-blank total (see the module docstring).

    Args:
        log_probs: one (T, C) array or a list of (T_i, C) arrays: log-probabilities (rows
            log-sum to 0; every frame of every utterance of the voice, no padding).
        blank: the blank class.
        iters: at most this many Sinkhorn rounds.
        tol: stop when every class's mass is within ``tol`` (relative) of its target.

    Shape:
        output: (C,) float64, positive, ``w[blank] == 1``.

    Example:
        >>> lp = np.log([[.5, .5, 1e-9], [.5, 1e-9, .5], [.5, .3, .2]])  # masses 1.5, .8, .7
        >>> ctc_prior_weights(lp).round(3)              # label 1 down, label 2 up: .75 each
        array([1.   , 0.909, 1.112])
    """
    seqs, frames = _stack(log_probs, "ctc_prior_weights")
    c = frames.shape[1]
    if isinstance(blank, bool) or not isinstance(blank, (int, np.integer)) or not 0 <= blank < c:
        raise ValueError(f"ctc_prior_weights(blank={blank!r}): expected a class in [0, {c})")
    p = np.maximum(np.exp(frames - frames.max(1, keepdims=True)), 1e-30)
    p /= p.sum(1, keepdims=True)
    mass = p.sum(0)
    non_blank = len(p) - mass[blank]
    target = np.full(c, non_blank / (c - 1))
    target[blank] = mass[blank]
    target = np.maximum(target, 1e-30)
    w = np.ones(c)
    for _ in range(iters):
        q = p * w
        q /= q.sum(1, keepdims=True)
        got = q.sum(0)
        if np.abs(got / target - 1).max() < tol:
            break
        w *= target / np.maximum(got, 1e-300)
    return w / w[blank]


def reweight(log_probs, weights) -> np.ndarray:
    """log q = log p + log w − logsumexp(log p + log w) per frame.

    Shape:
        log_probs: (T, C) (or (..., C)); weights: (C,) positive; output: like log_probs,
        float64.

    Example:
        >>> np.exp(reweight(np.log([[.5, .5]]), [1.0, 3.0]))
        array([[0.25, 0.75]])
    """
    lp = np.asarray(log_probs, np.float64)
    w = np.asarray(weights, np.float64)
    if w.ndim != 1 or lp.shape[-1:] != w.shape or not (w > 0).all() \
            or not np.isfinite(w).all():
        raise ValueError(f"reweight(weights): expected {lp.shape[-1:]} positive finite "
                         f"weights, one per class, got {w.tolist()}")
    z = lp + np.log(w)
    m = z.max(-1, keepdims=True)
    return z - (m + np.log(np.exp(z - m).sum(-1, keepdims=True)))


def align_ctc_priors(log_probs, *, blank: int = 0, iters: int = 1000,
                     tol: float = 1e-6) -> tuple[list, np.ndarray]:
    """Every sequence's aligned log-probabilities log q and the weights
    (:func:`ctc_prior_weights`, :func:`reweight`).

    Shape:
        log_probs: a list of (T_i, C) arrays; output: (a list of (T_i, C) float64 arrays,
        (C,) weights).

    Example:
        >>> log_q, w = align_ctc_priors([lp_utt0, lp_utt1])
    """
    seqs, _ = _stack(log_probs, "align_ctc_priors")
    w = ctc_prior_weights(seqs, blank=blank, iters=iters, tol=tol)
    return [reweight(s, w) for s in seqs], w
