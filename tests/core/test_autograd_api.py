"""The autograd API as PyTorch teaches it, against torch: grad_fn/next_functions, is_leaf,
retain_grad, Tensor.register_hook, autograd.grad/backward, grad modes, dtype methods and the
error classes."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassnet as gn
import glassnet.nn.functional as F
from glassnet.errors import ShapeError

RNG = np.random.default_rng(1)
X = RNG.standard_normal((4, 3)).astype(np.float32)
W = RNG.standard_normal((3, 2)).astype(np.float32)
B = RNG.standard_normal(2).astype(np.float32)


def _both(fn):
    """Run fn(module) with glassnet and with torch."""
    return fn(gn), fn(torch)


def _leaves(node, seen=None):
    """The variables of the AccumulateGrad nodes reachable from a grad_fn."""
    seen = [] if seen is None else seen
    for nxt, idx in node.next_functions:
        assert idx == 0
        if nxt is None:
            continue
        if hasattr(nxt, "variable"):
            if all(v is not nxt.variable for v in seen):
                seen.append(nxt.variable)
        else:
            _leaves(nxt, seen)
    return seen


def test_grad_fn_walks_to_the_leaves_like_torch():
    def run(m):
        x = m.tensor(X)
        w, b = m.tensor(W, requires_grad=True), m.tensor(B, requires_grad=True)
        y = (x @ w + b).tanh()
        loss = (y * y).mean()
        found = _leaves(loss.grad_fn)
        return loss, y, w, b, x, found
    (gl, gy, gw, gb, gx, gfound), (tl, ty, tw, tb, tx, tfound) = _both(run)
    assert gl.grad_fn.name() == tl.grad_fn.name() == "MeanBackward0"
    assert gy.grad_fn.name() == ty.grad_fn.name() == "TanhBackward0"
    assert len(gfound) == len(tfound) == 2
    assert {id(v) for v in gfound} == {id(gw), id(gb)}
    for m_x, m_w in ((gx, gw), (tx, tw)):
        assert m_x.grad_fn is None and m_w.grad_fn is None           # leaves
    acc = gl.grad_fn.next_functions[0][0].next_functions[0][0]        # y*y <- tanh
    assert acc == gy.grad_fn and acc.name() == "TanhBackward0"
    assert "TanhBackward0" in repr(acc)


def test_is_leaf_and_requires_grad_like_torch():
    def run(m):
        a = m.tensor(X)                       # no grad: a leaf
        w = m.tensor(W, requires_grad=True)   # a leaf that requires grad
        h = a @ w                             # a node
        d = h.detach()                        # cut off: a leaf
        with m.no_grad():
            n = a @ w                         # made under no_grad: a leaf
        return [(t.is_leaf, t.requires_grad) for t in (a, w, h, d, n)]
    g, t = _both(run)
    assert g == t


def test_retain_grad_like_torch():
    def run(m):
        w = m.tensor(W, requires_grad=True)
        h = m.tensor(X) @ w
        h.retain_grad()
        z = h.sigmoid()
        z.retain_grad()
        (z * z).sum().backward()
        return h.grad.numpy().copy(), z.grad.numpy().copy(), w.grad.numpy().copy(), \
            h.retains_grad
    g, t = _both(run)
    for a, b in zip(g[:3], t[:3]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert g[3] is t[3] is True
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        gn.tensor(X).retain_grad()


def test_register_hook_on_leaf_and_non_leaf_like_torch():
    def run(m):
        seen = []
        w = m.tensor(W, requires_grad=True)
        h = m.tensor(X) @ w
        hh = h.register_hook(lambda g: g * 2)                      # replaces the gradient
        w.register_hook(lambda g: seen.append(g.numpy().copy()))  # observes only
        removed = w.register_hook(lambda g: g * 100)
        removed.remove()
        (h.tanh() ** 2).sum().backward()
        hh.remove()
        return w.grad.numpy().copy(), seen
    (gw, gseen), (tw, tseen) = _both(run)
    np.testing.assert_allclose(gw, tw, rtol=1e-5, atol=1e-6)
    assert len(gseen) == len(tseen) == 1
    np.testing.assert_allclose(gseen[0], tseen[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        gn.tensor(X).register_hook(lambda g: g)


def test_hook_changes_retained_grad_like_torch():
    def run(m):
        w = m.tensor(W, requires_grad=True)
        h = m.tensor(X) @ w
        h.retain_grad()
        h.register_hook(lambda g: g + 1)
        h.sum().backward()
        return h.grad.numpy().copy(), w.grad.numpy().copy()
    g, t = _both(run)
    np.testing.assert_allclose(g[0], t[0])
    np.testing.assert_allclose(g[1], t[1], rtol=1e-6)


def test_autograd_grad_matches_torch():
    def run(m):
        x = m.tensor(X, requires_grad=True)
        w = m.tensor(W, requires_grad=True)
        h = x @ w
        out = (h.sigmoid() * m.tensor(B)).sum(1)
        gout = m.tensor(np.arange(4, dtype=np.float32))
        gx, gw, gh = m.autograd.grad(out, (x, w, h), grad_outputs=gout, retain_graph=True)
        (gs,) = m.autograd.grad(out.sum(), [w])
        return [t.numpy().copy() for t in (gx, gw, gh, gs)] + [x.grad, w.grad]
    g, t = _both(run)
    for a, b in zip(g[:4], t[:4]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert g[4] is None and g[5] is None and t[4] is None and t[5] is None   # .grad untouched


def test_autograd_grad_unused_and_errors():
    for m in (gn, torch):
        x = m.tensor(X, requires_grad=True)
        u = m.tensor(W, requires_grad=True)
        y = (x * 2).sum()
        with pytest.raises(RuntimeError, match="not have been used in the graph"):
            m.autograd.grad(y, [x, u], retain_graph=True)
        gx, gu = m.autograd.grad(y, [x, u], allow_unused=True, retain_graph=True)
        assert gu is None
        np.testing.assert_allclose(gx.numpy(), 2 * np.ones_like(X))
        with pytest.raises(RuntimeError, match="does not require grad"):
            m.autograd.grad(y, [m.tensor(X)])
    with pytest.raises(NotImplementedError, match="create_graph"):
        gn.autograd.grad((gn.tensor(X, requires_grad=True) ** 2).sum(),
                         gn.tensor(X, requires_grad=True), create_graph=True)


def test_autograd_backward_several_outputs_like_torch():
    def run(m):
        x = m.tensor(X, requires_grad=True)
        a, b = x.exp(), (x * x).sum()
        m.autograd.backward([a, b], [m.tensor(np.ones_like(X) * 0.5), m.tensor(2.0)])
        return x.grad.numpy().copy()
    g, t = _both(run)
    np.testing.assert_allclose(g, t, rtol=1e-5)


def test_grad_modes_like_torch():
    for m in (gn, torch):
        w = m.tensor(W, requires_grad=True)
        with m.set_grad_enabled(False):
            assert not (w * 2).requires_grad
            with m.enable_grad():
                assert (w * 2).requires_grad
        assert (w * 2).requires_grad
        m.set_grad_enabled(False)
        assert not m.is_grad_enabled()
        m.set_grad_enabled(True)
        assert m.is_grad_enabled()
        with m.inference_mode():
            assert not (w * 2).requires_grad

        @m.inference_mode()
        def f(t):
            return t * 2
        assert not f(w).requires_grad
        assert (w * 2).requires_grad

        @m.set_grad_enabled(False)
        def h(t):
            return t * 2
        assert m.is_grad_enabled() and not h(w).requires_grad and m.is_grad_enabled()
    with pytest.raises(TypeError, match="set_grad_enabled"):
        gn.set_grad_enabled("yes")


@pytest.mark.parametrize("method", ["int", "bool", "half", "short", "byte", "long", "float",
                                    "double", "char"])
def test_dtype_methods_like_torch(method):
    v = np.array([[-1.7, 0.0, 2.6], [3.2, -0.4, 250.9]], dtype=np.float32)
    g = getattr(gn.tensor(v), method)()
    t = getattr(torch.tensor(v), method)()
    assert g.numpy().tolist() == t.numpy().tolist()
    assert np.dtype(g.dtype).itemsize == t.element_size()
    assert gn.tensor(v).type() == torch.tensor(v).type() == "torch.FloatTensor"
    assert g.type() == t.type()


def test_type_with_argument():
    v = gn.tensor([1.5, -2.5])
    assert v.type(np.int64).tolist() == [1, -2]
    assert v.type("torch.DoubleTensor").dtype == np.float64
    with pytest.raises(TypeError, match="unknown type"):
        v.type("torch.Nope")
    w = gn.tensor([1.5], requires_grad=True)
    assert not w.int().requires_grad and w.double().requires_grad


# -- error classes: glassnet raises ShapeError where torch raises RuntimeError --------------
ERRORS = {
    "matmul": lambda m: m.ones(2, 3) @ m.ones(2, 3),
    "matmul_batch": lambda m: m.matmul(m.ones(2, 2, 3), m.ones(3, 3, 4)),
    "reshape": lambda m: m.ones(2, 3).reshape(4, 2),
    "permute": lambda m: m.ones(2, 3).permute(0, 0),
    "expand": lambda m: m.ones(2, 3).expand(4, 3),
    "cat": lambda m: m.cat([m.ones(2, 3), m.ones(2, 4)], 0),
    "conv_kernel_too_big": lambda m: (F if m is gn else TF).conv2d(m.ones(1, 1, 3, 3),
                                                                   m.ones(1, 1, 5, 5)),
    "conv_channels": lambda m: (F if m is gn else TF).conv2d(m.ones(1, 2, 6, 6),
                                                             m.ones(1, 3, 3, 3)),
    "pool_kernel_too_big": lambda m: (F if m is gn else TF).max_pool2d(m.ones(1, 1, 3, 3), 5),
    "mse_target": lambda m: (F if m is gn else TF).mse_loss(m.ones(4, 3), m.ones(4, 2)),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
@pytest.mark.filterwarnings("ignore:Using a target size")
def test_shape_errors_are_runtime_and_value_errors(case):
    with pytest.raises(RuntimeError):                 # the oracle: what torch raises
        ERRORS[case](torch)
    with pytest.raises(RuntimeError) as info:         # code ported from PyTorch
        ERRORS[case](gn)
    assert isinstance(info.value, ValueError)         # existing glassnet code
    assert isinstance(info.value, ShapeError) and str(info.value)


def test_shape_error_keeps_messages():
    with pytest.raises(ValueError, match=r"matmul\(\): shapes \(2, 3\) and \(2, 3\) cannot "
                                         r"be multiplied"):
        gn.ones(2, 3) @ gn.ones(2, 3)
    try:
        gn.ones(2, 3).reshape(5)
    except RuntimeError as e:
        assert "reshape()" in str(e)
