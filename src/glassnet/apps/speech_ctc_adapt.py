r"""Unsupervised adaptation of a finished CTC run to a new voice by self-training: the
connected-digit counterpart of :mod:`glassnet.apps.speech_adapt`, a post-hoc step (the base
model is not retrained).

A held-out voice of the run (its validation or test speaker) arrives as the run scores it:
the same utterances, floor and per-speaker normalisation (``_held_out_sets``; with
``valid_noise_db``, the validation voice's noisy copy). Then, without reading a label:

1. the model (eval mode) decodes each utterance by prefix beam search, which also gives the
   best digit string ℓ* its probability p(ℓ* | x) = Σ over the alignments of ℓ* of
   Π_t y_t (:func:`decode_with_confidence`; CTC's probabilities of all strings sum to 1);
2. the utterances with p(ℓ* | x) ≥ ``threshold`` are kept, ℓ* as their label
   (:func:`confident`; none kept: the model is left as it is);
3. the model is fine-tuned for ``epochs`` epochs (Adam, ``lr`` with cosine decay, dropout
   on) on fresh training utterances of the run's training speakers, built as the recipe
   builds them (the training stream's epochs after the run's last), plus the kept
   utterances, in batches of their own with fresh SpecAugment masks each epoch, shuffled
   among the training batches (:class:`PseudoLabelled`, :func:`self_train_ctc`).

With ``rounds`` = 2 the once-adapted model pseudo-labels the voice again (step 1–2) and
is fine-tuned from where it is for ``epochs`` more epochs (the training stream's next
epochs; seed + 1), as ``adapt_rounds`` in :mod:`glassnet.apps.speech_adapt`. With
``align``, every decoding (each round's pseudo-labels and their confidence, and the final
one) reads the model's outputs reweighed by the voice's class priors
(:func:`glassnet.apps.ctc_align.align_ctc_priors`: every digit the same posterior mass over
all the voice's frames), estimated afresh from the model in use each time.

The adapted model decodes the voice again, and only then does :func:`adapt_run` read the
labels, for the word error rate before and after (and after each round). :func:`voice_features` and
:func:`self_train_ctc` never receive the voice's labels (a test scrambles them and gets the
same adapted model).

    >>> res = adapt_run("runs/speech_ctc", "jackson", valid_noise_db=-41)
    >>> res["before"]["wer"], res["after"]["wer"], res["kept"]
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from .. import optim
from ..runs import write_run_json
from ..tensor import Tensor, manual_seed, no_grad
from ..train import LRSchedulerCallback, fit
from .ctc_align import align_ctc_priors
from .ctc_decode import prefix_beam_search
from .speech import SPEAKERS
from .speech_augment import spec_augment
from .speech_ctc import (BLANK, CTCTargetLoss, SpeechCTCNet, SpeechCTCRecipe, UtteranceSet,
                         _batch, _held_out_sets, _load_clips, _scores,
                         load_speech_ctc_run, train_speech_ctc)

__all__ = ["decode_with_confidence", "confident", "voice_log_probs", "decode_voice",
           "voice_features", "training_set", "PseudoLabelled", "self_train_ctc",
           "self_train_rounds", "adapt_run", "held_out_voices", "train_and_adapt"]


# -- the confidence rule ---------------------------------------------------------------------
def decode_with_confidence(log_probs, beam_width: int = 8) -> tuple[list[int], float]:
    """The best digit string of one utterance's CTC outputs and its probability under the
    model, p(ℓ* | x) (prefix beam search, :func:`~glassnet.apps.ctc_decode.prefix_beam_search`;
    exact when no better prefix fell off the beam).

    Shape:
        log_probs: (T', 11) log-probabilities (class 0 blank, d + 1 the digit d).

    Returns:
        ``(digits, p)``: the digits (0–9) and p in [0, 1].

    Example:
        >>> decode_with_confidence(np.log([[.4, .6], [.6, .4]]), 4)   # p([0]) = .76
        ([0], 0.76)
    """
    labels, log_p = prefix_beam_search(log_probs, beam_width, BLANK)
    return [k - 1 for k in labels], float(np.exp(log_p))


def confident(probs, threshold: float, top: float = 0.0) -> np.ndarray:
    """Indices (ascending) of the utterances whose best string has probability ≥
    ``threshold``, and with ``top`` > 0 also of the ⌈top·N⌉ most probable ones whatever
    their probability (ties: the earlier utterance first).

    Shape:
        probs: (N,) probabilities p(ℓ* | x); output: (K,) int64, K <= N.

    Example:
        >>> confident([0.95, 0.5, 0.9], 0.9)
        array([0, 2])
        >>> confident([0.3, 0.5, 0.1, 0.2], 0.9, top=0.5)    # the 2 most probable
        array([0, 1])
    """
    _check_threshold(threshold, "confident")
    _check_share(top, "confident")
    probs = np.asarray(probs, np.float64)
    if probs.ndim != 1:
        raise ValueError(f"confident(probs): expected (N,) sequence probabilities, got shape "
                         f"{probs.shape}")
    keep = probs >= threshold
    k = int(np.ceil(top * len(probs) - 1e-9))
    if k:
        keep[np.argsort(-probs, kind="stable")[:k]] = True
    return np.flatnonzero(keep).astype(np.int64)


def _check_threshold(value, where: str, arg: str = "threshold",
                     what: str = "a probability") -> None:
    """``value`` must be a number in [0, 1] (not a bool); the error names ``where(arg=…)``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{where}({arg}={value!r}): expected {what} in [0, 1]")


def _check_share(top, where: str) -> None:
    _check_threshold(top, where, "top", "a share of the utterances")


def voice_log_probs(model, feats, *, batch: int = 64) -> list:
    """The model's (eval mode) log-probabilities of standardised (T_i, n_mels) features, in
    the batches a fixed :class:`~glassnet.apps.speech_ctc.UtteranceSet` makes (sorted by
    length, ``batch`` at a time), each cut to its output length.

    Shape:
        feats: N arrays (T_i, n_mels); output: N arrays (T'_i, 11), in input order.
    """
    model.eval()
    order = np.argsort([len(f) for f in feats], kind="stable")
    out = [None] * len(feats)
    with no_grad():
        for start in range(0, len(order), batch):
            group = order[start:start + batch]
            lp = model(Tensor(_batch([feats[i] for i in group]))).array
            lens = SpeechCTCNet.output_lengths([len(feats[i]) for i in group])
            for n, i in enumerate(group):
                out[i] = lp[:lens[n], n]
    return out


def decode_voice(model, feats, beam_width: int, *, batch: int = 64, align: bool = False):
    """Decode standardised (T_i, n_mels) features in eval mode (:func:`voice_log_probs`),
    so the strings are the ones ``score_run`` scores; with ``align``, decode the outputs
    aligned to the voice's class priors (:func:`~glassnet.apps.ctc_align.align_ctc_priors`
    over all of ``feats``), p(ℓ* | x) then under the aligned outputs.

    Returns:
        ``(digits, probs)``: a digit list and p(ℓ* | x) per utterance, in input order; with
        ``align``, ``(digits, probs, weights)`` (the (11,) class weights, blank's 1).
    """
    lps = voice_log_probs(model, feats, batch=batch)
    if align:
        lps, weights = align_ctc_priors(lps, blank=BLANK)
    digits, probs = [None] * len(feats), np.zeros(len(feats))
    for i, lp in enumerate(lps):
        digits[i], probs[i] = decode_with_confidence(lp, beam_width)
    return (digits, probs, weights) if align else (digits, probs)


# -- the voice and the training stream -------------------------------------------------------
def _voice_set(recipe, by_speaker, stats, voice: str, valid_noise_db: float, where: str):
    """The held-out UtteranceSet that scores ``voice`` (as ``score_run`` builds it)."""
    held = {recipe.valid_speaker: "valid", recipe.test_speaker: "test"}
    held.pop("", None)
    if voice not in held:
        raise ValueError(f"{where}(voice={voice!r}): expected a held-out voice of the run "
                         f"({' or '.join(repr(v) for v in held)}); the others trained it")
    name = held[voice]
    if valid_noise_db and name != "valid":
        raise ValueError(f"{where}(valid_noise_db={valid_noise_db}): noise is added to the "
                         f"validation voice {recipe.valid_speaker!r} only, got voice {voice!r}")
    recipe = dataclasses.replace(recipe, valid_noise_db=float(valid_noise_db))
    sets = _held_out_sets(recipe, by_speaker, stats)
    return sets["valid_noisy" if valid_noise_db else name]


def voice_features(voice_set: UtteranceSet) -> list:
    """The standardised features of a held-out set's utterances, as scored (the labels its
    builder draws are dropped here)."""
    signals = voice_set.draw(0)[0]
    return voice_set.features(signals)


def training_set(recipe, by_speaker, stats) -> UtteranceSet:
    """The run's training stream as :func:`~glassnet.apps.speech_ctc.train_speech_ctc`
    builds it, set to continue after the run's last epoch (utterances training never
    saw)."""
    held = (recipe.test_speaker, recipe.valid_speaker)
    speakers = [s for s in SPEAKERS if s not in held]
    clips = [c for s in speakers for c in by_speaker[s][0]]
    digits = [d for s in speakers for d in by_speaker[s][1]]
    voices = [s for s in speakers for _ in by_speaker[s][0]]
    aug = {"speed": recipe.speed, "gain_db": recipe.gain_db,
           "spec_augment": recipe.spec_augment, "vtlp": recipe.vtlp, "lowpass": recipe.lowpass}
    train = UtteranceSet(clips, digits, recipe.train_utterances, recipe.batch_size,
                         recipe.seed, fresh=True, augment=aug, n_mels=recipe.n_mels,
                         noise=recipe.noise, max_digits=recipe.max_digits, stats=stats,
                         snr_floor_db=recipe.snr_floor_db,
                         speakers=voices if recipe.features == "speaker" else None,
                         clip_noise=recipe.clip_noise(), floor_span_db=recipe.snr_floor_span_db)
    train.epoch = recipe.epochs
    return train


class PseudoLabelled:
    """Each pass: the next epoch of a fresh training :class:`UtteranceSet` plus batches of
    pseudo-labelled utterances (sorted by length, ``batch_size`` each, with fresh SpecAugment
    masks when ``augment``), all batches shuffled together; deterministic from ``seed``
    (generator (seed, pass, 4)).

    Args:
        train: the training stream (``fresh=True``).
        feats: standardised (T_i, n_mels) features of the kept utterances.
        labels: their pseudo-labels (digit lists), one per feature array.
        batch_size: utterances per pseudo-labelled batch.
        seed: masks and order.
        augment: SpecAugment on the kept utterances.

    Yields ``(x, y)`` as :func:`fit` expects: x (N, T, n_mels + 1), y (N, 2 + S_max).
    """

    def __init__(self, train: UtteranceSet, feats, labels, batch_size: int, seed: int, *,
                 augment: bool = True):
        if len(feats) != len(labels):
            raise ValueError(f"PseudoLabelled: expected one pseudo-label per utterance, got "
                             f"{len(labels)} for {len(feats)}")
        self.train, self.feats, self.labels = train, list(feats), [list(s) for s in labels]
        self.batch_size, self.seed, self.augment, self.passes = batch_size, seed, augment, 0

    def __len__(self):
        return len(self.train) + -(-len(self.feats) // self.batch_size)

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.passes, 4])
        self.passes += 1
        batches = list(iter(self.train))
        feats = [spec_augment(f, rng) for f in self.feats] if self.augment else self.feats
        order = np.argsort([len(f) for f in feats], kind="stable")
        for start in range(0, len(order), self.batch_size):
            group = order[start:start + self.batch_size]
            batches.append(_batch([feats[i] for i in group], [self.labels[i] for i in group]))
        yield from (batches[i] for i in rng.permutation(len(batches)))


def self_train_ctc(model, feats, train: UtteranceSet, *, threshold: float, epochs: int,
                   lr: float, beam_width: int, seed: int, augment: bool = True,
                   control: bool = False, align: bool = False, top: float = 0.0) -> dict:
    """Adapt ``model`` (in place) to one voice's unlabelled utterances ``feats`` by one
    round of pseudo-labelling and fine-tuning (see the module docstring).

    Args:
        model: a trained :class:`~glassnet.apps.speech_ctc.SpeechCTCNet`.
        feats: the voice's standardised (T_i, n_mels) features (no labels).
        train: the labelled training stream (:func:`training_set`).
        threshold: τ: keep an utterance when p(ℓ* | x) ≥ τ.
        epochs, lr: fine-tuning (Adam, cosine decay over ``epochs``; 0 epochs: unchanged).
        beam_width: prefix beam width of the pseudo-labels.
        seed: dropout (``manual_seed``), masks and batch order.
        augment: SpecAugment on the kept utterances.
        control: fine-tune on the training stream alone (the kept utterances dropped; the
            same epochs, lr and seed): how much of the change the pseudo-labels make.
        align: pseudo-labels and confidence from the outputs aligned to the voice's class
            priors (:func:`decode_voice`).
        top: also keep the ⌈top·N⌉ most confident of the N utterances (:func:`confident`).

    Returns:
        ``{"kept", "kept_index", "pseudo_labels", "confidence" (p of every utterance),
        "decoded" (every utterance's string, before the fine-tuning), "weights" (the
        alignment's class weights, None without ``align``), "loss" (last epoch's training
        loss, None without fine-tuning)}``; the model is left in eval mode.
    """
    _check_self_train_args("self_train_ctc", threshold, epochs, lr, feats)
    digits, probs, *weights = decode_voice(model, feats, beam_width, align=align)
    keep = confident(probs, threshold, top)
    out = {"kept": int(len(keep)), "kept_index": keep,
           "pseudo_labels": [digits[i] for i in keep], "confidence": probs,
           "decoded": digits, "weights": weights[0] if weights else None, "loss": None}
    if len(keep) and epochs:
        mine = [] if control else keep
        out["loss"] = _fine_tune(model, [feats[i] for i in mine], [digits[i] for i in mine],
                                 train, epochs=epochs, lr=lr, seed=seed, augment=augment)
    model.eval()
    return out


def _check_self_train_args(where: str, threshold, epochs, lr, feats) -> None:
    """The arguments every self-training entry point shares, each refused by name."""
    _check_threshold(threshold, where)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"{where}(epochs={epochs!r}): expected an int >= 0")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"{where}(lr={lr!r}): expected a learning rate > 0")
    if not feats:
        raise ValueError(f"{where}(feats): expected at least one utterance of the voice")


def _fine_tune(model, feats, labels, train, *, epochs: int, lr: float, seed: int,
               augment: bool) -> float:
    """``epochs`` epochs of Adam (``lr``, cosine decay) on the training stream plus the
    utterances ``feats`` labelled ``labels`` (:class:`PseudoLabelled`; none: the stream
    alone), dropout, masks and order from ``seed``; the last epoch's training loss."""
    manual_seed(seed)
    data = PseudoLabelled(train, feats, labels, train.batch_size, seed, augment=augment)
    opt = optim.Adam(model.parameters(), lr=lr)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    history = fit(model, CTCTargetLoss(), opt, data, epochs=epochs, metrics=(),
                  verbose=False, callbacks=[LRSchedulerCallback(sched)])
    return float(history.to_dict()["loss"][-1])


def self_train_rounds(model, feats, train: UtteranceSet, *, rounds: int, threshold: float,
                      epochs: int, lr: float, beam_width: int, seed: int,
                      augment: bool = True, control: bool = False,
                      align: bool = False, top: float = 0.0) -> list[dict]:
    """``rounds`` rounds of :func:`self_train_ctc` on ``model`` (in place): round r
    pseudo-labels with the model as the previous round left it and fine-tunes it further
    (seed + r − 1; the training stream continues), as ``adapt_rounds`` in
    :mod:`glassnet.apps.speech_adapt`. Round 1 is :func:`self_train_ctc` itself.

    Args:
        rounds: an int >= 1.
        top: curriculum: round r also keeps the ⌈min(1, r·top)·N⌉ most confident utterances
            (0: off; the threshold alone, every round).
        (the others): see :func:`self_train_ctc`, the same for every round.

    Returns:
        One :func:`self_train_ctc` record per round, with ``"round"`` (1, 2, …).

    Example:
        >>> recs = self_train_rounds(model, feats, train, rounds=2, threshold=0.9, epochs=4,
        ...                          lr=3e-4, beam_width=8, seed=0, align=True)
        >>> [r["kept"] for r in recs]
    """
    _check_rounds(rounds, "self_train_rounds")
    out = []
    for r in range(rounds):
        rec = self_train_ctc(model, feats, train, threshold=threshold, epochs=epochs, lr=lr,
                             beam_width=beam_width, seed=seed + r, augment=augment,
                             control=control, align=align, top=min(1.0, top * (r + 1)))
        out.append({"round": r + 1, **rec})
    return out


def _check_rounds(rounds, where: str) -> None:
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"{where}(rounds={rounds!r}): expected an int >= 1 (self-training "
                         f"rounds)")


# -- a finished run --------------------------------------------------------------------------
def adapt_run(run_dir, voice: str, *, valid_noise_db: float = 0.0, threshold: float = 0.9,
              epochs: int = 4, lr: float = 3e-4, seed: int = 0, save: bool = False,
              control: bool = False, rounds: int = 1, align: bool = False,
              top: float = 0.0) -> dict:
    """Self-train a finished ``speech_ctc`` run on one of its held-out voices and score the
    voice before and after (beam search, the recipe's width).

    Args:
        run_dir: a finished run folder (``recipe.toml``, ``run.json``, weights).
        voice: the run's validation or test speaker.
        valid_noise_db: the validation voice with white noise at this level (dB) in its
            clips, as ``score_run(valid_noise_db=...)`` (0: clean).
        threshold, epochs, lr, seed: see :func:`self_train_ctc` (the defaults are the
            settings fixed before the validation in docs/speech_music.md).
        control: fine-tune without the kept utterances (see :func:`self_train_ctc`).
        rounds: self-training rounds (:func:`self_train_rounds`).
        top: curriculum share per round (:func:`self_train_rounds`; 0: off).
        align: every decoding of the adaptation and the final one aligned to the voice's
            class priors (:func:`decode_voice`); "before" stays the trained model's plain
            decoding (as the run scored it).
        save: write the adapted weights to
            ``weights-adapted-<voice>[-<noise>dB].safetensors`` in the run folder.

    Returns:
        ``{"voice", "set", "valid_noise_db", "before", "after" (scores: wer,
        sequence_accuracy, n), "kept", "kept_correct" (pseudo-labels equal to the labels),
        "hyps_before", "hyps_after", "pseudo_labels", "kept_index", "loss" (these four of
        round 1), "rounds" (per round: "kept", "kept_correct", "loss", "weights" (the
        alignment's, or None) and "after": the scores of the model that round left,
        decoded as the final decoding is), "before_aligned" (with ``align``: the trained
        model's aligned decoding, no fine-tuning), "weights_after" (with ``align``: the
        final decoding's class weights), "seconds", "settings"}``.

    Example:
        >>> adapt_run("runs/speech_ctc", "jackson")["after"]["wer"]
    """
    start = time.perf_counter()
    run_dir = Path(run_dir)
    if not (run_dir / "run.json").is_file():
        raise FileNotFoundError(f"adapt_run(run_dir={str(run_dir)!r}): no run.json (not a "
                                f"finished speech_ctc run)")
    if isinstance(valid_noise_db, bool) or not isinstance(valid_noise_db, (int, float)) \
            or valid_noise_db > 0:
        raise ValueError(f"adapt_run(valid_noise_db={valid_noise_db!r}): expected a level in "
                         f"dB <= 0 (0: clean)")
    _check_threshold(threshold, "adapt_run")
    _check_share(top, "adapt_run")
    _check_rounds(rounds, "adapt_run")
    model, recipe, stats = load_speech_ctc_run(run_dir)
    stats = "speaker" if recipe.features == "speaker" else stats
    by_speaker = _load_clips(recipe)
    voice_set = _voice_set(recipe, by_speaker, stats, voice, valid_noise_db, "adapt_run")
    feats = voice_features(voice_set)
    # the trained model's plain decoding; without align, round 1 decodes just that
    hyps_before = decode_voice(model, feats, recipe.beam_width)[0] if align else None
    recs = self_train_rounds(model, feats, training_set(recipe, by_speaker, stats),
                             rounds=rounds, threshold=threshold, epochs=epochs, lr=lr,
                             beam_width=recipe.beam_width, seed=seed,
                             augment=bool(recipe.spec_augment), control=control, align=align,
                             top=top)
    final = decode_voice(model, feats, recipe.beam_width, align=align)
    hyps_after = final[0]
    hyps_before = recs[0]["decoded"] if hyps_before is None else hyps_before
    if save:
        from ..io import save_weights
        tag = f"-{-valid_noise_db:g}dB" if valid_noise_db else ""
        save_weights(model, run_dir / f"weights-adapted-{voice}{tag}.safetensors")
    labels = _reference_labels(voice_set)              # read only now, to score
    per_round = []
    for r, rec in enumerate(recs):                     # each round's model, decoded as the
        hyps = recs[r + 1]["decoded"] if r + 1 < len(recs) else hyps_after   # final one is
        per_round.append({"round": rec["round"], "kept": rec["kept"],
                          "kept_correct": _right(labels, rec), "loss": rec["loss"],
                          "weights": None if rec["weights"] is None
                          else [round(float(w), 6) for w in rec["weights"]],
                          "after": _scores(labels, hyps)})
    res = recs[0]
    out = {"voice": voice, "set": "valid_noisy" if valid_noise_db else
           ("valid" if voice == recipe.valid_speaker else "test"),
           "valid_noise_db": float(valid_noise_db),
           "before": _scores(labels, hyps_before), "after": _scores(labels, hyps_after),
           "kept": res["kept"], "kept_correct": per_round[0]["kept_correct"],
           "hyps_before": hyps_before, "hyps_after": hyps_after,
           "pseudo_labels": res["pseudo_labels"], "kept_index": res["kept_index"].tolist(),
           "loss": res["loss"], "rounds": per_round,
           "seconds": round(time.perf_counter() - start, 1),
           "settings": {"threshold": threshold, "epochs": epochs, "lr": lr, "seed": seed,
                        "beam_width": recipe.beam_width, "control": control,
                        "rounds": rounds, "align": align, "top": top}}
    if align:
        out["before_aligned"] = _scores(labels, res["decoded"])
        out["weights_after"] = [round(float(w), 6) for w in final[2]]
    return out


def _right(labels, rec) -> int:
    """How many of a round's pseudo-labels equal the labels (scoring only)."""
    return int(sum(labels[i] == p for i, p in zip(rec["kept_index"], rec["pseudo_labels"])))


def _reference_labels(voice_set: UtteranceSet) -> list:
    """The voice's digit strings (for scoring only, after the adaptation)."""
    return voice_set.draw(0)[1]


# -- the task: train, then self-train on each held-out voice ----------------------------------
def train_and_adapt(recipe: SpeechCTCRecipe, run_dir, *, overwrite: bool = False,
                    verbose: bool = True) -> dict:
    """The ``speech_ctc`` task: :func:`~glassnet.apps.speech_ctc.train_speech_ctc`, then,
    with ``self_train_epochs`` > 0, :func:`adapt_run` on the validation voice (clean, and
    noisy with ``valid_noise_db``) and on the test voice, each from the trained weights
    (the saved weights stay the trained ones), ``self_train_rounds`` rounds, aligned to the
    voice's class priors with ``self_train_align``. run.json gets ``"self_train"`` (per set:
    the scores before and after, the utterances kept and how many of their pseudo-labels
    were right (round 1), the seconds, each round's record, and with alignment the trained
    model's aligned scores ``"before_aligned"``) and the adapted test scores as its headline
    ``"test"`` (the trained model's in ``"test_before_self_train"``)."""
    res = train_speech_ctc(recipe, run_dir, overwrite=overwrite, verbose=verbose)
    if not recipe.self_train_epochs:
        return res
    adapted = {}
    for voice, noise_db in held_out_voices(recipe):
        a = adapt_run(run_dir, voice, valid_noise_db=noise_db,
                      threshold=recipe.self_train_threshold, epochs=recipe.self_train_epochs,
                      lr=recipe.self_train_lr, seed=recipe.seed,
                      rounds=recipe.self_train_rounds, align=recipe.self_train_align,
                      top=recipe.self_train_top)
        adapted[a["set"]] = {k: a[k] for k in ("voice", "before", "after", "kept",
                                                "kept_correct", "rounds", "before_aligned",
                                                "seconds") if k in a}
        if verbose:
            print(f"self-training on {voice} ({a['set']}): kept {a['kept']} utterances, WER "
                  f"{a['before']['wer']:.4f} -> {a['after']['wer']:.4f} ({a['seconds']:.0f} s)")
    res["self_train"] = adapted
    res["test_before_self_train"] = res["test"]
    res["test"] = {k: adapted["test"]["after"][k] for k in ("wer", "sequence_accuracy")}
    write_run_json(run_dir, res)
    return res


def held_out_voices(recipe: SpeechCTCRecipe) -> list[tuple[str, float]]:
    """``(voice, valid_noise_db)`` of every held-out set the task self-trains on: the
    validation voice (clean, and noisy with ``valid_noise_db``), then the test voice."""
    valid = [(recipe.valid_speaker, 0.0)] + ([(recipe.valid_speaker, recipe.valid_noise_db)]
                                             if recipe.valid_noise_db else [])
    return (valid if recipe.valid_speaker else []) + [(recipe.test_speaker, 0.0)]
