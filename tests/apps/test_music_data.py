"""The music task on the user's data: chorale JSON and MIDI-folder readers (errors name the
file and line), the two baselines against PyTorch's BCE, the run.json contract through
``glassnet train``, and the report of a music run (model, legends, test figures)."""
import json
import subprocess
import sys

import numpy as np
import pytest

from glassnet.apps import music as M
from glassnet.apps import music_data as D
from glassnet.runs import get_task, read_run_json


def _pieces(n, rng, length=(6, 12)):
    """n four-voice pieces that move by small steps (JSON chorale format)."""
    out = []
    for _ in range(n):
        notes, piece = np.array([48, 55, 64, 72]), []
        for _ in range(rng.integers(*length)):
            notes = np.clip(notes + rng.integers(-2, 3, 4) * (rng.random(4) < 0.4), 30, 100)
            piece.append(sorted({int(v) for v in notes}))
        out.append(piece)
    return out


def _json(path, seed=0, n=(10, 3, 3)):
    rng = np.random.default_rng(seed)
    path.write_text(json.dumps({s: _pieces(k, rng) for s, k in zip(D.SPLITS, n)}, indent=1))
    return path


def test_chorale_json_reader_and_its_errors(tmp_path):
    rolls = D.read_chorale_json(_json(tmp_path / "c.json"))
    assert [len(rolls[s]) for s in D.SPLITS] == [10, 3, 3]
    assert rolls["train"][0].shape[1] == 88 and rolls["train"][0].dtype == np.float32
    bad = tmp_path / "bad.json"
    bad.write_text('{\n "train": [[[60]]],\n "valid": [[[60]]]\n "test": []\n}')
    with pytest.raises(ValueError, match=r"bad\.json:4: not valid JSON"):
        D.read_chorale_json(bad)
    bad.write_text(json.dumps({"train": [[[60]]], "valid": [[[60]]]}))
    with pytest.raises(ValueError, match=r"bad\.json: expected an object with lists 'train'"):
        D.read_chorale_json(bad)
    bad.write_text(json.dumps({"train": [[[60]], [[60], [200]]], "valid": [[[60]]],
                               "test": [[[60]]]}))
    with pytest.raises(ValueError, match=r"bad\.json: train\[1\] step 1: MIDI note 200"):
        D.read_chorale_json(bad)
    bad.write_text(json.dumps({"train": [[[60]], [["x"]]], "valid": [[[60]]],
                               "test": [[[60]]]}))
    with pytest.raises(ValueError, match=r"train\[1\] step 0: expected a list of MIDI"):
        D.read_chorale_json(bad)


def test_midi_folder_reader_split_and_errors(tmp_path):
    pytest.importorskip("mido")
    rng = np.random.default_rng(1)
    folder = tmp_path / "midi"
    rolls = [M.to_roll(p) for p in _pieces(10, rng)]
    for i, r in enumerate(rolls):
        M.roll_to_midi(r, folder / f"p{i:02d}.mid")
    got = D.load_midi_folder(folder, seed=3)
    assert [len(got[s]) for s in D.SPLITS] == [8, 1, 1]
    every = sorted(got["train"] + got["valid"] + got["test"], key=lambda r: r.tobytes())
    want = [r[:np.flatnonzero(r.any(1)).max() + 1] for r in rolls]   # MIDI drops the tail
    assert all(np.array_equal(a, b) for a, b in
               zip(every, sorted(want, key=lambda r: r.tobytes())))
    (folder / "p05.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage")
    with pytest.raises(ValueError, match=r"midi .*p05\.mid: cannot be read"):
        D.load_midi_folder(folder)
    empty = tmp_path / "none"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"none: no MIDI files"):
        D.load_midi_folder(empty)


def test_baselines_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    train = [(rng.random((20, 88)) < 0.05).astype(np.float32) for _ in range(3)]
    test = [(rng.random((9, 88)) < 0.05).astype(np.float32) for _ in range(2)]
    frames = torch.tensor(np.concatenate(test), dtype=torch.float64)
    p = torch.tensor(np.concatenate(train), dtype=torch.float64).mean(0).clamp(1e-4, 1 - 1e-4)
    ref = torch.nn.functional.binary_cross_entropy(p.expand_as(frames), frames,
                                                   reduction="sum") / len(frames)
    assert D.bernoulli_nll(train, test) == pytest.approx(ref.item(), rel=1e-9)
    # the Markov baseline by plain counting, key by key
    prev = np.concatenate([np.vstack([np.zeros((1, 88)), r[:-1]]) for r in train]) > 0
    cur = np.concatenate(train) > 0
    stay = np.array([(np.sum(prev[:, k] & cur[:, k]) + 1) / (np.sum(prev[:, k]) + 2)
                     for k in range(88)])
    start = np.array([(np.sum(~prev[:, k] & cur[:, k]) + 1) / (np.sum(~prev[:, k]) + 2)
                      for k in range(88)])
    tprev = torch.tensor(np.concatenate([np.vstack([np.zeros((1, 88)), r[:-1]]) for r in test]))
    probs = torch.where(tprev > 0, torch.tensor(stay), torch.tensor(start))
    ref = torch.nn.functional.binary_cross_entropy(probs, frames, reduction="sum") / len(frames)
    assert D.markov_nll(train, test) == pytest.approx(ref.item(), rel=1e-9)


def test_music_run_json_contract_and_report(tmp_path):
    pytest.importorskip("mido")
    pytest.importorskip("matplotlib")
    data = _json(tmp_path / "c.json", n=(12, 3, 3))
    recipe = tmp_path / "m.toml"
    recipe.write_text(f'task = "music"\ndata = "{data}"\nhidden = 16\nepochs = 3\n'
                      f'batch_size = 4\nlr = 0.01\nsample_steps = 8\n')
    run = tmp_path / "run"
    subprocess.run([sys.executable, "-m", "glassnet", "train", str(recipe), "--out", str(run),
                    "--quiet"], check=True, capture_output=True, text=True, timeout=300)
    rec = read_run_json(run)
    assert rec["task"] == "music" and rec["test"]["nll_per_frame"] == rec["test_nll"]
    rolls = D.read_chorale_json(data)
    assert rec["baselines"] == D.music_baselines(rolls["train"], rolls["test"])
    assert set(rec["baselines"]) == {"independent_bernoulli", "repeat_last_frame"}
    out = subprocess.run([sys.executable, "-m", "glassnet", "report", str(run)], check=True,
                         capture_output=True, text=True, timeout=120)
    page = (run / "report.html").read_text()
    assert "report written" in out.stdout and "model not loaded" not in page
    assert "baseline repeat_last_frame: nll_per_frame" in page and "test nll_per_frame" in page
    assert "total parameters" in page and "sample.png" in page


def test_report_legends_follow_the_apps_names():
    from glassnet.viz import history_dict
    h = history_dict([{"epoch": 1, "train_nll": 9.0, "valid_nll": 9.5, "lr": 0.1}])
    assert h == {"nll": [9.0], "val_nll": [9.5], "lr": [0.1]}


def test_music_is_a_registered_task():
    task = get_task("music")
    assert task is not None and "MIDI" in task.formats
    with pytest.raises(ValueError, match="--set epochs=x: epochs: expected int"):
        M.MusicRecipe().with_overrides(["epochs=x"])
