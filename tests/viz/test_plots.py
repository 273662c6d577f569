"""Every plot writes a valid PNG of the expected pixel size."""
import numpy as np
import pytest

import glassnet as gn

pytest.importorskip("matplotlib")
import matplotlib.image as mpimg  # noqa: E402

from glassnet import viz  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def _check_png(path, size, dpi=100):
    data = path.read_bytes()
    assert data[:8] == PNG and len(data) > 1000
    img = mpimg.imread(path)
    assert img.shape[:2] == (round(size[1] * dpi), round(size[0] * dpi))
    assert img[..., :3].std() > 0.01                      # not a blank canvas


def _cnn():
    gn.manual_seed(0)
    nn = gn.nn
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 2 * 2, 3))


def test_history_and_lr_and_grad_norms(tmp_path):
    hist = {"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7], "accuracy": [.5, .7, .8],
            "val_accuracy": [.45, .6, .7], "lr": [0.1, 0.05, 0.025]}
    _check_png(viz.plot_history(hist, tmp_path / "h.png"), (8.0, 3.5))
    rows = [{"epoch": i + 1, "loss": v} for i, v in enumerate(hist["loss"])]
    _check_png(viz.plot_history(rows, tmp_path / "rows.png", size=(4, 3), dpi=50), (4, 3), 50)
    _check_png(viz.plot_lr(hist, tmp_path / "lr.png"), (6.0, 3.0))
    norms = {"0.weight": [1.0, 0.5, 0.2], "2.weight": [0.1, 0.02, 0.0]}
    _check_png(viz.plot_grad_norms(norms, tmp_path / "g.png"), (7.0, 4.0))
    with pytest.raises(ValueError, match="lr"):
        viz.plot_lr({"loss": [1.0]}, tmp_path / "x.png")


def test_filters_and_feature_maps(tmp_path):
    model = _cnn()
    _check_png(viz.plot_filters(model, tmp_path / "f.png"), (6.0, 6.0))
    rgb = np.random.default_rng(0).normal(size=(5, 3, 3, 3))
    _check_png(viz.plot_filters(rgb, tmp_path / "rgb.png", size=(3, 3)), (3, 3))
    x = np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)
    path = viz.plot_feature_maps(model, x, tmp_path / "maps.png", size=(6, 3))
    _check_png(path, (6, 3))
    assert model.training and all("forward" not in m.__dict__ for m in model.modules())
    with pytest.raises(ValueError, match="no convolution"):
        viz.plot_filters(gn.nn.Linear(2, 2), tmp_path / "no.png")


def test_hidden_states(tmp_path):
    states = np.tanh(np.random.default_rng(0).normal(size=(20, 6)))
    _check_png(viz.plot_hidden_states(states, tmp_path / "h.png"), (8.0, 3.5))
    gn.manual_seed(0)
    rnn = gn.nn.RNN(3, 5, batch_first=True)
    x = np.random.default_rng(1).normal(size=(2, 12, 3)).astype(np.float32)
    _check_png(viz.plot_hidden_states(x, tmp_path / "rnn.png", model=rnn), (8.0, 3.5))


def test_confusion_predictions_forecast(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 50)
    pred = np.where(rng.random(50) < 0.7, y, rng.integers(0, 4, 50))
    cm = viz.confusion_matrix(y, pred)
    assert cm.sum() == 50 and np.trace(cm) == (y == pred).sum()
    assert cm[1, 2] == ((y == 1) & (pred == 2)).sum()
    _check_png(viz.plot_confusion_matrix(y, pred, tmp_path / "cm.png", normalize=True),
               (5.5, 5.0))
    imgs = rng.random((6, 64)).astype(np.float32)
    logits = rng.normal(size=(6, 4))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    _check_png(viz.plot_predictions(imgs, probs, tmp_path / "p.png", labels=y[:6],
                                    class_names=list("abcd")), (2.0 * 6, 4.4))
    t = np.linspace(0, 6, 40)
    _check_png(viz.plot_forecast(np.sin(t), np.sin(t) + 0.1, tmp_path / "fc.png",
                                 history=np.sin(t - 6)), (8.0, 3.5))
