"""Model presets by name, used by recipes and the CLI (``glassnet train --model mlp``).

Every preset is an ordinary :class:`glassnet.nn.Sequential`. The MLPs start with
``Flatten``, so they take images (N, C, H, W) as well as flat vectors (N, D); ``cnn`` takes
images only.

| preset      | layers (D = prod(input_shape), K = classes)                        |
|-------------|--------------------------------------------------------------------|
| mlp         | D-512-256-K, ReLU, Dropout(0.2) after each hidden layer             |
| mlp-small   | D-128-64-K, ReLU (for the 8x8 digits: 64-128-64-10, 17,226 params)  |
| linear      | D-K (logistic regression: one layer of neurons)                      |
| cnn         | LeNet-style for images (C, H, W): Conv(C,32,3,p1)-ReLU-MaxPool(2)-    |
|             | Conv(32,64,3,p1)-ReLU-MaxPool(2)-Flatten-Linear(·,128)-ReLU-Dropout(0.25)-K |
"""
from __future__ import annotations

import math

from . import nn

__all__ = ["build_model", "PRESETS"]

#: preset name -> (hidden sizes, default dropout)
PRESETS = {"mlp": ((512, 256), 0.2), "mlp-small": ((128, 64), 0.0), "linear": ((), 0.0),
           "cnn": ((128,), 0.25)}


def build_model(name: str, input_shape, num_classes: int, *,
                dropout: float | None = None) -> nn.Sequential:
    """Build the preset ``name`` for inputs of ``input_shape`` and ``num_classes`` outputs.

    Args:
        name: a key of :data:`PRESETS` (``"mlp"``, ``"mlp-small"``).
        input_shape: shape of one sample without the batch dimension, e.g. ``(1, 28, 28)``.
        num_classes: number of output logits K (>= 1).
        dropout: dropout probability after each hidden layer (default: the preset's).

    Returns:
        A fresh model, initialised from glassnet's global generator (``gn.manual_seed``).

    Example:
        >>> build_model("mlp", (1, 28, 28), 10)[1]
        Linear(in_features=784, out_features=512, bias=True)
    """
    if name not in PRESETS:
        raise ValueError(f"build_model(name): unknown preset {name!r}; expected one of "
                         f"{sorted(PRESETS)}")
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"build_model(num_classes={num_classes!r}): expected an int >= 1")
    hidden, default_p = PRESETS[name]
    p = default_p if dropout is None else float(dropout)
    if not 0.0 <= p < 1.0:
        raise ValueError(f"build_model(dropout={dropout!r}): expected 0 <= dropout < 1")
    if name == "cnn":
        return _cnn(tuple(input_shape), num_classes, p)
    layers = [nn.Flatten()]
    width = int(math.prod(input_shape))
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        if p > 0:
            layers.append(nn.Dropout(p))
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


def _cnn(input_shape: tuple, num_classes: int, p: float) -> nn.Sequential:
    if len(input_shape) != 3 or min(input_shape[1:]) < 4:
        raise ValueError(f"build_model('cnn'): expected images (C, H, W) of at least 4x4, "
                         f"got input shape {input_shape}")
    c, h, w = input_shape
    layers = [nn.Conv2d(c, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
              nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
              nn.Linear(64 * (h // 4) * (w // 4), 128), nn.ReLU()]
    if p > 0:
        layers.append(nn.Dropout(p))
    layers.append(nn.Linear(128, num_classes))
    return nn.Sequential(*layers)
