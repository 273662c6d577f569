"""Non-finite training: a learning-rate spike makes the weights blow up mid-epoch. Training
stops with a message naming the step (and, with the anomaly guard, the layer), and every
checkpoint on disk is a good one (finite, loadable, resumable).
"""
import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.data import DataLoader, TensorDataset
from glassnet.inspect import AnomalyError, AnomalyGuard
from glassnet.io import list_checkpoints, load_checkpoint
from glassnet.train import Callback, ModelCheckpoint, NonFiniteLossError, fit

SPIKE_AT = 6            # after this step the lr becomes 1e30: the next updates overflow


class LrSpike(Callback):
    def __init__(self, lr=1e30):
        self.lr = lr

    def on_batch_end(self, step, logs):
        if step == SPIKE_AT:
            self.context.optimizer.param_groups[0]["lr"] = self.lr


def setup(tmp_path):
    gn.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x @ rng.standard_normal((4, 1))).astype(np.float32)
    loader = DataLoader(TensorDataset(x, y), 16, shuffle=True, seed=0)   # 4 steps per epoch
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = gn.optim.SGD(model.parameters(), lr=0.01)
    ckpt = ModelCheckpoint(tmp_path / "ckpt", monitor="loss", every_n_steps=1, keep_last=100)
    return model, opt, loader, ckpt


def assert_only_good_checkpoints(directory):
    found = list_checkpoints(directory)
    assert found, "no checkpoint was written before the failure"
    for path in found + [directory / "best"]:
        ckpt = load_checkpoint(path)
        assert all(np.isfinite(w).all() for w in ckpt.weights.values()), path
        assert ckpt.state["step"] <= SPIKE_AT + 1, path
    return found[-1]


def test_nan_loss_names_epoch_and_step_and_keeps_good_checkpoints(tmp_path):
    model, opt, loader, ckpt = setup(tmp_path)
    with pytest.raises(NonFiniteLossError, match=r"at epoch 2, step \d+"):
        fit(model, nn.MSELoss(), opt, loader, epochs=5, metrics=(), verbose=False,
            callbacks=[LrSpike(), ckpt])
    assert_only_good_checkpoints(tmp_path / "ckpt")
    model2, opt2, loader2, _ = setup(tmp_path / "other")
    hist = fit(model2, nn.MSELoss(), opt2, loader2, epochs=3, metrics=(), verbose=False,
               resume_from=tmp_path / "ckpt" / "epoch-0001")   # before the spike: resumes
    assert len(hist["loss"]) == 3 and np.isfinite(hist["loss"]).all()


def test_anomaly_guard_names_step_and_layer(tmp_path):
    model, opt, loader, ckpt = setup(tmp_path)
    with pytest.raises(AnomalyError, match=r"step \d+") as info:
        fit(model, nn.MSELoss(), opt, loader, epochs=5, metrics=(), verbose=False,
            callbacks=[LrSpike(float("inf")), ckpt, AnomalyGuard(check_parameters=True)])
    assert info.value.step > SPIKE_AT and info.value.layer in str(info.value)
    assert_only_good_checkpoints(tmp_path / "ckpt")


def test_checkpoint_refuses_non_finite_weights(tmp_path):
    model, opt, loader, ckpt = setup(tmp_path)

    class Poison(Callback):
        order = 50                                       # before ModelCheckpoint (100)

        def on_batch_end(self, step, logs):
            if step == 3:
                model[0].weight.array[0, 0] = np.inf
    with pytest.raises(NonFiniteLossError, match=r"'0.weight' holds NaN/Inf at epoch 1, step 3"):
        fit(model, nn.MSELoss(), opt, loader, epochs=2, metrics=(), verbose=False,
            callbacks=[Poison(), ckpt])
    assert [load_checkpoint(p).state["step"] for p in list_checkpoints(tmp_path / "ckpt")] \
        == [1, 2]
