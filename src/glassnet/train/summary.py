"""A Keras-like model summary: one row per layer with its output shape and parameters."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor, no_grad
from .device import model_device

__all__ = ["summary"]


def _shape_str(out) -> str:
    if isinstance(out, Tensor):
        return str(("N",) + tuple(out.shape[1:])).replace("'", "")
    if isinstance(out, (tuple, list)):
        return ", ".join(_shape_str(o) for o in out)
    return type(out).__name__


def summary(model, input_shape, *, dtype=np.float32, print_fn=print) -> str:
    """Print and return a table of ``model``'s layers, output shapes and parameter counts.

    The model runs once (eval mode, no gradients) on a zero batch of two samples; each
    layer's output shape is recorded in call order, with ``N`` for the batch dimension.
    Rows are the leaf modules and any module that owns parameters directly.

    Args:
        model: a :class:`glassnet.nn.Module`.
        input_shape: shape of ONE sample, without the batch dimension, e.g. ``(1, 28, 28)``.
        dtype: dtype of the dummy input (default float32).
        print_fn: called with the table (``None`` to only return it).

    Returns:
        The table as a string (also printed).

    Example:
        >>> summary(nn.Sequential(nn.Flatten(), nn.Linear(64, 10)), (1, 8, 8))
        Layer (type)           Output shape       Param #
        ...
        Total params: 650
    """
    input_shape = tuple(int(d) for d in input_shape)
    rows, patched = [], []
    for name, mod in model.named_modules():
        own = [p for p in mod._parameters.values() if p is not None]
        if mod is model and list(mod.children()):
            continue
        if list(mod.children()) and not own:
            continue

        def wrapped(*args, _mod=mod, _name=name, _forward=mod.forward, **kwargs):
            out = _forward(*args, **kwargs)
            n = sum(int(p.array.size) for p in _mod._parameters.values() if p is not None)
            rows.append((f"{_name or 'model'} ({type(_mod).__name__})", _shape_str(out), n))
            return out

        object.__setattr__(mod, "forward", wrapped)
        patched.append(mod)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            model(Tensor(np.zeros((2,) + input_shape, dtype=dtype)).to(model_device(model)))
    finally:
        for mod in patched:
            del mod.__dict__["forward"]
        model.train(was_training)
    total = sum(int(p.array.size) for p in model.parameters())
    trainable = sum(int(p.array.size) for p in model.parameters() if p.requires_grad)
    w1 = max([len("Layer (type)")] + [len(r[0]) for r in rows]) + 2
    w2 = max([len("Output shape")] + [len(r[1]) for r in rows]) + 2
    w3 = max([len("Param #")] + [len(f"{r[2]:,}") for r in rows])
    rule = "=" * (w1 + w2 + w3)
    lines = [f"Model: {type(model).__name__}", rule,
             f"{'Layer (type)':<{w1}}{'Output shape':<{w2}}{'Param #':>{w3}}", rule]
    lines += [f"{a:<{w1}}{b:<{w2}}{c:>{w3},}" for a, b, c in rows]
    lines += [rule, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}", rule]
    text = "\n".join(lines)
    if print_fn is not None:
        print_fn(text)
    return text
