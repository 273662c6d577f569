"""glassnet.apps.speech_adapt: self-training on a new speaker's unlabelled recordings.

The selection is checked against a float64 softmax of the model's own logits (scipy), the
fine-tuning for determinism and for its use of the pseudo-labels, and ``train_speech`` with
``adapt_rounds`` on a slice of FSDD for never reading the held-out speaker's labels."""

import numpy as np
import pytest
from scipy.special import softmax

from glassnet.apps import speech as S
from glassnet.apps.speech_adapt import (align_to_uniform, class_probabilities, confident,
                                        self_train)
from glassnet.io import load_weights
from glassnet.tensor import Tensor, manual_seed, no_grad
from tests.apps.speech_helpers import DATA, needs_data


def _tiny(seed=0):
    manual_seed(seed)
    return S.SpeechDigitNet(6, 3, channels=4, hidden=4, dropout=0.2)


def _inputs(rng, n, length=12, dim=6):
    x = np.zeros((n, length, dim + 1), np.float32)
    for i in range(n):
        t = rng.integers(4, length + 1)
        x[i, :t, :dim] = rng.standard_normal((t, dim)) * 2
        x[i, :t, dim] = 1.0
    return x


def test_confident_keeps_exactly_the_rows_at_or_above_the_threshold():
    p = np.array([[0.9, 0.05, 0.05], [0.5, 0.4, 0.1], [0.05, 0.05, 0.9], [0.1, 0.89, 0.01],
                  [0.0, 0.0, 1.0]])
    idx, lab = confident(p, 0.9)
    assert idx.tolist() == [0, 2, 4] and lab.tolist() == [0, 2, 2]    # 0.9 itself is kept
    assert confident(p, 0.0)[0].tolist() == [0, 1, 2, 3, 4]
    assert confident(p, 1.0)[0].tolist() == [4]
    assert confident(np.zeros((0, 3)), 0.5)[0].shape == (0,)
    with pytest.raises(ValueError, match=r"confident\(threshold=1.5\)"):
        confident(p, 1.5)
    with pytest.raises(ValueError, match=r"confident\(probs\).*\(N, classes\)"):
        confident(p[0], 0.5)


def test_align_to_uniform_balances_the_classes_by_one_weight_per_class():
    rng = np.random.default_rng(3)
    p = softmax(rng.standard_normal((40, 4)) * 2 + [1.5, 0, 0, -1], axis=1)  # skewed to 0
    q = align_to_uniform(p)
    np.testing.assert_allclose(q.sum(1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(q.mean(0), 0.25, rtol=0, atol=1e-6)
    # q_ik = p_ik w_k / sum_j p_ij w_j: the class weights w (up to a factor) read off any
    # one row reproduce every row
    r = np.log(q / p)
    w = np.exp(r[0] - r[0, 0])
    np.testing.assert_allclose(q, p * w / (p * w).sum(1, keepdims=True), rtol=1e-6)
    assert w[0] < w[1] < w[3] and w[0] < w[2] < w[3]   # over-predicted classes weigh less
    balanced = softmax(rng.standard_normal((4, 4)), axis=1)
    balanced = np.concatenate([np.roll(balanced, k, axis=1) for k in range(4)])
    np.testing.assert_allclose(align_to_uniform(balanced), balanced, rtol=1e-9)  # fixed point
    with pytest.raises(ValueError, match=r"align_to_uniform\(probs\)"):
        align_to_uniform(np.zeros((0, 4)))


def test_self_train_pseudo_labels_the_confident_recordings_of_a_tiny_model():
    rng = np.random.default_rng(0)
    model = _tiny()
    x_train, y_train, x_new = _inputs(rng, 20), rng.integers(0, 3, 20), _inputs(rng, 30)
    model.eval()
    with no_grad():
        p = softmax(model(Tensor(x_new)).array.astype(np.float64), axis=1)   # the oracle
    model.train()
    np.testing.assert_allclose(class_probabilities(model, x_new), p, rtol=1e-5, atol=1e-6)
    tau = float(np.median(p.max(1)))                  # about half of them pass
    rounds = self_train(model, x_train, y_train, x_new, rounds=2, threshold=tau, epochs=1,
                        lr=0.01, batch_size=8, seed=0)
    first = rounds[0]
    assert first["kept_index"].tolist() == np.flatnonzero(p.max(1) >= tau).tolist()
    assert 0 < first["kept"] < 30
    assert first["pseudo_labels"].tolist() == p[first["kept_index"]].argmax(1).tolist()
    assert [r["round"] for r in rounds] == [1, 2] and np.isfinite(rounds[1]["loss"])
    # balance: the same hand check on the aligned probabilities
    model = _tiny()
    q = align_to_uniform(p)
    tau = float(np.median(q.max(1)))
    first = self_train(model, x_train, y_train, x_new, rounds=1, threshold=tau, epochs=1,
                       lr=0.01, batch_size=8, seed=0, balance=True)[0]
    assert first["kept_index"].tolist() == np.flatnonzero(q.max(1) >= tau).tolist()
    assert first["pseudo_labels"].tolist() == q[first["kept_index"]].argmax(1).tolist()


def test_self_train_is_deterministic_and_uses_the_pseudo_labels():
    rng = np.random.default_rng(1)
    x_train, y_train, x_new = _inputs(rng, 16), rng.integers(0, 3, 16), _inputs(rng, 16)

    def adapted(threshold, seed=0):
        model = _tiny()
        self_train(model, x_train, y_train, x_new, rounds=1, threshold=threshold, epochs=2,
                   lr=0.01, batch_size=8, seed=seed)
        return {k: v.copy() for k, v in model.state_dict().items()}

    a, b = adapted(0.0), adapted(0.0)
    assert all(np.array_equal(a[k], b[k]) for k in a)                   # same seed, same model
    none_kept = adapted(1.0)       # no top probability of 3 classes reaches 1 here
    assert any(not np.array_equal(a[k], none_kept[k]) for k in a)
    other_seed = adapted(0.0, seed=1)
    assert any(not np.array_equal(a[k], other_seed[k]) for k in a)
    with pytest.raises(ValueError, match=r"self_train\(x_new\).*shaped like x_train"):
        self_train(_tiny(), x_train, y_train, x_new[:, :, :3], rounds=1, threshold=0.5,
                   epochs=1, lr=0.01, batch_size=8, seed=0)


def test_adapt_needs_a_speaker_split():
    with pytest.raises(ValueError, match="adapt_rounds.*split"):
        S.SpeechRecipe(adapt_rounds=1, split="random")
    with pytest.raises(ValueError, match="adapt_balance.*split"):
        S.SpeechRecipe(adapt_balance=True, split="official")
    with pytest.raises(ValueError, match="adapt_threshold"):
        S.SpeechRecipe(adapt_rounds=1, split="speaker", adapt_threshold=1.5)


@needs_data
@pytest.mark.parametrize("balance", [False, True])
def test_train_speech_adapts_without_reading_held_out_labels(tmp_path, monkeypatch, balance):
    """The held-out speakers' digits shuffled (poisoned) in the file list: the adapted
    weights are bit for bit the same; only the scores change."""
    recipe = S.SpeechRecipe(split="speaker", test_speaker="george", valid_speaker="lucas",
                            features="speaker", trim_db=30.0, max_files=120, epochs=2,
                            channels=8, hidden=8, lr=0.01, adapt_rounds=1,
                            adapt_threshold=0.0, adapt_epochs=1, adapt_balance=balance,
                            data_dir=str(DATA))
    clean = S.train_speech(recipe, tmp_path / "clean", verbose=False)
    real = S.list_recordings

    def poisoned(root):
        recs = real(root)
        rng = np.random.default_rng(7)
        return [(p, int(rng.integers(10)) if s in ("george", "lucas") else d, s, k)
                for p, d, s, k in recs]

    monkeypatch.setattr(S, "list_recordings", poisoned)
    bad = S.train_speech(recipe, tmp_path / "bad", verbose=False)
    for speaker in ("george", "lucas"):
        m1, m2 = S.SpeechDigitNet(40, channels=8, hidden=8), S.SpeechDigitNet(40, channels=8,
                                                                              hidden=8)
        load_weights(m1, tmp_path / "clean" / f"weights-adapted-{speaker}.safetensors")
        load_weights(m2, tmp_path / "bad" / f"weights-adapted-{speaker}.safetensors")
        for (k, v), w in zip(m1.state_dict().items(), m2.state_dict().values()):
            assert np.array_equal(v, w), k
        rounds = clean["adaptation"][speaker]["rounds"]
        assert rounds[0]["kept"] == rounds[0]["of"] > 0                    # threshold 0: all
    p1, p2 = np.load(tmp_path / "clean" / "predictions.npz"), np.load(tmp_path / "bad" /
                                                                        "predictions.npz")
    np.testing.assert_array_equal(p1["test_probs"], p2["test_probs"])
    np.testing.assert_array_equal(p1["valid_probs"], p2["valid_probs"])
    assert not np.array_equal(p1["test_labels"], p2["test_labels"])        # it was poisoned
    assert clean["test"]["accuracy"] != bad["test"]["accuracy"]
    # the trained (unadapted) model is what weights.safetensors holds, scored apart
    assert set(clean) >= {"test_unadapted", "valid_unadapted", "adaptation"}
    assert not np.array_equal(p1["test_probs"], p1["test_probs_unadapted"])
