"""glassnet explain --model tiny-cnn / tiny-rnn: every number worked out by hand equals
PyTorch's (same weights, same input), and explain RUN names the run's real optimizer."""
import re

import numpy as np
import pytest
import torch

from glassnet.cli import main
from glassnet.inspect.worked import tiny_cnn_example, tiny_rnn_example

NUM = r"(-?\d[\d.e+-]*)"


def _explain(capsys, *args) -> str:
    assert main(["explain", *args]) == 0
    return capsys.readouterr().out


def _array_after(text: str, key: str) -> np.ndarray:
    """The array printed right after ``key`` (format_array output, possibly multi-line)."""
    i = text.index(key) + len(key)
    i = text.index("[", i)
    depth, j = 0, i
    while True:
        depth += {"[": 1, "]": -1}.get(text[j], 0)
        j += 1
        if depth == 0:
            break
    return np.array(eval(text[i:j]), dtype=np.float64)          # digits, commas, brackets


def _torch_cnn():
    model, x, y, _ = tiny_cnn_example()
    sd = {k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()}
    xt = torch.from_numpy(x)
    w = sd["0.weight"].requires_grad_()
    b = sd["0.bias"].requires_grad_()
    z = torch.nn.functional.conv2d(xt, w, b, stride=2, padding=1)
    a = torch.relu(z)
    p = torch.nn.functional.max_pool2d(a, 2)
    for t in (z, a, p):
        t.retain_grad()
    logits = p.flatten(1) @ sd["4.weight"].T + sd["4.bias"]
    torch.nn.functional.cross_entropy(logits, torch.from_numpy(y)).backward()
    return z.detach(), a.detach(), a.grad, w, b


def test_tiny_cnn_scan_relu_pool_and_gradients_match_torch(capsys):
    out = _explain(capsys, "--model", "tiny-cnn")
    z, a, a_grad, w, b = _torch_cnn()
    assert "stride 2, padding 1" in out and "(7, 7) → (9, 9)" in out
    assert "⌊(7 + 2·1 − 3)/2⌋ + 1 = 4" in out
    for i, j in ((0, 0), (0, 1)):
        got = float(re.search(rf"z\[0,{i},{j}\] = Σ .* = {NUM}\n", out).group(1))
        assert got == pytest.approx(float(z[0, 0, i, j]), abs=1e-3)
    np.testing.assert_allclose(_array_after(out, "z[0] (filter 0) = "), z[0, 0].detach(),
                               atol=1e-4)
    neg = int(re.search(r"a = max\(0, z\); (\d+) of 32 values", out).group(1))
    assert neg == int((z[0] < 0).sum())
    got = float(re.search(rf"∂L/∂W\[0,0,0,0\] = Σ.* = {NUM}   \(non-zero", out).group(1))
    assert got == pytest.approx(float(w.grad[0, 0, 0, 0]), rel=1e-3)
    got = float(re.search(rf"∂L/∂b\[0\] = Σ_n,i,j δ\[n,0,i,j\] = {NUM}", out).group(1))
    assert got == pytest.approx(float(b.grad[0]), rel=1e-3)
    # pooling: each window's max, and ∂L/∂a routed to exactly that position
    routes = re.findall(rf"channel (\d) window .* → max {NUM} at \((\d), (\d)\);  ∂L/∂a = "
                        rf"{NUM} goes to \((\d), (\d)\)", out)
    assert len(routes) == 8
    routed = np.zeros((2, 4, 4))
    for c, mx, r, col, g, r2, col2 in routes:
        c, r, col = int(c), int(r), int(col)
        assert (r, col) == (int(r2), int(col2))
        assert float(mx) == pytest.approx(float(a[0, c, r, col]), abs=1e-3)
        routed[c, r, col] = float(g)
    np.testing.assert_allclose(routed, a_grad[0].numpy(), rtol=1e-3, atol=1e-6)
    # the generic trace's ∂L/∂W of the convolution, all 18 numbers
    back = out[out.index("── Backpropagation"):]
    conv = back[back.index("[0] Conv2d(1→2, 3×3)"):]
    np.testing.assert_allclose(_array_after(conv, "∂L/∂W (2, 1, 3, 3) = "), w.grad.numpy(),
                               atol=1e-4)
    assert "SGD(η=0.1)" in out


def test_tiny_rnn_hidden_states_and_bptt_match_torch(capsys):
    out = _explain(capsys, "--model", "tiny-rnn")
    model, x, y, _ = tiny_rnn_example()
    sd = {k: torch.from_numpy(v.copy()).requires_grad_() for k, v in model.state_dict().items()}
    h = torch.zeros(2)
    hs, zs = [], []
    for t in range(3):
        zt = (sd["rnn.weight_ih_l0"] @ torch.from_numpy(x[0, t]) + sd["rnn.bias_ih_l0"]
              + sd["rnn.weight_hh_l0"] @ h + sd["rnn.bias_hh_l0"])
        h = torch.tanh(zt)
        zt.retain_grad()
        h.retain_grad()
        zs.append(zt)
        hs.append(h)
    y_hat = sd["head.weight"] @ h + sd["head.bias"]
    torch.nn.functional.mse_loss(y_hat, torch.from_numpy(y[0])).backward()
    for t in range(3):
        np.testing.assert_allclose(_array_after(out, f"h_{t + 1} = tanh(z_{t + 1}) = "),
                                   hs[t].detach(), atol=1e-4)
        line = re.search(rf"t={t + 1}: δh_{t + 1} = .*", out).group(0)
        dh = line[:line.index(";")]
        np.testing.assert_allclose(_array_after(dh, dh[:dh.rindex("= [") + 1]), hs[t].grad,
                                   atol=1e-4)
        np.testing.assert_allclose(_array_after(line, f"δz_{t + 1} = "), zs[t].grad, atol=1e-4)
    np.testing.assert_allclose(_array_after(out, "∂L/∂W_hh = Σ_t δz_t·h_{t−1}ᵀ = "),
                               sd["rnn.weight_hh_l0"].grad, atol=1e-4)
    np.testing.assert_allclose(_array_after(out, "∂L/∂W_ih = Σ_t δz_t·x_tᵀ = "),
                               sd["rnn.weight_ih_l0"].grad, atol=1e-4)
    assert "same as backward() gave for ∂L/∂W_hh: True" in out


def test_explain_run_names_the_runs_optimizer(tmp_path, capsys):
    from glassnet.train.recipe import Recipe, train_recipe
    train_recipe(Recipe.from_dict({"model": "mlp-small", "dataset": "digits", "epochs": 1,
                                   "optimizer": "adam", "lr": 0.002}), tmp_path, verbose=False)
    out = _explain(capsys, str(tmp_path), "--samples", "2")
    assert "Adam(η=0.002)" in out and "m ← β₁m" in out and "SGD" not in out
    assert main(["explain", "--model", "tiny-lstm"]) == 2
    assert "'tiny-cnn', 'tiny-rnn'" in capsys.readouterr().err
