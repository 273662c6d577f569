"""The video task's data from the user's files: frame sequences in ``.npy`` arrays.

An array ``(N, T, H, W)`` holds N grayscale sequences of T frames; values are uint8 (0..255)
or floats in [0, 1]. ``data =`` a ``.npy`` file (``test_fraction`` of the sequences held out,
seeded) or a folder holding ``train.npy`` and ``test.npy``. The first ``observed`` frames of
a sequence are the input; the model predicts the other ``T - observed``. Errors name the file.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data import Dataset

__all__ = ["FrameSequences", "read_frames", "load_frame_arrays"]


class FrameSequences(Dataset):
    """Sequences of frames split into observed and future frames (like MovingMNIST).

    Args:
        frames: float32 (N, T, H, W) in [0, 1].
        observed: frames given as input (1 <= observed < T).

    Shape:
        sample: ``(observed, future)``: (T_in, 1, H, W) and (T - T_in, 1, H, W) float32.
    """

    def __init__(self, frames: np.ndarray, observed: int):
        self.frames_ = np.ascontiguousarray(frames[:, :, None], np.float32)
        self.num_observed = int(observed)

    def __len__(self) -> int:
        return len(self.frames_)

    def __getitem__(self, index):
        seq = self.frames_[int(index)]
        return seq[:self.num_observed], seq[self.num_observed:]

    def arrays(self, indices) -> tuple:
        """``(observed, future)`` of several sequences stacked."""
        seqs = self.frames_[np.asarray(list(indices), np.int64)]
        return seqs[:, :self.num_observed], seqs[:, self.num_observed:]


def read_frames(path, *, observed: int, patch: int) -> np.ndarray:
    """A ``.npy`` file of (N, T, H, W) frames as float32 in [0, 1], checked."""
    path = Path(path)
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ValueError(f"data {path}: cannot be read as a .npy array ({e})") from None
    if a.ndim != 4:
        raise ValueError(f"data {path}: expected frames (N, T, H, W), got shape {a.shape}")
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise ValueError(f"data {path}: expected uint8 or float frames, got {a.dtype}")
    n, t, h, w = a.shape
    if n < 1 or not 1 <= observed < t:
        raise ValueError(f"data {path}: {n} sequences of {t} frames; need sequences longer "
                         f"than observed = {observed}")
    if h % patch or w % patch:
        raise ValueError(f"data {path}: frames {h}x{w} are not multiples of patch = {patch}")
    if np.issubdtype(a.dtype, np.integer):
        if a.min() < 0 or a.max() > 255:
            raise ValueError(f"data {path}: integer frames must be 0..255, got "
                             f"[{a.min()}, {a.max()}]")
        return a.astype(np.float32) / 255.0
    if not np.isfinite(a).all():
        raise ValueError(f"data {path}: frames hold NaN or Inf")
    if a.min() < 0 or a.max() > 1:
        raise ValueError(f"data {path}: float frames must lie in [0, 1], got "
                         f"[{a.min():.3g}, {a.max():.3g}]")
    return a.astype(np.float32)


def load_frame_arrays(path, *, observed: int, patch: int, test_fraction: float, seed: int):
    """``(train, test)`` :class:`FrameSequences` of a ``.npy`` file or a folder with
    ``train.npy`` and ``test.npy``."""
    path = Path(path)
    if path.is_dir():
        parts = [path / "train.npy", path / "test.npy"]
        for p in parts:
            if not p.is_file():
                raise FileNotFoundError(f"data {path}: expected train.npy and test.npy (frames "
                                        f"(N, T, H, W)); {p.name} is missing")
        train, test = (read_frames(p, observed=observed, patch=patch) for p in parts)
        if train.shape[1:] != test.shape[1:]:
            raise ValueError(f"data {parts[1]}: frames {test.shape[1:]} differ from "
                             f"train.npy's {train.shape[1:]} (T, H, W)")
    elif path.is_file():
        frames = read_frames(path, observed=observed, patch=patch)
        if len(frames) < 2:
            raise ValueError(f"data {path}: need at least 2 sequences to hold some out")
        perm = np.random.default_rng(seed).permutation(len(frames))
        k = max(1, int(round(test_fraction * len(frames))))
        train, test = frames[np.sort(perm[k:])], frames[np.sort(perm[:k])]
    else:
        raise FileNotFoundError(f"data {path}: no such file or folder (expected a .npy file "
                                f"of frames (N, T, H, W) or a folder with train.npy, test.npy)")
    return FrameSequences(train, observed), FrameSequences(test, observed)
