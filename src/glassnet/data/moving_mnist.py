"""Moving MNIST: digits bouncing inside a frame, generated deterministically from a seed.

The standard procedure of Srivastava, Mansimov & Salakhutdinov (2015, "Unsupervised Learning
of Video Representations using LSTMs"): each sequence places ``num_digits`` (2) MNIST digits
(28x28) at random positions in a 64x64 frame; each moves in a random direction θ ~ U[0, 2π)
with a constant step of ``step_length`` (0.1) of the free range (64 − 28 = 36 px, so 3.6 px
per frame), bouncing off the edges (the velocity component flips when a digit touches a
border). Overlapping digits are combined by the pixel-wise maximum. 20 frames: the first 10
are observed, the last 10 are to be predicted.

Sequence i of a dataset is drawn from ``numpy.random.default_rng([seed, i])`` alone, so it is
the same whatever order or subset is generated, and nothing has to be stored: frames are made
on demand (about 0.1 ms per sequence). Training sequences use digits of the MNIST train
split, test sequences digits of the test split.

Shape glossary: T frames (20), S frame size (64), D digits per sequence (2).
"""
from __future__ import annotations

import numpy as np

from .dataset import Dataset
from .mnist import load_mnist

__all__ = ["MovingMNIST", "generate_moving_mnist", "moving_mnist_sequence"]

DIGIT = 28


def moving_mnist_sequence(digits: np.ndarray, rng: np.random.Generator, *, num_frames: int = 20,
                          frame_size: int = 64, num_digits: int = 2,
                          step_length: float = 0.1) -> np.ndarray:
    """One Moving MNIST sequence as uint8 frames (T, S, S).

    Args:
        digits: uint8 digit images (M, 28, 28) to draw from.
        rng: the generator that decides digits, start positions and directions.
        num_frames: T. frame_size: S (>= 28). num_digits: D.
        step_length: distance per frame as a fraction of the free range S − 28.

    Example:
        >>> seq = moving_mnist_sequence(digits, np.random.default_rng(0))
        >>> seq.shape, seq.dtype
        ((20, 64, 64), dtype('uint8'))
    """
    free = frame_size - DIGIT
    which = rng.integers(0, len(digits), num_digits)
    pos = rng.random((num_digits, 2))                       # (y, x) in [0, 1) of the range
    theta = rng.random(num_digits) * 2 * np.pi
    vel = np.stack([np.sin(theta), np.cos(theta)], 1) * step_length
    frames = np.zeros((num_frames, frame_size, frame_size), np.uint8)
    for t in range(num_frames):
        top_left = (pos * free).astype(np.int64)
        for d in range(num_digits):
            y, x = top_left[d]
            win = frames[t, y:y + DIGIT, x:x + DIGIT]
            np.maximum(win, digits[which[d]], out=win)
        pos += vel
        low, high = pos <= 0, pos >= 1                       # bounce off the borders
        pos[low], pos[high] = 0.0, 1.0
        vel[low | high] *= -1
    return frames


def generate_moving_mnist(digits: np.ndarray, num_sequences: int, seed: int = 0,
                          start: int = 0, **kwargs) -> np.ndarray:
    """Sequences ``start … start + num_sequences − 1`` as uint8 (n, T, S, S).

    Sequence i comes from ``default_rng([seed, i])``; ``kwargs`` go to
    :func:`moving_mnist_sequence`.

    Example:
        >>> generate_moving_mnist(digits, 8, seed=1).shape
        (8, 20, 64, 64)
    """
    return np.stack([moving_mnist_sequence(digits, np.random.default_rng([seed, start + i]),
                                           **kwargs) for i in range(num_sequences)])


class MovingMNIST(Dataset):
    """Moving MNIST sequences split into observed and future frames, made on demand.

    Args:
        root: folder of the MNIST files (``None``: the usual lookup, see ``load_mnist``).
        split: ``"train"`` (digits from the MNIST train split) or ``"test"``.
        num_sequences: the dataset's length (default 10,000).
        seed: generator seed (sequence i uses ``default_rng([seed, i])``).
        num_frames: T (default 20). num_observed: frames given as input (default 10).
        frame_size: S (default 64). num_digits: D (default 2).
        downsample: average-pool the frames by this factor (1 = full size; 2 gives 32x32).
        digits: optional uint8 (M, 28, 28) digit images to use instead of loading MNIST.

    Shape:
        sample: ``(observed, future)`` float32 in [0, 1], (num_observed, 1, S', S') and
        (T − num_observed, 1, S', S'), S' = S / downsample.

    Example:
        >>> ds = MovingMNIST(split="test", num_sequences=100)
        >>> x, y = ds[0]
        >>> x.shape, y.shape
        ((10, 1, 64, 64), (10, 1, 64, 64))
    """

    def __init__(self, root=None, split: str = "train", num_sequences: int = 10000,
                 seed: int = 0, *, num_frames: int = 20, num_observed: int = 10,
                 frame_size: int = 64, num_digits: int = 2, downsample: int = 1,
                 digits: np.ndarray | None = None):
        for name, v, low in (("num_sequences", num_sequences, 1), ("num_frames", num_frames, 2),
                             ("frame_size", frame_size, DIGIT), ("num_digits", num_digits, 1),
                             ("downsample", downsample, 1), ("seed", seed, 0)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < low:
                raise ValueError(f"MovingMNIST({name}={v!r}): expected an int >= {low}")
        if not 1 <= num_observed < num_frames:
            raise ValueError(f"MovingMNIST(num_observed={num_observed!r}): expected 1 <= "
                             f"num_observed < num_frames = {num_frames}")
        if frame_size % downsample:
            raise ValueError(f"MovingMNIST(downsample={downsample}): must divide "
                             f"frame_size={frame_size}")
        if digits is None:
            images, _ = load_mnist(root, split)
            digits = np.rint(images[:, 0] * 255).astype(np.uint8)
        digits = np.asarray(digits)
        if digits.ndim != 3 or digits.shape[1:] != (DIGIT, DIGIT) or digits.dtype != np.uint8:
            raise ValueError(f"MovingMNIST(digits): expected uint8 (M, 28, 28), got "
                             f"{digits.dtype} {digits.shape}")
        self.digits, self.split, self.seed = digits, split, int(seed)
        self.num_sequences, self.num_observed = int(num_sequences), int(num_observed)
        self.downsample = int(downsample)
        self._kw = {"num_frames": num_frames, "frame_size": frame_size,
                    "num_digits": num_digits}

    def __len__(self) -> int:
        return self.num_sequences

    def frames(self, index: int) -> np.ndarray:
        """All T frames of sequence ``index`` as float32 (T, 1, S', S') in [0, 1]."""
        if not 0 <= index < self.num_sequences:
            raise IndexError(f"MovingMNIST: index {index} out of range for "
                             f"{self.num_sequences} sequences")
        seq = moving_mnist_sequence(self.digits, np.random.default_rng([self.seed, index]),
                                    **self._kw).astype(np.float32)
        seq *= np.float32(1 / 255)
        k = self.downsample
        if k > 1:
            T, S, _ = seq.shape
            seq = seq.reshape(T, S // k, k, S // k, k).mean(axis=(2, 4))
        return seq[:, None]

    def __getitem__(self, index):
        seq = self.frames(int(index))
        return seq[:self.num_observed], seq[self.num_observed:]

    def arrays(self, indices) -> tuple:
        """``(observed, future)`` of several sequences stacked: (n, T_obs, 1, S', S'), ..."""
        seqs = np.stack([self.frames(int(i)) for i in indices])
        return seqs[:, :self.num_observed], seqs[:, self.num_observed:]
