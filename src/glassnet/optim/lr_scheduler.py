"""Learning-rate schedulers: change each parameter group's ``lr`` once per epoch.

Call ``scheduler.step()`` after the epoch's ``optimizer.step()`` calls (ReduceLROnPlateau:
``scheduler.step(val_loss)``). The sequences match ``torch.optim.lr_scheduler``, including
its recursive ("chainable") formulas, so the learning rates agree to the last bit.

Example:
    >>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> sched = StepLR(opt, step_size=30, gamma=0.1)
    >>> for epoch in range(100):
    ...     train_one_epoch(model, opt)
    ...     sched.step()
"""
from __future__ import annotations

import math
import numbers

from .optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau"]


def _check_optimizer(name: str, optimizer) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{name}(optimizer): expected a glassnet.optim.Optimizer, got "
                        f"{type(optimizer).__name__}")


def _require(name: str, key: str, value, rule: str, ok: bool) -> None:
    if not ok:
        raise ValueError(f"{name}({key}={value!r}): {key} must be {rule}")


def _real(name: str, key: str, value, rule: str, ok=lambda v: True) -> None:
    """TypeError unless ``value`` is a real number; ValueError unless finite and ``ok``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}({key}={value!r}): {key} must be a number, got "
                        f"{type(value).__name__}")
    _require(name, key, value, rule, math.isfinite(value) and ok(value))


class LRScheduler:
    """Base class: records each group's starting ``lr`` and sets new ones on :meth:`step`.

    Subclasses implement :meth:`get_lr`, which returns the next lr of every group given
    ``self.last_epoch`` (already advanced) and the groups' current lrs.

    Args:
        optimizer: the :class:`~glassnet.optim.Optimizer` whose learning rates change.

    Attributes:
        base_lrs: each group's initial lr (also stored as ``group["initial_lr"]``).
        last_epoch: number of :meth:`step` calls so far.
    """

    def __init__(self, optimizer: Optimizer):
        _check_optimizer(type(self).__name__, optimizer)
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def get_lr(self) -> list[float]:
        """The lrs for epoch ``self.last_epoch``; subclasses implement this."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and write the new lrs into the optimizer's parameter groups."""
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The lrs set by the most recent :meth:`step` (or the initial ones)."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Every attribute except the optimizer (plain numbers and lists: JSON-friendly)."""
        return {k: (list(v) if isinstance(v, list) else v)
                for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore attributes saved by :meth:`state_dict`."""
        self.__dict__.update({k: (list(v) if isinstance(v, list) else v)
                              for k, v in state_dict.items()})


class StepLR(LRScheduler):
    r"""Multiply the lr by ``gamma`` every ``step_size`` epochs:
    :math:`\eta_e = \eta_0\,\gamma^{\lfloor e / \text{step\_size} \rfloor}`.

    Args:
        optimizer: wrapped optimizer.
        step_size: period of decay in epochs (int >= 1).
        gamma: multiplicative factor (default 0.1).

    Example:
        >>> sched = StepLR(opt, step_size=30, gamma=0.1)   # 0.1 → 0.01 at epoch 30 → ...
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        _require("StepLR", "step_size", step_size, "an int >= 1",
                 isinstance(step_size, int) and not isinstance(step_size, bool) and step_size >= 1)
        _real("StepLR", "gamma", gamma, "a finite number > 0", lambda g: g > 0)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]


class ExponentialLR(LRScheduler):
    r"""Multiply the lr by ``gamma`` every epoch: :math:`\eta_e = \eta_0\,\gamma^e`.

    Args:
        optimizer: wrapped optimizer.
        gamma: multiplicative factor per epoch.

    Example:
        >>> sched = ExponentialLR(opt, gamma=0.95)
    """

    def __init__(self, optimizer: Optimizer, gamma: float):
        _real("ExponentialLR", "gamma", gamma, "a finite number > 0", lambda g: g > 0)
        self.gamma = gamma
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from the initial lr :math:`\eta_0` down to ``eta_min`` over ``T_max``
    epochs (and back up after that, as in PyTorch):

    .. math::
        \eta_e = \eta_{min} + \tfrac12(\eta_0 - \eta_{min})\left(1 + \cos\frac{e\pi}{T_{max}}\right)

    Computed recursively from the current lr like PyTorch, so it composes with other changes
    to ``group["lr"]``.

    Args:
        optimizer: wrapped optimizer.
        T_max: number of epochs of one half cosine period (int >= 1).
        eta_min: minimum learning rate (default 0).

    Example:
        >>> sched = CosineAnnealingLR(opt, T_max=50, eta_min=1e-5)
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):
        _require("CosineAnnealingLR", "T_max", T_max, "an int >= 1",
                 isinstance(T_max, int) and not isinstance(T_max, bool) and T_max >= 1)
        _real("CosineAnnealingLR", "eta_min", eta_min, "a finite number >= 0",
              lambda v: v >= 0)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        e, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if (e - 1 - T) % (2 * T) == 0:                # leaving a minimum: the ratio would be 0/0
            return [group["lr"] + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base, group in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
                * (group["lr"] - eta_min) + eta_min for group in groups]


class ReduceLROnPlateau(LRScheduler):
    """Reduce the lr by ``factor`` when a metric has stopped improving for ``patience`` epochs.

    Call ``scheduler.step(metric)`` once per epoch with e.g. the validation loss.

    Args:
        optimizer: wrapped optimizer.
        mode: ``"min"`` (lower metric is better) or ``"max"``.
        factor: new_lr = lr * factor (must be < 1; default 0.1).
        patience: number of epochs without improvement tolerated before reducing (default 10).
        threshold: minimum change that counts as an improvement (default 1e-4).
        threshold_mode: ``"rel"`` (better than best * (1 ∓ threshold)) or ``"abs"``
            (better than best ∓ threshold).
        cooldown: epochs to wait after a reduction before counting bad epochs again.
        min_lr: lower bound on the lr, one number or one per parameter group.
        eps: a reduction smaller than eps is skipped (default 1e-8).

    Example:
        >>> sched = ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=3)
        >>> for epoch in range(50):
        ...     sched.step(evaluate(model))
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr=0.0, eps: float = 1e-8):
        name = "ReduceLROnPlateau"
        _check_optimizer(name, optimizer)
        _require(name, "mode", mode, "'min' or 'max'", mode in ("min", "max"))
        _require(name, "threshold_mode", threshold_mode, "'rel' or 'abs'",
                 threshold_mode in ("rel", "abs"))
        _real(name, "factor", factor, "< 1.0 (and >= 0)", lambda f: 0 <= f < 1.0)
        _real(name, "patience", patience, ">= 0", lambda v: v >= 0)
        _real(name, "cooldown", cooldown, ">= 0", lambda v: v >= 0)
        _real(name, "threshold", threshold, "a finite number >= 0", lambda v: v >= 0)
        _real(name, "eps", eps, "a finite number >= 0", lambda v: v >= 0)
        n_groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            _require(name, "min_lr", min_lr, f"one number or {n_groups} (one per group)",
                     len(min_lr) == n_groups)
            self.min_lrs = list(min_lr)
        else:
            self.min_lrs = [min_lr] * n_groups
        for v in self.min_lrs:
            _real(name, "min_lr", v, "a finite number >= 0", lambda m: m >= 0)
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def _is_better(self, a: float, best: float) -> bool:
        if self.threshold_mode == "rel":
            scale = 1.0 - self.threshold if self.mode == "min" else 1.0 + self.threshold
            return a < best * scale if self.mode == "min" else a > best * scale
        return a < best - self.threshold if self.mode == "min" else a > best + self.threshold

    def step(self, metrics) -> None:
        """Record this epoch's metric and reduce the lrs if it has plateaued.

        Args:
            metrics: a number (or a one-element Tensor/array) such as the validation loss.
        """
        current = float(metrics.item() if hasattr(metrics, "item") else metrics)
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0                 # bad epochs during cooldown do not count
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                old_lr = float(group["lr"])
                new_lr = max(old_lr * self.factor, min_lr)
                if old_lr - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
