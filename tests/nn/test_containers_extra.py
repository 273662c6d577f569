"""ModuleDict, ParameterList, ParameterDict: registration, PyTorch's state-dict keys and
shapes (loaded both ways), dict/list behaviour and errors."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn


def _same_state(gmod, tmod):
    gs, ts = gmod.state_dict(), tmod.state_dict()
    assert list(gs) == list(ts)
    assert [tuple(v.shape) for v in gs.values()] == [tuple(v.shape) for v in ts.values()]


def test_moduledict_keys_shapes_and_values_match_torch():
    g = nn.ModuleDict({"enc": nn.Linear(4, 3), "norm": nn.LayerNorm(3)})
    g.update([("head", nn.Linear(3, 2))])
    t = torch.nn.ModuleDict({"enc": torch.nn.Linear(4, 3), "norm": torch.nn.LayerNorm(3)})
    t.update([("head", torch.nn.Linear(3, 2))])
    _same_state(g, t)
    t.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in g.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    yg = g["head"](g["norm"](g["enc"](gn.tensor(x))))
    yt = t["head"](t["norm"](t["enc"](torch.from_numpy(x))))
    np.testing.assert_allclose(yg.array, yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert list(g) == list(t) == ["enc", "norm", "head"]
    assert len(list(g.parameters())) == len(list(t.parameters())) == 6
    assert "enc" in g and "x" not in g
    popped = g.pop("norm")
    assert isinstance(popped, nn.LayerNorm) and list(g.keys()) == ["enc", "head"]
    assert len(list(g.parameters())) == 4
    del g["head"]
    assert list(g.state_dict()) == ["enc.weight", "enc.bias"]
    g.clear()
    assert len(g) == 0 and list(g.parameters()) == []


def test_moduledict_inside_a_model_state_dict():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = nn.ModuleDict({"a": nn.Linear(2, 2)})

    class TNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = torch.nn.ModuleDict({"a": torch.nn.Linear(2, 2)})
    _same_state(Net(), TNet())
    net = Net()
    net.load_state_dict(TNet().state_dict())


def test_parameterlist_and_parameterdict_match_torch():
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in ((3,), (2, 4))]
    gl = nn.ParameterList([gn.tensor(a) for a in arrays])            # tensors become params
    tl = torch.nn.ParameterList([torch.from_numpy(a) for a in arrays])
    gl.append(nn.Parameter(np.zeros(5, dtype=np.float32)))
    tl.append(torch.nn.Parameter(torch.zeros(5)))
    _same_state(gl, tl)
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in gl)
    assert gl[-1].shape == (5,) and len(gl) == 3 and len(gl[1:]) == 2
    gl[0] = gn.tensor(np.ones(3, dtype=np.float32))
    np.testing.assert_array_equal(gl.state_dict()["0"], np.ones(3))

    gd = nn.ParameterDict({"scale": gn.ones(4), "shift": nn.Parameter(gn.zeros(4))})
    td = torch.nn.ParameterDict({"scale": torch.ones(4), "shift": torch.zeros(4)})
    _same_state(gd, td)
    gd.load_state_dict(td.state_dict())
    assert list(gd) == ["scale", "shift"] and isinstance(gd["scale"], nn.Parameter)
    (gd["scale"] * gn.tensor(np.arange(4.0, dtype=np.float32))).sum().backward()
    np.testing.assert_array_equal(gd["scale"].grad.array, np.arange(4.0))
    gd.pop("shift")
    assert list(gd.state_dict()) == ["scale"]


def test_container_errors():
    with pytest.raises(TypeError, match=r"ModuleDict\['a'\]: expected a Module, got int"):
        nn.ModuleDict({"a": 3})
    with pytest.raises(KeyError, match="ModuleDict: no module named 'b'"):
        nn.ModuleDict({"a": nn.Identity()})["b"]
    with pytest.raises(KeyError, match="keys must be non-empty strings without '.'"):
        nn.ModuleDict({"a.b": nn.Identity()})
    with pytest.raises(IndexError, match="ParameterList: index 2 out of range for length 1"):
        nn.ParameterList([gn.ones(2)])[2]
    with pytest.raises(TypeError, match="ParameterList.append: expected a Parameter or a "
                                        "Tensor, got str"):
        nn.ParameterList(["w"])
    with pytest.raises(KeyError, match="ParameterDict: no parameter named 'w'"):
        nn.ParameterDict()["w"]


def _edit_script(lib):
    """The same list/dict edits on glassnet's and PyTorch's containers."""
    L = lib.nn.ModuleList([lib.nn.Linear(2, 2), lib.nn.ReLU(), lib.nn.Linear(2, 3)])
    L.insert(1, lib.nn.Linear(2, 5))
    del L[0]
    popped = L.pop(0)
    L[0] = lib.nn.Tanh()
    L += [lib.nn.Linear(3, 1)]
    L2 = L + lib.nn.ModuleList([lib.nn.ReLU()])
    del L2[1:3]
    S = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.ReLU())
    S.insert(1, lib.nn.Linear(2, 2))
    del S[0]
    S.extend([lib.nn.ReLU()])
    S.pop(1)
    S[0] = lib.nn.Linear(2, 4)
    S = S + lib.nn.Sequential(lib.nn.Linear(4, 6))
    D = lib.nn.ModuleDict({"a": lib.nn.Linear(1, 1), "b": lib.nn.Linear(1, 2)})
    D["a"] = lib.nn.Linear(1, 3)                       # replacing keeps the key's place
    P = lib.nn.ParameterList([lib.nn.Parameter(lib.ones(1)), lib.nn.Parameter(lib.ones(2))])
    P[0] = lib.nn.Parameter(lib.ones(3))
    PD = lib.nn.ParameterDict({"x": lib.nn.Parameter(lib.ones(1)),
                               "y": lib.nn.Parameter(lib.ones(2))})
    PD["x"] = lib.nn.Parameter(lib.ones(4))
    return [type(popped).__name__, [type(m).__name__ for m in L], [type(m).__name__ for m in L2]
            ] + [[(k, tuple(v.shape)) for k, v in c.state_dict().items()]
                 for c in (L, L2, S, D, P, PD)]


def test_list_and_dict_edits_match_torch():
    assert _edit_script(gn) == _edit_script(torch)


def test_index_errors_name_the_container():
    with pytest.raises(IndexError, match="ModuleList: index 3 out of range for length 2"):
        nn.ModuleList([nn.ReLU(), nn.ReLU()])[3] = nn.ReLU()
    with pytest.raises(IndexError, match="Sequential: index -3 out of range for length 2"):
        del nn.Sequential(nn.ReLU(), nn.ReLU())[-3]
    with pytest.raises(TypeError, match="Sequential.insert: expected a Module, got int"):
        nn.Sequential(nn.ReLU()).insert(0, 5)
