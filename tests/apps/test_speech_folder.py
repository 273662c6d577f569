"""The speech task on the user's folder of WAV files per label: the reader (any rate and
channel count, resampled to 8 kHz; errors naming the file or folder), and a tiny run through
``glassnet train`` with the run.json contract and predict."""
import subprocess
import sys

import numpy as np
import pytest

wavfile = pytest.importorskip("scipy.io.wavfile")

from glassnet.apps.speech_data import list_labelled_wavs, read_wav_any  # noqa: E402
from glassnet.runs import get_task, read_run_json  # noqa: E402


def _tone(path, hz, rate=16000, seconds=0.4, stereo=True, seed=0):
    t = np.arange(int(rate * seconds)) / rate
    x = 0.5 * np.sin(2 * np.pi * hz * t) + 0.02 * np.random.default_rng(seed).standard_normal(
        t.size)
    x = np.stack([x, x], 1) if stereo else x
    path.parent.mkdir(parents=True, exist_ok=True)
    wavfile.write(path, rate, (x * 32767).astype(np.int16))


def _folder(root, n=12):
    for i in range(n):
        _tone(root / "low" / f"{i}.wav", 300 + 10 * i, seed=i)
        _tone(root / "high" / f"{i}.wav", 1800 + 10 * i, seed=100 + i)
    return root


def test_reader_resamples_averages_and_names_the_file(tmp_path):
    _tone(tmp_path / "a.wav", 440, rate=16000, seconds=0.5)
    x = read_wav_any(tmp_path / "a.wav")
    assert x.dtype == np.float32 and x.shape == (4000,) and 0.4 < np.abs(x).max() < 0.6
    spectrum = np.abs(np.fft.rfft(x))                       # still 440 Hz at 8 kHz
    assert np.argmax(spectrum) * 8000 / len(x) == pytest.approx(440, abs=4)
    (tmp_path / "bad.wav").write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(ValueError, match=r"bad\.wav: not a readable WAV file"):
        read_wav_any(tmp_path / "bad.wav")
    root = _folder(tmp_path / "d", 2)
    recs, labels = list_labelled_wavs(root)
    assert labels == ["high", "low"] and len(recs) == 4 and not any(t for _, _, t in recs)
    (root / "empty").mkdir()
    with pytest.raises(ValueError, match=r"d/empty: no \.wav files for label 'empty'"):
        list_labelled_wavs(root)
    one = tmp_path / "one"
    _tone(one / "only" / "0.wav", 300)
    with pytest.raises(ValueError, match=r"one: expected one sub-folder of WAV files per label"):
        list_labelled_wavs(one)


def test_folder_run_writes_the_contract_and_predicts(tmp_path):
    root = _folder(tmp_path / "data")
    recipe = tmp_path / "s.toml"
    recipe.write_text(f'task = "speech"\ndata = "{root}"\ntest_fraction = 0.25\nn_mels = 16\n'
                      f'channels = 8\nhidden = 8\nepochs = 6\nbatch_size = 4\nlr = 0.01\n')
    run = tmp_path / "run"
    subprocess.run([sys.executable, "-m", "glassnet", "train", str(recipe), "--out", str(run),
                    "--quiet"], check=True, capture_output=True, text=True, timeout=300)
    rec = read_run_json(run)
    assert rec["task"] == "speech" and rec["classes"] == ["high", "low"]
    assert rec["n_test"] == 6 and set(rec["test"]) >= {"accuracy", "loss"}
    # majority class of the training labels, scored on the test files: by hand
    rng = np.random.default_rng(0)
    test = np.zeros(24, bool)
    test[rng.permutation(24)[:6]] = True
    labels = np.array([0] * 12 + [1] * 12)                 # sorted: high/0..11, low/0..11
    top = np.bincount(labels[~test]).argmax()
    assert rec["baselines"]["majority_class"]["accuracy"] == pytest.approx(
        np.mean(labels[test] == top))
    assert rec["test"]["accuracy"] >= 5 / 6, rec["test"]
    out = subprocess.run([sys.executable, "-m", "glassnet", "predict", str(run),
                          str(root / "low" / "3.wav")], check=True, capture_output=True,
                         text=True, timeout=120).stdout
    assert "predicted low" in out


def test_speech_is_a_registered_task():
    assert "WAV" in get_task("speech").formats
