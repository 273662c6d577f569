"""Gradient clipping, like ``torch.nn.utils.clip_grad_norm_`` and ``clip_grad_value_``.

Both work in place on ``p.grad.array`` of the given parameters and skip parameters whose
``grad`` is ``None``. Call them between ``loss.backward()`` and ``optimizer.step()``.
"""
from __future__ import annotations

import math

import numpy as np

from glassnet.backend import xp_of
from ..ops import same_device
from glassnet.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters, name: str) -> list[np.ndarray]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{name}(parameters): expected Tensors, got {type(p).__name__}")
    return [p.grad.array for p in params if p.grad is not None]


def _norm(x: np.ndarray, norm_type: float) -> np.ndarray:
    """The ``norm_type``-norm of all entries of ``x`` as a 0-d array of x's dtype."""
    flat = x.reshape(-1)
    xp = xp_of(x)
    if norm_type == 2.0:
        return xp.sqrt(xp.dot(flat, flat))
    if norm_type == math.inf:
        return xp.max(xp.abs(flat)) if flat.size else xp.zeros((), x.dtype)
    if norm_type == -math.inf:
        return xp.min(xp.abs(flat)) if flat.size else xp.full((), np.inf, x.dtype)
    if norm_type == 0.0:
        return xp.asarray(xp.count_nonzero(flat), dtype=x.dtype)
    if norm_type == 1.0:
        return xp.sum(xp.abs(flat), dtype=x.dtype)
    return xp.power(xp.sum(xp.abs(flat) ** x.dtype.type(norm_type), dtype=x.dtype),
                    x.dtype.type(1.0 / norm_type))


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    r"""Rescale gradients so that their joint norm is at most ``max_norm``.

    The total norm is the ``norm_type``-norm of the vector of per-parameter gradient norms
    (equal to the norm of all gradients concatenated). Every gradient is multiplied by
    :math:`\min(1, \text{max\_norm} / (\text{total} + 10^{-6}))`.

    Args:
        parameters: a Tensor or an iterable of Tensors (e.g. ``model.parameters()``).
        max_norm: the largest allowed norm.
        norm_type: order of the norm: a positive number, or ``math.inf`` for the max-abs norm.
        error_if_nonfinite: raise ``RuntimeError`` if the total norm is nan or inf.

    Returns:
        The total norm of the gradients before clipping, as a 0-d float32 Tensor.

    Example:
        >>> loss.backward()
        >>> total = clip_grad_norm_(model.parameters(), max_norm=1.0)
        >>> opt.step()
    """
    grads = _grads(parameters, "clip_grad_norm_")
    norm_type, max_norm = float(norm_type), float(max_norm)
    if not grads:
        return Tensor(np.zeros((), np.float32))
    dtype = grads[0].dtype
    xp = xp_of(grads[0])
    same_device("clip_grad_norm_", *(Tensor(g) for g in grads))
    norms = xp.stack([xp.asarray(_norm(g, norm_type), dtype=dtype) for g in grads])
    total = _norm(norms, norm_type).astype(dtype)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is non-finite ({float(total)}), so it cannot be clipped; "
                           f"pass error_if_nonfinite=False to scale by it anyway")
    coef = dtype.type(max_norm) / (total + dtype.type(1e-6))
    coef = xp.minimum(coef, dtype.type(1.0))
    for g in grads:
        g *= coef
    return Tensor(total)


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient entry into ``[-clip_value, clip_value]`` in place.

    Args:
        parameters: a Tensor or an iterable of Tensors.
        clip_value: the largest allowed absolute value of a gradient entry.

    Example:
        >>> loss.backward(); clip_grad_value_(model.parameters(), 0.5); opt.step()
    """
    clip_value = float(clip_value)
    for g in _grads(parameters, "clip_grad_value_"):
        xp_of(g).clip(g, -clip_value, clip_value, out=g)
