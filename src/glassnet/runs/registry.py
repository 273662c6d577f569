"""The task registry: what ``glassnet train RECIPE.toml`` and ``glassnet tasks`` consult.

A task supplies its recipe class, the data formats it reads, and how to train and to
predict; the CLI never needs to know more.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

__all__ = ["Task", "register", "get_task", "tasks"]


@dataclasses.dataclass(frozen=True)
class Task:
    """One task: ``train(recipe, run_dir, verbose) -> run.json record`` and
    ``predict(run_dir, args) -> text`` (the lines ``glassnet predict`` prints)."""

    name: str
    summary: str
    recipe: type
    formats: str
    train: Callable
    predict: Callable | None = None


_TASKS: dict[str, Task] = {}


def register(task: Task) -> Task:
    _TASKS[task.name] = task
    return task


def get_task(name: str) -> Task | None:
    _load()
    return _TASKS.get(name)


def tasks() -> list[Task]:
    _load()
    return [_TASKS[k] for k in sorted(_TASKS)]


def _load() -> None:
    """Import the task modules (each registers itself)."""
    from . import (forecast, image, segmentation, tabular, text_classification,  # noqa: F401
                   text_generation)
    from ..apps import (music, speech, speech_ctc_task, text,  # noqa: F401
                        translation_train, video)
