"""Huber, SmoothL1 and KL-divergence losses, and the gradient of every loss w.r.t. its target
(and its weights), against PyTorch on the same inputs and float64 finite differences."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn
from glassnet.nn import functional as F

RNG = np.random.default_rng(14)
pytestmark = pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
TF = torch.nn.functional


def _both(gn_fn, torch_fn, arrays, grads, atol=1e-5, **kw):
    """Run the loss in both frameworks; ``grads[i]``: array i requires grad. Compares the
    value and, after backward with a random upstream gradient, every requested gradient."""
    g_in = [gn.tensor(a, requires_grad=r) for a, r in zip(arrays, grads)]
    t_in = [torch.tensor(a, requires_grad=r) for a, r in zip(arrays, grads)]
    out_g, out_t = gn_fn(*g_in, **kw), torch_fn(*t_in, **kw)
    np.testing.assert_allclose(out_g.numpy(), out_t.detach().numpy(), rtol=1e-5, atol=atol)
    up = RNG.standard_normal(out_t.shape).astype(np.float32) + 1.5
    out_g.backward(gn.tensor(up))
    out_t.backward(torch.tensor(up))
    for i, (a, b) in enumerate(zip(g_in, t_in)):
        if not grads[i]:
            continue
        assert a.grad is not None, f"argument {i} got no gradient"
        ref = b.grad.numpy()
        scale = max(1.0, float(np.abs(ref[np.isfinite(ref)]).max(initial=0)))
        np.testing.assert_allclose(a.grad.numpy(), ref, rtol=1e-4, atol=atol * scale,
                                   err_msg=f"gradient of argument {i}")
        assert a.grad.dtype == arrays[i].dtype


def _gradcheck64(fn, arrays, eps=1e-6):
    """Analytic gradients of a scalar ``fn(*tensors)`` vs central differences, in float64."""
    ts = [gn.tensor(a, requires_grad=True) for a in arrays]
    fn(*ts).backward()
    for k, a in enumerate(arrays):
        num = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            hi, lo = [x.copy() for x in arrays], [x.copy() for x in arrays]
            hi[k][i] += eps
            lo[k][i] -= eps
            num[i] = (fn(*map(gn.tensor, hi)).item() - fn(*map(gn.tensor, lo)).item()) / (2 * eps)
        np.testing.assert_allclose(ts[k].grad.numpy(), num, rtol=1e-5, atol=1e-7,
                                   err_msg=f"argument {k}")


def _pair(shape=(4, 5), spread=2.0):
    return (RNG.standard_normal(shape).astype(np.float32) * spread,
            RNG.standard_normal(shape).astype(np.float32) * spread)


# -- Huber, SmoothL1, KLDiv ----------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("delta", [1.0, 0.3, 2.5])
def test_huber_loss(reduction, delta):
    x, t = _pair((3, 4, 5))
    _both(F.huber_loss, TF.huber_loss, [x, t], [True, True], reduction=reduction, delta=delta)


def test_huber_and_smooth_l1_at_the_kink():
    x = np.array([0.0, 1.0, -1.0, 0.5, 2.0], np.float32)
    t = np.array([0.0, 0.0, 0.0, 0.0, 1.5], np.float32)      # |d| = 0, δ, δ, δ/2, δ/2
    _both(F.huber_loss, TF.huber_loss, [x, t], [True, True], reduction="sum", delta=1.0)
    _both(F.smooth_l1_loss, TF.smooth_l1_loss, [x, t], [True, True], reduction="sum", beta=1.0)
    _both(F.smooth_l1_loss, TF.smooth_l1_loss, [x, t], [True, True], reduction="sum", beta=0.0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("beta", [1.0, 0.25, 0.0])
def test_smooth_l1_loss(reduction, beta):
    x, t = _pair((6, 3))
    _both(F.smooth_l1_loss, TF.smooth_l1_loss, [x, t], [True, True], reduction=reduction,
          beta=beta)


def _log_probs(shape):
    z = RNG.standard_normal(shape)
    return (z - np.log(np.exp(z).sum(-1, keepdims=True))).astype(np.float32)


@pytest.mark.parametrize("reduction", ["batchmean", "mean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    x, lt = _log_probs((4, 6)), _log_probs((4, 6))
    t = lt if log_target else np.exp(lt).astype(np.float32)
    _both(F.kl_div, TF.kl_div, [x, t], [True, True], reduction=reduction,
          log_target=log_target)


def test_kl_div_zero_target_entries_match_torch():
    """t = 0 contributes 0 to the loss and −t = 0 to ∂/∂x; ∂/∂t is NaN there in PyTorch."""
    x = _log_probs((3, 4))
    t = np.array([[0.5, 0.5, 0, 0], [1, 0, 0, 0], [0.25, 0.25, 0.25, 0.25]], np.float32)
    _both(F.kl_div, TF.kl_div, [x, t], [True, False], reduction="batchmean")
    g, tt = gn.tensor(t, requires_grad=True), torch.tensor(t, requires_grad=True)
    F.kl_div(gn.tensor(x), g, reduction="sum").backward()
    TF.kl_div(torch.tensor(x), tt, reduction="sum").backward()
    np.testing.assert_array_equal(np.isnan(g.grad.numpy()), np.isnan(tt.grad.numpy()))
    ok = ~np.isnan(tt.grad.numpy())
    np.testing.assert_allclose(g.grad.numpy()[ok], tt.grad.numpy()[ok], rtol=1e-5)


def test_new_losses_float64_finite_differences():
    x, t = (RNG.standard_normal((3, 4)) * 2 for _ in range(2))
    _gradcheck64(lambda a, b: F.huber_loss(a, b, delta=0.7), [x, t])
    _gradcheck64(lambda a, b: F.smooth_l1_loss(a, b, beta=0.4, reduction="sum"), [x, t])
    lx = _log_probs((3, 4)).astype(np.float64)
    lt = _log_probs((3, 4)).astype(np.float64)
    _gradcheck64(lambda a, b: F.kl_div(a, b, reduction="batchmean"), [lx, np.exp(lt)])
    _gradcheck64(lambda a, b: F.kl_div(a, b, reduction="mean", log_target=True), [lx, lt])


def test_loss_modules_match_torch_modules():
    x, t = _pair((5, 3))
    lx, lt = _log_probs((5, 3)), _log_probs((5, 3))
    cases = [(nn.HuberLoss(delta=0.5), torch.nn.HuberLoss(delta=0.5), x, t),
             (nn.SmoothL1Loss(reduction="sum", beta=2.0),
              torch.nn.SmoothL1Loss(reduction="sum", beta=2.0), x, t),
             (nn.KLDivLoss(reduction="batchmean", log_target=True),
              torch.nn.KLDivLoss(reduction="batchmean", log_target=True), lx, lt)]
    for ours, theirs, a, b in cases:
        _both(ours, theirs, [a, b], [True, True])
    assert "delta" in repr(nn.HuberLoss(delta=0.5)) or nn.HuberLoss(delta=0.5).delta == 0.5


def test_new_loss_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"HuberLoss\(delta=0\).*> 0"):
        nn.HuberLoss(delta=0)
    with pytest.raises(ValueError, match=r"huber_loss\(delta=-1\.0\)"):
        F.huber_loss(gn.zeros(2), gn.zeros(2), delta=-1.0)
    with pytest.raises(ValueError, match=r"SmoothL1Loss\(beta=-0\.5\).*>= 0"):
        nn.SmoothL1Loss(beta=-0.5)
    with pytest.raises(TypeError, match=r"smooth_l1_loss\(beta='1'\)"):
        F.smooth_l1_loss(gn.zeros(2), gn.zeros(2), beta="1")
    with pytest.raises(ValueError, match=r"KLDivLoss\(reduction='avg'\).*batchmean"):
        nn.KLDivLoss(reduction="avg")
    with pytest.raises(ValueError, match=r"kl_div\(reduction='batch'\)"):
        F.kl_div(gn.zeros(2), gn.zeros(2), reduction="batch")
    with pytest.raises(ValueError, match=r"huber_loss: input \(2, 3\) and target \(4,\)"):
        F.huber_loss(gn.zeros(2, 3), gn.zeros(4))
    with pytest.raises(TypeError, match="HuberLoss.*floating"):
        nn.HuberLoss()(gn.tensor([1, 2]), gn.tensor([1.0, 2.0]))


# -- gradients w.r.t. the target (and weights) ---------------------------------------------------
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_target_and_weight_gradients(reduction, weighted):
    p = RNG.uniform(0.02, 0.98, (4, 3)).astype(np.float32)
    t = RNG.uniform(0, 1, (4, 3)).astype(np.float32)
    arrays, grads = [p, t], [True, True]
    if weighted:          # PyTorch refuses a weight that requires grad here (see gradcheck64)
        arrays.append(RNG.uniform(0.5, 2, (3,)).astype(np.float32))
        grads.append(False)
    _both(lambda a, b, *w: F.binary_cross_entropy(a, b, *w, reduction=reduction),
          lambda a, b, *w: TF.binary_cross_entropy(a, b, *w, reduction=reduction),
          arrays, grads)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight, pos_weight", [(False, False), (True, False), (False, True),
                                                (True, True)])
def test_bce_with_logits_target_weight_and_pos_weight_gradients(reduction, weight, pos_weight):
    x = (RNG.standard_normal((5, 3)) * 4).astype(np.float32)
    x[0, 0], x[1, 1] = 30.0, -30.0                          # saturated logits stay exact
    t = RNG.uniform(0, 1, (5, 3)).astype(np.float32)
    w = RNG.uniform(0.5, 2, (5, 1)).astype(np.float32)     # broadcast over classes
    pw = RNG.uniform(0.5, 3, (3,)).astype(np.float32)

    extra = ([w] if weight else []) + ([pw] if pos_weight else [])

    def call(fn):
        def f(a, b, *rest):
            rest = list(rest)
            return fn(a, b, weight=rest.pop(0) if weight else None,
                      pos_weight=rest.pop(0) if pos_weight else None, reduction=reduction)
        return f
    # PyTorch refuses weight/pos_weight that require grad: those are checked by gradcheck64
    _both(call(F.binary_cross_entropy_with_logits), call(TF.binary_cross_entropy_with_logits),
          [x, t] + extra, [True, True] + [False] * len(extra))


@pytest.mark.parametrize("smoothing", [0.0, 0.15])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_probability_target_gradient(smoothing, weighted, reduction):
    x = RNG.standard_normal((6, 4)).astype(np.float32) * 2
    q = RNG.random((6, 4)).astype(np.float32)
    q /= q.sum(1, keepdims=True)
    w = RNG.uniform(0.5, 2, 4).astype(np.float32) if weighted else None
    kw = dict(label_smoothing=smoothing, reduction=reduction)
    _both(lambda a, b: F.cross_entropy(a, b, weight=None if w is None else gn.tensor(w), **kw),
          lambda a, b: TF.cross_entropy(a, b, weight=None if w is None else torch.tensor(w),
                                        **kw), [x, q], [True, True])


def test_cross_entropy_spatial_probability_target_gradient():
    x = RNG.standard_normal((2, 3, 4, 2)).astype(np.float32)
    q = RNG.random((2, 3, 4, 2)).astype(np.float32)
    _both(lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1),
          lambda a, b: TF.cross_entropy(a, b, label_smoothing=0.1), [x, q], [True, True])


def test_target_gradient_alone_when_input_is_constant():
    """Only the target requires grad (e.g. learning a soft label): it still gets one."""
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    q = RNG.random((3, 4)).astype(np.float32)
    _both(F.cross_entropy, TF.cross_entropy, [x, q], [False, True])
    _both(F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits, [x, q],
          [False, True])
    _both(F.mse_loss, TF.mse_loss, [x, q], [False, True])


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_target_gradients(name, reduction):
    x, t = _pair((4, 3))
    _both(getattr(F, name), getattr(TF, name), [x, t], [True, True], reduction=reduction)


def test_target_gradients_float64_finite_differences():
    x = RNG.standard_normal((3, 4)) * 2
    t = RNG.uniform(0.05, 0.95, (3, 4))
    q = RNG.random((3, 4))
    w, pw = RNG.uniform(0.5, 2, 4), RNG.uniform(0.5, 3, 4)
    _gradcheck64(lambda a, b, c, d: F.binary_cross_entropy_with_logits(a, b, c, pos_weight=d),
                 [x, t, w, pw])
    _gradcheck64(lambda a, b, c: F.binary_cross_entropy(F.sigmoid(a), b, c), [x, t, w])
    _gradcheck64(lambda a, b: F.cross_entropy(a, b, weight=gn.tensor(w), label_smoothing=0.2),
                 [x, q])
    _gradcheck64(lambda a, b: F.l1_loss(a, b, reduction="sum"), [x, t])


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_elementwise_weight_matches_torch(name, reduction):
    """PyTorch 2.13's ``weight=`` of mse/l1/huber (input's shape), its gradient included."""
    x, t = _pair((4, 3))
    w = RNG.uniform(0.2, 2.0, (4, 3)).astype(np.float32)
    _both(lambda a, b, c: getattr(F, name)(a, b, reduction=reduction, weight=c),
          lambda a, b, c: getattr(TF, name)(a, b, reduction=reduction, weight=c),
          [x, t, w], [True, True, True])


def test_elementwise_weight_shape_error_and_finite_differences():
    with pytest.raises(ValueError, match=r"mse_loss\(weight\): expected the input's shape "
                                         r"\(2, 3\), got \(3,\)"):
        F.mse_loss(gn.zeros(2, 3), gn.zeros(2, 3), weight=gn.ones(3))
    x, t, w = RNG.standard_normal((3, 4)) * 2, RNG.standard_normal((3, 4)), RNG.random((3, 4))
    _gradcheck64(lambda a, b, c: F.huber_loss(a, b, delta=0.8, weight=c), [x, t, w])
