"""examples/sentiment.py: pooled BiLSTM/BiGRU classifier ignores padding, early stopping keeps
the best-validation weights, and a few steps learn a toy polarity task."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn

_PATH = Path(__file__).resolve().parents[2] / "examples" / "sentiment.py"
_spec = importlib.util.spec_from_file_location("sentiment_example", _PATH)
S = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(S)


@pytest.mark.parametrize("cell,pool", [("lstm", "max"), ("gru", "maxmean"), ("lstm", "last")])
def test_padding_does_not_change_logits(cell, pool):
    gn.manual_seed(0)
    model = S.RNNClassifier(20, emb=8, hidden=5, cell=cell, pool=pool).eval()
    seqs = [[3, 4, 5], [6, 7, 8, 9, 10, 11]]
    alone = [model(gn.tensor(np.array([s])), np.array([len(s)])).item() for s in seqs]
    (ids, lens, _), = list(S.batches(seqs, np.array([1, 0]), 8))
    assert ids.shape == (2, 6) and list(lens) == [3, 6]
    np.testing.assert_allclose(model(ids, lens).numpy(), alone, rtol=1e-5, atol=1e-6)


def test_max_pool_masks_padding():
    # All-negative outputs: without the mask, the zero outputs at padded steps would win the max.
    gn.manual_seed(0)
    model = S.RNNClassifier(20, emb=8, hidden=5, pool="max").eval()
    out = gn.tensor(-np.ones((1, 4, 10), np.float32))
    model.rnn = lambda x, lengths: (out, None)
    model.fc.weight.data[:] = 1
    model.fc.bias.data[:] = 0
    logit = model(gn.tensor(np.array([[3, 4, 0, 0]])), np.array([2])).item()
    assert logit == pytest.approx(-10.0)


def test_fit_learns_toy_task_and_keeps_best_weights():
    rng = np.random.default_rng(0)
    seqs = [list(rng.integers(2, 12, rng.integers(2, 7))) for _ in range(160)]
    labels = np.array([int(10 in s or 11 in s) for s in seqs])   # a "positive word" is present
    data = (seqs, labels)
    gn.manual_seed(0)
    model = S.RNNClassifier(12, emb=8, hidden=8, pool="max", emb_drop=0.0, drop=0.0)
    r = S.fit(model, data, data, data, epochs=8, lr=2e-2, seed=0, name="toy", patience=8)
    assert r["val_accuracy"] > 0.9
    assert r["test_accuracy"] == pytest.approx(r["val_accuracy"])   # best weights restored
    assert S.accuracy([model, model], *data) == pytest.approx(r["val_accuracy"])  # ensemble
    assert S.fit(model, data, data, None, 1, 1e-3, 0, "toy")["test_accuracy"] is None
