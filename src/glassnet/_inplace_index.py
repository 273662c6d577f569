"""In-place forms of the indexing and triangle ops, as in PyTorch: ``masked_fill_``,
``scatter_`` (the one-hot idiom ``y.scatter_(1, labels, 1.0)``), ``scatter_add_``,
``scatter_reduce_``, ``index_add_``/``index_copy_``/``index_fill_``, ``fill_diagonal_``,
``tril_``/``triu_``, ``cumsum_``/``cumprod_``.

Each computes the ordinary op on the tensor as it was and writes the result back through
``tensor._apply_inplace`` (same tensor object, version + 1, graph kept), like ``_inplace.py``.
"""
import numpy as np

from . import ops
from .backend import xp_of
from .tensor import Tensor, _apply_inplace


def _method(name: str, op):
    def method(self, *args, **kwargs):
        return _apply_inplace(self, lambda s: op(s, *args, **kwargs), f"{name}()")
    method.__name__ = name
    method.__doc__ = f"In place: ``self = {op.__name__}(self, ...)``; returns self."
    return method


def _diagonal_mask(t: Tensor, wrap: bool):
    """Where ``fill_diagonal_`` writes: ``(i, i, ..., i)``; with ``wrap`` a tall matrix
    starts again every ``cols + 1`` rows, as NumPy's ``fill_diagonal``."""
    if t.ndim < 2 or (t.ndim > 2 and len(set(t.shape)) != 1):
        raise ValueError(f"fill_diagonal_(): expected a 2-D tensor or one with all dims equal, "
                         f"got shape {t.shape}")
    mask = np.zeros(t.shape, bool)
    np.fill_diagonal(mask, True, wrap=wrap)
    xp = xp_of(t.array)
    return mask if xp is np else xp.asarray(mask)


def fill_diagonal_(self, fill_value, wrap: bool = False):
    """Write ``fill_value`` on the main diagonal in place (``wrap``: continue below a tall
    matrix's first square, as NumPy)."""
    mask = _diagonal_mask(self, wrap)
    return _apply_inplace(self, lambda s: ops.masked_fill(s, Tensor(mask), fill_value),
                          "fill_diagonal_()")


_methods = {name: _method(name, getattr(ops, name[:-1])) for name in (
    "masked_fill_", "scatter_", "scatter_add_", "scatter_reduce_", "index_add_",
    "index_copy_", "index_fill_", "tril_", "triu_", "cumsum_", "cumprod_")}
_methods["fill_diagonal_"] = fill_diagonal_
for _name, _fn in _methods.items():
    if not hasattr(Tensor, _name):            # another module's own definition wins
        setattr(Tensor, _name, _fn)
