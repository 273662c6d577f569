"""Every loss against PyTorch (values and input gradients), all reductions and options."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.nn import functional as F

RNG = np.random.default_rng(0)


def _compare(gn_fn, torch_fn, x, *consts, atol=1e-5):
    xg = gn.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out_g = gn_fn(xg, *[gn.tensor(c) if isinstance(c, np.ndarray) else c for c in consts])
    out_t = torch_fn(xt, *[torch.tensor(c) if isinstance(c, np.ndarray) else c for c in consts])
    np.testing.assert_allclose(out_g.numpy(), out_t.detach().numpy(), rtol=1e-5, atol=atol)
    up = RNG.standard_normal(out_t.shape).astype(x.dtype)
    out_g.backward(gn.tensor(up))
    out_t.backward(torch.tensor(up))
    scale = max(1.0, float(np.abs(xt.grad.numpy()).max()))
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=atol * scale)
    assert xg.grad.dtype == x.dtype


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [False, True])
def test_cross_entropy_indices(reduction, smoothing, weighted, ignore):
    x = RNG.standard_normal((7, 5)).astype(np.float32) * 3
    y = RNG.integers(0, 5, 7)
    if ignore:
        y[[1, 4]] = -100
    w = RNG.random(5).astype(np.float32) + 0.5 if weighted else None
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    _compare(lambda a, t: F.cross_entropy(a, t, weight=None if w is None else gn.tensor(w), **kw),
             lambda a, t: torch.nn.functional.cross_entropy(
                 a, t, weight=None if w is None else torch.tensor(w), **kw), x, y)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_spatial(reduction):
    x = RNG.standard_normal((2, 4, 3, 5)).astype(np.float32)
    y = RNG.integers(0, 4, (2, 3, 5))
    _compare(lambda a, t: F.cross_entropy(a, t, reduction=reduction),
             lambda a, t: torch.nn.functional.cross_entropy(a, t, reduction=reduction), x, y)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_probabilities(smoothing):
    x = RNG.standard_normal((6, 4)).astype(np.float32)
    p = RNG.random((6, 4)).astype(np.float32)
    p /= p.sum(1, keepdims=True)
    _compare(lambda a, t: F.cross_entropy(a, t, label_smoothing=smoothing),
             lambda a, t: torch.nn.functional.cross_entropy(a, t, label_smoothing=smoothing),
             x, p)


def test_cross_entropy_stable_for_huge_logits():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]], dtype=np.float32)
    y = np.array([1, 1])
    _compare(F.cross_entropy, torch.nn.functional.cross_entropy, x, y)
    xg = gn.tensor(x, requires_grad=True)
    loss = F.cross_entropy(xg, y)
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(xg.grad.numpy()).all()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(reduction, weighted):
    x = np.log(RNG.random((6, 3)).astype(np.float32) + 0.1)
    y = RNG.integers(0, 3, 6)
    y[2] = -100
    w = RNG.random(3).astype(np.float32) + 0.5 if weighted else None
    _compare(lambda a, t: F.nll_loss(a, t, weight=w, reduction=reduction),
             lambda a, t: torch.nn.functional.nll_loss(
                 a, t, weight=None if w is None else torch.tensor(w), reduction=reduction),
             x, y)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
def test_regression_losses(name, reduction):
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    t = RNG.standard_normal((4, 3)).astype(np.float32)
    _compare(lambda a, b: getattr(F, name)(a, b, reduction=reduction),
             lambda a, b: getattr(torch.nn.functional, name)(a, b, reduction=reduction), x, t)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_bce(reduction, weighted):
    p = RNG.uniform(0.01, 0.99, (5, 3)).astype(np.float32)
    t = (RNG.random((5, 3)) > 0.5).astype(np.float32)
    w = RNG.random((5, 3)).astype(np.float32) if weighted else None
    _compare(lambda a, b: F.binary_cross_entropy(a, b, weight=w, reduction=reduction),
             lambda a, b: torch.nn.functional.binary_cross_entropy(
                 a, b, weight=None if w is None else torch.tensor(w), reduction=reduction),
             p, t)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("pos_weight", [False, True])
def test_bce_with_logits(reduction, pos_weight):
    x = (RNG.standard_normal((5, 3)) * 4).astype(np.float32)
    x[0, 0], x[1, 1] = 1e4, -1e4
    t = (RNG.random((5, 3)) > 0.5).astype(np.float32)
    pw = RNG.random(3).astype(np.float32) + 0.5 if pos_weight else None
    _compare(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction,
                                                             pos_weight=pw),
             lambda a, b: torch.nn.functional.binary_cross_entropy_with_logits(
                 a, b, reduction=reduction,
                 pos_weight=None if pw is None else torch.tensor(pw)), x, t)


def test_loss_modules_match_functional():
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    y = RNG.integers(0, 3, 4)
    assert gn.nn.CrossEntropyLoss()(gn.tensor(x), gn.tensor(y)).item() == pytest.approx(
        torch.nn.CrossEntropyLoss()(torch.tensor(x), torch.tensor(y)).item(), rel=1e-6)
    assert gn.nn.MSELoss(reduction="sum")(gn.tensor(x), gn.tensor(x * 2)).item() == \
        pytest.approx(float((x ** 2).sum()), rel=1e-5)


def _gradcheck64(fn, x, eps=1e-6):
    xg = gn.tensor(x, requires_grad=True)
    fn(xg).backward()
    num = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        num[i] = (fn(gn.tensor(xp)).item() - fn(gn.tensor(xm)).item()) / (2 * eps)
    np.testing.assert_allclose(xg.grad.numpy(), num, rtol=1e-5, atol=1e-7)


def test_losses_pass_float64_finite_differences():
    x = RNG.standard_normal((4, 3))
    y = RNG.integers(0, 3, 4)
    t = RNG.random((4, 3))
    w = RNG.random(3) + 0.5
    _gradcheck64(lambda a: F.cross_entropy(a, y, weight=w, label_smoothing=0.1), x)
    _gradcheck64(lambda a: F.nll_loss(a, y), x)
    _gradcheck64(lambda a: F.mse_loss(a, t), x)
    _gradcheck64(lambda a: F.binary_cross_entropy_with_logits(a, t), x)
    _gradcheck64(lambda a: F.binary_cross_entropy(F.sigmoid(a), t), x)
    _gradcheck64(lambda a: F.l1_loss(a, t), x)


def test_loss_errors_name_the_problem():
    x = gn.tensor(RNG.standard_normal((4, 3)).astype(np.float32))
    with pytest.raises(ValueError, match="out of range for 3 classes"):
        F.cross_entropy(x, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"expected target of shape \(4,\)"):
        F.cross_entropy(x, np.array([0, 1]))
    with pytest.raises(ValueError, match="reduction"):
        gn.nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="probabilities"):
        F.binary_cross_entropy(x, np.zeros((4, 3), np.float32))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse_is_one_node_with_the_composed_value_and_torchs_gradient(reduction):
    """mse_loss without weight, same shapes: one graph node; its value equals the composed
    ops' (x − t)², then mean/sum, bit for bit; the gradient is PyTorch's (x − t)·(2/n·g)."""
    x = RNG.standard_normal((7, 5)).astype(np.float32)
    t = RNG.standard_normal((7, 5)).astype(np.float32)
    a, b = gn.tensor(x, requires_grad=True), gn.tensor(t, requires_grad=True)
    loss = F.mse_loss(a, b, reduction=reduction)
    assert loss._op == "MseLossBackward" and loss._parents == (a, b)
    d = gn.tensor(x) - gn.tensor(t)
    composed = (d * d).mean() if reduction == "mean" else (d * d).sum()
    assert loss.item() == composed.item()
    loss.backward()
    ta, tb = torch.tensor(x, requires_grad=True), torch.tensor(t, requires_grad=True)
    torch.nn.functional.mse_loss(ta, tb, reduction=reduction).backward()
    np.testing.assert_array_equal(a.grad.numpy(), ta.grad.numpy())
    np.testing.assert_array_equal(b.grad.numpy(), tb.grad.numpy())
