"""Noise in speech recordings, for the connected-digit task (:mod:`glassnet.apps.speech_ctc`):
add recording noise of a given level and colour (multi-condition training, a noisy
validation voice), and make every voice's noise floor alike in the features.

- :func:`add_noise`: white or 1/f^β noise at an RMS level in dB relative to full scale,
  everywhere or only inside given stretches (the clips of an utterance).
- :func:`speech_level_db`: a voice's speech level, a high percentile of its 10 ms frame
  powers (no labels).
- :func:`white_floor` and :func:`floored_log_mel`: log-mel features of one voice whose power
  spectra get the expected power of white noise a fixed number of dB below that voice's
  speech level, so that a quieter noise floor disappears under it and a louder one stands
  out less (``snr_floor_db`` of the speech_ctc recipe).
"""
from __future__ import annotations

import numpy as np

from .speech import N_FFT, SAMPLE_RATE, log_mel, log_mel_of_power, power_spectrogram

__all__ = ["NOISE_COLOUR_MAX", "add_noise", "speech_level_db", "white_floor", "floored_log_mel"]

NOISE_COLOUR_MAX = 2.0   # training noise: 1/f^beta, beta uniform in [0, 2] (white, pink, brown)


def add_noise(signal: np.ndarray, rng, level_db: float, *, colour: float = 0.0,
              pieces=None) -> np.ndarray:
    """``signal`` plus noise of RMS ``level_db`` dB relative to full scale (samples in
    [-1, 1]: -60 dB is a standard deviation of 0.001) and power spectrum 1/f^``colour``
    (0: white, 1: pink, 2: brown; shaped in the frequency domain, no DC), added only to the
    ``(clip index, start, end)`` stretches of ``pieces`` when given (the clips of
    :func:`~glassnet.apps.speech_ctc.build_utterance`: noise recorded with the voice, the
    silences between clips left as they are), else everywhere. A copy; deterministic from
    ``rng``.

    Shape:
        signal: (S,) float samples; output: (S,) float32.

    Example:
        >>> add_noise(np.zeros(8000, np.float32), np.random.default_rng(0), -40).std()  # ~0.01
    """
    signal = np.asarray(signal, np.float32)
    if signal.ndim != 1:
        raise ValueError(f"add_noise(signal): expected a 1-D array, got shape {signal.shape}")
    if not -200 < level_db <= 0 or colour < 0:
        raise ValueError(f"add_noise(level_db={level_db}, colour={colour}): expected "
                         f"-200 < level_db <= 0 and colour >= 0")
    n = len(signal)
    noise = rng.standard_normal(n)
    if colour and n > 2:
        spec = np.fft.rfft(noise)
        f = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
        spec[0] = 0
        spec[1:] *= f[1:] ** (-colour / 2)
        noise = np.fft.irfft(spec, n)
    noise *= 10 ** (level_db / 20) / max(float(np.sqrt(np.mean(noise ** 2))), 1e-30)
    if pieces is not None:
        mask = np.zeros(n, bool)
        for _, a, b in pieces:
            mask[a:b] = True
        noise[~mask] = 0
    return (signal + noise).astype(np.float32)


def speech_level_db(signals, q: float = 95.0) -> float:
    """A voice's speech level: the ``q``-th percentile of the power of the 10 ms frames of all
    its ``signals``, in dB relative to full scale (no label; silences and speech alike)."""
    hop = SAMPLE_RATE // 100
    powers = [np.mean(np.asarray(s[:len(s) // hop * hop], np.float64).reshape(-1, hop) ** 2,
                      axis=1) for s in signals if len(s) >= hop]
    if not powers:
        raise ValueError("speech_level_db: expected at least one signal of 10 ms or more")
    return float(10 * np.log10(np.percentile(np.concatenate(powers), q) + 1e-20))


def white_floor(level_db: float) -> float:
    """The power per bin that white noise of RMS ``level_db`` dB adds to a
    :func:`~glassnet.apps.speech.power_spectrogram` (Hann window w: σ² Σw² / (Σw)²)."""
    from scipy.signal import get_window
    w = get_window("hann", N_FFT)
    return float(10 ** (level_db / 10) * (w ** 2).sum() / w.sum() ** 2)


def floored_log_mel(signals, n_mels: int, snr_floor_db, warps=None) -> list:
    """Log-mel features of the ``signals`` of ONE voice with the voice's noise floor made
    uniform: the power spectrum of each gets the expected power of white noise
    ``snr_floor_db`` dB below the voice's :func:`speech_level_db` (0: plain
    :func:`~glassnet.apps.speech.log_mel`). A quieter noise floor disappears under it, a
    louder one (nicolas's −41 dB) stands out less against the silences; every voice's floor
    then sits at the same distance from its speech. ``snr_floor_db`` may also hold one
    distance per signal (all > 0; training with ``snr_floor_span_db``), the speech level
    still that of all the voice's signals.

    Shape:
        signals: (S_i,) each; output: (T_i, n_mels) float32 each.
    """
    warps = [1.0] * len(signals) if warps is None else warps
    if np.ndim(snr_floor_db) == 0 and not snr_floor_db:
        return [log_mel(s, n_mels, warp=float(a)) for s, a in zip(signals, warps)]
    dist = np.broadcast_to(np.asarray(snr_floor_db, np.float64), (len(signals),))
    level = speech_level_db(signals)
    floors = {d: white_floor(level - d) for d in set(dist.tolist())}
    return [log_mel_of_power(power_spectrogram(s) + floors[d], n_mels, warp=float(a))
            for s, a, d in zip(signals, warps, dist.tolist())]
