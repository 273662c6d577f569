"""The playground's datasets, networks and sessions, checked against PyTorch."""
import math

import numpy as np
import pytest
import torch

from glassnet.playground import (LIMITS, Config, Session, SessionNotFound, SessionStore,
                                 make_dataset)
from glassnet.playground import config as config_mod
from glassnet.playground.model import step
from glassnet.tensor import Tensor


@pytest.mark.parametrize("name", ["circles", "xor", "spirals", "gaussians"])
def test_datasets_shape_balance_and_seed(name):
    x, y = make_dataset(name, 301, 0.1, np.random.default_rng(3))
    assert x.shape == (301, 2) and y.shape == (301,)
    assert x.dtype == np.float32 and y.dtype == np.float32
    assert set(np.unique(y)) == {0.0, 1.0} and abs(y.mean() - 0.5) < 0.1
    assert np.abs(x).max() <= 6.0
    x2, y2 = make_dataset(name, 301, 0.1, np.random.default_rng(3))
    assert np.array_equal(x, x2) and np.array_equal(y, y2)


def test_clean_datasets_follow_their_rule():
    x, y = make_dataset("xor", 400, 0.0, np.random.default_rng(0))
    assert np.array_equal(y == 1, x[:, 0] * x[:, 1] > 0)
    x, y = make_dataset("circles", 400, 0.0, np.random.default_rng(0))
    r = np.hypot(x[:, 0], x[:, 1])
    assert np.array_equal(y == 1, r < 3.0)
    with pytest.raises(ValueError, match="dataset 'moons'.*circles"):
        make_dataset("moons", 10, 0.0, np.random.default_rng(0))


def test_loss_falls_on_xor_with_tanh():
    s = Session(Config.from_dict({"dataset": "xor", "activation": "tanh", "hidden": [4, 4],
                                  "lr": 0.1, "batch_size": 10, "seed": 1}))
    first = s.history["train"][0]
    s.step(600)
    snap = s.snapshot()
    assert snap["step"] == 600 and snap["epoch"] == 600 * 10 // 210
    assert snap["loss"]["train"] < 0.3 < first and snap["loss"]["test"] < 0.35
    assert snap["accuracy"]["test"] > 0.9


def _torch_step(activation, z):
    if activation == "threshold":            # the same surrogate: σ′(z) in the backward pass
        s = torch.sigmoid(z)
        return s + ((z > 0).to(z.dtype) - s).detach()
    return {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[activation](z)


@pytest.mark.parametrize("activation", ["threshold", "sigmoid", "tanh", "relu"])
def test_notation_numbers_equal_pytorch_and_a_hand_computation(activation):
    cfg = Config.from_dict({"dataset": "circles", "points": 40, "hidden": [3, 2],
                            "activation": activation, "lr": 0.3, "batch_size": 28,
                            "l2": 0.01, "l1": 0.003, "noise": 0.1, "seed": 5})
    s = Session(cfg)
    s.step(3)                                   # not the first step: the weights have moved
    layers = [m for m in s.model if hasattr(m, "in_features")]
    Ws = [torch.tensor(m.weight.array.copy(), requires_grad=True) for m in layers]
    bs = [torch.tensor(m.bias.array.copy(), requires_grad=True) for m in layers]
    s.step(1)                                   # batch = the whole training set (28 points)
    v = s.notation["values"]

    # PyTorch: the same network, weights and points (the mean loss ignores the batch order).
    h = torch.tensor(s.x_train)
    zs = []
    for i, (W, b) in enumerate(zip(Ws, bs)):
        h = h @ W.T + b
        h.retain_grad()
        zs.append(h)
        if i < len(Ws) - 1:
            h = _torch_step(activation, h)
    data = torch.nn.functional.binary_cross_entropy_with_logits(h, torch.tensor(s.y_train)[:, None])
    pen = sum(cfg.l2 / 2 * (W * W).sum() + cfg.l1 * W.abs().sum() for W in Ws)
    (data + pen).backward()
    assert v["data_loss"] == pytest.approx(data.item(), rel=1e-5)
    assert v["penalty"] == pytest.approx(pen.item(), rel=1e-5)
    assert v["loss"] == pytest.approx(v["data_loss"] + v["penalty"], rel=1e-6)
    for u in v["updates"]:
        g = Ws[u["layer"]].grad[u["row"], u["col"]].item()
        assert u["grad"] == pytest.approx(g, rel=1e-4, abs=1e-7)
        assert u["before"] == Ws[u["layer"]][u["row"], u["col"]].item()
        assert u["after"] == pytest.approx(u["before"] - cfg.lr * u["grad"], rel=1e-6, abs=1e-7)
        assert u["after"] == float(layers[u["layer"]].weight.array[u["row"], u["col"]])

    # By hand, for the first point of the batch: z = w₁·x₁ + w₂·x₂ + b, a = f(z), ŷ = σ(z_out).
    k = int(np.flatnonzero((s.x_train == np.float32(v["x"])).all(axis=1))[0])
    assert v["w"] == [Ws[0][0, 0].item(), Ws[0][0, 1].item()] and v["b"] == bs[0][0].item()
    z = v["w"][0] * v["x"][0] + v["w"][1] * v["x"][1] + v["b"]
    assert v["z"] == pytest.approx(z, abs=1e-5) == pytest.approx(zs[0][k, 0].item(), abs=1e-5)
    f = {"threshold": lambda t: float(t > 0), "sigmoid": lambda t: 1 / (1 + math.exp(-t)),
         "tanh": math.tanh, "relu": lambda t: max(0.0, t)}[activation]
    assert v["a"] == pytest.approx(f(v["z"]), abs=1e-6)
    assert v["y"] == s.y_train[k]
    assert v["y_hat"] == pytest.approx(torch.sigmoid(zs[-1][k, 0]).item(), abs=1e-6)
    assert v["delta_out"] == pytest.approx(zs[-1].grad[k, 0].item(), rel=1e-4, abs=1e-8)
    text = "\n".join(s.notation["lines"])
    for u in v["updates"]:
        name = u["name"]
        assert f"{name} ← {name} − η·∂L/∂{name} = " in text
        assert f"{u['after']:.4g}".replace("-", "−") in text
    assert f"= {v['z']:.4g}".replace("-", "−") in text


def test_step_forward_is_exact_and_backward_is_the_sigmoid_surrogate():
    z = np.array([-2.0, -0.1, 0.0, 0.3, 4.0], dtype=np.float32)
    t = Tensor(z.copy(), requires_grad=True)
    a = step(t)
    a.backward(Tensor(np.ones(5, np.float32)))
    assert a.array.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    tz = torch.tensor(z, requires_grad=True)
    _torch_step("threshold", tz).sum().backward()
    np.testing.assert_allclose(t.grad.array, tz.grad.numpy(), rtol=1e-6)


def test_no_hidden_layer_is_logistic_regression():
    s = Session(Config.from_dict({"dataset": "gaussians", "hidden": [], "lr": 0.1}))
    s.step(200)
    v = s.notation["values"]
    assert v["a"] == pytest.approx(v["y_hat"]) and len(v["updates"]) == 2
    assert s.snapshot()["neurons"] == [] and s.snapshot()["accuracy"]["test"] > 0.9


@pytest.mark.parametrize("bad, match", [
    ({"dataset": "moons"}, "config.dataset: expected one of circles"),
    ({"lr": -0.1}, r"config.lr: expected a number > 0"),
    ({"lr": "fast"}, "config.lr"),
    ({"lr": float("nan")}, "config.lr"),
    ({"noise": 0.9}, "config.noise"),
    ({"points": 5000}, "config.points: expected an integer from 20 to 1000"),
    ({"hidden": [4] * 7}, "config.hidden: expected a list of at most 6"),
    ({"hidden": [9]}, r"config.hidden\[0\]: expected an integer from 1 to 8"),
    ({"hidden": "4,4"}, "config.hidden"),
    ({"batch_size": 0}, "config.batch_size"),
    ({"batch_size": 300}, "config.batch_size: expected an integer from 1 to 210"),
    ({"activation": "softmax"}, "config.activation"),
    ({"l2": True}, "config.l2"),
    ({"seed": -1}, "config.seed"),
    ({"epochs": 3}, "unknown key"),
])
def test_bad_config_names_the_setting(bad, match):
    with pytest.raises(ValueError, match=match):
        Config.from_dict(bad)


def test_store_evicts_the_least_recently_used():
    store = SessionStore(max_sessions=2)
    cfg = Config.from_dict({"points": 20, "batch_size": 5})
    a, _ = store.create(cfg)
    b, _ = store.create(cfg)
    store.get(a)                                # a is now newer than b
    c, _ = store.create(cfg)
    assert len(store) == 2 and store.get(a) and store.get(c)
    with pytest.raises(SessionNotFound):
        store.get(b)
    store.delete(a)
    with pytest.raises(SessionNotFound):
        store.delete(a)
    with pytest.raises(ValueError, match="max_sessions"):
        SessionStore(max_sessions=0)


def test_history_is_bounded_and_live_settings_change(monkeypatch):
    monkeypatch.setitem(LIMITS, "history", 10)
    s = Session(Config.from_dict({"points": 40, "batch_size": 4}))
    for _ in range(35):
        s.step(1)
    h = s.history
    assert len(h["step"]) <= 10 and h["step"][-1] == 35 and h["step"][0] == 0
    assert all(len(v) == len(h["step"]) for v in h.values())
    s.update({"lr": 0.5, "batch_size": 7, "l2": 0.1})
    assert s.optimizer.param_groups[0]["lr"] == 0.5 and s.config.batch_size == 7
    with pytest.raises(ValueError, match="need a new session"):
        s.update({"hidden": [2]})
    with pytest.raises(ValueError, match="config.lr"):
        s.update({"lr": 0})


def test_reset_draws_new_weights_and_clears_the_curves():
    s = Session(Config())
    w0 = s.model[0].weight.array.copy()
    s.step(20)
    s.reset()
    assert s.steps == 0 and s.history["step"] == [0] and s.notation is None
    assert not np.array_equal(w0, s.model[0].weight.array)
    again = Session(Config())                   # the same seed: the same first weights
    assert np.array_equal(w0, again.model[0].weight.array)


def test_heatmaps_cover_every_neuron():
    s = Session(Config.from_dict({"hidden": [3, 5, 2], "activation": "relu"}))
    snap = s.snapshot(points=True)
    assert [len(layer) for layer in snap["neurons"]] == [3, 5, 2]
    g = LIMITS["grid"]
    import base64
    boundary = np.frombuffer(base64.b64decode(snap["boundary"]["data"]), np.uint8)
    assert boundary.shape == (g * g,)
    assert len(snap["points"]["train"]) + len(snap["points"]["test"]) == 300
    # the heatmap is ŷ = σ(z) of the network at the grid points (row 0 = top, x₂ = +6)
    ticks = np.linspace(-6, 6, g, dtype=np.float32)
    z = s.model(Tensor(np.array([[ticks[0], ticks[-1]], [ticks[-1], ticks[0]]]))).array[:, 0]
    p = 1 / (1 + np.exp(-z.astype(np.float64)))
    assert abs(boundary[0] / 255 - p[0]) <= 1 / 255 and abs(boundary[-1] / 255 - p[1]) <= 1 / 255
    assert config_mod.TEST_FRACTION == 0.3
