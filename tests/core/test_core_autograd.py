"""Autograd engine behaviour: graph depth, accumulation, retain_graph, no_grad, detach,
shared gradient buffers, graph freeing, memory over a training loop, dtype rules."""
import gc
import tracemalloc
import weakref

import numpy as np
import pytest
import torch

import glassnet as gn


def leaf(*shape, dtype=np.float32, seed=0):
    data = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return gn.tensor(data, requires_grad=True)


# -- depth -----------------------------------------------------------------------------------
def test_chain_of_100k_ops_backward_without_recursion():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    y = x
    for _ in range(100_000):            # neg: the cheapest op, so the test stays fast
        y = -y
    (y * 3).sum().backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad.array, [3.0, 3.0])
    np.testing.assert_array_equal(y.array, [1.0, 2.0])
    del y                               # dropping a retained 100k-deep graph must not crash
    gc.collect()


# -- accumulation and retain_graph -----------------------------------------------------------
def test_gradients_accumulate_until_zeroed():
    x = leaf(3)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.array, 4 * x.array, rtol=1e-6)
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.array, [3, 3, 3])


def test_backward_twice_without_retain_graph_raises():
    x = leaf(3)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = leaf(3)
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    first = x.grad.array.copy()
    y.backward()
    np.testing.assert_allclose(x.grad.array, 2 * first, rtol=1e-6)
    np.testing.assert_allclose(first, 2 * np.exp(x.array), rtol=1e-6)


def test_shared_subgraph_second_root_after_free_raises():
    x = leaf(3)
    h = x.exp()
    h.sum().backward()                 # frees h's graph
    with pytest.raises(RuntimeError, match="retain_graph"):
        (h * 2).sum().backward()


# -- grad modes and detach -------------------------------------------------------------------
def test_no_grad_records_nothing():
    x = leaf(3)
    with gn.no_grad():
        y = (x * 2).exp().sum()
        assert not gn.is_grad_enabled()
        with gn.enable_grad():
            z = x * 2
    assert gn.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf and y._parents == ()
    assert z.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_no_grad_as_decorator():
    @gn.no_grad()
    def f(t):
        return t * 2
    @gn.no_grad
    def g(t):
        return t * 2

    @gn.enable_grad
    def h(t):
        return t * 2
    x = leaf(3)
    assert not f(x).requires_grad
    assert not f(x).requires_grad              # reusable
    assert not g(x).requires_grad              # bare decorator, as in torch 2
    with gn.no_grad():
        assert h(x).requires_grad
    assert gn.is_grad_enabled()


def test_detach_cuts_the_graph_and_shares_data():
    x = leaf(3)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    y = (x * d).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.array, 2 * x.array, rtol=1e-6)   # d is a constant
    e = x.detach()
    assert np.shares_memory(e.array, x.array)


def test_non_scalar_backward_needs_gradient():
    x = leaf(2, 3)
    y = x * 2
    with pytest.raises(RuntimeError, match="scalar outputs.*gradient="):
        y.backward()
    with pytest.raises(ValueError, match=r"expected shape \(2, 3\)"):
        y.backward(gradient=np.ones(3, np.float32))
    y.backward(gradient=np.full((2, 3), 0.5, np.float32))
    np.testing.assert_allclose(x.grad.array, np.ones((2, 3)))


def test_requires_grad_only_for_floats():
    with pytest.raises(TypeError, match="floating"):
        gn.tensor([1, 2], requires_grad=True)


# -- leaves and shared buffers ---------------------------------------------------------------
def test_leaf_used_twice():
    x = leaf(4)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.array, 2 * x.array, rtol=1e-6)
    y = leaf(4, seed=1)
    (y + y).sum().backward()
    np.testing.assert_array_equal(y.grad.array, np.full(4, 2.0))


def test_leaves_receiving_the_same_array_get_independent_grads():
    a, b = leaf(3), leaf(3, seed=1)
    (a + b).backward(gradient=np.ones(3, np.float32))    # AddBackward hands g to both
    assert not np.shares_memory(a.grad.array, b.grad.array)
    a.grad.array += 100
    np.testing.assert_array_equal(b.grad.array, np.ones(3))


def test_leaf_grad_does_not_alias_the_seed_or_a_retained_grad():
    x = leaf(3)
    h = x.clone()
    h.retain_grad()
    seed = np.ones(3, np.float32)
    h.backward(gradient=seed)
    assert not np.shares_memory(x.grad.array, seed)
    assert not np.shares_memory(x.grad.array, h.grad.array)
    x.grad.array += 1
    np.testing.assert_array_equal(h.grad.array, np.ones(3))
    np.testing.assert_array_equal(seed, np.ones(3))


def test_retain_grad_matches_torch():
    data = np.random.default_rng(3).standard_normal((2, 3)).astype(np.float32)
    out = {}
    for name, lib in (("gn", gn), ("torch", torch)):
        x = lib.tensor(data, requires_grad=True)
        h = (x * x).sum(1)
        h.retain_grad()
        (h.exp().sum()).backward()
        out[name] = (np.asarray(h.grad.array if name == "gn" else h.grad.numpy()),
                     np.asarray(x.grad.array if name == "gn" else x.grad.numpy()))
    for g, t in zip(out["gn"], out["torch"]):
        np.testing.assert_allclose(g, t, rtol=1e-5)


# -- freeing the graph and memory ------------------------------------------------------------
def test_graph_is_freed_after_backward():
    x = leaf(10)
    h = x.exp()
    ref = weakref.ref(h)
    loss = (h * 2).sum()
    del h
    gc.collect()
    assert ref() is not None           # the graph keeps the intermediate alive
    loss.backward()
    gc.collect()
    assert ref() is None, "intermediate tensor still referenced after backward"
    assert loss._parents == ()


def test_memory_stays_flat_over_2000_training_steps():
    rng = np.random.default_rng(0)
    w = gn.tensor(rng.standard_normal((32, 16)).astype(np.float32) * 0.1, requires_grad=True)
    b = gn.tensor(np.zeros(16, np.float32), requires_grad=True)
    x = gn.tensor(rng.standard_normal((8, 32)).astype(np.float32))
    target = gn.tensor(rng.standard_normal((8, 16)).astype(np.float32))

    def step():
        pred = (x @ w + b).tanh()
        loss = ((pred - target) ** 2).mean()
        loss.backward()
        with gn.no_grad():
            w.array -= 0.01 * w.grad.array
            b.array -= 0.01 * b.grad.array
        w.grad = b.grad = None
        return loss.item()

    tracemalloc.start()
    try:
        for _ in range(200):
            step()
        gc.collect()
        base, _ = tracemalloc.get_traced_memory()
        for _ in range(1800):
            last = step()
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.isfinite(last)
    assert after - base < 64 * 1024, f"memory grew by {after - base} bytes over 1800 steps"


def test_kept_losses_do_not_keep_their_graphs():
    """``history.append(loss)`` after backward must keep only the value (~0.2 KB), not the
    graph (~7 KB per step here)."""
    rng = np.random.default_rng(1)
    w = gn.tensor(rng.standard_normal((32, 16)).astype(np.float32), requires_grad=True)
    x = gn.tensor(rng.standard_normal((8, 32)).astype(np.float32))
    history = []
    tracemalloc.start()
    try:
        gc.collect()
        base, _ = tracemalloc.get_traced_memory()
        for _ in range(300):
            loss = ((x @ w).tanh() ** 2).mean()
            loss.backward()
            w.grad = None
            history.append(loss)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    per_step = (after - base) / len(history)
    assert per_step < 1024, f"each kept loss holds {per_step:.0f} bytes (graph not freed?)"


# -- dtype rules -----------------------------------------------------------------------------
DTYPE_CASES = [
    ("float list", lambda L: L.tensor([1.0, 2.0])),
    ("int list", lambda L: L.tensor([1, 2])),
    ("float * python float", lambda L: L.tensor([1.0, 2.0]) * 2.5),
    ("python int - float", lambda L: 3 - L.tensor([1.0, 2.0])),
    ("float ** python int", lambda L: L.tensor([1.0, 2.0]) ** 2),
    ("int + python float", lambda L: L.tensor([1, 2]) + 0.5),
    ("int * python int", lambda L: L.tensor([1, 2]) * 3),
    ("int / int", lambda L: L.tensor([1, 2]) / L.tensor([2, 2])),
    ("int + float tensor", lambda L: L.tensor([1, 2]) + L.tensor([0.5, 1.0])),
    ("float64 * python float", lambda L: L.tensor(np.array([1.0, 2.0])) * 2.5),
    ("float64 + float32", lambda L: L.tensor(np.array([1.0])) + L.tensor([1.0])),
    ("float64 exp.sum", lambda L: L.tensor(np.array([1.0, 2.0])).exp().sum()),
    ("float64 mean/var", lambda L: L.tensor(np.array([1.0, 2.0])).var() + 1),
    ("int sum", lambda L: L.tensor([[1, 2], [3, 4]]).sum(0)),
    ("float32 numpy", lambda L: L.tensor(np.ones(2, np.float32)) * np.float64(2.0)),
    ("float64 softmax", lambda L: L.tensor(np.array([[1.0, 2.0]])).softmax(-1)),
    ("float64 matmul", lambda L: L.tensor(np.ones((2, 2))) @ L.tensor(np.ones(2))),
    ("float32 + 0-d float64", lambda L: L.tensor([1.0, 2.0]) + L.tensor(np.array(2.0))),
    ("0-d float64 * float32", lambda L: L.tensor(np.array(2.0)) * L.tensor([1.0, 2.0])),
    ("0-d float64 + 0-d float32", lambda L: L.tensor(np.array(2.0)) + L.tensor(1.0)),
    ("int exp", lambda L: L.tensor([1, 2]).exp()),
    ("int log", lambda L: L.tensor([1, 2]).log()),
    ("int sqrt", lambda L: L.tensor([1, 4]).sqrt()),
    ("int sigmoid", lambda L: L.tensor([1, -2]).sigmoid()),
    ("int tanh", lambda L: L.tensor([1, -2]).tanh()),
    ("int logsumexp", lambda L: L.tensor([[1, 2]]).logsumexp(1)),
    ("int abs", lambda L: L.tensor([1, -2]).abs()),
    ("int relu", lambda L: L.tensor([1, -2]).relu()),
    ("int ** 2", lambda L: L.tensor([1, -2]) ** 2),
    ("int max", lambda L: L.tensor([1, -2]).max()),
    ("bool sum", lambda L: L.tensor([True, False, True]).sum()),
]


@pytest.mark.parametrize("name,fn", DTYPE_CASES, ids=[c[0] for c in DTYPE_CASES])
def test_dtype_promotion_matches_torch(name, fn):
    got, want = fn(gn), fn(torch)
    assert str(got.dtype) == str(want.dtype).replace("torch.", ""), name


def test_int_inputs_to_float_ops_give_float32_values():
    x = gn.tensor([1, -2])
    np.testing.assert_allclose(x.sigmoid().array, 1 / (1 + np.exp([-1.0, 2.0])), rtol=1e-6)
    np.testing.assert_allclose(x.exp().array, np.exp([1.0, -2.0]), rtol=1e-6)
    with pytest.raises(TypeError, match="var"):
        x.var()


def test_zero_dim_float64_operand_keeps_float32_and_gets_its_grad():
    x = leaf(3)
    s = gn.tensor(np.array(2.0), requires_grad=True)
    y = x * s
    assert y.dtype == np.float32
    y.sum().backward()
    assert s.grad.dtype == np.float64
    np.testing.assert_allclose(s.grad.array, x.array.sum(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.array, [2, 2, 2])


def test_float64_stays_float64_through_backward():
    x = gn.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    assert x.dtype == np.float64
    y = (x.sigmoid() * 2 + x ** 2).log_softmax(-1).mean()
    assert y.dtype == np.float64
    y.backward()
    assert x.grad.dtype == np.float64


def test_factories_default_to_float32():
    assert gn.zeros(2, 3).dtype == np.float32
    assert gn.ones((2,)).dtype == np.float32
    assert gn.randn(2).dtype == np.float32
    assert gn.rand(2).dtype == np.float32
    assert gn.arange(3).dtype == np.int64
    assert gn.arange(0.0, 1.0, 0.5).dtype == np.float32


def test_numpy_operands_on_either_side():
    x = leaf(2, 3)
    m = np.ones((3, 2), np.float32)
    for y in (m.T + x, x * m.T, m.T - x, m @ x, x @ m):
        assert isinstance(y, gn.Tensor) and y.requires_grad and y.dtype == np.float32
    (m @ x).sum().backward()
    np.testing.assert_allclose(x.grad.array, m.T @ np.ones((3, 3)))


def test_manual_seed_makes_factories_reproducible():
    gn.manual_seed(123)
    a, b = gn.randn(3, 2), gn.rand(4)
    gn.manual_seed(123)
    np.testing.assert_array_equal(a.array, gn.randn(3, 2).array)
    np.testing.assert_array_equal(b.array, gn.rand(4).array)
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(gn.randn(2, generator=g1).array, gn.randn(2, generator=g2).array)
    with pytest.raises(TypeError, match="manual_seed"):
        gn.manual_seed(1.5)


def test_tensor_copies_and_from_numpy_shares():
    arr = np.ones(3, np.float32)
    t, f = gn.tensor(arr), gn.from_numpy(arr)
    arr[0] = 5
    assert t.array[0] == 1 and f.array[0] == 5
    assert gn.zeros_like(gn.tensor(np.ones(2))).dtype == np.float64
