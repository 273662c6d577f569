"""What speech systems do so a model holds for voices it never heard: perturb the training
audio, mask the features, normalise each recording.

- :func:`perturb`: speed perturbation (resample by 0.9–1.1: tempo and pitch move together,
  as in Kaldi's recipes; Ko et al. 2015) and a random gain in ±g dB.
- :func:`spec_augment`: SpecAugment's time and frequency masks (Park et al. 2019; no time
  warping), on standardised features (a zeroed value is the mean).
- :func:`normalise`: standardise each band with given (training set) statistics, or per
  recording (zero mean, unit variance over its own frames: removes the channel and the
  speaker's average spectrum, a cepstral-mean-and-variance-normalisation analogue).
- :func:`vtlp_warp`: vocal-tract-length perturbation (Jaitly & Hinton 2013): the frequency
  axis under the mel filterbank is stretched by a random factor per training utterance
  (``glassnet.apps.speech.mel_filterbank(..., warp=alpha)``, ``log_mel(..., warp=alpha)``).
- :func:`trim_silence`: drop the quiet frames before and after the speech (an energy
  voice-activity cut), so a speaker who leaves pauses around a word looks like the others.
- :func:`mfcc` and :func:`deltas`: cepstra (orthonormal DCT-II of the log-mel bands, c0
  dropped) and their regression deltas, the classic compact front end.

Used by :mod:`glassnet.apps.speech` (isolated digits) and :mod:`glassnet.apps.speech_ctc`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["perturb", "spec_augment", "normalise", "vtlp_warp", "trim_silence", "mfcc",
           "deltas"]


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


def vtlp_warp(freqs, alpha: float, *, nyquist: float = 4000.0,
              f_hi: float | None = None) -> np.ndarray:
    r"""Vocal-tract-length warp of frequencies in Hz (Jaitly & Hinton 2013; the piecewise-
    linear form of Kaldi's VTLN): a component at ``f`` is read as if it were at ``f'``.

    With f_0 = f_hi·min(α, 1)/α::

        f' = α f                                                     for f <= f_0
        f' = ny − (ny − f_hi·min(α, 1)) / (ny − f_0) · (ny − f)        above (ny = nyquist)

    so 0 and the Nyquist frequency stay put and the map is continuous and increasing. α > 1
    moves energy up the filterbank (a shorter vocal tract), α < 1 down; α = 1 is the identity.

    Args:
        freqs: frequencies in [0, nyquist].
        alpha: warp factor, > 0 (VTLP draws it from about [0.9, 1.1] per utterance).
        nyquist: half the sampling rate (default: 8 kHz audio).
        f_hi: the knee's upper bound in Hz, in (0, nyquist) (default 0.8·nyquist).

    Shape:
        freqs: any; output: the same, float64.

    Example:
        >>> vtlp_warp([0, 1000, 4000], 1.1).round(1).tolist()
        [0.0, 1100.0, 4000.0]
    """
    if not alpha > 0:
        raise ValueError(f"vtlp_warp(alpha={alpha!r}): expected a warp factor > 0")
    f_hi = 0.8 * nyquist if f_hi is None else float(f_hi)
    if not 0 < f_hi < nyquist:
        raise ValueError(f"vtlp_warp(f_hi={f_hi!r}): expected 0 < f_hi < nyquist = {nyquist}")
    f = np.asarray(freqs, np.float64)
    f_0 = f_hi * min(alpha, 1.0) / alpha
    upper = nyquist - (nyquist - f_hi * min(alpha, 1.0)) / (nyquist - f_0) * (nyquist - f)
    return np.where(f <= f_0, alpha * f, upper)


def mfcc(log_mel: np.ndarray, n_mfcc: int = 13, *, drop_c0: bool = True) -> np.ndarray:
    r"""Mel-frequency cepstral coefficients of (T, n_mels) log-mel features: the orthonormal
    DCT-II over the bands (``scipy.fft.dct(..., type=2, norm="ortho")``, as librosa's
    ``mfcc``), keeping c1…c_{n_mfcc} (``drop_c0``: c0 is the frame's overall loudness) or
    c0…c_{n_mfcc−1}.

        c_k = sqrt((2 − [k = 0]) / B) · Σ_b log_mel[b] · cos(π k (2b + 1) / (2B))

    Shape:
        log_mel: (T, B); output: (T, n_mfcc) float32, n_mfcc + drop_c0 <= B.

    Example:
        >>> mfcc(np.zeros((5, 40), np.float32)).shape
        (5, 13)
    """
    from scipy.fft import dct
    log_mel = np.asarray(log_mel)
    if log_mel.ndim != 2:
        raise ValueError(f"mfcc(log_mel): expected (T, n_mels), got shape {log_mel.shape}")
    start = int(drop_c0)
    if not 1 <= n_mfcc <= log_mel.shape[1] - start:
        raise ValueError(f"mfcc(n_mfcc={n_mfcc!r}): expected 1..{log_mel.shape[1] - start} "
                         f"for {log_mel.shape[1]} mel bands (drop_c0={drop_c0})")
    c = dct(log_mel.astype(np.float64), type=2, norm="ortho", axis=1)
    return c[:, start:start + n_mfcc].astype(np.float32)


def deltas(feats: np.ndarray, width: int = 2) -> np.ndarray:
    r"""Regression deltas along time (HTK's formula; edge frames repeated):

        d_t = Σ_{n=1..N} n (c_{t+n} − c_{t−n}) / (2 Σ_{n=1..N} n²),   N = ``width``

    Shape:
        feats: (T, D); output: (T, D) float32.

    Example:
        >>> deltas(np.arange(6.0)[:, None]).ravel()
        array([0.5, 0.8, 1. , 1. , 0.8, 0.5], dtype=float32)
    """
    feats = np.asarray(feats)
    if feats.ndim != 2 or not (isinstance(width, int) and width >= 1):
        raise ValueError(f"deltas(feats {feats.shape}, width={width!r}): expected (T, D) "
                         f"features and an int width >= 1")
    padded = np.pad(feats.astype(np.float64), ((width, width), (0, 0)), mode="edge")
    T = len(feats)
    num = sum(n * (padded[width + n:width + n + T] - padded[width - n:width - n + T])
              for n in range(1, width + 1))
    return (num / (2 * sum(n * n for n in range(1, width + 1)))).astype(np.float32)


def trim_silence(power: np.ndarray, top_db: float) -> np.ndarray:
    """Drop the leading and trailing frames of a (F, T) power spectrogram whose energy (sum
    over F) is more than ``top_db`` dB below the loudest frame's (as ``librosa.effects.trim``
    on frames); the frames in between are kept, quiet or not.

    Shape:
        power: (F, T); output: (F, T') with 1 <= T' <= T (a view).

    Example:
        >>> trim_silence(np.array([[1e-6, 1.0, 1e-6, 0.5, 1e-6]]), 40).shape
        (1, 3)
    """
    if not top_db > 0:
        raise ValueError(f"trim_silence(top_db={top_db!r}): expected a positive number of dB")
    energy = np.asarray(power, np.float64).sum(axis=0)
    loud = np.flatnonzero(energy > energy.max() * 10 ** (-top_db / 10))
    if loud.size == 0:                                        # all silent (all zero)
        return power
    return power[:, loud[0]:loud[-1] + 1]
