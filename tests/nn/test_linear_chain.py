"""Sequential runs a run of two or more plain Linear(+ReLU) layers as one op
(ops.linear_chain: one compiled call each way): the same values and gradients as the layers
run one by one and as PyTorch, for ReLU after every layer, after some and after none, without
biases, with frozen parameters, NaN and infinities; no graph without gradients; and the layers
one by one wherever it does not apply."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn
from glassnet.ops import _fast

needs_chain = pytest.mark.skipif(_fast.kernels() is None or gn.blas.gemm_address() is None,
                                 reason="the chain needs the compiled kernels and MKL "
                                 "(pip install 'glassnet[fast,mkl]')")


def _models(spec, bias=True):
    """The same network in both frameworks; spec: ints (Linear widths) and "r" (ReLU)."""
    torch.manual_seed(len(spec))
    t_layers, g_layers, width = [], [], spec[0]
    for item in spec[1:]:
        if item == "r":
            t_layers.append(torch.nn.ReLU())
            g_layers.append(nn.ReLU())
        else:
            t_layers.append(torch.nn.Linear(width, item, bias=bias))
            g_layers.append(nn.Linear(width, item, bias=bias))
            width = item
    t, g = torch.nn.Sequential(*t_layers), nn.Sequential(*g_layers)
    g.load_state_dict({k: gn.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return t, g


def _run(model, x, w, torch_model=False):
    """Output, dx and every parameter's gradient (None where it has none), and the output's
    graph node."""
    if torch_model:
        xt = torch.tensor(x, requires_grad=True)
        out = model(xt)
        (out * torch.tensor(w)).sum().backward()
        return [out.detach().numpy(), xt.grad.numpy()] + \
            [None if p.grad is None else p.grad.numpy() for p in model.parameters()], None
    xt = gn.tensor(x, requires_grad=True)
    out = model(xt)
    (out * gn.tensor(w)).sum().backward()
    return [out.numpy(), xt.grad.numpy()] + \
        [None if p.grad is None else p.grad.numpy() for p in model.parameters()], out._op


def _compare(ours, theirs, names, rtol, atol):
    for name, a, b in zip(names, ours, theirs):
        assert (a is None) == (b is None), name
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=name)


def _chain_and_apart(g, x, w, monkeypatch):
    """The results through the chain (checking it ran), then with the layers one by one."""
    ours, op = _run(g, x, w)
    assert op == "LinearChainBackward"
    for p in g.parameters():
        p.grad = None
    monkeypatch.setattr(nn.Sequential, "fuse_linear_chain", False)
    apart, op_apart = _run(g, x, w)
    assert op_apart != "LinearChainBackward"
    return ours, apart


SPECS = [(5, 7, "r", 3, "r"), (784, 512, "r", 256, "r", 10), (30, 20, 10, "r", 4),
         (6, 9, 9, "r", 9, 2), (64, 300, "r", 300, "r", 300, "r", 1)]


@needs_chain
@pytest.mark.parametrize("rows", [1, 4, 128])
@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("bias", [True, False])
def test_chain_equals_the_layers_apart_and_torch(rows, spec, bias, monkeypatch):
    t, g = _models(spec, bias)
    rng = np.random.default_rng(rows)
    x = rng.standard_normal((rows, spec[0]), dtype=np.float32)
    w = rng.standard_normal((rows, [s for s in spec if s != "r"][-1]), dtype=np.float32)
    ours, apart = _chain_and_apart(g, x, w, monkeypatch)
    names = ["output", "dx"] + [n for n, _ in g.named_parameters()]
    _compare(ours, apart, names, rtol=1e-5, atol=1e-6)
    _compare(ours, _run(t, x, w, torch_model=True)[0], names, rtol=1e-4, atol=1e-5)


@needs_chain
def test_nan_and_infinities_pass_as_layer_by_layer(monkeypatch):
    t, g = _models((8, 16, "r", 16, "r", 3))
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 8), dtype=np.float32)
    x[0, :3] = [np.nan, np.inf, -np.inf]
    w = rng.standard_normal((6, 3), dtype=np.float32)
    ours, apart = _chain_and_apart(g, x, w, monkeypatch)
    for a, b in zip(ours, apart):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@needs_chain
def test_frozen_parameters_and_an_input_without_grad():
    t, g = _models((12, 10, "r", 8, "r", 3))
    g[0].weight.requires_grad = False
    g[2].bias.requires_grad = False
    t[0].weight.requires_grad = False
    t[2].bias.requires_grad = False
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 12), dtype=np.float32)
    out = g(gn.tensor(x))
    assert out._op == "LinearChainBackward"
    out.sum().backward()
    t(torch.tensor(x)).sum().backward()
    for (name, p), tp in zip(g.named_parameters(), t.parameters()):
        assert (p.grad is None) == (tp.grad is None), name
        if p.grad is not None:
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=name)


@needs_chain
@pytest.mark.parametrize("frozen", [1, 2])
def test_a_frozen_bottom(frozen):
    """The first ``frozen`` layers train nothing (a frozen feature stack under a trained
    head): the backward stops above them and the trained layers' gradients are PyTorch's."""
    t, g = _models((12, 10, "r", 8, "r", 6, "r", 3))
    for model in (t, g):
        for layer in list(model)[:2 * frozen]:
            for p in layer.parameters():
                p.requires_grad = False
    rng = np.random.default_rng(8)
    x = rng.standard_normal((5, 12), dtype=np.float32)
    w = rng.standard_normal((5, 3), dtype=np.float32)
    out = g(gn.tensor(x))
    assert out._op == "LinearChainBackward"
    (out * gn.tensor(w)).sum().backward()
    (t(torch.tensor(x)) * torch.tensor(w)).sum().backward()
    for (name, p), tp in zip(g.named_parameters(), t.parameters()):
        assert (p.grad is None) == (tp.grad is None), name
        if p.grad is not None:
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=name)


@needs_chain
def test_retained_graph_accumulates_twice():
    _, g = _models((6, 5, "r", 4))
    x = gn.tensor(np.random.default_rng(4).standard_normal((3, 6), dtype=np.float32))
    out = g(x)
    out.sum().backward(retain_graph=True)
    once = [p.grad.numpy().copy() for p in g.parameters()]
    out.sum().backward()
    for a, p in zip(once, g.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), 2 * a, rtol=1e-6)


@needs_chain
def test_no_graph_without_gradients_and_eval_batches():
    _, g = _models((10, 20, "r", 20, "r", 5))
    x = np.random.default_rng(5).standard_normal((7, 10), dtype=np.float32)
    with gn.no_grad():
        out = g(gn.tensor(x))
    assert not out.requires_grad and out._backward is None
    g.eval()
    want = g[4](g[3](g[2](g[1](g[0](gn.tensor(x))))))
    np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    assert "linear_chain" in _fast.status()["ops"]


def test_layers_one_by_one_where_the_chain_does_not_apply():
    _, g = _models((6, 5, "r", 4, 3))
    x = np.random.default_rng(6).standard_normal((3, 6), dtype=np.float32)
    seen = []
    handle = g[2].register_forward_hook(lambda m, i, o: seen.append(o.shape))
    out = g(gn.tensor(x, requires_grad=True))
    assert seen == [(3, 4)] and out._op != "LinearChainBackward"     # a hook watches a layer
    handle.remove()
    assert g(gn.tensor(x[None])).shape == (1, 3, 3)                       # 3-D input
    assert g.to(gn.float64)(gn.tensor(x.astype(np.float64), requires_grad=True))._op \
        != "LinearChainBackward"                                          # float64
    single = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Dropout(0.5), nn.Linear(5, 2))
    assert single(gn.tensor(x, requires_grad=True))._op != "LinearChainBackward"
    bad = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(4, 2))
    with pytest.raises(ValueError, match=r"Linear\(in_features=4\): expected input"):
        bad(gn.tensor(x))
    with pytest.raises(ValueError, match=r"Linear\(in_features=6\): expected input"):
        g(gn.tensor(x[:, :5]))


def test_without_mkl_or_kernels_the_layers_run_one_by_one(monkeypatch):
    """Optional dependencies stay optional: with MKL's address missing, or the compiled
    kernels off, the same model runs layer by layer and gives the same values."""
    _, g = _models((10, 8, "r", 6, "r", 3))
    x = np.random.default_rng(7).standard_normal((5, 10), dtype=np.float32)
    want = None
    for off in ("mkl", "kernels"):
        with monkeypatch.context() as m:
            if off == "mkl":
                m.setattr(gn.blas, "gemm_address", lambda dtype=None: None)
            else:
                _fast.use(False)
            out = g(gn.tensor(x, requires_grad=True))
            _fast.use(True)
        assert out._op != "LinearChainBackward", off
        want = out.numpy() if want is None else want
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-6)
    if _fast.kernels() is not None and gn.blas.gemm_address() is not None:
        np.testing.assert_allclose(g(gn.tensor(x)).numpy(), want, rtol=1e-5, atol=1e-6)
