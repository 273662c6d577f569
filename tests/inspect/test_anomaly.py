"""gn.inspect.detect_anomaly names the first layer and step with a NaN/Inf."""
import numpy as np
import pytest

import glassnet as gn
from glassnet.inspect import AnomalyError, detect_anomaly
from glassnet.tensor import make

from inspect_helpers import sgd


class Blowup(gn.nn.Module):
    """Identity in forward; its backward returns NaN once ``armed``."""

    def __init__(self):
        super().__init__()
        self.armed = False

    def forward(self, x):
        armed = self.armed
        return make(x.array.copy(), (x,), lambda g: (g * np.nan if armed else g,), "BlowupBack")


def _setup():
    gn.manual_seed(0)
    model = gn.nn.Sequential(gn.nn.Linear(3, 4), gn.nn.ReLU(), Blowup(), gn.nn.Linear(4, 2))
    x = gn.tensor(np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32))
    y = gn.tensor(np.array([0, 1, 0, 1, 1]))
    return model, x, y


def _steps(model, opt, x, y, n):
    for _ in range(n):
        opt.zero_grad()
        gn.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def test_clean_training_passes_and_hooks_are_removed():
    model, x, y = _setup()
    opt = sgd(model.parameters(), lr=0.1)
    with detect_anomaly(model, opt) as guard:
        _steps(model, opt, x, y, 3)
    assert guard.step == 2
    assert all("forward" not in m.__dict__ for m in model.modules())
    assert "step" not in opt.__dict__


def test_forward_nan_names_layer_and_step():
    model, x, y = _setup()
    opt = sgd(model.parameters(), lr=0.1)
    with pytest.raises(AnomalyError) as info:
        with detect_anomaly(model, opt):
            _steps(model, opt, x, y, 2)
            model[3].weight.array[0, 0] = np.inf
            _steps(model, opt, x, y, 1)
    err = info.value
    assert (err.layer, err.step, err.phase) == ("3", 2, "forward")
    assert "layer '3' (Linear(4→2))" in str(err) and "step 2" in str(err)
    assert all("forward" not in m.__dict__ for m in model.modules())


def test_backward_nan_names_the_layer_that_made_it():
    model, x, y = _setup()
    opt = sgd(model.parameters(), lr=0.1)
    with pytest.raises(AnomalyError) as info:
        with detect_anomaly(model, opt, start_step=10):
            _steps(model, opt, x, y, 1)
            model[2].armed = True
            _steps(model, opt, x, y, 1)
    err = info.value
    assert (err.layer, err.step, err.phase) == ("2", 11, "backward")
    assert "Blowup" in str(err) and "NaN" in str(err)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_update_overflow_is_caught_after_the_step():
    model, x, y = _setup()
    opt = sgd(model.parameters(), lr=float("inf"))
    with pytest.raises(AnomalyError) as info:
        with detect_anomaly(model, opt, check_parameters=True):
            _steps(model, opt, x, y, 3)
    assert (info.value.phase, info.value.step) == ("update", 0)
    assert "learning rate" in str(info.value)
    model, x, y = _setup()                    # without the check: the next forward reports it
    opt = sgd(model.parameters(), lr=float("inf"))
    with pytest.raises(AnomalyError) as info:
        with detect_anomaly(model, opt):
            _steps(model, opt, x, y, 3)
    assert (info.value.phase, info.value.step, info.value.layer) == ("forward", 1, "0")
    assert "parameter(s) weight, bias are not finite" in str(info.value)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_huge_weights_overflow_in_forward_of_the_next_step():
    model, x, y = _setup()
    opt = sgd(model.parameters(), lr=1e38)
    with pytest.raises(AnomalyError) as info:
        with detect_anomaly(model, opt):
            _steps(model, opt, x, y, 3)
    assert (info.value.phase, info.value.step) == ("forward", 1)


def test_nan_input_is_reported_as_input():
    model, x, _ = _setup()
    x.array[1, 2] = np.nan
    with pytest.raises(AnomalyError, match="step 0, input"), detect_anomaly(model):
        model(x)
