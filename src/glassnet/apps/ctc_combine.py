r"""Combining K CTC models by whole strings: the mixture's probability of a label string,
and the best of the members' own best strings under it.

A mixture of K models gives a string ℓ the probability

    P(ℓ | x) = (1/K) Σ_k p_k(ℓ | x),   p_k(ℓ | x) = Σ over the alignments of ℓ of Π_t p_t^(k),

each p_k exact (the CTC forward recursion, :func:`string_log_probs`). Averaging frame
posteriors instead (:func:`glassnet.apps.speech_ctc_ensemble.average_log_probs`) is a
different model: members that put one label's spike on neighbouring frames split it there,
and the average is unsure of a string every member is sure of. The mixture does not care
where a member puts its spikes.

The argmax of P over all strings is not tractable; :func:`combine_strings` takes it over the
members' own best strings (each member's beam search), the usual candidate set of a
sequence-level combination (ROVER's hypotheses, rescored by the whole ensemble).

    >>> strings, probs = combine_strings([lps_member0, lps_member1], [best0, best1])
"""
from __future__ import annotations

import numpy as np

from ..nn.functional import ctc_loss
from ..tensor import Tensor, no_grad

__all__ = ["string_log_probs", "combine_strings"]


def string_log_probs(log_probs, strings, blank: int = 0) -> np.ndarray:
    """log p(ℓ_i | x_i) of one string per utterance under one model's CTC outputs, exact
    (``F.ctc_loss`` with ``reduction='none'``, in float64; −inf where ℓ_i cannot fit).

    Shape:
        log_probs: N arrays (T_i, C) of log-probabilities; strings: N label lists (labels
        in [0, C), never ``blank``); output: (N,) float64.

    Example:
        >>> string_log_probs([np.log([[.4, .6], [.6, .4]])], [[1]])      # p = .76
        array([-0.27443685])
    """
    lps = [np.asarray(lp, np.float64) for lp in log_probs]
    strings = [[int(k) for k in s] for s in strings]
    if len(lps) != len(strings):
        raise ValueError(f"string_log_probs: expected one string per utterance, got "
                         f"{len(strings)} strings for {len(lps)} utterances")
    if not lps:
        return np.zeros(0)
    if any(lp.ndim != 2 or lp.shape[1] != lps[0].shape[1] or not len(lp) for lp in lps):
        raise ValueError(f"string_log_probs(log_probs): expected (T_i, C) arrays with one C "
                         f"and T_i >= 1, got shapes {sorted({lp.shape for lp in lps})}")
    c = lps[0].shape[1]
    if any(k == blank or not 0 <= k < c for s in strings for k in s):
        raise ValueError(f"string_log_probs(strings): expected labels in [0, {c}) other than "
                         f"the blank {blank}")
    t_max, s_max = max(len(lp) for lp in lps), max(1, max(len(s) for s in strings))
    batch = np.zeros((t_max, len(lps), c))
    targets = np.full((len(lps), s_max), 1 if blank == 0 else 0, np.int64)
    for n, (lp, s) in enumerate(zip(lps, strings)):
        batch[:len(lp), n] = lp
        targets[n, :len(s)] = s
    with no_grad():
        nll = ctc_loss(Tensor(batch), targets, [len(lp) for lp in lps],
                       [len(s) for s in strings], blank=blank, reduction="none").array
    return -np.asarray(nll, np.float64)


def combine_strings(member_log_probs, member_strings, blank: int = 0):
    """Per utterance, the members' best strings rescored by the mixture: the candidate with
    the highest P(ℓ | x) = (1/K) Σ_k p_k(ℓ | x) (ties: the earliest member's string), and
    that P.

    Args:
        member_log_probs: K lists of N arrays (T_i, C): each member's outputs per utterance
            (the same T_i for every member).
        member_strings: K lists of N label lists: each member's own best strings.
        blank: the blank class.

    Returns:
        ``(strings, probs)``: N label lists and (N,) float64 probabilities in [0, 1].

    Example:
        >>> a = [np.log([[.1, .9], [.9, .1]])]; b = [np.log([[.6, .4], [.6, .4]])]
        >>> combine_strings([a, b], [[[1]], [[]]])    # P([1]) = (.91 + .64)/2 > P([]) = .19
        ([[1]], array([0.775]))
    """
    k = len(member_log_probs)
    if not k or len(member_strings) != k:
        raise ValueError(f"combine_strings: expected the outputs and the best strings of at "
                         f"least one member, got {k} outputs and {len(member_strings)} string "
                         f"lists")
    n = len(member_log_probs[0])
    if any(len(x) != n for x in (*member_log_probs, *member_strings)):
        raise ValueError(f"combine_strings: expected {n} utterances from every member, got "
                         f"{[len(x) for x in member_log_probs]} outputs and "
                         f"{[len(x) for x in member_strings]} strings")
    cands = []                                  # (utterance, candidate) pairs, member order
    for i in range(n):
        seen = []
        for strings in member_strings:
            s = [int(c) for c in strings[i]]
            if s not in seen:
                seen.append(s)
        cands.append(seen)
    rows = [(i, s) for i, seen in enumerate(cands) for s in seen]
    per_member = np.stack([string_log_probs([lps[i] for i, _ in rows], [s for _, s in rows],
                                            blank) for lps in member_log_probs])
    top = per_member.max(axis=0)
    safe = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        mix = safe + np.log(np.exp(per_member - safe).mean(axis=0))     # log P, per row
    out, probs, r = [], np.zeros(n), 0
    for i, seen in enumerate(cands):
        best = int(np.argmax(mix[r:r + len(seen)]))
        out.append(seen[best])
        probs[i] = float(np.exp(mix[r + best]))
        r += len(seen)
    return out, probs
