"""Each optimizer, under several option combinations, follows PyTorch's trajectory for 20 steps."""
import numpy as np
import pytest
import torch

import glassnet.optim as optim
from optim_helpers import (gn_params, gn_steps, groups, initial_params, noise, torch_params,
                           torch_steps)

TWO_GROUPS = [([0], {"lr": 0.05}), ([1, 2], {})]

CASES = [
    ("SGD", dict(lr=0.1), None),
    ("SGD", dict(lr=0.1, momentum=0.9), None),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1), None),
    ("SGD", dict(lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.01), None),
    ("SGD", dict(lr=0.1, momentum=0.9), [([0], {"lr": 0.01, "momentum": 0.5}), ([1, 2], {})]),
    ("Adam", dict(lr=0.01), None),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1), None),
    ("Adam", dict(lr=0.01, amsgrad=True, eps=1e-6), None),
    ("Adam", dict(lr=0.01), TWO_GROUPS),
    ("AdamW", dict(lr=0.01), None),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True), TWO_GROUPS),
    ("RMSprop", dict(lr=0.01), None),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.9), None),
    ("RMSprop", dict(lr=0.005, centered=True, weight_decay=0.1), None),
    ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5), TWO_GROUPS),
    ("RMSprop", dict(lr=0.01, alpha=0.3), None),   # lerp weight >= 0.5 branch (centered)
]
CASES.append(("RMSprop", dict(lr=0.01, alpha=0.3, centered=True), None))


def _id(case):
    name, kw, grp = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kw.items()) + ("-groups" if grp else "")


def run_both(name, kwargs, group_opts, steps=20, skip=()):
    init, ns = initial_params(), noise(steps)
    gp, tp = gn_params(init), torch_params(init)
    g_opt = getattr(optim, name)(groups(gp, group_opts), **kwargs)
    t_opt = getattr(torch.optim, name)(groups(tp, group_opts), **kwargs)
    return gn_steps(g_opt, gp, ns, skip), torch_steps(t_opt, tp, ns, skip)


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_trajectory_matches_torch(case):
    ours, theirs = run_both(*case)
    for t, (a_step, b_step) in enumerate(zip(ours, theirs)):
        for a, b in zip(a_step, b_step):
            assert a.dtype == np.float32
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=f"step {t + 1}")


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_parameters_without_grad_are_skipped(name):
    kwargs = dict(lr=0.05, momentum=0.9) if name == "SGD" else dict(lr=0.01)
    skip = {(0, 1), (3, 1), (4, 0), (7, 2)}     # (step, parameter) pairs with grad None
    ours, theirs = run_both(name, kwargs, None, steps=10, skip=skip)
    for a_step, b_step in zip(ours, theirs):
        for a, b in zip(a_step, b_step):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_test_can_fail():
    """A wrong momentum must be detected by the comparison above."""
    init, ns = initial_params(), noise(5)
    gp, tp = gn_params(init), torch_params(init)
    ours = gn_steps(optim.SGD(gp, lr=0.1, momentum=0.8), gp, ns)
    theirs = torch_steps(torch.optim.SGD(tp, lr=0.1, momentum=0.9), tp, ns)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(ours[-1][0], theirs[-1][0], rtol=1e-5, atol=1e-6)
