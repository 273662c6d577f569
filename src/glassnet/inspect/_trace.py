"""One real training step, recorded layer by layer in the course's notation.

:func:`trace` runs forward, loss, backward and the optimizer's update on the model itself
(its weights change exactly as in training) and returns a :class:`Trace`: a list of
:class:`TraceRecord` s, one per layer and phase, that prints as text and renders as
Markdown or HTML.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..tensor import Tensor, tensor
from ._hooks import describe, tensors_in, watch_forward
from .notation import (backward_notation, forward_notation, layer_role, loss_grad_notation,
                       loss_notation, update_notation)

__all__ = ["trace", "Trace", "TraceRecord"]


@dataclass
class TraceRecord:
    """One line of a trace.

    Attributes:
        phase: "forward", "loss", "backward" or "update".
        layer: the module's name in the model ("0", "encoder.fc"; "" for the model itself,
            "loss" for the loss, or the parameter name in the update phase).
        kind: the class name ("Linear", "ReLU", "MSELoss", "SGD").
        label: a short description such as ``Linear(2→3)``.
        notation: the formula in the course's notation.
        shapes: name → shape of each tensor involved.
        stats: name → {"mean", "std", "min", "max", "norm"} (and "value" for scalars).
        values: name → the actual NumPy array, for small networks only (else empty).
    """

    phase: str
    layer: str
    kind: str
    label: str
    notation: str
    shapes: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)


class Trace(list):
    """The records of one traced step (a list), with renderings.

    Attributes:
        loss: the loss value before the update (a float).
        show_values: whether the records carry the actual numbers.

    Example:
        >>> t = gn.inspect.trace(model, x, y, gn.nn.MSELoss(), opt)
        >>> print(t)                  # text in the course's notation
        >>> [r.layer for r in t if r.phase == "backward"]
    """

    def __init__(self, records=(), loss: float = float("nan"), show_values: bool = False):
        super().__init__(records)
        self.loss = loss
        self.show_values = show_values

    def phase(self, name: str) -> list:
        """The records of one phase ("forward", "loss", "backward", "update")."""
        return [r for r in self if r.phase == name]

    def to_text(self, phases=None) -> str:
        """Plain text with one block per layer; ``phases`` (e.g. ``["forward"]``) selects
        the sections."""
        from .render import to_text
        return to_text(self, phases)

    def to_markdown(self, phases=None) -> str:
        """Markdown: a section per phase, a table of shapes and statistics per layer."""
        from .render import to_markdown
        return to_markdown(self, phases)

    def to_html(self, standalone: bool = True, phases=None) -> str:
        """HTML; a complete page when ``standalone``, else a fragment."""
        from .render import to_html
        return to_html(self, standalone=standalone, phases=phases)

    def _repr_html_(self) -> str:
        """The notebook display: :meth:`to_html` as a fragment."""
        return self.to_html(standalone=False)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        """One line (the records are a list; ``print(trace)`` shows the step)."""
        from .render import summary_line
        return f"<Trace: {summary_line(self)}; {len(self)} records, print() it to read them>"


def _stats(arr: np.ndarray) -> dict:
    a = np.asarray(arr, dtype=np.float64)
    if a.size == 1:
        return {"value": float(a.reshape(()))}
    if a.size == 0:
        return {}
    return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()),
            "max": float(a.max()), "norm": float(np.sqrt((a * a).sum()))}


def _as_tensor(v):
    return v if isinstance(v, Tensor) else tensor(v)


def trace(model, x, y, loss_fn, optimizer=None, *, show_values: bool | None = None,
          input_grad: bool = False, max_params: int = 100, max_inputs: int = 32) -> Trace:
    """Run ONE training step of ``model`` and record every stage of it.

    The step is real: ``optimizer.zero_grad()``, ``ŷ = model(x)``, ``L = loss_fn(ŷ, y)``,
    ``L.backward()``, ``optimizer.step()``. Afterwards the model's weights are the same as
    after an ordinary training step.

    Args:
        model: a ``gn.nn.Module``.
        x: the input batch (Tensor or array).
        y: the targets (Tensor or array; integer class indices stay integers).
        loss_fn: a loss module or function ``loss_fn(ŷ, y) -> scalar Tensor``.
        optimizer: an optimizer over ``model.parameters()``; ``None`` skips the update.
        show_values: keep the actual numbers in the records; by default only when the
            model has at most ``max_params`` parameters and ``x`` at most ``max_inputs``
            elements (a network small enough to check by hand).
        input_grad: also record ∂L/∂x for the model's input (in the first layer's backward
            record), e.g. to watch gradients vanish over the time steps of an RNN.
        max_params, max_inputs: the limits of that default.

    Returns:
        A :class:`Trace` (a list of :class:`TraceRecord`).

    Example:
        >>> model = gn.nn.Sequential(gn.nn.Linear(2, 3), gn.nn.ReLU(), gn.nn.Linear(3, 1))
        >>> opt = gn.optim.SGD(model.parameters(), lr=0.1)
        >>> print(gn.inspect.trace(model, [[1., 2.]], [[1.]], gn.nn.MSELoss(), opt))
    """
    x, y = _as_tensor(x), _as_tensor(y)
    if input_grad:
        x = Tensor(x.array, requires_grad=True)
    if show_values is None:
        show_values = model.num_parameters() <= max_params and x.array.size <= max_inputs
    calls = []                                  # (name, module, args, output) in call order

    def on_call(name, module, args, out):
        calls.append((name, module, args, out))
        for t in tensors_in(out):
            if t.requires_grad:
                t.retain_grad()

    if optimizer is not None:
        optimizer.zero_grad()
    else:
        model.zero_grad()
    with watch_forward(model, on_call):
        out = model(x)
    y_hat = tensors_in(out)[0]
    if y_hat.requires_grad:
        y_hat.retain_grad()
    loss = loss_fn(out, y)
    loss_value = float(loss.item())
    loss.backward()

    records = Trace(loss=loss_value, show_values=show_values)
    keep = (lambda d: d) if show_values else (lambda d: {})
    for name, module, args, o in calls:
        records.append(_forward_record(name, module, args, o, keep))
    records.append(_loss_record(loss_fn, y_hat, y, loss_value, keep))
    for name, module, args, o in reversed(calls):
        rec = _backward_record(name, module, args, o, keep)
        if rec is not None:
            records.append(rec)
    if optimizer is not None:
        records.extend(_update_records(model, optimizer, keep))
    return records


def _arrays(args, out):
    ins = [t for t in tensors_in(list(args))]
    outs = tensors_in(out)
    return ins, outs


def _forward_record(name, module, args, out, keep) -> TraceRecord:
    ins, outs = _arrays(args, out)
    role = layer_role(module)
    in_sym, out_sym = ("z", "a") if role in ("activation", "pool", "dropout") else ("x", "z")
    if role == "reshape":
        in_sym, out_sym = "x", "a"
    if role == "recurrent":
        in_sym, out_sym = "x", "h"
    tensors = {}
    if ins:
        tensors[in_sym] = ins[0].array
    for pname, p in module._parameters.items():
        if p is not None:
            tensors[_sym(pname, role)] = p.array
    if outs:
        tensors[out_sym] = outs[0].array
    for i, extra in enumerate(outs[1:], start=1):
        tensors[f"{out_sym}_n" if i == 1 else f"{out_sym}_{i}"] = extra.array
    return TraceRecord("forward", name, type(module).__name__, describe(module),
                       forward_notation(module),
                       shapes={k: tuple(v.shape) for k, v in tensors.items()},
                       stats={k: _stats(v) for k, v in tensors.items()},
                       values=keep({k: v.copy() for k, v in tensors.items()}))


def _sym(pname: str, role: str = "dense") -> str:
    """The course's letter for a parameter: W and b; γ and β for normalisation; E for an
    embedding table; other names unchanged (``weight_hh_l0``)."""
    if role == "norm":
        return {"weight": "γ", "bias": "β"}.get(pname, pname)
    if role == "embedding" and pname == "weight":
        return "E"
    return {"weight": "W", "bias": "b"}.get(pname, pname)


def _loss_record(loss_fn, y_hat, y, value, keep) -> TraceRecord:
    short, formula = loss_notation(loss_fn)
    kind = getattr(loss_fn, "__name__", None) or type(loss_fn).__name__
    notation = f"{formula} = {value:.6g}"
    tensors = {"ŷ": y_hat.array, "y": y.array}
    if y_hat.grad is not None:
        tensors["∂L/∂ŷ"] = y_hat.grad.array
        notation += "\n" + loss_grad_notation(loss_fn)
    per_sample = _class_targets(y_hat.array, y.array)
    stats = {k: _stats(v) for k, v in tensors.items()}
    if per_sample:                      # the mean of class labels means nothing: show them
        del stats["y"]
    rec = TraceRecord("loss", "loss", kind, short, notation,
                      shapes={k: tuple(v.shape) for k, v in tensors.items()},
                      stats=stats,
                      values=keep({k: np.array(v, copy=True) for k, v in tensors.items()}))
    rec.values.update(per_sample)
    rec.shapes.update({k: tuple(v.shape) for k, v in per_sample.items()})
    rec.stats[short] = {"value": value}
    return rec


def _class_targets(logits, y) -> dict:
    """For class-index targets (N,) and scores (N, K), per sample (first 16): the true
    class, the predicted class, the softmax probability of the true class and its
    −log — the numbers a cross-entropy step is made of. Empty otherwise."""
    from ..backend import to_host
    logits, y = to_host(logits), to_host(y)
    if (y.dtype.kind not in "iu" or logits.ndim != 2 or y.ndim != 1
            or len(y) != len(logits) or not len(y)):
        return {}
    n = min(len(y), 16)
    z = logits[:n].astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    cls = np.clip(y[:n].astype(np.int64), 0, logits.shape[1] - 1)
    p_true = p[np.arange(n), cls]
    return {"y (true class)": y[:n].copy(), "predicted class": p.argmax(axis=1),
            "p(true class)": p_true, "−log p(true class)": -np.log(np.maximum(p_true, 1e-300))}


def _backward_record(name, module, args, out, keep) -> TraceRecord | None:
    ins, outs = _arrays(args, out)
    role = layer_role(module)
    out_sym = "a" if role in ("activation", "pool", "dropout", "reshape") else "z"
    in_sym = "z" if role in ("activation", "pool", "dropout") else "x"
    tensors = {}
    if outs and outs[0].grad is not None:
        key = "δ = ∂L/∂z" if out_sym == "z" else "∂L/∂a"
        if role == "recurrent":
            key = "∂L/∂h"
        tensors[key] = outs[0].grad.array
    for pname, p in module._parameters.items():
        if p is not None and p.grad is not None:
            tensors[f"∂L/∂{_sym(pname, role)}"] = p.grad.array
    if ins and ins[0].grad is not None:
        tensors[f"∂L/∂{in_sym}"] = ins[0].grad.array
    if not tensors:
        return None
    return TraceRecord("backward", name, type(module).__name__, describe(module),
                       backward_notation(module),
                       shapes={k: tuple(v.shape) for k, v in tensors.items()},
                       stats={k: _stats(v) for k, v in tensors.items()},
                       values=keep({k: v.copy() for k, v in tensors.items()}))


def _update_records(model, optimizer, keep) -> list:
    names = {id(p): n for n, p in model.named_parameters()}
    roles = {id(p): layer_role(m) for _, m in model.named_modules()
             for p in m._parameters.values() if p is not None}
    groups = []
    before = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            if p.grad is not None:
                before[id(p)] = p.array.copy()
                groups.append((group, p))
    optimizer.step()
    records = []
    for group, p in groups:
        name = names.get(id(p), f"param{len(records)}")
        sym = _sym(name.rsplit(".", 1)[-1], roles.get(id(p), "dense"))
        old, new = before[id(p)], p.array
        delta = new.astype(np.float64) - old
        change = float(np.sqrt((delta * delta).sum()))
        size = float(np.sqrt((old.astype(np.float64) ** 2).sum()))
        lr = group.get("lr")
        rule = update_notation(optimizer, group, sym)
        rel = f" ({100 * change / size:.3g}% of ‖{sym}‖)" if size else ""
        rule += f"\n‖Δ{sym}‖ = {change:.4g}{rel}"
        rec = TraceRecord("update", name, type(optimizer).__name__,
                          f"{type(optimizer).__name__}(η={lr:g})" if lr is not None else "",
                          rule, shapes={sym: tuple(old.shape)},
                          stats={"‖Δ‖": {"value": change},
                                 "max |Δ|": {"value": float(np.abs(delta).max(initial=0.0))},
                                 f"‖Δ‖/‖{sym}‖": {"value": change / size if size else float("inf")},
                                 "η": {"value": float(lr) if lr is not None else float("nan")}},
                          values=keep({f"{sym} before": old, f"∂L/∂{sym}": p.grad.array.copy(),
                                       f"{sym} after": new.copy(),
                                       f"Δ{sym}": delta.astype(old.dtype)}))
        records.append(rec)
    return records
