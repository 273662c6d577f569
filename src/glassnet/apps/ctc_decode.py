r"""Decoding CTC outputs into label sequences: greedy (best path) and prefix beam search.

Greedy: take the most likely class at every frame, merge repeats, drop blanks. Fast, and
exact when one path dominates, but it scores paths, not label sequences: p(l) sums over
every alignment of l, and the sequence of the single best path is not always the most
likely sequence.

Prefix beam search (Hannun et al. 2014, without a language model) keeps the ``beam_width``
best label prefixes; each prefix ℓ carries two log-probabilities, of the alignments so far
that end in a blank (p_b) and in ℓ's last label (p_nb). At frame t, for a class k:

    k = blank:            p_b(ℓ)    += (p_b(ℓ) + p_nb(ℓ)) · y_t(blank)
    k = last label of ℓ:  p_nb(ℓ)   += p_nb(ℓ) · y_t(k)           (repeat merges)
                          p_nb(ℓ+k) += p_b(ℓ) · y_t(k)            (needs a blank between)
    other k:              p_nb(ℓ+k) += (p_b(ℓ) + p_nb(ℓ)) · y_t(k)

(in log space: += is logaddexp and · is +). With ``beam_width`` large enough it returns the
most likely label sequence.
"""
from __future__ import annotations

import numpy as np

from ..backend import to_host
from ..tensor import Tensor

__all__ = ["greedy_decode", "prefix_beam_search"]


def _as_array(log_probs, name: str) -> np.ndarray:
    arr = np.asarray(to_host(log_probs.array) if isinstance(log_probs, Tensor) else log_probs,
                     np.float64)
    if arr.ndim not in (2, 3) or arr.shape[-1] < 1 or arr.shape[0] < 1:
        raise ValueError(f"{name}(log_probs): expected (T, C) or (T, N, C) with T, C >= 1, "
                         f"got shape {arr.shape}")
    return arr


def greedy_decode(log_probs, lengths=None, blank: int = 0) -> list:
    """Best-path decoding: argmax per frame, merge repeats, drop blanks.

    Args:
        log_probs: (T, C) for one sequence or (T, N, C) for a batch (probabilities or log
            probabilities: only the argmax matters). A Tensor or an array.
        lengths: (N,) frames to read per sequence (default: all T).
        blank: the blank class.

    Returns:
        A list of labels for (T, C); a list of N lists for (T, N, C).

    Example:
        >>> greedy_decode(np.log([[.1, .9], [.1, .9], [.9, .1], [.2, .8]]))   # 1 1 _ 1
        [1, 1]
    """
    arr = _as_array(log_probs, "greedy_decode")
    single = arr.ndim == 2
    best = arr.argmax(-1)                                   # (T,) or (T, N)
    best = best[:, None] if single else best
    T, N = best.shape
    lens = np.full(N, T) if lengths is None else np.asarray(lengths, np.int64).reshape(-1)
    if lens.shape != (N,) or (lens < 0).any() or (lens > T).any():
        raise ValueError(f"greedy_decode(lengths): expected {N} values in [0, {T}], got "
                         f"{np.asarray(lengths).tolist()}")
    keep = np.ones_like(best, bool)
    keep[1:] = best[1:] != best[:-1]                        # first frame of each run
    keep &= best != blank
    out = [best[:lens[n], n][keep[:lens[n], n]].tolist() for n in range(N)]
    return out[0] if single else out


def _add(beams: dict, prefix: tuple, pb: float = -np.inf, pnb: float = -np.inf) -> None:
    """beams[prefix] (log p_b, log p_nb) += (pb, pnb), in log space."""
    ob, onb = beams.get(prefix, (-np.inf, -np.inf))
    beams[prefix] = (np.logaddexp(ob, pb), np.logaddexp(onb, pnb))


def prefix_beam_search(log_probs, beam_width: int = 8, blank: int = 0,
                       length: int | None = None) -> tuple[list, float]:
    """The most likely label sequence under the CTC model, searched with a beam of prefixes.

    Args:
        log_probs: (T, C) log-probabilities of one sequence.
        beam_width: prefixes kept after each frame (>= 1).
        blank: the blank class.
        length: frames to read (default: all T).

    Returns:
        ``(labels, log_p)``: the best prefix and its log-probability log p(labels | x)
        (exact when no better prefix fell off the beam).

    Example:
        >>> prefix_beam_search(np.log([[.6, .4], [.6, .4]]), beam_width=4)[0]   # p(1) = .64
        [1]
    """
    arr = _as_array(log_probs, "prefix_beam_search")
    if arr.ndim != 2:
        raise ValueError(f"prefix_beam_search(log_probs): expected one sequence (T, C), got "
                         f"shape {arr.shape}")
    if not isinstance(beam_width, int) or isinstance(beam_width, bool) or beam_width < 1:
        raise ValueError(f"prefix_beam_search(beam_width={beam_width!r}): expected an int >= 1")
    T, C = arr.shape
    if not 0 <= blank < C:
        raise ValueError(f"prefix_beam_search(blank={blank}): expected a class in [0, {C})")
    arr = arr[:T if length is None else length]
    neg = -np.inf
    beams = {(): (0.0, neg)}                                # prefix -> (log p_b, log p_nb)
    for y in arr:
        nxt: dict = {}
        for prefix, (pb, pnb) in beams.items():
            total = np.logaddexp(pb, pnb)
            _add(nxt, prefix, pb=total + y[blank])
            last = prefix[-1] if prefix else None
            for k in range(C):
                if k == blank:
                    continue
                if k == last:
                    _add(nxt, prefix, pnb=pnb + y[k])
                    _add(nxt, prefix + (k,), pnb=pb + y[k])
                else:
                    _add(nxt, prefix + (k,), pnb=total + y[k])
        ranked = sorted(nxt.items(), key=lambda kv: -np.logaddexp(*kv[1]))
        beams = dict(ranked[:beam_width])
    best, (pb, pnb) = max(beams.items(), key=lambda kv: np.logaddexp(*kv[1]))
    return list(best), float(np.logaddexp(pb, pnb))
