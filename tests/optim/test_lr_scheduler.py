"""Learning-rate schedules equal PyTorch's over 30+ epochs, and survive a state-dict round trip."""
import json
import math

import numpy as np
import pytest
import torch

import glassnet as gn
import glassnet.optim as optim
from glassnet.optim import lr_scheduler as sched


def _pair(lrs=(0.1, 0.03)):
    """A glassnet and a torch SGD, with one parameter group per lr."""
    g = optim.SGD([{"params": [gn.tensor(np.ones(2, np.float32), requires_grad=True)], "lr": lr}
                   for lr in lrs], lr=lrs[0], momentum=0.9)
    t = torch.optim.SGD([{"params": [torch.ones(2, requires_grad=True)], "lr": lr}
                         for lr in lrs], lr=lrs[0], momentum=0.9)
    return g, t


CASES = [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("StepLR", dict(step_size=1)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=10)),               # past T_max: goes back up
    ("CosineAnnealingLR", dict(T_max=13, eta_min=1e-3)),
]


def _torch_lrs(s_t, opt_t, epochs):
    out = [s_t.get_last_lr()]
    for _ in range(epochs):
        opt_t.step()
        s_t.step()
        out.append(s_t.get_last_lr())
    return out


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_sequence_matches_torch(name, kwargs):
    g, t = _pair()
    s_g = getattr(sched, name)(g, **kwargs)
    s_t = getattr(torch.optim.lr_scheduler, name)(t, **kwargs)
    ours = [s_g.get_last_lr()]
    for _ in range(35):
        s_g.step()
        ours.append(s_g.get_last_lr())
        assert [grp["lr"] for grp in g.param_groups] == ours[-1]
    assert ours == _torch_lrs(s_t, t, 35)       # exact: same float64 arithmetic


PLATEAU = [
    dict(),
    dict(mode="max", factor=0.5, patience=2, threshold=0.05, cooldown=1),
    dict(mode="min", factor=0.3, patience=1, threshold_mode="abs", threshold=0.01,
         min_lr=[0.02, 0.001]),
    dict(patience=0, min_lr=0.01, eps=1e-3),
]


@pytest.mark.parametrize("kwargs", PLATEAU, ids=[str(k) for k in PLATEAU])
def test_reduce_on_plateau_matches_torch(kwargs):
    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1, 0.5, 8), 0.5 + 0.01 * rng.standard_normal(30)])
    g, t = _pair()
    s_g = sched.ReduceLROnPlateau(g, **kwargs)
    s_t = torch.optim.lr_scheduler.ReduceLROnPlateau(t, **kwargs)
    for m in metrics:
        s_g.step(float(m))
        t.step()
        s_t.step(float(m))
        assert s_g.get_last_lr() == s_t.get_last_lr()
    assert s_g.get_last_lr() != [0.1, 0.03] or kwargs.get("mode") == "max"


def test_plateau_accepts_a_tensor_metric():
    g, _ = _pair()
    s = sched.ReduceLROnPlateau(g, patience=0)
    s.step(gn.tensor(1.0))
    s.step(gn.tensor(2.0))
    assert s.get_last_lr() == [pytest.approx(0.01), pytest.approx(0.003)]


@pytest.mark.parametrize("make", [
    lambda o: sched.StepLR(o, step_size=4, gamma=0.5),
    lambda o: sched.CosineAnnealingLR(o, T_max=9, eta_min=0.001),
    lambda o: sched.ExponentialLR(o, gamma=0.8),
    lambda o: sched.ReduceLROnPlateau(o, patience=1, cooldown=2),
], ids=["step", "cosine", "exp", "plateau"])
def test_state_dict_round_trip(make):
    def run(s, epochs, start):
        for e in range(start, start + epochs):
            if isinstance(s, sched.ReduceLROnPlateau):
                s.step(1.0 / (1 + e % 5))
            else:
                s.step()
        return s.get_last_lr()

    g_ref, _ = _pair()
    s_ref = make(g_ref)
    run(s_ref, 10, 0)
    expected = run(s_ref, 10, 10)

    g1, _ = _pair()
    s1 = make(g1)
    run(s1, 10, 0)
    saved_sched = json.loads(json.dumps(s1.state_dict()))
    saved_opt = g1.state_dict()
    g2, _ = _pair()
    s2 = make(g2)
    g2.load_state_dict(saved_opt)
    s2.load_state_dict(saved_sched)
    assert run(s2, 10, 10) == expected


def test_validation():
    g, _ = _pair()
    with pytest.raises(ValueError, match=r"StepLR\(step_size=0\): step_size must be an int >= 1"):
        sched.StepLR(g, step_size=0)
    with pytest.raises(ValueError, match=r"CosineAnnealingLR\(T_max=0\)"):
        sched.CosineAnnealingLR(g, T_max=0)
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau\(factor=1\.5\): factor must be < 1"):
        sched.ReduceLROnPlateau(g, factor=1.5)
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau\(mode='best'\)"):
        sched.ReduceLROnPlateau(g, mode="best")
    with pytest.raises(ValueError, match=r"min_lr=\[0\.1\]\): min_lr must be one number or 2"):
        sched.ReduceLROnPlateau(g, min_lr=[0.1])
    with pytest.raises(TypeError, match=r"StepLR\(optimizer\): expected a glassnet.optim"):
        sched.StepLR(object(), step_size=2)


def test_cosine_reaches_eta_min_at_t_max():
    g, _ = _pair((1.0,))
    s = sched.CosineAnnealingLR(g, T_max=8, eta_min=0.1)
    for _ in range(8):
        s.step()
    assert math.isclose(s.get_last_lr()[0], 0.1, abs_tol=1e-12)
