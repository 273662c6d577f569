"""The optional compiled max-pool kernel (ops/_fast.py, C via cffi) against the NumPy path and
PyTorch: identical values and gradients, ties to the first maximum, NaN like PyTorch; and
the NumPy path still runs when the kernels are off."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.ops import _fast
from glassnet.ops import pool as pool_ops
from glassnet.ops.pool import max_pool2d

pytest.importorskip("cffi", reason="the compiled kernels need cffi (glassnet[fast])")
_fast.use(True)
if _fast.kernels() is None:
    pytest.skip(f"no compiled kernels here: {_fast.status()['why']}", allow_module_level=True)


@pytest.fixture
def fast_on(monkeypatch):
    monkeypatch.setattr(pool_ops, "FAST_POOL_MIN", 0)    # the kernel for every size here
    _fast.use(True)
    yield
    _fast.use(True)


def _channels_last(a_nchw):
    """A leaf holding a_nchw in channels-last memory (like every conv output), and the
    (N, C, H, W) view of it that goes into the pool."""
    leaf = gn.tensor(np.ascontiguousarray(a_nchw.transpose(0, 2, 3, 1)), requires_grad=True)
    return leaf, leaf.permute(0, 3, 1, 2)


def _run(a, k, g, enabled):
    _fast.use(enabled)
    _fast._used.clear()
    leaf, x = _channels_last(a)
    y = max_pool2d(x, k)
    y.backward(gn.tensor(g))
    return y.array, leaf.grad.array.transpose(0, 3, 1, 2)


CASES = [((2, 3, 4, 6), 2, np.float32), ((3, 32, 28, 28), 2, np.float32),
         ((2, 5, 9, 6), 3, np.float32), ((1, 1, 4, 4), 2, np.float64),
         ((2, 4, 6, 4), (3, 2), np.float32)]


@pytest.mark.parametrize("shape,k,dt", CASES)
@pytest.mark.parametrize("data", ["normal", "ties"])
def test_fast_equals_numpy_path_and_torch(fast_on, shape, k, dt, data):
    rng = np.random.default_rng(0)
    if data == "ties":      # ReLU'd values on a coarse grid: many equal maxima, many zeros
        a = np.maximum(rng.integers(-2, 3, shape), 0).astype(dt)
    else:
        a = rng.standard_normal(shape).astype(dt)
    kk = (k, k) if isinstance(k, int) else k
    g = rng.standard_normal((shape[0], shape[1], shape[2] // kk[0],
                             shape[3] // kk[1])).astype(dt)
    y_fast, gx_fast = _run(a, k, g, True)
    assert _fast.status()["enabled"] and "max_pool2d" in _fast.status()["ops"]
    y_np, gx_np = _run(a, k, g, False)
    assert y_fast.dtype == y_np.dtype == dt
    np.testing.assert_array_equal(y_fast, y_np)
    np.testing.assert_array_equal(gx_fast, gx_np)
    xt = torch.tensor(a, requires_grad=True)
    yt = torch.nn.functional.max_pool2d(xt, k)
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(y_fast, yt.detach().numpy())
    np.testing.assert_allclose(gx_fast, xt.grad.numpy(), rtol=0, atol=0)


def test_fast_nan_and_inf_like_torch(fast_on):
    a = np.array([[[[1.0, np.nan, 3.0, -np.inf],
                    [np.nan, 0.5, -np.inf, -np.inf],
                    [2.0, 2.0, np.inf, 1.0],
                    [2.0, -1.0, 0.0, np.inf]]]], np.float32)
    g = np.arange(1, 5, dtype=np.float32).reshape(1, 1, 2, 2)
    y_fast, gx_fast = _run(a, 2, g, True)
    xt = torch.tensor(a, requires_grad=True)
    yt = torch.nn.functional.max_pool2d(xt, 2)
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(y_fast, yt.detach().numpy())      # NaN == NaN here
    np.testing.assert_array_equal(gx_fast, xt.grad.numpy())
    y_np, gx_np = _run(a, 2, g, False)
    np.testing.assert_array_equal(y_fast, y_np)
    np.testing.assert_array_equal(gx_fast, gx_np)


def test_kernels_off_or_not_applicable_use_numpy(fast_on):
    _fast.use(False)
    assert _fast.kernels() is None and not _fast.status()["enabled"]
    x = gn.randn(2, 3, 4, 4, requires_grad=True)
    max_pool2d(x, 2).sum().backward()               # the NumPy path, same op
    assert x.grad.shape == (2, 3, 4, 4)
    _fast.use(True)
    # NCHW memory, padding, overlapping windows: not tiled channels-last, NumPy path again
    for kwargs in ({}, {"padding": 1}, {"stride": 1}):
        a = np.random.default_rng(1).standard_normal((2, 3, 6, 6)).astype(np.float32)
        y = max_pool2d(gn.tensor(a), 2, **kwargs)
        ref = torch.nn.functional.max_pool2d(torch.tensor(a), 2, **kwargs)
        np.testing.assert_array_equal(y.array, ref.numpy())


def test_small_inputs_stay_on_numpy():
    """Below FAST_POOL_MIN elements (one image) the NumPy path runs: the kernels cost
    would cost ~110 MB of RSS for ~10 µs."""
    _fast.use(True)
    _fast._used.clear()
    a = np.random.default_rng(1).standard_normal((1, 8, 8, 8)).astype(np.float32)
    assert a.size < pool_ops.FAST_POOL_MIN
    leaf, x = _channels_last(a)
    y = max_pool2d(x, 2)
    assert "max_pool2d" not in _fast.status()["ops"]
    ref = torch.nn.functional.max_pool2d(torch.from_numpy(a), 2)
    np.testing.assert_array_equal(y.array, ref.numpy())


def test_large_pools_split_rows_over_threads_where_allowed(fast_on):
    """The (3, 32, 28, 28) case above runs the ``_par`` kernels (rows over OpenMP threads)
    where ``parallel_rows()`` allows, the small ones the one-thread kernels: both compared
    bit for bit with the NumPy path there."""
    ns = _fast.kernels()
    par = _fast.parallel_rows()
    big = _fast.step_kernel("max_pool_tiled", 3 * 32 * 28 * 28)
    assert big is (ns.max_pool_tiled_par if par else ns.max_pool_tiled)
    assert _fast.step_kernel("max_pool_tiled", 2 * 3 * 4 * 6) is ns.max_pool_tiled


@pytest.mark.parametrize("shape,k,dt", CASES)
@pytest.mark.parametrize("data", ["normal", "ties", "nan"])
def test_inference_kernel_equals_numpy_and_torch(shape, k, dt, data):
    """Without a graph the pool is the compiled max pass (no winner index), one thread for
    one image and threaded from FAST_POOL_MIN elements: the same values as the np.maximum
    path and PyTorch, NaN windows included."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal(shape).astype(dt)
    if data == "ties":
        a = np.maximum(rng.integers(-2, 3, shape), 0).astype(dt)
    elif data == "nan":
        a[rng.random(shape) < 0.1] = np.nan
    outs = []
    for enabled in (True, False):
        _fast.use(enabled)
        _fast._used.clear()
        with gn.no_grad():
            _, x = _channels_last(a)
            outs.append(max_pool2d(x, k).array)
        assert ("max_pool2d" in _fast.status()["ops"]) == enabled
    _fast.use(True)
    np.testing.assert_array_equal(outs[0], outs[1])
    ref = torch.nn.functional.max_pool2d(torch.from_numpy(a), k).numpy()
    np.testing.assert_array_equal(outs[0], ref)
