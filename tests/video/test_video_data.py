"""The video task on the user's frames: the .npy reader (errors naming the file), a tiny run
through ``glassnet train`` with the run.json contract, baselines checked by hand."""
import subprocess
import sys

import numpy as np
import pytest

from glassnet.apps.video_data import load_frame_arrays, read_frames
from glassnet.runs import get_task, read_run_json


def _squares(n=10, t=6, size=8, seed=0):
    """n sequences of a 2x2 square moving one pixel right per frame (uint8)."""
    rng = np.random.default_rng(seed)
    a = np.zeros((n, t, size, size), np.uint8)
    for i in range(n):
        r, c = rng.integers(0, size - 2), rng.integers(0, 2)
        for k in range(t):
            a[i, k, r:r + 2, c + k:c + k + 2] = 255
    return a


def test_reader_scales_and_names_the_file(tmp_path):
    p = tmp_path / "v.npy"
    np.save(p, _squares())
    x = read_frames(p, observed=3, patch=4)
    assert x.dtype == np.float32 and x.max() == 1.0 and x.shape == (10, 6, 8, 8)
    bad = tmp_path / "bad.npy"
    for arr, msg in ((np.zeros((3, 8, 8)), r"bad\.npy: expected frames \(N, T, H, W\)"),
                     (np.full((2, 4, 8, 8), 2.0), r"bad\.npy: float frames must lie in"),
                     (np.full((2, 4, 8, 8), np.nan), r"bad\.npy: frames hold NaN"),
                     (np.zeros((2, 4, 6, 8)), r"bad\.npy: frames 6x8 are not multiples of "
                                              r"patch = 4"),
                     (np.zeros((2, 3, 8, 8)), r"bad\.npy: .*longer than observed = 3")):
        np.save(bad, arr)
        with pytest.raises(ValueError, match=msg):
            read_frames(bad, observed=3, patch=4)
    bad.write_bytes(b"not numpy")
    with pytest.raises(ValueError, match=r"bad\.npy: cannot be read"):
        read_frames(bad, observed=3, patch=4)
    folder = tmp_path / "split"
    folder.mkdir()
    np.save(folder / "train.npy", _squares())
    with pytest.raises(FileNotFoundError, match="test.npy is missing"):
        load_frame_arrays(folder, observed=3, patch=4, test_fraction=0.2, seed=0)
    np.save(folder / "test.npy", _squares(t=7))
    with pytest.raises(ValueError, match=r"test\.npy: frames .* differ from train\.npy"):
        load_frame_arrays(folder, observed=3, patch=4, test_fraction=0.2, seed=0)


def test_npy_run_writes_the_contract(tmp_path):
    frames = _squares(12)
    np.save(tmp_path / "v.npy", frames)
    recipe = tmp_path / "v.toml"
    recipe.write_text(f'task = "video"\ndata = "{tmp_path / "v.npy"}"\nobserved = 3\n'
                      f'test_fraction = 0.25\nepochs = 2\nbatch_size = 4\nhidden = 4\n'
                      f'patch = 4\nlr = 0.01\n')
    run = tmp_path / "run"
    subprocess.run([sys.executable, "-m", "glassnet", "train", str(recipe), "--out", str(run),
                    "--quiet"], check=True, capture_output=True, text=True, timeout=300)
    rec = read_run_json(run)
    assert rec["task"] == "video" and set(rec["test"]) == {"mse", "bce", "mse_per_frame_sum"}
    # the held-out sequences and the repeat-last-frame baseline, recomputed from the file
    perm = np.random.default_rng(0).permutation(12)
    test = frames[np.sort(perm[:3])].astype(np.float64) / 255
    want = np.mean((test[:, 3:] - test[:, 2:3]) ** 2)
    assert rec["baselines"]["repeat_last_frame"]["mse"] == pytest.approx(want, rel=1e-5)
    assert len(rec["test_per_frame"]["model"]["mse"]) == 3
    assert 0 <= rec["test"]["mse"] < 1 and (run / "frames.png").stat().st_size > 0


def test_video_is_a_registered_task():
    task = get_task("video")
    assert task is not None and ".npy" in task.formats
