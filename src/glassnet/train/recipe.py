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
import tomllib
from pathlib import Path

from .. import nn, optim
from ..data import DataLoader, get_dataset, random_split
from ..io import CheckpointError, atomic_write_text, load_weights, save_weights
from ..models import PRESETS, build_model
from ..tensor import manual_seed
from .callbacks import (CSVLogger, EarlyStopping, JSONLLogger, LRSchedulerCallback,
                        ModelCheckpoint)
from .loop import evaluate, fit

__all__ = ["Recipe", "train_recipe", "load_run", "recipe_datasets", "setup_run", "check_writable",
           "remove_stale_temporaries", "OPTIMIZERS", "SCHEDULERS"]

OPTIMIZERS = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW,
              "rmsprop": optim.RMSprop}
SCHEDULERS = ("none", "step", "cosine", "plateau")
DATASETS = ("digits", "mnist")


def read_toml(path) -> dict:
    """The table in the recipe file ``path`` (stdlib ``tomllib``).

    Raises:
        FileNotFoundError: no such file. ValueError: not valid UTF-8 TOML. Both name the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"recipe {path}: no such file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"recipe {path}: invalid TOML ({e})") from None


def check_fields(obj, rules) -> None:
    """Type-check a recipe dataclass and apply ``rules`` = [(field, ok, rule text), ...]."""
    for f in dataclasses.fields(obj):
        value, typ = getattr(obj, f.name), str(f.type)
        if value is None and "None" in typ:
            continue
        if typ.startswith("int"):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif typ.startswith("float"):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if ok:
                setattr(obj, f.name, float(value))
        elif typ.startswith("bool"):
            ok = isinstance(value, bool)
        else:
            ok = isinstance(value, str)
        if not ok:
            raise ValueError(f"recipe: {f.name} = {value!r} should be {typ.split(' ')[0]}")
    for name, ok, rule in rules:
        if not ok:
            raise ValueError(f"recipe: {name} = {getattr(obj, name)!r} should be {rule}")



@dataclasses.dataclass
class Recipe:
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

    model: str = "mlp"
    dataset: str = "digits"
    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.0
    weight_decay: float = 0.0
    scheduler: str = "none"
    step_size: int = 10
    gamma: float = 0.1
    dropout: float | None = None
    val_fraction: float = 0.1
    early_stopping: int = 0
    keep_checkpoints: int = 2
    checkpoint_every: int = 0
    seed: int = 0
    data_dir: str | None = None

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first bad key."""
        checks = [("model", self.model in PRESETS, f"one of {sorted(PRESETS)}"),
                  ("dataset", self.dataset in DATASETS, f"one of {list(DATASETS)}"),
                  ("optimizer", self.optimizer in OPTIMIZERS, f"one of {sorted(OPTIMIZERS)}"),
                  ("scheduler", self.scheduler in SCHEDULERS, f"one of {list(SCHEDULERS)}"),
                  ("epochs", self.epochs >= 1, ">= 1"),
                  ("batch_size", self.batch_size >= 1, ">= 1"),
                  ("lr", math.isfinite(self.lr) and self.lr > 0, "> 0"),
                  ("momentum", self.momentum >= 0, ">= 0"),
                  ("weight_decay", self.weight_decay >= 0, ">= 0"),
                  ("step_size", self.step_size >= 1, ">= 1"),
                  ("gamma", 0 < self.gamma <= 1, "in (0, 1]"),
                  ("val_fraction", 0 <= self.val_fraction < 1, "in [0, 1)"),
                  ("early_stopping", self.early_stopping >= 0, ">= 0"),
                  ("keep_checkpoints", self.keep_checkpoints >= 1, ">= 1"),
                  ("checkpoint_every", self.checkpoint_every >= 0, ">= 0"),
                  ("seed", self.seed >= 0, ">= 0")]
        check_fields(self, checks)

    @classmethod
    def from_dict(cls, data: dict, source: str = "recipe") -> "Recipe":
        """Build from a dict, rejecting unknown keys by name."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{source}: unknown key {unknown[0]!r}; expected keys from "
                             f"{sorted(known)}")
        return cls(**data)

    @classmethod
    def from_toml(cls, path) -> "Recipe":
        """Read a recipe TOML file (stdlib ``tomllib``)."""
        return cls.from_dict(read_toml(path), f"recipe {path}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_toml(self) -> str:
        """The recipe as TOML (keys with value None are left out)."""
        lines = ["# glassnet training recipe"]
        for k, v in self.to_dict().items():
            if v is not None:
                lines.append(f"{k} = {json.dumps(v)}")
        return "\n".join(lines) + "\n"


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
