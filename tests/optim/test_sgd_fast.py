"""SGD's compiled update (ops/kernels/optim.c through ops.fused.sgd_updates: all the float32
parameters of a group in one call) against PyTorch: θ and the momentum buffer with momentum,
dampening, weight decay and Nesterov, for groups of tensors whose sizes put the threads'
split points inside and between tensors; float64 parameters keep the other path."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.ops import _fast
from glassnet.ops.fused import sgd_takes, sgd_updates

pytest.importorskip("cffi", reason="the compiled kernels need cffi (glassnet[fast])")
_fast.use(True)
if _fast.kernels() is None:
    pytest.skip(f"no compiled kernels here: {_fast.status()['why']}", allow_module_level=True)

SIZES = (16_389, 3, 4_097, 1, 250)        # the split falls inside the first tensor, etc.


@pytest.fixture
def loaded():
    _fast.use(True)
    _fast._used.clear()
    yield
    _fast.use(True)


def _trajectories(sizes, steps=10, dtype=np.float32, late=(), **kw):
    """θ and the momentum buffers after each step, glassnet and PyTorch, one group of
    parameters; those in ``late`` get no gradient on the first step (their buffer starts
    later, beside parameters past their first step)."""
    rng = np.random.default_rng(sum(sizes))
    starts = [rng.standard_normal(n).astype(dtype) for n in sizes]
    ps = [gn.nn.Parameter(gn.tensor(s.copy())) for s in starts]
    tps = [torch.nn.Parameter(torch.tensor(s.copy())) for s in starts]
    opt, topt = gn.optim.SGD(ps, **kw), torch.optim.SGD(tps, **kw)
    ours, theirs = [], []
    for step in range(steps):
        for i, (p, tp) in enumerate(zip(ps, tps)):
            if step == 0 and i in late:
                p.grad = tp.grad = None
                continue
            g = rng.standard_normal(p.shape).astype(dtype)
            p.grad, tp.grad = gn.tensor(g.copy()), torch.tensor(g.copy())
        opt.step()
        topt.step()
        ours.append([(p.detach().numpy().copy(),
                      np.array(opt.state[p]["momentum_buffer"]) if "momentum" in kw and
                      p in opt.state else None) for p in ps])
        theirs.append([(tp.detach().numpy().copy(),
                        topt.state[tp]["momentum_buffer"].numpy().copy() if "momentum" in kw
                        and tp in topt.state else None) for tp in tps])
    return ours, theirs


CONFIGS = [dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9, dampening=0.2),
           dict(lr=0.05, momentum=0.8, weight_decay=0.01),
           dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.02)]


def _close(ours, theirs, kw, rtol=1e-6, atol=1e-7):
    for t, (mine, ref) in enumerate(zip(ours, theirs)):
        for i, ((th, b), (tth, tb)) in enumerate(zip(mine, ref)):
            np.testing.assert_allclose(th, tth, rtol=rtol, atol=atol,
                                       err_msg=f"θ of tensor {i}, step {t + 1}")
            if "momentum" in kw:
                assert (b is None) == (tb is None), f"buffer of tensor {i}, step {t + 1}"
                if b is not None:
                    np.testing.assert_allclose(b, tb, rtol=rtol, atol=atol,
                                               err_msg=f"b of tensor {i}, step {t + 1}")


@pytest.mark.parametrize("kw", CONFIGS)
def test_compiled_update_follows_torch(loaded, kw):
    ours, theirs = _trajectories(SIZES, **kw)
    assert "sgd" in _fast.status()["ops"]
    _close(ours, theirs, kw)
    # PyTorch's vectorised kernels fuse the same multiply-adds: nearly every element is equal
    off = np.mean(np.concatenate([a != b for (a, _), (b, _) in zip(ours[-1], theirs[-1])]))
    assert off < 0.01, f"{off:.1%} of θ differ from PyTorch after 10 steps"


@pytest.mark.parametrize("kw", CONFIGS[1:3])
def test_a_buffer_that_starts_late_beside_running_ones(loaded, kw):
    ours, theirs = _trajectories(SIZES, steps=4, late=(0, 3), **kw)
    _close(ours, theirs, kw)
    assert ours[0][0][1] is None and ours[1][0][1] is not None


def test_the_comparison_can_fail(loaded):
    ours, _ = _trajectories(SIZES, steps=2, lr=0.05, momentum=0.8)
    _, theirs = _trajectories(SIZES, steps=2, lr=0.05, momentum=0.9)
    with pytest.raises(AssertionError):
        _close(ours, theirs, {"momentum": 0.9})


def test_a_small_group_keeps_numpy(loaded):
    """Fewer than FUSED_MIN elements in the group: NumPy's per-tensor passes (cheaper than
    the call there), still PyTorch's values within float32 rounding."""
    from glassnet.optim.sgd import FUSED_MIN
    sizes = (6, 3, 3, 1)
    assert sum(sizes) < FUSED_MIN <= sum(SIZES)
    ours, theirs = _trajectories(sizes, steps=5, lr=0.05, momentum=0.9)
    assert "sgd" not in _fast.status()["ops"]
    _close(ours, theirs, {"momentum": 0.9}, rtol=1e-5, atol=1e-6)


def test_float64_parameters_keep_the_other_path(loaded):
    ours, theirs = _trajectories(SIZES[:2], steps=3, dtype=np.float64, lr=0.05, momentum=0.9)
    assert "sgd" not in _fast.status()["ops"]
    _close(ours, theirs, {"momentum": 0.9}, rtol=1e-12, atol=1e-14)


def test_a_float64_parameter_beside_compiled_ones(loaded):
    """A parameter the kernel cannot take (float64) takes the NumPy path; the rest of its
    group still goes through the compiled call."""
    rng = np.random.default_rng(5)
    starts = [rng.standard_normal((80, 60)).astype(dt) for dt in (np.float64, np.float32)]
    ps = [gn.nn.Parameter(gn.tensor(s.copy())) for s in starts]
    tps = [torch.nn.Parameter(torch.tensor(s.copy())) for s in starts]
    opt = gn.optim.SGD(ps, lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(tps, lr=0.1, momentum=0.9)
    for _ in range(3):
        for p, tp in zip(ps, tps):
            g = rng.standard_normal((80, 60)).astype(p.array.dtype)
            p.grad, tp.grad = gn.tensor(g.copy()), torch.tensor(g.copy())
        opt.step()
        topt.step()
    assert "sgd" in _fast.status()["ops"]
    assert ps[0].array.dtype == np.float64
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-6,
                                   atol=1e-7)


def test_parallel_and_serial_kernels_agree(loaded):
    rng = np.random.default_rng(2)
    sizes = (50_001, 7, 12_345)
    arrays = [[rng.standard_normal(n).astype(np.float32) for n in sizes] for _ in range(3)]
    one = [[a.copy() for a in group] for group in arrays]
    two = [[a.copy() for a in group] for group in arrays]
    f = np.float32
    k = _fast.kernels()
    for first in (True, False):
        k.sgd(*one, f(0.05), f(0.9), f(1.0), f(0.01), first, True)
        k.sgd_par(*two, f(0.05), f(0.9), f(1.0), f(0.01), first, True)
    for ga, gb in zip(one, two):
        for a, b in zip(ga, gb):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(one[0][0], arrays[0][0])


def test_what_the_compiled_call_takes(loaded):
    n = 1000
    ok = [np.ones(n, np.float32) for _ in range(3)]
    assert sgd_takes(*ok) and sgd_takes(ok[0], ok[1], None)
    strided = np.ones(2 * n, np.float32)[::2]
    readonly = np.ones(n, np.float32)
    readonly.flags.writeable = False
    for bad in ([strided] + ok[1:], ok[:2] + [np.ones(n, np.float64)],
                ok[:2] + [np.ones(n - 1, np.float32)], [readonly] + ok[1:]):
        assert not sgd_takes(*bad)
    _fast.use(False)
    assert not sgd_takes(*ok)                                      # kernels off
    _fast.use(True)
    sgd_updates([ok[0]], [ok[1]], [ok[2]], False, 0.1, 0.9, 0.0, 0.0, False)
    np.testing.assert_allclose(ok[2], 1.9, rtol=1e-7)              # b = 0.9·1 + 1
    np.testing.assert_allclose(ok[0], 1 - 0.1 * 1.9, rtol=1e-7)
