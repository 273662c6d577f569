r"""Spoken-digit recognition on the Free Spoken Digit Dataset (FSDD): log-mel features and a
convolutional-recurrent classifier.

Pipeline::

    WAV (8 kHz, int16)  --scipy.io.wavfile-->  x in [-1, 1]
    scipy.signal.stft (Hann 256 = 32 ms, hop 80 = 10 ms, centred)  -->  |X|^2   (F=129, T)
    mel filterbank (Slaney, n_mels rows)  -->  log(max(mel, 1e-10))              (T, n_mels)
    standardise with the training set's per-band mean/std, crop/pad to 64 frames (0.64 s)

The mel filterbank is :func:`mel_filterbank` (NumPy, librosa's Slaney formulas; the test
compares it with ``librosa.filters.mel``). It is written here instead of imported because the
light packages that have one are unmaintained (python_speech_features, last release 2017;
speechpy, 2018) and librosa pulls numba/llvmlite, soundfile and soxr (~60 MB) for one
20-line function; librosa stays a test-only reference.

Model (:class:`SpeechDigitNet`): two Conv1d(5, stride 2) + ReLU (40 ms steps) →
bidirectional GRU (final states at each utterance's true length) → Dropout → Linear(2H→10).

Batches are (N, T, n_mels + 1) arrays: the last channel is 1 on real frames and 0 on padding,
so a plain ``(inputs, labels)`` DataLoader and :func:`glassnet.train.fit` can carry the
lengths.

    glassnet train recipes/speech.toml --out runs/speech
    glassnet predict runs/speech ../shared/data/fsdd/recordings/7_theo_3.wav
"""
from __future__ import annotations

import dataclasses
import re
import time
from pathlib import Path

import numpy as np

from .. import nn, optim
from ..data import DataLoader, TensorDataset
from ..io import load_weights, save_weights
from ..runs import Task, TaskRecipe, register, write_run_json
from ..runs.common import app_trainer, print_header
from ..runs.recipe import param
from ..runs.rundir import data_root, prepare_run_dir, read_run_json, resolve_data
from ..runs.supervised import majority_baseline
from ..tensor import Tensor, manual_seed, no_grad
from ..train import JSONLLogger, evaluate, fit
from .speech_adapt import align_to_uniform, self_train
from .speech_augment import (deltas, mfcc, normalise, perturb, spec_augment, trim_silence,
                             vtlp_warp)
from .speech_data import list_labelled_wavs, read_wav_any

__all__ = ["mel_filterbank", "read_wav", "log_mel", "list_recordings", "load_features",
           "power_spectrogram", "log_mel_of_power", "frame_features", "feature_dim",
           "speaker_stats",
           "pad_frames", "SpeechDigitNet", "SpeechRecipe", "train_speech", "load_speech_run",
           "predict_wav", "predict_cli"]

SAMPLE_RATE, N_FFT, HOP, MAX_FRAMES = 8000, 256, 80, 64
SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
_NAME = re.compile(r"^(\d)_([a-z]+)_(\d+)\.wav$")


def _hz_to_mel(f):
    f = np.asarray(f, np.float64)
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27),
                    f * 3.0 / 200.0)


def _mel_to_hz(m):
    m = np.asarray(m, np.float64)
    return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27) * (m - 15.0)), m * 200.0 / 3.0)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0,
                   fmax: float | None = None, *, warp: float = 1.0) -> np.ndarray:
    r"""Triangular mel filters on the FFT bins (Slaney's mel scale and area normalisation,
    as ``librosa.filters.mel`` with its defaults).

    Mel scale: linear below 1 kHz (m = 3f/200), logarithmic above
    (m = 15 + 27·ln(f/1000)/ln 6.4). n_mels + 2 points equally spaced in mel give the
    corners f_{i-1}, f_i, f_{i+1} of filter i; each filter is scaled by 2/(f_{i+1} − f_{i-1}).

    Args:
        sample_rate: sampling rate in Hz.
        n_fft: FFT size; the filters cover its 1 + n_fft // 2 non-negative frequencies.
        n_mels: number of filters.
        fmin, fmax: frequency range in Hz (``fmax`` default: sample_rate / 2).
        warp: vocal-tract-length factor α: the filters read FFT bin f at
            :func:`~glassnet.apps.speech_augment.vtlp_warp` (f, α) (VTLP; 1 = no warp).

    Shape:
        output: (n_mels, 1 + n_fft // 2), float32.

    Example:
        >>> mel_filterbank(8000, 256, 40).shape
        (40, 129)
    """
    for name, v in (("sample_rate", sample_rate), ("n_fft", n_fft), ("n_mels", n_mels)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"mel_filterbank({name}={v!r}): expected an int >= 1")
    fmax = sample_rate / 2 if fmax is None else float(fmax)
    if not 0 <= fmin < fmax <= sample_rate / 2:
        raise ValueError(f"mel_filterbank(fmin={fmin}, fmax={fmax}): expected "
                         f"0 <= fmin < fmax <= sample_rate/2 = {sample_rate / 2}")
    fft_freqs = np.linspace(0, sample_rate / 2, 1 + n_fft // 2)
    if warp != 1.0:
        fft_freqs = vtlp_warp(fft_freqs, warp, nyquist=sample_rate / 2)
    corners = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    width = np.diff(corners)
    ramps = corners[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / width[:-1, None]
    upper = ramps[2:] / width[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (corners[2:] - corners[:-2]))[:, None]
    return weights.astype(np.float32)


def read_wav(path) -> np.ndarray:
    """Read a mono 8 kHz WAV file (``scipy.io.wavfile``) as float32 samples in [-1, 1].

    Raises:
        ValueError: the file is not 8 kHz, not mono, or not integer/float PCM.
    """
    from scipy.io import wavfile
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        rate, x = wavfile.read(path)
    except ValueError as e:
        raise ValueError(f"{path}: not a readable WAV file ({e})") from None
    if rate != SAMPLE_RATE:
        raise ValueError(f"{path}: expected a {SAMPLE_RATE} Hz recording, got {rate} Hz")
    if x.ndim != 1:
        raise ValueError(f"{path}: expected mono audio, got {x.shape[1]} channels")
    if x.dtype.kind in "iu":
        info = np.iinfo(x.dtype)
        x = (x.astype(np.float32) - (info.max + info.min + 1) / 2) / ((info.max - info.min + 1) / 2)
    return x.astype(np.float32)


_FILTERS: dict = {}


def log_mel(signal: np.ndarray, n_mels: int = 40, *, warp: float = 1.0) -> np.ndarray:
    """Log-mel spectrogram of an 8 kHz signal: 32 ms Hann windows every 10 ms.

    ``scipy.signal.stft`` (centred frames, zero padding) gives the power |X|², scaled by
    ``stft``'s 1/sum(window); the mel filters (warped by ``warp``, VTLP, see
    :func:`mel_filterbank`) sum it into bands; the log is floored at 1e-10.

    Shape:
        signal: (S,) float samples; output: (1 + S // 80 (+1), n_mels) float32.

    Example:
        >>> log_mel(np.zeros(8000, np.float32)).shape
        (101, 40)
    """
    return log_mel_of_power(power_spectrogram(signal), n_mels, warp=warp)


def power_spectrogram(signal: np.ndarray) -> np.ndarray:
    """|X|² of ``scipy.signal.stft`` (Hann 256, hop 80, centred), what :func:`log_mel` reads.

    Shape:
        signal: (S,) float samples at 8 kHz; output: (129, T) float32.
    """
    from scipy.signal import stft
    signal = np.asarray(signal, np.float32)
    if signal.ndim != 1 or signal.size == 0:
        raise ValueError(f"log_mel(signal): expected a non-empty 1-D array, got shape "
                         f"{signal.shape}")
    _, _, spec = stft(signal, fs=SAMPLE_RATE, window="hann", nperseg=N_FFT,
                      noverlap=N_FFT - HOP, boundary="zeros", padded=True)
    return (spec.real ** 2 + spec.imag ** 2).astype(np.float32)


def log_mel_of_power(power: np.ndarray, n_mels: int = 40, *, warp: float = 1.0) -> np.ndarray:
    """:func:`log_mel` from a :func:`power_spectrogram` (129, T): (T, n_mels) float32."""
    bank = _FILTERS.get(n_mels) if warp == 1.0 else None
    if bank is None:                      # a warped bank is new per utterance: not kept
        bank = mel_filterbank(SAMPLE_RATE, N_FFT, n_mels, warp=float(warp))
        if warp == 1.0:
            _FILTERS[n_mels] = bank
    return np.log(np.maximum(bank @ power, 1e-10)).T.astype(np.float32)


def list_recordings(root) -> list[tuple[Path, int, str, int]]:
    """FSDD files under ``root`` (the ``recordings`` folder) as sorted
    ``(path, digit, speaker, index)`` tuples, parsed from ``{digit}_{speaker}_{index}.wav``."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no FSDD recordings folder (set --data-dir or "
                                f"GLASSNET_DATA)")
    out = []
    for p in sorted(root.glob("*.wav")):
        m = _NAME.match(p.name)
        if m:
            out.append((p, int(m.group(1)), m.group(2), int(m.group(3))))
    if not out:
        raise FileNotFoundError(f"{root}: no files named digit_speaker_index.wav")
    return out


def load_features(files, n_mels: int = 40) -> list[np.ndarray]:
    """Log-mel features (T_i, n_mels) of every path in ``files``."""
    return [log_mel(read_wav(p), n_mels) for p in files]


def frame_features(signal: np.ndarray | None, recipe, *, warp: float = 1.0,
                   power: np.ndarray | None = None) -> np.ndarray:
    """The recipe's front end on one 8 kHz signal, before normalisation: with ``trim_db``
    the silence around the speech cut (:func:`~glassnet.apps.speech_augment.trim_silence`),
    log-mel
    (``n_mels`` bands, VTLP ``warp``), then with ``n_mfcc > 0`` its cepstra c1…c_{n_mfcc}
    (:func:`~glassnet.apps.speech_augment.mfcc`), then with ``deltas`` their regression
    deltas appended (:func:`~glassnet.apps.speech_augment.deltas`). ``power``: the signal's
    :func:`power_spectrogram` when already at hand (VTLP re-reads it every epoch).

    Shape:
        output: (T, D) float32 with D = :func:`feature_dim` (recipe).
    """
    if power is None:
        power = power_spectrogram(signal)
    if recipe.trim_db:
        power = trim_silence(power, recipe.trim_db)
    f = log_mel_of_power(power, recipe.n_mels, warp=warp)
    if recipe.n_mfcc:
        f = mfcc(f, recipe.n_mfcc)
    if recipe.deltas:
        f = np.concatenate([f, deltas(f)], axis=1)
    return f


def speaker_stats(feats, speakers, *, max_frames: int | None = MAX_FRAMES) -> list:
    """Per-speaker normalisation (Kaldi's per-speaker CMVN): the (mean, std) per value over
    all frames of each recording's speaker, one pair per recording (the same pair for all
    recordings of a speaker). It needs no labels, only several recordings of the voice, the
    new speaker's too. Used by this task (isolated clips) and by
    :mod:`glassnet.apps.speech_ctc` (connected utterances).

    Args:
        feats: (T_i, D) features of each recording.
        speakers: the speaker of each recording (any hashable names; one name: one voice).
        max_frames: count only the first ``max_frames`` frames of each recording (what
            :func:`pad_frames` keeps; default ``MAX_FRAMES``), ``None``: all of them.

    Returns:
        A list of ``(mean, std)`` pairs, each (D,) (std + 1e-5), in the order of ``feats``.
    """
    speakers = np.asarray(speakers)
    if len(speakers) != len(feats):
        raise ValueError(f"speaker_stats: expected one speaker per recording, got "
                         f"{len(speakers)} speakers for {len(feats)} recordings")
    out = [None] * len(feats)
    for s in np.unique(speakers):
        idx = np.flatnonzero(speakers == s)
        frames = np.concatenate([feats[i][:max_frames] for i in idx])
        st = (frames.mean(0), frames.std(0) + 1e-5)
        for i in idx:
            out[i] = st
    return out


def feature_dim(recipe) -> int:
    """Values per frame of :func:`frame_features`: (n_mfcc or n_mels) × (2 with deltas)."""
    return (recipe.n_mfcc or recipe.n_mels) * (2 if recipe.deltas else 1)


def pad_frames(feats, mean, std, max_frames: int = MAX_FRAMES) -> np.ndarray:
    """Standardise each (T_i, n_mels) array, crop to ``max_frames``, zero-pad, and append the
    frame mask channel.

    Shape:
        output: (N, max_frames, n_mels + 1) float32; ``[..., -1]`` is 1 on real frames.
    """
    n_mels = len(mean)
    out = np.zeros((len(feats), max_frames, n_mels + 1), np.float32)
    for i, f in enumerate(feats):
        f = f[:max_frames]
        out[i, :len(f), :n_mels] = (f - mean) / std
        out[i, :len(f), n_mels] = 1.0
    return out


class SpeechDigitNet(nn.Module):
    r"""Conv-recurrent spoken-digit classifier.

    Two Conv1d(·, C, 5, stride 2, padding 2) + ReLU divide the frame rate by 4
    (10 → 40 ms per step); a bidirectional GRU reads the utterance up to its true length
    L' = ceil(L / 4); the two final states feed a Linear layer to the class logits.

    Args:
        n_mels: mel bands per frame.
        num_classes: output classes (10 digits).
        channels: convolution channels C.
        hidden: GRU hidden size H per direction.
        dropout: dropout before the output layer.

    Shape:
        input: (N, T, n_mels + 1), the last channel the 0/1 frame mask (see
        :func:`pad_frames`); output: (N, num_classes) logits.

    Example:
        >>> SpeechDigitNet(40)(np.ones((2, 100, 41), np.float32)).shape
        (2, 10)
    """

    def __init__(self, n_mels: int = 40, num_classes: int = 10, *, channels: int = 64,
                 hidden: int = 128, dropout: float = 0.2):
        super().__init__()
        self.n_mels = n_mels
        self.conv1 = nn.Conv1d(n_mels, channels, 5, stride=2, padding=2)
        self.conv2 = nn.Conv1d(channels, channels, 5, stride=2, padding=2)
        self.gru = nn.GRU(channels, hidden, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(2 * hidden, num_classes)

    def forward(self, x):
        x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, np.float32))
        if x.ndim != 3 or x.shape[2] != self.n_mels + 1:
            raise ValueError(f"SpeechDigitNet(n_mels={self.n_mels}): expected input (N, T, "
                             f"{self.n_mels + 1}) with the frame mask last, got {x.shape}")
        lengths = x.array[:, :, -1].sum(axis=1).astype(np.int64)
        if lengths.min() < 1:
            raise ValueError("SpeechDigitNet: every sample needs at least one real frame "
                             "(mask channel all zero)")
        x = x[:, :int(lengths.max())]                                 # drop all-padding tail
        h = self.conv1(x[:, :, :self.n_mels].transpose(1, 2)).relu()  # (N, C, ceil(T/2))
        valid = np.arange(h.shape[2]) < ((lengths + 1) // 2)[:, None]    # zero conv1's output
        h = h * Tensor(valid[:, None, :].astype(np.float32))              # past each length
        h = self.conv2(h).relu().transpose(1, 2)                      # (N, T', C)
        _, h_n = self.gru(h, lengths=(lengths + 3) // 4)              # (2, N, H)
        h = h_n.transpose(0, 1).reshape(x.shape[0], -1)
        return self.fc(self.drop(h))


@dataclasses.dataclass
class SpeechRecipe(TaskRecipe):
    """Keys of ``recipes/speech.toml``.

    Args:
        task: ``"speech"`` (tells ``glassnet train`` which app reads the recipe).
        data: ``""`` (the FSDD recordings of ``data_dir``) or a folder of WAV files per
            label (sub-folder name = label; any rate, resampled to 8 kHz; optional ``train/``
            and ``test/`` folders of that form, else ``split = "random"``), see
            :mod:`glassnet.apps.speech_data`.
        split: ``"random"`` (seeded ``test_fraction`` of all files), ``"speaker"`` (train on
            five speakers, test on ``test_speaker``) or ``"official"`` (indices 0–4 test).
        test_speaker: held-out speaker for ``split = "speaker"``.
        test_fraction: test share for ``split = "random"``.
        n_mels, channels, hidden, dropout: features and :class:`SpeechDigitNet` sizes.
        epochs, batch_size, lr: Adam training; the learning rate decays by cosine.
        max_files: use only every k-th file so that at most this many are read (0 = all; tests).
        valid_speaker: with ``split = "speaker"``, a second speaker left out of training and
            reported as ``valid`` (choose settings on it, never on the test speaker); "" = none.
        features: ``"global"`` (standardise with the training set's per-band mean/std) or
            ``"utterance"`` (each recording to zero mean, unit variance per band) or
            ``"speaker"`` (with the mean/std of all recordings of its speaker: FSDD only;
            ``glassnet predict`` on one file treats it as the speaker's only recording).
        speed, gain_db, spec_augment: training augmentation (see
            :mod:`glassnet.apps.speech_augment`): resample by 1 ± speed, gain ± gain_db dB,
            SpecAugment time/frequency masks; 0 / false: off. New perturbations every epoch.
        vtlp: vocal-tract-length perturbation: each training utterance's mel filterbank is
            warped by a factor drawn from [1 − vtlp, 1 + vtlp] every epoch (0: off).
        n_mfcc, deltas: front end (:func:`frame_features`): 0 = the log-mel bands, k = their
            cepstra c1…ck (MFCC); ``deltas`` appends the regression deltas.
        trim_db: cut leading/trailing frames more than this many dB below the loudest frame
            (0: keep the whole recording).
        adapt_rounds, adapt_threshold, adapt_epochs, adapt_lr: unsupervised adaptation to
            each held-out speaker (``split = "speaker"``; test and valid speaker separately,
            each from the trained model) by self-training
            (:func:`~glassnet.apps.speech_adapt.self_train`): ``adapt_rounds`` rounds of
            pseudo-labelling its recordings whose top probability is >= ``adapt_threshold``
            and fine-tuning on the training recordings plus those for ``adapt_epochs`` epochs
            (Adam, ``adapt_lr``, cosine); 0 rounds: off. No held-out label is read.
        adapt_balance: align each held-out speaker's class probabilities to a uniform class
            prior (:func:`~glassnet.apps.speech_adapt.align_to_uniform`; assumes the voice's
            recordings cover the digits about equally) for its pseudo-labels and its
            predictions; works with ``adapt_rounds = 0`` too (alignment only).
        seed: weights, split and shuffling.
        data_dir: folder holding ``fsdd/recordings`` (default: ``glassnet.runs.rundir.data_root``).
    """

    task: str = param("speech", choices=("speech",))
    data: str = ""
    split: str = param("random", choices=("random", "speaker", "official"))
    test_speaker: str = param("theo", choices=SPEAKERS)
    test_fraction: float = param(0.1, gt=0, lt=1)
    n_mels: int = param(40, ge=1)
    channels: int = param(64, ge=1)
    hidden: int = param(128, ge=1)
    dropout: float = param(0.2, ge=0, lt=1)
    epochs: int = param(15, ge=1)
    batch_size: int = param(32, ge=1)
    lr: float = param(0.003, gt=0)
    max_files: int = param(0, ge=0)
    valid_speaker: str = ""
    features: str = param("global", choices=("global", "utterance", "speaker"))
    speed: float = param(0.0, ge=0, lt=0.5)
    gain_db: float = param(0.0, ge=0, le=20)
    spec_augment: bool = False
    vtlp: float = param(0.0, ge=0, lt=0.5)
    n_mfcc: int = param(0, ge=0)
    deltas: bool = False
    trim_db: float = param(0.0, ge=0)
    adapt_rounds: int = param(0, ge=0)
    adapt_threshold: float = param(0.9, ge=0, le=1)
    adapt_epochs: int = param(4, ge=1)
    adapt_lr: float = param(0.001, gt=0)
    adapt_balance: bool = False
    seed: int = param(0, ge=0)
    data_dir: str | None = None

    def check(self, where: str) -> None:
        if self.data and self.features == "speaker":
            raise ValueError(f'{where}: features: "speaker" needs the FSDD speaker names; '
                             f'with your own data use "global" or "utterance"')
        if self.n_mfcc >= self.n_mels:
            raise ValueError(f"{where}: n_mfcc: expected 0 (log-mel) or fewer cepstra than "
                             f"n_mels = {self.n_mels} (c0 is dropped), got {self.n_mfcc}")
        if self.data and self.split != "random":
            raise ValueError(f'{where}: split: expected "random" with your own data (or its '
                             f'train/ and test/ folders), got {self.split!r}')
        if (self.adapt_rounds or self.adapt_balance) and self.split != "speaker":
            raise ValueError(f'{where}: adapt_rounds/adapt_balance: adapting to a new voice '
                             f'needs split = "speaker" (the held-out speaker\'s recordings), '
                             f'got split = {self.split!r}')
        if self.valid_speaker and not (self.valid_speaker in SPEAKERS and self.split == "speaker"
                                       and self.valid_speaker != self.test_speaker):
            raise ValueError(f'{where}: valid_speaker: expected "" or, with split = "speaker", '
                             f'one of {", ".join(SPEAKERS)} other than test_speaker, got '
                             f'{self.valid_speaker!r}')


def _split(recs, recipe: SpeechRecipe) -> np.ndarray:
    """Boolean test mask over ``recs``."""
    if recipe.split == "speaker":
        return np.array([r[2] == recipe.test_speaker for r in recs])
    if recipe.split == "official":
        return np.array([r[3] < 5 for r in recs])
    rng = np.random.default_rng(recipe.seed)
    test = np.zeros(len(recs), bool)
    test[rng.permutation(len(recs))[:max(1, round(recipe.test_fraction * len(recs)))]] = True
    return test


class AugmentedClips:
    """Training batches of clips perturbed anew every epoch (speed, gain, VTLP), turned into
    the recipe's features, standardised (``stats``: one (mean, std) for all, or a list of one
    per clip (its speaker's), or per clip itself, as the recipe says), masked
    (SpecAugment) and padded like :func:`pad_frames`; shuffled from ``recipe.seed`` and the
    epoch. Yields ``(x, labels)`` for :func:`glassnet.train.fit`."""

    def __init__(self, signals, labels, recipe: SpeechRecipe, stats):
        self.signals, self.labels, self.recipe, self.stats = signals, labels, recipe, stats
        self.epoch = 0
        self.powers = {}          # without speed/gain, the spectra do not change: kept

    def __len__(self):
        return -(-len(self.signals) // self.recipe.batch_size)

    def __iter__(self):
        r, self.epoch = self.recipe, self.epoch + 1
        rng = np.random.default_rng([r.seed, self.epoch])
        order = rng.permutation(len(self.signals))
        for i in range(0, len(order), r.batch_size):
            idx = order[i:i + r.batch_size]
            feats = []
            for k in idx:
                warp = rng.uniform(1 - r.vtlp, 1 + r.vtlp) if r.vtlp else 1.0
                if r.speed or r.gain_db:
                    f = frame_features(perturb(self.signals[k], rng, r.speed, r.gain_db), r,
                                       warp=warp)
                else:
                    if k not in self.powers:
                        self.powers[k] = power_spectrogram(self.signals[k])
                    f = frame_features(None, r, warp=warp, power=self.powers[k])
                stats = self.stats[k] if isinstance(self.stats, list) else self.stats
                f = normalise(f, None if r.features == "utterance" else stats)[:MAX_FRAMES]
                feats.append(spec_augment(f, rng) if r.spec_augment else f)
            zeros = np.zeros(feature_dim(r), np.float32)
            yield pad_frames(feats, zeros, zeros + 1), self.labels[idx]


def train_speech(recipe: SpeechRecipe, run_dir, *, overwrite: bool = False,
                 verbose: bool = True) -> dict:
    """Train :class:`SpeechDigitNet` on the recipe's split and write the run folder.

    ``run_dir`` gets ``recipe.toml``, ``metrics.jsonl`` (per-epoch train loss/accuracy),
    ``weights.safetensors``, ``predictions.npz`` (class probabilities and labels of the test
    and validation files: ``test_probs``, ``test_labels``, ``valid_probs``, ``valid_labels``;
    averaged over seeds they give an ensemble) and ``run.json`` (test accuracy, feature
    mean/std, timings). With ``adapt_rounds`` (or ``adapt_balance``), ``test``/``valid``
    (scores and probabilities) are those of the model adapted to that speaker, saved as
    ``weights-adapted-{speaker}.safetensors``; the trained model's are kept as
    ``test_unadapted``/``valid_unadapted`` (``test_probs_unadapted``, …), and
    ``run.json["adaptation"]`` gives each round's pseudo-labelled count (and, scored
    afterwards, their accuracy).

    Returns:
        The contents of ``run.json``.

    Example:
        >>> res = train_speech(SpeechRecipe(split="random"), "runs/speech")
        >>> res["test"]["accuracy"] > 0.95
        True
    """
    recs, classes, given, source = _recordings(recipe)
    run_dir = prepare_run_dir(run_dir, recipe, overwrite=overwrite)
    if recipe.max_files:
        keep = np.arange(0, len(recs), max(1, len(recs) // recipe.max_files))[:recipe.max_files]
        recs, given = [recs[i] for i in keep], (given[keep] if given is not None else None)
    start = time.perf_counter()
    signals = [(read_wav_any if recipe.data else read_wav)(r[0]) for r in recs]
    feats = [frame_features(s, recipe) for s in signals]
    labels = np.array([r[1] for r in recs], np.int64)
    test = given if given is not None else _split(recs, recipe)
    valid = np.array([bool(recipe.valid_speaker) and r[2] == recipe.valid_speaker
                      for r in recs])
    train = ~test & ~valid
    clip_stats = None
    if recipe.features in ("utterance", "speaker"):
        if recipe.features == "speaker":
            clip_stats = speaker_stats(feats, [r[2] for r in recs])
        feats = [normalise(f, None if clip_stats is None else clip_stats[i])
                 for i, f in enumerate(feats)]
        dim = feature_dim(recipe)
        mean, std = np.zeros(dim, np.float32), np.ones(dim, np.float32)
    else:
        train_frames = np.concatenate([f[:MAX_FRAMES] for f, t in zip(feats, train) if t])
        mean, std = train_frames.mean(0), train_frames.std(0) + 1e-5
    x = pad_frames(feats, mean, std)
    feature_seconds = time.perf_counter() - start
    manual_seed(recipe.seed)
    model = SpeechDigitNet(feature_dim(recipe), len(classes), channels=recipe.channels,
                           hidden=recipe.hidden, dropout=recipe.dropout)
    if verbose:
        print_header("speech", source, {"train": int(train.sum()),
                                        "validation": int(valid.sum()) or None,
                                        "test": int(test.sum())}, model,
                     unit=f"recordings, {len(classes)} labels")   # parameters per child:
                                       # the summary's all-zero dummy batch has no real frame
    opt = optim.Adam(model.parameters(), lr=recipe.lr)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=recipe.epochs)
    from ..train import LRSchedulerCallback
    if recipe.speed or recipe.gain_db or recipe.spec_augment or recipe.vtlp:
        train_dl = AugmentedClips([s for s, t in zip(signals, train) if t], labels[train],
                                  recipe, (mean, std) if clip_stats is None else
                                  [st for st, t in zip(clip_stats, train) if t])
    else:
        train_dl = DataLoader(TensorDataset(x[train], labels[train]), recipe.batch_size,
                              shuffle=True, seed=recipe.seed)
    test_dl = DataLoader(TensorDataset(x[test], labels[test]), 256)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    history = fit(model, loss_fn, opt, train_dl, epochs=recipe.epochs, verbose=verbose,
                  callbacks=[JSONLLogger(run_dir / "metrics.jsonl"), LRSchedulerCallback(sched)])
    train_seconds = time.perf_counter() - start
    save_weights(model, run_dir / "weights.safetensors")
    result = {"task": "speech", "data": source, "classes": classes,
              "test": evaluate(model, test_dl, loss_fn),
              "baselines": {"majority_class": majority_baseline(labels[train], labels[test])},
              "split": recipe.split,
              "n_train": int(train.sum()), "n_test": int(test.sum()),
              "feature_mean": mean.tolist(), "feature_std": std.tolist(),
              "feature_seconds": round(feature_seconds, 2),
              "train_seconds": round(train_seconds, 2), "history": history.to_dict()}
    if valid.any():
        result["valid"] = evaluate(model, DataLoader(TensorDataset(x[valid], labels[valid]),
                                                     256), loss_fn)
        result["n_valid"] = int(valid.sum())
    probs = {"test_probs": _probabilities(model, x[test]),
             "valid_probs": _probabilities(model, x[valid])}
    if recipe.adapt_rounds or recipe.adapt_balance:
        probs = {**{f"{k}_unadapted": v for k, v in probs.items()},
                 **_adapt_held_out(model, recipe, x, labels, train,
                                   {"test": test, "valid": valid}, run_dir, result)}
    np.savez(run_dir / "predictions.npz", test_labels=labels[test],
             valid_labels=labels[valid], **probs)
    write_run_json(run_dir, result)
    return result


def _adapt_held_out(model, recipe: SpeechRecipe, x, labels, train, parts, run_dir,
                    result) -> dict:
    """Self-train a copy of the trained ``model`` on each held-out part's recordings (one
    speaker each: ``"test"``, ``"valid"``), each from the trained weights; write
    ``weights-adapted-{speaker}.safetensors``, move the trained model's scores in ``result``
    to ``{part}_unadapted`` and put the adapted ones in ``{part}``; return the adapted
    ``{part}_probs``. Held-out labels are read only to score, after adapting."""
    trained = {k: v.copy() for k, v in model.state_dict().items()}
    speakers = {"test": recipe.test_speaker, "valid": recipe.valid_speaker}
    probs, result["adaptation"] = {}, {}
    for part, mask in parts.items():
        if not mask.any():
            probs[f"{part}_probs"] = _probabilities(model, x[mask])
            continue
        start = time.perf_counter()
        model.load_state_dict(trained)
        rounds = self_train(model, x[train], labels[train], x[mask],
                            rounds=recipe.adapt_rounds, threshold=recipe.adapt_threshold,
                            epochs=recipe.adapt_epochs, lr=recipe.adapt_lr,
                            batch_size=recipe.batch_size, seed=recipe.seed,
                            balance=recipe.adapt_balance)
        save_weights(model, run_dir / f"weights-adapted-{speakers[part]}.safetensors")
        p = _probabilities(model, x[mask])
        p = align_to_uniform(p).astype(np.float32) if recipe.adapt_balance else p
        truth = labels[mask]                                   # scoring only, after adapting
        probs[f"{part}_probs"] = p
        result[f"{part}_unadapted"] = result[part]
        result[part] = {"loss": float(-np.log(np.maximum(p[np.arange(len(p)), truth],
                                                         1e-30)).mean()),
                        "accuracy": float((p.argmax(1) == truth).mean())}
        result["adaptation"][speakers[part]] = {
            "seconds": round(time.perf_counter() - start, 2),
            "rounds": [{"round": r["round"], "kept": r["kept"], "of": int(mask.sum()),
                        "pseudo_label_accuracy": float((r["pseudo_labels"]
                                                        == truth[r["kept_index"]]).mean())
                        if r["kept"] else None, "loss": r["loss"]} for r in rounds]}
    model.load_state_dict(trained)
    return probs


def _probabilities(model, x: np.ndarray) -> np.ndarray:
    """Softmax class probabilities (N, classes) of ``model`` in eval mode."""
    if len(x) == 0:
        return np.zeros((0, model.fc.weight.shape[0]), np.float32)
    model.eval()
    with no_grad():
        logits = np.concatenate([model(Tensor(x[i:i + 256])).array.astype(np.float64)
                                 for i in range(0, len(x), 256)])
    model.train()
    p = np.exp(logits - logits.max(1, keepdims=True))
    return (p / p.sum(1, keepdims=True)).astype(np.float32)


def _recordings(recipe: SpeechRecipe):
    """``(recs, classes, test mask or None, source)``: recs are ``(path, label, speaker,
    index)`` tuples (speaker "" and index 0 for the user's folders)."""
    if not recipe.data:
        root = data_root(recipe.data_dir) / "fsdd" / "recordings"
        return list_recordings(root), [str(d) for d in range(10)], None, f"FSDD {root}"
    path = resolve_data(recipe.data, recipe.data_dir)
    found, classes = list_labelled_wavs(path)
    test = np.array([t for _, _, t in found]) if any(t for _, _, t in found) else None
    return [(p, k, "", 0) for p, k, _ in found], classes, test, str(path)


def load_speech_run(run_dir):
    """``(model, recipe, mean, std)`` of a finished speech run, the model in eval mode."""
    run_dir = Path(run_dir)
    recipe = SpeechRecipe.from_toml(run_dir / "recipe.toml")
    meta = read_run_json(run_dir)
    model = SpeechDigitNet(feature_dim(recipe), len(meta.get("classes") or range(10)),
                           channels=recipe.channels, hidden=recipe.hidden,
                           dropout=recipe.dropout)
    load_weights(model, run_dir / "weights.safetensors")
    model.eval()
    mean = np.asarray(meta["feature_mean"], np.float32)
    std = np.asarray(meta["feature_std"], np.float32)
    return model, recipe, mean, std


def predict_wav(run_dir, path) -> tuple[int, np.ndarray]:
    """The predicted digit of one WAV file and the 10 class probabilities.

    Example:
        >>> digit, p = predict_wav("runs/speech", "recordings/7_theo_3.wav")
        >>> digit
        7
    """
    model, recipe, mean, std = load_speech_run(run_dir)
    f = frame_features(read_wav_any(path), recipe)
    x = pad_frames([normalise(f) if recipe.features in ("utterance", "speaker") else f],
                   mean, std)
    with no_grad():
        logits = model(Tensor(x)).array[0].astype(np.float64)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return int(p.argmax()), p


_train_task = app_trainer("speech", train_speech, lambda res, recipe: (
    f"{recipe.split} split, {res['n_test']} test files, {res['train_seconds']:.0f} s training"))


def _predict_task(run_dir, args) -> str:
    """``glassnet predict RUN x.wav``: the label and its probability."""
    if not getattr(args, "file", None):
        raise ValueError("predict: give a .wav recording")
    classes = read_run_json(run_dir).get("classes") or [str(d) for d in range(10)]
    k, p = predict_wav(run_dir, args.file)
    return f"{args.file}: predicted {classes[k]} (p={p[k]:.3f})"


register(Task(name="speech", summary="classify short recordings (spoken digits): log-mel + "
              "conv-BiGRU", recipe=SpeechRecipe, train=_train_task, predict=_predict_task,
              formats="a folder of WAV files per label (sub-folder name = label; any rate, "
                      "resampled to 8 kHz; optional train/ + test/), or nothing: FSDD "
                      "(digit_speaker_index.wav)"))


def predict_cli(run_dir, path) -> int:
    """``glassnet predict RUN_DIR file.wav``: print the digit and its probability."""
    digit, p = predict_wav(run_dir, path)
    print(f"{path}: predicted {digit} (p={p[digit]:.3f})")
    return 0
