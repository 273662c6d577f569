"""Edge cases of the issue-14 ops vs PyTorch: ties (sort, cummax, amax, topk), zeros (cumprod,
prod, scatter_reduce prod), NaN, empty tensors, integer dtypes, every scatter_reduce mode,
nonzero/where(cond), factories, and PyTorch's indexing rule under hypothesis."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from core_helpers import check_vs_torch, gradcheck

import glassnet as gn


def vnorm(L):
    """``norm`` of the framework (``glassnet.ops.norm`` is the normalisation module)."""
    return gn.norm if L.name.startswith("glassnet") else torch.norm

TIE = np.array([[1.0, 3.0, 3.0, 2.0, 3.0], [0.0, 0.0, -1.0, 0.0, 2.0]], np.float32)
ZEROS = np.array([[2.0, 0.0, 3.0, -1.5], [0.0, 1.5, 0.0, 2.0], [1.0, -2.0, 0.5, 3.0]])


def both(arr):
    return gn.tensor(arr), torch.tensor(arr)


def same(g, t):
    g = g.numpy() if isinstance(g, gn.Tensor) else np.asarray(g)
    t = t.detach().numpy()
    assert g.shape == t.shape and g.dtype == t.dtype, (g.shape, g.dtype, t.shape, t.dtype)
    np.testing.assert_allclose(g, t, rtol=1e-6, atol=1e-6, equal_nan=True)


# -- ties ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("desc", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_stable_sort_with_ties_matches_torch_values_and_indices(desc, dim):
    g, t = both(TIE)
    gs, ts = gn.sort(g, dim=dim, descending=desc, stable=True), torch.sort(
        t, dim=dim, descending=desc, stable=True)
    same(gs.values, ts.values)
    same(gs.indices, ts.indices)
    same(gn.argsort(g, dim, desc, stable=True), torch.argsort(t, dim=dim, descending=desc,
                                                               stable=True))


@pytest.mark.parametrize("op", ["cummax", "cummin"])
def test_cummax_cummin_ties_point_at_the_latest_like_torch(op):
    g, t = both(TIE)
    for dim in (0, 1):
        gv, tv = getattr(gn, op)(g, dim), getattr(torch, op)(t, dim)
        same(gv.values, tv.values)
        same(gv.indices, tv.indices)
    check_vs_torch(lambda L, a: getattr(L, op)(a, 1).values, TIE)


def test_cummax_and_sort_with_nan_like_torch():
    x = np.array([[1.0, np.nan, 3.0, 0.5], [2.0, 1.0, np.nan, np.nan]], np.float32)
    g, t = both(x)
    same(gn.cummax(g, 1).values, torch.cummax(t, 1).values)
    same(gn.cummax(g, 1).indices, torch.cummax(t, 1).indices)
    same(gn.cummin(g, 1).indices, torch.cummin(t, 1).indices)
    for desc in (False, True):
        same(gn.sort(g, 1, desc, stable=True).indices,
             torch.sort(t, dim=1, descending=desc, stable=True).indices)


@pytest.mark.parametrize("fn", [
    lambda L, a: L.amax(a, 1), lambda L, a: a.amin(dim=(0, 1)), lambda L, a: L.amax(a),
    lambda L, a: L.max(a, 1).values, lambda L, a: L.median(a, 1).values,
    lambda L, a: vnorm(L)(a, float("inf"), 1)])
def test_reductions_at_ties_share_or_route_the_gradient_like_torch(fn):
    check_vs_torch(fn, TIE)


def test_topk_and_kthvalue_at_ties_give_torch_values_and_a_tied_index():
    """Which of several equal elements PyTorch picks is unspecified: the values must match,
    the index must point at an element holding that value, and the gradient must go there."""
    g, t = both(TIE)
    for (gv, gi), (tv, _) in [(gn.topk(g, 2, 1), torch.topk(t, 2, 1)),
                              (gn.kthvalue(g, 2, 1, keepdim=True),
                               torch.kthvalue(t, 2, 1, keepdim=True))]:
        same(gv, tv)
        np.testing.assert_array_equal(np.take_along_axis(TIE, gi.numpy(), 1), gv.numpy())
    x = gn.tensor(TIE, requires_grad=True)
    vals, idx = gn.topk(x, 2, 1)
    vals.sum().backward()
    want = np.zeros_like(TIE)
    np.put_along_axis(want, idx.numpy(), 1.0, 1)
    np.testing.assert_array_equal(x.grad.numpy(), want)


# -- zeros: exact gradients without dividing by x ----------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda L, a: L.cumprod(a, 1), lambda L, a: a.cumprod(0), lambda L, a: L.prod(a),
    lambda L, a: a.prod(1), lambda L, a: L.prod(a, 0, keepdim=True)])
def test_cumprod_and_prod_with_zeros(fn):
    check_vs_torch(fn, ZEROS.astype(np.float32))
    gradcheck(fn, ZEROS)
    gradcheck(fn, np.where(ZEROS == 0, 0, 0) + np.array([[0.0, 0, 2, 1]] * 3))  # two zeros


def test_logcumsumexp_with_large_values_does_not_overflow():
    x = np.array([[1000.0, 999.0, -1000.0, 1000.0]], np.float32)
    # y ~ 1000 holds ~3e-5 absolute error in float32 (ulp 6e-5), so exp(x - y) in the
    # gradient is good to ~3e-5 relative at best; torch's float32 gradient is off by up to
    # 1e-3 for some upstreams, so the reference is torch in float64
    check_vs_torch(lambda L, a: L.logcumsumexp(a, 1), x, atol=1e-4, rtol=1e-4,
                   torch_float64=True)


# -- every scatter_reduce mode ----------------------------------------------------------------
INDEX = np.array([[0, 1, 0, 2], [1, 1, 2, 0]])


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
def test_scatter_reduce_every_mode(reduce, include_self):
    x = np.array([[1.0, -2.0, 0.5, 3.0], [0.0, 1.5, 2.0, -1.0], [2.0, 2.0, 1.0, 0.5]],
                 np.float32)
    src = np.array([[0.5, 2.0, 1.5, 3.0], [2.0, 0.0, 1.0, 1.0]], np.float32)
    tied = src.copy()
    if reduce in ("amax", "amin"):           # ties between self and src, as PyTorch shares them
        tied[0, 0] = x[0, 0]
    check_vs_torch(lambda L, a, s: L.scatter_reduce(a, 0, L.const(INDEX), s, reduce,
                                                    include_self=include_self), x, tied)
    gradcheck(lambda L, a, s: L.scatter_reduce(a, 1, L.const(INDEX[:, :3] % 3), s, reduce,
                                               include_self=include_self),
              x[:2].astype(np.float64), src[:, :3].astype(np.float64))


def test_scatter_reduce_prod_with_zero_contributors():
    x = np.array([[0.0, 2.0], [3.0, 0.0]], np.float32)
    src = np.array([[1.5, 0.0], [0.0, 2.0]], np.float32)
    check_vs_torch(lambda L, a, s: L.scatter_reduce(a, 0, L.const(np.array([[0, 1], [0, 1]])),
                                                    s, "prod"), x, src)


# -- empty tensors and integer dtypes ---------------------------------------------------------
EMPTY = [
    lambda L, a: L.cumsum(a, 0), lambda L, a: L.cumprod(a, 1), lambda L, a: L.sort(a, 0)[0],
    lambda L, a: L.flip(a, (0,)), lambda L, a: L.roll(a, 1, 1), lambda L, a: L.tril(a),
    lambda L, a: L.masked_select(a, L.const(np.zeros((0, 3), bool))),
    lambda L, a: L.index_select(a, 1, L.const(np.array([], np.int64))),
    lambda L, a: L.prod(a, 0), lambda L, a: L.logcumsumexp(a, 1), lambda L, a: a.t(),
    lambda L, a: L.einsum("ij->j", a), lambda L, a: L.cat(L.split(a, 2, 1), 1),
]


@pytest.mark.parametrize("i", range(len(EMPTY)))
def test_empty_tensors(i):
    check_vs_torch(EMPTY[i], np.zeros((0, 3), np.float32))


@pytest.mark.parametrize("fn", [
    lambda L, a: L.cumsum(a, 1), lambda L, a: L.cumprod(a, 0), lambda L, a: L.prod(a),
    lambda L, a: L.sort(a, 1)[0], lambda L, a: L.flip(a, [1]), lambda L, a: L.tril(a),
    lambda L, a: L.gather(a, 1, L.const(np.array([[0], [1]]))), lambda L, a: a.sum(dtype=L.float64),
    lambda L, a: L.amax(a, 0), lambda L, a: L.diagonal(a), lambda L, a: L.repeat_interleave(a, 2),
    lambda L, a: L.masked_fill(a, L.const(np.eye(2, 3) > 0), 7), lambda L, a: L.cummax(a, 1)[0]])
def test_integer_inputs_keep_torch_dtypes(fn):
    check_vs_torch(fn, np.array([[3, -1, 2], [0, 5, 5]], np.int64))


def test_sum_and_mean_dtype():
    x = np.array([[1, 2], [3, 4]], np.int32)
    same(gn.sum(gn.tensor(x), dtype=gn.float32), torch.sum(torch.tensor(x), dtype=torch.float32))
    same(gn.tensor(x).mean(dtype=gn.float64), torch.tensor(x).mean(dtype=torch.float64))
    with pytest.raises(TypeError, match="mean"):
        gn.tensor(x).mean()


# -- nonzero, where(cond), masks --------------------------------------------------------------
def test_nonzero_as_tuple_and_one_argument_where():
    x = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]], np.float32)
    g, t = both(x)
    same(gn.nonzero(g), torch.nonzero(t))
    same(g.nonzero(), t.nonzero())
    for a, b in zip(gn.nonzero(g, as_tuple=True), torch.nonzero(t, as_tuple=True)):
        same(a, b)
    for a, b in zip(gn.where(g > 0), torch.where(t > 0)):
        same(a, b)
    same(gn.argwhere(g), torch.argwhere(t))
    same(gn.nonzero(gn.zeros(2, 2)), torch.nonzero(torch.zeros(2, 2)))
    same(g[gn.where(g != 0)], t[torch.where(t != 0)])


def test_masked_fill_with_a_tensor_value_gets_its_gradient():
    mask = np.array([[True, False, True], [False, False, True]])
    check_vs_torch(lambda L, a, v: L.masked_fill(a, L.const(mask), v * 2),
                   np.ones((2, 3), np.float32), np.array(0.5, np.float32))


def test_where_three_arguments_still_works():
    check_vs_torch(lambda L, a, b: L.where(a > 0, a, b), np.float32([[1, -2]]), np.float32([3]))


# -- factories --------------------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda L: L.full((2, 3), 1.5), lambda L: L.full((2,), 7), lambda L: L.full((1, 2), True),
    lambda L: L.full((2, 2), 3, dtype=L.float64), lambda L: L.eye(3), lambda L: L.eye(2, 4),
    lambda L: L.linspace(-1, 2, 7), lambda L: L.linspace(0, 1, 1), lambda L: L.logspace(0, 2, 5),
    lambda L: L.logspace(0, 3, 4, base=2.0), lambda L: L.empty(2, 3), lambda L: L.empty((0, 2)),
    lambda L: L.full_like(L.ones(2, 3), 4.0), lambda L: L.empty_like(L.ones(2, dtype=L.int64)),
    lambda L: L.full_like(L.zeros(2), 2, dtype=L.int64), lambda L: L.eye(2, dtype=L.int64)])
def test_factories_match_torch(call):
    g, t = call(gn), call(torch)
    if any("empty" in n for n in call.__code__.co_names):       # values are unspecified in torch
        assert g.shape == tuple(t.shape) and g.dtype == t.numpy().dtype
        return
    same(g, t)


def test_random_factories_shape_dtype_range_and_seed():
    gn.manual_seed(0)
    a = gn.randint(3, 9, (4, 5))
    assert a.shape == (4, 5) and a.dtype == np.int64 and 3 <= a.numpy().min() <= a.numpy().max() < 9
    gn.manual_seed(0)
    assert np.array_equal(gn.randint(3, 9, (4, 5)).numpy(), a.numpy())
    assert gn.randint(4, size=(3,)).numpy().max() < 4
    x = gn.ones(2, 3, dtype=gn.float64)
    for f in (gn.randn_like, gn.rand_like):
        y = f(x)
        assert y.shape == (2, 3) and y.dtype == np.float64 and y.device == "cpu"
    assert gn.rand_like(x).numpy().min() >= 0
    assert gn.randint_like(x, 5).dtype == np.float64
    assert gn.full((2,), 1.0, device="cpu").device == "cpu"
    with pytest.raises(ValueError, match="randint"):
        gn.randint(5, 2, (3,))
    with pytest.raises(ValueError, match="full"):
        gn.full((2, -1), 0.0)


# -- PyTorch's indexing rule, under hypothesis ------------------------------------------------
@st.composite
def index_keys(draw):
    shape = (2, 3, 4)
    key = []
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "list", "none_slice"]))
        if kind == "int":
            key.append(draw(st.integers(-n, n - 1)))
        elif kind == "list":
            key.append(draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=3)))
        elif kind == "slice":
            key.append(slice(draw(st.integers(0, n - 1)), None, draw(st.integers(1, 2))))
        else:
            key += [None, slice(None)]
    lists = [k for k in key if isinstance(k, list)]
    if len({len(k) for k in lists}) > 1:          # index arrays must broadcast
        size = len(lists[0])
        key = [k[:1] * size if isinstance(k, list) else k for k in key]
    return tuple(key)


@settings(max_examples=60, deadline=None)
@given(key=index_keys())
def test_mixed_int_slice_list_indexing_matches_torch(key):
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7
    check_vs_torch(lambda L, a: a[key] * 2, x)


def _assign(L, a, v, key):
    out = a * 1
    out[key] = v
    return out * 2


SET_KEYS = [(0, slice(None), [0, 1]), ([0, 1], slice(None), 0), (1, [0, 2], slice(1, None)),
            (Ellipsis, 1, [0, 2]), (0, Ellipsis, [1, 2]), (1, slice(0, 3, 2), [True, False,
                                                                                 True, False]),
            (1, [0, 2], [1, 3]), (slice(None), 2, [[0], [3]])]


@pytest.mark.parametrize("key", SET_KEYS, ids=[str(k) for k in SET_KEYS])
def test_assignment_with_mixed_keys_follows_torch_values_and_gradients(key):
    """``x[key] = v`` with a key mixing ints and lists: PyTorch's layout for ``v``, and the
    gradients of both ``x`` and ``v``."""
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7
    shape = tuple(torch.zeros(2, 3, 4)[key].shape)
    v = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    check_vs_torch(lambda L, a, b: _assign(L, a, b, key), x, v)


def test_untracked_assignment_with_a_mixed_key_follows_torch():
    x, t = gn.zeros(2, 3, 4), torch.zeros(2, 3, 4)
    v = np.arange(6, dtype=np.float32).reshape(3, 2)
    x[0, :, [0, 1]] = gn.tensor(v)
    t[0, :, [0, 1]] = torch.tensor(v)
    same(x, t)


# -- var/std: PyTorch's two signatures --------------------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda L, a: L.std(a, 0, True), lambda L, a: L.var(a, 1, False, True),
    lambda L, a: a.std(1, False), lambda L, a: a.var(0, keepdim=True, correction=2),
    lambda L, a: L.std(a, False), lambda L, a: L.var(a, dim=None, unbiased=False),
    lambda L, a: L.var_mean(a, 1, True, True)[0], lambda L, a: L.std_mean(a, 0, False)[0]])
def test_var_std_positional_unbiased_keepdim_like_torch(fn):
    check_vs_torch(fn, np.random.default_rng(3).standard_normal((3, 4)).astype(np.float32))


def test_var_rejects_unbiased_with_correction():
    with pytest.raises(TypeError, match="var"):
        gn.var(gn.ones(3), 0, True, correction=0)
