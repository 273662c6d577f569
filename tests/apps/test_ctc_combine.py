"""Combining CTC models by whole strings (glassnet.apps.ctc_combine): each string's exact
probability against PyTorch's ctc_loss and the plain recursion, the mixture's choice
against a brute-force rescoring, ties, impossible strings and the errors."""
import itertools

import numpy as np
import pytest
import torch

from glassnet.apps.ctc_combine import combine_strings, string_log_probs
from glassnet.ops.ctc_ref import ctc_nll_bruteforce, ctc_nll_ref


def log_probs(rng, t, c=5, scale=2.0):
    return torch.log_softmax(torch.tensor(rng.normal(scale=scale, size=(t, c))), -1).numpy()


def test_string_log_probs_match_pytorch_and_the_recursion():
    rng = np.random.default_rng(0)
    lps = [log_probs(rng, t) for t in (1, 3, 7, 12, 5, 6)]
    strings = [[], [2, 2], [3, 3, 1], [4, 1, 4, 1], [1], [2, 3, 4]]
    got = string_log_probs(lps, strings)
    assert got.shape == (6,) and got.dtype == np.float64
    for lp, s, g in zip(lps, strings, got):
        want = -torch.nn.functional.ctc_loss(
            torch.tensor(lp)[:, None], torch.tensor([s or [1]]), [len(lp)], [len(s)],
            reduction="none").item()
        assert g == pytest.approx(want, abs=1e-10) and g == pytest.approx(-ctc_nll_ref(lp, s),
                                                                          abs=1e-10)
    tiny = log_probs(rng, 3, 3)
    assert string_log_probs([tiny], [[1, 2]])[0] == pytest.approx(
        -ctc_nll_bruteforce(tiny, [1, 2]), abs=1e-12)


def test_the_probabilities_of_all_strings_sum_to_one():
    lp = log_probs(np.random.default_rng(1), 3, 3)
    strings = [list(s) for n in range(4) for s in itertools.product((1, 2), repeat=n)]
    total = np.exp(string_log_probs([lp] * len(strings), strings)).sum()
    assert total == pytest.approx(1.0, abs=1e-12)


def test_an_impossible_string_and_another_blank():
    lp = log_probs(np.random.default_rng(2), 2)
    assert string_log_probs([lp], [[1, 1]])[0] == -np.inf        # needs 3 frames
    alt = string_log_probs([lp], [[0, 2]], blank=4)[0]
    assert alt == pytest.approx(-ctc_nll_ref(lp, [0, 2], blank=4), abs=1e-12)
    assert string_log_probs([], []).shape == (0,)


def brute_choice(member_lps, member_strings, i):
    cands = []
    for strings in member_strings:
        if strings[i] not in cands:
            cands.append(strings[i])
    mix = [np.mean([np.exp(-ctc_nll_ref(lps[i], c)) for lps in member_lps]) for c in cands]
    return cands[int(np.argmax(mix))], max(mix)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_combine_strings_picks_the_mixtures_best_candidate(k):
    rng = np.random.default_rng(k)
    lens = [4, 9, 6, 11]
    member_lps = [[log_probs(rng, t) for t in lens] for _ in range(k)]
    member_strings = [[list(rng.integers(1, 5, size=rng.integers(0, 4))) for _ in lens]
                      for _ in range(k)]
    got, probs = combine_strings(member_lps, member_strings)
    assert probs.shape == (4,) and np.all((probs >= 0) & (probs <= 1))
    for i in range(4):
        want, p = brute_choice(member_lps, member_strings, i)
        assert got[i] == [int(c) for c in want] and probs[i] == pytest.approx(p, rel=1e-9)


def test_the_mixture_is_not_the_average_of_frames():
    sure0 = [np.log([[.98, .01, .01], [.01, .98, .01], [.98, .01, .01]])]   # spike at t=1
    sure1 = [np.log([[.01, .98, .01], [.98, .01, .01], [.98, .01, .01]])]   # spike at t=0
    strings, probs = combine_strings([sure0, sure1], [[[1]], [[1]]])
    assert strings == [[1]] and probs[0] > 0.9     # both members are sure of "1"


def test_ties_go_to_the_earliest_member_and_copies_are_the_member():
    lp = [np.log(np.full((4, 3), 1 / 3))]
    strings, _ = combine_strings([lp, lp], [[[1]], [[2]]])           # equal probability
    assert strings == [[1]]
    strings, _ = combine_strings([lp, lp], [[[2]], [[1]]])
    assert strings == [[2]]
    rng = np.random.default_rng(3)
    one = [log_probs(rng, 6, 3)]
    s1, p1 = combine_strings([one], [[[1, 2]]])
    s3, p3 = combine_strings([one] * 3, [[[1, 2]]] * 3)
    assert s1 == s3 == [[1, 2]] and p1[0] == pytest.approx(p3[0], rel=1e-12)
    assert p1[0] == pytest.approx(np.exp(-ctc_nll_ref(one[0], [1, 2])), rel=1e-9)


def test_errors_name_what_was_expected():
    lp = np.zeros((3, 4))
    with pytest.raises(ValueError, match="one string per utterance, got 2 strings for 1"):
        string_log_probs([lp], [[1], [2]])
    with pytest.raises(ValueError, match=r"expected \(T_i, C\) arrays.*\(3,\)"):
        string_log_probs([np.zeros(3)], [[1]])
    with pytest.raises(ValueError, match=r"labels in \[0, 4\) other than the blank 0"):
        string_log_probs([lp], [[0]])
    with pytest.raises(ValueError, match=r"labels in \[0, 4\)"):
        string_log_probs([lp], [[4]])
    with pytest.raises(ValueError, match="at least one member, got 0 outputs"):
        combine_strings([], [])
    with pytest.raises(ValueError, match=r"2 utterances from every member, got \[2, 1\]"):
        combine_strings([[lp, lp], [lp]], [[[1], [1]], [[1]]])
