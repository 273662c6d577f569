"""fit / evaluate / predict: learning, history, hook order, modes, early stopping,
schedulers, non-finite losses."""
import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.train import (Callback, EarlyStopping, LRSchedulerCallback, NonFiniteLossError,
                            accuracy, evaluate, fit, predict)

from train_helpers import digits_loaders, tiny_model, weights_of, assert_same_weights


def _fit(model, epochs=3, lr=1e-2, callbacks=(), opt=None, **kw):
    train, val = digits_loaders()
    opt = opt or gn.optim.Adam(model.parameters(), lr=lr)
    return fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=epochs,
               callbacks=callbacks, verbose=False, **kw), opt


def test_fit_reduces_loss_and_history_keys():
    model = tiny_model()
    hist, _ = _fit(model, epochs=4)
    assert set(hist.keys()) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert all(len(v) == 4 for v in hist.history.values())
    assert hist["loss"][-1] < 0.5 * hist["loss"][0]
    assert hist["val_accuracy"][-1] > max(0.7, hist["val_accuracy"][0])
    assert hist["lr"] == [0.01] * 4


def test_epoch_metrics_equal_full_evaluation():
    model = tiny_model()
    _, val = digits_loaders()
    res = evaluate(model, val, nn.CrossEntropyLoss())
    x, y = val.dataset.arrays
    with gn.no_grad():
        out = model(gn.tensor(x))
        loss = nn.CrossEntropyLoss()(out, gn.tensor(y)).item()
    assert res["accuracy"] == pytest.approx(float(np.mean(out.array.argmax(1) == y)))
    assert res["loss"] == pytest.approx(loss, rel=1e-5)


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, logs): self.calls.append(("train_begin",))
    def on_train_end(self, logs): self.calls.append(("train_end", logs["stop_reason"]))
    def on_epoch_begin(self, epoch, logs): self.calls.append(("epoch_begin", epoch))
    def on_epoch_end(self, epoch, logs): self.calls.append(("epoch_end", epoch, sorted(logs)))
    def on_batch_begin(self, step, logs): self.calls.append(("batch_begin", step))
    def on_batch_end(self, step, logs): self.calls.append(("batch_end", step))


def test_callback_hook_order():
    rec = Recorder()
    train, val = digits_loaders(n_train=96, n_val=32)           # 3 batches per epoch
    model = tiny_model()
    fit(model, nn.CrossEntropyLoss(), gn.optim.SGD(model.parameters(), lr=0.1), train, val,
        epochs=2, callbacks=[rec], verbose=False)
    keys = ["accuracy", "loss", "lr", "val_accuracy", "val_loss"]
    expected = [("train_begin",)]
    step = 0
    for epoch in range(2):
        expected.append(("epoch_begin", epoch))
        for _ in range(3):
            expected += [("batch_begin", step), ("batch_end", step + 1)]
            step += 1
        expected.append(("epoch_end", epoch, keys))
    expected.append(("train_end", "completed"))
    assert rec.calls == expected


class ModeProbe(nn.Module):
    """Records (training flag, grad enabled) on every forward."""

    def __init__(self):
        super().__init__()
        self.inner = tiny_model()
        self.seen = []

    def forward(self, x):
        self.seen.append((self.training, gn.is_grad_enabled()))
        return self.inner(x)


def test_train_and_eval_modes_and_no_grad():
    model = ModeProbe()
    train, val = digits_loaders(n_train=64, n_val=64)
    fit(model, nn.CrossEntropyLoss(), gn.optim.SGD(model.parameters(), lr=0.1), train, val,
        epochs=1, verbose=False)
    assert model.seen[:2] == [(True, True), (True, True)]      # two training batches
    assert model.seen[2:] == [(False, False)]                  # one validation batch
    assert model.training                                      # restored for next epoch


def test_early_stopping_stops_and_restores_best():
    class Snap(Callback):
        order = -1
        def __init__(self):
            self.first = None
        def on_epoch_end(self, epoch, logs):
            if epoch == 0:
                self.first = weights_of(self.context.model)
    snap = Snap()
    model = tiny_model()
    # val_loss falls every epoch, so with mode="max" the first epoch stays best
    stop = EarlyStopping("val_loss", patience=2, mode="max", restore_best=True)
    hist, _ = _fit(model, epochs=10, callbacks=[snap, stop])
    assert len(hist) == 3 and stop.stopped_epoch == 2
    assert_same_weights(weights_of(model), snap.first)


def test_early_stopping_validates_arguments():
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=0)
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="up")


def test_lr_scheduler_callbacks():
    model = tiny_model()
    opt = gn.optim.SGD(model.parameters(), lr=0.1)
    sched = gn.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    hist, _ = _fit(model, epochs=3, opt=opt, callbacks=[LRSchedulerCallback(sched)])
    assert hist["lr"] == [0.1, 0.05, 0.025]

    model = tiny_model()
    opt = gn.optim.Adam(model.parameters(), lr=0.01)
    plateau = gn.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=0)
    cb = LRSchedulerCallback(plateau)
    assert cb.monitor == "val_loss"
    hist, _ = _fit(model, epochs=3, opt=opt, callbacks=[cb])
    assert hist["lr"] == [0.01, 0.01, 0.005]      # val_loss falls: "worse" for mode=max


def test_non_finite_loss_stops_with_epoch_and_step():
    calls = {"n": 0}
    ce = nn.CrossEntropyLoss()

    def flaky_loss(out, y):
        calls["n"] += 1
        loss = ce(out, y)
        return loss * float("nan") if calls["n"] == 3 else loss

    class LastGood(Callback):
        def on_batch_end(self, step, logs):
            self.weights = weights_of(self.context.model)
        def on_train_end(self, logs):
            self.reason = logs["stop_reason"]
    good = LastGood()
    model = tiny_model()
    train, _ = digits_loaders()
    with pytest.raises(NonFiniteLossError, match=r"nan at epoch 1, step 3"):
        fit(model, flaky_loss, gn.optim.Adam(model.parameters(), lr=1e-2), train, epochs=2,
            callbacks=[good], verbose=False)
    assert good.reason == "non_finite_loss"
    assert_same_weights(weights_of(model), good.weights)       # bad update never applied
    assert all(np.isfinite(v).all() for v in model.state_dict().values())


def test_predict_array_and_loader_agree():
    model = tiny_model(dropout=0.5)
    train, val = digits_loaders()
    x = val.dataset.arrays[0]
    a = predict(model, x, batch_size=128)            # same batches as the loader
    b = predict(model, val)
    assert a.shape == (len(x), 10) and np.array_equal(a, b)    # eval mode: no dropout
    with pytest.raises(ValueError, match="batch_size"):
        predict(model, x, batch_size=0)


def test_accuracy_metric():
    out = np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    assert accuracy(out, np.array([0, 1, 1])) == pytest.approx(2 / 3)
    assert accuracy(np.array([0.9, 0.2]), np.array([1, 1])) == 0.5      # probabilities
    with pytest.raises(ValueError, match="accuracy"):
        accuracy(out, np.array([0, 1]))


def test_fit_rejects_bad_arguments():
    model = tiny_model()
    train, _ = digits_loaders()
    opt = gn.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, nn.CrossEntropyLoss(), opt, train, epochs=-1, verbose=False)
    with pytest.raises(ValueError, match="metric"):
        fit(model, nn.CrossEntropyLoss(), opt, train, metrics=("f7",), verbose=False)
    with pytest.raises(TypeError, match="callbacks"):
        fit(model, nn.CrossEntropyLoss(), opt, train, callbacks=[print], verbose=False)


def test_progress_bar_writes_running_metrics(capsys):
    import io
    from glassnet.train import ProgressBar
    buf = io.StringIO()
    model = tiny_model()
    hist, _ = _fit(model, epochs=1, callbacks=[ProgressBar(file=buf)])
    text = buf.getvalue()
    assert "Epoch 1/1" in text and "loss=" in text and "val_accuracy=" in text
    assert math.isfinite(hist["loss"][0])
