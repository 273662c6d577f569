"""Layers, losses, optimizers and a training step on every device, against PyTorch."""
import numpy as np
import pytest
import torch

import glassnet as gn
from _devhelpers import check_module, check_optimizer, close, host, on, rand
from glassnet import nn


def _load_from_torch(gmodel, tmodel):
    gmodel.load_state_dict({k: v.detach().numpy() for k, v in tmodel.state_dict().items()})


LAYERS = [
    ("linear", lambda: (nn.Linear(6, 4), torch.nn.Linear(6, 4)), (5, 6)),
    ("linear_3d", lambda: (nn.Linear(6, 4, bias=False), torch.nn.Linear(6, 4, bias=False)),
     (2, 3, 6)),
    ("mlp", lambda: (nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.Linear(8, 3), nn.Softmax(1)),
                     torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.GELU(),
                                         torch.nn.Linear(8, 3), torch.nn.Softmax(1))), (4, 6)),
    ("batchnorm1d_train", lambda: (nn.BatchNorm1d(5), torch.nn.BatchNorm1d(5)), (8, 5)),
    ("batchnorm2d_train", lambda: (nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)), (4, 3, 2, 2)),
    ("batchnorm1d_eval", lambda: (nn.BatchNorm1d(5).eval(), torch.nn.BatchNorm1d(5).eval()),
     (8, 5)),
    ("layernorm", lambda: (nn.LayerNorm(5), torch.nn.LayerNorm(5)), (3, 4, 5)),
    ("activations", lambda: (nn.Sequential(nn.LeakyReLU(0.1), nn.Tanh(), nn.Sigmoid(),
                                           nn.Threshold(0.4, -1.0), nn.LogSoftmax(-1)),
                             torch.nn.Sequential(torch.nn.LeakyReLU(0.1), torch.nn.Tanh(),
                                                 torch.nn.Sigmoid(),
                                                 torch.nn.Threshold(0.4, -1.0),
                                                 torch.nn.LogSoftmax(-1))), (3, 6)),
]


@pytest.mark.parametrize("layer", LAYERS, ids=[x[0] for x in LAYERS])
def test_layer_matches_torch_on_device(device, layer):
    _, make, shape = layer
    g, t = make()
    check_module(device, g, t, [rand(*shape)])


def _const(L, values, device):
    return torch.tensor(values) if L is torch else gn.tensor(values, device=device)


LOSSES = [      # fn(lib, input, target, device)
    ("cross_entropy", lambda L, x, y, d: L.nn.functional.cross_entropy(x, y), "int"),
    ("cross_entropy_smooth_weight", lambda L, x, y, d: L.nn.functional.cross_entropy(
        x, y, weight=_const(L, [1.0, 2.0, 0.5, 1.0], d), label_smoothing=0.1), "int"),
    ("cross_entropy_probs", lambda L, x, y, d: L.nn.functional.cross_entropy(x, y), "probs"),
    ("nll_loss", lambda L, x, y, d: L.nn.functional.nll_loss(x.log_softmax(1), y,
                                                            reduction="sum"), "int"),
    ("mse", lambda L, x, y, d: L.nn.functional.mse_loss(x, y), "float"),
    ("l1", lambda L, x, y, d: L.nn.functional.l1_loss(x, y, reduction="none"), "float"),
    ("bce", lambda L, x, y, d: L.nn.functional.binary_cross_entropy(x.sigmoid(), y), "unit"),
    ("bce_logits", lambda L, x, y, d: L.nn.functional.binary_cross_entropy_with_logits(
        x, y, pos_weight=_const(L, [1.0, 2.0, 3.0, 0.5], d)), "unit"),
]


@pytest.mark.parametrize("loss", LOSSES, ids=[x[0] for x in LOSSES])
def test_loss_matches_torch_on_device(device, loss):
    _, fn, kind = loss
    x = rand(6, 4)
    y = {"int": np.array([0, 3, 1, 1, 2, 0]), "float": rand(6, 4),
         "unit": np.random.default_rng(0).random((6, 4)).astype(np.float32),
         "probs": np.full((6, 4), 0.25, np.float32)}[kind]
    xg, xt = on(device, x, grad=True), torch.tensor(x, requires_grad=True)
    lg = fn(gn, xg, on(device, y), device)
    lt = fn(torch, xt, torch.tensor(y), None)
    assert lg.device == device
    close(host(lg), host(lt), 1e-5, 1e-4, "loss")
    lg.sum().backward()
    lt.sum().backward()
    close(host(xg.grad), host(xt.grad), 1e-5, 1e-4, "grad")


def test_loss_target_on_another_device_is_a_clear_error():
    x = on("fake", rand(3, 4))
    with pytest.raises(RuntimeError, match=r"cross_entropy\(\).*fake and cpu"):
        gn.nn.functional.cross_entropy(x, gn.tensor([0, 1, 2]))


OPTIMIZERS = [
    ("sgd_momentum_nesterov", lambda L, p: L.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True,
                                                       weight_decay=0.01)),
    ("adam_amsgrad", lambda L, p: L.optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("adamw", lambda L, p: L.optim.AdamW(p, lr=0.01)),
    ("rmsprop_centered", lambda L, p: L.optim.RMSprop(p, lr=0.01, momentum=0.5,
                                                      centered=True)),
]


@pytest.mark.parametrize("opt", OPTIMIZERS, ids=[x[0] for x in OPTIMIZERS])
def test_optimizer_matches_torch_on_device(device, opt):
    check_optimizer(device, opt[1], steps=3)


def test_mlp_training_steps_match_torch_on_device(device):
    gn.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    gm = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    _load_from_torch(gm, tm)
    gm.to(device)
    gopt = gn.optim.Adam(gm.parameters(), lr=0.01)
    topt = torch.optim.Adam(tm.parameters(), lr=0.01)
    x, y = rand(16, 8), np.random.default_rng(1).integers(0, 3, 16)
    for _ in range(3):
        gopt.zero_grad()
        topt.zero_grad()
        lg = gn.nn.functional.cross_entropy(gm(on(device, x)), on(device, y))
        lt = torch.nn.functional.cross_entropy(tm(torch.tensor(x)), torch.tensor(y))
        lg.backward()
        lt.backward()
        gopt.step()
        topt.step()
        close(lg.item(), lt.item(), 1e-5, 1e-5, "loss")
    for (k, v), tv in zip(gm.state_dict().items(), tm.state_dict().values()):
        assert gn.backend.device_of(v) == device, k
        close(gn.backend.to_host(v), host(tv), 1e-5, 1e-4, k)


def test_module_to_moves_parameters_grads_buffers_and_optimizer_follows(device):
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    opt = gn.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    x = gn.tensor(rand(5, 3))
    m(x).sum().backward()
    opt.step()                                 # momentum buffers created on the CPU
    params = list(m.parameters())
    assert m.to(device) is m
    assert [id(p) for p in m.parameters()] == [id(p) for p in params]   # same objects
    for p in m.parameters():
        assert p.device == device and p.grad.device == device
    for _, b in m.named_buffers():
        assert b.device == device
    opt.zero_grad()
    m(x.to(device)).sum().backward()
    opt.step()                                 # the CPU state follows its parameter
    for state in opt.state.values():
        assert gn.backend.device_of(state["momentum_buffer"]) == device
    m.cpu()
    assert all(p.device == "cpu" for p in m.parameters())


def test_dropout_mask_is_the_same_on_every_device(device):
    x = np.ones((4, 6), np.float32)
    gn.manual_seed(5)
    want = nn.Dropout(0.5)(gn.tensor(x)).numpy()
    gn.manual_seed(5)
    got = nn.Dropout(0.5)(on(device, x))
    assert got.device == device
    np.testing.assert_array_equal(host(got), want)


def test_clip_grad_norm_on_device(device):
    ps = [on(device, rand(3, 2), grad=True), on(device, rand(4), grad=True)]
    (ps[0].sum() * 10 + (ps[1] ** 2).sum()).backward()
    tp = [torch.tensor(host(p), requires_grad=True) for p in ps]
    (tp[0].sum() * 10 + (tp[1] ** 2).sum()).backward()
    total = gn.nn.utils.clip_grad_norm_(ps, 1.0)
    want = torch.nn.utils.clip_grad_norm_(tp, 1.0)
    close(host(total), want.numpy(), 1e-5, 1e-5, "total norm")
    for p, t in zip(ps, tp):
        close(host(p.grad), host(t.grad), 1e-6, 1e-5, "clipped grad")
