"""State dicts: save after 10 steps, load into a fresh optimizer, continue = uninterrupted."""
import json

import numpy as np
import pytest

import glassnet as gn
import glassnet.optim as optim
from optim_helpers import gn_params, gn_steps, groups, initial_params, noise

CASES = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
]
TWO_GROUPS = [([0], {"lr": 0.05}), ([1, 2], {})]


def _json_roundtrip(sd):
    """Write the state dict as JSON (arrays as lists) and read it back."""
    def enc(x):
        return x.tolist() if isinstance(x, np.ndarray) else x
    text = json.dumps({"state": {k: {n: enc(v) for n, v in s.items()}
                                 for k, s in sd["state"].items()},
                       "param_groups": sd["param_groups"]})
    return json.loads(text)


@pytest.mark.parametrize("via_json", [False, True], ids=["dict", "json"])
@pytest.mark.parametrize("name,kwargs", CASES, ids=[c[0] for c in CASES])
def test_resume_equals_uninterrupted(name, kwargs, via_json):
    init, ns = initial_params(), noise(20)
    cls = getattr(optim, name)

    ref_params = gn_params(init)
    ref = gn_steps(cls(groups(ref_params, TWO_GROUPS), **kwargs), ref_params, ns)

    params = gn_params(init)
    opt = cls(groups(params, TWO_GROUPS), **kwargs)
    gn_steps(opt, params, ns[:10])
    sd = opt.state_dict()
    gn_steps(opt, params, ns[10:12])       # later steps must not change the saved dict
    if via_json:
        sd = _json_roundtrip(sd)

    resumed = gn_params(ref[9])
    fresh = cls(groups(resumed, TWO_GROUPS), lr=123.0)   # lr comes back from the state dict
    fresh.load_state_dict(sd)
    out = gn_steps(fresh, resumed, ns[10:])
    for a_step, b_step in zip(out, ref[10:]):
        for a, b in zip(a_step, b_step):
            assert a.dtype == np.float32
            np.testing.assert_array_equal(a, b)
    assert [g["lr"] for g in fresh.param_groups] == [0.05, kwargs["lr"]]


def test_state_dict_layout_matches_torch():
    torch = pytest.importorskip("torch")
    init, ns = initial_params(), noise(3)
    gp = gn_params(init)
    ours = optim.Adam(groups(gp, TWO_GROUPS), lr=0.01)
    gn_steps(ours, gp, ns)
    tp = [torch.tensor(a, requires_grad=True) for a in init]
    theirs = torch.optim.Adam(groups(tp, TWO_GROUPS), lr=0.01)
    for p in tp:
        p.grad = torch.ones_like(p)
    theirs.step()
    a, b = ours.state_dict(), theirs.state_dict()
    assert sorted(a["state"]) == sorted(b["state"])
    assert set(a["state"][0]) == set(b["state"][0])
    assert [g["params"] for g in a["param_groups"]] == [g["params"] for g in b["param_groups"]]
    assert set(a["param_groups"][0]) <= set(b["param_groups"][0])


def test_load_rejects_mismatched_shapes():
    p = gn.tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    q = gn.tensor(np.zeros((3, 2), np.float32), requires_grad=True)
    sd = {"state": {0: {"momentum_buffer": np.zeros((2, 3), np.float32)}},
          "param_groups": [{"lr": 0.1, "params": [0]}]}
    opt = optim.SGD([q], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*\(3, 2\)"):
        opt.load_state_dict(sd)
    with pytest.raises(ValueError, match="2 parameters"):
        optim.SGD([p, q], lr=0.1).load_state_dict(sd)
