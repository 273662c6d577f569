"""Plain CTC references for the tests: one sample at a time, straight from the definition.

``ctc_nll_ref`` runs the forward recursion of ``ctc.py`` with two nested loops (time,
position) on Python floats; ``ctc_nll_bruteforce`` sums p(path) over every path of C^T
frames whose collapse (merge repeats, drop blanks) is the target — the definition itself,
for tiny T and C. The fast kernel in ``ctc.py`` must agree with both.
"""
import itertools
import math

import numpy as np

__all__ = ["ctc_nll_ref", "ctc_nll_bruteforce", "collapse"]


def _logadd(*xs):
    m = max(xs)
    if m == -math.inf:
        return -math.inf
    return m + math.log(sum(math.exp(x - m) for x in xs))


def ctc_nll_ref(log_probs, target, blank: int = 0) -> float:
    """−log p(target | x) of one sample: ``log_probs`` (T, C), ``target`` a list of labels."""
    lp = np.asarray(log_probs, np.float64)
    ext = [blank]
    for k in target:
        ext += [int(k), blank]
    T, S = lp.shape[0], len(ext)
    alpha = [-math.inf] * S
    alpha[0] = lp[0, blank]
    if S > 1:
        alpha[1] = lp[0, ext[1]]
    for t in range(1, T):
        new = [-math.inf] * S
        for s in range(S):
            terms = [alpha[s]]
            if s >= 1:
                terms.append(alpha[s - 1])
            if s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]:
                terms.append(alpha[s - 2])
            new[s] = lp[t, ext[s]] + _logadd(*terms)
        alpha = new
    ends = [alpha[-1]] + ([alpha[-2]] if S > 1 else [])
    return -_logadd(*ends)


def collapse(path, blank: int = 0) -> list:
    """Merge repeated labels, then drop blanks: (a, a, b, blank, b) → (a, b, b)."""
    out, prev = [], None
    for k in path:
        if k != prev and k != blank:
            out.append(int(k))
        prev = k
    return out


def ctc_nll_bruteforce(log_probs, target, blank: int = 0) -> float:
    """−log Σ_{paths π: collapse(π) = target} Π_t p_t(π_t), enumerating all C^T paths."""
    lp = np.asarray(log_probs, np.float64)
    T, C = lp.shape
    total = 0.0
    for path in itertools.product(range(C), repeat=T):
        if collapse(path, blank) == list(target):
            total += math.exp(sum(lp[t, k] for t, k in enumerate(path)))
    return -math.log(total) if total > 0 else math.inf
