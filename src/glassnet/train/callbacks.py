"""Callbacks: everything the fit loop does besides training is a callback.

The loop in :func:`glassnet.train.fit` only calls these hooks, in this order::

    on_train_begin(logs)                     logs: {"epochs", "initial_epoch", "steps_per_epoch"}
      on_epoch_begin(epoch, logs)            epoch: 0-based index; logs: {"lr"}
        on_batch_begin(step, logs)           step: global step; logs: {"batch", "size"}
        on_batch_end(step, logs)             logs: {"batch", "size", "loss", <metric>...}
                                             (loss and metrics: running means over the epoch)
      on_epoch_end(epoch, logs)              logs: {"loss", <metric>, "val_loss",
                                             "val_<metric>", "lr"} (already in the history)
    on_train_end(logs)                       logs: last epoch's logs, plus "stop_reason"
                                             ("completed", "early_stopping", "budget",
                                             "non_finite_loss" or "interrupted")

Before ``on_train_begin``, ``fit`` sets ``callback.context`` to its
:class:`~glassnet.train.FitContext` (model, optimizer, history, ``stop_training`` flag,
``training_state()``…). Callbacks run in ascending ``order`` (stable): schedulers (0) step
before loggers (50) and checkpoints (100), so a checkpoint holds the stepped scheduler.
A callback with state that must survive a resume implements ``state_dict()`` /
``load_state_dict()`` (plain data and NumPy arrays).
"""
from __future__ import annotations

import csv
import io
import json
import math
import sys
from pathlib import Path

import numpy as np

from ..errors import NonFiniteLossError
from ..io import atomic_write_text, save_checkpoint
from ..io.checkpoint import (checkpoint_name, list_checkpoints, recover_checkpoints,
                             remove_checkpoint)

__all__ = ["Callback", "ProgressBar", "EarlyStopping", "LRSchedulerCallback", "CSVLogger",
           "JSONLLogger", "ModelCheckpoint"]


class Callback:
    """Base class: override the hooks you need (each does nothing by default).

    Attributes:
        context: the running :class:`~glassnet.train.FitContext` (set by ``fit``).
        order: sort key; lower runs first in every hook.

    Example:
        >>> class PrintLoss(Callback):
        ...     def on_epoch_end(self, epoch, logs):
        ...         print(epoch, logs["loss"])
    """

    order = 0
    context = None

    def on_train_begin(self, logs):
        """Before the first epoch; logs: ``epochs``, ``initial_epoch``, ``steps_per_epoch``."""

    def on_train_end(self, logs):
        """After the last epoch, also when training stops early or fails; logs: the last
        epoch's logs plus ``stop_reason``."""

    def on_epoch_begin(self, epoch, logs):
        """Before epoch ``epoch`` (0-based); logs: ``lr``."""

    def on_epoch_end(self, epoch, logs):
        """After training and validating epoch ``epoch``; logs: ``loss``, metrics,
        ``val_*``, ``lr`` (already appended to ``context.history``)."""

    def on_batch_begin(self, step, logs):
        """Before optimizer step ``step`` (global, 0-based); logs: ``batch``, ``size``."""

    def on_batch_end(self, step, logs):
        """After the update (``step`` = steps done); logs: ``batch``, ``size``, running
        means of ``loss`` and the metrics over the epoch so far."""

    def state_dict(self) -> dict:
        """State to store in checkpoints (default: none)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` when resuming."""


def _resolve_mode(mode: str, monitor: str, who: str) -> str:
    if mode == "auto":
        return "max" if ("acc" in monitor or monitor.endswith("f1")) else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"{who}(mode={mode!r}): expected 'min', 'max' or 'auto'")
    return mode


def _improved(value, best, mode, min_delta=0.0) -> bool:
    if best is None:
        return math.isfinite(value)
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _fmt(logs: dict, keys) -> dict:
    return {k: f"{logs[k]:.4f}" for k in keys if k in logs}


class ProgressBar(Callback):
    """A tqdm bar per epoch showing the running loss and metrics, then the validation ones.

    Args:
        file: stream for the bars (default ``sys.stderr``).
        disable: turn the bars off.
    """

    order = -100

    def __init__(self, file=None, disable: bool = False):
        self.file, self.disable, self.bar = file, disable, None

    def on_epoch_begin(self, epoch, logs):
        from tqdm.auto import tqdm
        ctx = self.context
        try:
            total = len(ctx.train_data)
        except TypeError:
            total = None
        self.bar = tqdm(total=total, desc=f"Epoch {epoch + 1}/{ctx.epochs}", unit="batch",
                        file=self.file or sys.stderr, disable=self.disable, leave=True,
                        dynamic_ncols=True)

    def on_batch_end(self, step, logs):
        self.bar.update(1)
        if self.bar.n % 10 == 0 or self.bar.n == self.bar.total:
            self.bar.set_postfix(_fmt(logs, ["loss", *self.context.metric_names]),
                                 refresh=False)

    def on_epoch_end(self, epoch, logs):
        if self.bar is not None:
            keys = [k for k in logs if k != "lr"]
            self.bar.set_postfix(_fmt(logs, keys), refresh=False)
            self.bar.close()
            self.bar = None

    def on_train_end(self, logs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class EarlyStopping(Callback):
    """Stop training when a monitored value has not improved for ``patience`` epochs.

    Args:
        monitor: key of the epoch logs (default ``"val_loss"``).
        patience: epochs without improvement before stopping (>= 1).
        mode: ``"min"``, ``"max"`` or ``"auto"`` (max for accuracy-like names).
        min_delta: smallest change that counts as an improvement.
        restore_best: at the end of training, load the weights of the best epoch.

    Example:
        >>> fit(..., callbacks=[EarlyStopping("val_loss", patience=3, restore_best=True)])
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 3, mode: str = "auto",
                 min_delta: float = 0.0, restore_best: bool = False):
        if not isinstance(patience, int) or isinstance(patience, bool) or patience < 1:
            raise ValueError(f"EarlyStopping(patience={patience!r}): expected an int >= 1")
        if min_delta < 0:
            raise ValueError(f"EarlyStopping(min_delta={min_delta!r}): expected >= 0")
        self.monitor, self.patience, self.min_delta = monitor, patience, float(min_delta)
        self.mode = _resolve_mode(mode, monitor, "EarlyStopping")
        self.restore_best = restore_best
        self.best, self.best_epoch, self.wait, self.best_weights = None, None, 0, None
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs):
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping(monitor={self.monitor!r}): not in the epoch logs "
                             f"{sorted(logs)} (no validation data?)")
        value = logs[self.monitor]
        if _improved(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = float(value), epoch, 0
            if self.restore_best:
                self.best_weights = {k: v.copy() for k, v in
                                     self.context.model.state_dict().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.context.stop_training = True

    def on_train_end(self, logs):
        if self.restore_best and self.best_weights is not None:
            self.context.model.load_state_dict(self.best_weights)

    def state_dict(self):
        state = {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}
        if self.best_weights is not None:
            state["best_weights"] = self.best_weights
        return state

    def load_state_dict(self, state):
        self.best, self.best_epoch = state.get("best"), state.get("best_epoch")
        self.wait = int(state.get("wait", 0))
        self.best_weights = state.get("best_weights")


class LRSchedulerCallback(Callback):
    """Step a ``glassnet.optim.lr_scheduler`` scheduler once per epoch.

    Args:
        scheduler: e.g. ``StepLR``, ``CosineAnnealingLR`` or ``ReduceLROnPlateau``.
        monitor: epoch-log key passed to ``scheduler.step(value)``; defaults to
            ``"val_loss"`` (or ``"loss"`` without validation data) for
            ``ReduceLROnPlateau`` and to nothing (``scheduler.step()``) for the others.

    Example:
        >>> sched = gn.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
        >>> fit(..., callbacks=[LRSchedulerCallback(sched)])
    """

    def __init__(self, scheduler, monitor: str | None = None):
        self.scheduler = scheduler
        plateau = type(scheduler).__name__ == "ReduceLROnPlateau"
        self.monitor = monitor if monitor is not None else ("val_loss" if plateau else None)

    def on_epoch_end(self, epoch, logs):
        if self.monitor is None:
            self.scheduler.step()
            return
        key = self.monitor if self.monitor in logs else self.monitor.removeprefix("val_")
        if key not in logs:
            raise ValueError(f"LRSchedulerCallback(monitor={self.monitor!r}): not in the "
                             f"epoch logs {sorted(logs)}")
        self.scheduler.step(logs[key])

    def state_dict(self):
        return {"scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state):
        if "scheduler" in state:
            self.scheduler.load_state_dict(state["scheduler"])


class _FileLogger(Callback):
    """Rewrites its whole file from the history after every epoch (atomic, resume-safe)."""

    order = 50

    def __init__(self, path):
        self.path = Path(path)

    def _render(self, history) -> str:
        raise NotImplementedError

    def _write(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, self._render(self.context.history))

    def on_train_begin(self, logs):
        self._write()

    def on_epoch_end(self, epoch, logs):
        self._write()


class CSVLogger(_FileLogger):
    """Write the per-epoch history to a CSV file (columns: epoch, then every logged key).

    Args:
        path: the ``.csv`` file (rewritten atomically after every epoch).
    """

    def _render(self, history) -> str:
        keys = list(history.history)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["epoch", *keys])
        for i in range(len(history)):
            w.writerow([i + 1, *(repr(float(history.history[k][i])) for k in keys)])
        return buf.getvalue()


class JSONLLogger(_FileLogger):
    """Write the per-epoch history as JSON lines: ``{"epoch": 1, "loss": ..., ...}``.

    Args:
        path: the ``.jsonl`` file (rewritten atomically after every epoch).
    """

    def _render(self, history) -> str:
        lines = []
        for i in range(len(history)):
            row = {"epoch": i + 1, **{k: float(v[i]) for k, v in history.history.items()}}
            lines.append(json.dumps(row))
        return "".join(line + "\n" for line in lines)


class ModelCheckpoint(Callback):
    """Save a full, resumable checkpoint after every epoch; keep the last K and the best.

    Checkpoints go to ``directory/epoch-NNNN`` (NNNN = epochs completed) and, when the
    monitored value improves, to ``directory/best``. With ``every_n_steps`` (and a train
    loader that can restart mid-epoch, like :class:`glassnet.data.DataLoader`) a checkpoint
    ``epoch-NNNN-batch-BBBBB`` is also written every N optimizer steps inside an epoch, and
    the first Ctrl-C writes one at the step where training stopped. Each is written
    atomically by :func:`glassnet.io.save_checkpoint` and holds everything
    ``fit(resume_from=...)`` needs. At the start of training, temporaries left by a killed
    process are tidied (:func:`glassnet.io.recover_checkpoints`).

    Args:
        directory: folder for the checkpoints (``RUN_DIR/checkpoints`` by convention).
        monitor: epoch-log key deciding the best checkpoint (default ``"val_loss"``; if it
            is missing, e.g. without validation data, ``"loss"`` is used).
        mode: ``"min"``, ``"max"`` or ``"auto"``.
        keep_last: how many ``epoch-*`` checkpoints (epoch-end and mid-epoch) to keep (>= 1).
        save_best: also maintain ``directory/best``.
        every_n_steps: also checkpoint every N optimizer steps inside epochs (0 = off).

    Example:
        >>> fit(..., callbacks=[ModelCheckpoint("run/checkpoints", keep_last=2)])
        >>> fit(..., resume_from="run/checkpoints")       # continue later
    """

    order = 100

    def __init__(self, directory, monitor: str = "val_loss", mode: str = "auto",
                 keep_last: int = 2, save_best: bool = True, every_n_steps: int = 0):
        if not isinstance(keep_last, int) or isinstance(keep_last, bool) or keep_last < 1:
            raise ValueError(f"ModelCheckpoint(keep_last={keep_last!r}): expected an int >= 1")
        if (not isinstance(every_n_steps, int) or isinstance(every_n_steps, bool)
                or every_n_steps < 0):
            raise ValueError(f"ModelCheckpoint(every_n_steps={every_n_steps!r}): expected an "
                             f"int >= 0")
        self.directory, self.monitor = Path(directory), monitor
        self.mode = _resolve_mode(mode, monitor, "ModelCheckpoint")
        self.keep_last, self.save_best = keep_last, save_best
        self.every_n_steps = every_n_steps
        self.best, self.best_epoch = None, None
        self.saved_step = None          # global step of the newest checkpoint written
        self.last_saved = None          # its path

    def on_train_begin(self, logs):
        recover_checkpoints(self.directory)

    def _save(self, name: str) -> None:
        ctx = self.context
        for key, value in ctx.model.state_dict().items():
            if value.dtype.kind == "f" and not np.isfinite(value).all():
                raise NonFiniteLossError(
                    f"ModelCheckpoint: '{key}' holds NaN/Inf at epoch {ctx.epoch + 1}, step "
                    f"{ctx.step}; not saved, so the newest checkpoint in {self.directory} is "
                    f"the last good one")
        self.last_saved = save_checkpoint(self.directory / name, ctx.model,
                                          ctx.training_state())
        self.saved_step = ctx.step
        for old in list_checkpoints(self.directory)[:-self.keep_last]:
            remove_checkpoint(old)

    def _save_mid_epoch(self) -> None:
        ctx = self.context
        progress = ctx.progress
        if (progress is None or not 0 < progress["batch"] < len(ctx.train_data)
                or self.saved_step == ctx.step):
            return
        self._save(checkpoint_name(ctx.epoch, progress["batch"]))

    def on_batch_end(self, step, logs):
        if self.every_n_steps and step % self.every_n_steps == 0:
            self._save_mid_epoch()

    def on_epoch_end(self, epoch, logs):
        key = self.monitor if self.monitor in logs else "loss"
        value = logs.get(key)
        improved = self.save_best and value is not None and _improved(value, self.best,
                                                                      self.mode)
        if improved:
            self.best, self.best_epoch = float(value), epoch
        self._save(checkpoint_name(epoch + 1))
        if improved:
            save_checkpoint(self.directory / "best", self.context.model,
                            self.context.training_state())

    def on_train_end(self, logs):
        if logs.get("stop_reason") == "interrupted" and self.context.stopped_cleanly:
            self._save_mid_epoch()

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state):
        self.best, self.best_epoch = state.get("best"), state.get("best_epoch")
