"""The ``speech_ctc`` task as ``glassnet train`` runs it: train the recipe (one model, or a
seed ensemble with ``ensemble = K``), then self-train on each held-out voice
(:func:`~glassnet.apps.speech_ctc_adapt.train_and_adapt`,
:func:`~glassnet.apps.speech_ctc_ensemble.train_ensemble_and_adapt`)."""
from __future__ import annotations

from ..runs import Task, register
from ..runs.common import app_trainer
from .speech_ctc import SpeechCTCRecipe, _note
from .speech_ctc_adapt import train_and_adapt
from .speech_ctc_ensemble import train_ensemble_and_adapt

__all__ = ["train_task"]


def train_task(recipe: SpeechCTCRecipe, run_dir, *, overwrite: bool = False,
               verbose: bool = True) -> dict:
    """Train and self-train as the recipe says (``ensemble`` 1: one model)."""
    run = train_ensemble_and_adapt if recipe.ensemble > 1 else train_and_adapt
    return run(recipe, run_dir, overwrite=overwrite, verbose=verbose)


def _task_note(res: dict, recipe: SpeechCTCRecipe) -> str:
    note = _note(res, recipe)
    if "self_train" in res:
        before = res["test_before_self_train"]["wer"]
        who = f"the {recipe.ensemble} members" if recipe.ensemble > 1 else "the model"
        note += (f"; test WER {before:.4f} (one model) before self-training {who} on "
                 f"{res['test_speaker']}")
    return note


register(Task(name="speech_ctc", summary="connected spoken digits: conv + BiGRU trained with "
              "CTC, self-trained on each new voice (glassnet transcribe RUN x.wav)",
              recipe=SpeechCTCRecipe, train=app_trainer("speech_ctc", train_task, _task_note),
              formats="the Free Spoken Digit recordings (fsdd/recordings under data_dir), joined "
                      "into utterances of 1-7 digits"))
