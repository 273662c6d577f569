"""The training loop: :func:`fit`, :func:`evaluate`, :func:`predict` and :class:`History`.

``fit`` runs epochs of mini-batch gradient descent and calls the documented callback hooks
(see :mod:`glassnet.train.callbacks`); progress bars, early stopping, learning-rate
schedules, logs and checkpoints are all callbacks. With ``resume_from`` it restores a
checkpoint written by :class:`~glassnet.train.ModelCheckpoint` — weights, optimizer and
callback state, the glassnet and data-loader RNG states, history and counters — so a run
interrupted after epoch k and resumed ends bit-identical to an uninterrupted run.
"""
from __future__ import annotations

import contextlib
import contextvars
import copy
import math
import signal
import threading
import time

import numpy as np

from ..backend import to_host
from ..errors import NonFiniteLossError
from ..io import load_checkpoint
from ..tensor import Tensor, get_rng, no_grad, set_rng_state
from .callbacks import Callback, ProgressBar
from .device import model_device, to_model_device
from .metrics import get_metric

__all__ = ["fit", "evaluate", "predict", "History", "FitContext", "NonFiniteLossError",
           "extra_callbacks"]

_EXTRA = contextvars.ContextVar("fit_extra_callbacks", default=())


@contextlib.contextmanager
def extra_callbacks(*factories):
    """Inside the block, every :func:`fit` also runs ``factory()`` for each factory (a
    callback class or a function making one), a fresh callback per fit — how
    ``glassnet train --detect-anomaly`` adds ``AnomalyGuard`` to the fits of any task.

    Example:
        >>> with extra_callbacks(AnomalyGuard):
        ...     train_forecast(recipe, "runs/f")       # every model it fits is guarded
    """
    token = _EXTRA.set(_EXTRA.get() + tuple(factories))
    try:
        yield
    finally:
        _EXTRA.reset(token)


class History:
    """Per-epoch values: ``history["loss"][e]`` is the training loss of epoch ``e + 1``.

    Attributes:
        history: ``{key: [value per epoch]}`` with keys ``loss``, each metric, ``val_loss``,
            ``val_<metric>`` (with validation data) and ``lr``.

    Example:
        >>> hist = fit(model, loss_fn, opt, train_loader, val_loader, epochs=3)
        >>> hist["val_accuracy"][-1]
    """

    def __init__(self, history: dict | None = None):
        self.history = {k: list(v) for k, v in (history or {}).items()}

    def append(self, logs: dict) -> None:
        for k, v in logs.items():
            self.history.setdefault(k, []).append(float(v))

    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def keys(self):
        return self.history.keys()

    def __len__(self):
        return max((len(v) for v in self.history.values()), default=0)

    def to_dict(self) -> dict:
        return {k: list(v) for k, v in self.history.items()}

    def __repr__(self):
        last = {k: round(v[-1], 4) for k, v in self.history.items() if v}
        return f"History(epochs={len(self)}, last={last})"


class FitContext:
    """What callbacks see as ``self.context`` while :func:`fit` runs.

    Attributes:
        model, loss_fn, optimizer, train_data, val_data: the arguments of ``fit``.
        epochs: total number of epochs; epoch: index of the running epoch (0-based).
        step: global optimizer steps so far; history: the :class:`History`.
        metric_names: names of the metrics; callbacks: the sorted callback list.
        stop_training: set it to ``True`` to end training after the current epoch.
        recipe: the ``recipe`` passed to ``fit`` (stored in checkpoints).
        progress: inside an epoch, ``{"batch", "seen", "loss_sum", "metric_sums"}`` after
            the last finished step (what a mid-epoch checkpoint stores); ``None`` between
            epochs.
        interrupt_requested: set by the first Ctrl-C; ``fit`` stops after the running step.
        stopped_cleanly: ``fit`` stopped between steps (the state is consistent to save).
        max_steps, deadline: the step budget and the ``time.perf_counter()`` deadline of
            ``fit`` (``None``: no budget); see :meth:`budget_spent`.
    """

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)
        self.stop_training = False
        self.progress = None
        self.interrupt_requested = self.stopped_cleanly = False

    def budget_spent(self) -> bool:
        """Whether ``fit``'s ``max_steps`` or ``max_seconds`` budget is used up."""
        return ((self.max_steps is not None and self.step >= self.max_steps)
                or (self.deadline is not None and time.perf_counter() >= self.deadline))

    def can_resume_mid_epoch(self) -> bool:
        """Whether the train data can restart inside an epoch (a loader with state and a
        length, e.g. :class:`glassnet.data.DataLoader`)."""
        data = self.train_data
        return hasattr(data, "state_dict") and hasattr(data, "__len__")

    def callback_states(self) -> dict:
        """``{"<ClassName>:<k>": callback.state_dict()}`` for every callback (``k`` counts
        callbacks of the same class, so adding a ProgressBar does not shift the keys)."""
        return dict(zip(self._callback_keys(), (cb.state_dict() for cb in self.callbacks)))

    def _callback_keys(self) -> list[str]:
        counts, keys = {}, []
        for cb in self.callbacks:
            name = type(cb).__name__
            keys.append(f"{name}:{counts.get(name, 0)}")
            counts[name] = counts.get(name, 0) + 1
        return keys

    def training_state(self) -> dict:
        """Everything besides the weights that exact resume needs (plain data + arrays)."""
        loaders = {}
        for name in ("train", "val"):
            loader = getattr(self, f"{name}_data")
            if hasattr(loader, "state_dict"):
                loaders[name] = loader.state_dict()
        where = {"epoch": self.epoch + 1}
        if self.progress is not None:            # mid-epoch: `epoch` epochs done, plus more
            where = {"epoch": self.epoch, "in_epoch": dict(self.progress)}
        return {**where, "step": self.step,
                "optimizer": self.optimizer.state_dict(),
                "rng": {"glassnet": copy.deepcopy(get_rng().bit_generator.state)},
                "loaders": loaders, "callbacks": self.callback_states(),
                "history": self.history.to_dict(), "recipe": self.recipe}


def _split_batch(batch, where: str):
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch
    n = len(batch) if hasattr(batch, '__len__') else '?'
    raise ValueError(f"{where}: expected batches (inputs, targets), got "
                     f"{type(batch).__name__} of length {n}")


def _batch_size(x) -> int:
    """Samples in a batch's inputs; for inputs that are a tuple (e.g. ``(ids, lengths)``),
    those of its first element."""
    if isinstance(x, (tuple, list)) and x:
        return _batch_size(x[0])
    return int(x.shape[0]) if getattr(x, "ndim", 0) else 1


def _restore(ctx: FitContext, resume_from) -> int:
    ckpt = load_checkpoint(resume_from, ctx.model)
    st = ctx.state = ckpt.state
    ctx.optimizer.load_state_dict(st["optimizer"])
    set_rng_state(st["rng"]["glassnet"])
    for name, state in st.get("loaders", {}).items():
        loader = getattr(ctx, f"{name}_data")
        if loader is not None and hasattr(loader, "load_state_dict"):
            loader.load_state_dict(state)
    saved = st.get("callbacks", {})
    for key, cb in zip(ctx._callback_keys(), ctx.callbacks):
        if key in saved:
            cb.load_state_dict(saved[key])
    ctx.history = History(st.get("history"))
    ctx.step = int(st["step"])
    ctx.resume_progress = st.get("in_epoch")
    return int(st["epoch"])


def _stop_cleanly(ctx):
    """Stop after a finished step (``ctx.stopped_cleanly`` tells checkpoints the state is
    consistent)."""
    ctx.stopped_cleanly = True
    raise KeyboardInterrupt


class _DeferredInterrupt:
    """While active (main thread only), the first Ctrl-C only sets
    ``ctx.interrupt_requested``; ``fit`` stops after the running step, so checkpoints hold a
    consistent state. A second Ctrl-C raises KeyboardInterrupt at once."""

    def __init__(self, ctx):
        self.ctx, self.previous = ctx, None

    def _handler(self, signum, frame):
        if self.ctx.interrupt_requested:
            raise KeyboardInterrupt
        self.ctx.interrupt_requested = True

    def __enter__(self):
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self.previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def fit(model, loss_fn, optimizer, train_data, val_data=None, *, epochs: int = 1,
        metrics="auto", callbacks=(), verbose: bool = True, resume_from=None,
        recipe: dict | None = None, max_steps: int | None = None,
        max_seconds: float | None = None) -> History:
    """Train ``model`` for ``epochs`` epochs and return the per-epoch :class:`History`.

    Each epoch: ``model.train()``; for each batch ``(x, y)``: ``optimizer.zero_grad()``,
    ``loss = loss_fn(model(x), y)``, ``loss.backward()``, ``optimizer.step()`` (batches are
    moved to the model's device first, so a CPU DataLoader feeds a ``model.to("cuda")``);
    then, with ``val_data``, :func:`evaluate` (``model.eval()`` under ``no_grad``). A NaN/Inf
    loss stops training with :class:`NonFiniteLossError` before the bad update is applied. The first
    Ctrl-C (SIGINT) stops after the running step: callbacks see ``stop_reason ==
    "interrupted"`` (:class:`ModelCheckpoint` then saves that step) and ``fit`` raises
    KeyboardInterrupt.

    Args:
        model: a :class:`glassnet.nn.Module`.
        loss_fn: ``loss_fn(output, target) -> scalar Tensor`` (e.g. ``nn.CrossEntropyLoss()``).
        optimizer: a ``glassnet.optim`` optimizer over ``model.parameters()``.
        train_data: iterable of ``(inputs, targets)`` batches, usually a
            :class:`glassnet.data.DataLoader` (its shuffling state is checkpointed).
        val_data: optional iterable of validation batches.
        epochs: total number of epochs (when resuming, the count includes finished ones).
        metrics: names from :data:`glassnet.train.metrics.METRICS` or callables
            ``f(output, target) -> float``; ``"auto"`` (default): accuracy for a
            classification loss (cross-entropy, NLL, BCE), none otherwise.
        callbacks: :class:`Callback` objects (see :mod:`glassnet.train.callbacks`).
        verbose: add a :class:`ProgressBar` unless ``callbacks`` already has one.
        resume_from: a checkpoint directory, or a directory of ``epoch-NNNN`` checkpoints
            (the newest is used), to continue from; a mid-epoch checkpoint continues at
            the next batch of that epoch.
        recipe: plain data describing the run, stored in every checkpoint.
        max_steps: budget of optimizer steps in all (counting restored ones); the epoch that
            reaches it ends after that step, is validated, and training stops
            (``stop_reason == "budget"``).
        max_seconds: budget of wall-clock seconds of this call, checked after each step
            like ``max_steps``.

    Returns:
        The :class:`History` (including epochs restored from ``resume_from``).

    Raises:
        NonFiniteLossError: the loss became NaN or Inf (message names epoch and step).
        glassnet.io.CheckpointError: ``resume_from`` is missing, corrupt or does not fit.

    Example:
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
        >>> opt = gn.optim.Adam(model.parameters(), lr=1e-2)
        >>> hist = fit(model, nn.CrossEntropyLoss(), opt, train_loader, val_loader, epochs=5)
        >>> hist["val_accuracy"][-1] > 0.9
        True
    """
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
        raise ValueError(f"fit(epochs={epochs!r}): expected an int >= 0")
    if max_steps is not None and (not isinstance(max_steps, int) or isinstance(max_steps, bool)
                                  or max_steps < 1):
        raise ValueError(f"fit(max_steps={max_steps!r}): expected an int >= 1 or None")
    if max_seconds is not None and not max_seconds > 0:
        raise ValueError(f"fit(max_seconds={max_seconds!r}): expected a number > 0 or None")
    metrics = _auto_metrics(metrics, loss_fn)
    metric_fns = [get_metric(m) for m in metrics]
    cbs = list(callbacks) + [make() for make in _EXTRA.get()]
    for cb in cbs:
        if not isinstance(cb, Callback):
            raise TypeError(f"fit(callbacks): expected Callback objects, got "
                            f"{type(cb).__name__}")
    if verbose and not any(isinstance(cb, ProgressBar) for cb in cbs):
        cbs.append(ProgressBar())
    cbs.sort(key=lambda cb: cb.order)
    ctx = FitContext(model=model, loss_fn=loss_fn, optimizer=optimizer, train_data=train_data,
                     val_data=val_data, epochs=epochs, epoch=0, step=0, history=History(),
                     metric_names=[n for n, _ in metric_fns], callbacks=cbs, recipe=recipe,
                     max_steps=max_steps, deadline=None if max_seconds is None
                     else time.perf_counter() + max_seconds)
    for cb in cbs:
        cb.context = ctx
    ctx.resume_progress = None
    initial_epoch = _restore(ctx, resume_from) if resume_from is not None else 0

    def hook(name, *args):
        for cb in cbs:
            getattr(cb, name)(*args)

    try:
        steps = len(train_data)
    except TypeError:
        steps = None
    logs = {}
    hook("on_train_begin", {"epochs": epochs, "initial_epoch": initial_epoch,
                            "steps_per_epoch": steps})
    reason = "completed"
    try:
        with _DeferredInterrupt(ctx):
            for epoch in range(initial_epoch, epochs):
                ctx.epoch = epoch
                lr = float(optimizer.param_groups[0]["lr"])
                hook("on_epoch_begin", epoch, {"lr": lr})
                logs = _train_epoch(ctx, metric_fns, hook)
                if val_data is not None:
                    val = evaluate(model, val_data, loss_fn, [f for f in metrics])
                    logs.update({f"val_{k}": v for k, v in val.items()})
                logs["lr"] = lr
                ctx.history.append(logs)
                ctx.progress = None
                hook("on_epoch_end", epoch, dict(logs))
                if ctx.interrupt_requested:
                    _stop_cleanly(ctx)
                if ctx.stop_training:
                    reason = "early_stopping"
                    break
                if ctx.budget_spent():
                    reason = "budget"
                    break
    except NonFiniteLossError:
        reason = "non_finite_loss"
        raise
    except KeyboardInterrupt:
        reason = "interrupted"
        raise
    except Exception:
        reason = "error"
        raise
    finally:
        hook("on_train_end", {**logs, "stop_reason": reason})
    return ctx.history


def _train_epoch(ctx: FitContext, metric_fns, hook) -> dict:
    model, optimizer, loss_fn = ctx.model, ctx.optimizer, ctx.loss_fn
    model.train()
    resumed, ctx.resume_progress = ctx.resume_progress, None
    if resumed is not None:                      # continue a mid-epoch checkpoint exactly
        first, seen, loss_sum = resumed["batch"], resumed["seen"], resumed["loss_sum"]
        metric_sums = list(resumed["metric_sums"])
    else:
        first, seen, loss_sum, metric_sums = 0, 0, 0.0, [0.0] * len(metric_fns)
    mid_epoch = ctx.can_resume_mid_epoch()
    last = len(ctx.train_data) if mid_epoch else None
    ctx.progress = ({"batch": first, "seen": seen, "loss_sum": loss_sum,
                     "metric_sums": list(metric_sums)} if mid_epoch else None)
    device = model_device(model)                 # batches follow the model (e.g. to "cuda")
    for batch_index, batch in enumerate(ctx.train_data, start=first):
        x, y = to_model_device(_split_batch(batch, "fit(train_data)"), device)
        n = _batch_size(x)
        hook("on_batch_begin", ctx.step, {"batch": batch_index, "size": n})
        optimizer.zero_grad()
        output = model(x)
        loss = loss_fn(output, y)
        value = float(loss.item())
        if not math.isfinite(value):
            raise NonFiniteLossError(
                f"fit: the loss became {value} at epoch {ctx.epoch + 1}, step {ctx.step + 1} "
                f"(batch {batch_index + 1} of the epoch); training stopped before applying "
                f"this update. Try a lower learning rate, or find the first NaN/Inf with "
                f"--detect-anomaly (glassnet.inspect.detect_anomaly)")
        loss.backward()
        optimizer.step()
        ctx.step += 1
        seen += n
        loss_sum += value * n
        batch_logs = {"batch": batch_index, "size": n, "loss": loss_sum / seen}
        for i, (name, fn) in enumerate(metric_fns):
            metric_sums[i] += fn(output.array, y) * n
            batch_logs[name] = metric_sums[i] / seen
        if mid_epoch:
            ctx.progress = {"batch": batch_index + 1, "seen": seen, "loss_sum": loss_sum,
                            "metric_sums": list(metric_sums)}
        hook("on_batch_end", ctx.step, batch_logs)
        if ctx.interrupt_requested and batch_index + 1 != last:
            _stop_cleanly(ctx)
        if ctx.budget_spent():                   # end the epoch here; fit validates, stops
            break
    if seen == 0:
        raise ValueError("fit(train_data): produced no batches")
    logs = {"loss": loss_sum / seen}
    logs.update({name: metric_sums[i] / seen for i, (name, _) in enumerate(metric_fns)})
    return logs


CLASSIFICATION_LOSSES = ("CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
                         "cross_entropy", "nll_loss", "binary_cross_entropy",
                         "binary_cross_entropy_with_logits")


def _auto_metrics(metrics, loss_fn):
    """``"auto"``: accuracy for a classification loss (or no loss), nothing otherwise."""
    if isinstance(metrics, str) and metrics == "auto":
        name = getattr(loss_fn, "__name__", None) or type(loss_fn).__name__
        return ("accuracy",) if loss_fn is None or name in CLASSIFICATION_LOSSES else ()
    return tuple(metrics)


def evaluate(model, data, loss_fn=None, metrics="auto") -> dict:
    """Mean loss and metrics of ``model`` over ``data``, in eval mode and without gradients.

    Args:
        model: a :class:`glassnet.nn.Module` (its train/eval mode is restored afterwards).
        data: iterable of ``(inputs, targets)`` batches (e.g. a DataLoader).
        loss_fn: optional loss; adds ``"loss"`` to the result.
        metrics: metric names or callables, or ``"auto"`` (see :func:`fit`).

    Returns:
        ``{"loss": ..., "<metric>": ...}``: means over all samples (batches weighted by size).

    Example:
        >>> evaluate(model, test_loader, nn.CrossEntropyLoss())
        {'loss': 0.071, 'accuracy': 0.978}
    """
    metric_fns = [get_metric(m) for m in _auto_metrics(metrics, loss_fn)]
    was_training = getattr(model, "training", False)
    model.eval()
    seen, loss_sum = 0, 0.0
    sums = [0.0] * len(metric_fns)
    device = model_device(model)
    try:
        with no_grad():
            for batch in data:
                x, y = to_model_device(_split_batch(batch, "evaluate(data)"), device)
                n = _batch_size(x)
                output = model(x)
                if loss_fn is not None:
                    loss_sum += float(loss_fn(output, y).item()) * n
                for i, (_, fn) in enumerate(metric_fns):
                    sums[i] += fn(output.array, y) * n
                seen += n
    finally:
        model.train(was_training)
    if seen == 0:
        raise ValueError("evaluate(data): produced no batches")
    out = {"loss": loss_sum / seen} if loss_fn is not None else {}
    out.update({name: sums[i] / seen for i, (name, _) in enumerate(metric_fns)})
    return out


def predict(model, data, batch_size: int = 256) -> np.ndarray:
    """Model outputs for ``data``, in eval mode without gradients, as one NumPy array.

    Args:
        model: a :class:`glassnet.nn.Module`.
        data: an array or Tensor of inputs (N, *) — split into batches of ``batch_size`` —
            or an iterable of batches (a DataLoader; of a batch tuple only the first element,
            the inputs, is used).
        batch_size: batch size for array input (>= 1).

    Returns:
        The concatenated outputs, shape (N, *out).

    Example:
        >>> predict(model, x_test).argmax(axis=1)[:5]
        array([7, 2, 1, 0, 4])
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"predict(batch_size={batch_size!r}): expected an int >= 1")
    if isinstance(data, (np.ndarray, Tensor)):
        arr = data.array if isinstance(data, Tensor) else data
        batches = (Tensor(arr[i:i + batch_size]) for i in range(0, len(arr), batch_size))
    else:
        batches = (b[0] if isinstance(b, (tuple, list)) else b for b in data)
    was_training = getattr(model, "training", False)
    model.eval()
    outs = []
    device = model_device(model)
    try:
        with no_grad():
            for x in batches:
                outs.append(to_host(model(to_model_device(x, device)).array))
    finally:
        model.train(was_training)
    if not outs:
        raise ValueError("predict(data): no inputs")
    return np.concatenate(outs, axis=0)
