"""Anomaly guard: stop at the first layer and step where a NaN or Inf appears.

While the guard is active every layer's output is tested after its forward, every gradient
that flows back through a layer's output is tested during backward, and (if an optimizer is
given) every parameter gradient is tested before the update and every parameter after it.
A test is one summation over the array (see ``all_finite``), so the guard costs a few per
cent of a training step.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._hooks import all_finite, describe, tensors_in, watch_forward

__all__ = ["detect_anomaly", "AnomalyError"]


class AnomalyError(RuntimeError):
    """Raised by :func:`detect_anomaly` at the first NaN/Inf.

    Attributes:
        layer: the name of the layer (or parameter) where it appeared.
        step: the training step (the model's forward calls counted from ``start_step``).
        phase: "input", "forward", "backward", "gradient" (before the update) or "update".
    """

    def __init__(self, message: str, *, layer: str, step: int, phase: str):
        super().__init__(message)
        self.layer, self.step, self.phase = layer, step, phase


def _count(arr: np.ndarray) -> str:
    nan, inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
    parts = [f"{nan} NaN" if nan else "", f"{inf} Inf" if inf else ""]
    return " and ".join(p for p in parts if p) + f" among {arr.size} values"


class detect_anomaly:
    """Context manager that raises :class:`AnomalyError` naming the first layer and step where
    a NaN or Inf appears in an activation or a gradient.

    Args:
        model: the ``gn.nn.Module`` to watch.
        optimizer: optional; if given, parameter gradients not already tested during backward
            are tested before each ``optimizer.step()``.
        check_parameters: also test every parameter after each ``optimizer.step()`` (names
            the update that diverged; costs one more pass over the weights). Without it a
            diverged weight is reported by the next forward pass.
        start_step: the number given to the first step (a step = one call of ``model``).

    Attributes:
        step: the current step number.

    Example:
        >>> with gn.inspect.detect_anomaly(model, opt):
        ...     for x, y in loader:
        ...         opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
        AnomalyError: step 41, backward: layer '3' (Linear(128→10)) produced NaN in ∂L/∂weight …
    """

    def __init__(self, model, optimizer=None, *, check_parameters: bool = False,
                 start_step: int = 0):
        self.model, self.optimizer = model, optimizer
        self.after_update = check_parameters
        self.step = start_step - 1
        self._calls = []
        self._seen = set()              # ids of parameters whose gradient backward checked
        self._recent = []               # the input gradients the last layer backward checked
        self._watch = None
        self._saved = []

    # -- installing and removing the checks
    def __enter__(self):
        root = self.model
        self._saved.append((root, "forward", root.__dict__.get("forward")))
        forward = root.forward

        def counted(*args, **kwargs):
            self.step += 1
            self._calls, self._seen = [], set()
            for t in tensors_in(list(args)):
                if not all_finite(t.array):
                    raise AnomalyError(f"step {self.step}, input: the batch given to the model "
                                       f"contains {_count(t.array)}", layer="input",
                                       step=self.step, phase="input")
            return forward(*args, **kwargs)
        object.__setattr__(root, "forward", counted)
        self._watch = watch_forward(root, self._after_layer)
        self._watch.__enter__()
        if self.optimizer is not None:
            opt = self.optimizer
            self._saved.append((opt, "step", opt.__dict__.get("step")))
            step = opt.step

            def checked_step(*args, **kwargs):
                self.check_gradients()
                out = step(*args, **kwargs)
                if self.after_update:
                    self.check_parameters()
                return out
            opt.step = checked_step
        return self

    def __exit__(self, *exc):
        self._watch.__exit__(*exc)
        for obj, attr, prev in reversed(self._saved):
            if prev is None:
                obj.__dict__.pop(attr, None)
            else:
                object.__setattr__(obj, attr, prev)
        self._saved = []
        return False

    # -- forward: each layer's output
    def _after_layer(self, name, module, args, out):
        index = len(self._calls)
        self._calls.append((name, module))
        for t in tensors_in(out):
            if not all_finite(t.array):
                bad = [p for p, v in module._parameters.items()
                       if v is not None and not all_finite(v.array)]
                why = (f"; its parameter(s) {', '.join(bad)} are not finite (diverged at an "
                       f"earlier update? try a lower learning rate)" if bad
                       else "; its input was finite")
                raise AnomalyError(
                    f"step {self.step}, forward: the output of layer '{name}' "
                    f"({describe(module)}) contains {_count(t.array)}{why}",
                    layer=name, step=self.step, phase="forward")
            if t._backward is not None and t.requires_grad:
                t._backward = self._checked_backward(t, t._backward, name, module, index)

    # -- backward: the gradient into and out of each layer's output node
    def _checked_backward(self, out: Tensor, fn, name, module, index):
        params = {id(p): pname for pname, p in module._parameters.items() if p is not None}
        calls, step, seen = self._calls, self.step, self._seen

        def backward(g):
            recent, self._recent = self._recent, []
            if not any(g is r for r in recent) and not all_finite(g):
                after = (f"layer '{calls[index + 1][0]}' ({describe(calls[index + 1][1])})"
                         if index + 1 < len(calls) else "the loss function")
                raise AnomalyError(
                    f"step {step}, backward: the gradient arriving at the output of layer "
                    f"'{name}' ({describe(module)}) contains {_count(g)}; it came from {after}",
                    layer=calls[index + 1][0] if index + 1 < len(calls) else "loss",
                    step=step, phase="backward")
            grads = fn(g)
            for parent, pg in zip(out._parents, grads):
                if pg is not None and not all_finite(pg):
                    what = f"∂L/∂{params[id(parent)]}" if id(parent) in params else "∂L/∂input"
                    raise AnomalyError(
                        f"step {step}, backward: layer '{name}' ({describe(module)}) produced "
                        f"{_count(pg)} in {what}", layer=name, step=step, phase="backward")
                if id(parent) in params:
                    seen.add(id(parent))
                else:
                    self._recent.append(pg)     # arrives next as some layer's incoming g
            return grads
        return backward

    # -- around the optimizer
    def check_gradients(self) -> None:
        """Raise AnomalyError if any parameter gradient holds a NaN/Inf (before an update).

        Gradients that a layer's backward produced directly were checked then and are skipped.
        """
        for pname, p in self.model.named_parameters():
            if p.grad is not None and id(p) not in self._seen and not all_finite(p.grad.array):
                raise AnomalyError(f"step {self.step}, gradient: ∂L/∂{pname} contains "
                                   f"{_count(p.grad.array)} (update skipped)", layer=pname,
                                   step=self.step, phase="gradient")

    def check_parameters(self) -> None:
        """Raise AnomalyError if any parameter holds a NaN/Inf (after an update)."""
        for pname, p in self.model.named_parameters():
            if not all_finite(p.array):
                raise AnomalyError(f"step {self.step}, update: parameter '{pname}' contains "
                                   f"{_count(p.array)} after the optimizer step (learning rate "
                                   f"too high?)", layer=pname, step=self.step, phase="update")
