"""Cross-entropy's compiled pass (ops/fused.cross_entropy_rows, ``ce_rows_f32`` in
ops/kernels/loss.c) against the NumPy path and PyTorch: loss and gradient for every reduction,
2-D and N-D logits, extreme and NaN logits, a second backward; ignored targets, weights,
label smoothing and float64 keep the NumPy path."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.ops import _fast

pytest.importorskip("cffi", reason="the compiled kernels need cffi (glassnet[fast])")
_fast.use(True)
if _fast.kernels() is None:
    pytest.skip(f"no compiled kernels here: {_fast.status()['why']}", allow_module_level=True)


def _both(x, t, **kw):
    """(loss, grad, ran the kernel) for glassnet with the kernels on and off, and PyTorch's."""
    out = []
    for enabled in (True, False):
        _fast.use(enabled)
        _fast._used.clear()
        xg = gn.tensor(x.copy(), requires_grad=True)
        loss = gn.nn.functional.cross_entropy(xg, gn.tensor(t), **kw)
        loss.backward(gn.tensor(np.ones(loss.shape, x.dtype)))
        out.append((loss.numpy(), xg.grad.numpy(), "cross_entropy" in _fast.status()["ops"]))
    _fast.use(True)
    xt = torch.tensor(x, requires_grad=True)
    lt = torch.nn.functional.cross_entropy(xt, torch.tensor(t), **kw)
    lt.backward(torch.ones_like(lt))
    return out[0], out[1], (lt.detach().numpy(), xt.grad.numpy())


@pytest.mark.parametrize("shape", [(128, 10), (2048, 65), (3, 1), (4, 7, 5)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_kernel_equals_numpy_path_and_torch(shape, reduction):
    rng = np.random.default_rng(len(shape) + shape[0])
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    t = rng.integers(0, shape[1], (shape[0],) + shape[2:]).astype(np.int64)
    fast, slow, ref = _both(x, t, reduction=reduction)
    assert fast[2] and not slow[2]
    for got in (fast, slow):
        np.testing.assert_allclose(got[0], ref[0], rtol=2e-6, atol=2e-6)
        np.testing.assert_allclose(got[1], ref[1], rtol=2e-5, atol=2e-7)


def test_extreme_and_nan_logits():
    x = np.array([[1e4, 0, -1e4], [-60, 80, 3], [np.nan, 1, 2], [np.inf, 0, 0]], np.float32)
    t = np.array([0, 2, 1, 0], np.int64)
    fast, slow, ref = _both(x, t, reduction="none")
    np.testing.assert_allclose(fast[0], ref[0], rtol=1e-6, atol=1e-6)   # NaN rows: NaN
    np.testing.assert_array_equal(np.isnan(fast[1]), np.isnan(ref[1]))
    finite = ~np.isnan(ref[1])
    np.testing.assert_allclose(fast[1][finite], ref[1][finite], rtol=1e-5, atol=1e-7)


def test_a_second_backward_gives_the_same_gradient():
    rng = np.random.default_rng(1)
    xg = gn.tensor(rng.standard_normal((6, 4)).astype(np.float32), requires_grad=True)
    loss = gn.nn.functional.cross_entropy(xg, gn.tensor(rng.integers(0, 4, 6)))
    assert "cross_entropy" in _fast.status()["ops"]
    loss.backward(retain_graph=True)
    first = xg.grad.numpy().copy()
    xg.grad = None
    loss.backward()
    np.testing.assert_array_equal(xg.grad.numpy(), first)


@pytest.mark.parametrize("kw", [dict(ignore_index=2), dict(label_smoothing=0.1),
                                dict(weight=np.arange(1, 6, dtype=np.float32))])
def test_other_options_keep_the_numpy_path(kw):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 5)).astype(np.float32)
    t = rng.integers(0, 5, 8).astype(np.int64)
    t[0] = 2
    gkw = {k: gn.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    _fast._used.clear()
    xg = gn.tensor(x, requires_grad=True)
    gn.nn.functional.cross_entropy(xg, gn.tensor(t), **gkw).backward()
    assert "cross_entropy" not in _fast.status()["ops"]
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.cross_entropy(xt, torch.tensor(t), **tkw).backward()
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_float64_keeps_the_numpy_path():
    _fast._used.clear()
    x = gn.tensor(np.ones((3, 4)), requires_grad=True)
    gn.nn.functional.cross_entropy(x, gn.tensor(np.array([0, 1, 3]))).backward()
    assert "cross_entropy" not in _fast.status()["ops"]


@pytest.mark.parametrize("bad", [5, -1])
def test_a_target_out_of_range_is_refused_by_name(bad):
    x = gn.tensor(np.zeros((4, 5), np.float32), requires_grad=True)
    t = np.array([0, 1, bad, 2], np.int64)
    with pytest.raises(ValueError, match=f"cross_entropy: target {bad} is out of range for 5"):
        gn.nn.functional.cross_entropy(x, gn.tensor(t))


def test_int32_targets_take_the_kernel():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((64, 10)).astype(np.float32)
    t = rng.integers(0, 10, 64).astype(np.int32)
    _fast._used.clear()
    xg = gn.tensor(x, requires_grad=True)
    gn.nn.functional.cross_entropy(xg, gn.tensor(t)).backward()
    assert "cross_entropy" in _fast.status()["ops"]
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.cross_entropy(xt, torch.tensor(t.astype(np.int64))).backward()
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=2e-5, atol=2e-7)
