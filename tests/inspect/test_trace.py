"""gn.inspect.trace against PyTorch on the same tiny network."""
import html.parser

import numpy as np
import pytest

import glassnet as gn
from glassnet.inspect import trace
from glassnet.inspect.notation import forward_notation, layer_role

from inspect_helpers import sgd, twin_mlp

torch = pytest.importorskip("torch")
TOL = dict(rtol=1e-5, atol=1e-6)


def _torch_step(t, x, y, loss_fn, lr):
    """One SGD step in PyTorch, keeping every intermediate z, a and its gradient."""
    acts = []
    h = torch.from_numpy(x)
    for layer in t:
        h = layer(h)
        h.retain_grad()
        acts.append(h)
    loss = loss_fn(h, torch.from_numpy(y))
    loss.backward()
    grads = {n: p.grad.clone() for n, p in t.named_parameters()}
    with torch.no_grad():
        for p in t.parameters():
            p -= lr * p.grad
    return acts, loss.item(), grads


@pytest.mark.parametrize("act", ["ReLU", "Tanh", "Sigmoid"])
def test_trace_values_match_torch_mse(act):
    g, t = twin_mlp((2, 3, 1), act=act)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 2)).astype(np.float32)
    y = rng.normal(size=(4, 1)).astype(np.float32)
    rec = trace(g, x, y, gn.nn.MSELoss(), sgd(g.parameters(), lr=0.1))
    acts, loss, grads = _torch_step(t, x, y, torch.nn.MSELoss(), 0.1)

    assert rec.show_values
    assert rec.loss == pytest.approx(loss, rel=1e-6)
    fwd = {r.layer: r for r in rec.phase("forward")}
    assert list(fwd) == ["0", "1", "2"]
    np.testing.assert_allclose(fwd["0"].values["z"], acts[0].detach().numpy(), **TOL)
    np.testing.assert_allclose(fwd["1"].values["a"], acts[1].detach().numpy(), **TOL)
    np.testing.assert_allclose(fwd["2"].values["z"], acts[2].detach().numpy(), **TOL)
    assert fwd["0"].notation == "z = W·x + b"

    loss_rec = rec.phase("loss")[0]
    assert "MSE = 1/n Σ (y_i − ŷ_i)²" in loss_rec.notation
    np.testing.assert_allclose(loss_rec.values["∂L/∂ŷ"], acts[2].grad.numpy(), **TOL)

    bwd = {r.layer: r for r in rec.phase("backward")}
    assert [r.layer for r in rec.phase("backward")] == ["2", "1", "0"]
    np.testing.assert_allclose(bwd["2"].values["δ = ∂L/∂z"], acts[2].grad.numpy(), **TOL)
    np.testing.assert_allclose(bwd["1"].values["∂L/∂a"], acts[1].grad.numpy(), **TOL)
    np.testing.assert_allclose(bwd["0"].values["δ = ∂L/∂z"], acts[0].grad.numpy(), **TOL)
    for layer in ("0", "2"):
        np.testing.assert_allclose(bwd[layer].values["∂L/∂W"], grads[f"{layer}.weight"], **TOL)
        np.testing.assert_allclose(bwd[layer].values["∂L/∂b"], grads[f"{layer}.bias"], **TOL)

    upd = {r.layer: r for r in rec.phase("update")}
    assert set(upd) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert upd["0.weight"].notation.startswith("W ← W − η·∂L/∂W")
    for name, p in t.named_parameters():
        sym = "W" if name.endswith("weight") else "b"
        np.testing.assert_allclose(upd[name].values[f"{sym} after"], p.detach().numpy(), **TOL)
        delta = upd[name].values[f"Δ{sym}"]
        assert upd[name].stats["‖Δ‖"]["value"] == pytest.approx(np.linalg.norm(delta), rel=1e-4)
    # the model itself took the step
    for k, v in g.state_dict().items():
        np.testing.assert_allclose(v, t.state_dict()[k].numpy(), **TOL)
    assert all("forward" not in m.__dict__ for m in g.modules())     # hooks removed


def test_trace_cross_entropy_with_momentum():
    g, t = twin_mlp((3, 4, 2), act="Tanh", seed=3)
    x = np.random.default_rng(2).normal(size=(5, 3)).astype(np.float32)
    y = np.array([0, 1, 1, 0, 1])
    rec = trace(g, x, y, gn.nn.CrossEntropyLoss(), sgd(g.parameters(), lr=0.5, momentum=0.9))
    topt = torch.optim.SGD(t.parameters(), lr=0.5, momentum=0.9)
    out = t(torch.from_numpy(x))
    loss = torch.nn.functional.cross_entropy(out, torch.from_numpy(y))
    loss.backward()
    topt.step()
    assert rec.loss == pytest.approx(loss.item(), rel=1e-6)
    assert "CE = −1/N Σ_n log softmax(ŷ_n)[y_n]" in rec.phase("loss")[0].notation
    assert rec.phase("update")[0].notation.startswith("v ← μ·v + ∂L/∂W;  W ← W − η·v")
    for k, v in g.state_dict().items():
        np.testing.assert_allclose(v, t.state_dict()[k].numpy(), rtol=1e-5, atol=1e-6)


def test_large_model_keeps_stats_not_values():
    g, _ = twin_mlp((20, 30, 5))
    x = np.ones((8, 20), np.float32)
    rec = trace(g, x, np.zeros((8, 5), np.float32), gn.nn.MSELoss(), sgd(g.parameters()))
    assert not rec.show_values
    assert all(r.values == {} for r in rec)
    z = rec.phase("forward")[0]
    assert z.shapes["z"] == (8, 30) and set(z.stats["z"]) == {"mean", "std", "min", "max", "norm"}


def test_renderings_show_the_notation():
    g, _ = twin_mlp()
    rec = trace(g, np.ones((2, 2), np.float32), np.ones((2, 1), np.float32),
                gn.nn.functional.mse_loss, sgd(g.parameters()))
    text, md, page = str(rec), rec.to_markdown(), rec.to_html()
    for s in (text, md):
        for needle in ("z = W·x + b", "a = relu(z)", "MSE = 1/n Σ (y_i − ŷ_i)²", "∂L/∂ŷ",
                       "δ = ∂L/∂z", "∂L/∂W", "∂L/∂b", "W ← W − η·∂L/∂W", "‖ΔW‖"):
            assert needle in s, needle
    assert md.count("## ") >= 4 and "| tensor | shape |" in md
    html.parser.HTMLParser().feed(page)
    assert page.startswith("<!DOCTYPE html>") and "z = W·x + b" in page
    assert "<div" in rec.to_html(standalone=False)[:30]


def test_custom_module_records_in_call_order_and_no_optimizer():
    class Net(gn.nn.Module):
        def __init__(self):
            super().__init__()
            self.out = gn.nn.Linear(3, 1)      # registered first, called last
            self.hidden = gn.nn.Linear(2, 3)

        def forward(self, x):
            return self.out(gn.tanh(self.hidden(x)))

    net = Net()
    before = {k: v.copy() for k, v in net.state_dict().items()}
    rec = trace(net, np.ones((1, 2), np.float32), np.ones((1, 1), np.float32), gn.nn.MSELoss())
    assert [r.layer for r in rec.phase("forward")] == ["hidden", "out"]
    assert rec.phase("update") == []
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_duck_typed_conv_and_rnn_notation():
    class FakeConv(gn.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = gn.nn.Parameter(np.zeros((8, 1, 3, 3), np.float32))
            self.bias = gn.nn.Parameter(np.zeros(8, np.float32))
            self.stride, self.padding = 1, 1

    class FakeRNN(gn.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight_ih_l0 = gn.nn.Parameter(np.zeros((4, 2), np.float32))
            self.weight_hh_l0 = gn.nn.Parameter(np.zeros((4, 4), np.float32))

    assert layer_role(FakeConv()) == "conv" and "⊛" in forward_notation(FakeConv())
    assert layer_role(FakeRNN()) == "recurrent"
    assert "W_hh·h_{t−1}" in forward_notation(FakeRNN())


def test_conv_net_trace_matches_torch():
    nn = gn.nn
    gn.manual_seed(0)
    g = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                      nn.Linear(8, 3))
    t = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(),
                            torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(8, 3))
    t.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in g.state_dict().items()})
    x = np.random.default_rng(0).random((2, 1, 4, 4)).astype(np.float32)
    y = np.array([0, 2])
    rec = trace(g, x, y, gn.nn.CrossEntropyLoss(), sgd(g.parameters(), lr=0.1))
    acts, loss, grads = _torch_step(t, x, torch.from_numpy(y).numpy(), torch.nn.CrossEntropyLoss(),
                                    0.1)
    assert rec.loss == pytest.approx(loss, rel=1e-5)
    conv_f, conv_b = rec.phase("forward")[0], rec.phase("backward")[-1]
    assert "⊛" in conv_f.notation and conv_f.kind == "Conv2d"
    np.testing.assert_allclose(conv_f.values["z"], acts[0].detach().numpy(), **TOL)
    np.testing.assert_allclose(conv_b.values["δ = ∂L/∂z"], acts[0].grad.numpy(), **TOL)
    np.testing.assert_allclose(conv_b.values["∂L/∂W"], grads["0.weight"], **TOL)
    assert [r.kind for r in rec.phase("forward")][2] == "MaxPool2d"
    for k, v in g.state_dict().items():
        np.testing.assert_allclose(v, t.state_dict()[k].numpy(), **TOL)


def test_rnn_trace_shows_bptt():
    class Net(gn.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = gn.nn.RNN(2, 3, batch_first=True)
            self.fc = gn.nn.Linear(3, 1)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.fc(out[:, -1])

    gn.manual_seed(0)
    net = Net()
    x = np.random.default_rng(0).random((2, 4, 2)).astype(np.float32)
    rec = trace(net, x, np.zeros((2, 1), np.float32), gn.nn.MSELoss(), sgd(net.parameters()))
    fwd, bwd = rec.phase("forward"), rec.phase("backward")
    assert fwd[0].notation.startswith("h_t = tanh(W_ih·x_t")
    assert fwd[0].shapes["h"] == (2, 4, 3) and fwd[0].shapes["h_n"] == (1, 2, 3)
    assert bwd[-1].notation.startswith("BPTT") and "∂L/∂weight_hh_l0" in bwd[-1].values
    assert len(rec.phase("update")) == 6


def test_phase_selection():
    g, _ = twin_mlp()
    rec = trace(g, np.ones((1, 2), np.float32), np.ones((1, 1), np.float32), gn.nn.MSELoss())
    text = rec.to_text(phases=["loss"])
    assert "MSE = " in text and "z = W·x + b" not in text
    with pytest.raises(ValueError, match="unknown"):
        rec.to_markdown(phases=["forwards"])


def test_adam_batchnorm_embedding_notation():
    nn = gn.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(5, 4)
            self.norm = nn.LayerNorm(4)
            self.fc = nn.Linear(4, 2)

        def forward(self, idx):
            return self.fc(self.norm(self.emb(idx)).mean(1))

    gn.manual_seed(0)
    net = Net()
    opt = gn.optim.Adam(net.parameters(), lr=0.01)
    before = {k: v.copy() for k, v in net.state_dict().items()}
    rec = trace(net, np.array([[0, 1, 2], [3, 4, 0]]), np.array([0, 1]),
                nn.CrossEntropyLoss(), opt)
    fwd = {r.layer: r for r in rec.phase("forward")}
    assert fwd["emb"].notation.startswith("e = E[x]") and "E" in fwd["emb"].shapes
    assert "γ" in fwd["norm"].shapes and "β" in fwd["norm"].shapes
    upd = {r.layer: r for r in rec.phase("update")}
    assert "m̂" in upd["fc.weight"].notation and upd["norm.weight"].notation.count("γ") >= 2
    assert all(not np.array_equal(v, before[k]) for k, v in net.state_dict().items())
