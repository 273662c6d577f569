"""Pieces of the update rules that Adam, NAdam, RMSprop and Adagrad share, each written once.

Every function works in place on the arrays it is given, in the order of operations of the
matching ``torch.optim`` code, so the optimizers still follow PyTorch bit for bit.
"""
from __future__ import annotations

import numpy as np

from ..backend import xp_of

__all__ = ["betas_pair", "with_grads", "new_state", "decayed_grad", "ema_square_"]


def betas_pair(optimizer: str, betas) -> tuple:
    """``betas`` as a tuple; the range of each is checked with the other hyperparameters."""
    if not isinstance(betas, (tuple, list)):
        raise TypeError(f"{optimizer}(betas={betas!r}): betas must be a pair of numbers "
                        f"(beta1, beta2)")
    return tuple(betas)


def with_grads(optimizer, group: dict):
    """``(p, θ, g, xp, state)`` for each parameter of ``group`` that has a gradient: θ and g
    its and its gradient's arrays, xp their array module, state its (device-following) state."""
    for p in group["params"]:
        if p.grad is None:
            continue
        theta = p.array
        yield p, theta, p.grad.array, xp_of(theta), optimizer._state(p)


def new_state(state: dict, theta: np.ndarray, *zeros: str, **scalars) -> None:
    """A parameter's state before its first step: ``step`` 0, then ``scalars``, then a zero
    array shaped like θ for each name in ``zeros`` (in this order, as PyTorch's)."""
    xp = xp_of(theta)
    state["step"] = 0
    state.update(scalars)
    for name in zeros:
        state[name] = xp.zeros_like(theta)


def decayed_grad(optimizer, p, g: np.ndarray, weight_decay: float, lr: float = 0.0,
                 decoupled: bool = False) -> np.ndarray:
    """Weight decay λ of parameter ``p`` before an update; returns the gradient to use.

    L2 (default): g + λθ, written to the optimizer's scratch slot 1 (``g`` is ``p.grad``,
    left unchanged). Decoupled (AdamW, NAdamW): θ ← (1 − ηλ)θ in place, and ``g`` itself.
    """
    if weight_decay == 0:
        return g
    theta = p.array
    if decoupled:
        theta *= 1.0 - lr * weight_decay
        return g
    d_p = optimizer._scratch(p, 1)
    xp_of(theta).multiply(theta, weight_decay, out=d_p)
    d_p += g
    return d_p


def ema_square_(v: np.ndarray, g: np.ndarray, beta: float, tmp: np.ndarray) -> None:
    """v ← β v + (1 − β) g² in place; ``tmp`` is scratch memory shaped like ``v``."""
    v *= beta
    xp_of(v).multiply(g, 1.0 - beta, out=tmp)
    tmp *= g
    v += tmp
