"""clip_grad_norm_ and clip_grad_value_ against torch.nn.utils."""
import math

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.nn.utils import clip_grad_norm_, clip_grad_value_

SHAPES = [(4, 3), (3,), (2, 5)]


def _pair(scale, seed=0, with_none=False):
    rng = np.random.default_rng(seed)
    grads = [(scale * rng.standard_normal(s)).astype(np.float32) for s in SHAPES]
    gp, tp = [], []
    for i, (s, g) in enumerate(zip(SHAPES, grads)):
        a = gn.tensor(np.zeros(s, np.float32), requires_grad=True)
        b = torch.zeros(s, requires_grad=True)
        if not (with_none and i == 1):
            a.grad, b.grad = gn.tensor(g.copy()), torch.from_numpy(g.copy())
        gp.append(a)
        tp.append(b)
    return gp, tp


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("scale,max_norm", [(1.0, 1.0), (0.01, 1.0), (5.0, 0.5)])
def test_clip_grad_norm_matches_torch(norm_type, scale, max_norm):
    gp, tp = _pair(scale, with_none=(norm_type == 3.0))
    total = clip_grad_norm_(gp, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type=norm_type)
    assert isinstance(total, gn.Tensor) and total.dtype == np.float32 and total.shape == ()
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-6)
    for a, b in zip(gp, tp):
        if b.grad is None:
            assert a.grad is None
            continue
        assert a.grad.array.dtype == np.float32
        np.testing.assert_allclose(a.grad.array, b.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_clip_grad_norm_single_tensor_empty_and_nonfinite():
    p = gn.tensor(np.zeros(3, np.float32), requires_grad=True)
    p.grad = gn.tensor(np.array([3.0, 4.0, 0.0], np.float32))
    assert clip_grad_norm_(p, 1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad.array, [0.6, 0.8, 0.0], rtol=1e-5)
    assert clip_grad_norm_([], 1.0).item() == 0.0
    p.grad = gn.tensor(np.array([np.inf, 1.0, 0.0], np.float32))
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


def test_clip_grad_value_matches_torch():
    gp, tp = _pair(2.0, with_none=True)
    clip_grad_value_(gp, 0.7)
    torch.nn.utils.clip_grad_value_(tp, 0.7)
    for a, b in zip(gp, tp):
        if b.grad is not None:
            np.testing.assert_array_equal(a.grad.array, b.grad.numpy())
    assert np.abs(gp[0].grad.array).max() == pytest.approx(0.7)


def test_non_tensor_parameter_is_rejected():
    with pytest.raises(TypeError, match=r"clip_grad_norm_\(parameters\): expected Tensors"):
        clip_grad_norm_([np.zeros(3)], 1.0)
