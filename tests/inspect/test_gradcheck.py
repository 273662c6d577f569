"""gn.inspect.gradcheck passes on correct layers and catches a planted backward bug."""
import numpy as np

import glassnet as gn
from glassnet.inspect import gradcheck
from glassnet.tensor import make


class Square(gn.nn.Module):
    """y = x², with a backward that is right (2·x·g) or planted wrong (x·g)."""

    def __init__(self, broken: bool):
        super().__init__()
        self.broken = broken
        self.scale = gn.nn.Parameter(np.ones(3, np.float32))

    def forward(self, x):
        factor = 1.0 if self.broken else 2.0

        def backward(g):
            return (g * factor * x.array,)
        return make(x.array ** 2, (x,), backward, "SquareBackward") * self.scale


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def test_linear_passes(capsys):
    res = gradcheck(gn.nn.Linear(3, 2), _x((4, 3)))
    assert res.passed
    assert [r.parameter for r in res] == ["weight", "bias", "input0"]
    assert all(r.rel_error < 1e-6 for r in res)
    printed = capsys.readouterr().out
    assert "max abs error" in printed and "all gradients agree" in printed


def test_mlp_with_dropout_and_loss_passes():
    gn.manual_seed(0)
    model = gn.nn.Sequential(gn.nn.Linear(4, 5), gn.nn.Tanh(), gn.nn.Dropout(0.3),
                             gn.nn.Linear(5, 3))
    y = gn.tensor(np.array([0, 2, 1]))
    res = gradcheck(model, _x((3, 4)), loss_fn=lambda out: gn.nn.functional.cross_entropy(out, y),
                    verbose=False)
    assert res.passed, res.table()
    assert {r.layer for r in res} == {"0", "3", "input"}
    assert model[0].weight.dtype == np.float32          # the original is untouched


def test_broken_backward_fails():
    res = gradcheck(Square(broken=True), _x((2, 3)), verbose=False)
    assert not res.passed
    bad = res.failures()
    assert [r.parameter for r in bad] == ["input0"]      # scale's gradient is still right
    assert bad[0].rel_error > 0.1
    assert "FAIL" in res.table()
    assert gradcheck(Square(broken=False), _x((2, 3)), verbose=False).passed


def test_max_elements_limits_work():
    res = gradcheck(gn.nn.Linear(30, 20), _x((2, 30)), max_elements=10, verbose=False)
    assert res.passed
    assert [r.checked for r in res] == [10, 10, 10]


def test_recurrent_layer_with_a_non_contiguous_input():
    gn.manual_seed(0)
    x = _x((2, 4, 2)).transpose(1, 0, 2)                  # (L, N, H_in), not C-contiguous
    assert gradcheck(gn.nn.LSTM(2, 3), x, verbose=False).passed


def test_conv_net_passes():
    gn.manual_seed(0)
    nn = gn.nn
    cnn = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Tanh(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(8, 3))
    assert gradcheck(cnn, _x((2, 1, 4, 4)), verbose=False).passed


def test_zero_gradient_is_not_a_large_relative_error():
    gn.manual_seed(0)
    nn = gn.nn
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    res = gradcheck(model, _x((5, 3)), verbose=False)
    assert res.passed
    bias = [r for r in res if r.layer == "0" and r.parameter == "bias"][0]
    assert bias.rel_error < 1e-3                     # ∂L/∂b is exactly 0 before BatchNorm
