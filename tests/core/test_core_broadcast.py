"""Hypothesis: broadcasting shape pairs for the binary ops, values + gradients vs PyTorch.

Shapes come from ``mutually_broadcastable_shapes`` (0 to 4 dims, sides up to 4, including
size-1 and missing leading dims); values come from a seeded NumPy generator so each example
is cheap. ``max_examples`` is bounded so the file runs in a few seconds.
"""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

from core_helpers import check_vs_torch

FAST = settings(max_examples=30, deadline=None)
PAIRS = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4)
TRIPLES = mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=4, max_side=4)
SEEDS = st.integers(0, 2**32 - 1)

BINARY = {
    "add": lambda L, a, b: L.add(a, b),
    "sub": lambda L, a, b: a - b,
    "mul": lambda L, a, b: L.mul(a, b),
    "div": lambda L, a, b: a / b,
    "maximum": lambda L, a, b: L.maximum(a, b),
    "minimum": lambda L, a, b: L.minimum(a, b),
}


def _values(seed, shape, away=0.0):
    x = np.random.default_rng(seed).uniform(-2, 2, size=shape)
    if away:
        x = np.where(np.abs(x) < away, np.copysign(away, x) + x, x)
    return np.asarray(x, dtype=np.float32)


def _binary_test(name):
    fn = BINARY[name]

    @FAST
    @given(shapes=PAIRS, seed=SEEDS)
    def test(shapes, seed):
        a_shape, b_shape = shapes.input_shapes
        a = _values(seed, a_shape)
        b = _values(seed + 1, b_shape, away=0.25 if name == "div" else 0.0)
        out = check_vs_torch(fn, a, b)
        assert out.shape == shapes.result_shape

    test.__name__ = f"test_broadcast_{name}"
    return test


for _name in BINARY:
    globals()[f"test_broadcast_{_name}"] = _binary_test(_name)


@FAST
@given(shapes=TRIPLES, seed=SEEDS)
def test_broadcast_where(shapes, seed):
    c_shape, a_shape, b_shape = shapes.input_shapes
    cond = np.random.default_rng(seed).random(c_shape) < 0.5
    out = check_vs_torch(lambda L, a, b: L.where(L.const(cond), a, b),
                         _values(seed + 1, a_shape), _values(seed + 2, b_shape))
    assert out.shape == shapes.result_shape


@FAST
@given(shapes=mutually_broadcastable_shapes(signature="(m?,n),(n,p?)->(m?,p?)",
                                            max_dims=4, max_side=4), seed=SEEDS)
def test_broadcast_matmul(shapes, seed):
    a_shape, b_shape = shapes.input_shapes
    out = check_vs_torch(lambda L, a, b: L.matmul(a, b),
                         _values(seed, a_shape), _values(seed + 1, b_shape))
    assert out.shape == shapes.result_shape
