r"""Seed ensembles of finished CTC runs, with self-training on a new voice: K runs of the
same ``speech_ctc`` recipe that differ only in ``seed`` decode together, and adapt together.

**Combination.** Every member (eval mode) gives each utterance its frame posteriors
p_t^(k)(c) (the same architecture, so the same T' output frames); the ensemble's are their
average, and decoding runs the recipe's prefix beam search on its log:

.. math::
    \log \bar p_t(c) = \log \frac{1}{K} \sum_k p_t^{(k)}(c)
                     = \operatorname{logsumexp}_k \log p_t^{(k)}(c) - \log K,

so each frame still sums to 1 over the 11 classes, and an ensemble of K identical members
is the single model to the last bit (:func:`average_log_probs`). With ``combine="strings"``
each member decodes alone and the members' best strings are rescored by the mixture,
P(ℓ | x) = (1/K) Σ_k p_k(ℓ | x), each p_k exact
(:func:`~glassnet.apps.ctc_combine.combine_strings`): members that put a digit's spike on
neighbouring frames no longer split it. ``align`` reads class-prior-aligned outputs (the
averaged posteriors, or each member's own).

**Self-training** (:func:`ensemble_self_train`), the ensemble counterpart of
:func:`~glassnet.apps.speech_ctc_adapt.self_train_ctc`: the ensemble decodes the voice; the
utterances whose best string ℓ* has p(ℓ* | x) ≥ ``threshold`` under the averaged posteriors
are kept, ℓ* as their label; **each member** is fine-tuned on those same pseudo-labels as
``self_train_ctc`` fine-tunes (:func:`fine_tune`: Adam, cosine decay, its own training
stream's next epochs plus the kept utterances); the adapted members' average decodes the
voice again. :func:`adapt_ensemble` runs ``rounds`` such rounds (the recipe's curriculum
``top`` and alignment as options), also self-trains each member alone (``adapt_run``'s
method: its own pseudo-labels) for comparison, and reads the voice's labels only at the end,
to score. Settings and the validations: docs/speech_music.md, "Seed ensembles (CTC)" and
"Seed ensembles with the adopted self-training, combined by whole strings".

    >>> res = adapt_ensemble(["runs/s0", "runs/s1", "runs/s2"], "jackson")
    >>> res["ensemble"]["after"]["wer"], res["members_mean"]["after"]
"""
from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path

import numpy as np

from .ctc_align import align_ctc_priors
from .ctc_combine import combine_strings
from ..runs import write_run_json
from .speech_ctc import BLANK, _load_clips, _scores, load_speech_ctc_run, train_speech_ctc
from .speech_ctc_adapt import (_check_rounds, _check_self_train_args, _check_share,
                               _check_threshold, _fine_tune, _reference_labels, _voice_set,
                               confident, decode_voice, decode_with_confidence,
                               held_out_voices, self_train_rounds, training_set,
                               voice_features, voice_log_probs)

__all__ = ["average_log_probs", "decode_log_probs", "decode_ensemble",
           "fine_tune", "ensemble_self_train", "ensemble_self_train_rounds", "load_ensemble",
           "adapt_ensemble", "member_dirs", "train_ensemble_and_adapt"]

# keys that may differ between members: the seed, and what happens after training
_FREE_KEYS = {"seed", "self_train_epochs", "self_train_threshold", "self_train_lr",
              "self_train_rounds", "self_train_align", "self_train_top", "baseline_epochs"}
COMBINE = ("frames", "strings")


# -- decoding --------------------------------------------------------------------------------
def average_log_probs(members) -> np.ndarray:
    """The log of the members' average posterior, log((1/K) Σ_k exp(lp_k)), computed as a
    logsumexp (stable; one member, or K equal ones: returned unchanged).

    Shape:
        members: K arrays of one shape (T', C) (log-probabilities); output: (T', C),
        computed in float64, returned in the dtype of the first.

    Example:
        >>> np.exp(average_log_probs([np.log([[.2, .8]]), np.log([[.6, .4]])]))
        array([[0.4, 0.6]])
    """
    lps = [np.asarray(m) for m in members]
    if not lps:
        raise ValueError("average_log_probs(members): expected at least one member")
    if any(m.shape != lps[0].shape for m in lps):
        raise ValueError(f"average_log_probs(members): expected one shape for every member "
                         f"(the same architecture), got {[m.shape for m in lps]}")
    stack = np.stack(lps).astype(np.float64)
    top = stack.max(axis=0)
    top = np.where(np.isfinite(top), top, 0.0)
    mean = np.exp(stack - top).mean(axis=0)
    with np.errstate(divide="ignore"):
        return (top + np.log(mean)).astype(lps[0].dtype, copy=False)


def decode_log_probs(log_probs, beam_width: int):
    """``(digits, probs)``: each utterance's best digit string and p(ℓ* | x) by prefix beam
    search (:func:`~glassnet.apps.speech_ctc_adapt.decode_with_confidence`)."""
    digits, probs = [], np.zeros(len(log_probs))
    for i, lp in enumerate(log_probs):
        d, probs[i] = decode_with_confidence(lp, beam_width)
        digits.append(d)
    return digits, probs


def decode_ensemble(models, feats, beam_width: int, *, batch: int = 64,
                    combine: str = "frames", align: bool = False):
    """Decode standardised features with an ensemble.

    Args:
        models: K trained models (eval mode is set).
        feats: N standardised (T_i, n_mels) feature arrays.
        beam_width: prefix beam width.
        combine: ``"frames"``: the members' averaged posteriors, beam-searched
            (:func:`average_log_probs`); ``"strings"``: each member's own best string,
            rescored by the mixture P(ℓ | x) = (1/K) Σ_k p_k(ℓ | x)
            (:func:`~glassnet.apps.ctc_combine.combine_strings`).
        align: read outputs aligned to the voice's class priors
            (:func:`~glassnet.apps.ctc_align.align_ctc_priors` over all of ``feats``): with
            ``"frames"`` the averaged posteriors, with ``"strings"`` each member's own
            (its strings and its p_k under them).

    Returns:
        ``(digits, probs, member_lps)``: the digit list and its probability per utterance
        (input order), and each member's plain per-utterance log-probabilities
        (:func:`~glassnet.apps.speech_ctc_adapt.voice_log_probs`, for their own decoding).
    """
    if not models:
        raise ValueError("decode_ensemble(models): expected at least one model")
    if combine not in COMBINE:
        raise ValueError(f"decode_ensemble(combine={combine!r}): expected one of "
                         f"{', '.join(map(repr, COMBINE))}")
    lps = [voice_log_probs(m, feats, batch=batch) for m in models]
    if combine == "frames":
        avg = [average_log_probs([lp[i] for lp in lps]) for i in range(len(feats))]
        if align:
            avg = align_ctc_priors(avg, blank=BLANK)[0]
        digits, probs = decode_log_probs(avg, beam_width)
        return digits, probs, lps
    own = [align_ctc_priors(lp, blank=BLANK)[0] if align else lp for lp in lps]
    best = [[[d + 1 for d in ds] for ds in decode_log_probs(lp, beam_width)[0]] for lp in own]
    labels, probs = combine_strings(own, best, blank=BLANK)
    return [[k - 1 for k in s] for s in labels], probs, lps


# -- self-training ---------------------------------------------------------------------------
def fine_tune(model, feats, labels, train, *, epochs: int, lr: float, seed: int,
              augment: bool = True):
    """Fine-tune ``model`` (in place) on the training stream ``train`` plus the utterances
    ``feats`` with the pseudo-labels ``labels``, exactly as
    :func:`~glassnet.apps.speech_ctc_adapt.self_train_ctc` does with its kept utterances
    (``manual_seed(seed)``, :class:`~glassnet.apps.speech_ctc_adapt.PseudoLabelled`, Adam
    ``lr`` with cosine decay over ``epochs``). No utterance or 0 epochs: unchanged.

    Returns:
        the last epoch's training loss (None without fine-tuning); the model is left in
        eval mode.
    """
    loss = None
    if len(feats) and epochs:
        loss = _fine_tune(model, feats, labels, train, epochs=epochs, lr=lr, seed=seed,
                          augment=augment)
    model.eval()
    return loss


def ensemble_self_train(models, feats, trains, *, threshold: float, epochs: int, lr: float,
                        beam_width: int, seeds, augment: bool = True, combine: str = "frames",
                        align: bool = False, top: float = 0.0) -> dict:
    """One round of self-training of an ensemble on one voice's unlabelled utterances
    ``feats``: the ensemble's confident strings become the pseudo-labels, and every member
    is fine-tuned on them (:func:`fine_tune`, member k with ``trains[k]`` and ``seeds[k]``).

    Args:
        models: K trained :class:`~glassnet.apps.speech_ctc.SpeechCTCNet` (adapted in place).
        feats: the voice's standardised (T_i, n_mels) features (no labels).
        trains: K training streams (:func:`~glassnet.apps.speech_ctc_adapt.training_set`).
        threshold: keep an utterance when the ensemble's p(ℓ* | x) ≥ threshold.
        epochs, lr, beam_width, augment: as ``self_train_ctc``.
        seeds: K seeds (dropout, masks and batch order per member).
        combine, align: the ensemble's decoding (:func:`decode_ensemble`).
        top: also keep the ⌈top·N⌉ most confident utterances
            (:func:`~glassnet.apps.speech_ctc_adapt.confident`).

    Returns:
        ``{"kept", "kept_index", "pseudo_labels", "confidence", "losses", "hyps_before",
        "member_hyps_before"}`` (the last: each member's own plain decoding before this
        round's fine-tuning).
    """
    _check_self_train_args("ensemble_self_train", threshold, epochs, lr, feats)
    if not (len(models) == len(trains) == len(seeds)) or not models:
        raise ValueError(f"ensemble_self_train: expected one training stream and one seed per "
                         f"model, got {len(models)} models, {len(trains)} streams, "
                         f"{len(seeds)} seeds")
    digits, probs, lps = decode_ensemble(models, feats, beam_width, combine=combine,
                                         align=align)
    keep = confident(probs, threshold, top)
    kept_feats, kept_labels = [feats[i] for i in keep], [digits[i] for i in keep]
    losses = [fine_tune(m, kept_feats, kept_labels, t, epochs=epochs, lr=lr, seed=s,
                        augment=augment) for m, t, s in zip(models, trains, seeds)]
    return {"kept": int(len(keep)), "kept_index": keep, "pseudo_labels": kept_labels,
            "confidence": probs, "losses": losses, "hyps_before": digits,
            "member_hyps_before": [decode_log_probs(lp, beam_width)[0] for lp in lps]}


def ensemble_self_train_rounds(models, feats, trains, *, rounds: int, threshold: float,
                               epochs: int, lr: float, beam_width: int, seeds,
                               augment: bool = True, combine: str = "frames",
                               align: bool = False, top: float = 0.0) -> list[dict]:
    """``rounds`` rounds of :func:`ensemble_self_train`, as
    :func:`~glassnet.apps.speech_ctc_adapt.self_train_rounds` does for one model: round r
    (from 1) decodes with the members as round r − 1 left them, keeps also the
    ⌈min(1, r·top)·N⌉ most confident utterances, and fine-tunes member k with seed
    ``seeds[k] + r − 1`` (its training stream continues).

    Returns:
        one :func:`ensemble_self_train` record per round.
    """
    _check_rounds(rounds, "ensemble_self_train_rounds")
    return [ensemble_self_train(models, feats, trains, threshold=threshold, epochs=epochs,
                                lr=lr, beam_width=beam_width, seeds=[s + r for s in seeds],
                                augment=augment, combine=combine, align=align,
                                top=min(1.0, top * (r + 1))) for r in range(rounds)]


# -- finished runs ---------------------------------------------------------------------------
def load_ensemble(run_dirs):
    """``(models, recipes)`` of K finished ``speech_ctc`` runs that may differ only in
    ``seed`` (and the ``self_train_*`` keys); anything else differing is refused, naming the
    key."""
    run_dirs = [Path(r) for r in run_dirs]
    if not run_dirs:
        raise ValueError("load_ensemble(run_dirs): expected at least one run folder")
    for r in run_dirs:
        if not (r / "run.json").is_file():
            raise FileNotFoundError(f"load_ensemble(run_dirs): {str(r)!r} has no run.json "
                                    f"(not a finished speech_ctc run)")
    loaded = [load_speech_ctc_run(r) for r in run_dirs]
    models, recipes = [m for m, _, _ in loaded], [rec for _, rec, _ in loaded]
    first = dataclasses.asdict(recipes[0])
    for r, rec in zip(run_dirs[1:], recipes[1:]):
        other = dataclasses.asdict(rec)
        diff = sorted(k for k in first if k not in _FREE_KEYS and first[k] != other.get(k))
        if diff:
            k = diff[0]
            raise ValueError(f"load_ensemble(run_dirs): the members must be one recipe with "
                             f"other seeds; {k} = {other.get(k)!r} in {r} but {first[k]!r} in "
                             f"{run_dirs[0]}")
    if any(rec.features == "global" for rec in recipes):
        raise ValueError("load_ensemble(run_dirs): expected per-speaker or per-utterance "
                         "features (features = 'global' keeps each run's own statistics)")
    return models, recipes


def adapt_ensemble(run_dirs, voice: str, *, valid_noise_db: float = 0.0,
                   threshold: float = 0.9, epochs: int = 4, lr: float = 3e-4,
                   singles: bool = True, combine: str = "frames", rounds: int = 1,
                   align: bool = False, top: float = 0.0) -> dict:
    """Score a seed ensemble of finished runs on one held-out voice, then self-train it
    there and score it again; with ``singles``, also each member alone before and after its
    own self-training (``adapt_run``'s method with the same ``rounds``, ``align`` and
    ``top``, seed = the member's recipe seed, as ``glassnet train`` does), and those
    self-trained members combined (``"singles_average"``: each adapted on its own
    pseudo-labels, then decoded together by ``combine``).

    Args:
        run_dirs: K finished run folders of one recipe, differing in ``seed``.
        voice: their validation or test speaker.
        valid_noise_db: the validation voice with white noise at this level (dB) in its
            clips (0: clean).
        threshold, epochs, lr: the self-training (the recipe's: τ 0.9, 4 epochs, 3e-4).
        singles: also self-train each member alone.
        combine: how the members decode together (:func:`decode_ensemble`): ``"frames"``
            (averaged posteriors) or ``"strings"`` (the mixture's best of the members'
            strings).
        rounds: self-training rounds; round r pseudo-labels with the members as round r − 1
            left them and fine-tunes member k with seed (its recipe seed + r − 1).
        align: every decoding (pseudo-labels and final) aligned to the voice's class priors.
        top: curriculum: round r also keeps the ⌈min(1, r·top)·N⌉ most confident utterances.

    Returns:
        ``{"voice", "set", "valid_noise_db", "ensemble": {"before", "after", "kept",
        "kept_correct", "hyps_before", "hyps_after", "rounds"}, "members": [{"run", "seed",
        "before", "after", "kept", "kept_correct"}] ("after"/"kept" only with ``singles``),
        "members_mean": {"before", "after"} (mean WER), "singles_average": {"after",
        "hyps_after"} (only with ``singles``), "seconds", "settings"}``. The ensemble's
        "before" is its own decoding (``combine``, ``align``) before any fine-tuning, each
        member's its plain decoding (as its run scored the voice); "kept" and
        "kept_correct" are round 1's, "rounds" each round's ``{"round", "kept",
        "kept_correct", "after"}`` (the scores of the members that round left, decoded
        together).
    """
    start = time.perf_counter()
    if isinstance(valid_noise_db, bool) or not isinstance(valid_noise_db, (int, float)) \
            or valid_noise_db > 0:
        raise ValueError(f"adapt_ensemble(valid_noise_db={valid_noise_db!r}): expected a "
                         f"level in dB <= 0 (0: clean)")
    _check_threshold(threshold, "adapt_ensemble")
    _check_share(top, "adapt_ensemble")
    _check_rounds(rounds, "adapt_ensemble")
    if combine not in COMBINE:
        raise ValueError(f"adapt_ensemble(combine={combine!r}): expected one of "
                         f"{', '.join(map(repr, COMBINE))}")
    models, recipes = load_ensemble(run_dirs)
    recipe = recipes[0]
    stats = "speaker" if recipe.features == "speaker" else None
    by_speaker = _load_clips(recipe)
    voice_set = _voice_set(recipe, by_speaker, stats, voice, valid_noise_db, "adapt_ensemble")
    feats = voice_features(voice_set)
    width, augment = recipe.beam_width, bool(recipe.spec_augment)
    together = {"combine": combine, "align": align}
    members = [{"run": str(r), "seed": rec.seed} for r, rec in zip(run_dirs, recipes)]
    alone = []
    if singles:                                     # each member alone, from its own weights
        for m, r in zip(members, run_dirs):
            model, rec, _ = load_speech_ctc_run(r)
            recs = self_train_rounds(model, feats, training_set(rec, by_speaker, stats),
                                     rounds=rounds, threshold=threshold, epochs=epochs, lr=lr,
                                     beam_width=width, seed=rec.seed, augment=augment,
                                     align=align, top=top)
            m["hyps_after"] = decode_voice(model, feats, width, align=align)[0]
            m["kept"], m["_res"] = recs[0]["kept"], recs[0]
            alone.append(model)
    ens = ensemble_self_train_rounds(models, feats, [training_set(rec, by_speaker, stats)
                                                     for rec in recipes],
                                     rounds=rounds, threshold=threshold, epochs=epochs, lr=lr,
                                     beam_width=width, seeds=[rec.seed for rec in recipes],
                                     augment=augment, top=top, **together)
    hyps_after = decode_ensemble(models, feats, width, **together)[0]
    hyps_alone = decode_ensemble(alone, feats, width, **together)[0] if singles else None
    labels = _reference_labels(voice_set)           # read only now, to score

    def right(index, pseudo):
        return int(sum(labels[i] == p for i, p in zip(index, pseudo)))

    for m, hyps in zip(members, ens[0]["member_hyps_before"]):
        m["before"] = _scores(labels, hyps)
        if singles:
            res = m.pop("_res")
            m["after"] = _scores(labels, m.pop("hyps_after"))
            m["kept_correct"] = right(res["kept_index"], res["pseudo_labels"])
    mean = {"before": round(float(np.mean([m["before"]["wer"] for m in members])), 4)}
    extra = {}
    if singles:
        mean["after"] = round(float(np.mean([m["after"]["wer"] for m in members])), 4)
        extra["singles_average"] = {"after": _scores(labels, hyps_alone),
                                    "hyps_after": hyps_alone}
    per_round = [{"round": r + 1, "kept": e["kept"],
                  "kept_correct": right(e["kept_index"], e["pseudo_labels"]),
                  "after": _scores(labels, ens[r + 1]["hyps_before"] if r + 1 < rounds
                                   else hyps_after)} for r, e in enumerate(ens)]
    first = ens[0]
    return {"voice": voice, "set": "valid_noisy" if valid_noise_db else
            ("valid" if voice == recipe.valid_speaker else "test"),
            "valid_noise_db": float(valid_noise_db),
            "ensemble": {"before": _scores(labels, first["hyps_before"]),
                         "after": _scores(labels, hyps_after), "kept": first["kept"],
                         "kept_correct": per_round[0]["kept_correct"],
                         "losses": first["losses"], "hyps_before": first["hyps_before"],
                         "hyps_after": hyps_after, "pseudo_labels": first["pseudo_labels"],
                         "rounds": per_round},
            "members": members, "members_mean": mean, **extra,
            "seconds": round(time.perf_counter() - start, 1),
            "settings": {"threshold": threshold, "epochs": epochs, "lr": lr,
                         "beam_width": width, "k": len(members), "rounds": rounds,
                         "combine": combine, "align": align, "top": top}}


# -- the task with ensemble = K ---------------------------------------------------------------
def member_dirs(run_dir, recipe) -> list[Path]:
    """The K run folders of a run with ``ensemble = K``: the run folder itself (its
    ``seed``), then ``members/seed<seed + k>`` for k = 1 … K − 1."""
    run_dir = Path(run_dir)
    return [run_dir] + [run_dir / "members" / f"seed{recipe.seed + k}"
                        for k in range(1, recipe.ensemble)]


def train_ensemble_and_adapt(recipe, run_dir, *, overwrite: bool = False,
                             verbose: bool = True) -> dict:
    """The ``speech_ctc`` task with ``ensemble = K`` > 1: train the recipe K times (seeds
    seed … seed + K − 1; the isolated-digit baseline only in the first), then self-train the
    K together on each held-out voice (:func:`adapt_ensemble` with ``combine="strings"`` and
    the recipe's ``self_train_*`` settings) and score their joint decoding. run.json (the run
    folder's, the first member's) gets ``"members"`` (the other folders, relative),
    ``"self_train"`` (per set: the ensemble's scores before and after, each member's plain
    scores before, the kept utterances, the rounds) and the ensemble's adapted test scores as
    its headline ``"test"`` (the first member's own in ``"test_before_self_train"``)."""
    run_dir = Path(run_dir)
    res = train_speech_ctc(recipe, run_dir, overwrite=overwrite, verbose=verbose)
    dirs = member_dirs(run_dir, recipe)
    if overwrite:
        shutil.rmtree(run_dir / "members", ignore_errors=True)
    for k, d in enumerate(dirs[1:], 1):
        if verbose:
            print(f"ensemble member {k + 1} of {len(dirs)} (seed {recipe.seed + k}): {d}")
        train_speech_ctc(dataclasses.replace(recipe, seed=recipe.seed + k, baseline_epochs=0),
                         d, verbose=verbose)
    adapted = {}
    for voice, noise_db in held_out_voices(recipe):
        a = adapt_ensemble(dirs, voice, valid_noise_db=noise_db,
                           threshold=recipe.self_train_threshold,
                           epochs=recipe.self_train_epochs, lr=recipe.self_train_lr,
                           singles=False, combine="strings", rounds=recipe.self_train_rounds,
                           align=recipe.self_train_align, top=recipe.self_train_top)
        e = a["ensemble"]
        adapted[a["set"]] = {"voice": voice, "before": e["before"], "after": e["after"],
                             "kept": e["kept"], "kept_correct": e["kept_correct"],
                             "rounds": e["rounds"], "seconds": a["seconds"],
                             "members_before": [m["before"] for m in a["members"]]}
        if verbose:
            print(f"self-training the {len(dirs)} members on {voice} ({a['set']}): WER "
                  f"{e['before']['wer']:.4f} -> {e['after']['wer']:.4f} ({a['seconds']:.0f} s)")
    res["members"] = [str(d.relative_to(run_dir)) for d in dirs[1:]]
    res["self_train"] = adapted
    res["test_before_self_train"] = res["test"]
    res["test"] = {k: adapted["test"]["after"][k] for k in ("wer", "sequence_accuracy")}
    write_run_json(run_dir, res)
    return res
