"""Engine ops on every device (cpu, fake, cuda) against PyTorch, plus the Tensor device API."""
import numpy as np
import pytest
import torch

import glassnet as gn
from _devhelpers import check_op, close, host, on, rand

# (id, fn(lib, *tensors), input shapes, kwargs for rand); torch and glassnet share spelling
OPS = [
    ("add_broadcast", lambda L, a, b: a + b, [(3, 4), (4,)], {}),
    ("sub_mul_div", lambda L, a, b: (a - b) * a / (b.abs() + 1), [(3, 4), (3, 4)], {}),
    ("pow_scalar", lambda L, a: a ** 3, [(5,)], {}),
    ("pow_tensor", lambda L, a, b: a.abs() ** b, [(4,), (4,)], {"away": 0.3}),
    ("exp_log_sqrt", lambda L, a: L.log(L.exp(a) + 1).sqrt(), [(2, 5)], {}),
    ("clamp", lambda L, a: a.clamp(-0.5, 0.7), [(6,)], {}),
    ("maximum", lambda L, a, b: L.maximum(a, b), [(3, 4), (3, 4)], {}),
    ("where", lambda L, a, b: L.where(a > 0, a, b), [(3, 4), (3, 4)], {}),
    ("sum_mean", lambda L, a: a.sum(dim=1) + a.mean(dim=1), [(3, 5)], {}),
    ("max_dim", lambda L, a: a.max(dim=1)[0], [(4, 6)], {}),
    ("max_all", lambda L, a: a.max(), [(4, 6)], {}),
    ("var", lambda L, a: a.var(dim=0), [(5, 3)], {}),
    ("logsumexp", lambda L, a: L.logsumexp(a, dim=1), [(3, 7)], {}),
    ("matmul_batched", lambda L, a, b: a @ b, [(2, 3, 4), (4, 5)], {}),
    ("matmul_vec", lambda L, a, b: a @ b, [(4,), (4, 3)], {}),
    ("linear", lambda L, x, w, b: torch.nn.functional.linear(x, w, b) if L is torch
     else gn.ops.linear(x, w, b), [(5, 4), (3, 4), (3,)], {}),
    ("reshape_permute", lambda L, a: a.reshape(3, 8).permute(1, 0).reshape(2, 12),
     [(2, 3, 4)], {}),
    ("transpose_expand", lambda L, a: a.transpose(0, 1).unsqueeze(0).expand(2, 4, 3),
     [(3, 4)], {}),
    ("getitem_basic", lambda L, a: a[1:, ::2], [(4, 6)], {}),
    ("getitem_advanced", lambda L, a: a[L.tensor([0, 2, 2])], [(4, 3)], {}),
    ("cat_stack", lambda L, a, b: L.cat([a, L.stack([b, b]).sum(0)], 1), [(3, 2), (3, 4)], {}),
    ("pad_reflect", lambda L, a: torch.nn.functional.pad(a, (1, 2), mode="reflect")
     if L is torch else gn.pad(a, (1, 2), mode="reflect"), [(2, 5)], {}),
    ("repeat", lambda L, a: a.repeat(2, 3), [(2, 3)], {}),
    ("relu_sigmoid_tanh", lambda L, a: a.relu() + a.sigmoid() * a.tanh(), [(4, 5)], {}),
    ("gelu", lambda L, a: torch.nn.functional.gelu(a) if L is torch else gn.gelu(a),
     [(4, 5)], {}),
    ("leaky_relu", lambda L, a: torch.nn.functional.leaky_relu(a, 0.2) if L is torch
     else gn.leaky_relu(a, 0.2), [(4, 5)], {}),
    ("softmax_log_softmax", lambda L, a: a.softmax(-1) * a.log_softmax(-1), [(3, 6)], {}),
]


@pytest.mark.parametrize("op", OPS, ids=[o[0] for o in OPS])
def test_op_matches_torch_on_device(device, op):
    _, fn, shapes, kw = op
    check_op(device, fn, *[rand(*s, **kw) for s in shapes], atol=1e-5, rtol=1e-4)


def test_argmax_and_comparisons_stay_on_device(device):
    a = rand(4, 5)
    t = on(device, a)
    idx = t.argmax(dim=1)
    assert idx.device == device and idx.dtype == np.int64
    np.testing.assert_array_equal(host(idx), a.argmax(1))
    assert (t > 0).device == device
    assert float(t.sum()) == pytest.approx(float(a.sum()), rel=1e-5)
    assert t.max().item() == pytest.approx(float(a.max()))


def test_tensor_device_api(device):
    a = rand(2, 3)
    t = gn.tensor(a, device=device, requires_grad=True)
    assert t.device == device
    assert f"device='{device}'" in repr(t) if device != "cpu" else "device" not in repr(t)
    c = t.cpu()
    assert c.device == "cpu" and (c is t) == (device == "cpu")
    np.testing.assert_array_equal(t.numpy(), a)          # numpy() copies device -> host
    assert t.to(device) is t                              # no-op returns self
    d = t.to(device, np.float64)
    assert d.dtype == np.float64 and d.device == device
    # .to(device) is differentiable: the gradient comes back to the source device
    s = t.cpu().sum() * 2
    s.backward()
    assert t.grad.device == device
    np.testing.assert_array_equal(t.grad.numpy(), np.full((2, 3), 2, np.float32))


def test_factories_take_device(device):
    gn.manual_seed(3)
    r = gn.randn(2, 3, device=device)
    gn.manual_seed(3)
    r_cpu = gn.randn(2, 3)
    assert r.device == device
    np.testing.assert_array_equal(r.numpy(), r_cpu.numpy())   # host RNG: same numbers
    for t in (gn.zeros(2, 3, device=device), gn.ones((2,), device=device),
              gn.rand(3, device=device), gn.arange(4, device=device),
              gn.zeros_like(r), gn.ones_like(r)):
        assert t.device == device
    assert gn.zeros_like(r, device="cpu").device == "cpu"


def test_scalars_and_0d_cpu_tensors_join_the_device(device):
    t = on(device, rand(3))
    assert (t + 1.0).device == device and (2 * t).device == device
    y = t * gn.tensor(2.0)                    # a 0-d CPU tensor acts as a scalar (PyTorch)
    assert y.device == device


@pytest.mark.parametrize("op", ["add", "matmul", "cat", "where"])
def test_mixed_devices_raise_naming_op_and_devices(op):
    a, b = on("cpu", rand(3, 3)), on("fake", rand(3, 3))
    call = {"add": lambda: a + b, "matmul": lambda: a @ b, "cat": lambda: gn.cat([a, b]),
            "where": lambda: gn.where(a > 0, b, b)}[op]
    with pytest.raises(RuntimeError, match=rf"{op}\(\).*cpu and fake|{op}\(\).*fake and cpu"):
        call()


def test_backward_gradient_argument_may_come_from_host(device):
    t = on(device, rand(2, 2), grad=True)
    (t * 3).backward(np.ones((2, 2), np.float32))
    close(t.grad.numpy(), np.full((2, 2), 3.0))
