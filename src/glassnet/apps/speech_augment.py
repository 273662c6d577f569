"""What speech systems do so a model holds for voices it never heard: perturb the training
audio, mask the features, normalise each recording.

- :func:`perturb`: speed perturbation (resample by 0.9–1.1: tempo and pitch move together,
  as in Kaldi's recipes; Ko et al. 2015) and a random gain in ±g dB.
- :func:`spec_augment`: SpecAugment's time and frequency masks (Park et al. 2019; no time
  warping), on standardised features (a zeroed value is the mean).
- :func:`normalise`: standardise each band with given (training set) statistics, or per
  recording (zero mean, unit variance over its own frames: removes the channel and the
  speaker's average spectrum, a cepstral-mean-and-variance-normalisation analogue).

Used by :mod:`glassnet.apps.speech` (isolated digits) and :mod:`glassnet.apps.speech_ctc`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["perturb", "spec_augment", "normalise"]


def perturb(clip: np.ndarray, rng, speed: float = 0.0, gain_db: float = 0.0) -> np.ndarray:
    """Resample ``clip`` by a random factor in [1 − speed, 1 + speed] (linear interpolation)
    and scale it by a random gain in ±``gain_db`` dB; 0 turns either off.

    Example:
        >>> perturb(np.ones(800, np.float32), np.random.default_rng(0), 0.1, 6).shape[0] in
        ...     range(727, 890)
        True
    """
    if speed:
        factor = rng.uniform(1 - speed, 1 + speed)
        n = max(2, int(round(len(clip) / factor)))
        clip = np.interp(np.linspace(0, len(clip) - 1, n), np.arange(len(clip)), clip)
    if gain_db:
        clip = clip * 10 ** (rng.uniform(-gain_db, gain_db) / 20)
    return np.asarray(clip, np.float32)


def spec_augment(feats: np.ndarray, rng, *, time_masks: int = 2, time_width: int = 10,
                 freq_masks: int = 2, freq_width: int = 6) -> np.ndarray:
    """Zero ``time_masks`` runs of 0…``time_width`` frames and ``freq_masks`` runs of
    0…``freq_width`` bands of a standardised (T, n_mels) array (a copy)."""
    out = feats.copy()
    T, B = out.shape
    for _ in range(time_masks):
        w = int(rng.integers(0, time_width + 1))
        t0 = int(rng.integers(0, max(1, T - w)))
        out[t0:t0 + w] = 0
    for _ in range(freq_masks):
        w = int(rng.integers(0, freq_width + 1))
        f0 = int(rng.integers(0, max(1, B - w)))
        out[:, f0:f0 + w] = 0
    return out


def normalise(feats: np.ndarray, stats=None) -> np.ndarray:
    """Standardise (T, n_mels) log-mel features band by band: with ``stats = (mean, std)``
    (the training set's), else per recording (zero mean, unit variance over its frames)."""
    if stats is not None:
        return ((feats - stats[0]) / stats[1]).astype(np.float32)
    return ((feats - feats.mean(0)) / (feats.std(0) + 1e-5)).astype(np.float32)
