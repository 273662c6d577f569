"""save_weights / load_weights: round trip, PyTorch interop, atomic writes, bad files."""
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn
from glassnet.io import CheckpointError, load_weights, save_weights


def _model(seed=0, hidden=16):
    gn.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, hidden), nn.ReLU(), nn.Linear(hidden, 3))


class Payload:
    """Unpickling this creates ``marker``: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_round_trip_is_bit_exact(tmp_path):
    a, b = _model(0), _model(1)
    save_weights(a, tmp_path / "w.safetensors")
    load_weights(b, tmp_path / "w.safetensors")
    for k, v in a.state_dict().items():
        assert np.array_equal(v, b.state_dict()[k]) and b.state_dict()[k].dtype == np.float32


def test_weights_load_in_pytorch(tmp_path):
    from safetensors.torch import load_file
    model = _model()
    save_weights(model, tmp_path / "w.safetensors")
    tm = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    tm.load_state_dict(load_file(tmp_path / "w.safetensors"))
    x = np.random.default_rng(0).standard_normal((5, 8)).astype(np.float32)
    np.testing.assert_allclose(tm(torch.from_numpy(x)).detach().numpy(),
                               model(gn.tensor(x)).numpy(), rtol=1e-5, atol=1e-6)


def test_atomic_write_leaves_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    save_weights(_model(0), path)
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="No space"):
        save_weights(_model(1), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.safetensors"]   # no temp file


def test_truncated_file(tmp_path):
    path = tmp_path / "w.safetensors"
    save_weights(_model(), path)
    data = path.read_bytes()
    for cut in (0, 5, 40, len(data) - 7):
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="w.safetensors"):
            load_weights(_model(), path)


def test_flipped_byte_fails_checksum(tmp_path):
    path = tmp_path / "w.safetensors"
    save_weights(_model(), path)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01                              # inside the last tensor's bytes
    path.write_bytes(bytes(data))
    model = _model(5)
    before = model.state_dict()["0.weight"].copy()
    with pytest.raises(CheckpointError, match="checksum"):
        load_weights(model, path)
    assert np.array_equal(model.state_dict()["0.weight"], before)      # untouched


def test_wrong_shapes_and_keys(tmp_path):
    path = tmp_path / "w.safetensors"
    save_weights(_model(hidden=16), path)
    with pytest.raises(CheckpointError, match=r"'0.weight' has shape \(16, 8\).*\(32, 8\)"):
        load_weights(_model(hidden=32), path)
    with pytest.raises(CheckpointError, match="missing keys"):
        load_weights(nn.Sequential(nn.Linear(8, 16)), path)
    with pytest.raises(CheckpointError, match="no such file"):
        load_weights(_model(), tmp_path / "absent.safetensors")


def test_planted_pickle_payload_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    blob = pickle.dumps(Payload(marker))
    pickle.loads(blob)                                 # the payload is real ...
    assert marker.exists()
    marker.unlink()
    path = tmp_path / "w.safetensors"
    path.write_bytes(blob)
    with pytest.raises(CheckpointError, match="pickle"):
        load_weights(_model(), path)
    torch.save({"w": Payload(marker)}, path)           # ... and as a torch zip archive
    with pytest.raises(CheckpointError, match="zip"):
        load_weights(_model(), path)
    assert not marker.exists()                         # ... but glassnet never ran it
