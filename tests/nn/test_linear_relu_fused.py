"""Sequential runs Linear → ReLU as one op (ops.linear_relu): the same bits as the two layers
apart (values and every gradient), the same values as PyTorch, at sizes on one thread and on
several, with NaN and infinities; and the two layers apart whenever the op does not apply or
someone is watching them."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn
from glassnet.ops import _fast

needs_kernels = pytest.mark.skipif(_fast.kernels() is None, reason="the fused op needs the "
                                   "compiled kernels (pip install 'glassnet[fast]' and a C "
                                   "compiler)")


@pytest.fixture(autouse=True)
def _no_chain(monkeypatch):
    """These tests are about the pair op; runs of Linear layers take ops.linear_chain
    (tests/nn/test_linear_chain.py)."""
    monkeypatch.setattr(nn.Sequential, "fuse_linear_chain", False)


def _pair(sizes, bias=True):
    torch.manual_seed(0)
    layers = list(zip(sizes, sizes[1:]))
    t = torch.nn.Sequential(*[m for a, b in layers for m in (torch.nn.Linear(a, b, bias=bias),
                                                              torch.nn.ReLU())])
    g = nn.Sequential(*[m for a, b in layers for m in (nn.Linear(a, b, bias=bias), nn.ReLU())])
    g.load_state_dict({k: gn.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return t, g


def _run(model, x, w, framework):
    if framework == "torch":
        xt = torch.tensor(x, requires_grad=True)
        out = model(xt)
        (out * torch.tensor(w)).sum().backward()
        grads = [p.grad.numpy() for p in model.parameters()]
        return [out.detach().numpy(), xt.grad.numpy()] + grads, None
    xt = gn.tensor(x, requires_grad=True)
    out = model(xt)
    (out * gn.tensor(w)).sum().backward()
    grads = [p.grad.numpy() for p in model.parameters()]
    return [out.numpy(), xt.grad.numpy()] + grads, out._op


@needs_kernels
@pytest.mark.parametrize("rows,sizes", [(4, (5, 7, 3)), (128, (784, 512, 256)),
                                        (300, (64, 300))])
def test_fused_equals_the_layers_apart_and_torch(rows, sizes, monkeypatch):
    t, g = _pair(sizes)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((rows, sizes[0]), dtype=np.float32)
    x[0, :3] = [np.nan, np.inf, -np.inf]
    w = rng.standard_normal((rows, sizes[-1]), dtype=np.float32)
    w[1, 0] = np.inf                       # a gradient of inf where ReLU may block it
    ours, op = _run(g, x, w, "glassnet")
    assert op == "LinearReluBackward"
    for p in g.parameters():
        p.grad = None
    monkeypatch.setattr(nn.Sequential, "fuse_linear_relu", False)
    apart, op_apart = _run(g, x, w, "glassnet")
    assert op_apart == "ReluBackward"
    theirs, _ = _run(t, x, w, "torch")
    names = ["output", "dx"] + [n for n, _ in g.named_parameters()]
    for a, b, c, name in zip(ours, apart, theirs, names):
        np.testing.assert_array_equal(a, b, err_msg=f"{name}: fused vs apart")
        np.testing.assert_allclose(a, c, rtol=1e-4, atol=1e-4, err_msg=f"{name} vs torch")


@needs_kernels
def test_without_gradients_the_values_match():
    t, g = _pair((6, 9, 4))
    x = np.random.default_rng(2).standard_normal((3, 6), dtype=np.float32)
    with gn.no_grad():
        y = g(gn.tensor(x))
    assert not y.requires_grad
    with torch.no_grad():
        np.testing.assert_allclose(y.numpy(), t(torch.from_numpy(x)).numpy(), rtol=1e-6,
                                   atol=1e-6)


@pytest.mark.parametrize("case", ["no bias", "float64", "hook", "kernels off", "3-d input"])
def test_the_layers_run_apart_where_the_op_does_not_apply(case, monkeypatch):
    t, g = _pair((6, 5), bias=case != "no bias")
    x = np.random.default_rng(3).standard_normal((2, 3, 6) if case == "3-d input" else (3, 6),
                                                 dtype=np.float32)
    seen = []
    if case == "float64":
        g = g.to(gn.float64) if hasattr(g, "to") else g.double()
        x = x.astype(np.float64)
        t = t.double()
    if case == "hook":
        g[1].register_forward_hook(lambda m, i, o: seen.append(o.shape))
    if case == "kernels off":
        monkeypatch.setattr(_fast, "kernels", lambda: None)
    xt = gn.tensor(x, requires_grad=True)
    y = g(xt)
    assert y._op == "ReluBackward"
    y.sum().backward()
    xtt = torch.tensor(x, requires_grad=True)
    yt = t(xtt)
    yt.sum().backward()
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xt.grad.numpy(), xtt.grad.numpy(), rtol=1e-5, atol=1e-6)
    if case == "hook":
        assert seen == [(3, 5)]


def test_a_bad_input_gets_the_linear_layers_error():
    _, g = _pair((6, 5))
    with pytest.raises(ValueError, match=r"Linear\(in_features=6\): expected input "
                                         r"\(\.\.\., 6\), got \(3, 4\)"):
        g(gn.tensor(np.zeros((3, 4), np.float32)))
