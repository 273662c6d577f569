"""More of PyTorch's tensor API vs PyTorch: joining (hstack ... block_diag, kron, tensordot),
re-viewing (unflatten, select, rot90, diff, broadcast_*), index_add/copy/fill, aminmax,
nansum/nanmean, quantile, mode, counting and searching, the ``*_as``/``new_*`` methods, and the
randperm/tril_indices factories. Values and gradients; float64 differences for the
differentiable ones."""
import numpy as np
import pytest
import torch
from core_helpers import check_vs_torch, gradcheck
from test_core_ops import make_inputs

import glassnet as gn

A, B3 = (3, 4), (2, 3, 4)


def joined(L, parts):
    return L.cat([p.reshape(-1) * (i + 1) for i, p in enumerate(parts)])


CASES = [
    ("hstack", lambda L, a, b: L.hstack([a, b]), [A, (3, 2)]),
    ("hstack_1d", lambda L, a, b: L.hstack((a, b)), [(3,), (2,)]),
    ("vstack", lambda L, a, b: L.vstack([a, b]), [(4,), A]),
    ("row_stack", lambda L, a, b: L.row_stack([a, b]), [A, A]),
    ("dstack", lambda L, a, b: L.dstack([a, b]), [A, A]),
    ("column_stack", lambda L, a, b: L.column_stack([a, b]), [(3,), A]),
    ("atleast_2d", lambda L, a: L.atleast_2d(a) * 2, [(3,)]),
    ("atleast_3d", lambda L, a, b: joined(L, L.atleast_3d(a, b)), [(3,), A]),
    ("atleast_1d_0d", lambda L, a: L.atleast_1d(a) * 2, [()]),
    ("broadcast_to", lambda L, a: L.broadcast_to(a, (2, 3, 4)), [(3, 1)]),
    ("broadcast_tensors", lambda L, a, b: joined(L, L.broadcast_tensors(a, b)), [(3, 1), (4,)]),
    ("unflatten", lambda L, a: L.unflatten(a, 1, (2, 2)), [A]),
    ("unflatten_neg", lambda L, a: a.unflatten(-1, (2, -1)), [B3]),
    ("select", lambda L, a: L.select(a, 1, -1), [B3]),
    ("select_method", lambda L, a: a.select(0, 1), [B3]),
    ("ravel", lambda L, a: L.ravel(a.transpose(0, 1)), [A]),
    ("rot90", lambda L, a: L.rot90(a), [A]),
    ("rot90_k2", lambda L, a: L.rot90(a, 2, (1, 2)), [B3]),
    ("rot90_k3_neg", lambda L, a: a.rot90(-1, [0, 1]), [A]),
    ("diff", lambda L, a: L.diff(a), [A]),
    ("diff_n2_dim0", lambda L, a: a.diff(n=2, dim=0), [(4, 3)]),
    ("diff_prepend", lambda L, a, p: L.diff(a, dim=1, prepend=p), [A, (3, 1)]),
    ("block_diag", lambda L, a, b, c: L.block_diag(a, b, c), [(2, 3), (3,), (1, 2)]),
    ("cartesian_prod", lambda L, a, b: L.cartesian_prod(a, b), [(3,), (2,)]),
    ("tensordot", lambda L, a, b: L.tensordot(a, b, dims=1), [A, (4, 2)]),
    ("tensordot_2", lambda L, a, b: L.tensordot(a, b), [B3, (3, 4, 2)]),
    ("tensordot_pairs", lambda L, a, b: L.tensordot(a, b, ([0, 2], [1, 0])), [B3, (4, 2)]),
    ("kron", lambda L, a, b: L.kron(a, b), [(2, 3), (2, 2)]),
    ("kron_mixed", lambda L, a, b: L.kron(a, b), [(3,), (2, 2)]),
    ("index_add", lambda L, a, s: L.index_add(a, 1, L.const(np.array([0, 2, 0])), s), [A, (3, 3)]),
    ("index_add_alpha", lambda L, a, s: a.index_add(0, L.const(np.array([2])), s, alpha=2.5),
     [A, (1, 4)]),
    ("index_copy", lambda L, a, s: L.index_copy(a, 1, L.const(np.array([3, 0])), s),
     [A, (3, 2)]),
    ("index_fill", lambda L, a: L.index_fill(a, 0, L.const(np.array([2, 0])), -1.0), [A]),
    ("aminmax", lambda L, a: L.aminmax(a, dim=1).min * L.aminmax(a, dim=1).max, [B3]),
    ("aminmax_all", lambda L, a: L.aminmax(a)[0] + L.aminmax(a)[1], [A]),
    ("nansum", lambda L, a: L.nansum(a, 1), [A]),
    ("nanmean", lambda L, a: a.nanmean(dim=0), [A]),
    ("quantile", lambda L, a: L.quantile(a, 0.3, dim=1), [B3]),
    ("quantile_all", lambda L, a: L.quantile(a, 0.75), [A]),
    ("quantile_tensor_q", lambda L, a: L.quantile(a, L.const(np.array([0.1, 0.5, 1.0],
                                                                      np.float32)),
                                                   dim=-1, keepdim=True), [B3]),
    ("quantile_lower", lambda L, a: a.quantile(0.4, 0, interpolation="lower"), [A]),
    ("quantile_higher", lambda L, a: a.quantile(0.4, 0, interpolation="higher"), [A]),
    ("quantile_midpoint", lambda L, a: a.quantile(0.4, 1, interpolation="midpoint"), [A]),
    ("quantile_nearest", lambda L, a: a.quantile(0.6, 1, interpolation="nearest"), [A]),
    ("expand_as", lambda L, a, b: a.expand_as(b) * b, [(3, 1), A]),
    ("view_as", lambda L, a, b: a.view_as(b) * b, [(12,), A]),
    ("reshape_as", lambda L, a, b: a.reshape_as(b) + b, [(2, 6), A]),
    ("type_as", lambda L, a, b: a.type_as(b) * 2, [A, A]),
    ("mT", lambda L, a: a.mT * 2, [B3]),
    ("where_method", lambda L, a, b: a.where(a > 0, b), [A, A]),
    ("hsplit", lambda L, a: joined(L, L.hsplit(a, 3)), [B3]),
    ("hsplit_idx", lambda L, a: joined(L, a.hsplit([1])), [B3]),
    ("vsplit", lambda L, a: joined(L, L.vsplit(a, [1, 2])), [A]),
    ("dsplit", lambda L, a: joined(L, a.dsplit(2)), [B3]),
    ("hsplit_1d", lambda L, a: joined(L, L.hsplit(a, 3)), [(6,)]),
    ("diagflat", lambda L, a: L.diagflat(a), [(2, 2)]),
    ("diagflat_offset", lambda L, a: a.diagflat(-1), [(3,)]),
    ("dist", lambda L, a, b: L.dist(a, b), [A, (4,)]),
    ("dist_p1", lambda L, a, b: a.dist(b, 1), [("away", A), A]),
    ("cdist", lambda L, a, b: L.cdist(a, b), [(3, 4), (5, 4)]),
    ("cdist_p1_batched", lambda L, a, b: L.cdist(a, b, p=1.0), [(2, 3, 4), ("away", (2, 2, 4))]),
    ("cov", lambda L, a: L.cov(a), [A]),
    ("cov_1d_biased", lambda L, a: L.cov(a, correction=0), [(5,)]),
    ("corrcoef", lambda L, a: a.corrcoef(), [A]),
    ("pad_circular", lambda L, a: L.pad(a, (1, 2), mode="circular"), [B3]),
    ("pad_circular_2d", lambda L, a: L.pad(a, (1, 1, 2, 0), mode="circular"), [(1, 2, 3, 4)]),
    ("pad_circular_crop", lambda L, a: L.pad(a, (-1, 2, 0, 1), mode="circular"), [B3]),
    ("keyword_sizes", lambda L, a: a.permute(dims=(1, 0)).reshape(shape=(2, 6))
     .view(size=(6, 2)).expand(size=(2, 6, 2)).repeat(repeats=(1, 1, 2)), [A]),
    ("torch_keyword_sizes", lambda L, a: L.permute(a, dims=(1, 0)) * L.reshape(a, shape=(4, 3)),
     [A]),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name,fn,specs", CASES, ids=IDS)
def test_matches_torch(name, fn, specs):
    check_vs_torch(fn, *make_inputs(specs, np.float32))


@pytest.mark.parametrize("name,fn,specs", CASES, ids=IDS)
def test_gradcheck_float64(name, fn, specs):
    if name == "type_as":
        pytest.skip("float64 input cast to float64: nothing to check beyond test_matches_torch")
    gradcheck(fn, *make_inputs(specs, np.float64))


def same(g, t):
    g, t = np.asarray(g.numpy()), t.detach().numpy()
    assert g.shape == t.shape and g.dtype == t.dtype, (g.shape, g.dtype, t.shape, t.dtype)
    np.testing.assert_allclose(g, t, rtol=1e-6, atol=1e-6, equal_nan=True)


def test_mode_values_indices_and_gradient():
    x = np.array([[1, 2, 2, 3], [4, 4, 1, 1], [0, 5, 5, 5]], np.float32)
    g, t = gn.mode(gn.tensor(x), 1), torch.mode(torch.tensor(x), 1)
    same(g.values, t.values)
    same(g.indices, t.indices)
    check_vs_torch(lambda L, a: L.mode(a, 0, keepdim=True).values, x.T.copy())


def test_nan_reductions_and_quantile_with_nan_free_ties():
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, 2.0]], np.float32)
    check_vs_torch(lambda L, a: L.nansum(a, 1) + L.nanmean(a, 1), x)
    check_vs_torch(lambda L, a: L.quantile(a, 0.5, dim=1), np.float32([[1, 1, 2], [3, 3, 3]]))


@pytest.mark.parametrize("call", [
    lambda L: L.count_nonzero(L.tensor([[0.0, 1.0], [2.0, 0.0]])),
    lambda L: L.count_nonzero(L.tensor([[0, 1, 3], [2, 0, 0]]), dim=1),
    lambda L: L.bincount(L.tensor([0, 2, 2, 5])),
    lambda L: L.bincount(L.tensor([0, 2, 2]), minlength=5),
    lambda L: L.bincount(L.tensor([0, 2, 2]), weights=L.tensor([0.5, 1.0, 2.0])),
    lambda L: L.unique(L.tensor([3, 1, 3, 2])),
    lambda L: L.unique(L.tensor([[3, 1], [3, 2]]), return_inverse=True, return_counts=True),
    lambda L: L.unique(L.tensor([[1, 2], [1, 2], [0, 5]]), dim=0, return_inverse=True),
    lambda L: L.searchsorted(L.tensor([1, 3, 5, 7]), L.tensor([0, 3, 6, 9])),
    lambda L: L.searchsorted(L.tensor([1, 3, 5, 7]), L.tensor([3, 7]), right=True),
    lambda L: L.searchsorted(L.tensor([[1, 3, 5], [2, 4, 6]]), L.tensor([[3, 6], [1, 7]]),
                             side="right"),
    lambda L: L.bucketize(L.tensor([0.5, 3.0, 6.0]), L.tensor([1.0, 3.0, 5.0])),
    lambda L: L.bucketize(L.tensor([0.5, 3.0, 6.0]), L.tensor([1.0, 3.0, 5.0]), right=True),
    lambda L: L.histc(L.tensor([1.0, 2.0, 1.0, 4.0]), bins=4, min=0, max=3),
    lambda L: L.histc(L.tensor([1.0, 2.0, 1.0, 4.0]), bins=3),
    lambda L: L.tril_indices(3, 4, 1), lambda L: L.triu_indices(4, 3, -1),
    lambda L: L.tril_indices(3, 3), lambda L: L.triu_indices(2, 5, 2),
    lambda L: L.broadcast_shapes((3, 1), (1, 4), (2, 1, 1)),
    lambda L: L.tensor([[1.0, 2.0]]).new_zeros(2, 3), lambda L: L.tensor([1, 2]).new_ones((3,)),
    lambda L: L.tensor([1.0]).new_full((2, 2), 7.0),
    lambda L: L.tensor([1.0], dtype=L.float64).new_tensor([[1, 2]]),
    lambda L: L.tensor([1.5]).is_floating_point(), lambda L: L.is_floating_point(L.tensor([1])),
    lambda L: L.tensor([1.5]).is_complex(), lambda L: L.zeros(2, 3).ndimension(),
    lambda L: L.zeros(2, 3).nelement()])
def test_integer_valued_and_helper_ops_match_torch(call):
    g, t = call(gn), call(torch)
    if isinstance(t, (tuple, list)) and not isinstance(t, torch.Size):
        for a, b in zip(g, t):
            same(a, b)
    elif isinstance(t, (bool, int, torch.Size)):
        assert tuple(g) == tuple(t) if isinstance(t, torch.Size) else g == t
    else:
        same(g, t)


def test_randperm_is_a_seeded_permutation():
    gn.manual_seed(3)
    p = gn.randperm(10)
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(10))
    gn.manual_seed(3)
    assert gn.randperm(10).tolist() == p.tolist()
    assert gn.randperm(0).shape == (0,)
    with pytest.raises(ValueError, match="randperm"):
        gn.randperm(-1)


@pytest.mark.parametrize("call,exc,word", [
    (lambda: gn.unflatten(gn.zeros(2, 6), 1, (4, 2)), ValueError, "unflatten"),
    (lambda: gn.select(gn.zeros(2, 3), 1, 3), IndexError, "select"),
    (lambda: gn.rot90(gn.zeros(3), 1), ValueError, "rot90"),
    (lambda: gn.tensordot(gn.zeros(2, 3), gn.zeros(4, 2), 3), ValueError, "tensordot"),
    (lambda: gn.index_add(gn.zeros(2, 3), 1, gn.tensor([0, 3]), gn.zeros(2, 2)), IndexError,
     "index_add"),
    (lambda: gn.index_copy(gn.zeros(2, 3), 1, gn.tensor([0]), gn.zeros(2, 2)), ValueError,
     "index_copy"),
    (lambda: gn.bincount(gn.tensor([-1, 2])), ValueError, "bincount"),
    (lambda: gn.searchsorted(gn.tensor([[1, 2]]), gn.tensor([1, 2, 3])), ValueError,
     "searchsorted"),
    (lambda: gn.quantile(gn.zeros(3), 1.5), ValueError, "quantile"),
    (lambda: gn.broadcast_tensors(gn.zeros(2), gn.zeros(3)), ValueError, "broadcast_tensors"),
    (lambda: gn.zeros(3).mT, ValueError, "mT"),
    (lambda: gn.pad(gn.zeros(2, 3), (4, 0), mode="circular"), ValueError, "circular")])
def test_bad_arguments_name_the_op(call, exc, word):
    with pytest.raises(exc, match=word):
        call()


def test_bernoulli_multinomial_normal_follow_their_distributions():
    """Random draws cannot equal PyTorch's: shapes, dtypes, supports and frequencies."""
    gn.manual_seed(1)
    p = gn.tensor(np.array([0.0, 0.25, 1.0], np.float32)).repeat(4000, 1)
    b = gn.bernoulli(p)
    assert b.shape == (4000, 3) and b.dtype == np.float32
    freq = b.numpy().mean(axis=0)
    assert freq[0] == 0 and freq[2] == 1 and abs(freq[1] - 0.25) < 0.03
    assert abs(gn.zeros(5000).bernoulli(0.7).numpy().mean() - 0.7) < 0.03
    w = gn.tensor([[1.0, 0.0, 3.0], [0.0, 2.0, 2.0]])
    draws = gn.multinomial(w, 4000, replacement=True)
    assert draws.shape == (2, 4000) and draws.dtype == np.int64
    counts = np.stack([np.bincount(r, minlength=3) for r in draws.numpy()]) / 4000
    np.testing.assert_allclose(counts, [[0.25, 0, 0.75], [0, 0.5, 0.5]], atol=0.03)
    no_rep = w.multinomial(2).numpy()
    assert sorted(no_rep[0].tolist()) == [0, 2] and sorted(no_rep[1].tolist()) == [1, 2]
    n = gn.normal(gn.full((20000,), 2.0), 0.5)
    assert n.shape == (20000,) and abs(n.numpy().mean() - 2) < 0.02
    assert abs(n.numpy().std() - 0.5) < 0.02
    assert gn.normal(0.0, 1.0, (2, 3)).shape == (2, 3)
    gn.manual_seed(7)
    a = gn.multinomial(gn.ones(10), 3).tolist()
    gn.manual_seed(7)
    assert gn.multinomial(gn.ones(10), 3).tolist() == a
    with pytest.raises(ValueError, match="multinomial"):
        gn.multinomial(w, 3)
    with pytest.raises(ValueError, match="bernoulli"):
        gn.bernoulli(gn.tensor([1.5]))
