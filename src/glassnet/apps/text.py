r"""The older ``text`` app: char-LSTM recipes with ``task = "text"`` and the runs they wrote.

Training moved to the ``text_generation`` task (:mod:`glassnet.runs.text_generation`: train /
validation / test parts, early stopping with the best weights kept, a test figure and
baselines, all through :func:`glassnet.train.fit`). A ``task = "text"`` recipe still trains:
:func:`as_text_generation` maps its keys and the run is a ``text_generation`` run.

====================  ==============================================================
``text`` key          ``text_generation`` key
====================  ==============================================================
emb, hidden, layers,  the same
dropout, batch_size,
seq, lr, clip,
eval_every,
val_chars, max_chars,
seed
minutes               max_minutes
steps                 max_steps
val_fraction          the same held-out tail, halved: val_fraction + test_fraction
data_dir              the data root of ``data = "tinyshakespeare/input.txt"``
epochs                refused unless 0 (text_generation counts steps: max_steps)
====================  ==============================================================

Runs this app wrote before (``recipe.toml`` with ``task = "text"``, ``vocab.json``,
``weights.safetensors``) keep working with ``glassnet generate``: they load as a
:class:`~glassnet.runs.text_generation.CharLM` (the same weights).

    glassnet train old_char_lstm.toml --out runs/char_lstm      # trained as text_generation
    glassnet generate runs/old_text_run --prompt "ROMEO:" --length 500
"""
from __future__ import annotations

import dataclasses

from ..runs import Task, TaskRecipe, register
from ..runs.char_lm import CharLSTM, sample
from ..runs.recipe import param
from ..runs.text_generation import (TextGenerationRecipe, load_text_generation_run,
                                    train_text_generation)

__all__ = ["CharLSTM", "TextRecipe", "sample", "as_text_generation", "load_text_run",
           "generate"]

_SAME = ("emb", "hidden", "layers", "dropout", "batch_size", "seq", "lr", "clip", "eval_every",
         "val_chars", "max_chars", "seed")


@dataclasses.dataclass
class TextRecipe(TaskRecipe):
    """Keys of an older ``task = "text"`` recipe (see the module docstring for the mapping).

    Args:
        task: ``"text"``.
        emb, hidden, layers, dropout: :class:`CharLSTM` sizes.
        batch_size, seq: parallel streams and characters per step (truncated BPTT length).
        lr, clip: Adam learning rate and gradient-norm clipping.
        minutes, steps: budgets (0 = none).
        epochs: passes over the training text (0 = none; other values are refused when
            training: the text_generation task counts steps).
        eval_every, val_chars, val_fraction, max_chars, seed: as in text_generation (the
            held-out ``val_fraction`` becomes its validation + test parts).
        data_dir: folder holding ``tinyshakespeare/input.txt``.
    """

    task: str = param("text", choices=("text",))
    emb: int = param(64, ge=1)
    hidden: int = param(512, ge=1)
    layers: int = param(1, ge=1)
    dropout: float = param(0.0, ge=0, lt=1)
    batch_size: int = param(32, ge=1)
    seq: int = param(100, ge=1)
    lr: float = param(0.002, gt=0)
    clip: float = param(5.0, gt=0)
    minutes: float = param(0.0, ge=0)
    steps: int = param(0, ge=0)
    epochs: int = param(0, ge=0)
    eval_every: int = param(200, ge=1)
    val_chars: int = param(30000, ge=0)
    val_fraction: float = param(0.1, gt=0, lt=1)
    max_chars: int = param(0, ge=0)
    seed: int = param(0, ge=0)
    data_dir: str | None = None


def as_text_generation(recipe: TextRecipe) -> TextGenerationRecipe:
    """The ``text_generation`` recipe that trains what ``recipe`` described (module table).

    Raises:
        ValueError: ``epochs`` is set (the new task counts steps, not passes).
    """
    if recipe.epochs:
        raise ValueError(f'recipe: epochs = {recipe.epochs}: task "text" recipes are trained by '
                         f'task "text_generation", which counts steps; set steps (max_steps) '
                         f'instead')
    return TextGenerationRecipe(
        data="tinyshakespeare/input.txt", max_minutes=recipe.minutes, max_steps=recipe.steps,
        val_fraction=recipe.val_fraction / 2, test_fraction=recipe.val_fraction / 2,
        **{k: getattr(recipe, k) for k in _SAME})


def _train_task(recipe, run_dir, *, overwrite=False, verbose=True, data_dir=None) -> dict:
    """``glassnet train`` of a ``task = "text"`` recipe: trained as ``text_generation``."""
    new = as_text_generation(recipe)
    if verbose:
        print('text: task "text" recipes are trained by task "text_generation" now (minutes -> '
              'max_minutes, steps -> max_steps, val_fraction -> validation + test halves)')
    return train_text_generation(new, run_dir, overwrite=overwrite, verbose=verbose,
                                 data_dir=data_dir or recipe.data_dir)


def load_text_run(run_dir):
    """``(model, chars)`` of a run of this app or of ``text_generation``, in eval mode."""
    return load_text_generation_run(run_dir)


def generate(run_dir, prompt: str = "ROMEO:", length: int = 500, temperature: float = 0.8,
             top_k: int | None = None, seed: int | None = None) -> str:
    """Sample from a trained run: ``prompt`` + ``length`` characters (see :func:`sample`).

    Example:
        >>> generate("runs/char_lstm", "ROMEO:", 300, 0.8, seed=0)[:6]
        'ROMEO:'
    """
    model, chars = load_text_run(run_dir)
    return sample(model, chars, prompt, length, temperature, top_k, seed)


register(Task(name="text", summary='older char-LSTM recipes (task = "text"): trained as task '
              'text_generation, the keys mapped', recipe=TextRecipe, train=_train_task,
              formats="Tiny Shakespeare (tinyshakespeare/input.txt under data_dir)"))
