"""The step just taken, in the course's notation, with the real numbers of the first point of
its mini-batch: ``z = w₁·x₁ + w₂·x₂ + b``, ``a = f(z)``, ``ŷ = σ(z_out)``, the loss, the
output neuron's error ``δ = ∂L/∂z_out``, and ``w ← w − η·∂L/∂w`` for two weights of the first
neuron and one weight of the output neuron.
"""
from __future__ import annotations

import math

__all__ = ["describe_step"]

_F = {"threshold": "step", "sigmoid": "σ", "tanh": "tanh", "relu": "relu"}


def fmt(v: float) -> str:
    """A number as the notation prints it: 4 significant digits, a real minus sign."""
    return f"{v:.4g}".replace("-", "−")


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def describe_step(*, step: int, activation: str, lr: float, linears: list, xb, yb, outs: list,
                  data_loss, penalty, loss, before: list) -> dict:
    """``{"values": {...}, "lines": [...]}`` for the step that just ran.

    Args:
        step: the step's number (1 = the first).
        activation: the hidden layers' activation name.
        lr: the learning rate η of the update.
        linears: the model's Linear layers, after the update (their ``.grad`` still set).
        xb, yb: the batch, (B, 2) and (B,).
        outs: every layer's output on the batch during the step (the last: z_out).
        data_loss, penalty, loss: the step's loss tensors (``penalty`` may be None).
        before: ``[(W, b)]`` copies of each Linear layer's parameters before the update.
    """
    x, y, batch = xb[0], float(yb[0]), len(xb)
    w, b = before[0][0][0], float(before[0][1][0])
    z = float(outs[0].array[0, 0])
    hidden = len(linears) > 1
    a = float(outs[1].array[0, 0]) if hidden else _sigmoid(z)
    z_out = float(outs[-1].array[0, 0])
    y_hat = _sigmoid(z_out)
    delta = (y_hat - y) / batch                       # ∂L/∂z_out of the first point
    picks = [(0, 0, 0, "w₁", "layer 1, neuron 1, from x₁"),
             (0, 0, 1, "w₂", "layer 1, neuron 1, from x₂")]
    if hidden:
        picks.append((len(linears) - 1, 0, 0, "v₁",
                      "output neuron, from neuron 1 of the last hidden layer"))
    updates = [{"name": name, "where": where, "layer": li, "row": r, "col": c,
                "before": float(before[li][0][r, c]),
                "grad": float(linears[li].weight.grad[r, c]),
                "after": float(linears[li].weight.array[r, c])}
               for li, r, c, name, where in picks]
    pen = float(penalty.item()) if penalty is not None else 0.0
    values = {"step": step, "batch": batch, "x": [float(x[0]), float(x[1])], "y": y,
              "w": [float(w[0]), float(w[1])], "b": b, "z": z, "a": a, "z_out": z_out,
              "y_hat": y_hat, "delta_out": delta, "data_loss": float(data_loss.item()),
              "penalty": pen, "loss": float(loss.item()), "lr": lr, "updates": updates}
    f = _F[activation] if hidden else "σ"
    lines = [
        f"step {step}: a batch of B = {batch} points; its first point "
        f"x = ({fmt(x[0])}, {fmt(x[1])}) has label y = {y:g}",
        f"neuron 1 of layer 1: z = w₁·x₁ + w₂·x₂ + b = ({fmt(w[0])})·({fmt(x[0])}) + "
        f"({fmt(w[1])})·({fmt(x[1])}) + ({fmt(b)}) = {fmt(z)}",
        f"a = f(z) = {f}({fmt(z)}) = {fmt(a)}"
        + ("" if hidden else "  (no hidden layer: this neuron is the output ŷ)")
        + ("  (step: forward 1 if z > 0 else 0; backward uses σ′(z) as a surrogate gradient)"
           if hidden and activation == "threshold" else ""),
        f"output: ŷ = σ(z_out) = σ({fmt(z_out)}) = {fmt(y_hat)}",
        f"loss: L = −(1/B)·Σ[y·log ŷ + (1 − y)·log(1 − ŷ)] = {fmt(values['data_loss'])}"
        + (f", + (λ₂/2)·Σw² + λ₁·Σ|w| = {fmt(pen)}  →  L = {fmt(values['loss'])}"
           if penalty is not None else ""),
        f"error of the output neuron for this point: δ = ∂L/∂z_out = (ŷ − y)/B = "
        f"({fmt(y_hat)} − {y:g})/{batch} = {fmt(delta)}",
    ]
    for u in updates:
        n = u["name"]
        lines.append(f"∂L/∂{n} = {fmt(u['grad'])} ({u['where']});  {n} ← {n} − η·∂L/∂{n} = "
                     f"{fmt(u['before'])} − {fmt(lr)}·({fmt(u['grad'])}) = {fmt(u['after'])}")
    return {"values": values, "lines": lines}
