"""One learner's training in the playground: its settings, data, network and history.

:class:`Config` holds the settings a page sends (validated, with the resource caps in
:data:`LIMITS`); :class:`Session` trains a :func:`~glassnet.playground.model.build_model`
network with :class:`glassnet.optim.SGD` and describes itself as JSON-ready dicts
(:meth:`Session.snapshot`); :class:`SessionStore` keeps at most ``max_sessions`` sessions and
evicts the least recently used one when a new one is created.

The loss minimised at each step is

    L = −(1/B)·Σ_i [y_i·log ŷ_i + (1 − y_i)·log(1 − ŷ_i)]  +  (λ₂/2)·Σ w²  +  λ₁·Σ |w|

over a mini-batch of B points, with ŷ = σ(z_out); the sums of the penalties run over the
weights, not the biases. The curves show the first term (the data loss) on the whole training
and test sets.
"""
from __future__ import annotations

import base64
import math
import numbers
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from .. import nn, optim
from ..tensor import Tensor, no_grad
from .datasets import DATASETS, PLANE, make_dataset
from .model import ACTIVATIONS, build_model, init_model

__all__ = ["LIMITS", "Config", "Session", "SessionStore", "SessionNotFound"]

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
        c.batch_size = _int("batch_size", c.batch_size, 1, c.points - _n_test(c.points))
        return c

    def to_dict(self) -> dict:
        return asdict(self)


def _n_test(points: int) -> int:
    return int(round(points * TEST_FRACTION))


def _heat(values: np.ndarray, lo: float, hi: float) -> dict:
    """A heatmap as bytes 0..255 over [lo, hi] (row 0 = top of the plane), base64 encoded."""
    u = np.nan_to_num(np.clip((values - lo) / max(hi - lo, 1e-12), 0.0, 1.0), nan=0.5)
    return {"lo": float(lo), "hi": float(hi),
            "data": base64.b64encode(np.round(u * 255).astype(np.uint8).tobytes()).decode()}


_RANGES = {"threshold": (0.0, 1.0), "sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
_F = {"threshold": "step(z) = 1 if z > 0 else 0", "sigmoid": "σ(z)", "tanh": "tanh(z)",
      "relu": "relu(z) = max(0, z)"}


def _g(v: float) -> str:
    """A number as the notation prints it: 4 significant digits, a real minus sign."""
    return f"{v:.4g}".replace("-", "−")


class Session:
    """A network learning one dataset; ``step(n)`` trains, ``snapshot()`` describes it.

    Example:
        >>> s = Session(Config.from_dict({"dataset": "xor", "activation": "tanh"}))
        >>> s.step(50); s.snapshot()["loss"]["train"] < 0.69
        True
    """

    def __init__(self, config: Config):
        self.config = config
        self.lock = threading.Lock()
        self.last_used = time.monotonic()
        rng = np.random.default_rng(config.seed)
        x, y = make_dataset(config.dataset, config.points, config.noise, rng)
        k = _n_test(config.points)
        self.x_test, self.y_test, self.x_train, self.y_train = x[:k], y[:k], x[k:], y[k:]
        self._rng = np.random.default_rng([config.seed, 1])   # weights and batches
        self.loss_fn = nn.BCEWithLogitsLoss()
        self.reset()

    def reset(self) -> None:
        """New random weights (drawn from the session's generator), step 0, empty curves."""
        c = self.config
        self.model = build_model(c.hidden, c.activation)
        init_model(self.model, self._rng)
        self.optimizer = optim.SGD(self.model.parameters(), lr=c.lr)
        self.steps, self.epoch, self._order, self._pos = 0, 0, None, 0
        self.history = {"step": [], "train": [], "test": [], "train_acc": [], "test_acc": []}
        self.notation = None
        self._record()

    # -- training -----------------------------------------------------------------------
    def update(self, changes: dict) -> None:
        """Change ``lr``, ``batch_size``, ``l1`` or ``l2`` without restarting the training;
        any other setting needs a new session (ValueError naming it)."""
        live = {"lr", "batch_size", "l1", "l2"}
        if not isinstance(changes, dict) or set(changes) - live:
            fixed = sorted(set(changes) - live) if isinstance(changes, dict) else changes
            raise ValueError(f"config: only {', '.join(sorted(live))} change during training; "
                             f"{fixed!r} need a new session")
        self.config = Config.from_dict({**self.config.to_dict(), **changes})
        for group in self.optimizer.param_groups:
            group["lr"] = self.config.lr

    def _batch(self) -> np.ndarray:
        n = len(self.x_train)
        if self._order is None or self._pos >= n:
            if self._order is not None:
                self.epoch += 1
            self._order, self._pos = self._rng.permutation(n), 0
        idx = self._order[self._pos:self._pos + self.config.batch_size]
        self._pos += self.config.batch_size
        return idx

    def _linears(self) -> list:
        return [m for m in self.model if isinstance(m, nn.Linear)]

    def _weights(self) -> list:
        return [m.weight for m in self._linears()]

    def penalty(self) -> Tensor | None:
        """(λ₂/2)·Σw² + λ₁·Σ|w| over the weights (None when both λ are 0)."""
        c, terms = self.config, []
        for w in self._weights():
            if c.l2:
                terms.append((w * w).sum() * (c.l2 / 2))
            if c.l1:
                terms.append(w.abs().sum() * c.l1)
        if not terms:
            return None
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        return total

    def step(self, n: int = 1) -> None:
        """Train ``n`` mini-batch steps of SGD, then add the losses to the curves.

        The last step is described in the course's notation (``self.notation``)."""
        for i in range(n):
            idx = self._batch()
            xb, yb = self.x_train[idx], self.y_train[idx]
            outs = self._forward(Tensor(xb))
            data_loss = self.loss_fn(outs[-1], Tensor(yb[:, None]))
            pen = self.penalty()
            loss = data_loss if pen is None else data_loss + pen
            self.optimizer.zero_grad()
            loss.backward()
            before = None
            if i == n - 1:                                  # the values the step starts from
                before = [(m.weight.data.copy(), m.bias.data.copy()) for m in self._linears()]
            self.optimizer.step()
            self.steps += 1
            if before is not None:
                self.notation = self._describe(xb, yb, outs, data_loss, pen, loss, before)
        self._record()

    def _forward(self, x: Tensor) -> list:
        """The output of every layer of the model, in order (the last is the logit z)."""
        outs = []
        for layer in self.model:
            x = layer(x)
            outs.append(x)
        return outs

    # -- what the page shows ------------------------------------------------------------
    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """(mean binary cross-entropy, accuracy) of the current network on (x, y)."""
        with no_grad():
            z = self.model(Tensor(x))
            loss = self.loss_fn(z, Tensor(y[:, None])).item()
        return float(loss), float(np.mean((z.data[:, 0] > 0) == (y > 0.5)))

    def _record(self) -> None:
        h = self.history
        tr, tr_acc = self.evaluate(self.x_train, self.y_train)
        te, te_acc = self.evaluate(self.x_test, self.y_test)
        for key, v in zip(h, (self.steps, tr, te, tr_acc, te_acc)):
            h[key].append(v)
        if len(h["step"]) > LIMITS["history"]:             # thin: keep every other, and the last
            for key in h:
                h[key] = h[key][:-1:2] + h[key][-1:]

    def grids(self) -> tuple[dict, list]:
        """ŷ over the plane (the decision boundary) and each hidden neuron's output a."""
        g = LIMITS["grid"]
        ticks = np.linspace(-PLANE, PLANE, g, dtype=np.float32)
        x1, x2 = np.meshgrid(ticks, ticks[::-1])           # row 0 is the top (x₂ = +6)
        plane = np.stack([x1.ravel(), x2.ravel()], axis=1)
        with no_grad():
            outs = self._forward(Tensor(plane))
        act = self.config.activation
        neurons = []
        for layer, out in zip(self.model, outs):
            if isinstance(layer, nn.Linear):
                continue
            a = out.data.reshape(g, g, -1)
            top = float(np.nan_to_num(a, nan=0.0, posinf=0.0).max())
            lo, hi = _RANGES.get(act, (0.0, max(top, 1e-6)))
            neurons.append([_heat(a[:, :, j], lo, hi) for j in range(a.shape[2])])
        prob = 1.0 / (1.0 + np.exp(-outs[-1].data.reshape(g, g).astype(np.float64)))
        return _heat(prob, 0.0, 1.0), neurons

    def _describe(self, xb, yb, outs, data_loss, pen, loss, before) -> dict:
        """The step just taken, for the first point of its batch, with real numbers."""
        layers = self._linears()
        eta, c = self.config.lr, self.config
        x, y = xb[0], float(yb[0])
        w, b = before[0][0][0], float(before[0][1][0])
        z = float(outs[0].data[0, 0])
        hidden = len(layers) > 1
        a = float(outs[1].data[0, 0]) if hidden else 1.0 / (1.0 + math.exp(-z))
        z_out = float(outs[-1].data[0, 0])
        y_hat = 1.0 / (1.0 + math.exp(-z_out))
        picks = [(0, 0, 0, "w₁", "layer 1, neuron 1, from x₁"),
                 (0, 0, 1, "w₂", "layer 1, neuron 1, from x₂")]
        if hidden:
            picks.append((len(layers) - 1, 0, 0, "v₁", "output neuron, from neuron 1 of the "
                          "last hidden layer"))
        updates = []
        for li, r, col, name, where in picks:
            p = layers[li].weight
            updates.append({"name": name, "where": where, "layer": li, "row": r, "col": col,
                            "before": float(before[li][0][r, col]), "grad": float(p.grad[r, col]),
                            "after": float(p.data[r, col])})
        f = "σ(z)" if not hidden else _F[c.activation]
        values = {"step": self.steps, "batch": len(xb), "x": [float(x[0]), float(x[1])],
                  "y": y, "w": [float(w[0]), float(w[1])], "b": b, "z": z, "a": a,
                  "z_out": z_out, "y_hat": y_hat, "data_loss": float(data_loss.item()),
                  "penalty": float(pen.item()) if pen is not None else 0.0,
                  "loss": float(loss.item()), "lr": eta, "updates": updates}
        lines = [
            f"step {self.steps}: a batch of {len(xb)} points; its first point "
            f"x = ({_g(x[0])}, {_g(x[1])}) has label y = {y:g}",
            f"neuron 1 of layer 1: z = w₁·x₁ + w₂·x₂ + b = ({_g(w[0])})·({_g(x[0])}) + "
            f"({_g(w[1])})·({_g(x[1])}) + ({_g(b)}) = {_g(z)}",
            f"a = f(z) = {f.split(' =')[0].replace('z', _g(z))} = {_g(a)}"
            + ("" if hidden else "  (no hidden layer: this is the output ŷ)")
            + ("  (backward uses σ′(z) as a surrogate gradient)"
               if hidden and c.activation == "threshold" else ""),
            f"output: ŷ = σ(z_out) = σ({_g(z_out)}) = {_g(y_hat)}",
            f"loss: L = BCE over the batch {_g(values['data_loss'])}"
            + (f" + penalty (λ₂/2)·Σw² + λ₁·Σ|w| = {_g(values['penalty'])}"
               if pen is not None else "")
            + f"  →  L = {_g(values['loss'])}",
        ]
        for u in updates:
            lines.append(f"∂L/∂{u['name']} = {_g(u['grad'])} ({u['where']});  "
                         f"{u['name']} ← {u['name']} − η·∂L/∂{u['name']} = {_g(u['before'])} − "
                         f"{_g(eta)}·({_g(u['grad'])}) = {_g(u['after'])}")
        return {"values": values, "lines": lines}

    def weights(self) -> list:
        """Every Linear layer's (W, b) as nested lists (for the page's network picture)."""
        return [{"W": m.weight.data.tolist(), "b": m.bias.data.tolist()}
                for m in self._linears()]

    def snapshot(self, points: bool = False) -> dict:
        """Everything the page draws, as a JSON-ready dict (``points``: include the data)."""
        boundary, neurons = self.grids()
        h = self.history
        snap = {"config": self.config.to_dict(), "step": self.steps, "epoch": self.epoch,
                "loss": {"train": h["train"][-1], "test": h["test"][-1]},
                "accuracy": {"train": h["train_acc"][-1], "test": h["test_acc"][-1]},
                "history": {k: h[k] for k in ("step", "train", "test")},
                "boundary": boundary, "neurons": neurons, "weights": self.weights(),
                "notation": self.notation, "grid": LIMITS["grid"], "plane": PLANE}
        if points:
            snap["points"] = {"train": np.column_stack([self.x_train, self.y_train]).tolist(),
                              "test": np.column_stack([self.x_test, self.y_test]).tolist()}
        return snap


class SessionNotFound(KeyError):
    """No session with this id (never created, deleted, or evicted by newer ones)."""


class SessionStore:
    """At most ``max_sessions`` sessions; creating one more evicts the least recently used."""

    def __init__(self, max_sessions: int = LIMITS["max_sessions"]):
        if not isinstance(max_sessions, int) or max_sessions < 1:
            raise ValueError(f"SessionStore(max_sessions={max_sessions!r}): expected an "
                             f"integer >= 1")
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, config: Config) -> tuple[str, Session]:
        session = Session(config)                           # outside the lock: may take ms
        sid = secrets.token_hex(8)
        with self._lock:
            while len(self._sessions) >= self.max_sessions:
                self._sessions.popitem(last=False)
            self._sessions[sid] = session
        return sid, session

    def get(self, sid: str) -> Session:
        with self._lock:
            if sid not in self._sessions:
                raise SessionNotFound(sid)
            self._sessions.move_to_end(sid)
            session = self._sessions[sid]
        session.last_used = time.monotonic()
        return session

    def delete(self, sid: str) -> None:
        with self._lock:
            if self._sessions.pop(sid, None) is None:
                raise SessionNotFound(sid)
