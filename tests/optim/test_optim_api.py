"""Argument validation, zero_grad, add_param_group, the public API, and no per-step allocation."""
import tracemalloc

import numpy as np
import pytest

import glassnet as gn
import glassnet.optim as optim


def _p(shape=(3,)):
    return gn.tensor(np.ones(shape, np.float32), requires_grad=True)


@pytest.mark.parametrize("make,message", [
    (lambda: optim.SGD([_p()], lr=-0.1), r"SGD\(lr=-0\.1\): lr must be >= 0"),
    (lambda: optim.SGD([_p()], lr=0.1, momentum=-0.5),
     r"SGD\(momentum=-0\.5\): momentum must be >= 0"),
    (lambda: optim.SGD([_p()], lr=0.1, weight_decay=-1.0), r"SGD\(weight_decay=-1\.0\)"),
    (lambda: optim.SGD([_p()], lr=0.1, nesterov=True), r"SGD\(nesterov=True\).*momentum=0"),
    (lambda: optim.SGD([_p()], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     r"dampening=0\.1"),
    (lambda: optim.SGD([], lr=0.1), r"SGD\(params\): got an empty parameter list"),
    (lambda: optim.Adam([_p()], lr=-1e-3), r"Adam\(lr=-0\.001\): lr must be >= 0"),
    (lambda: optim.Adam([_p()], betas=(1.0, 0.999)),
     r"Adam\(betas=\(1\.0, 0\.999\)\): betas\[0\].*got 1\.0"),
    (lambda: optim.Adam([_p()], betas=(0.9, -0.1)), r"betas\[1\] must be in \[0, 1\), got -0\.1"),
    (lambda: optim.Adam([_p()], betas=(0.9,)), r"Adam\(betas=\(0\.9,\)\): betas must be a pair"),
    (lambda: optim.Adam([_p()], eps=-1e-8), r"Adam\(eps=-1e-08\): eps must be >= 0"),
    (lambda: optim.AdamW([_p()], weight_decay=-0.1), r"AdamW\(weight_decay=-0\.1\)"),
    (lambda: optim.AdamW([], lr=0.1), r"AdamW\(params\): got an empty parameter list"),
    (lambda: optim.RMSprop([_p()], alpha=-0.1), r"RMSprop\(alpha=-0\.1\): alpha must be >= 0"),
    (lambda: optim.RMSprop([_p()], momentum=-1), r"RMSprop\(momentum=-1\)"),
    (lambda: optim.SGD([{"params": [_p()], "lr": -2.0}], lr=0.1), r"SGD\(lr=-2\.0\)"),
])
def test_bad_arguments_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_types():
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(_p(), lr=0.1)
    with pytest.raises(TypeError, match=r"SGD\(params\): expected Tensors, got ndarray"):
        optim.SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(TypeError, match=r"SGD\(lr='0\.1'\): lr must be a number, got str"):
        optim.SGD([_p()], lr="0.1")


def test_param_groups_defaults_and_duplicates():
    a, b, c = _p(), _p(), _p()
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9
    assert opt.defaults["lr"] == 0.1
    opt.add_param_group({"params": c, "lr": 0.01})
    assert opt.param_groups[2]["params"] == [c] and opt.param_groups[2]["nesterov"] is False
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="missing key 'params'"):
        opt.add_param_group({"lr": 0.1})


def test_zero_grad():
    p = _p()
    opt = optim.SGD([p], lr=0.1)
    p.grad = gn.tensor(np.ones(3, np.float32))
    grad_array = p.grad.array
    opt.zero_grad(set_to_none=False)
    assert p.grad.array is grad_array and not grad_array.any()
    opt.zero_grad()
    assert p.grad is None


def test_closure_is_called_and_its_loss_returned():
    p = _p()
    opt = optim.Adam([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss.item()) == 3.0
    assert np.all(p.array < 1.0)


def test_public_api():
    assert set(optim.__all__) == {"Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad",
                                  "NAdam", "lr_scheduler"}
    for name in optim.__all__:
        assert getattr(optim, name).__doc__
    assert set(optim.lr_scheduler.__all__) == {"LRScheduler", "StepLR", "ExponentialLR",
                                               "CosineAnnealingLR", "ReduceLROnPlateau",
                                               "MultiStepLR", "LambdaLR", "LinearLR",
                                               "OneCycleLR"}


MLP_SHAPES = [(512, 784), (512,), (256, 512), (256,), (10, 256), (10,)]


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.01, momentum=0.9),
    lambda ps: optim.SGD(ps, lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4),
    lambda ps: optim.Adam(ps, lr=1e-3, amsgrad=True, weight_decay=1e-4),
    lambda ps: optim.AdamW(ps),
    lambda ps: optim.RMSprop(ps, momentum=0.9, centered=True, weight_decay=1e-4),
], ids=["sgd-momentum", "sgd-nesterov-wd", "adam-amsgrad-wd", "adamw", "rmsprop-all"])
def test_step_allocates_no_parameter_sized_memory(make):
    """After the first step (which creates the state), a step allocates (almost) nothing."""
    rng = np.random.default_rng(0)
    params = [gn.tensor(rng.standard_normal(s, dtype=np.float32), requires_grad=True)
              for s in MLP_SHAPES]
    for p in params:
        p.grad = gn.tensor(rng.standard_normal(p.shape, dtype=np.float32))
    opt = make(params)
    opt.step()
    tracemalloc.start()
    opt.step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 64 * 1024, f"a step allocated {peak} bytes at peak"
    assert all(p.array.dtype == np.float32 for p in params)
