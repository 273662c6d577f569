"""SGD's compiled one-pass update (ops/kernels/optim.c through ops.fused.sgd_update) against
PyTorch: θ and the momentum buffer with momentum, dampening, weight decay and Nesterov; used
for float32 parameters of SGD_MIN_ELEMENTS or more, never for smaller ones or float64."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.ops import _fast
from glassnet.ops.fused import SGD_MIN_ELEMENTS, sgd_update

pytest.importorskip("cffi", reason="the compiled kernels need cffi (glassnet[fast])")
_fast.use(True)
if _fast.kernels() is None:
    pytest.skip(f"no compiled kernels here: {_fast.status()['why']}", allow_module_level=True)

BIG = SGD_MIN_ELEMENTS + 5


@pytest.fixture
def loaded():
    _fast.use(True)
    _fast._used.clear()
    yield
    _fast.use(True)


def _trajectories(n, steps=10, dtype=np.float32, **kw):
    """θ and the momentum buffer after each step, glassnet and PyTorch."""
    rng = np.random.default_rng(n)
    start = rng.standard_normal(n).astype(dtype)
    p = gn.nn.Parameter(gn.tensor(start.copy()))
    tp = torch.nn.Parameter(torch.tensor(start.copy()))
    opt, topt = gn.optim.SGD([p], **kw), torch.optim.SGD([tp], **kw)
    ours, theirs = [], []
    for _ in range(steps):
        g = rng.standard_normal(n).astype(dtype)
        p.grad, tp.grad = gn.tensor(g.copy()), torch.tensor(g.copy())
        opt.step()
        topt.step()
        b = opt.state[p].get("momentum_buffer") if p in opt.state else None
        tb = topt.state[tp].get("momentum_buffer")
        ours.append([p.detach().numpy().copy(), None if b is None else np.array(b)])
        theirs.append([tp.detach().numpy().copy(), None if tb is None else tb.numpy().copy()])
    return ours, theirs


CONFIGS = [dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9, dampening=0.2),
           dict(lr=0.05, momentum=0.8, weight_decay=0.01),
           dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.02)]


@pytest.mark.parametrize("kw", CONFIGS)
def test_compiled_update_follows_torch(loaded, kw):
    ours, theirs = _trajectories(BIG, **kw)
    assert "sgd" in _fast.status()["ops"]
    for t, ((th, b), (tth, tb)) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(th, tth, rtol=1e-6, atol=1e-7, err_msg=f"θ, step {t + 1}")
        if "momentum" in kw:
            np.testing.assert_allclose(b, tb, rtol=1e-6, atol=1e-7, err_msg=f"b, step {t + 1}")
    # PyTorch's vectorised kernels fuse the same multiply-adds: nearly every element is equal
    off = np.mean(ours[-1][0] != theirs[-1][0])
    assert off < 0.01, f"{off:.1%} of θ differ from PyTorch after 10 steps"


def test_the_comparison_can_fail(loaded):
    ours, _ = _trajectories(BIG, steps=2, lr=0.05, momentum=0.8)
    _, theirs = _trajectories(BIG, steps=2, lr=0.05, momentum=0.9)
    assert not np.allclose(ours[-1][0], theirs[-1][0], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("n, dtype", [(SGD_MIN_ELEMENTS - 1, np.float32), (BIG, np.float64)])
def test_small_and_float64_parameters_keep_the_other_path(loaded, n, dtype):
    ours, theirs = _trajectories(n, steps=3, dtype=dtype, lr=0.05, momentum=0.9)
    assert "sgd" not in _fast.status()["ops"]
    np.testing.assert_allclose(ours[-1][0], theirs[-1][0], rtol=1e-5, atol=1e-6)


def test_parallel_and_serial_kernels_agree(loaded):
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(50_000).astype(np.float32) for _ in range(3)]
    one, two = [a.copy() for a in arrays], [a.copy() for a in arrays]
    f = np.float32
    k = _fast.kernels()
    for first in (True, False):
        k.sgd(*one, f(0.05), f(0.9), f(1.0), f(0.01), first, True)
        k.sgd_par(*two, f(0.05), f(0.9), f(1.0), f(0.01), first, True)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def test_refuses_what_it_cannot_take(loaded):
    arrays = [np.ones(BIG, np.float32) for _ in range(3)]
    before = [a.copy() for a in arrays]
    strided = np.ones(2 * BIG, np.float32)[::2]
    for bad in ([strided] + arrays[1:], arrays[:2] + [np.ones(BIG, np.float64)],
                arrays[:2] + [np.ones(BIG - 1, np.float32)],
                [np.ones(SGD_MIN_ELEMENTS - 1, np.float32) for _ in range(3)]):
        assert sgd_update(*bad, False, 0.1, 0.9, 0.0, 0.0, False) is False
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(a, b)
    _fast.use(False)
    assert sgd_update(*arrays, False, 0.1, 0.9, 0.0, 0.0, False) is False    # kernels off
    _fast.use(True)
    assert sgd_update(*arrays, False, 0.1, 0.9, 0.0, 0.0, False) is True
    np.testing.assert_allclose(arrays[2], 1.9, rtol=1e-7)                     # b = 0.9·1 + 1
    np.testing.assert_allclose(arrays[0], 1 - 0.1 * 1.9, rtol=1e-7)
