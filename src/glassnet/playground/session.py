"""One learner's training in the playground: its data, network, optimizer and history.

:class:`Session` takes a :class:`~glassnet.playground.config.Config`, trains a
:func:`~glassnet.playground.model.build_model` network with :class:`glassnet.optim.SGD` and
describes itself as JSON-ready dicts (:meth:`Session.snapshot`); :class:`SessionStore`
keeps at most ``max_sessions`` sessions and evicts the least recently used one when a new one
is created.

The loss minimised at each step is

    L = −(1/B)·Σ_i [y_i·log ŷ_i + (1 − y_i)·log(1 − ŷ_i)]  +  (λ₂/2)·Σ w²  +  λ₁·Σ |w|

over a mini-batch of B points, with ŷ = σ(z_out); the sums of the penalties run over the
weights, not the biases. The curves show the first term (the data loss) on the whole training
and test sets.
"""
from __future__ import annotations

import base64
import secrets
import threading
from collections import OrderedDict

import numpy as np

from .. import nn, optim
from ..tensor import Tensor, no_grad
from .config import LIMITS, Config, n_test
from .datasets import PLANE, make_dataset
from .model import build_model, init_model
from .notation import describe_step

__all__ = ["Session", "SessionStore", "SessionNotFound"]


def _heat(values: np.ndarray, lo: float, hi: float) -> dict:
    """A heatmap as bytes 0..255 over [lo, hi] (row 0 = top of the plane), base64 encoded."""
    u = np.nan_to_num(np.clip((values - lo) / max(hi - lo, 1e-12), 0.0, 1.0), nan=0.5)
    return {"lo": float(lo), "hi": float(hi),
            "data": base64.b64encode(np.round(u * 255).astype(np.uint8).tobytes()).decode()}


_RANGES = {"threshold": (0.0, 1.0), "sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


class Session:
    """A network learning one dataset; ``step(n)`` trains, ``snapshot()`` describes it.

    Example:
        >>> s = Session(Config.from_dict({"dataset": "xor", "activation": "tanh"}))
        >>> s.step(300); s.snapshot()["loss"]["train"] < 0.6
        True
    """

    def __init__(self, config: Config):
        self.config = config
        self.lock = threading.Lock()
        rng = np.random.default_rng(config.seed)
        x, y = make_dataset(config.dataset, config.points, config.noise, rng)
        k = n_test(config.points)
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
                before = [(m.weight.array.copy(), m.bias.array.copy()) for m in self._linears()]
            self.optimizer.step()
            self.steps += 1
            if before is not None:
                self.notation = describe_step(
                    step=self.steps, activation=self.config.activation, lr=self.config.lr,
                    linears=self._linears(), xb=xb, yb=yb, outs=outs, data_loss=data_loss,
                    penalty=pen, loss=loss, before=before)
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
        return float(loss), float(np.mean((z.array[:, 0] > 0) == (y > 0.5)))

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
            a = out.array.reshape(g, g, -1)
            top = float(np.nan_to_num(a, nan=0.0, posinf=0.0).max())
            lo, hi = _RANGES.get(act, (0.0, max(top, 1e-6)))
            neurons.append([_heat(a[:, :, j], lo, hi) for j in range(a.shape[2])])
        prob = 1.0 / (1.0 + np.exp(-outs[-1].array.reshape(g, g).astype(np.float64)))
        return _heat(prob, 0.0, 1.0), neurons

    def weights(self) -> list:
        """Every Linear layer's (W, b) as nested lists (for clients of the JSON API)."""
        return [{"W": m.weight.array.tolist(), "b": m.bias.array.tolist()}
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
            self._sessions.move_to_end(sid)                 # now the most recently used
            return self._sessions[sid]

    def delete(self, sid: str) -> None:
        with self._lock:
            if self._sessions.pop(sid, None) is None:
                raise SessionNotFound(sid)
