"""Adam's compiled one-pass update (ops/_fast_optim.py through ops.fused.adam_update) against
PyTorch: the moments m and v bit for bit, θ to the ulp (PyTorch's float32 sqrt is not the
correctly rounded one); used for float32 parameters of MIN_ELEMENTS or more whatever the
process did before, never for smaller ones, AMSGrad or float64."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.ops import _fast
from glassnet.ops.fused import MIN_ELEMENTS, adam_update

pytest.importorskip("cffi", reason="the compiled kernels need cffi (glassnet[fast])")
_fast.use(True)
if _fast.kernels() is None:
    pytest.skip(f"no compiled kernels here: {_fast.status()['why']}", allow_module_level=True)


@pytest.fixture
def loaded():
    _fast.use(True)
    _fast._used.clear()
    yield
    _fast.use(True)


def _trajectories(n, steps=20, dtype=np.float32, name="Adam", **kw):
    """θ, m, v after each step, glassnet and PyTorch, the same start and gradients."""
    rng = np.random.default_rng(n)
    start = rng.standard_normal(n).astype(dtype)
    p = gn.nn.Parameter(gn.tensor(start.copy()))
    tp = torch.nn.Parameter(torch.tensor(start.copy()))
    opt, topt = getattr(gn.optim, name)([p], **kw), getattr(torch.optim, name)([tp], **kw)
    ours, theirs = [], []
    for _ in range(steps):
        g = rng.standard_normal(n).astype(dtype)
        p.grad, tp.grad = gn.tensor(g.copy()), torch.tensor(g.copy())
        opt.step()
        topt.step()
        s, ts = opt.state[p], topt.state[tp]
        ours.append([p.detach().numpy().copy(), s["exp_avg"].copy(), s["exp_avg_sq"].copy()])
        theirs.append([tp.detach().numpy().copy(), ts["exp_avg"].numpy().copy(),
                       ts["exp_avg_sq"].numpy().copy()])
    return ours, theirs


BIG = MIN_ELEMENTS + 3


@pytest.mark.parametrize("n", [BIG])
@pytest.mark.parametrize("name, kw, exact", [
    ("Adam", dict(lr=0.01), True),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.99), eps=1e-6), True),  # lerp's weight >= 0.5 form
    ("AdamW", dict(lr=0.01, weight_decay=0.3), True),            # decoupled: θ(1 − ηλ) first
    # L2 decay: PyTorch's g.add(θ, alpha=λ) is one fused multiply-add, glassnet's decayed
    # gradient rounds twice (optim/_update.py): the moments agree to float32 tolerance only
    ("Adam", dict(lr=0.01, weight_decay=0.1), False),
])
def test_compiled_update_follows_torch(loaded, n, name, kw, exact):
    ours, theirs = _trajectories(n, name=name, **kw)
    assert "adam" in _fast.status()["ops"]
    for t, ((th, m, v), (tth, tm, tv)) in enumerate(zip(ours, theirs)):
        if exact:
            np.testing.assert_array_equal(m, tm, err_msg=f"m, step {t + 1}")
            np.testing.assert_array_equal(v, tv, err_msg=f"v, step {t + 1}")
        else:
            np.testing.assert_allclose(m, tm, rtol=1e-5, atol=1e-7, err_msg=f"m, step {t + 1}")
            np.testing.assert_allclose(v, tv, rtol=1e-5, atol=1e-9, err_msg=f"v, step {t + 1}")
        np.testing.assert_allclose(th, tth, rtol=1e-6, atol=1e-7, err_msg=f"θ, step {t + 1}")
    if exact:
        off = np.mean(ours[-1][0] != theirs[-1][0])
        assert off < 0.02, f"{off:.1%} of θ differ from PyTorch after 20 steps"


def test_the_comparison_can_fail(loaded):
    """A different β2 must break the bit-for-bit comparison of v."""
    ours, _ = _trajectories(BIG, steps=2, lr=0.01, betas=(0.9, 0.99))
    _, theirs = _trajectories(BIG, steps=2, lr=0.01)
    assert not np.array_equal(ours[-1][2], theirs[-1][2])


def test_parallel_and_serial_kernels_agree(loaded):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(50_000).astype(np.float32) for _ in range(4)]
    arrays[3] = np.abs(arrays[3])
    one, two = [a.copy() for a in arrays], [a.copy() for a in arrays]
    f = np.float32
    args = (f(0.1), f(0.999), f(0.001), f(-0.01), f(0.3), f(1e-8))
    k = _fast.kernels()
    k.adam(one[0], one[1], one[2], one[3], *args)
    k.adam_par(two[0], two[1], two[2], two[3], *args)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name, kw, dtype", [("Adam", dict(lr=0.01, amsgrad=True), np.float32),
                                             ("Adam", dict(lr=0.01), np.float64)])
def test_amsgrad_and_float64_keep_the_other_path(loaded, name, kw, dtype):
    ours, theirs = _trajectories(BIG, steps=5, dtype=dtype, name=name, **kw)
    assert "adam" not in _fast.status()["ops"]
    np.testing.assert_allclose(ours[-1][0], theirs[-1][0], rtol=1e-5, atol=1e-6)


def test_small_parameters_keep_the_other_path_even_with_the_kernels_loaded(loaded):
    """The choice depends on the parameter alone, not on what loaded the kernels before: a resumed
    run takes the same path as the uninterrupted one in any process."""
    _fast.kernels()
    ours, theirs = _trajectories(MIN_ELEMENTS - 1, steps=3, lr=0.01)
    assert "adam" not in _fast.status()["ops"]
    np.testing.assert_allclose(ours[-1][0], theirs[-1][0], rtol=1e-5, atol=1e-6)


def test_the_same_bits_with_or_without_the_kernels_loaded_before(tmp_path):
    """Two fresh processes, one loading the kernels before training (a conv-sized ReLU), give
    the same Adam trajectory bit for bit."""
    import subprocess
    import sys
    code = ("import sys, numpy as np, glassnet as gn\n"
            "if sys.argv[1] == 'warm':\n"
            "    x = gn.tensor(np.ones((64, 32, 16, 16), np.float32), requires_grad=True)\n"
            "    gn.nn.functional.relu(x)\n"
            "rng = np.random.default_rng(0)\n"
            "for n in (1000, %d):\n"
            "    p = gn.nn.Parameter(gn.tensor(rng.standard_normal(n).astype(np.float32)))\n"
            "    opt = gn.optim.Adam([p], lr=0.01)\n"
            "    for _ in range(3):\n"
            "        p.grad = gn.tensor(rng.standard_normal(n).astype(np.float32))\n"
            "        opt.step()\n"
            "    np.save(sys.argv[2] + str(n), p.numpy())\n" % BIG)
    for mode in ("cold", "warm"):
        r = subprocess.run([sys.executable, "-c", code, mode, str(tmp_path / mode)],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
    for n in (1000, BIG):
        a, b = (np.load(tmp_path / f"{m}{n}.npy") for m in ("cold", "warm"))
        np.testing.assert_array_equal(a, b)


def test_refuses_what_it_cannot_take(loaded):
    arrays = [np.ones(BIG, np.float32) for _ in range(4)]
    before = [a.copy() for a in arrays]
    strided = np.ones(2 * BIG, np.float32)[::2]
    for bad in ([strided] + arrays[1:], arrays[:3] + [np.ones(BIG, np.float64)],
                arrays[:2] + [np.ones(BIG - 1, np.float32), arrays[3]],
                [np.ones(MIN_ELEMENTS - 1, np.float32) for _ in range(4)]):
        assert adam_update(*bad, 0.9, 0.999, 0.01, 1.0, 1e-8) is False
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(a, b)
    _fast.use(False)
    assert adam_update(*arrays, 0.9, 0.999, 0.01, 1.0, 1e-8) is False     # kernels off
    _fast.use(True)
    assert adam_update(*arrays, 0.9, 0.999, 0.01, 1.0, 1e-8) is True
    np.testing.assert_allclose(arrays[0], 1 - 0.01 / (1 + 1e-8), rtol=1e-7)   # θ − s·m/(√v + ε)
