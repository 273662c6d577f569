"""The playground's settings (:class:`Config`) and its resource caps (:data:`LIMITS`)."""
from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, field, fields

from .datasets import DATASETS
from .model import ACTIVATIONS

__all__ = ["LIMITS", "TEST_FRACTION", "Config", "n_test"]

LIMITS = {
    "max_layers": 6,            # hidden layers
    "max_neurons": 8,           # per hidden layer
    "min_points": 20,
    "max_points": 1000,
    "max_noise": 0.5,
    "max_lr": 10.0,
    "max_reg": 1.0,             # λ₁ and λ₂
    "max_steps_per_request": 100,
    "max_sessions": 4,
    "max_body_bytes": 16 * 1024,
    "grid": 40,                 # heatmaps are grid × grid samples of the plane
    "history": 1000,            # points kept on the loss curves (older ones thinned)
}
TEST_FRACTION = 0.3


def _bad(name: str, expected: str, value) -> ValueError:
    return ValueError(f"config.{name}: expected {expected}, got {value!r}")


def _number(name: str, value, lo: float, hi: float, *, open_lo: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            not math.isfinite(value) or not (lo < value if open_lo else lo <= value) or \
            value > hi:
        raise _bad(name, f"a number {'>' if open_lo else '>='} {lo} and <= {hi}", value)
    return float(value)


def _int(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or \
            not lo <= value <= hi:
        raise _bad(name, f"an integer from {lo} to {hi}", value)
    return int(value)


def _choice(name: str, value, choices) -> str:
    if value not in choices:
        raise _bad(name, "one of " + ", ".join(choices), value)
    return value


@dataclass
class Config:
    """The playground settings (all validated by :meth:`from_dict`).

    Args:
        dataset: ``circles``, ``xor``, ``spirals`` or ``gaussians``.
        noise: 0 (clean) to 0.5.
        points: number of points, 20 to 1000; 30% of them are the test set.
        hidden: neurons per hidden layer, at most 6 layers of 1 to 8 neurons ([] = none).
        activation: ``threshold``, ``sigmoid``, ``tanh`` or ``relu`` (hidden layers).
        lr: learning rate η, > 0 and <= 10.
        batch_size: points per step, 1 to the size of the training set.
        l2: λ₂ ≥ 0 (penalty (λ₂/2)·Σw²); l1: λ₁ ≥ 0 (penalty λ₁·Σ|w|); both <= 1.
        seed: seeds the points, the first weights and the batches.
    """

    dataset: str = "xor"
    noise: float = 0.0
    points: int = 300
    hidden: list = field(default_factory=lambda: [4, 4])
    activation: str = "tanh"
    lr: float = 0.1
    batch_size: int = 10
    l2: float = 0.0
    l1: float = 0.0
    seed: int = 0

    @classmethod
    def from_dict(cls, d) -> "Config":
        """Defaults overridden by the keys of ``d``; ValueError names any bad key or value."""
        if not isinstance(d, dict):
            raise ValueError(f"config: expected a JSON object, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"config: unknown key(s) {', '.join(map(repr, unknown))}; "
                             f"expected some of {', '.join(sorted(known))}")
        c = cls(**d)
        c.dataset = _choice("dataset", c.dataset, DATASETS)
        c.activation = _choice("activation", c.activation, ACTIVATIONS)
        c.noise = _number("noise", c.noise, 0.0, LIMITS["max_noise"])
        c.points = _int("points", c.points, LIMITS["min_points"], LIMITS["max_points"])
        c.lr = _number("lr", c.lr, 0.0, LIMITS["max_lr"], open_lo=True)
        c.l2 = _number("l2", c.l2, 0.0, LIMITS["max_reg"])
        c.l1 = _number("l1", c.l1, 0.0, LIMITS["max_reg"])
        c.seed = _int("seed", c.seed, 0, 2**31 - 1)
        if not isinstance(c.hidden, list) or len(c.hidden) > LIMITS["max_layers"]:
            raise _bad("hidden", f"a list of at most {LIMITS['max_layers']} layer sizes",
                       c.hidden)
        c.hidden = [_int(f"hidden[{i}]", h, 1, LIMITS["max_neurons"])
                    for i, h in enumerate(c.hidden)]
        c.batch_size = _int("batch_size", c.batch_size, 1, c.points - n_test(c.points))
        return c

    def to_dict(self) -> dict:
        return asdict(self)


def n_test(points: int) -> int:
    """How many of ``points`` are held out as the test set."""
    return int(round(points * TEST_FRACTION))
