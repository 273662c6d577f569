"""Adagrad and NAdam follow PyTorch's trajectories; MultiStepLR, LambdaLR, LinearLR and
OneCycleLR give PyTorch's learning rates (and momenta) step for step."""
import json

import numpy as np
import pytest
import torch

import glassnet as gn
import glassnet.optim as optim
from glassnet import nn
from glassnet.optim import lr_scheduler as sched
from optim_helpers import (gn_params, gn_steps, groups, initial_params, noise, torch_params,
                           torch_steps)

TWO_GROUPS = [([0], {"lr": 0.05}), ([1, 2], {})]
CASES = [
    ("Adagrad", dict(), None),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1), None),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-3), TWO_GROUPS),
    ("NAdam", dict(), None),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1), None),
    ("NAdam", dict(lr=0.01, weight_decay=0.3, decoupled_weight_decay=True), TWO_GROUPS),
    ("NAdam", dict(lr=0.02, momentum_decay=0.05, eps=1e-6), None),
    ("NAdam", dict(lr=0.01, momentum_decay=0.0), None),
]


def _id(case):
    name, kw, grp = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kw.items()) + ("-groups" if grp else "")


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_trajectory_matches_torch(case):
    name, kwargs, group_opts = case
    init, ns = initial_params(), noise(20)
    gp, tp = gn_params(init), torch_params(init)
    g_opt = getattr(optim, name)(groups(gp, group_opts), **kwargs)
    t_opt = getattr(torch.optim, name)(groups(tp, group_opts), **kwargs)
    skip = {(2, 1), (5, 0)}                        # some steps without a gradient
    ours, theirs = gn_steps(g_opt, gp, ns, skip), torch_steps(t_opt, tp, ns, skip)
    for t, (a_step, b_step) in enumerate(zip(ours, theirs)):
        for a, b in zip(a_step, b_step):
            assert a.dtype == np.float32
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=f"step {t + 1}")
    # the state has PyTorch's names and values
    t_state = t_opt.state_dict()["state"]
    for i, entry in g_opt.state_dict()["state"].items():
        assert set(entry) == set(t_state[i]), (entry.keys(), t_state[i].keys())
        for key, value in entry.items():
            np.testing.assert_allclose(np.asarray(value, np.float64),
                                       np.asarray(t_state[i][key], np.float64), rtol=1e-5,
                                       atol=1e-7, err_msg=key)


def _mlps(seed=0):
    gn.manual_seed(seed)
    ours = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    theirs.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in ours.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("name,kwargs", [("Adagrad", dict(lr=0.1, lr_decay=0.01)),
                                         ("NAdam", dict(lr=0.01, weight_decay=0.01))])
def test_training_a_small_model_matches_torch(name, kwargs):
    """20 real steps (cross-entropy on a fixed batch) from the same initial weights."""
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((16, 4)).astype(np.float32), rng.integers(0, 3, 16)
    ours, theirs = _mlps()
    g_opt = getattr(optim, name)(ours.parameters(), **kwargs)
    t_opt = getattr(torch.optim, name)(theirs.parameters(), **kwargs)
    losses = []
    for _ in range(20):
        g_opt.zero_grad()
        loss_g = nn.CrossEntropyLoss()(ours(gn.tensor(x)), gn.tensor(y))
        loss_g.backward()
        g_opt.step()
        t_opt.zero_grad()
        loss_t = torch.nn.CrossEntropyLoss()(theirs(torch.tensor(x)), torch.tensor(y))
        loss_t.backward()
        t_opt.step()
        losses.append(loss_g.item())
        np.testing.assert_allclose(loss_g.item(), loss_t.item(), rtol=1e-5)
    assert losses[-1] < losses[0]
    for (k, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_allclose(np.asarray(a), b.numpy(), rtol=1e-4, atol=1e-6, err_msg=k)


@pytest.mark.parametrize("name", ["Adagrad", "NAdam"])
def test_state_dict_round_trip_continues_identically(name):
    init, ns = initial_params(), noise(12)
    straight = gn_params(init)
    opt = getattr(optim, name)(straight, lr=0.05)
    full = gn_steps(opt, straight, ns)
    resumed = gn_params(init)
    first = getattr(optim, name)(resumed, lr=0.05)
    gn_steps(first, resumed, ns[:6])
    saved = first.state_dict()
    again = getattr(optim, name)(resumed, lr=0.05)
    again.load_state_dict(saved)
    rest = gn_steps(again, resumed, ns[6:])
    for a, b in zip(full[-1], rest[-1]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make,message", [
    (lambda p: optim.Adagrad(p, lr=-0.1), r"Adagrad\(lr=-0\.1\): lr must be >= 0"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), r"Adagrad\(lr_decay=-1\): lr_decay must be >= 0"),
    (lambda p: optim.Adagrad(p, initial_accumulator_value=-0.5),
     r"Adagrad\(initial_accumulator_value=-0\.5\)"),
    (lambda p: optim.Adagrad(p, eps=-1e-10), r"Adagrad\(eps=-1e-10\)"),
    (lambda p: optim.NAdam(p, betas=(1.0, 0.9)), r"NAdam\(betas=\(1\.0, 0\.9\)\): betas\[0\]"),
    (lambda p: optim.NAdam(p, momentum_decay=-0.1),
     r"NAdam\(momentum_decay=-0\.1\): momentum_decay must be >= 0"),
    (lambda p: optim.NAdam(p, weight_decay=-1.0), r"NAdam\(weight_decay=-1\.0\)"),
    (lambda p: optim.NAdam([], lr=0.1), r"NAdam\(params\): got an empty parameter list"),
])
def test_optimizer_errors_name_the_argument(make, message):
    with pytest.raises(ValueError, match=message):
        make([gn.tensor(np.ones(3, np.float32), requires_grad=True)])
    with pytest.raises(TypeError, match=r"NAdam\(betas=0\.9\)"):
        optim.NAdam([gn.tensor(np.ones(3, np.float32), requires_grad=True)], betas=0.9)


# -- schedulers ------------------------------------------------------------------------------
def _opts(kind="SGD", lrs=(0.1, 0.03)):
    """A glassnet and a torch optimizer with one parameter group per lr."""
    kw = dict(momentum=0.9) if kind == "SGD" else {}
    g = getattr(optim, kind)([{"params": [gn.tensor(np.ones(2, np.float32),
                                                    requires_grad=True)], "lr": lr}
                              for lr in lrs], lr=lrs[0], **kw)
    t = getattr(torch.optim, kind)([{"params": [torch.ones(2, requires_grad=True)], "lr": lr}
                                    for lr in lrs], lr=lrs[0], **kw)
    return g, t


def _momenta(opt):
    return [g["betas"] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def _run_both(name, kwargs, steps, kind="SGD"):
    g, t = _opts(kind)
    s_g = getattr(sched, name)(g, **kwargs)
    s_t = getattr(torch.optim.lr_scheduler, name)(t, **kwargs)
    ours, theirs = [(s_g.get_last_lr(), _momenta(g))], [(s_t.get_last_lr(), _momenta(t))]
    for _ in range(steps):
        t.step()
        s_g.step()
        s_t.step()
        assert [grp["lr"] for grp in g.param_groups] == s_g.get_last_lr()
        ours.append((s_g.get_last_lr(), _momenta(g)))
        theirs.append((s_t.get_last_lr(), _momenta(t)))
    return ours, theirs, s_g, g


def _lin(e):
    return 0.5 + 0.1 * e


SCHED_CASES = [
    ("MultiStepLR", dict(milestones=[3, 10, 10, 25], gamma=0.5), 40),
    ("MultiStepLR", dict(milestones=(30,)), 35),
    ("LambdaLR", dict(lr_lambda=lambda e: 0.95 ** e), 40),
    ("LambdaLR", dict(lr_lambda=[lambda e: min(1.0, (e + 1) / 5), _lin]), 40),
    ("LinearLR", dict(), 30),
    ("LinearLR", dict(start_factor=0.1, end_factor=1.0, total_iters=12), 30),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.05, total_iters=20), 30),
    ("LinearLR", dict(start_factor=0.5, total_iters=0), 5),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=100), 100),
    ("OneCycleLR", dict(max_lr=[0.5, 0.2], epochs=5, steps_per_epoch=13, pct_start=0.25,
                        anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0),
     65),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=60, three_phase=True), 60),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=37, three_phase=True, anneal_strategy="linear",
                        base_momentum=[0.8, 0.7], max_momentum=0.9), 37),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=50, cycle_momentum=False), 50),
]


@pytest.mark.parametrize("name,kwargs,steps", SCHED_CASES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(SCHED_CASES)])
def test_schedule_matches_torch(name, kwargs, steps):
    ours, theirs, _, _ = _run_both(name, kwargs, steps)
    assert ours == theirs                 # exact: the same float64 arithmetic, step by step


@pytest.mark.parametrize("kind", ["Adam", "NAdam"])
def test_one_cycle_cycles_beta1_of_adam_like_optimizers(kind):
    ours, theirs, _, g = _run_both("OneCycleLR", dict(max_lr=0.01, total_steps=30), 30, kind)
    assert ours == theirs
    assert {m[0][0] for _, m in ours} > {0.95, 0.85}      # β1 went from 0.95 to 0.85 and back
    assert g.param_groups[0]["betas"][1] == 0.999


def test_one_cycle_refuses_to_step_past_the_cycle():
    g, _ = _opts()
    s = sched.OneCycleLR(g, max_lr=0.1, total_steps=5)
    for _ in range(5):
        s.step()
    with pytest.raises(ValueError, match=r"OneCycleLR: step\(\) called 6 times.*total_steps=5"):
        s.step()


@pytest.mark.parametrize("name,kwargs,steps", [c for c in SCHED_CASES if c[0] != "LambdaLR"])
def test_state_dict_json_round_trip_resumes(name, kwargs, steps):
    ours, _, s_g, g = _run_both(name, kwargs, steps // 2)
    saved = json.loads(json.dumps(s_g.state_dict()))
    opt_saved = g.state_dict()
    g2, _ = _opts()                       # PyTorch's order: build both, then load both
    s2 = getattr(sched, name)(g2, **kwargs)
    g2.load_state_dict(opt_saved)
    s2.load_state_dict(saved)
    full, _, _, _ = _run_both(name, kwargs, steps)
    for k in range(steps // 2 + 1, steps + 1):
        s2.step()
        assert s2.get_last_lr() == full[k][0]


class _Warmup:
    """A callable object: LambdaLR saves its attributes (functions cannot be saved)."""

    def __init__(self, n):
        self.n = n

    def __call__(self, e):
        return min(1.0, (e + 1) / self.n)


def test_lambda_lr_state_dict_keeps_callable_objects_and_drops_functions():
    g, _ = _opts()
    s = sched.LambdaLR(g, [_Warmup(4), lambda e: 1.0])
    for _ in range(2):
        s.step()
    state = json.loads(json.dumps(s.state_dict()))
    assert state["lr_lambdas"] == [{"n": 4}, None] and state["last_epoch"] == 2
    g2, _ = _opts()
    warm = _Warmup(100)
    s2 = sched.LambdaLR(g2, [warm, lambda e: 1.0])
    s2.load_state_dict(state)
    assert warm.n == 4 and s2.last_epoch == 2
    s2.step()
    s.step()
    assert s2.get_last_lr() == s.get_last_lr()


@pytest.mark.parametrize("make,error,message", [
    (lambda o: sched.MultiStepLR(o, milestones=5), TypeError, r"MultiStepLR\(milestones=5\)"),
    (lambda o: sched.MultiStepLR(o, milestones=[2, -1]), ValueError,
     r"MultiStepLR\(milestones=-1\): milestones must be an int >= 0"),
    (lambda o: sched.MultiStepLR(o, milestones=[2], gamma=0), ValueError,
     r"MultiStepLR\(gamma=0\)"),
    (lambda o: sched.LambdaLR(o, lr_lambda=0.5), TypeError, r"LambdaLR\(lr_lambda=0\.5\)"),
    (lambda o: sched.LambdaLR(o, lr_lambda=[_lin]), ValueError,
     r"LambdaLR\(lr_lambda=.*\): lr_lambda must be one function or 2"),
    (lambda o: sched.LambdaLR(o, lr_lambda=lambda e: "x"), TypeError,
     r"LambdaLR\(lr_lambda\): lr_lambda\(0\) returned 'x'"),
    (lambda o: sched.LinearLR(o, start_factor=0), ValueError,
     r"LinearLR\(start_factor=0\): start_factor must be in \(0, 1\]"),
    (lambda o: sched.LinearLR(o, end_factor=1.5), ValueError, r"LinearLR\(end_factor=1\.5\)"),
    (lambda o: sched.LinearLR(o, total_iters=2.5), ValueError, r"LinearLR\(total_iters=2\.5\)"),
    (lambda o: sched.OneCycleLR(o, max_lr=0.1), ValueError,
     r"OneCycleLR\(total_steps=None, epochs=None, steps_per_epoch=None\): give total_steps"),
    (lambda o: sched.OneCycleLR(o, max_lr=0.1, total_steps=0), ValueError,
     r"OneCycleLR\(total_steps=0\)"),
    (lambda o: sched.OneCycleLR(o, max_lr=[0.1], total_steps=10), ValueError,
     r"OneCycleLR\(max_lr=\[0\.1\]\): max_lr must be one number or 2"),
    (lambda o: sched.OneCycleLR(o, max_lr=-1.0, total_steps=10), ValueError,
     r"OneCycleLR\(max_lr=-1\.0\)"),
    (lambda o: sched.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1), ValueError,
     r"OneCycleLR\(pct_start=1\): pct_start must be a float in \[0, 1\]"),
    (lambda o: sched.OneCycleLR(o, max_lr=0.1, total_steps=2, pct_start=0.5), ValueError,
     r"OneCycleLR\(pct_start=0\.5\).*phase"),
    (lambda o: sched.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"),
     ValueError, r"OneCycleLR\(anneal_strategy='exp'\)"),
    (lambda o: sched.OneCycleLR(o, max_lr=0.1, total_steps=10, div_factor=0), ValueError,
     r"OneCycleLR\(div_factor=0\)"),
])
def test_scheduler_errors_name_the_argument(make, error, message):
    g, _ = _opts()
    with pytest.raises(error, match=message):
        make(g)


def test_one_cycle_needs_momentum_to_cycle():
    p = [gn.tensor(np.ones(2, np.float32), requires_grad=True)]
    with pytest.raises(ValueError, match=r"OneCycleLR\(cycle_momentum=True\): Adagrad has no "
                                         r"momentum"):
        sched.OneCycleLR(optim.Adagrad(p), max_lr=0.1, total_steps=10)
    s = sched.OneCycleLR(optim.Adagrad(p), max_lr=0.1, total_steps=10, cycle_momentum=False)
    assert s.get_last_lr() == pytest.approx([0.1 / 25], rel=1e-12)   # cos annealing at p = 0
