"""The optional compiled ReLU kernel (ops/_fast.py, C via cffi) against the NumPy path and PyTorch:
identical values and gradients in channels-last and C-contiguous memory, NaN/inf/±0 like
PyTorch; small arrays, other layouts and kernels off still take the NumPy path."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.ops import _fast
from glassnet.ops.activation import relu

pytest.importorskip("cffi", reason="the compiled kernels need cffi (glassnet[fast])")
_fast.use(True)
if _fast.kernels() is None:
    pytest.skip(f"no compiled kernels here: {_fast.status()['why']}", allow_module_level=True)


@pytest.fixture
def fast_on():
    _fast.use(True)
    yield
    _fast.use(True)


def _data(shape, dt, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape).astype(dt)
    a.reshape(-1)[:6] = [np.nan, 0.0, -0.0, np.inf, -np.inf, 1e-30]
    a.reshape(-1)[6:200] = 0.0                          # the gradient's 0 at x = 0
    return a, rng.standard_normal(shape).astype(dt)


def _run(a, g, enabled, channels_last):
    """relu of a (N, C, H, W) held in channels-last memory (like every conv output) or in
    plain memory; returns output, gradient (as NCHW arrays) and the ops that ran a kernel."""
    _fast.use(enabled)
    _fast._used.clear()
    if channels_last:
        leaf = gn.tensor(np.ascontiguousarray(a.transpose(0, 2, 3, 1)), requires_grad=True)
        x = leaf.permute(0, 3, 1, 2)
    else:
        leaf = x = gn.tensor(a, requires_grad=True)
    y = relu(x)
    y.backward(gn.tensor(g))
    gx = leaf.grad.numpy()
    return y.numpy(), gx.transpose(0, 3, 1, 2) if channels_last else gx, _fast.status()["ops"]


@pytest.mark.parametrize("shape,dt", [((4, 8, 64, 64), np.float32), ((8, 32, 28, 28),
                                                                       np.float64),
                                      ((2, 8, 32, 40), np.float32)])   # one thread
@pytest.mark.parametrize("channels_last", [True, False])
def test_fast_equals_numpy_path_and_torch(fast_on, shape, dt, channels_last):
    a, g = _data(shape, dt)
    y_fast, gx_fast, ops = _run(a, g, True, channels_last)
    assert "relu" in ops
    y_np, gx_np, ops_np = _run(a, g, False, channels_last)
    assert "relu" not in ops_np
    assert y_fast.dtype == y_np.dtype == gx_fast.dtype == dt
    np.testing.assert_array_equal(y_fast, y_np)
    np.testing.assert_array_equal(gx_fast, gx_np)
    xt = torch.tensor(a, requires_grad=True)
    yt = torch.relu(xt)
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(y_fast, yt.detach().numpy())       # NaN == NaN here
    np.testing.assert_array_equal(gx_fast, xt.grad.numpy())
    assert np.isnan(y_fast.reshape(-1)[0]) and gx_fast.reshape(-1)[0] == g.reshape(-1)[0]


def test_gradient_in_another_layout(fast_on):
    """An incoming gradient in plain NCHW memory while the input was channels-last: the
    backward falls back to g·mask, still right."""
    a, g = _data((4, 8, 64, 64), np.float32, seed=1)
    _fast._used.clear()
    leaf = gn.tensor(np.ascontiguousarray(a.transpose(0, 2, 3, 1)), requires_grad=True)
    y = relu(leaf.permute(0, 3, 1, 2))
    assert "relu" in _fast.status()["ops"]
    y.backward(gn.tensor(np.ascontiguousarray(g)))
    xt = torch.tensor(a, requires_grad=True)
    torch.relu(xt).backward(torch.tensor(g))
    np.testing.assert_array_equal(leaf.grad.numpy().transpose(0, 3, 1, 2), xt.grad.numpy())


def test_small_strided_or_integer_input_uses_numpy(fast_on):
    rng = np.random.default_rng(2)
    wide = rng.standard_normal((4, 8, 64, 128)).astype(np.float32)
    cases = [(gn.tensor(wide[:1, :1]), wide[:1, :1]),                   # below the size
             (gn.tensor(wide)[..., ::2], wide[..., ::2]),               # strided view
             (gn.tensor(wide.astype(np.int64)), wide.astype(np.int64))]  # integers
    for x, a in cases:
        _fast._used.clear()
        y = relu(x)
        assert "relu" not in _fast.status()["ops"]
        np.testing.assert_array_equal(y.numpy(), torch.relu(torch.tensor(a)).numpy())
    assert cases[1][0].array.strides[-1] == 8          # the view really is strided


def test_dense_order_and_flat():
    a = np.zeros((2, 3, 4, 5), np.float32)
    assert _fast.dense_order(a) == (0, 1, 2, 3)
    cl = np.zeros((2, 4, 5, 3), np.float32).transpose(0, 3, 1, 2)
    assert _fast.dense_order(cl) == (0, 2, 3, 1)
    assert np.shares_memory(_fast.flat(cl), cl) and _fast.flat(cl).shape == (120,)
    assert _fast.dense_order(a[:, :, ::2]) is None and _fast.flat(a[:, :, ::2]) is None
    assert _fast.flat(a, (0, 2, 3, 1)) is None          # a is not channels-last
