"""fit's step and time budgets (max_steps / max_seconds) and tuple inputs ((ids, lengths))."""
import numpy as np
import pytest

from glassnet import nn, optim
from glassnet.train import Callback, evaluate, fit
from tests.train.train_helpers import digits_loaders, tiny_model


class Record(Callback):
    def __init__(self):
        self.steps, self.epochs, self.end = [], [], None

    def on_batch_end(self, step, logs):
        self.steps.append(step)

    def on_epoch_end(self, epoch, logs):
        self.epochs.append(dict(logs))

    def on_train_end(self, logs):
        self.end = logs


def test_max_steps_ends_mid_epoch_validates_and_reports_budget():
    train, val = digits_loaders()                       # 15 batches per epoch
    model, rec = tiny_model(), Record()
    opt = optim.SGD(model.parameters(), lr=0.1)
    hist = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=10, max_steps=20,
               callbacks=[rec], verbose=False)
    assert rec.steps == list(range(1, 21))              # exactly 20 updates
    assert len(hist) == 2 and "val_loss" in rec.epochs[-1]
    assert rec.end["stop_reason"] == "budget"
    ref = evaluate(model, val, nn.CrossEntropyLoss())   # the last epoch was validated as is
    assert np.isclose(hist["val_loss"][-1], ref["loss"])


def test_max_seconds_stops_after_the_step_that_passes_it():
    train, val = digits_loaders()
    model, rec = tiny_model(), Record()
    opt = optim.SGD(model.parameters(), lr=0.1)
    fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=1000, max_seconds=1e-9,
        callbacks=[rec], verbose=False)
    assert rec.steps == [1] and rec.end["stop_reason"] == "budget"


def test_budget_arguments_are_checked():
    train, _ = digits_loaders()
    model = tiny_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="max_steps"):
        fit(model, nn.CrossEntropyLoss(), opt, train, epochs=1, max_steps=0, verbose=False)
    with pytest.raises(ValueError, match="max_seconds"):
        fit(model, nn.CrossEntropyLoss(), opt, train, epochs=1, max_seconds=-1, verbose=False)


class PairInput(nn.Module):
    """Takes (x, scale) and weights the batch by its first element's rows."""

    def __init__(self):
        super().__init__()
        self.net = tiny_model()

    def forward(self, inputs):
        x, scale = inputs
        return self.net(x) * float(scale[0])


def test_tuple_inputs_count_the_rows_of_their_first_element():
    train, val = digits_loaders(batch_size=50)          # last batch of 480: 30 rows
    pairs = [((x, np.ones(len(x), np.float32)), y) for x, y in train]
    model = PairInput()
    opt = optim.SGD(model.parameters(), lr=0.05)
    hist = fit(model, nn.CrossEntropyLoss(), opt, pairs, None, epochs=1, verbose=False)
    # the epoch loss is the row-weighted mean: recompute it with the same updates
    ref_model = PairInput()
    ref_opt = optim.SGD(ref_model.parameters(), lr=0.05)
    total, rows = 0.0, 0
    for (x, s), y in pairs:
        ref_opt.zero_grad()
        loss = nn.CrossEntropyLoss()(ref_model((x, s)), y)
        loss.backward()
        ref_opt.step()
        total, rows = total + loss.item() * len(x), rows + len(x)
    assert np.isclose(hist["loss"][0], total / rows, rtol=1e-6)
