r"""``glassnet transcribe``: the digits spoken in a WAV file, with a finished ``speech_ctc``
run, optionally after self-training the run's model on the speaker's own recordings.

Without ``--self-train`` it is :func:`glassnet.apps.speech_ctc.transcribe` (the trained
weights; ``--voice`` files only give the per-speaker normalisation). With ``--self-train``
the file and the ``--voice`` files are the new voice's unlabelled utterances: they are
standardised together (as the run's held-out voices are), and the run's model is adapted to
them as the task adapts its held-out voices (:func:`~glassnet.apps.speech_ctc_adapt.
self_train_rounds` with the recipe's ``self_train_*`` settings: pseudo-labels from its
confident decodings, fine-tuned on them plus fresh training utterances of the run's
training speakers, so the FSDD recordings must be reachable), then the file is decoded
(aligned to the voice's class priors when the recipe says ``self_train_align``). Nothing is
written to the run folder.

    glassnet transcribe runs/speech_ctc utt.wav --voice more/*.wav --self-train
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from .speech import read_wav, speaker_stats
from .speech_augment import normalise
from .speech_ctc import (_check_beam_width, _check_wav, _load_clips, load_speech_ctc_run,
                         read_speech_ctc_run, transcribe)
from .speech_ctc_adapt import decode_voice, self_train_rounds, training_set
from .speech_ctc_ensemble import (decode_ensemble, ensemble_self_train_rounds, load_ensemble,
                                  member_dirs)
from .speech_noise import floored_log_mel

__all__ = ["voice_file_features", "transcribe_self_trained", "transcribe_ensemble",
           "other_recordings", "cmd_transcribe"]


def voice_file_features(recipe, stats, paths) -> list:
    """Standardised (T_i, n_mels) features of one voice's WAV files: floored by the voice's
    level (``snr_floor_db``) and normalised as the run's ``features`` say (``"speaker"``:
    the mean/std over all the files' frames; ``"global"``: the training clips'
    ``stats``; ``"utterance"``: each file by itself).

    Shape:
        output: one (T_i, n_mels) float32 array per file, in order.
    """
    signals = []
    for p in paths:
        _check_wav(Path(p))
        signals.append(read_wav(p))
        if signals[-1].size == 0:
            raise ValueError(f"{p}: the WAV file holds no samples")
    feats = floored_log_mel(signals, recipe.n_mels, recipe.snr_floor_db)
    if recipe.features == "speaker":
        stats = speaker_stats(feats, [""] * len(feats), max_frames=None)[0]
    return [normalise(f, stats) for f in feats]


def transcribe_self_trained(run_dir, path, voice_files, beam_width: int | None = None,
                            *, verbose: bool = False) -> tuple[list[int], list[dict]]:
    """The digits of ``path`` after self-training the run's model on ``path`` and
    ``voice_files`` (all the same speaker, unlabelled; see the module docstring).

    Args:
        run_dir: a finished ``speech_ctc`` run whose recipe has ``self_train_epochs`` > 0.
        path: the WAV file to transcribe.
        voice_files: more WAV files of the same speaker (at least one).
        beam_width: the decoding's prefix beam (default: the recipe's; the pseudo-labels
            always use the recipe's).

    Returns:
        ``(digits, rounds)``: the digits and, per round, ``{"round", "kept", "loss"}`` (with
        ``ensemble = K`` > 1 the K members self-train together, as the task does, and
        "loss" is the list of their losses).

    Example:
        >>> transcribe_self_trained("runs/speech_ctc", "a.wav", ["b.wav", "c.wav"])[0]
        [4, 0, 7]
    """
    if not voice_files:
        raise ValueError("transcribe --self-train: expected more recordings of the voice "
                         "(--voice WAV ...) to self-train on, got none")
    _check_beam_width(beam_width)
    recipe, stats = read_speech_ctc_run(run_dir)
    if not recipe.self_train_epochs:
        raise ValueError(f"transcribe --self-train: {Path(run_dir) / 'recipe.toml'} has "
                         f"self_train_epochs = 0 (no self-training settings); expected a run "
                         f"of a recipe that self-trains (recipes/speech_ctc.toml)")
    models = [load_speech_ctc_run(run_dir)[0]] if recipe.ensemble == 1 \
        else load_ensemble(member_dirs(run_dir, recipe))[0]
    model = models[0]
    feats = voice_file_features(recipe, stats, [path, *voice_files])
    by_speaker = _load_clips(recipe)
    train = training_set(recipe, by_speaker, "speaker" if recipe.features == "speaker"
                         else stats)
    settings = {"rounds": recipe.self_train_rounds, "threshold": recipe.self_train_threshold,
                "epochs": recipe.self_train_epochs, "lr": recipe.self_train_lr,
                "beam_width": recipe.beam_width, "augment": bool(recipe.spec_augment),
                "align": recipe.self_train_align, "top": recipe.self_train_top}
    beam = recipe.beam_width if beam_width is None else beam_width
    if len(models) == 1:
        recs = self_train_rounds(model, feats, train, seed=recipe.seed, **settings)
        digits = decode_voice(model, feats, beam, align=recipe.self_train_align)[0][0]
        rounds = [{"round": r["round"], "kept": r["kept"], "loss": r["loss"]} for r in recs]
    else:                       # every member continues its own stream (the same speakers)
        trains = [train] + [training_set(dataclasses.replace(recipe, seed=recipe.seed + k),
                                         by_speaker, train.stats)
                            for k in range(1, len(models))]
        recs = ensemble_self_train_rounds(models, feats, trains, combine="strings",
                                          seeds=[recipe.seed + k for k in range(len(models))],
                                          **settings)
        digits = decode_ensemble(models, feats, beam, combine="strings",
                                 align=recipe.self_train_align)[0][0]
        rounds = [{"round": r + 1, "kept": e["kept"], "loss": e["losses"]}
                  for r, e in enumerate(recs)]
    if verbose:
        kept = ", ".join(str(r["kept"]) for r in rounds)
        print(f"self-trained on {len(feats)} recordings of the voice (kept per round: "
              f"{kept})", file=sys.stderr)
    return digits, rounds


def transcribe_ensemble(run_dir, path, beam_width: int | None = None, *,
                        speaker_files=None) -> list[int]:
    """The digits of ``path`` with a run of ``ensemble = K`` > 1: the K members' best strings
    rescored by their mixture (:func:`~glassnet.apps.speech_ctc_ensemble.decode_ensemble`,
    ``combine="strings"``; each member's prefix beam of ``beam_width``, default the
    recipe's); normalised as :func:`~glassnet.apps.speech_ctc.transcribe` does, with
    ``speaker_files`` the voice's other recordings."""
    _check_beam_width(beam_width)
    recipe, stats = read_speech_ctc_run(run_dir)
    if speaker_files and recipe.features != "speaker":
        raise ValueError(f'transcribe(speaker_files=...): the run was trained with '
                         f'features = "{recipe.features}", expected "speaker"')
    models = load_ensemble(member_dirs(run_dir, recipe))[0]
    feats = voice_file_features(recipe, stats, [path, *(speaker_files or [])])
    beam = recipe.beam_width if beam_width is None else beam_width
    return decode_ensemble(models, feats[:1], beam, combine="strings")[0][0]


def other_recordings(path, voice_files) -> list:
    """``voice_files`` without ``path`` itself and without repeats, in order: a shell glob
    such as ``--voice more/*.wav`` may name the file being transcribed, and a recording
    counted twice would weigh twice in the voice's mean/std and in self-training."""
    seen, out = {Path(path).resolve()}, []
    for p in voice_files or []:
        key = Path(p).resolve()
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def cmd_transcribe(args) -> int:
    """``glassnet transcribe RUN_DIR file.wav [--voice more.wav …] [--self-train]``: print
    the digit string."""
    voice = other_recordings(args.file, getattr(args, "voice", None))
    if getattr(args, "self_train", False):
        digits, _ = transcribe_self_trained(args.run_dir, args.file, voice, args.beam,
                                            verbose=True)
    elif read_speech_ctc_run(args.run_dir)[0].ensemble > 1:
        digits = transcribe_ensemble(args.run_dir, args.file, args.beam, speaker_files=voice)
    else:
        digits = transcribe(args.run_dir, args.file, args.beam, speaker_files=voice)
    print("".join(map(str, digits)))
    return 0
