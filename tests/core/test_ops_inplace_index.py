"""In-place forms of the indexing ops (masked_fill_, scatter_ ..., fill_diagonal_, tril_) vs
PyTorch: the same tensor object, values and gradients through the in-place change."""
import numpy as np
import pytest
import torch
from core_helpers import check_vs_torch, rand

import glassnet as gn

IDX = np.array([[1], [3], [0]])
MASK = np.array([[True, False, True, False], [False, False, True, True], [True] * 4])


def inplace(method, *args, **kwargs):
    def fn(L, a, *rest):
        out = a * 1                                  # a non-leaf, so it may change in place
        res = getattr(out, method)(*[r if not callable(r) else r(L, rest) for r in args],
                                   **kwargs)
        assert res is out, f"{method} must return the tensor itself"
        return out * 2
    return fn


def src(L, rest):
    return rest[0]


CASES = [
    ("masked_fill_", inplace("masked_fill_", lambda L, r: L.const(MASK), -1.5), [(3, 4)]),
    ("scatter_value", inplace("scatter_", 1, lambda L, r: L.const(IDX), 1.0), [(3, 4)]),
    ("scatter_src", inplace("scatter_", 1, lambda L, r: L.const(IDX), src), [(3, 4), (3, 1)]),
    ("scatter_add_", inplace("scatter_add_", 0, lambda L, r: L.const(np.array([[2, 0, 1, 1]])),
                             src), [(3, 4), (1, 4)]),
    ("scatter_reduce_", inplace("scatter_reduce_", 1, lambda L, r: L.const(IDX), src, "prod"),
     [(3, 4), (3, 1)]),
    ("index_add_", inplace("index_add_", 0, lambda L, r: L.const(np.array([2, 2])), src,
                           alpha=0.5), [(3, 4), (2, 4)]),
    ("index_copy_", inplace("index_copy_", 1, lambda L, r: L.const(np.array([3, 1])), src),
     [(3, 4), (3, 2)]),
    ("index_fill_", inplace("index_fill_", 1, lambda L, r: L.const(np.array([0, 2])), 7.0),
     [(3, 4)]),
    ("tril_", inplace("tril_", 1), [(3, 4)]),
    ("triu_", inplace("triu_"), [(2, 3, 4)]),
    ("cumsum_", inplace("cumsum_", 1), [(3, 4)]),
    ("cumprod_", inplace("cumprod_", 0), [(3, 4)]),
    ("fill_diagonal_", inplace("fill_diagonal_", 3.0), [(3, 4)]),
    ("fill_diagonal_wrap", inplace("fill_diagonal_", 3.0, wrap=True), [(7, 3)]),
]


@pytest.mark.parametrize("name,fn,shapes", CASES, ids=[c[0] for c in CASES])
def test_inplace_index_ops_match_torch(name, fn, shapes):
    check_vs_torch(fn, *[rand(*s) for s in shapes])


def test_one_hot_idiom_and_leaf_rules():
    labels = gn.tensor([2, 0, 1])
    y = gn.zeros(3, 4).scatter_(1, labels.unsqueeze(1), 1.0)
    want = torch.zeros(3, 4).scatter_(1, torch.tensor([2, 0, 1]).unsqueeze(1), 1.0)
    np.testing.assert_array_equal(y.numpy(), want.numpy())
    w = gn.zeros(2, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="masked_fill_"):
        w.masked_fill_(gn.tensor([[True, False], [False, True]]), 1.0)
    with gn.no_grad():
        w.masked_fill_(gn.tensor([[True, False], [False, True]]), 1.0)
    assert w.requires_grad and w.numpy().trace() == 2.0
    with pytest.raises(ValueError, match="fill_diagonal_"):
        gn.zeros(2, 3, 4).fill_diagonal_(1.0)
