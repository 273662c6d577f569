r"""Connected-digit utterances built from isolated recordings: the data side of
:mod:`glassnet.apps.speech_ctc`.

:func:`build_utterance` joins 1–7 clips with random silences (deterministic from a seed),
with optional speed/gain perturbation, a random low-pass channel (:func:`lowpass_filter`) and
white noise; :class:`UtteranceSet` yields padded batches of their standardised log-mel
features and CTC targets, built on the fly every epoch (training) or once (validation,
test), with the floor, per-speaker normalisation, recording noise and SpecAugment options
the recipe sets.

    >>> sig, labels, pieces = build_utterance(clips, digits, np.random.default_rng(0))
    >>> data = UtteranceSet(clips, digits, size=2000, batch_size=32, seed=0, fresh=True)
"""
from __future__ import annotations

import numpy as np

from .speech import SAMPLE_RATE, speaker_stats
from .speech_augment import normalise, perturb, spec_augment
from .speech_noise import add_noise, floored_log_mel, speech_level_db

__all__ = ["build_utterance", "UtteranceSet", "lowpass_filter", "LOWPASS_BAND"]


# -- channel perturbation --------------------------------------------------------------------
LOWPASS_BAND = (1000.0, 3500.0)


def lowpass_filter(signal: np.ndarray, cutoff: float, order: int = 4) -> np.ndarray:
    """A Butterworth low-pass (``scipy.signal.butter``, second-order sections) at ``cutoff``
    Hz of an 8 kHz signal: a recording channel that loses the high frequencies, as some
    microphones do (jackson's recordings put about 5–8 dB less of their energy at 1–1.5 and
    2–2.5 kHz than george's, lucas's and yweweler's).

    Shape:
        signal: (S,) float samples; output: (S,) float32.
    """
    from scipy.signal import butter, sosfilt
    if not 0 < cutoff < SAMPLE_RATE / 2:
        raise ValueError(f"lowpass_filter(cutoff={cutoff}): expected 0 < cutoff < "
                         f"{SAMPLE_RATE / 2:g} Hz")
    sos = butter(order, cutoff, fs=SAMPLE_RATE, output="sos")
    return sosfilt(sos, np.asarray(signal, np.float64)).astype(np.float32)


# -- utterances ------------------------------------------------------------------------------
def build_utterance(clips, digits, rng, *, min_digits: int = 1, max_digits: int = 7,
                    gap: tuple = (0.05, 0.3), noise: float = 0.0, speed: float = 0.0,
                    gain_db: float = 0.0, lowpass: float = 0.0):
    """Join 1–7 random clips with random silences: one connected-digit utterance.

    Args:
        clips: list of float32 signals (8 kHz), all of one speaker or a pool to draw from.
        digits: the digit of each clip.
        rng: a ``numpy.random.Generator`` (the same seed gives the same utterance).
        min_digits, max_digits: how many clips to join (uniform).
        gap: silence before, between and after the clips, uniform in [gap[0], gap[1]] seconds.
        noise: standard deviation of white noise added everywhere (0: none).
        speed, gain_db: perturbation of each clip (see :func:`speech_augment.perturb`; 0: none).
        lowpass: probability that the joined signal goes through :func:`lowpass_filter` at a
            cutoff uniform in ``LOWPASS_BAND`` (before the noise; 0: never).

    Returns:
        ``(signal, labels, pieces)``: the float32 signal, the list of digits, and the
        ``(clip index, start sample, end sample)`` of every clip used.

    Example:
        >>> sig, labels, pieces = build_utterance(clips, digits, np.random.default_rng(0))
    """
    k = int(rng.integers(min_digits, max_digits + 1))
    chosen = rng.integers(0, len(clips), size=k)
    parts, pieces, pos = [], [], 0
    for i in chosen:
        silence = np.zeros(int(rng.uniform(*gap) * SAMPLE_RATE), np.float32)
        clip = perturb(clips[i], rng, speed, gain_db)
        parts += [silence, clip]
        pos += len(silence)
        pieces.append((int(i), pos, pos + len(clip)))
        pos += len(clip)
    parts.append(np.zeros(int(rng.uniform(*gap) * SAMPLE_RATE), np.float32))
    signal = np.concatenate(parts)
    if lowpass and rng.uniform() < lowpass:
        signal = lowpass_filter(signal, rng.uniform(*LOWPASS_BAND))
    if noise:
        signal = signal + rng.normal(0, noise, len(signal)).astype(np.float32)
    return signal, [int(digits[i]) for i in chosen], pieces


def _batch(feats, labels=None):
    """Pad (T_i, n_mels) arrays into (N, T_max, n_mels + 1) with the frame mask last, and the
    targets into (N, 2 + S_max) int64 rows ``[frames, digits, digit + 1 …]``."""
    n_mels = feats[0].shape[1]
    x = np.zeros((len(feats), max(len(f) for f in feats), n_mels + 1), np.float32)
    for i, f in enumerate(feats):
        x[i, :len(f), :n_mels] = f
        x[i, :len(f), n_mels] = 1
    if labels is None:
        return x
    y = np.zeros((len(feats), 2 + max(1, max(len(s) for s in labels))), np.int64)
    for i, (f, s) in enumerate(zip(feats, labels)):
        y[i, 0], y[i, 1] = len(f), len(s)
        y[i, 2:2 + len(s)] = np.asarray(s) + 1
    return x, y


class UtteranceSet:
    """Batches of connected-digit utterances, built on the fly from one pool of clips.

    Features are standardised per band by ``stats = (mean, std)``, or per utterance when
    ``stats`` is None (see :func:`normalise`), or with ``stats = "speaker"`` by the mean/std
    over all frames of all utterances of the utterance's speaker in the same set (this
    epoch's, for a fresh set): per-speaker CMVN by :func:`glassnet.apps.speech.speaker_stats`,
    from the audio alone (no label). ``speakers`` (the speaker of each clip; None: one
    voice) makes every utterance the clips of one speaker, drawn uniformly among them.
    ``clip_noise = (db_low, db_high, colour_max)`` adds recording noise to the clips of
    every utterance (:func:`add_noise`, the silences between clips untouched) at a level
    uniform in [db_low, db_high] dB and a colour uniform in [0, colour_max], drawn per
    utterance from its own generator (seed, epoch, 2): the same utterances as without it,
    only noisier (multi-condition training; ``(-41, -41, 0)``: a held-out voice recorded
    as noisily as nicolas's clips); a fourth element ``True`` makes the levels relative to
    the utterance's own :func:`speech_level_db` (a signal-to-noise ratio: ``(-55, -20, 0,
    True)`` is an SNR uniform in [20, 55] dB). ``snr_floor_db`` (0: off) floors each voice's spectra
    at white noise that many dB below the voice's speech level (:func:`floored_log_mel`;
    the voice's utterances in the set, as for ``stats = "speaker"``); with ``floor_span_db``
    (0: off) and ``fresh=True`` each training utterance gets its own distance, uniform in
    [snr_floor_db − floor_span_db, snr_floor_db + floor_span_db], drawn from its own
    generator (seed, epoch, 3): floor-level augmentation. With ``fresh=True``
    every epoch draws new
    utterances (seed + epoch) with the training perturbations (``augment``: speed, gain_db,
    lowpass, vtlp, spec_augment); otherwise the same ``size`` utterances every time (the
    validation/test set). Batches hold utterances of similar length (less padding); with
    ``fresh`` their order is shuffled.

    Yields ``(x, y)`` as :func:`fit` expects: x (N, T, n_mels + 1), y (N, 2 + S_max).
    """

    def __init__(self, clips, digits, size: int, batch_size: int, seed: int, *,
                 n_mels: int = 40, fresh: bool = False, augment: dict | None = None,
                 noise: float = 0.0, max_digits: int = 7, stats=None, speakers=None,
                 clip_noise: tuple | None = None, snr_floor_db: float = 0.0,
                 floor_span_db: float = 0.0):
        if isinstance(stats, str) and stats != "speaker":
            raise ValueError(f'UtteranceSet(stats={stats!r}): expected None, (mean, std) or '
                             f'"speaker"')
        if speakers is not None and len(speakers) != len(clips):
            raise ValueError(f"UtteranceSet(speakers=...): expected one speaker per clip "
                             f"({len(clips)}), got {len(speakers)}")
        if clip_noise is not None and not (len(clip_noise) in (3, 4) and clip_noise[0]
                                           <= clip_noise[1] <= 0 and clip_noise[2] >= 0):
            raise ValueError(f"UtteranceSet(clip_noise={clip_noise!r}): expected (db_low, "
                             f"db_high, colour_max[, relative]) with db_low <= db_high <= 0, "
                             f"colour_max >= 0")
        if floor_span_db and not 0 < floor_span_db < snr_floor_db:
            raise ValueError(f"UtteranceSet(floor_span_db={floor_span_db}): expected 0 (off) "
                             f"or 0 < floor_span_db < snr_floor_db ({snr_floor_db})")
        self.clips, self.digits, self.size, self.batch_size = clips, digits, size, batch_size
        self.clip_noise, self.snr_floor_db = clip_noise, snr_floor_db
        self.floor_span_db = floor_span_db
        self.stats = stats
        names = [] if speakers is None else sorted(set(speakers))
        self._voices = [(sp, [i for i, s in enumerate(speakers) if s == sp]) for sp in names]
        self.seed, self.n_mels, self.fresh, self.noise = seed, n_mels, fresh, noise
        self.augment, self.max_digits, self.epoch = augment or {}, max_digits, 0
        self._fixed = None

    def __len__(self):
        return -(-self.size // self.batch_size)

    def utterances(self, epoch: int = 0):
        """``(signals, labels)`` of one epoch's utterances."""
        return self.draw(epoch)[:2]

    def draw(self, epoch: int = 0):
        """``(signals, labels, speakers)`` of one epoch's utterances (speaker "" without
        ``speakers``)."""
        rng = np.random.default_rng([self.seed, epoch])
        noise_rng = np.random.default_rng([self.seed, epoch, 2])
        aug = self.augment
        signals, labels, voices = [], [], []
        for _ in range(self.size):
            clips, digits, voice = self.clips, self.digits, ""
            if len(self._voices) > 1:                  # one voice per utterance
                voice, idx = self._voices[int(rng.integers(len(self._voices)))]
                clips, digits = [self.clips[i] for i in idx], [self.digits[i] for i in idx]
            sig, lab, pieces = build_utterance(clips, digits, rng, noise=self.noise,
                                               max_digits=self.max_digits,
                                               speed=aug.get("speed", 0.0),
                                               gain_db=aug.get("gain_db", 0.0),
                                               lowpass=aug.get("lowpass", 0.0))
            if self.clip_noise is not None:
                lo, hi, colour = self.clip_noise[:3]
                level, beta = noise_rng.uniform(lo, hi), noise_rng.uniform(0, colour)
                if len(self.clip_noise) == 4 and self.clip_noise[3]:   # dB below the speech
                    level = min(level + speech_level_db([sig]), 0.0)
                sig = add_noise(sig, noise_rng, level, colour=beta, pieces=pieces)
            signals.append(sig)
            labels.append(lab)
            voices.append(voice)
        return signals, labels, voices

    def features(self, signals, rng=None, speakers=None, floor_rng=None):
        """Standardised (T_i, n_mels) log-mel features of ``signals`` (``speakers``: the
        speaker of each, for ``stats = "speaker"``; None: one voice); with ``rng`` (training)
        the VTLP warp and SpecAugment masks of ``augment``; with ``floor_rng`` and
        ``floor_span_db`` a floor distance per signal."""
        vtlp = self.augment.get("vtlp", 0.0) if rng is not None else 0.0
        alphas = rng.uniform(1 - vtlp, 1 + vtlp, len(signals)) if vtlp else [1.0] * len(signals)
        dist = np.full(len(signals), float(self.snr_floor_db))
        if floor_rng is not None and self.floor_span_db:
            dist = floor_rng.uniform(self.snr_floor_db - self.floor_span_db,
                                     self.snr_floor_db + self.floor_span_db, len(signals))
        voices = [""] * len(signals) if speakers is None else list(speakers)
        feats = [None] * len(signals)
        for v in set(voices):                          # each voice's floor (snr_floor_db)
            idx = [i for i, w in enumerate(voices) if w == v]
            floor = dist[idx] if self.snr_floor_db else 0.0
            for i, f in zip(idx, floored_log_mel([signals[i] for i in idx], self.n_mels,
                                                 floor, [alphas[i] for i in idx])):
                feats[i] = f
        if isinstance(self.stats, str):                # "speaker": every frame of each voice
            per = speaker_stats(feats, voices, max_frames=None)
        else:
            per = [self.stats] * len(feats)
        feats = [normalise(f, st) for f, st in zip(feats, per)]
        if rng is not None and self.augment.get("spec_augment"):
            feats = [spec_augment(f, rng) for f in feats]
        return feats

    def __iter__(self):
        if self.fresh or self._fixed is None:
            epoch = self.epoch if self.fresh else 0
            self.epoch += 1
            signals, labels, voices = self.draw(epoch)
            rng = np.random.default_rng([self.seed, epoch, 1]) if self.fresh else None
            floor_rng = np.random.default_rng([self.seed, epoch, 3]) if self.fresh else None
            feats = self.features(signals, rng, voices, floor_rng)
            order = np.argsort([len(f) for f in feats], kind="stable")
            groups = [order[i:i + self.batch_size] for i in range(0, len(order),
                                                                  self.batch_size)]
            if self.fresh:
                groups = [groups[i] for i in rng.permutation(len(groups))]
            batches = [_batch([feats[i] for i in g], [labels[i] for i in g]) for g in groups]
            if not self.fresh:
                self._fixed = batches
        else:
            batches = self._fixed
        yield from batches
