"""``Tensor.data`` behaves as PyTorch's: a tensor sharing the memory, outside the graph, whose
in-place changes autograd does not see. Every case runs the same code on both frameworks."""
import numpy as np
import pytest
import torch

import glassnet as gn

W = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], np.float32)


@pytest.mark.parametrize("lib", [gn, torch])
def test_data_is_a_detached_tensor_sharing_memory(lib):
    w = lib.tensor(W.copy(), requires_grad=True)
    d = w.data
    assert isinstance(d, type(w)) and not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert d.dtype == w.dtype and tuple(d.shape) == W.shape
    d[0, 0] = 7.0
    assert w[0, 0].item() == 7.0
    assert np.shares_memory(d.numpy(), w.detach().numpy())


def _manual_descent(lib):
    """The tutorials' update rule: p.data.sub_(lr * p.grad.data), then zero the gradient."""
    w = lib.tensor(W.copy(), requires_grad=True)
    x = lib.tensor(np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]], np.float32))
    losses = []
    for _ in range(4):
        loss = ((w @ x) ** 2).sum()
        loss.backward()
        w.data.sub_(0.01 * w.grad.data)
        w.grad.data.zero_()
        losses.append(loss.item())
    return losses, w.detach().numpy(), w.requires_grad, w._version


def test_manual_descent_through_data_matches_torch():
    got, want = _manual_descent(gn), _manual_descent(torch)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6)
    assert got[2] is want[2] is True
    assert got[3] == want[3] == 0          # .data changes do not bump the version


def _silent_change(lib):
    """A change through .data to a value backward needs: no error, the same stale gradient."""
    x = lib.tensor(W.copy(), requires_grad=True)
    y = x * x                              # saves x
    x.data.mul_(3.0)
    y.sum().backward()
    return x.grad.numpy()


def test_change_through_data_is_invisible_to_autograd_as_in_torch():
    np.testing.assert_allclose(_silent_change(gn), _silent_change(torch), rtol=1e-6)


def _assign(lib):
    w = lib.tensor(W.copy(), requires_grad=True)
    w.data = lib.tensor(np.arange(4, dtype=np.float32))      # shape may change
    out = (w * 2).sum()
    out.backward()
    return tuple(w.shape), w.grad.numpy(), w.requires_grad


def test_assigning_data_replaces_the_values_and_keeps_requires_grad():
    got, want = _assign(gn), _assign(torch)
    assert got[0] == want[0] and got[2] == want[2]
    np.testing.assert_array_equal(got[1], want[1])


def test_data_of_a_non_leaf_and_of_other_dtypes():
    x = gn.tensor(W.copy(), requires_grad=True)
    y = x * 2
    assert not y.data.requires_grad and y.data.is_leaf
    np.testing.assert_array_equal(y.data.numpy(), 2 * W)
    for arr in (np.arange(3, dtype=np.int64), np.ones(2, np.float16), np.array([True, False])):
        t = gn.tensor(arr)
        assert t.data.dtype == t.dtype and np.shares_memory(t.data.numpy(), t.numpy())


def test_assigning_integer_data_to_a_tensor_that_requires_grad_is_refused():
    w = gn.tensor(W.copy(), requires_grad=True)
    with pytest.raises(TypeError, match="requires grad needs floating data, got dtype int64"):
        w.data = gn.tensor(np.arange(3))


def test_optimizer_and_parameters_keep_working_after_data_writes():
    layer = gn.nn.Linear(3, 2)
    ref = torch.nn.Linear(3, 2)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(layer.weight.numpy()))
        ref.bias.copy_(torch.from_numpy(layer.bias.numpy()))
    layer.weight.data.mul_(0.5)
    ref.weight.data.mul_(0.5)
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
    opt, topt = gn.optim.SGD(layer.parameters(), lr=0.1), torch.optim.SGD(ref.parameters(), 0.1)
    for lib, model, o in ((gn, layer, opt), (torch, ref, topt)):
        o.zero_grad()
        model(lib.tensor(x)).pow(2).sum().backward()
        o.step()
    np.testing.assert_allclose(layer.weight.numpy(), ref.weight.detach().numpy(),
                               rtol=1e-5, atol=1e-7)
    assert isinstance(layer.weight, gn.nn.Parameter)
