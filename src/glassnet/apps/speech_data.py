"""The speech task's data from the user's files: a folder of WAV files per label.

    DATA/yes/*.wav  DATA/no/*.wav  ...          one sub-folder per label (its name)
    DATA/train/<label>/*.wav + DATA/test/<label>/*.wav    or a given split

Any sample rate and channel count: channels are averaged and the signal resampled to 8 kHz
(``scipy.signal.resample_poly``), the rate of the features. Errors name the file or folder.
"""
from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np

__all__ = ["read_wav_any", "list_labelled_wavs", "TARGET_RATE"]

TARGET_RATE = 8000


def read_wav_any(path, rate: int = TARGET_RATE) -> np.ndarray:
    """A WAV file as mono float32 samples in [-1, 1] at ``rate`` Hz."""
    from scipy.io import wavfile
    from scipy.signal import resample_poly
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        got, x = wavfile.read(path)
    except (ValueError, EOFError, OSError) as e:
        raise ValueError(f"{path}: not a readable WAV file ({e})") from None
    if x.size == 0:
        raise ValueError(f"{path}: the recording is empty")
    if x.dtype.kind in "iu":
        info = np.iinfo(x.dtype)
        x = (x.astype(np.float32) - (info.max + info.min + 1) / 2) / ((info.max - info.min + 1) / 2)
    elif x.dtype.kind != "f":
        raise ValueError(f"{path}: expected integer or float PCM samples, got {x.dtype}")
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise ValueError(f"{path}: samples hold NaN or Inf")
    if x.ndim == 2:
        x = x.mean(axis=1)
    if got != rate:
        g = gcd(int(got), rate)
        x = resample_poly(x, rate // g, int(got) // g).astype(np.float32)
    return x


def _label_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _files(root: Path, labels: list[str]) -> list[tuple[Path, int]]:
    out = []
    for d in _label_folders(root):
        if d.name not in labels:
            raise ValueError(f"data {d}: label {d.name!r} is not among the training labels "
                             f"{labels}")
        wavs = sorted(p for p in d.iterdir() if p.suffix.lower() == ".wav")
        if not wavs:
            raise ValueError(f"data {d}: no .wav files for label {d.name!r}")
        out += [(p, labels.index(d.name)) for p in wavs]
    return out


def list_labelled_wavs(root) -> tuple[list[tuple[Path, int, bool]], list[str]]:
    """``([(path, label index, is_test)], labels)`` of a folder of WAV files per label; with
    ``train/`` and ``test/`` folders ``is_test`` marks the test files, else all are False."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data {root}: no such folder (expected one sub-folder of "
                                f"WAV files per label)")
    split = (root / "train").is_dir() and (root / "test").is_dir()
    base = root / "train" if split else root
    labels = [d.name for d in _label_folders(base)]
    if len(labels) < 2:
        raise ValueError(f"data {base}: expected one sub-folder of WAV files per label (at "
                         f"least 2), found {len(labels)}")
    recs = [(p, k, False) for p, k in _files(base, labels)]
    if split:
        recs += [(p, k, True) for p, k in _files(root / "test", labels)]
    return recs, labels
