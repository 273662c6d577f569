"""Checkpoints: contents, atomicity, keep-last-K + best, safe loading, exact resume."""
import json
import os
import pickle
import shutil

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.data import DataLoader, TensorDataset, load_digits
from glassnet.io import (CheckpointError, find_checkpoint, list_checkpoints, load_checkpoint,
                         save_checkpoint)
from glassnet.train import LRSchedulerCallback, ModelCheckpoint, fit

from test_io_weights import Payload


def _setup(init_seed=0, loader_seed=0):
    x, y = load_digits("train")
    train = DataLoader(TensorDataset(x[:256], y[:256]), 32, shuffle=True, seed=loader_seed)
    val = DataLoader(TensorDataset(x[256:384], y[256:384]), 64)
    gn.manual_seed(init_seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(32, 10))
    opt = gn.optim.Adam(model.parameters(), lr=1e-2)
    sched = gn.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    return model, opt, train, val, [LRSchedulerCallback(sched)]


def _run(tmp, epochs, resume=False, **seeds):
    model, opt, train, val, cbs = _setup(**seeds)
    cbs.append(ModelCheckpoint(tmp / "checkpoints", keep_last=2))
    hist = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=epochs, callbacks=cbs,
               verbose=False, resume_from=tmp / "checkpoints" if resume else None,
               recipe={"name": "test"})
    return model, opt, hist


def test_exact_resume_is_bit_identical(tmp_path):
    full_model, full_opt, full_hist = _run(tmp_path / "full", 4)
    _run(tmp_path / "part", 2)
    # fresh objects with other seeds: everything must come from the checkpoint
    model, opt, hist = _run(tmp_path / "part", 4, resume=True, init_seed=7, loader_seed=9)
    for k, v in full_model.state_dict().items():
        assert np.array_equal(v, model.state_dict()[k]), k
    assert hist.history == full_hist.history
    a, b = full_opt.state_dict()["state"], opt.state_dict()["state"]
    for i in a:
        assert np.array_equal(a[i]["exp_avg"], b[i]["exp_avg"])
    assert opt.param_groups[0]["lr"] == full_opt.param_groups[0]["lr"]


def test_checkpoint_contents_and_keep_last(tmp_path):
    _run(tmp_path, 4)
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["best", "epoch-0003", "epoch-0004"]                 # no temp dirs left
    assert find_checkpoint(tmp_path) == tmp_path / "checkpoints" / "epoch-0004"
    ckpt = load_checkpoint(tmp_path)
    st = ckpt.state
    assert st["epoch"] == 4 and st["step"] == 4 * 8
    assert st["recipe"] == {"name": "test"} and len(st["history"]["loss"]) == 4
    assert st["rng"]["glassnet"]["bit_generator"] == "PCG64"
    assert st["loaders"]["train"]["epoch"] == 4
    assert st["optimizer"]["state"]["0"]["exp_avg"].shape == (32, 64)
    assert ckpt.info["glassnet_version"] == gn.__version__
    files = ckpt.info["files"]
    assert set(files) == {"model.safetensors", "state.safetensors"}
    assert all(len(f["sha256"]) == 64 for f in files.values())
    best = load_checkpoint(tmp_path / "checkpoints" / "best")
    hist = st["history"]["val_loss"]
    assert best.state["epoch"] == 1 + int(np.argmin(hist))
    raw = (ckpt.path / "checkpoint.json").read_text()
    assert json.loads(raw)["format"] == "glassnet-checkpoint"


def test_failed_checkpoint_write_leaves_previous(tmp_path, monkeypatch):
    model, *_ = _setup()
    path = tmp_path / "ck"
    save_checkpoint(path, model, {"epoch": 1})
    real_replace, crashed = os.replace, []

    def crash(src, dst):                 # the rename of the new checkpoint into place fails
        if str(dst) == str(path) and not crashed:
            crashed.append(src)
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="No space"):
        save_checkpoint(path, model, {"epoch": 2})
    assert crashed
    assert load_checkpoint(path).state["epoch"] == 1          # the previous one is back
    assert [p.name for p in tmp_path.iterdir()] == ["ck"]     # no temp or .old dirs left


@pytest.fixture
def ckpt_dir(tmp_path):
    model, opt, *_ = _setup()
    return save_checkpoint(tmp_path / "ck", model, {"epoch": 1, "optimizer": opt.state_dict()})


def _fix_checksum(path, name):
    info = json.loads((path / "checkpoint.json").read_text())
    data = (path / name).read_bytes()
    import hashlib
    info["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (path / "checkpoint.json").write_text(json.dumps(info))


def test_truncated_and_corrupt_checkpoints(ckpt_dir):
    m = ckpt_dir / "model.safetensors"
    good = m.read_bytes()
    m.write_bytes(good[:-10])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(ckpt_dir)
    m.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(CheckpointError, match="checksum"):
        load_checkpoint(ckpt_dir)
    m.write_bytes(good)
    j = ckpt_dir / "checkpoint.json"
    j.write_text(j.read_text()[:50])
    with pytest.raises(CheckpointError, match="JSON"):
        load_checkpoint(ckpt_dir)


def test_wrong_shapes_are_refused_before_loading(ckpt_dir):
    other = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(16, 10))
    before = other.state_dict()["1.weight"].copy()
    with pytest.raises(CheckpointError, match=r"'1.weight' has shape \(32, 64\)"):
        load_checkpoint(ckpt_dir, other)
    assert np.array_equal(other.state_dict()["1.weight"], before)


@pytest.mark.parametrize("name", ["model.safetensors", "state.safetensors"])
def test_pickle_renamed_as_checkpoint_never_runs(ckpt_dir, tmp_path, name):
    marker = tmp_path / "pwned"
    (ckpt_dir / name).write_bytes(pickle.dumps(Payload(marker)))
    _fix_checksum(ckpt_dir, name)            # even with a matching checksum
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(ckpt_dir)
    assert not marker.exists()


def test_json_cannot_point_outside(ckpt_dir, tmp_path):
    info = json.loads((ckpt_dir / "checkpoint.json").read_text())
    info["files"] = {"../../etc/passwd": {"sha256": "0" * 64, "bytes": 1}}
    (ckpt_dir / "checkpoint.json").write_text(json.dumps(info))
    with pytest.raises(CheckpointError, match="no checksum recorded"):
        load_checkpoint(ckpt_dir)


def test_missing_checkpoint_and_resume_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint found"):
        find_checkpoint(tmp_path)
    assert list_checkpoints(tmp_path) == []
    _run(tmp_path, 1)
    shutil.rmtree(tmp_path / "checkpoints" / "epoch-0001")
    (tmp_path / "checkpoints" / "epoch-0001").mkdir()
    with pytest.raises(CheckpointError):
        _run(tmp_path, 2, resume=True)


def test_resume_skips_a_damaged_newest_checkpoint_with_a_warning(tmp_path):
    full_model, _, full_hist = _run(tmp_path / "full", 4)
    _run(tmp_path / "part", 3)                               # keeps epoch-0002 and epoch-0003
    newest = tmp_path / "part" / "checkpoints" / "epoch-0003" / "model.safetensors"
    data = bytearray(newest.read_bytes())
    data[-1] ^= 1                                            # one flipped bit on disk
    newest.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum"):   # named explicitly: no fallback
        load_checkpoint(newest.parent)
    with pytest.warns(RuntimeWarning, match=r"epoch-0003.*checksum mismatch.*using epoch-0002"):
        model, _, hist = _run(tmp_path / "part", 4, resume=True, init_seed=7, loader_seed=9)
    for k, v in full_model.state_dict().items():           # epochs 3-4 redone exactly
        assert np.array_equal(v, model.state_dict()[k]), k
    assert hist.history == full_hist.history
