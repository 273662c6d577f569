"""The conv input gradient's per-tap adds by the compiled ``shift_add`` (ops/_fast.py, C via cffi,
one- and multi-thread) give bit-identical gradients to NumPy's strided adds, and both match
PyTorch, for strides, dilations, paddings and kernel shapes."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.nn import functional as F
from glassnet.ops import _fast
from glassnet.ops import conv as conv_ops

pytest.importorskip("cffi", reason="the compiled kernels need cffi (glassnet[fast])")
_fast.use(True)
if _fast.kernels() is None:
    pytest.skip(f"no compiled kernels here: {_fast.status()['why']}", allow_module_level=True)

CASES = [((64, 32, 14, 14), (64, 32, 3, 3), 1, 1, 1), ((3, 4, 9, 11), (5, 4, 3, 2), 2, (1, 2), 1),
         ((2, 3, 10, 10), (4, 3, 3, 3), 1, 2, 2), ((2, 2, 7, 8), (3, 2, 2, 4), (2, 1), 0, 1),
         ((1, 8, 6, 6), (2, 8, 5, 5), 1, "same", 1)]


def _input_grad(x, w, stride, padding, dilation, g):
    xt = gn.tensor(x, requires_grad=True)
    y = F.conv2d(xt, gn.tensor(w), stride=stride, padding=padding, dilation=dilation)
    y.backward(gn.tensor(g))
    return xt.grad.numpy()


@pytest.mark.parametrize("xs,ws,stride,padding,dilation", CASES)
def test_shift_add_equals_numpy_and_torch(xs, ws, stride, padding, dilation, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    y = torch.nn.functional.conv2d(xt, torch.tensor(w), stride=stride, padding=padding,
                                   dilation=dilation)
    g = rng.standard_normal(tuple(y.shape)).astype(np.float32)
    y.backward(torch.tensor(g))
    monkeypatch.setattr(conv_ops, "FAST_MIN", 0)        # the kernels for every size here
    monkeypatch.setattr(conv_ops, "_blocked_kernels", lambda *a: None)   # the shift_add path
    results = []
    for enabled, par_min in ((True, _fast.PARALLEL_MIN), (True, 1 << 40), (False, 0)):
        monkeypatch.setattr(_fast, "PARALLEL_MIN", par_min)
        _fast.use(enabled)
        try:
            results.append(_input_grad(x, w, stride, padding, dilation, g))
        finally:
            _fast.use(True)
    for r in results[1:]:
        np.testing.assert_array_equal(results[0], r)
    np.testing.assert_allclose(results[0], xt.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape,k,s,d", [((2, 9, 11, 8), (3, 3), (1, 1), (1, 1)),
                                         ((3, 10, 7, 16), (2, 3), (2, 1), (1, 2)),
                                         ((1, 12, 12, 32), (3, 3), (2, 2), (2, 1))])
def test_compiled_im2col_equals_the_window_copy(shape, k, s, d, monkeypatch):
    """The compiled patch matrix (one- and multi-thread) is the NumPy window view's copy;
    below ``FAST_MIN`` values the NumPy copy runs (one image stays on NumPy)."""
    from glassnet.ops.conv import im2col, windows
    xpad = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    out_hw = tuple((n - dd * (kk - 1) - 1) // ss + 1 for n, kk, ss, dd in
                   zip(shape[1:3], k, s, d))
    want = windows(xpad, k, s, d, out_hw).reshape(-1, k[0] * k[1] * shape[3])
    monkeypatch.setattr(conv_ops, "FAST_MIN", 0)
    for par_min in (_fast.PARALLEL_MIN, 1 << 40):
        monkeypatch.setattr(_fast, "PARALLEL_MIN", par_min)
        np.testing.assert_array_equal(im2col(xpad, k, s, d, out_hw), want)
        ones = im2col(xpad, k, s, d, out_hw, ones_column=True)     # the bias column too
        np.testing.assert_array_equal(ones, np.hstack([want, np.ones((len(want), 1), "f4")]))
    monkeypatch.setattr(conv_ops, "FAST_MIN", 1 << 40)             # NumPy's copy: the same
    np.testing.assert_array_equal(im2col(xpad, k, s, d, out_hw, ones_column=True), ones)


def test_small_arrays_stay_on_numpy(monkeypatch):
    calls = []
    monkeypatch.setattr(_fast, "step_kernel", lambda *a: calls.append(a))
    x = gn.tensor(np.ones((1, 32, 14, 14), np.float32), requires_grad=True)
    F.conv2d(x, gn.tensor(np.ones((64, 32, 3, 3), np.float32)), padding=1).sum().backward()
    assert calls == []
