"""``einsum``: Einstein summation, forward by ``np.einsum``, backward by ``einsum`` again.

For ``out = einsum("ij,jk->ik", A, B)`` the gradient of operand ``A`` is the einsum of the
upstream gradient with the *other* operands, written to ``A``'s letters:
``dA = einsum("ik,jk->ij", g, B)``. Two cases need more than that one call:

* a letter that only ``A`` has (summed away inside ``A``, as ``j`` in ``"ij->i"``): every
  element along it gets the same gradient, so the result is broadcast along it;
* a letter repeated inside ``A`` (a diagonal or trace, ``"ii->i"``, ``"ii"``): the gradient is
  computed for the distinct letters and written onto that diagonal, zeros elsewhere.

``...`` becomes fresh letters (operands are first broadcast to a common ``...`` shape with the
differentiable ``expand``, so size-1 dims there get summed gradients).
"""
import string

import numpy as np

from ..backend import xp_of
from ..errors import ArgumentError
from ..tensor import Tensor, make
from ._util import same_device
from .shape import expand

__all__ = ["einsum"]


def _parse(equation: str, operands: tuple):
    """Explicit letters for every operand and the output (``...`` expanded)."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ArgumentError(f"einsum({equation!r}): {len(terms)} operand(s) in the equation, "
                            f"got {len(operands)} tensor(s)")
    for t in terms + ([rhs] if arrow else []):
        bad = set(t.replace("...", "")) - set(string.ascii_letters)
        if bad or t.replace("...", "").count(".") or t.count("...") > 1:
            raise ArgumentError(f"einsum({equation!r}): subscripts must be letters with at most "
                                f"one '...' per operand, got {t!r}")
    used = set(eq)
    spare = [c for c in string.ascii_letters if c not in used]
    ell_nd = 0
    for t, x in zip(terms, operands):
        letters = len(t.replace("...", ""))
        if ("..." in t and letters > x.ndim) or ("..." not in t and letters != x.ndim):
            raise ArgumentError(f"einsum({equation!r}): operand {t!r} has {letters} subscripts "
                                f"for a tensor of shape {x.shape}")
        if "..." in t:
            ell_nd = max(ell_nd, x.ndim - letters)
    ell = "".join(spare[:ell_nd])
    out_terms = []
    for t, x in zip(terms, operands):
        if "..." in t:
            k = x.ndim - len(t.replace("...", ""))
            t = t.replace("...", ell[ell_nd - k:])
        out_terms.append(t)
    if arrow:
        if "..." in rhs:
            rhs = rhs.replace("...", ell)
        if len(set(rhs)) != len(rhs) or set(rhs) - set("".join(out_terms)):
            raise ValueError(f"einsum({equation!r}): output subscripts must be distinct letters "
                             f"that appear in the operands")
    else:
        counts = {c: "".join(out_terms).count(c) for c in set("".join(out_terms))}
        rhs = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return out_terms, rhs, ell


def einsum(equation: str, *operands) -> Tensor:
    """Sum of products over the letters of ``equation``, like ``torch.einsum``:
    ``einsum("ij,jk->ik", a, b)`` is ``a @ b``, ``einsum("ii", a)`` the trace,
    ``einsum("bij,bjk->bik", a, b)`` a batched matmul. Operands may also come as one list.
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum(equation): expected a string, got {type(equation).__name__}")
    if not all(isinstance(x, Tensor) for x in operands):
        raise TypeError("einsum(): expected Tensor operands")
    same_device("einsum", *operands)
    terms, rhs, ell = _parse(equation, operands)
    sizes = {}
    if ell:                                # broadcast the '...' dims to one shape
        for t, x in zip(terms, operands):
            for c, n in zip(t, x.shape):
                if c in ell and n != 1 and sizes.setdefault(c, n) != n:
                    raise ArgumentError(f"einsum({equation!r}): the '...' dims of shapes "
                                        f"{[y.shape for y in operands]} do not broadcast")
        operands = tuple(_broadcast_ellipsis(x, t, ell, sizes) for t, x in zip(terms, operands))
    for t, x in zip(terms, operands):
        for c, n in zip(t, x.shape):
            if sizes.setdefault(c, n) != n:
                raise ArgumentError(f"einsum({equation!r}): subscript {c!r} has size {sizes[c]} "
                                    f"and {n} (operand shapes {[y.shape for y in operands]})")
    xp = xp_of(operands[0].array)
    data = [x.array for x in operands]
    spec = ",".join(terms) + "->" + rhs
    out = xp.asarray(xp.einsum(spec, *data))
    if out.dtype == bool and set("".join(terms)) - set(rhs):
        out = xp.asarray(xp.einsum(spec, *[d.astype(np.int64) for d in data]))  # sums count

    def backward(g):
        return tuple(_grad_of(i, g, terms, rhs, data, sizes) if x.requires_grad else None
                     for i, x in enumerate(operands))
    return make(out, tuple(operands), backward, "EinsumBackward")


def _broadcast_ellipsis(x: Tensor, term: str, ell: str, sizes: dict) -> Tensor:
    shape = tuple(sizes.get(c, 1) if c in ell else n for c, n in zip(term, x.shape))
    return x if shape == x.shape else expand(x, shape)


def _grad_of(i: int, g, terms: list, rhs: str, data: list, sizes: dict):
    """d<g, einsum(...)>/d operand i, as one more einsum (see the module docstring)."""
    xp = xp_of(g)
    target = terms[i]
    distinct = "".join(dict.fromkeys(target))          # letters in first-seen order
    others = [t for j, t in enumerate(terms) if j != i]
    avail = set(rhs).union(*others) if others else set(rhs)
    have = "".join(c for c in distinct if c in avail)
    spec = ",".join([rhs] + others) + "->" + have
    part = xp.einsum(spec, g, *[d for j, d in enumerate(data) if j != i])
    # letters only in operand i: broadcast along them
    shape = tuple(sizes[c] for c in distinct)
    part = xp.broadcast_to(part.reshape(tuple(sizes[c] if c in avail else 1
                                              for c in distinct)), shape)
    if distinct == target:
        return xp.array(part, dtype=data[i].dtype, order="C")  # (ascontiguousarray: 0-d -> 1-d)
    # a repeated letter: write onto the diagonal positions, zeros elsewhere
    grad = xp.zeros(data[i].shape, data[i].dtype)
    nd = len(distinct)
    idx = tuple(xp.arange(sizes[c]).reshape((1,) * distinct.index(c) + (-1,) +
                                            (1,) * (nd - 1 - distinct.index(c)))
                for c in target)
    grad[idx] = part
    return grad
