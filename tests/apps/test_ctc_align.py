"""Class-prior alignment of CTC outputs (glassnet.apps.ctc_align): the weights solve the
balance equations (checked against scipy's root finder on the same equations), the
reweighting against torch.log_softmax, a model that hears one digit too often gets its
counts equalised, balanced input is left as it is, and bad input is refused by name."""
import numpy as np
import pytest
import torch
from scipy.optimize import root

from glassnet.apps.ctc_align import align_ctc_priors, ctc_prior_weights, reweight
from glassnet.apps.ctc_decode import greedy_decode


def softmax_rows(z):
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def random_utterances(seed, n=6, c=5, skew=None):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        z = rng.normal(0, 2, (int(rng.integers(3, 9)), c))
        if skew is not None:
            z += skew
        out.append(np.log(softmax_rows(z)))
    return out


@pytest.mark.parametrize("seed", range(3))
def test_weights_solve_the_balance_equations_like_scipy(seed):
    lps = random_utterances(seed, skew=np.array([1.0, 2.0, 0.0, -1.0, 0.5]))
    w = ctc_prior_weights(lps, tol=1e-10)
    p = np.exp(np.concatenate(lps))
    blank_mass, c = p[:, 0].sum(), p.shape[1]
    target = (len(p) - blank_mass) / (c - 1)

    def residual(log_w):                       # the non-blank masses of q minus the target
        q = softmax_rows(np.log(p) + np.concatenate([[0.0], log_w]))
        return q[:, 1:].sum(0) - target

    oracle = root(residual, np.zeros(c - 1), tol=1e-12)
    assert oracle.success
    assert w[0] == 1.0
    np.testing.assert_allclose(w[1:], np.exp(oracle.x), rtol=1e-6)
    q = np.exp(np.concatenate([reweight(s, w) for s in lps]))
    np.testing.assert_allclose(q[:, 1:].sum(0), target, rtol=1e-8)
    assert q[:, 0].sum() == pytest.approx(blank_mass, rel=1e-8)   # the blank keeps its mass
    np.testing.assert_allclose(q.sum(1), 1.0)
    ratio = q / p                              # q_t(c) ∝ w_c·p_t(c): one factor per frame
    np.testing.assert_allclose(ratio / ratio[:, :1], np.broadcast_to(w, p.shape), rtol=1e-9)


def test_reweight_matches_torch_log_softmax():
    rng = np.random.default_rng(0)
    lp = np.log(softmax_rows(rng.normal(0, 3, (7, 11))))
    w = rng.uniform(0.2, 5.0, 11)
    want = torch.log_softmax(torch.tensor(lp) + torch.log(torch.tensor(w)), -1).numpy()
    np.testing.assert_allclose(reweight(lp, w), want, atol=1e-12)
    log_q, weights = align_ctc_priors(random_utterances(1, c=11))
    assert len(log_q) == 6 and weights.shape == (11,)


def spikes(true_digits, confusion, width=2, gap=3):
    """CTC-like outputs (11 classes) of an utterance saying ``true_digits``: blank frames
    (0.97 blank) between spikes of ``width`` frames whose posterior is the row
    ``confusion[d]`` (blank 0.1, 0.9 shared among the heard digits)."""
    rows = []
    for d in true_digits:
        rows += [np.r_[0.97, np.full(10, 0.003)]] * gap
        rows += [confusion[d]] * width
    rows += [np.r_[0.97, np.full(10, 0.003)]] * gap
    p = np.array(rows)
    return np.log(p / p.sum(1, keepdims=True))


def confusion_rows(hear_3_as_5: float):
    rows = {}
    for d in range(10):
        r = np.full(11, 0.001)
        r[0], r[d + 1] = 0.1, 0.9
        rows[d] = r
    if hear_3_as_5:                                  # "3" heard as "5"
        rows[3][4], rows[3][6] = 0.9 * (1 - hear_3_as_5), 0.9 * hear_3_as_5
    return rows


def test_a_model_that_favours_one_digit_gets_its_counts_equalised():
    rng = np.random.default_rng(0)
    seq = np.concatenate([rng.permutation(10) for _ in range(20)])
    said = [list(seq[i:i + 4]) for i in range(0, 200, 4)]       # every digit 20 times
    counts = np.bincount(np.concatenate(said), minlength=10)
    assert (counts == 20).all()
    lps = [spikes(s, confusion_rows(0.6)) for s in said]
    heard = np.bincount(np.concatenate([greedy_decode(lp) for lp in lps]), minlength=11)[1:]
    assert heard[3] == 0 and heard[5] == 40                      # every "3" heard as "5"
    log_q, w = align_ctc_priors(lps)
    assert w[4] > 1 > w[6]                                       # 3 up, 5 down
    aligned = [[k - 1 for k in greedy_decode(lp)] for lp in log_q]
    assert aligned == [list(s) for s in said]                    # every string right
    q = np.exp(np.concatenate(log_q))
    mass = q[:, 1:].sum(0)
    np.testing.assert_allclose(mass, mass.mean(), rtol=1e-5)


def test_balanced_input_is_left_as_it_is():
    rng = np.random.default_rng(1)
    seq = np.concatenate([rng.permutation(10) for _ in range(20)])
    said = [list(seq[i:i + 5]) for i in range(0, 200, 5)]       # every digit 20 times
    lps = [spikes(s, confusion_rows(0.0)) for s in said]
    log_q, w = align_ctc_priors(lps)
    np.testing.assert_allclose(w, 1.0, atol=1e-6)
    for a, b in zip(log_q, lps):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_alignment_keeps_the_non_blank_mass_and_uses_no_label():
    lps = random_utterances(4, n=3, c=11)
    w = ctc_prior_weights(lps)
    p, q = (np.exp(np.concatenate(x)) for x in (lps, [reweight(s, w) for s in lps]))
    assert q[:, 1:].sum() == pytest.approx(p[:, 1:].sum(), rel=1e-6)
    # the same frames in another order and grouping: the same weights (no utterance
    # identity, no label, only the frames' posteriors)
    frames = np.concatenate(lps)[::-1]
    np.testing.assert_allclose(ctc_prior_weights([frames[:5], frames[5:]]), w, rtol=1e-9)


def test_blank_other_than_zero():
    lps = random_utterances(2, c=4)
    w = ctc_prior_weights(lps, blank=2, tol=1e-10)
    assert w[2] == 1.0
    q = np.exp(np.concatenate([reweight(s, w) for s in lps]))
    nb = q[:, [0, 1, 3]].sum(0)
    np.testing.assert_allclose(nb, nb.mean(), rtol=1e-8)


@pytest.mark.parametrize("bad, msg", [
    ([], "at least one"),
    ([np.zeros((3, 4)), np.zeros((2, 5))], "same C"),
    ([np.zeros(4)], "shape"),
    ([np.full((2, 3), np.nan)], "NaN"),
    ([np.full((2, 3), -np.inf)], "no finite value"),
])
def test_bad_log_probs_are_refused_by_name(bad, msg):
    with pytest.raises(ValueError, match=rf"ctc_prior_weights\(log_probs\).*{msg}"):
        ctc_prior_weights(bad)


def test_bad_blank_and_weights_are_refused_by_name():
    lp = np.log(np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match=r"ctc_prior_weights\(blank=3\).*\[0, 3\)"):
        ctc_prior_weights(lp, blank=3)
    for w in ([1.0, 2.0], [1.0, 0.0, 1.0], [1.0, np.inf, 1.0]):
        with pytest.raises(ValueError, match=r"reweight\(weights\).*positive finite"):
            reweight(lp, w)
