"""Recipes: a flat TOML file that fully describes a training run, and the run directory.

A recipe (``recipes/digits_mlp.toml``)::

    model = "mlp-small"        # a preset from glassnet.models
    dataset = "digits"         # digits | mnist
    epochs = 20
    batch_size = 32
    optimizer = "adam"         # sgd | adam | adamw | rmsprop
    lr = 0.003
    seed = 0

:func:`train_recipe` turns it into data loaders, a model, an optimizer and callbacks,
runs :func:`~glassnet.train.fit`, and fills the run directory::

    RUN_DIR/recipe.toml          the complete recipe (defaults filled in)
    RUN_DIR/metrics.jsonl, .csv  per-epoch history
    RUN_DIR/checkpoints/         epoch-NNNN (last K) and best: resumable checkpoints
    RUN_DIR/weights.safetensors  final weights
    RUN_DIR/run.json             input shape, classes, test metrics, timings
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

from .. import nn, optim
from ..data import DataLoader, get_dataset, random_split
from ..io import CheckpointError, atomic_write_text, load_weights, save_weights
from ..models import PRESETS, build_model
from ..tensor import manual_seed
from .callbacks import (CSVLogger, EarlyStopping, JSONLLogger, LRSchedulerCallback,
                        ModelCheckpoint)
from .loop import evaluate, fit
from .recipe_base import TaskRecipe, param, read_toml  # noqa: F401  (read_toml: re-exported)

__all__ = ["Recipe", "train_recipe", "load_run", "recipe_datasets", "setup_run", "check_writable",
           "remove_stale_temporaries", "OPTIMIZERS", "SCHEDULERS"]

OPTIMIZERS = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW,
              "rmsprop": optim.RMSprop}
SCHEDULERS = ("none", "step", "cosine", "plateau")
DATASETS = ("digits", "mnist")


@dataclasses.dataclass
class Recipe(TaskRecipe):
    """Everything that defines a training run (the keys of a recipe TOML file).

    Args:
        model: preset name (see :data:`glassnet.models.PRESETS`).
        dataset: ``"digits"`` or ``"mnist"``.
        epochs: number of epochs (>= 1).
        batch_size: training batch size (>= 1).
        optimizer: ``"sgd"``, ``"adam"``, ``"adamw"`` or ``"rmsprop"``.
        lr: learning rate (> 0).
        momentum: momentum for sgd/rmsprop.
        weight_decay: weight decay (>= 0).
        scheduler: ``"none"``, ``"step"`` (``step_size``, ``gamma``), ``"cosine"``
            (T_max = epochs) or ``"plateau"`` (on val_loss, ``gamma`` = factor,
            ``step_size`` = patience).
        step_size, gamma: scheduler parameters.
        dropout: dropout of the preset (``None``: the preset's default).
        val_fraction: fraction of the training split held out for validation (0 <= f < 1).
        early_stopping: patience on val_loss (0 = off).
        keep_checkpoints: epoch checkpoints to keep (>= 1).
        checkpoint_every: also checkpoint every N steps inside epochs (0 = only at epoch
            ends; Ctrl-C always checkpoints the step where it stopped).
        seed: seeds the weights, the split and the shuffling.
        data_dir: folder of the dataset files (MNIST); ``None`` = default lookup.
    """

    task: str = param("classification", choices=("classification",))
    model: str = param("mlp", choices=tuple(sorted(PRESETS)))
    dataset: str = param("digits", choices=DATASETS)
    epochs: int = param(10, ge=1)
    batch_size: int = param(64, ge=1)
    optimizer: str = param("adam", choices=tuple(sorted(OPTIMIZERS)))
    lr: float = param(1e-3, gt=0)
    momentum: float = param(0.0, ge=0)
    weight_decay: float = param(0.0, ge=0)
    scheduler: str = param("none", choices=SCHEDULERS)
    step_size: int = param(10, ge=1)
    gamma: float = param(0.1, gt=0, le=1)
    dropout: float | None = param(None, ge=0, lt=1)
    val_fraction: float = param(0.1, ge=0, lt=1)
    early_stopping: int = param(0, ge=0)
    keep_checkpoints: int = param(2, ge=1)
    checkpoint_every: int = param(0, ge=0)
    seed: int = param(0, ge=0)
    data_dir: str | None = None

    def check(self, where):
        if not math.isfinite(self.lr):
            raise ValueError(f"{where}: lr: expected a finite number > 0, got {self.lr!r}")


def recipe_datasets(recipe: Recipe, data_dir=None):
    root = data_dir if data_dir is not None else recipe.data_dir
    if recipe.dataset == "digits":
        root = None                                  # packaged with glassnet
    train = get_dataset(recipe.dataset, root=root, split="train")
    test = get_dataset(recipe.dataset, root=root, split="test")
    return train, test


def setup_run(recipe: Recipe, run_dir: Path, data_dir=None):
    manual_seed(recipe.seed)
    train_full, test = recipe_datasets(recipe, data_dir)
    x, y = train_full.arrays
    input_shape, num_classes = tuple(x.shape[1:]), int(y.max()) + 1
    if recipe.val_fraction > 0:
        train, val = random_split(train_full, [1 - recipe.val_fraction, recipe.val_fraction],
                                  seed=recipe.seed)
    else:
        train, val = train_full, None
    loaders = {"train": DataLoader(train, recipe.batch_size, shuffle=True, seed=recipe.seed),
               "val": DataLoader(val, 512) if val is not None else None,
               "test": DataLoader(test, 512)}
    model = build_model(recipe.model, input_shape, num_classes, dropout=recipe.dropout)
    kwargs = {"lr": recipe.lr, "weight_decay": recipe.weight_decay}
    if recipe.optimizer in ("sgd", "rmsprop"):
        kwargs["momentum"] = recipe.momentum
    opt = OPTIMIZERS[recipe.optimizer](model.parameters(), **kwargs)
    monitor = "val_loss" if val is not None else "loss"
    callbacks = [JSONLLogger(run_dir / "metrics.jsonl"), CSVLogger(run_dir / "metrics.csv"),
                 ModelCheckpoint(run_dir / "checkpoints", monitor=monitor,
                                 keep_last=recipe.keep_checkpoints,
                                 every_n_steps=recipe.checkpoint_every)]
    sched = None
    if recipe.scheduler == "step":
        sched = optim.lr_scheduler.StepLR(opt, recipe.step_size, recipe.gamma)
    elif recipe.scheduler == "cosine":
        sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=recipe.epochs)
    elif recipe.scheduler == "plateau":
        sched = optim.lr_scheduler.ReduceLROnPlateau(opt, factor=recipe.gamma,
                                                      patience=recipe.step_size)
    if sched is not None:
        callbacks.append(LRSchedulerCallback(sched, monitor=monitor
                                             if recipe.scheduler == "plateau" else None))
    if recipe.early_stopping:
        callbacks.append(EarlyStopping(monitor, patience=recipe.early_stopping))
    meta = {"input_shape": list(input_shape), "num_classes": num_classes}
    return model, opt, loaders, callbacks, meta


def check_writable(run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise OSError(f"output directory {run_dir} is not writable ({e.strerror or e})") from None


def remove_stale_temporaries(run_dir: Path) -> None:
    """Delete ``.tmp-*`` files a killed process left beside the run's files."""
    for p in run_dir.glob(".tmp-*"):
        if p.is_file():
            p.unlink(missing_ok=True)


def train_recipe(recipe: Recipe, run_dir, *, resume: bool = False, data_dir=None,
                 verbose: bool = True, callbacks=()) -> dict:
    """Train from a recipe into ``run_dir`` and evaluate on the test split.

    Args:
        recipe: the :class:`Recipe`.
        run_dir: output folder (created); see the module docstring for its contents.
        resume: continue from the newest checkpoint in ``run_dir/checkpoints``.
        data_dir: overrides ``recipe.data_dir`` for this call (not saved).
        verbose: show progress bars.
        callbacks: extra callbacks, e.g. ``[glassnet.inspect.AnomalyGuard()]`` (what
            ``glassnet train --detect-anomaly`` passes): the first NaN/Inf then stops
            training with an ``AnomalyError`` naming the step and the layer.

    Returns:
        The contents of ``run.json``: ``test`` metrics, ``history``, timings, shapes.

    Example:
        >>> res = train_recipe(Recipe.from_toml("recipes/digits_mlp.toml"), "runs/digits")
        >>> res["test"]["accuracy"] > 0.95
        True
    """
    run_dir = Path(run_dir)
    check_writable(run_dir)
    if resume and not (run_dir / "checkpoints").is_dir():
        raise CheckpointError(f"--resume {run_dir}: no checkpoints folder to resume from")
    remove_stale_temporaries(run_dir)
    atomic_write_text(run_dir / "recipe.toml", recipe.to_toml())
    model, opt, loaders, setup_callbacks, meta = setup_run(recipe, run_dir, data_dir)
    callbacks = [*setup_callbacks, *callbacks]
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    history = fit(model, loss_fn, opt, loaders["train"], loaders["val"], epochs=recipe.epochs,
                  callbacks=callbacks, verbose=verbose, recipe=recipe.to_dict(),
                  resume_from=run_dir / "checkpoints" if resume else None)
    seconds = time.perf_counter() - start
    save_weights(model, run_dir / "weights.safetensors")
    test = evaluate(model, loaders["test"], loss_fn)
    result = {**meta, "test": test, "train_seconds": round(seconds, 3),
              "epochs_run": len(history), "history": history.to_dict()}
    atomic_write_text(run_dir / "run.json", json.dumps(result, indent=1))
    return result


def load_run(run_dir, data_dir=None):
    """Rebuild the trained model of a run directory.

    Returns:
        ``(recipe, model, meta)`` with the final weights loaded (model in eval mode).

    Raises:
        FileNotFoundError: ``run_dir`` or one of its files is missing.
        glassnet.io.CheckpointError: the weights are corrupt or do not fit.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory {run_dir}: no such directory")
    recipe = Recipe.from_toml(run_dir / "recipe.toml")
    meta_path = run_dir / "run.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"{meta_path}: missing (the run did not finish)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        shape, classes = tuple(int(d) for d in meta["input_shape"]), int(meta["num_classes"])
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{meta_path}: corrupt ({e})") from None
    model = build_model(recipe.model, shape, classes, dropout=recipe.dropout)
    load_weights(model, run_dir / "weights.safetensors")
    model.eval()
    return recipe, model, meta
