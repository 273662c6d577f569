"""CTC loss vs torch.nn.functional.ctc_loss, the plain references and float64 central
differences; greedy and prefix-beam decoding on sequences with known answers."""
import itertools
import math

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn
from glassnet.apps.ctc_decode import greedy_decode, prefix_beam_search
from glassnet.nn import functional as F
from glassnet.ops.ctc_ref import collapse, ctc_nll_bruteforce, ctc_nll_ref

# (T, C, targets padded, input lengths, target lengths): repeated labels (1 1, 3 3 3),
# length 0, a sample shorter than T, a label at every position.
CASE = (12, 5, [[1, 1, 2, 0], [3, 0, 0, 0], [3, 3, 3, 0], [4, 3, 2, 1], [2, 0, 0, 0]],
        [12, 10, 12, 7, 5], [3, 0, 3, 4, 1])


def both(x, targets, il, tl, dtype=np.float64, concat=False, **kw):
    """Loss and d loss / d logits from glassnet and torch (log_softmax in front of both)."""
    if concat:
        targets = np.concatenate([np.asarray(t)[:k] for t, k in zip(targets, tl)])
    xg = gn.tensor(x.astype(dtype), requires_grad=True)
    lg = F.ctc_loss(xg.log_softmax(2), targets, il, tl, **kw)
    xt = torch.tensor(x.astype(dtype), requires_grad=True)
    lt = torch.nn.functional.ctc_loss(xt.log_softmax(2), torch.tensor(np.asarray(targets)),
                                      torch.tensor(il), torch.tensor(tl), **kw)
    return lg, xg, lt, xt


@pytest.mark.parametrize("reduction,concat,dtype",
                         list(itertools.product(["none", "sum", "mean"], [False, True],
                                                [np.float64, np.float32])))
def test_ctc_matches_torch_values_and_gradients(reduction, concat, dtype):
    T, C, targets, il, tl = CASE
    x = np.random.default_rng(0).normal(size=(T, len(il), C)) * 2
    lg, xg, lt, xt = both(x, targets, il, tl, dtype, concat, reduction=reduction)
    assert lg.array.dtype == dtype
    tol = 1e-10 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(lg.array, lt.detach().numpy(), rtol=tol, atol=tol)
    w = np.random.default_rng(1).normal(size=lg.shape)          # a weighted sum for 'none'
    (lg * gn.tensor(w.astype(dtype))).sum().backward()
    (lt * torch.tensor(w.astype(dtype))).sum().backward()
    np.testing.assert_allclose(xg.grad, xt.grad.numpy(), rtol=tol * 10, atol=tol * 10)
    assert not xg.grad.array[il[3]:, 3].any()                       # frames past T_n: no gradient


def test_ctc_layer_blank_not_zero_and_unbatched():
    T, C = 9, 4
    x = np.random.default_rng(2).normal(size=(T, 2, C))
    targets, il, tl = [[0, 1, 1], [2, 0, 0]], [9, 8], [3, 2]
    lg = nn.CTCLoss(blank=3, reduction="none")(gn.tensor(x).log_softmax(2), targets, il, tl)
    lt = torch.nn.CTCLoss(blank=3, reduction="none")(torch.tensor(x).log_softmax(2),
                                                      torch.tensor(targets), il, tl)
    np.testing.assert_allclose(lg.array, lt.numpy(), rtol=1e-10)
    one = F.ctc_loss(gn.tensor(x[:, 0]).log_softmax(1), [0, 1, 1], [9], [3], blank=3)
    ref = torch.nn.functional.ctc_loss(torch.tensor(x[:, 0]).log_softmax(1),
                                       torch.tensor([0, 1, 1]), [9], [3], blank=3)
    assert one.shape == () and abs(float(one.array) - float(ref)) < 1e-10


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_impossible_alignment(zero_infinity):
    # sample 0 needs 5 frames for 1 1 2 (a blank between the 1s) but gets 3; sample 1 is fine
    x = np.random.default_rng(3).normal(size=(6, 2, 3))
    targets, il, tl = [[1, 1, 2], [2, 1, 0]], [3, 6], [3, 2]
    lg, xg, lt, xt = both(x, targets, il, tl, reduction="none", zero_infinity=zero_infinity)
    np.testing.assert_allclose(lg.array, lt.detach().numpy(), rtol=1e-10)
    if not zero_infinity:
        assert lg.array[0] == np.inf and np.isfinite(lg.array[1])
        return
    assert lg.array[0] == 0
    lg.sum().backward()
    lt.sum().backward()
    np.testing.assert_allclose(xg.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    assert not xg.grad.array[:, 0].any()


def test_finite_differences_float64_on_log_probs():
    """The gradient is the true derivative w.r.t. log_probs (not PyTorch's exp(lp) − γ)."""
    T, C, targets, il, tl = CASE
    lp = np.random.default_rng(4).normal(size=(T, len(il), C))     # need not be normalised
    w = np.random.default_rng(5).normal(size=len(il))

    def f(a):
        return float((F.ctc_loss(gn.tensor(a), targets, il, tl, reduction="none").array * w).sum())
    x = gn.tensor(lp, requires_grad=True)
    (F.ctc_loss(x, targets, il, tl, reduction="none") * gn.tensor(w)).sum().backward()
    num = np.zeros_like(lp)
    eps = 1e-6
    for i in np.ndindex(lp.shape):
        d = np.zeros_like(lp)
        d[i] = eps
        num[i] = (f(lp + d) - f(lp - d)) / (2 * eps)
    np.testing.assert_allclose(x.grad, num, rtol=1e-6, atol=1e-8)


def test_kernel_matches_loop_reference_and_brute_force():
    rng = np.random.default_rng(6)
    for target, T in [([1, 1], 4), ([2, 1, 2], 5), ([], 3), ([1], 1), ([2, 2], 3)]:
        lp = np.log(rng.dirichlet(np.ones(3), size=T))             # (T, C=3)
        ours = float(F.ctc_loss(gn.tensor(lp[:, None]), [target + [0] * (3 - len(target))],
                                [T], [len(target)], reduction="none").array[0])
        ref, brute = ctc_nll_ref(lp, target), ctc_nll_bruteforce(lp, target)
        assert math.isclose(ref, brute, rel_tol=1e-12, abs_tol=1e-12) or ref == brute == math.inf
        assert math.isclose(ours, brute, rel_tol=1e-10, abs_tol=1e-12) or ours == brute


@pytest.mark.parametrize("call,match", [
    (lambda x: F.ctc_loss(x, [[1, 5]], [4], [2]), "label 5"),
    (lambda x: F.ctc_loss(x, [[1, 0]], [4], [2]), "label 0"),             # the blank
    (lambda x: F.ctc_loss(x, [[1, 2]], [9], [2]), "input_lengths"),
    (lambda x: F.ctc_loss(x, [[1, 2]], [4], [3]), "target_lengths"),
    (lambda x: F.ctc_loss(x, [1, 2, 3], [4], [2]), "targets"),
    (lambda x: F.ctc_loss(x, [[1, 2]], [4, 4], [2, 2]), "input_lengths"),
    (lambda x: F.ctc_loss(x, [[1.5, 2]], [4], [2]), "targets"),
    (lambda x: F.ctc_loss(x, [[1, 2]], [4], [2], reduction="avg"), "reduction"),
    (lambda x: F.ctc_loss(x, [[1, 2]], [4], [2], blank=7), "blank"),
    (lambda x: nn.CTCLoss(blank=-1), "blank"),
])
def test_bad_arguments_are_named(call, match):
    x = gn.tensor(np.zeros((4, 1, 3), np.float32))
    with pytest.raises((ValueError, TypeError), match=match):
        call(x)


# -- decoding -------------------------------------------------------------------------------
def test_greedy_decode_known_answers():
    p = np.array([[.1, .8, .1], [.1, .8, .1], [.8, .1, .1], [.1, .8, .1], [.1, .1, .8],
                  [.1, .1, .8]])                       # 1 1 _ 1 2 2
    assert greedy_decode(np.log(p)) == [1, 1, 2]
    batch = np.stack([np.log(p), np.log(p[::-1])], axis=1)                    # (T, 2, C)
    assert greedy_decode(batch, lengths=[3, 6]) == [[1], [2, 1, 1]]
    assert greedy_decode(gn.tensor(np.log(p)), blank=1) == [0, 2]
    with pytest.raises(ValueError, match="lengths"):
        greedy_decode(batch, lengths=[7, 1])


def test_prefix_beam_search_beats_best_path():
    # best path is blank blank (p .36) but p("1") = .64 summed over 3 alignments
    lp = np.log([[.6, .4], [.6, .4]])
    assert greedy_decode(lp) == []
    labels, logp = prefix_beam_search(lp, beam_width=4)
    assert labels == [1] and math.isclose(logp, math.log(.64))


def test_prefix_beam_search_matches_exhaustive_search():
    rng = np.random.default_rng(7)
    for _ in range(5):
        lp = np.log(rng.dirichlet(np.ones(3) * 0.7, size=5))          # (T=5, C=3)
        scores = {}
        for path in itertools.product(range(3), repeat=5):
            key = tuple(collapse(path))
            scores[key] = scores.get(key, 0.0) + math.exp(sum(lp[t, k] for t, k in
                                                              enumerate(path)))
        best = max(scores, key=scores.get)
        labels, logp = prefix_beam_search(lp, beam_width=64)
        assert tuple(labels) == best
        assert math.isclose(logp, math.log(scores[best]), rel_tol=1e-9)
        assert math.isclose(-logp, ctc_nll_ref(lp, labels), rel_tol=1e-9)


def test_prefix_beam_search_arguments():
    with pytest.raises(ValueError, match="beam_width"):
        prefix_beam_search(np.zeros((3, 2)), beam_width=0)
    with pytest.raises(ValueError, match="one sequence"):
        prefix_beam_search(np.zeros((3, 1, 2)))
