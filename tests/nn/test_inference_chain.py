"""A Sequential's batch-1 eval forward as one compiled call (nn/inference.py, ops/infer.py):
the same outputs as PyTorch and as the layers run one by one, over strides, paddings,
dilations, kernel sizes, channel counts, pools and activations; and the layers run one by one
whenever the chain must not run (training, gradients, hooks, other layers, other batch sizes,
kernels or MKL off), with every setting and weight change seen."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import blas, nn
from glassnet.nn import inference
from glassnet.ops import _fast, infer


def _available():
    w = gn.tensor(np.ones((2, 3), np.float32))
    return infer.plan([("linear", w, None)], (1, 3)) is not None


pytestmark = pytest.mark.skipif(
    not _available(), reason="the inference chain needs the compiled kernels (cffi and a C "
    "compiler: pip install 'glassnet[fast]') and MKL (pip install 'glassnet[mkl]')")


def _pair(build):
    """The same layers in both frameworks (``build(module namespace)`` → list), glassnet's
    weights copied from PyTorch's, both in eval mode."""
    torch.manual_seed(0)
    t = torch.nn.Sequential(*build(torch.nn)).eval()
    g = nn.Sequential(*build(nn)).eval()
    g.load_state_dict({k: gn.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return t, g


def _ran_chain(monkeypatch):
    """A list that records each call of the compiled chain."""
    calls = []
    real = infer.Chain.__call__

    def counted(self, x):
        y = real(self, x)
        calls.append(y is not None)
        return y
    monkeypatch.setattr(infer.Chain, "__call__", counted)
    return calls


def _check(t, g, x, monkeypatch, atol=1e-5):
    calls = _ran_chain(monkeypatch)
    with gn.no_grad():
        ours = g(gn.tensor(x)).numpy()
    assert calls == [True], inference.explain(g, x.shape)
    with torch.no_grad():
        theirs = t(torch.from_numpy(x)).numpy()
    monkeypatch.setattr(nn.Sequential, "plan_inference", False)
    with gn.no_grad():
        layers = g(gn.tensor(x)).numpy()
    assert calls == [True]
    assert ours.shape == theirs.shape == layers.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=atol)
    np.testing.assert_allclose(ours, layers, rtol=1e-5, atol=atol)


CONVS = [
    dict(in_channels=1, out_channels=4, kernel_size=3, padding=1),          # thin product
    dict(in_channels=3, out_channels=5, kernel_size=3, padding=1),          # K = 27: MKL
    dict(in_channels=2, out_channels=3, kernel_size=5, stride=2, padding=2),
    dict(in_channels=4, out_channels=6, kernel_size=3, stride=(2, 1), padding=(0, 2)),
    dict(in_channels=3, out_channels=4, kernel_size=3, dilation=2, padding=2),
    dict(in_channels=2, out_channels=4, kernel_size=(2, 4), padding="same"),   # asymmetric
    dict(in_channels=5, out_channels=3, kernel_size=1),                      # 1×1: x itself
    dict(in_channels=6, out_channels=2, kernel_size=1, stride=2),
    dict(in_channels=1, out_channels=3, kernel_size=4, bias=False),
    dict(in_channels=8, out_channels=4, kernel_size=3, stride=3, padding=1),
]


@pytest.mark.parametrize("conv", CONVS, ids=lambda c: ",".join(f"{k}={v}" for k, v in
                                                                  c.items()))
@pytest.mark.parametrize("size", [(9, 11), (16, 16)])
def test_conv_chains_match_torch_and_the_layers(conv, size, monkeypatch):
    t, g = _pair(lambda m: [m.Conv2d(**conv), m.ReLU()])
    x = np.random.default_rng(0).standard_normal((1, conv["in_channels"], *size),
                                                  dtype=np.float32)
    _check(t, g, x, monkeypatch)


POOLS = [dict(kernel_size=2), dict(kernel_size=3, stride=2), dict(kernel_size=3, stride=2,
                                                                   padding=1),
         dict(kernel_size=2, stride=1, dilation=2), dict(kernel_size=(2, 3), stride=(1, 2))]


@pytest.mark.parametrize("pool", POOLS, ids=str)
@pytest.mark.parametrize("act", ["ReLU", "Sigmoid", "Tanh"])
def test_pools_and_activations(pool, act, monkeypatch):
    t, g = _pair(lambda m: [m.Conv2d(2, 3, 3, padding=1), getattr(m, act)(),
                            m.MaxPool2d(**pool), getattr(m, act)(), m.Flatten(),
                            m.Linear(3 * _pooled(9, pool) * _pooled(10, pool, 1), 4),
                            getattr(m, act)(), m.Dropout(0.5), m.Linear(4, 3), m.Identity()])
    x = np.random.default_rng(1).integers(-2, 3, (1, 2, 9, 10)).astype(np.float32)  # ties
    _check(t, g, x, monkeypatch)


def _pooled(n, pool, axis=0):
    def pick(v):
        return v if isinstance(v, int) else v[axis]
    k, d = pick(pool["kernel_size"]), pick(pool.get("dilation", 1))
    s, p = pick(pool.get("stride", pool["kernel_size"])), pick(pool.get("padding", 0))
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


@pytest.mark.parametrize("first", ["ReLU", "Sigmoid", "Tanh"])
def test_an_activation_first_and_an_mlp(first, monkeypatch):
    t, g = _pair(lambda m: [getattr(m, first)(), m.Linear(7, 5), m.Tanh(), m.Linear(5, 2)])
    x = np.random.default_rng(2).standard_normal((1, 7), dtype=np.float32)
    _check(t, g, x, monkeypatch)
    x_before = x.copy()
    with gn.no_grad():
        g(gn.tensor(x))
    np.testing.assert_array_equal(x, x_before)          # the input is never written


def test_the_cnn_workload_model_and_a_nan(monkeypatch):
    def build(m):
        return [m.Conv2d(1, 32, 3, padding=1), m.ReLU(), m.MaxPool2d(2),
                m.Conv2d(32, 64, 3, padding=1), m.ReLU(), m.MaxPool2d(2), m.Flatten(),
                m.Linear(3136, 128), m.ReLU(), m.Linear(128, 10)]
    t, g = _pair(build)
    x = np.random.default_rng(3).random((1, 1, 28, 28), dtype=np.float32)
    _check(t, g, x, monkeypatch)
    monkeypatch.setattr(nn.Sequential, "plan_inference", True)
    x[0, 0, 5, 5] = np.nan
    with gn.no_grad():
        ours = g(gn.tensor(x)).numpy()
    with torch.no_grad():
        theirs = t(torch.from_numpy(x)).numpy()
    assert np.isnan(ours).all() and np.isnan(theirs).all()


def test_a_pool_window_of_nan_stays_nan(monkeypatch):
    t, g = _pair(lambda m: [m.MaxPool2d(2), m.ReLU(), m.Flatten()])
    x = np.random.default_rng(4).standard_normal((1, 2, 4, 4), dtype=np.float32)
    x[0, 1, 2, 3] = np.nan
    x[0, 0, 0, 0] = -np.inf
    _check(t, g, x, monkeypatch)


def _randomise_statistics(g):
    """Running statistics and affine parameters that are not the identity."""
    rng = np.random.default_rng(11)
    for m in g:
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = m.num_features
            m.running_mean.array[...] = rng.standard_normal(c).astype(np.float32)
            m.running_var.array[...] = rng.uniform(0.2, 3.0, c).astype(np.float32)
            if m.weight is not None:
                m.weight.array[...] = rng.standard_normal(c).astype(np.float32)
                m.bias.array[...] = rng.standard_normal(c).astype(np.float32)


NORM_POOLS = {
    "bn-avgpool": lambda m: [m.Conv2d(3, 4, 3, padding=1), m.BatchNorm2d(4), m.ReLU(),
                             m.AvgPool2d(2), m.Flatten(), m.Linear(4 * 4 * 5, 6),
                             m.BatchNorm1d(6), m.LeakyReLU(0.2), m.Linear(6, 2)],
    "avgpool-pad": lambda m: [m.AvgPool2d(3, stride=2, padding=1), m.Conv2d(3, 2, 1),
                              m.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
                              m.Tanh()],
    "gap": lambda m: [m.Conv2d(3, 5, 3, stride=2), m.BatchNorm2d(5, affine=False),
                      m.LeakyReLU(), m.AdaptiveAvgPool2d(1), m.Flatten(), m.Linear(5, 3)],
    "adaptive-uneven": lambda m: [m.AdaptiveAvgPool2d((3, None)), m.Sigmoid(),
                                  m.AdaptiveAvgPool2d((2, 4)), m.Flatten()],
    "leaky-first": lambda m: [m.LeakyReLU(0.3), m.Conv2d(3, 3, 2), m.LeakyReLU(0.05)],
}


@pytest.mark.parametrize("name", NORM_POOLS)
def test_norms_average_pools_and_leaky_relu(name, monkeypatch):
    t, g = _pair(NORM_POOLS[name])
    _randomise_statistics(g)
    t.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in g.state_dict().items()})
    x = np.random.default_rng(12).standard_normal((1, 3, 8, 10), dtype=np.float32)
    _check(t, g, x, monkeypatch)


def test_batch_norm_without_running_statistics_runs_layer_by_layer(monkeypatch):
    _, g = _pair(lambda m: [m.Conv2d(3, 4, 3), m.BatchNorm2d(4, track_running_stats=False)])
    assert "layer 1" in inference.explain(g, (1, 3, 8, 10))
    _layer_by_layer(g, np.ones((1, 3, 8, 10), np.float32), monkeypatch)


def _small():
    torch.manual_seed(0)
    return _pair(lambda m: [m.Conv2d(2, 3, 3), m.ReLU(), m.Flatten(), m.Linear(3 * 4 * 4, 2)])


def test_outputs_are_new_arrays_and_weights_are_read_at_every_call(monkeypatch):
    t, g = _small()
    calls = _ran_chain(monkeypatch)
    rng = np.random.default_rng(5)
    x1, x2 = (rng.standard_normal((1, 2, 6, 6), dtype=np.float32) for _ in range(2))
    with gn.no_grad():
        y1 = g(gn.tensor(x1))
        kept = y1.numpy().copy()
        g(gn.tensor(x2))
        np.testing.assert_array_equal(y1.numpy(), kept)        # not overwritten
        g[0].weight.array *= 2                                  # in place (an optimizer)
        t[0].weight.data *= 2
        g[3].weight = nn.Parameter(np.ones((2, 48), np.float32))   # a new Parameter
        t[3].weight.data = torch.ones(2, 48)
        g[3].bias.array = np.full(2, 0.5, np.float32)           # a new array
        t[3].bias.data = torch.full((2,), 0.5)
        ours = g(gn.tensor(x2)).numpy()
    with torch.no_grad():
        theirs = t(torch.from_numpy(x2)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
    assert calls == [True] * 3


def test_a_changed_setting_plans_again(monkeypatch):
    t, g = _small()
    g[0].stride, t[0].stride = (2, 2), (2, 2)
    g[3], t[3] = nn.Linear(3 * 2 * 2, 2), torch.nn.Linear(3 * 2 * 2, 2)
    g[3].load_state_dict({k: gn.tensor(v.numpy()) for k, v in t[3].state_dict().items()})
    g.eval()
    x = np.random.default_rng(6).standard_normal((1, 2, 6, 6), dtype=np.float32)
    _check(t, g, x, monkeypatch)


def test_a_busy_chain_lets_another_thread_run_layer_by_layer(monkeypatch):
    t, g = _small()
    x = np.random.default_rng(13).standard_normal((1, 2, 6, 6), dtype=np.float32)
    with gn.no_grad():
        g(gn.tensor(x))                                   # plans the chain
    chain = inference._plans[g][1]
    calls = _ran_chain(monkeypatch)
    with chain._lock, gn.no_grad():                       # as if another thread were in it
        y = g(gn.tensor(x)).numpy()
    assert calls == [False]
    with torch.no_grad():
        np.testing.assert_allclose(y, t(torch.from_numpy(x)).numpy(), rtol=1e-5, atol=1e-5)


def test_a_non_contiguous_input(monkeypatch):
    t, g = _small()
    x = np.random.default_rng(7).standard_normal((1, 2, 6, 6), dtype=np.float32)
    xt = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    assert not xt.flags.c_contiguous
    _check(t, g, xt, monkeypatch)


def _layer_by_layer(g, x, monkeypatch, grad=False):
    calls = _ran_chain(monkeypatch)
    with gn.set_grad_enabled(grad):
        y = g(gn.tensor(x))
    assert True not in calls
    return y


def test_the_layers_run_one_by_one_when_the_chain_must_not_run(monkeypatch):
    t, g = _small()
    x = np.random.default_rng(8).standard_normal((1, 2, 6, 6), dtype=np.float32)
    with torch.no_grad():
        want = t(torch.from_numpy(x)).numpy()
    y = _layer_by_layer(g, x, monkeypatch, grad=True)              # gradients on
    assert y.requires_grad
    np.testing.assert_allclose(y.detach().numpy(), want, rtol=1e-5, atol=1e-5)
    seen = []
    handle = g[1].register_forward_hook(lambda m, i, o: seen.append(o.shape))
    _layer_by_layer(g, x, monkeypatch)                              # a hook watches
    assert seen == [(1, 3, 4, 4)]
    handle.remove()
    g[1].train()                                                    # one layer training
    _layer_by_layer(g, x, monkeypatch)
    g.eval()
    batch = np.concatenate([x, x])                                  # batch 2
    np.testing.assert_allclose(_layer_by_layer(g, batch, monkeypatch).numpy()[1], want[0],
                               rtol=1e-5, atol=1e-5)
    _layer_by_layer(g, x.astype(np.float64), monkeypatch)          # float64
    monkeypatch.setattr(_fast, "kernels", lambda: None)             # compiled kernels off
    assert "layer by layer" in inference.explain(g, x.shape)
    _layer_by_layer(g, x, monkeypatch)


def test_mkl_off_and_other_layers_run_layer_by_layer(monkeypatch):
    t, g = _small()
    x = np.random.default_rng(9).standard_normal((1, 2, 6, 6), dtype=np.float32)
    monkeypatch.setattr(blas, "gemm_address", lambda dtype=None: None)
    _layer_by_layer(g, x, monkeypatch)
    monkeypatch.undo()
    g.insert(1, nn.GroupNorm(1, 3))
    g.eval()
    why = inference.explain(g, x.shape)
    assert "layer 1" in why and "GroupNorm" in why
    _layer_by_layer(g, x, monkeypatch)


def test_bad_input_gets_the_layers_own_error():
    _, g = _small()
    with gn.no_grad(), pytest.raises(ValueError, match=r"Conv2d\(in_channels=2\): expected "
                                                       r"input \(N, 2, H, W\), got \(1, 3, 6, 6\)"):
        g(gn.tensor(np.zeros((1, 3, 6, 6), np.float32)))


def test_explain_lists_the_steps():
    _, g = _small()
    text = inference.explain(g, (1, 2, 6, 6))
    assert "conv2d 2→3 3x3" in text and "+ relu" in text and "linear 48→2" in text
    assert "N <= 1" in inference.explain(g, (4, 2, 6, 6))
