"""Adagrad (Duchi, Hazan & Singer, 2011): a per-coordinate lr shrinking with past gradients."""
from __future__ import annotations

from ._update import decayed_grad, with_grads
from .optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad, with the same update as ``torch.optim.Adagrad``.

    For each parameter :math:`\theta` with gradient :math:`g` at step :math:`t = 1, 2, \dots`:

    .. math::
        g &\leftarrow g + \lambda\,\theta                    &&\text{(weight decay)} \\
        \tilde\eta &= \eta / (1 + (t-1)\,\delta)             &&\text{(lr decay)} \\
        s_t &= s_{t-1} + g^2 \\
        \theta &\leftarrow \theta - \tilde\eta\, g / (\sqrt{s_t} + \epsilon)

    Coordinates that have seen large gradients take small steps; rare ones keep large steps.
    The sum only grows, so the steps shrink for good (RMSprop and Adam forget instead).

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: learning rate :math:`\eta` (>= 0, default 1e-2).
        lr_decay: :math:`\delta` (>= 0, default 0).
        weight_decay: L2 penalty :math:`\lambda` (>= 0, default 0).
        initial_accumulator_value: starting value of :math:`s` (>= 0, default 0).
        eps: :math:`\epsilon` added to the denominator (>= 0, default 1e-10).

    State per parameter: ``step`` (int), ``sum`` (:math:`s`).

    Example:
        >>> opt = Adagrad(model.parameters(), lr=0.1)
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(params, defaults)

    def _check(self, group: dict) -> None:
        super()._check(group)
        for key in ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            self._require(group, key, ">= 0", lambda v: v >= 0)

    def step(self, closure=None):
        """Apply one Adagrad update to every parameter that has a gradient."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, lr_decay, eps = float(group["lr"]), float(group["lr_decay"]), float(group["eps"])
            weight_decay = float(group["weight_decay"])
            for p, theta, g, xp, state in with_grads(self, group):
                if not state:
                    state["step"] = 0
                    state["sum"] = xp.full_like(theta, group["initial_accumulator_value"])
                state["step"] += 1
                tmp = self._scratch(p, 0)

                g = decayed_grad(self, p, g, weight_decay)   # g ← g + λθ
                clr = lr / (1 + (state["step"] - 1) * lr_decay)

                s = state["sum"]                             # s ← s + g²
                xp.multiply(g, g, out=tmp)
                s += tmp
                denom = self._scratch(p, 2)                  # √s + ε
                xp.sqrt(s, out=denom)
                denom += eps
                xp.multiply(g, -clr, out=tmp)                # θ ← θ - η̃ g / (√s + ε)
                tmp /= denom
                theta += tmp
        return loss
