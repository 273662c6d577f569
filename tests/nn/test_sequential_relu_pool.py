"""Sequential runs ReLU → MaxPool2d as MaxPool2d → ReLU: the same outputs and gradients as
the literal order and as PyTorch, including windows whose values are all ≤ 0, tied maxima,
padding, strides and ceil mode; the literal order whenever someone is watching the layers."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn
from glassnet.ops import _fast


def _pair(pool_kw):
    """The same Conv → ReLU → MaxPool → Flatten → Linear network in both frameworks."""
    torch.manual_seed(0)
    t = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.ReLU(),
                            torch.nn.MaxPool2d(**pool_kw), torch.nn.Flatten())
    g = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(**pool_kw),
                      nn.Flatten())
    g.load_state_dict({k: gn.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return t, g


def _input():
    """Values with many exact ties: integers in [-2, 2], so windows that are all ≤ 0 and
    windows with several equal maxima are common after the convolution too."""
    return np.random.default_rng(1).integers(-2, 3, (4, 2, 9, 10)).astype(np.float32)


def _run(model, x, framework):
    xt = (torch.tensor(x, requires_grad=True) if framework == "torch"
          else gn.tensor(x, requires_grad=True))
    out = model(xt)
    w = np.random.default_rng(2).standard_normal(tuple(out.shape)).astype(np.float32)
    (out * (torch.tensor(w) if framework == "torch" else gn.tensor(w))).sum().backward()
    conv = model[0]
    to = (lambda a: a.detach().numpy()) if framework == "torch" else (lambda a: a.numpy())
    return to(out), to(xt.grad), to(conv.weight.grad), to(conv.bias.grad)


@pytest.mark.parametrize("pool_kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2),
                                     dict(kernel_size=3, stride=2, padding=1),
                                     dict(kernel_size=2, ceil_mode=True),
                                     dict(kernel_size=2, stride=1, dilation=2)])
@pytest.mark.parametrize("rows", [9, 8])      # 8 × 10: 2 × 2 windows tile, one fused op
def test_fused_order_matches_the_literal_order_and_torch(pool_kw, rows, monkeypatch):
    t, g = _pair(pool_kw)
    x = _input()[:, :, :rows]
    x[0, 0, 0, :2] = np.nan                  # a NaN window, through the fused op too
    ours = _run(g, x, "glassnet")
    monkeypatch.setattr(nn.Sequential, "fuse_relu_pool", False)
    for p in g.parameters():
        p.grad = None
    literal = _run(g, x, "glassnet")
    theirs = _run(t, x, "torch")
    for a, b, c, name in zip(ours, literal, theirs, ("output", "dx", "dW", "db")):
        np.testing.assert_array_equal(a, b, err_msg=f"{name}: fused vs literal order")
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-5, err_msg=f"{name} vs torch")


def test_the_reordering_really_happens():
    calls = []
    relu, pool = nn.ReLU(), nn.MaxPool2d(3, stride=1)    # overlapping windows: not fused
    real_relu, real_pool = gn.ops.relu, gn.ops.max_pool2d
    seq = nn.Sequential(relu, pool)
    x = gn.tensor(np.random.default_rng(3).standard_normal((1, 1, 4, 4)).astype(np.float32))
    import glassnet.nn.activation as act
    import glassnet.nn.pooling as pooling
    try:
        act.ops.relu = lambda a: calls.append(("relu", a.shape)) or real_relu(a)
        pooling.MaxPool2d._op = staticmethod(
            lambda a, *r, **k: calls.append(("pool", a.shape)) or real_pool(a, *r, **k))
        seq(x)
    finally:
        act.ops.relu = real_relu
        pooling.MaxPool2d._op = staticmethod(real_pool)
    assert calls == [("pool", (1, 1, 4, 4)), ("relu", (1, 1, 2, 2))]


@pytest.mark.skipif(_fast.kernels() is None, reason="the fused pool needs the compiled "
                    "kernels (pip install 'glassnet[fast]' and a C compiler)")
@pytest.mark.parametrize("grad", [True, False])
def test_a_tiling_pool_and_its_relu_are_one_op(grad):
    """Windows that tile a conv's channels-last output: one compiled pass applies the ReLU
    (values and gradients checked against the literal order above)."""
    _, g = _pair(dict(kernel_size=2))
    x = _input()[:, :, :8]                                   # 8 × 10: 2 × 2 windows tile it
    with gn.set_grad_enabled(grad):
        out = g[2](g[1](g[0](gn.tensor(x))))                 # the layers apart: literal
        fused = g(gn.tensor(x, requires_grad=grad))
    np.testing.assert_array_equal(fused.numpy(), out.numpy().reshape(fused.shape))
    if grad:
        assert fused._parents[0]._op == "MaxPool2DReluBackward"


@pytest.mark.parametrize("watch", ["relu hook", "pool hook", "inspect"])
def test_watched_layers_run_in_the_literal_order(watch):
    """A forward hook, or gn.inspect's patched forward, sees the ReLU's full-size output."""
    seq = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    x = gn.tensor(np.random.default_rng(4).standard_normal((2, 1, 6, 6)).astype(np.float32))
    seen = []
    if watch == "relu hook":
        seq[1].register_forward_hook(lambda m, a, o: seen.append(tuple(o.shape)))
        seq(x)
        assert seen == [(2, 2, 6, 6)]
    elif watch == "pool hook":
        seq[2].register_forward_hook(lambda m, a, o: seen.append(tuple(a[0].shape)))
        seq(x)
        assert seen == [(2, 2, 6, 6)]
    else:
        from glassnet.inspect._hooks import watch_forward
        with watch_forward(seq, lambda n, m, a, o: seen.append((type(m).__name__,
                                                               tuple(o.shape)))):
            seq(x)
        assert ("ReLU", (2, 2, 6, 6)) in seen


def test_a_pool_returning_indices_is_not_reordered():
    seq = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2, return_indices=True))
    x = np.full((1, 1, 2, 2), -1.0, np.float32)
    x[0, 0, 1, 1] = -0.5
    out, idx = seq(gn.tensor(x))
    t_out, t_idx = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.MaxPool2d(2, return_indices=True))(
        torch.tensor(x))
    np.testing.assert_array_equal(out.numpy(), t_out.numpy())
    np.testing.assert_array_equal(idx.numpy(), t_idx.numpy())   # 0: the first of the zeros
