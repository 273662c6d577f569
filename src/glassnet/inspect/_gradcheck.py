"""Gradient check for users: analytic gradients against central differences, in float64.

For a scalar function L(θ) the central difference

    ∂L/∂θ_i ≈ (L(θ + ε·e_i) − L(θ − ε·e_i)) / 2ε

has error O(ε²); in float64 with ε = 1e-6 a correct backward agrees to about 1e-8 relative.
A wrong backward (a missing factor, a transposed matrix, a wrong sign) is off by O(1).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from ..tensor import Tensor, get_rng, no_grad, set_rng_state
from ._hooks import describe

__all__ = ["gradcheck", "GradcheckRecord", "GradcheckResult"]


@dataclass
class GradcheckRecord:
    """One row of the gradient-check table.

    Attributes:
        layer: the layer's name in the model ("" for the model itself, "input" for inputs).
        label: the layer's short description, e.g. ``Linear(2→3)``.
        parameter: the parameter's name ("weight", "bias", "input0", …).
        shape: the parameter's shape.
        checked: how many of its elements were perturbed.
        max_abs_error: max |analytic − numeric| over the checked elements.
        rel_error: max_abs_error / max(|analytic|, |numeric|, atol) — so a gradient that is
            truly zero (a bias before BatchNorm) does not show a relative error of 1.
        passed: whether every checked element is within tolerance.
    """

    layer: str
    label: str
    parameter: str
    shape: tuple
    checked: int
    max_abs_error: float
    rel_error: float
    passed: bool


class GradcheckResult(list):
    """The rows of a gradient check (a list of :class:`GradcheckRecord`).

    Attributes:
        passed: True when every row passed.

    Example:
        >>> result = gn.inspect.gradcheck(layer, x)
        >>> result.passed, print(result)
    """

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self)

    def failures(self) -> list:
        """The rows that failed."""
        return [r for r in self if not r.passed]

    def table(self) -> str:
        """The rows as an aligned text table."""
        head = ("layer", "parameter", "shape", "checked", "max abs error", "rel error", "result")
        rows = [(f"{r.layer} {r.label}".strip(), r.parameter, str(r.shape), str(r.checked),
                 f"{r.max_abs_error:.2e}", f"{r.rel_error:.2e}",
                 "pass" if r.passed else "FAIL") for r in self]
        widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
                  for i, h in enumerate(head)]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        lines = [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
        lines += [fmt.format(*row) for row in rows]
        verdict = "all gradients agree" if self.passed else f"{len(self.failures())} FAILED"
        return "\n".join(lines) + f"\n{verdict}\n"

    def __str__(self) -> str:
        return self.table()


def _as_inputs(inputs) -> list:
    if isinstance(inputs, (tuple, list)) and not (inputs and np.isscalar(inputs[0])):
        return list(inputs)
    return [inputs]


def _to64(x):
    arr = x.array if isinstance(x, Tensor) else np.asarray(x)
    if arr.dtype.kind == "f":
        return Tensor(np.ascontiguousarray(arr, dtype=np.float64), requires_grad=True)
    return Tensor(arr)                                # integer inputs (indices) stay as they are


def _default_loss(out):
    """Σ (output ⊙ R) for a fixed random R, so every output element matters differently."""
    outs = out if isinstance(out, (tuple, list)) else (out,)
    total = None
    for i, o in enumerate(o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"):
        weights = np.random.default_rng(1234 + i).uniform(0.5, 1.5, o.shape)
        term = (o * Tensor(weights.astype(o.array.dtype))).sum()
        total = term if total is None else total + term
    if total is None:
        raise TypeError("gradcheck: the model returned no floating Tensor to differentiate")
    return total


def gradcheck(model_or_layer, inputs, loss_fn=None, *, eps: float = 1e-6, atol: float = 1e-6,
              rtol: float = 1e-4, max_elements: int = 256, check_inputs: bool = True,
              seed: int = 0, verbose: bool = True) -> GradcheckResult:
    """Compare every parameter's (and input's) analytic gradient with central differences.

    The check runs on a float64 deep copy of the model, so the original is untouched.
    Randomness (dropout) is replayed identically for every evaluation.

    Args:
        model_or_layer: a ``gn.nn.Module``.
        inputs: one input or a tuple of inputs (Tensors or arrays); integer inputs are
            passed through but not checked.
        loss_fn: ``loss_fn(output) -> scalar``; default Σ output ⊙ R for a fixed random R.
        eps: the finite-difference step ε.
        atol, rtol: an element passes when |analytic − numeric| ≤ atol + rtol·|numeric|.
        max_elements: at most this many elements per tensor are perturbed (chosen at random
            with ``seed``); the check costs 2 forward passes per element.
        check_inputs: also check the gradients with respect to floating inputs.
        seed: seed for choosing elements.
        verbose: print the table.

    Returns:
        A :class:`GradcheckResult` (list of :class:`GradcheckRecord`, ``.passed``).

    Example:
        >>> result = gn.inspect.gradcheck(gn.nn.Linear(3, 2), gn.randn(4, 3))
        >>> result.passed
        True
    """
    model = copy.deepcopy(model_or_layer).double()
    loss_fn = loss_fn or _default_loss
    xs = [_to64(x) for x in _as_inputs(inputs)]
    rng_state = copy.deepcopy(get_rng().bit_generator.state)

    def loss_value() -> float:
        set_rng_state(copy.deepcopy(rng_state))
        with no_grad():
            return float(loss_fn(model(*xs)).item())

    set_rng_state(copy.deepcopy(rng_state))
    model.zero_grad()
    loss = loss_fn(model(*xs))
    loss.backward()

    owner = {}
    for mname, mod in model.named_modules():
        for pname, p in mod._parameters.items():
            if p is not None and id(p) not in owner:
                owner[id(p)] = (mname, describe(mod), pname)
    targets = [(*owner[id(p)], p) for p in model.parameters()]
    if check_inputs:
        targets += [("input", "", f"input{i}", x) for i, x in enumerate(xs)
                    if x.array.dtype.kind == "f"]

    pick = np.random.default_rng(seed)
    result = GradcheckResult()
    for layer, label, pname, t in targets:
        analytic = t.grad.array if t.grad is not None else np.zeros_like(t.array)
        if not t.array.flags.c_contiguous:              # so that `flat` is a view, not a copy
            t.array = np.ascontiguousarray(t.array)
        flat = t.array.reshape(-1)
        idx = np.arange(flat.size)
        if flat.size > max_elements:
            idx = np.sort(pick.choice(flat.size, max_elements, replace=False))
        numeric = np.empty(idx.size)
        for j, i in enumerate(idx):
            orig = flat[i]
            flat[i] = orig + eps
            up = loss_value()
            flat[i] = orig - eps
            down = loss_value()
            flat[i] = orig
            numeric[j] = (up - down) / (2 * eps)
        a = analytic.reshape(-1)[idx].astype(np.float64)
        err = np.abs(a - numeric)
        scale = max(float(np.abs(a).max(initial=0)), float(np.abs(numeric).max(initial=0)))
        max_err = float(err.max(initial=0))
        result.append(GradcheckRecord(
            layer, label, pname, tuple(t.shape), int(idx.size), max_err,
            max_err / max(scale, atol),
            bool(np.all(err <= atol + rtol * np.abs(numeric)))))
    if verbose:
        print(result.table(), end="")
    return result
