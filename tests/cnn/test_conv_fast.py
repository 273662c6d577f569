"""The conv input gradient's per-tap adds by the compiled ``shift_add`` (ops/_fast.py, numba,
one- and multi-thread) give bit-identical gradients to NumPy's strided adds, and both match
PyTorch, for strides, dilations, paddings and kernel shapes."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.nn import functional as F
from glassnet.ops import _fast

pytest.importorskip("numba", reason="the compiled kernels need numba (glassnet[fast])")

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
