"""fit/evaluate report accuracy only for classification losses; a NaN loss says what to try."""
import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.data import DataLoader, TensorDataset
from glassnet.train import NonFiniteLossError, evaluate, fit


def loader(y):
    x = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
    return DataLoader(TensorDataset(x, y), batch_size=8)


@pytest.mark.parametrize("loss_fn, y, has_acc", [
    (nn.CrossEntropyLoss(), np.arange(32) % 2, True),
    (nn.functional.cross_entropy, np.arange(32) % 2, True),
    (nn.MSELoss(), np.zeros((32, 2), np.float32), False),
    (nn.L1Loss(), np.zeros((32, 2), np.float32), False),
])
def test_accuracy_only_for_classification_losses(loss_fn, y, has_acc):
    model = nn.Linear(3, 2)
    data = loader(y)
    hist = fit(model, loss_fn, gn.optim.SGD(model.parameters(), lr=0.1), data, data,
               epochs=1, verbose=False)
    assert ("accuracy" in hist) is has_acc and ("val_accuracy" in hist) is has_acc
    assert ("accuracy" in evaluate(model, data, loss_fn)) is has_acc
    assert "accuracy" in evaluate(model, data, loss_fn, metrics=("accuracy",))


def test_nan_loss_suggests_a_lower_learning_rate_and_detect_anomaly():
    model = nn.Linear(3, 2)
    data = loader(np.full((32, 2), np.nan, np.float32))
    with pytest.raises(NonFiniteLossError, match="lower learning rate.*--detect-anomaly"):
        fit(model, nn.MSELoss(), gn.optim.SGD(model.parameters(), lr=0.1), data, epochs=1,
            verbose=False)


def test_extra_callbacks_reach_every_fit_inside_the_block():
    from glassnet.train import Callback, extra_callbacks

    made = []

    class Count(Callback):
        def __init__(self):
            self.epochs = 0
            made.append(self)

        def on_epoch_end(self, epoch, logs):
            self.epochs += 1

    data = loader(np.arange(32) % 2)
    with extra_callbacks(Count):
        for _ in range(2):
            model = nn.Linear(3, 2)
            fit(model, nn.CrossEntropyLoss(), gn.optim.SGD(model.parameters(), lr=0.1), data,
                epochs=3, verbose=False)
    model = nn.Linear(3, 2)
    fit(model, nn.CrossEntropyLoss(), gn.optim.SGD(model.parameters(), lr=0.1), data, epochs=1,
        verbose=False)                                    # outside: no extra callback
    assert [c.epochs for c in made] == [3, 3]
