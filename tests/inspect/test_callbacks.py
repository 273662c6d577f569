"""AnomalyGuard and GradientNormHistory inside glassnet.train.fit."""
import numpy as np
import pytest

import glassnet as gn
from glassnet.data import DataLoader, TensorDataset
from glassnet.inspect import AnomalyError, AnomalyGuard, GradientNormHistory, gradient_norms
from glassnet.train import fit

from inspect_helpers import sgd


def _data(n=40):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return DataLoader(TensorDataset(x, (x[:, 0] > 0).astype(np.int64)), 10)


def _model():
    gn.manual_seed(0)
    return gn.nn.Sequential(gn.nn.Linear(4, 8), gn.nn.ReLU(), gn.nn.Linear(8, 2))


def test_clean_fit_and_gradient_norms(tmp_path):
    model = _model()
    opt = sgd(model.parameters(), lr=0.1)
    norms = GradientNormHistory(every=2)
    fit(model, gn.nn.CrossEntropyLoss(), opt, _data(), epochs=2, verbose=False,
        callbacks=[AnomalyGuard(), norms])
    assert norms.steps == [2, 4, 6, 8]
    assert set(norms.norms) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert all(len(v) == 4 and min(v) > 0 for v in norms.norms.values())
    assert norms.plot(tmp_path / "g.png").stat().st_size > 1000
    assert all("forward" not in m.__dict__ for m in model.modules())


def test_gradient_norms_value():
    model = _model()
    gn.nn.functional.mse_loss(model(gn.ones(3, 4)), gn.zeros(3, 2)).backward()
    w = model[0].weight.grad.array
    assert gradient_norms(model)["0.weight"] == pytest.approx(float(np.linalg.norm(w)), rel=1e-5)


def test_guard_stops_fit_at_the_step(monkeypatch):
    model = _model()
    opt = sgd(model.parameters(), lr=0.1)
    real = model[1].forward
    calls = {"n": 0}

    def poisoned(x):                   # the 6th forward of the ReLU layer emits an Inf
        calls["n"] += 1
        out = real(x)
        if calls["n"] == 6:
            out.array[0, 0] = np.inf
        return out
    model[1].forward = poisoned
    with pytest.raises(AnomalyError) as info:
        fit(model, gn.nn.CrossEntropyLoss(), opt, _data(), epochs=3, verbose=False,
            callbacks=[AnomalyGuard()])
    assert (info.value.layer, info.value.step, info.value.phase) == ("1", 6, "forward")
    assert "step 6" in str(info.value) and "ReLU" in str(info.value)
