"""nn.Module hooks against PyTorch: forward pre-hooks, forward hooks, full backward hooks
(grad_input / grad_output), handles, and the module traversals."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn

RNG = np.random.default_rng(2)
X = RNG.standard_normal((5, 4)).astype(np.float32)


def _pair():
    """The same small network in both frameworks (torch's initial weights copied over)."""
    torch.manual_seed(0)
    t = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
    g = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    g.load_state_dict(t.state_dict())
    return g, t


def _np(x):
    return None if x is None else x.detach().numpy().copy() if hasattr(x, "detach") \
        else x.numpy().copy()


def test_forward_hooks_change_input_and_output_like_torch():
    outs = []
    for net, m in zip(_pair(), (gn, torch)):
        calls = []
        h1 = net[0].register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
        h2 = net[2].register_forward_hook(lambda mod, args, out: out + 1)
        net[1].register_forward_hook(lambda mod, args, out, c=calls: c.append(tuple(out.shape)))
        y1 = net(m.tensor(X))
        h1.remove()
        h2.remove()
        y2 = net(m.tensor(X))
        outs.append((_np(y1), _np(y2), calls))
    (g1, g2, gc), (t1, t2, tc) = outs
    np.testing.assert_allclose(g1, t1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g2, t2, rtol=1e-5, atol=1e-6)
    assert gc == tc == [(5, 3), (5, 3)]


def test_full_backward_hook_grad_input_grad_output_like_torch():
    rec = []
    for net, m in zip(_pair(), (gn, torch)):
        seen = {}
        for i in (0, 1, 2):
            def hook(mod, gin, gout, i=i, seen=seen):
                seen[i] = ([_np(g) for g in gin], [_np(g) for g in gout])
            net[i].register_full_backward_hook(hook)
        x = m.tensor(X, requires_grad=True)
        (net(x) ** 2).sum().backward()
        rec.append(seen)
    g, t = rec
    assert sorted(g) == sorted(t) == [0, 1, 2]
    for i in (0, 1, 2):
        for a_list, b_list in zip(g[i], t[i]):
            assert len(a_list) == len(b_list)
            for a, b in zip(a_list, b_list):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
def test_full_backward_hook_without_input_grad_like_torch():
    """The first layer's input needs no gradient: grad_input is (None,), as in torch."""
    rec = []
    for net, m in zip(_pair(), (gn, torch)):
        seen = []
        net[0].register_full_backward_hook(
            lambda mod, gin, gout, s=seen: s.append((gin, _np(gout[0]))))
        (net(m.tensor(X)) ** 2).sum().backward()
        rec.append(seen)
    (g,), (t,) = rec
    assert g[0] == t[0] == (None,)
    np.testing.assert_allclose(g[1], t[1], rtol=1e-5, atol=1e-6)


def test_full_backward_hook_replaces_grad_input_like_torch():
    grads = []
    for net, m in zip(_pair(), (gn, torch)):
        net[1].register_full_backward_hook(lambda mod, gin, gout: (gin[0] * 0.5,))
        x = m.tensor(X, requires_grad=True)
        (net(x) ** 2).sum().backward()
        grads.append((_np(x.grad), _np(net[0].weight.grad)))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_hook_handles_and_errors():
    lin = nn.Linear(4, 2)
    calls = []
    h = lin.register_forward_hook(lambda mod, args, out: calls.append(1))
    lin(gn.tensor(X))
    h.remove()
    lin(gn.tensor(X))
    assert calls == [1]
    with pytest.raises(TypeError, match="expected a callable"):
        lin.register_forward_hook(3)
    order = []
    lin.register_forward_pre_hook(lambda mod, args: order.append("b"))
    lin.register_forward_pre_hook(lambda mod, args: order.append("a"), prepend=True)
    lin(gn.tensor(X))
    assert order == ["a", "b"]


def test_named_modules_children_and_apply_like_torch():
    g, t = _pair()
    assert [n for n, _ in g.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in g.named_children()] == [n for n, _ in t.named_children()]
    assert len(list(g.modules())) == len(list(t.modules())) == 4
    assert [type(c).__name__ for c in g.children()] == [type(c).__name__
                                                        for c in t.children()]
    visited = {}
    for net, m in ((g, gn), (t, torch)):
        order = []

        def init(mod, m=m, order=order):
            order.append(type(mod).__name__)
            if isinstance(mod, (nn.Linear, torch.nn.Linear)):
                with m.no_grad():
                    mod.weight.fill_(0.25)
                    mod.bias.zero_()
        assert net.apply(init) is net
        visited[m.__name__] = order
    assert visited["glassnet"] == visited["torch"]        # children first, then the parent
    np.testing.assert_allclose(_np(g(gn.tensor(X))), _np(t(torch.tensor(X))), rtol=1e-5)


def test_nested_traversal_order_like_torch():
    def build(m):
        return m.nn.Sequential(m.nn.Sequential(m.nn.Linear(2, 2), m.nn.ReLU()),
                               m.nn.Linear(2, 2), m.nn.Sequential(m.nn.Tanh()))
    g, t = build(gn), build(torch)
    assert [n for n, _ in g.named_modules()] == [n for n, _ in t.named_modules()]
    order = {}
    for net in (g, t):
        seen = []
        net.apply(lambda mod, seen=seen: seen.append(type(mod).__name__))
        order[net.__class__.__module__.split(".")[0]] = seen
    assert order["glassnet"] == order["torch"]
