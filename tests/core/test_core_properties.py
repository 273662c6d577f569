"""Hypothesis: reductions over random dim subsets (keepdim on/off) and integer-array / mask
indexing with repeated indices, values + gradients vs PyTorch. Bounded examples, fast."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

from core_helpers import check_vs_torch

FAST = settings(max_examples=25, deadline=None)
SHAPES = array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4)

REDUCTIONS = {
    "sum": lambda L, x, d, k: x.sum(dim=d, keepdim=k),
    "mean": lambda L, x, d, k: x.mean(dim=d, keepdim=k),
    "var": lambda L, x, d, k: x.var(dim=d, keepdim=k, correction=0),
    "logsumexp": lambda L, x, d, k: L.logsumexp(x, dim=d, keepdim=k),
}


@st.composite
def shape_and_dims(draw):
    shape = draw(SHAPES)
    dims = draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True))
    dims = tuple(d - len(shape) if draw(st.booleans()) else d for d in dims)   # negative dims
    return shape, dims


def _values(seed, shape):
    return np.random.default_rng(seed).uniform(-2, 2, size=shape).astype(np.float32)


@FAST
@given(sd=shape_and_dims(), keep=st.booleans(), name=st.sampled_from(sorted(REDUCTIONS)),
       seed=st.integers(0, 2**32 - 1))
def test_reduction_over_dim_subsets(sd, keep, name, seed):
    shape, dims = sd
    fn = REDUCTIONS[name]
    check_vs_torch(lambda L, x: fn(L, x, dims, keep), _values(seed, shape))


@FAST
@given(shape=SHAPES, keep=st.booleans(), use_max=st.booleans(), data=st.data(),
       seed=st.integers(0, 2**32 - 1))
def test_max_min_over_one_dim(shape, keep, use_max, data, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = _values(seed, shape)
    check_vs_torch(lambda L, t: (t.max if use_max else t.min)(dim=dim, keepdim=keep)[0], x)


@FAST
@given(shape=SHAPES, data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_integer_array_index_with_repeats(shape, data, seed):
    idx = np.array(data.draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1,
                                      max_size=6)))
    x = _values(seed, shape)
    check_vs_torch(lambda L, t: t[L.const(idx)], x)
    if len(shape) >= 2:                                  # a second index array + a slice
        idx2 = np.random.default_rng(seed).integers(0, shape[1], size=idx.shape)
        check_vs_torch(lambda L, t: t[L.const(idx), L.const(idx2)] * 2, x)
        check_vs_torch(lambda L, t: t[:, L.const(idx2)], x)


@FAST
@given(shape=SHAPES, seed=st.integers(0, 2**32 - 1))
def test_boolean_mask_index(shape, seed):
    rng = np.random.default_rng(seed)
    x = _values(seed, shape)
    mask = rng.random(shape) < 0.5
    check_vs_torch(lambda L, t: t[L.const(mask)], x)
    rows = rng.random(shape[0]) < 0.5
    check_vs_torch(lambda L, t: t[L.const(rows)], x)
