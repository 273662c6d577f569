r"""Connected spoken digits: speech to a digit string with a CTC-trained conv + BiGRU.

Utterances are built from the Free Spoken Digit recordings (``fsdd/recordings``): 1–7
isolated digits joined with random silences, plus optional low-level noise
(:func:`build_utterance`, deterministic from a seed; it and :class:`UtteranceSet` live in
:mod:`glassnet.apps.speech_utterances`). The test speaker and the validation
speaker never appear in training; each of their utterances comes from that speaker's own
recordings. Training utterances draw from the pooled recordings of the other speakers.

Pipeline::

    utterance (8 kHz)  --apps.speech.log_mel-->  (T, n_mels) log-mel, 10 ms frames
    [optional: each voice's spectra floored at white noise snr_floor_db below its speech level]
    standardise each band (the training clips' mean/std, per utterance, or per speaker over
    all of that speaker's unlabelled utterances: ``features``)
    [training: SpecAugment time and frequency masks; speed and gain perturbed clips;
     optional: VTLP-warped mel filters (vtlp), a random low-pass channel (lowpass),
     recording noise of random level and colour in the clips (train_noise_db)]
    Conv1d(5, stride 2) + ReLU, Conv1d(5, stride 2) + ReLU   (40 ms steps, T' = ceil(T/4))
    bidirectional GRU  →  Linear(2H → 11)  →  log_softmax     (class 0 = blank, d + 1 = digit d)
    CTC loss (glassnet.nn.CTCLoss); greedy or prefix-beam decoding (apps.ctc_decode)

Baseline: cut the audio at low-energy gaps (:func:`split_on_silence`) and classify each
piece with the isolated-digit model of :mod:`glassnet.apps.speech` trained on the same
speakers. Scores: word error rate (``jiwer``) and whole-sequence accuracy.

    glassnet train recipes/speech_ctc.toml --out runs/speech_ctc
    glassnet transcribe runs/speech_ctc utterance.wav
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from .. import nn, optim
from ..io import load_weights, save_weights
from ..runs import TaskRecipe, write_run_json
from ..runs.common import print_header
from ..runs.recipe import param
from ..runs.rundir import data_root, prepare_run_dir, read_run_json
from ..tensor import Tensor, manual_seed, no_grad
from ..train import JSONLLogger, LRSchedulerCallback, fit
from .ctc_decode import greedy_decode, prefix_beam_search
from .speech_augment import normalise, spec_augment
from .speech import (MAX_FRAMES, SAMPLE_RATE, SPEAKERS, SpeechDigitNet, list_recordings, log_mel,
                     pad_frames, read_wav, speaker_stats)
from .speech_noise import (NOISE_COLOUR_MAX, add_noise, floored_log_mel, speech_level_db,
                           white_floor)
from .speech_utterances import UtteranceSet, _batch, build_utterance, lowpass_filter

__all__ = ["build_utterance", "UtteranceSet", "normalise", "spec_augment", "SpeechCTCNet",
           "CTCTargetLoss", "SpeechCTCRecipe", "train_speech_ctc", "split_on_silence",
           "transcribe", "word_error_rate", "lowpass_filter",
           "add_noise", "score_run", "speech_level_db", "white_floor", "floored_log_mel"]

BLANK = 0


# -- model and loss --------------------------------------------------------------------------
class SpeechCTCNet(nn.Module):
    r"""Conv + bidirectional GRU acoustic model with a CTC output layer.

    Two Conv1d(·, C, 5, stride 2, padding 2) + ReLU (10 → 40 ms per step,
    T' = ceil(T / 4)), a bidirectional GRU (``layers`` deep) read up to each utterance's
    length, Dropout, Linear(2H → 11) and log_softmax: per-step log-probabilities of the blank
    (class 0) and the digits 0–9 (classes 1–10).

    Args:
        n_mels: mel bands per frame.
        channels: convolution channels C.
        hidden: GRU hidden size H per direction.
        layers: GRU layers.
        dropout: dropout before the output layer.

    Shape:
        input: (N, T, n_mels + 1), the frame mask last (1 on real frames);
        output: (T', N, 11) log-probabilities, T' = ceil(T_max / 4); sample n is valid for
        its first ceil(T_n / 4) steps (:meth:`output_lengths`).

    Example:
        >>> SpeechCTCNet(40)(np.ones((2, 100, 41), np.float32)).shape
        (25, 2, 11)
    """

    num_classes = 11

    def __init__(self, n_mels: int = 40, *, channels: int = 64, hidden: int = 96,
                 layers: int = 1, dropout: float = 0.1):
        super().__init__()
        self.n_mels = n_mels
        self.conv1 = nn.Conv1d(n_mels, channels, 5, stride=2, padding=2)
        self.conv2 = nn.Conv1d(channels, channels, 5, stride=2, padding=2)
        self.gru = nn.GRU(channels, hidden, num_layers=layers, batch_first=True,
                          bidirectional=True)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(2 * hidden, self.num_classes)

    @staticmethod
    def output_lengths(frames):
        """Output steps for inputs of ``frames`` frames: ceil(ceil(T / 2) / 2)."""
        return (np.asarray(frames, np.int64) + 3) // 4

    def forward(self, x):
        x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, np.float32))
        if x.ndim != 3 or x.shape[2] != self.n_mels + 1:
            raise ValueError(f"SpeechCTCNet(n_mels={self.n_mels}): expected input (N, T, "
                             f"{self.n_mels + 1}) with the frame mask last, got {x.shape}")
        lengths = x.array[:, :, -1].sum(axis=1).astype(np.int64)
        if lengths.min() < 1:
            raise ValueError("SpeechCTCNet: every sample needs at least one real frame")
        h = self.conv1(x[:, :, :self.n_mels].transpose(1, 2)).relu()   # (N, C, ceil(T/2))
        valid = np.arange(h.shape[2]) < ((lengths + 1) // 2)[:, None]
        h = h * Tensor(valid[:, None, :].astype(np.float32))
        h = self.conv2(h).relu().transpose(1, 2)                         # (N, T', C)
        out, _ = self.gru(h, lengths=self.output_lengths(lengths))       # (N, T', 2H)
        return self.fc(self.drop(out)).log_softmax(2).transpose(0, 1)    # (T', N, 11)


class CTCTargetLoss:
    """``loss_fn(log_probs, y)`` for :func:`fit`: the CTC loss of (T', N, 11) outputs against
    the rows ``[frames, digits, label …]`` made by :class:`UtteranceSet` (input lengths
    follow from the frame counts)."""

    def __init__(self, reduction: str = "mean"):
        self.ctc = nn.CTCLoss(blank=BLANK, reduction=reduction, zero_infinity=True)

    def __call__(self, log_probs, y):
        y = np.asarray(y.array if isinstance(y, Tensor) else y)
        il = np.minimum(SpeechCTCNet.output_lengths(y[:, 0]), log_probs.shape[0])
        return self.ctc(log_probs, y[:, 2:], il, y[:, 1])


# -- recipe ------------------------------------------------------------------------------------
@dataclasses.dataclass
class SpeechCTCRecipe(TaskRecipe):
    """Keys of ``recipes/speech_ctc.toml``.

    Args:
        task: ``"speech_ctc"``.
        test_speaker, valid_speaker: held out of training (all their recordings);
            ``valid_speaker = ""``: no validation speaker (train on the other five).
        train_utterances: new utterances per epoch (fresh each epoch).
        valid_utterances, test_utterances: fixed utterances of the held-out speakers.
        max_digits: digits per utterance, 1 … max_digits.
        noise: white-noise standard deviation added to every utterance (0: none).
        features: ``"global"`` (standardise with the training clips' per-band mean/std),
            ``"utterance"`` (per-utterance normalisation) or ``"speaker"`` (per-speaker:
            each utterance with the mean/std over all utterances of its speaker, unlabelled:
            a training speaker's own utterances of the epoch, the validation or test
            speaker's held-out utterances; every training utterance is then one speaker's).
            ``transcribe`` on one file has only that recording of the voice and
            standardises it by itself (as ``"utterance"``) unless given ``stats``.
        speed, gain_db, spec_augment: training perturbations (0 / false: off).
        vtlp: vocal-tract-length perturbation of each training utterance: its mel filters
            read the spectrum warped by a factor uniform in [1 − vtlp, 1 + vtlp]
            (``apps.speech.log_mel(..., warp=α)``; 0: off).
        lowpass: probability that a training utterance is low-passed at a random cutoff in
            1–3.5 kHz (:func:`lowpass_filter`; 0: never).
        train_noise_db, train_noise_span_db: multi-condition training: the clips of every
            training utterance get recording noise at a level uniform in
            [train_noise_db − train_noise_span_db, train_noise_db] dB relative to full scale,
            coloured 1/f^β with β uniform in [0, train_noise_colour] (:func:`add_noise`;
            train_noise_db = 0: off).
        train_snr_db: the same, with the level relative to each utterance's speech level
            (:func:`speech_level_db`): a signal-to-noise ratio uniform in [train_snr_db,
            train_snr_db + train_noise_span_db] dB (0: off; not with train_noise_db).
        train_noise_colour: the largest spectral exponent β of that noise (0: white).
        snr_floor_db: noise-floor-aware features: each voice's power spectra get white noise
            this many dB below the voice's speech level (95th percentile of its 10 ms frame
            powers over its utterances, unlabelled, like ``"speaker"``'s statistics;
            :func:`floored_log_mel`; 0: off), so that every voice's noise floor sits at the
            same distance below its speech.
        snr_floor_span_db: floor-level augmentation: each training utterance's floor sits
            at a distance uniform in [snr_floor_db − snr_floor_span_db, snr_floor_db +
            snr_floor_span_db] dB below its voice's speech level, drawn per utterance (0:
            off; less than snr_floor_db); validation and test keep snr_floor_db.
        valid_noise_db: also score the validation speaker's utterances with white noise at
            this level (dB) added to their clips (``"valid_noisy"`` in run.json; 0: off): a
            known voice made as noisy as a new one.
        n_mels, channels, hidden, layers, dropout: features and :class:`SpeechCTCNet` sizes.
        epochs, batch_size, lr: Adam with cosine decay.
        beam_width: prefix beam search width for the reported scores (1: greedy only).
        self_train_epochs, self_train_threshold, self_train_lr: after training, adapt the
            model to each held-out voice without its labels
            (:mod:`~glassnet.apps.speech_ctc_adapt`): keep the voice's utterances whose best
            digit string has probability ≥ self_train_threshold, fine-tune this many epochs
            on them (their decoded strings as labels) plus fresh training utterances (Adam,
            self_train_lr, cosine), decode again (0 epochs: off). Each voice is adapted from
            the trained weights; run.json gives the scores before and after, the headline
            test figure is the adapted one.
        self_train_rounds: rounds of that self-training (round 2 pseudo-labels with the
            once-adapted model and fine-tunes it further; run.json has each round's scores).
        self_train_align: every decoding of the self-training and the adapted model's final
            one read the outputs aligned to the voice's class priors (every digit the same
            posterior mass over the voice's frames, :mod:`~glassnet.apps.ctc_align`).
        self_train_top: curriculum: round r also keeps the ⌈min(1, r·top)·N⌉ most confident
            of the voice's N utterances, whatever their probability (0: off).
        ensemble: K > 1 trains K models, seeds seed … seed + K − 1 (the first in the run
            folder, the others in ``members/seed<N>/``, each a run folder), and the held-out
            voices are self-trained and decoded by the K together: each member's best
            string rescored by the mixture P(ℓ | x) = (1/K) Σ_k p_k(ℓ | x)
            (:mod:`~glassnet.apps.speech_ctc_ensemble`, ``combine="strings"``); needs
            self_train_epochs > 0. ``glassnet transcribe`` decodes with all K.
        baseline_epochs: epochs of the isolated-digit baseline (0: no baseline).
        max_files: use at most this many recordings per speaker (0 = all; tests).
        seed, data_dir: as in the other recipes.
    """

    task: str = param("speech_ctc", choices=("speech_ctc",))
    test_speaker: str = param("theo", choices=SPEAKERS)
    valid_speaker: str = "jackson"
    train_utterances: int = param(1200, ge=1)
    valid_utterances: int = param(200, ge=1)
    test_utterances: int = param(500, ge=1)
    max_digits: int = param(7, ge=1)
    noise: float = param(0.001, ge=0, lt=0.1)
    features: str = param("global", choices=("global", "utterance", "speaker"))
    speed: float = param(0.1, ge=0, lt=0.5)
    gain_db: float = param(6.0, ge=0, le=20)
    spec_augment: bool = True
    vtlp: float = param(0.0, ge=0, lt=0.5)
    lowpass: float = param(0.0, ge=0, le=1)
    train_noise_db: float = param(0.0, ge=-120, le=0)
    train_noise_span_db: float = param(35.0, ge=0, le=60)
    train_snr_db: float = param(0.0, ge=0, le=80)
    train_noise_colour: float = param(NOISE_COLOUR_MAX, ge=0, le=3)
    valid_noise_db: float = param(0.0, ge=-120, le=0)
    snr_floor_db: float = param(0.0, ge=0, le=80)
    snr_floor_span_db: float = param(0.0, ge=0, le=40)
    n_mels: int = param(40, ge=1)
    channels: int = param(64, ge=1)
    hidden: int = param(96, ge=1)
    layers: int = param(1, ge=1)
    dropout: float = param(0.1, ge=0, lt=1)
    epochs: int = param(10, ge=1)
    batch_size: int = param(32, ge=1)
    lr: float = param(0.003, gt=0)
    beam_width: int = param(8, ge=1)
    self_train_epochs: int = param(0, ge=0)
    self_train_threshold: float = param(0.9, ge=0, le=1)
    self_train_lr: float = param(3e-4, gt=0)
    self_train_rounds: int = param(1, ge=1)
    self_train_align: bool = False
    self_train_top: float = param(0.0, ge=0, le=1)
    ensemble: int = param(1, ge=1)
    baseline_epochs: int = param(6, ge=0)
    max_files: int = param(0, ge=0)
    seed: int = param(0, ge=0)
    data_dir: str | None = None

    def check(self, where: str) -> None:
        if self.valid_speaker and not (self.valid_speaker in SPEAKERS
                                       and self.valid_speaker != self.test_speaker):
            raise ValueError(f'{where}: valid_speaker: expected "" or one of '
                             f'{", ".join(SPEAKERS)} other than test_speaker, got '
                             f'{self.valid_speaker!r}')
        if self.snr_floor_span_db and not self.snr_floor_span_db < self.snr_floor_db:
            raise ValueError(f"{where}: snr_floor_span_db: expected 0 (off) or less than "
                             f"snr_floor_db ({self.snr_floor_db}: the training floor stays "
                             f"below the speech), got {self.snr_floor_span_db}")
        if self.ensemble > 1 and not self.self_train_epochs:
            raise ValueError(f"{where}: ensemble: expected 1 while self_train_epochs = 0 (the "
                             f"members decode together when they self-train on the held-out "
                             f"voices), got {self.ensemble}")
        if self.train_noise_db and self.train_snr_db:
            raise ValueError(f"{where}: train_snr_db: expected 0 while train_noise_db is set "
                             f"(noise levels are either absolute or relative to the speech), "
                             f"got {self.train_snr_db} and train_noise_db {self.train_noise_db}")

    def clip_noise(self) -> tuple | None:
        """The training set's ``UtteranceSet(clip_noise=...)`` (None: off)."""
        if self.train_snr_db:
            return (-self.train_snr_db - self.train_noise_span_db, -self.train_snr_db,
                    self.train_noise_colour, True)
        if not self.train_noise_db:
            return None
        return (self.train_noise_db - self.train_noise_span_db, self.train_noise_db,
                self.train_noise_colour)


def _load_clips(recipe: SpeechCTCRecipe):
    """``{speaker: (signals, digits, paths)}`` of the recordings."""
    recs = list_recordings(data_root(recipe.data_dir) / "fsdd" / "recordings")
    out = {}
    for sp in SPEAKERS:
        mine = [r for r in recs if r[2] == sp]
        if recipe.max_files:
            mine = mine[::max(1, len(mine) // recipe.max_files)][:recipe.max_files]
        out[sp] = ([read_wav(r[0]) for r in mine], [r[1] for r in mine], [r[0] for r in mine])
    return out


def word_error_rate(refs, hyps) -> float:
    """WER of digit sequences (each digit one word), by ``jiwer``."""
    import jiwer
    refs = [" ".join(map(str, r)) for r in refs]
    hyps = [" ".join(map(str, h)) for h in hyps]
    return float(jiwer.wer(refs, hyps))


def _scores(refs, hyps) -> dict:
    return {"wer": round(word_error_rate(refs, hyps), 4),
            "sequence_accuracy": round(float(np.mean([list(r) == list(h)
                                                      for r, h in zip(refs, hyps)])), 4),
            "n": len(refs)}


def _decode_set(model, data: UtteranceSet, beam_width: int):
    """Reference and decoded digit lists (greedy, beam) of a fixed UtteranceSet."""
    model.eval()
    refs, greedy, beam = [], [], []
    with no_grad():
        for x, y in data:
            lp = model(Tensor(x)).array
            lens = SpeechCTCNet.output_lengths(y[:, 0])
            for n in range(len(y)):
                refs.append((y[n, 2:2 + y[n, 1]] - 1).tolist())
                g = greedy_decode(lp[:lens[n], n])
                greedy.append([k - 1 for k in g])
                if beam_width > 1:
                    b, _ = prefix_beam_search(lp[:lens[n], n], beam_width, BLANK)
                    beam.append([k - 1 for k in b])
    return refs, greedy, beam


# -- baseline: split at silences, classify each piece ---------------------------------------
def split_on_silence(signal: np.ndarray, *, threshold_db: float = 30.0, min_gap: float = 0.04,
                     min_piece: float = 0.06) -> list[tuple[int, int]]:
    """``(start, end)`` samples of the loud pieces of ``signal``: 10 ms frames more than
    ``threshold_db`` below the loudest frame are silence; pieces separated by less than
    ``min_gap`` seconds are merged; pieces shorter than ``min_piece`` seconds are dropped."""
    hop = SAMPLE_RATE // 100
    n = len(signal) // hop
    if n == 0:
        return []
    frames = signal[:n * hop].reshape(n, hop).astype(np.float64)
    db = 10 * np.log10((frames ** 2).mean(1) + 1e-12)
    loud = db > db.max() - threshold_db
    pieces, start, quiet = [], None, 0
    for i, on in enumerate(loud):
        if on:
            start = i if start is None else start
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet * hop >= min_gap * SAMPLE_RATE:
                pieces.append((start, i - quiet + 1))
                start, quiet = None, 0
    if start is not None:
        pieces.append((start, n - quiet))
    return [(a * hop, b * hop) for a, b in pieces if (b - a) * hop >= min_piece * SAMPLE_RATE]


def _train_baseline(clips, digits, recipe: SpeechCTCRecipe, verbose: bool):
    """The isolated-digit model of apps/speech.py on the training speakers' clips."""
    from ..data import DataLoader, TensorDataset
    feats = [log_mel(c, recipe.n_mels) for c in clips]
    frames = np.concatenate([f[:MAX_FRAMES] for f in feats])
    mean, std = frames.mean(0), frames.std(0) + 1e-5
    manual_seed(recipe.seed)
    model = SpeechDigitNet(recipe.n_mels, 10, channels=64, hidden=64, dropout=0.2)
    opt = optim.Adam(model.parameters(), lr=0.004)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=recipe.baseline_epochs)
    dl = DataLoader(TensorDataset(pad_frames(feats, mean, std), np.asarray(digits, np.int64)),
                    64, shuffle=True, seed=recipe.seed)
    fit(model, nn.CrossEntropyLoss(), opt, dl, epochs=recipe.baseline_epochs, verbose=verbose,
        callbacks=[LRSchedulerCallback(sched)])
    model.eval()
    return model, mean, std


def _baseline_hyps(model, mean, std, signals, n_mels):
    hyps = []
    with no_grad():
        for s in signals:
            pieces = split_on_silence(s)
            if not pieces:
                hyps.append([])
                continue
            x = pad_frames([log_mel(s[a:b], n_mels) for a, b in pieces], mean, std)
            hyps.append(model(Tensor(x)).array.argmax(1).tolist())
    return hyps


# -- training --------------------------------------------------------------------------------
def _set_options(recipe: SpeechCTCRecipe, stats) -> dict:
    return {"n_mels": recipe.n_mels, "noise": recipe.noise, "max_digits": recipe.max_digits,
            "stats": stats, "snr_floor_db": recipe.snr_floor_db}


def _held_out_sets(recipe: SpeechCTCRecipe, by_speaker, stats) -> dict:
    """``{"valid", "valid_noisy", "test"}``: the fixed utterances of the held-out speakers
    (seeds 10 000 and 10 001); ``"valid_noisy"`` (with ``valid_noise_db``) is the validation
    set with white noise added to its clips, the same utterances otherwise."""
    common = _set_options(recipe, stats)
    sets = {name: UtteranceSet(*by_speaker[sp][:2], size, 64, 10_000 + i, **common)
            for i, (name, sp, size) in enumerate([
                ("valid", recipe.valid_speaker, recipe.valid_utterances),
                ("test", recipe.test_speaker, recipe.test_utterances)]) if sp}
    if recipe.valid_speaker and recipe.valid_noise_db:
        db = recipe.valid_noise_db
        sets["valid_noisy"] = UtteranceSet(*by_speaker[recipe.valid_speaker][:2],
                                           recipe.valid_utterances, 64, 10_000, **common,
                                           clip_noise=(db, db, 0.0))
    return sets


def train_speech_ctc(recipe: SpeechCTCRecipe, run_dir, *, overwrite: bool = False,
                     verbose: bool = True) -> dict:
    """Train :class:`SpeechCTCNet` with CTC and write the run folder (``recipe.toml``,
    ``metrics.jsonl``, ``weights.safetensors``, ``run.json`` with the validation and test
    scores, the baseline's and the timings).

    Example:
        >>> res = train_speech_ctc(SpeechCTCRecipe(), "runs/speech_ctc")
        >>> res["test"]["beam"]["wer"] < res["baseline"]["test"]["wer"]
        True
    """
    run_dir = prepare_run_dir(run_dir, recipe, overwrite=overwrite)
    start = time.perf_counter()
    by_speaker = _load_clips(recipe)
    held = (recipe.test_speaker, recipe.valid_speaker)
    train_speakers = [s for s in SPEAKERS if s not in held]
    clips = [c for s in train_speakers for c in by_speaker[s][0]]
    digits = [d for s in train_speakers for d in by_speaker[s][1]]
    aug = {"speed": recipe.speed, "gain_db": recipe.gain_db,
           "spec_augment": recipe.spec_augment, "vtlp": recipe.vtlp, "lowpass": recipe.lowpass}
    stats = None
    if recipe.features == "global":
        frames = np.concatenate([log_mel(c, recipe.n_mels) for c in clips])
        stats = (frames.mean(0), frames.std(0) + 1e-5)
    elif recipe.features == "speaker":           # each voice by its own unlabelled audio
        stats = "speaker"
    voices = [s for s in train_speakers for _ in by_speaker[s][0]]
    train = UtteranceSet(clips, digits, recipe.train_utterances, recipe.batch_size,
                         recipe.seed, fresh=True, augment=aug, **_set_options(recipe, stats),
                         speakers=voices if recipe.features == "speaker" else None,
                         clip_noise=recipe.clip_noise(), floor_span_db=recipe.snr_floor_span_db)
    sets = _held_out_sets(recipe, by_speaker, stats)
    manual_seed(recipe.seed)
    model = SpeechCTCNet(recipe.n_mels, channels=recipe.channels, hidden=recipe.hidden,
                         layers=recipe.layers, dropout=recipe.dropout)
    if verbose:
        print_header("speech_ctc", f"FSDD {data_root(recipe.data_dir) / 'fsdd'}", {
            "train": recipe.train_utterances,
            "validation": recipe.valid_utterances if recipe.valid_speaker else None,
            "test": recipe.test_utterances}, model,      # input (features, frame mask)
            unit=f"utterances (speakers: train {', '.join(train_speakers)}; test "
                 f"{recipe.test_speaker}" + (f", validation {recipe.valid_speaker})"
                                             if recipe.valid_speaker else ")"))
    opt = optim.Adam(model.parameters(), lr=recipe.lr)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=recipe.epochs)
    t0 = time.perf_counter()
    history = fit(model, CTCTargetLoss(), opt, train, epochs=recipe.epochs, metrics=(),
                  verbose=verbose, callbacks=[JSONLLogger(run_dir / "metrics.jsonl"),
                                              LRSchedulerCallback(sched)])
    train_seconds = time.perf_counter() - t0
    save_weights(model, run_dir / "weights.safetensors")
    result = {"train_speakers": train_speakers, "valid_speaker": recipe.valid_speaker,
              "test_speaker": recipe.test_speaker, "train_seconds": round(train_seconds, 1),
              "feature_mean": stats[0].tolist() if isinstance(stats, tuple) else None,
              "feature_std": stats[1].tolist() if isinstance(stats, tuple) else None,
              "history": history.to_dict()}
    for name, data in sets.items():
        refs, greedy, beam = _decode_set(model, data, recipe.beam_width)
        result[name] = {"greedy": _scores(refs, greedy)}
        if beam:
            result[name]["beam"] = _scores(refs, beam)
    if recipe.baseline_epochs:
        t0 = time.perf_counter()
        base, mean, std = _train_baseline(clips, digits, recipe, verbose)
        result["baseline"] = {"train_seconds": round(time.perf_counter() - t0, 1)}
        for name, data in sets.items():
            signals, labels = data.utterances(0)
            result["baseline"][name] = _scores(labels, _baseline_hyps(base, mean, std, signals,
                                                                      recipe.n_mels))
    result["total_seconds"] = round(time.perf_counter() - start, 1)
    result["test_decodings"] = result.pop("test")
    best = result["test_decodings"].get("beam", result["test_decodings"]["greedy"])
    result.update(task="speech_ctc", test={k: best[k] for k in ("wer", "sequence_accuracy")},
                  decoding="beam" if "beam" in result["test_decodings"] else "greedy",
                  baselines={"split_on_silence": {k: result["baseline"]["test"][k] for k in (
                      "wer", "sequence_accuracy")}} if "baseline" in result else {})
    write_run_json(run_dir, result)
    return result


# -- using a run -----------------------------------------------------------------------------
def read_speech_ctc_run(run_dir):
    """``(recipe, stats)`` of a finished run, without loading its weights (``stats``: the
    feature mean/std, None for per-utterance and per-speaker normalisation)."""
    run_dir = Path(run_dir)
    recipe = SpeechCTCRecipe.from_toml(run_dir / "recipe.toml")
    meta = read_run_json(run_dir)                         # a finished run
    stats = None
    if recipe.features == "global":
        if meta.get("feature_mean") is None:
            raise ValueError(f"{run_dir / 'run.json'}: no feature_mean/feature_std (not a "
                             f"finished speech_ctc run)")
        stats = (np.asarray(meta["feature_mean"], np.float32),
                 np.asarray(meta["feature_std"], np.float32))
    return recipe, stats


def load_speech_ctc_run(run_dir):
    """``(model, recipe, stats)`` of a finished run, the model in eval mode (``recipe``,
    ``stats``: :func:`read_speech_ctc_run`)."""
    run_dir = Path(run_dir)
    recipe, stats = read_speech_ctc_run(run_dir)
    model = SpeechCTCNet(recipe.n_mels, channels=recipe.channels, hidden=recipe.hidden,
                         layers=recipe.layers, dropout=recipe.dropout)
    load_weights(model, run_dir / "weights.safetensors")
    model.eval()
    return model, recipe, stats


def score_run(run_dir, *, valid_noise_db: float = 0.0, names=("valid", "valid_noisy")) -> dict:
    """Score a finished run again on its held-out sets ``names`` (``"valid"``,
    ``"valid_noisy"``; the test speaker's ``"test"`` only when asked for), with
    ``valid_noise_db`` (dB, 0: off) for ``"valid_noisy"``: e.g. how a run trained before that
    key fares on its validation voice made noisier. Returns ``{name: {"greedy": scores,
    "beam": scores}}`` as in run.json.

    Example:
        >>> score_run("runs/speech_ctc", valid_noise_db=-41)["valid_noisy"]["beam"]["wer"]
    """
    model, recipe, stats = load_speech_ctc_run(run_dir)
    recipe = dataclasses.replace(recipe, valid_noise_db=float(valid_noise_db))
    stats = "speaker" if recipe.features == "speaker" else stats
    sets = _held_out_sets(recipe, _load_clips(recipe), stats)
    missing = [n for n in names if n not in sets]
    if missing:
        raise ValueError(f"score_run(names={names!r}): {missing[0]!r} is not a held-out set of "
                         f"{run_dir} (it has {', '.join(sets)})")
    out = {}
    for name in names:
        refs, greedy, beam = _decode_set(model, sets[name], recipe.beam_width)
        out[name] = {"greedy": _scores(refs, greedy)}
        if beam:
            out[name]["beam"] = _scores(refs, beam)
    return out


def _check_wav(path: Path) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with open(path, "rb") as f:
        head = f.read(12)
    if not head:
        raise ValueError(f"{path}: empty file, expected a WAV recording")
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise ValueError(f"{path}: not a WAV file (no RIFF/WAVE header)")


def _check_beam_width(beam_width) -> None:
    """``transcribe``'s ``beam_width``: None (the recipe's) or an int >= 1."""
    if beam_width is not None and (isinstance(beam_width, bool) or not isinstance(beam_width, int)
                                   or beam_width < 1):
        raise ValueError(f"transcribe(beam_width={beam_width!r}): expected an int >= 1 "
                         f"(1: greedy)")


def transcribe(run_dir, path, beam_width: int | None = None, *,
               speaker_files=None) -> list[int]:
    """The digits spoken in a WAV file (8 kHz mono), decoded by prefix beam search.

    Normalisation follows the run's ``features``: ``"global"`` the training clips' mean/std,
    ``"utterance"`` the file's own. ``"speaker"`` needs several recordings of the voice:
    ``speaker_files`` (more WAV files of the same speaker, unlabelled) gives the mean/std
    over all their frames and the file's (:func:`~glassnet.apps.speech.speaker_stats`);
    without it the file is its speaker's only recording, so it is standardised by itself,
    as with ``"utterance"`` (weaker for a short file than the many utterances that training
    and the scores used).

    Example:
        >>> transcribe("runs/speech_ctc", "three_digits.wav")
        [4, 0, 7]
    """
    path = Path(path)
    _check_beam_width(beam_width)
    _check_wav(path)
    model, recipe, stats = load_speech_ctc_run(run_dir)
    signal = read_wav(path)
    if signal.size == 0:
        raise ValueError(f"{path}: the WAV file holds no samples")
    voice = [signal]
    if speaker_files:
        if recipe.features != "speaker":
            raise ValueError(f'transcribe(speaker_files=...): the run was trained with '
                             f'features = "{recipe.features}", expected "speaker"')
        for p in speaker_files:
            _check_wav(Path(p))
        voice += [read_wav(p) for p in speaker_files]
    voice = floored_log_mel(voice, recipe.n_mels, recipe.snr_floor_db)
    feats = voice[0]
    if speaker_files:
        stats = speaker_stats(voice, [""] * len(voice), max_frames=None)[0]
    x = _batch([normalise(feats, stats)])
    with no_grad():
        lp = model(Tensor(x)).array[:, 0]
    beam = recipe.beam_width if beam_width is None else beam_width
    labels = prefix_beam_search(lp, beam, BLANK)[0] if beam > 1 else greedy_decode(lp)
    return [k - 1 for k in labels]


def _note(res, recipe) -> str:
    """The result line's note: test speaker, decoding, validation speaker's scores."""
    valid = ""
    if "valid" in res:
        v = res["valid"].get("beam", res["valid"]["greedy"])
        valid = (f"validation ({res['valid_speaker']}) WER {v['wer']:.4f}, sequence accuracy "
                 f"{v['sequence_accuracy']:.4f}; ")
    if "valid_noisy" in res:
        v = res["valid_noisy"].get("beam", res["valid_noisy"]["greedy"])
        valid += f"with {recipe.valid_noise_db:g} dB noise WER {v['wer']:.4f}; "
    return (f"test speaker {res['test_speaker']} (unseen), {res['decoding']} decoding; "
            f"{valid}{res['train_seconds']:.0f} s training")


# The task (``glassnet train recipes/speech_ctc.toml``) is registered by
# ``speech_ctc_adapt``: training here, then the optional self-training on the held-out voices.

# ``glassnet transcribe`` (cmd_transcribe) is in ``speech_ctc_transcribe``: this
# module's transcribe, or the same after self-training on the voice.
