"""The playground's networks: 2 inputs → hidden layers → 1 output logit.

Activations: ``threshold`` (the course's step neuron), ``sigmoid``, ``tanh``, ``relu``. The
output neuron is always ``ŷ = σ(z)`` with the binary cross-entropy loss (the model returns
``z``; :class:`glassnet.nn.BCEWithLogitsLoss` applies σ inside, stably).

The step ``a = 1 if z > 0 else 0`` has derivative 0 everywhere (and none at 0), so no gradient
would reach the layers below it. :class:`Step` uses a **surrogate gradient**: the forward
pass is the exact step, the backward pass uses the derivative of the sigmoid,
``∂a/∂z ≈ σ(z)·(1 − σ(z))``, the step's smooth twin (a sigmoid-shaped straight-through
estimator). In PyTorch the same is ``σ(z) + (step(z) − σ(z)).detach()``.
"""
from __future__ import annotations

import math

import numpy as np

from .. import nn
from ..tensor import Tensor, make

__all__ = ["ACTIVATIONS", "Step", "step", "build_model", "init_model"]


def step(z: Tensor) -> Tensor:
    """a = 1 if z > 0 else 0; backward: ∂a/∂z ≈ σ(z)·(1 − σ(z)) (surrogate gradient)."""
    a = (z.array > 0).astype(z.array.dtype)

    def backward(g):
        s = 1.0 / (1.0 + np.exp(-z.array))
        return (g * (s * (1.0 - s)).astype(g.dtype),)
    return make(a, (z,), backward, "step")


class Step(nn.Module):
    """The threshold (step) neuron a = 1 if z > 0 else 0, trained with σ′(z) as its gradient.

    Shape: input (*) → output (*) of the same shape, values 0 or 1.
    """

    def forward(self, x: Tensor) -> Tensor:
        return step(x)


ACTIVATIONS = {"threshold": Step, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def build_model(hidden: list[int], activation: str) -> nn.Sequential:
    """``Linear(2, h₁), f, Linear(h₁, h₂), f, …, Linear(h_last, 1)`` (``hidden`` may be empty:
    then it is logistic regression). Weights are set by :func:`init_model`.

    Shape: input (N, 2) → output (N, 1), the logit z of class 1.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation {activation!r}: expected one of {', '.join(ACTIVATIONS)}")
    layers, width = [], 2
    for h in hidden:
        layers += [nn.Linear(width, h), ACTIVATIONS[activation]()]
        width = h
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def init_model(model: nn.Sequential, rng: np.random.Generator) -> None:
    """Draw every weight and bias from U(−1/√fan_in, 1/√fan_in), PyTorch's default range,
    with the session's own generator (so sessions never share random state)."""
    for layer in model:
        if isinstance(layer, nn.Linear):
            bound = 1.0 / math.sqrt(layer.in_features)
            layer.weight.array[...] = rng.uniform(-bound, bound, layer.weight.shape)
            layer.bias.array[...] = rng.uniform(-bound, bound, layer.bias.shape)
