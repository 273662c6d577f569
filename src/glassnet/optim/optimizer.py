"""The :class:`Optimizer` base class: parameter groups, per-parameter state, state dicts.

An optimizer holds ``param_groups`` (a list of dicts, each with a ``"params"`` list and its own
hyperparameters) and ``state`` (a dict from parameter to that parameter's buffers). A subclass
only validates its hyperparameters (:meth:`Optimizer._check`) and writes one readable
:meth:`step` that updates ``p.array`` in place.

Updates avoid per-step allocation: state buffers are created on the first step, and temporary
results go into reusable scratch arrays from :meth:`Optimizer._scratch`. Hyperparameters are
turned into Python floats before use, so a float32 parameter stays float32 (NumPy treats
Python scalars as "weak" and never promotes the array to float64 because of them).
"""
from __future__ import annotations

import numbers

import numpy as np

from glassnet.backend import to_device, xp_of
from glassnet.tensor import Tensor, enable_grad

__all__ = ["Optimizer"]


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of :class:`~glassnet.Tensor` s, or of dicts with a ``"params"`` key
            (a *parameter group*) and optional hyperparameters that override ``defaults``.
        defaults: the default hyperparameters for every group.

    Attributes:
        param_groups: list of dicts ``{"params": [Tensor, ...], "lr": ..., ...}``.
        defaults: the constructor's hyperparameters.
        state: dict mapping each parameter to a dict of its buffers (NumPy arrays, numbers).

    Example:
        >>> opt = SGD([{"params": body.parameters()},
        ...            {"params": head.parameters(), "lr": 1e-3}], lr=1e-2, momentum=0.9)
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict] = {}
        self.param_groups: list[dict] = []
        self._work: dict[tuple, np.ndarray] = {}        # scratch arrays, see _scratch()
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}(params): expected an iterable of Tensors or dicts, got a "
                            f"single Tensor; wrap it in a list")
        groups = list(params)
        if not groups:
            raise ValueError(f"{name}(params): got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"

    # -- parameter groups ------------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyperparameters (missing ones take
        ``defaults``), e.g. to unfreeze layers during fine-tuning.

        Args:
            param_group: dict with ``"params"`` (a Tensor or an iterable of Tensors) and
                optional hyperparameters.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}.add_param_group(param_group): expected a dict, "
                            f"got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError(f"{name}.add_param_group(param_group): missing key 'params'")
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}(params): expected Tensors, got {type(p).__name__}")
        if not params:
            raise ValueError(f"{name}(params): got an empty parameter list")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}(params): a parameter appears twice in one group")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{name}(params): some parameters appear in more than one "
                             f"parameter group")
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check(group)
        self.param_groups.append(group)

    def _check(self, group: dict) -> None:
        """Validate one group's hyperparameters; subclasses extend this."""
        self._require(group, "lr", ">= 0", lambda lr: lr >= 0)

    def _require(self, group: dict, key: str, rule: str, test) -> None:
        """Raise ``ValueError("SGD(lr=-0.1): lr must be >= 0")`` unless ``test(group[key])``;
        raise ``TypeError`` when the value is not a real number."""
        value = group[key]
        where = f"{type(self).__name__}({key}={value!r})"
        if not self._is_number(value):
            raise TypeError(f"{where}: {key} must be a number, got {type(value).__name__}")
        if not test(value):
            raise ValueError(f"{where}: {key} must be {rule}")

    def _require_betas(self, group: dict) -> None:
        """``betas`` must be a pair of numbers (beta1, beta2), each in [0, 1) (Adam family)."""
        betas, name = group["betas"], type(self).__name__
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2
                and all(self._is_number(b) for b in betas)):
            raise ValueError(f"{name}(betas={betas!r}): betas must be a pair of numbers "
                             f"(beta1, beta2)")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{name}(betas={betas!r}): betas[{i}] must be in [0, 1), "
                                 f"got {beta!r}")

    @staticmethod
    def _is_number(x) -> bool:
        return isinstance(x, numbers.Real) and not isinstance(x, bool)

    # -- gradients -------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters.

        Args:
            set_to_none: ``True`` (default) sets ``p.grad = None`` (cheapest: the next backward
                writes a fresh gradient); ``False`` fills the existing gradients with zeros.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.array.fill(0)

    def step(self, closure=None):
        """Update every parameter that has a gradient. Subclasses implement this.

        Args:
            closure: optional callable that re-evaluates the model and returns the loss.

        Returns:
            The closure's loss, or ``None``.
        """
        raise NotImplementedError

    @staticmethod
    def _run_closure(closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # -- scratch memory --------------------------------------------------------------------
    def _scratch(self, p: Tensor, slot: int = 0) -> np.ndarray:
        """A reusable temporary array shaped like ``p.array``.

        Each slot is one flat array per dtype, as large as the largest parameter seen, so
        after the first step no step allocates parameter-sized memory. Arrays from different
        slots never overlap; the same slot is overwritten by the next parameter.
        """
        arr = p.array
        key = (arr.dtype.str, slot) if type(arr) is np.ndarray else \
            (arr.dtype.str, slot, type(arr))             # one set of slots per device
        work = self._work.get(key)
        if work is None or work.size < arr.size:
            work = self._work[key] = xp_of(arr).empty(arr.size, dtype=arr.dtype)
        return work[:arr.size].reshape(arr.shape)

    def _state(self, p: Tensor) -> dict:
        """``p``'s state; its arrays follow ``p`` to its device (after ``model.to(...)``),
        and new state is created by each algorithm with ``xp_of(p.array)``."""
        state = self.state.setdefault(p, {})
        kind = type(p.array)
        seen = self.__dict__.setdefault("_state_kind", {})
        if seen.get(p) is not kind:                 # p was created or moved: check its state
            for key, value in state.items():
                if hasattr(value, "shape") and not isinstance(value, np.generic) \
                        and type(value) is not kind:
                    state[key] = to_device(value, p.device)
            seen[p] = kind
        return state

    # -- state dicts -----------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The optimizer's state as plain data, laid out like PyTorch's.

        Returns:
            ``{"state": {index: {name: ndarray or number}}, "param_groups": [{hyperparameters,
            "params": [index, ...]}]}``. Parameters are numbered in order across all groups.
            Arrays are copies, so later steps do not change a saved state dict; the result can
            be written with safetensors/JSON after flattening.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = {k: (v.copy() if hasattr(v, "shape") and
                                               not isinstance(v, np.generic) else v)
                                           for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load state saved by :meth:`state_dict` (keys may be ints or, after JSON, strings).

        The current parameter groups must match the saved ones in number and sizes. Saved
        hyperparameters (e.g. a scheduler-changed ``lr``) replace the current ones.
        """
        name = type(self).__name__
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved_groups)} "
                             f"parameter groups, the optimizer has {len(self.param_groups)}")
        params = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} has "
                                 f"{len(group['params'])} parameters, the state dict has "
                                 f"{len(saved['params'])}")
            params.update({int(k): p for k, p in zip(saved["params"], group["params"])})
        saved_state = {int(k): v for k, v in state_dict["state"].items()}
        new_state = {}
        for k, entry in saved_state.items():
            if k not in params:
                raise ValueError(f"{name}.load_state_dict: state for parameter {k}, which no "
                                 f"parameter group lists")
            p = params[k]
            new_state[p] = {}
            for key, value in entry.items():
                if value is None or getattr(value, "ndim", None) == 0 or np.isscalar(value):
                    new_state[p][key] = value.item() if hasattr(value, "item") else value
                    continue
                if not hasattr(value, "shape"):
                    value = np.asarray(value)            # a (JSON) list
                arr = to_device(xp_of(value).array(value, dtype=p.array.dtype),  # a copy,
                                p.device)                # on the parameter's device
                if arr.shape != p.array.shape:
                    raise ValueError(f"{name}.load_state_dict: state '{key}' of parameter {k} "
                                     f"has shape {arr.shape}, the parameter has "
                                     f"{p.array.shape}")
                new_state[p][key] = arr
        for group, saved in zip(self.param_groups, saved_groups):
            for key, value in saved.items():
                if key == "params":
                    continue
                if isinstance(self.defaults.get(key), tuple):     # JSON turns tuples into lists
                    value = tuple(value)
                group[key] = value
        self.state = new_state


def lerp_(start: np.ndarray, end: np.ndarray, weight: float, tmp: np.ndarray) -> None:
    """``start += weight * (end - start)`` in place, rounded like ``torch.lerp_``.

    ``tmp`` is scratch memory shaped like ``start`` (it may not alias ``start`` or ``end``).
    """
    xp = xp_of(start)
    xp.subtract(end, start, out=tmp)
    if weight < 0.5:
        tmp *= weight
        start += tmp
    else:                                   # PyTorch's formula for weights >= 0.5
        tmp *= weight - 1.0
        xp.add(end, tmp, out=start)
