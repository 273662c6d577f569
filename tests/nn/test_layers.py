"""Dense layers, activations, containers and the Module API against PyTorch."""
import math

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn

RNG = np.random.default_rng(1)


def _copy_from_torch(gmodel, tmodel):
    gmodel.load_state_dict({k: v.detach().numpy() for k, v in tmodel.state_dict().items()})


def _check_layer(glayer, tlayer, x):
    _copy_from_torch(glayer, tlayer)
    xg, xt = gn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yg, yt = glayer(xg), tlayer(xt)
    np.testing.assert_allclose(yg.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    up = RNG.standard_normal(yt.shape).astype(np.float32)
    yg.backward(gn.tensor(up))
    yt.backward(torch.tensor(up))
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    tparams = dict(tlayer.named_parameters())
    for name, p in glayer.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), rtol=1e-4,
                                   atol=1e-5, err_msg=name)


@pytest.mark.parametrize("shape", [(5, 7), (2, 3, 7), (7,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(shape, bias):
    _check_layer(nn.Linear(7, 4, bias=bias), torch.nn.Linear(7, 4, bias=bias),
                 RNG.standard_normal(shape).astype(np.float32))


@pytest.mark.parametrize("pair", [
    (nn.ReLU(), torch.nn.ReLU()), (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
    (nn.Sigmoid(), torch.nn.Sigmoid()), (nn.Tanh(), torch.nn.Tanh()),
    (nn.GELU(), torch.nn.GELU()), (nn.GELU("tanh"), torch.nn.GELU("tanh")),
    (nn.Softmax(dim=1), torch.nn.Softmax(dim=1)), (nn.LogSoftmax(dim=-1), torch.nn.LogSoftmax(-1)),
    (nn.Threshold(0.1, -2.0), torch.nn.Threshold(0.1, -2.0)),
    (nn.Flatten(), torch.nn.Flatten()), (nn.Identity(), torch.nn.Identity()),
], ids=lambda p: type(p).__name__)
def test_activation_layers_match_torch(pair):
    _check_layer(pair[0], pair[1], RNG.standard_normal((3, 4, 5)).astype(np.float32))


def _mlp_pair():
    g = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(0.0), nn.Linear(8, 3))
    t = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Dropout(0.0),
                            torch.nn.Linear(8, 3))
    return g, t


def test_state_dict_keys_and_shapes_match_torch_both_ways():
    g, t = _mlp_pair()
    gs, ts = g.state_dict(), t.state_dict()
    assert list(gs) == list(ts)
    assert all(gs[k].shape == tuple(ts[k].shape) for k in gs)
    _copy_from_torch(g, t)                                        # torch -> glassnet
    x = RNG.standard_normal((4, 6)).astype(np.float32)
    np.testing.assert_allclose(g(gn.tensor(x)).numpy(), t(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    g2, t2 = _mlp_pair()                                          # glassnet -> torch
    t2.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in g2.state_dict().items()})
    np.testing.assert_allclose(g2(gn.tensor(x)).numpy(), t2(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_load_state_dict_errors_name_key_and_shapes():
    g, _ = _mlp_pair()
    bad = dict(g.state_dict())
    bad["0.weight"] = np.zeros((3, 3), np.float32)
    with pytest.raises(ValueError, match=r"'0.weight' expected shape \(8, 6\), got \(3, 3\)"):
        g.load_state_dict(bad)
    with pytest.raises(KeyError, match="missing keys"):
        g.load_state_dict({"0.weight": np.zeros((8, 6), np.float32)})


def test_module_registration_modes_and_zero_grad():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.ModuleList([nn.Linear(3, 3), nn.Linear(3, 2)])
            self.scale = nn.Parameter(np.ones(2, np.float32))
            self.drop = nn.Dropout(0.5)

        def forward(self, x):
            for layer in self.body:
                x = layer(x)
            return self.drop(x) * self.scale

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias"]
    assert net.num_parameters() == 2 + 12 + 8
    net.eval()
    assert not net.drop.training and not net.body[0].training
    x = gn.tensor(RNG.standard_normal((4, 3)).astype(np.float32))
    np.testing.assert_array_equal(net(x).numpy(), net(x).numpy())   # no dropout in eval
    net(x).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert "(body): ModuleList" in repr(net) and "Linear(in_features=3" in repr(net)


def test_dropout_zeroes_and_rescales_in_training():
    gn.manual_seed(0)
    d = nn.Dropout(0.25)
    x = gn.ones(2000, requires_grad=True)
    y = d(x)
    kept = y.numpy() != 0
    assert 0.7 < kept.mean() < 0.8
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.75, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.75, rtol=1e-6)
    with pytest.raises(ValueError, match=r"Dropout\(p=1.5\)"):
        nn.Dropout(1.5)


def test_default_init_follows_pytorch_bounds():
    gn.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w = layer.weight.numpy()
    assert w.dtype == np.float32 and np.abs(w).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound        # U(-b, b) has std b/√3
    assert np.abs(layer.bias.numpy()).max() <= bound


@pytest.mark.parametrize("fn,expected_std", [
    (lambda t: nn.init.xavier_uniform_(t), math.sqrt(2 / (200 + 100))),
    (lambda t: nn.init.xavier_normal_(t), math.sqrt(2 / (200 + 100))),
    (lambda t: nn.init.kaiming_uniform_(t, nonlinearity="relu"), math.sqrt(2 / 200)),
    (lambda t: nn.init.kaiming_normal_(t, nonlinearity="relu"), math.sqrt(2 / 200)),
])
def test_initialisers_have_the_documented_spread(fn, expected_std):
    t = nn.Parameter(np.zeros((100, 200), np.float32))
    fn(t)
    assert abs(t.numpy().std() - expected_std) < 0.03 * expected_std


def test_seeded_models_are_reproducible():
    gn.manual_seed(3)
    a = nn.Linear(5, 5).weight.numpy().copy()
    gn.manual_seed(3)
    np.testing.assert_array_equal(a, nn.Linear(5, 5).weight.numpy())


def test_bad_arguments_and_inputs_name_the_layer():
    with pytest.raises(ValueError, match=r"Linear\(out_features=0\)"):
        nn.Linear(3, 0)
    with pytest.raises(ValueError, match=r"Linear\(in_features=-1\)"):
        nn.Linear(-1, 3)
    with pytest.raises(ValueError, match=r"Linear\(in_features=784\): expected input "
                                         r"\(\.\.\., 784\), got \(32, 1, 28, 28\)"):
        nn.Linear(784, 10)(gn.zeros(32, 1, 28, 28))
    with pytest.raises(TypeError, match="Sequential: argument 1"):
        nn.Sequential(nn.ReLU(), 3)


def test_threshold_keeps_nan_like_pytorch():
    x = np.array([np.nan, -0.5, 0.5], np.float32)
    g = gn.tensor(x, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    yg, yt = nn.Threshold(-0.2, 1.5)(g), torch.nn.Threshold(-0.2, 1.5)(t)
    np.testing.assert_array_equal(yg.numpy(), yt.detach().numpy())
    yg.sum().backward()
    yt.sum().backward()
    np.testing.assert_array_equal(g.grad.numpy(), t.grad.numpy())
