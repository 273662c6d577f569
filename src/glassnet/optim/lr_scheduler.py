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
import types

from .optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau",
           "MultiStepLR", "LambdaLR", "LinearLR", "OneCycleLR"]


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

    def _set_initial_lrs(self) -> None:
        """Write ``get_lr()`` at epoch 0 into the groups, as PyTorch's constructor does; for
        schedules whose first lr is not the optimizer's (LinearLR, LambdaLR, OneCycleLR)."""
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


def _int(name: str, key: str, value, rule: str, ok=lambda v: True) -> None:
    _require(name, key, value, rule, isinstance(value, (int, numbers.Integral))
             and not isinstance(value, bool) and ok(value))


class MultiStepLR(LRScheduler):
    r"""Multiply the lr by ``gamma`` at each milestone epoch:
    :math:`\eta_e = \eta_0\,\gamma^{\#\{m \in \text{milestones}:\, m \le e\}}`.

    Args:
        optimizer: wrapped optimizer.
        milestones: epoch indices (ints >= 0); one listed twice decays twice.
        gamma: multiplicative factor (default 0.1).

    Example:
        >>> sched = MultiStepLR(opt, milestones=[30, 80], gamma=0.1)  # 0.1, 0.01 at 30, 0.001 at 80
    """

    def __init__(self, optimizer: Optimizer, milestones, gamma: float = 0.1):
        name = "MultiStepLR"
        if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__iter__"):
            raise TypeError(f"{name}(milestones={milestones!r}): expected a list of epoch "
                            f"indices (ints)")
        milestones = list(milestones)
        for m in milestones:
            _int(name, "milestones", m, "an int >= 0 (an epoch index)", lambda v: v >= 0)
        _real(name, "gamma", gamma, "a finite number > 0", lambda g: g > 0)
        self.milestones = sorted(int(m) for m in milestones)
        self.gamma = gamma
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        n = self.milestones.count(self.last_epoch)
        groups = self.optimizer.param_groups
        if not n:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma ** n for group in groups]


class LambdaLR(LRScheduler):
    r"""The lr of epoch e is the initial lr times a function of e:
    :math:`\eta_e = \eta_0 \cdot \lambda(e)` (also at e = 0, from construction on).

    Args:
        optimizer: wrapped optimizer.
        lr_lambda: a function of the epoch (int) returning a factor, or a list of such
            functions, one per parameter group.

    ``state_dict()`` leaves plain functions out (they cannot be saved) and keeps the
    attributes of callable objects, as PyTorch does.

    Example:
        >>> warmup = LambdaLR(opt, lambda e: min(1.0, (e + 1) / 5))   # 5 epochs of warm-up
    """

    def __init__(self, optimizer: Optimizer, lr_lambda):
        name = "LambdaLR"
        _check_optimizer(name, optimizer)
        n_groups = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            _require(name, "lr_lambda", lr_lambda, f"one function or {n_groups} (one per "
                     f"parameter group)", len(lr_lambda) == n_groups)
            fns = list(lr_lambda)
        else:
            fns = [lr_lambda] * n_groups
        for fn in fns:
            if not callable(fn):
                raise TypeError(f"{name}(lr_lambda={fn!r}): expected a function of the epoch, "
                                f"got {type(fn).__name__}")
        self.lr_lambdas = fns
        super().__init__(optimizer)
        self._set_initial_lrs()

    def get_lr(self) -> list[float]:
        lrs = []
        for fn, base in zip(self.lr_lambdas, self.base_lrs, strict=True):
            factor = fn(self.last_epoch)
            if isinstance(factor, bool) or not isinstance(factor, numbers.Real):
                raise TypeError(f"LambdaLR(lr_lambda): lr_lambda({self.last_epoch}) returned "
                                f"{factor!r}, expected a number")
            lrs.append(base * factor)
        return lrs

    def state_dict(self) -> dict:
        state = {k: (list(v) if isinstance(v, list) else v)
                 for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else
                               dict(fn.__dict__) for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        super().load_state_dict(state)
        for fn, attrs in zip(self.lr_lambdas, saved):
            if attrs is not None:
                fn.__dict__.update(attrs)


class LinearLR(LRScheduler):
    r"""Scale the lr by a factor that moves linearly from ``start_factor`` to ``end_factor``
    over ``total_iters`` epochs, then stays (a linear warm-up when start < end):
    :math:`\eta_e = \eta_0\,(f_s + (f_e - f_s)\min(e, T)/T)`.

    Computed recursively from the current lr like PyTorch, so it composes with other
    changes to ``group["lr"]``.

    Args:
        optimizer: wrapped optimizer.
        start_factor: factor at epoch 0, in (0, 1] (default 1/3).
        end_factor: factor from epoch ``total_iters`` on, in [0, 1] (default 1).
        total_iters: length T of the ramp in epochs (int >= 0, default 5).

    Example:
        >>> sched = LinearLR(opt, start_factor=0.1, total_iters=10)  # 10 epochs of warm-up
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5):
        name = "LinearLR"
        _real(name, "start_factor", start_factor, "in (0, 1]", lambda f: 0 < f <= 1)
        _real(name, "end_factor", end_factor, "in [0, 1]", lambda f: 0 <= f <= 1)
        _int(name, "total_iters", total_iters, "an int >= 0", lambda v: v >= 0)
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = int(total_iters)
        super().__init__(optimizer)
        self._set_initial_lrs()

    def get_lr(self) -> list[float]:
        e, T = self.last_epoch, self.total_iters
        fs, fe = self.start_factor, self.end_factor
        groups = self.optimizer.param_groups
        if e == 0:
            return [group["lr"] * fs for group in groups]
        if e > T:
            return [group["lr"] for group in groups]
        return [group["lr"] * (1.0 + (fe - fs) / (T * fs + (e - 1) * (fe - fs)))
                for group in groups]


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy (Smith & Topin, 2018), stepped once per *batch*: the lr climbs from
    ``max_lr / div_factor`` to ``max_lr`` over the first ``pct_start`` of ``total_steps``,
    then anneals to ``max_lr / (div_factor · final_div_factor)``; the momentum (or Adam's
    β1) moves the opposite way, between ``max_momentum`` and ``base_momentum``.

    Each phase anneals from a to b with ``"cos"``: :math:`b + \tfrac{a-b}{2}(1 + \cos\pi p)`
    or ``"linear"``: :math:`a + (b-a)p`, p the fraction of the phase done. With
    ``three_phase`` the lr comes back down to the initial lr symmetrically before a final
    annihilation phase (fast.ai's variant is the default two-phase one).

    Args:
        optimizer: wrapped optimizer.
        max_lr: peak lr, one number or one per parameter group (> 0).
        total_steps: number of :meth:`step` calls of the cycle; or give ``epochs`` and
            ``steps_per_epoch`` (total = their product).
        pct_start: fraction of the cycle spent increasing the lr (float in [0, 1], 0.3).
        anneal_strategy: ``"cos"`` (default) or ``"linear"``.
        cycle_momentum: also cycle ``momentum`` (SGD, RMSprop) or ``betas[0]`` (Adam...).
        base_momentum, max_momentum: momentum bounds (numbers or one per group; 0.85, 0.95).
        div_factor: initial lr = max_lr / div_factor (default 25).
        final_div_factor: final lr = initial lr / final_div_factor (default 1e4).
        three_phase: use the three-phase schedule.

    Stepping more than ``total_steps`` times raises a ValueError.

    Example:
        >>> sched = OneCycleLR(opt, max_lr=0.1, epochs=10, steps_per_epoch=len(loader))
        >>> for epoch in range(10):
        ...     for x, y in loader:
        ...         train_step(x, y); sched.step()
    """

    def __init__(self, optimizer: Optimizer, max_lr, total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False):
        name = "OneCycleLR"
        _check_optimizer(name, optimizer)
        if total_steps is not None:
            _int(name, "total_steps", total_steps, "an int >= 1", lambda v: v >= 1)
            self.total_steps = int(total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            _int(name, "epochs", epochs, "an int >= 1", lambda v: v >= 1)
            _int(name, "steps_per_epoch", steps_per_epoch, "an int >= 1", lambda v: v >= 1)
            self.total_steps = int(epochs) * int(steps_per_epoch)
        else:
            raise ValueError(f"{name}(total_steps={total_steps!r}, epochs={epochs!r}, "
                             f"steps_per_epoch={steps_per_epoch!r}): give total_steps, or "
                             f"epochs and steps_per_epoch")
        _require(name, "pct_start", pct_start, "a float in [0, 1]",
                 isinstance(pct_start, float) and 0 <= pct_start <= 1)
        _require(name, "anneal_strategy", anneal_strategy, "'cos' or 'linear'",
                 anneal_strategy in ("cos", "linear"))
        _real(name, "div_factor", div_factor, "a finite number > 0", lambda v: v > 0)
        _real(name, "final_div_factor", final_div_factor, "a finite number > 0",
              lambda v: v > 0)
        T, n_groups = self.total_steps, len(optimizer.param_groups)
        ends = [pct_start * T - 1, 2 * pct_start * T - 2, T - 1] if three_phase else \
            [pct_start * T - 1, T - 1]
        starts = [0.0] + ends[:-1]
        _require(name, "pct_start", pct_start, f"such that no phase of the {T}-step cycle is "
                 f"empty", all(e != s for s, e in zip(starts, ends)))
        keys = [("initial_lr", "max_lr", "max_momentum", "base_momentum")]
        if three_phase:
            keys += [("max_lr", "initial_lr", "base_momentum", "max_momentum"),
                     ("initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            keys += [("max_lr", "min_lr", "base_momentum", "max_momentum")]
        self._schedule_phases = [
            {"end_step": float(e), "start_lr": k[0], "end_lr": k[1], "start_momentum": k[2],
             "end_momentum": k[3]} for e, k in zip(ends, keys)]
        self.anneal_strategy = anneal_strategy

        max_lrs = self._per_group(name, "max_lr", max_lr, n_groups)
        for group, peak in zip(optimizer.param_groups, max_lrs):
            group["initial_lr"] = peak / div_factor
            group["max_lr"] = peak
            group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"{name}(cycle_momentum=True): {type(optimizer).__name__} has "
                                 f"no momentum or betas to cycle; pass cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            tops = self._per_group(name, "max_momentum", max_momentum, n_groups, ">= 0")
            bottoms = self._per_group(name, "base_momentum", base_momentum, n_groups, ">= 0")
            for group, top, bottom in zip(optimizer.param_groups, tops, bottoms):
                group["max_momentum"], group["base_momentum"] = top, bottom
        super().__init__(optimizer)
        self._set_initial_lrs()

    @staticmethod
    def _per_group(name, key, value, n_groups, rule="> 0"):
        values = list(value) if isinstance(value, (list, tuple)) else [value] * n_groups
        _require(name, key, value, f"one number or {n_groups} (one per parameter group)",
                 len(values) == n_groups)
        for v in values:
            _real(name, key, v, f"a finite number {rule}",
                  (lambda x: x > 0) if rule == "> 0" else (lambda x: x >= 0))
        return values

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: step() called {step} times, more than "
                             f"total_steps={self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end = phase["end_step"]
                if step <= end or i == len(self._schedule_phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]],
                                            pct))
                    momentum = self._anneal(group[phase["start_momentum"]],
                                            group[phase["end_momentum"]], pct) \
                        if self.cycle_momentum else None
                    break
                start = end
            if self.cycle_momentum:
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return lrs
