"""RMSprop (Hinton, lecture 6e), optionally centered and with momentum."""
from __future__ import annotations

from ._update import decayed_grad, ema_square_, new_state, with_grads
from .optimizer import Optimizer, lerp_

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop, with the same update as ``torch.optim.RMSprop``.

    For each parameter :math:`\theta` with gradient :math:`g`:

    .. math::
        g &\leftarrow g + \lambda\,\theta                             &&\text{(weight decay)} \\
        v_t &= \alpha v_{t-1} + (1-\alpha)\, g^2 \\
        \bar g_t &= \alpha \bar g_{t-1} + (1-\alpha)\, g              &&\text{(centered only)} \\
        d &= \sqrt{v_t - \bar g_t^2} + \epsilon \text{ (centered) or } \sqrt{v_t} + \epsilon \\
        b_t &= \mu b_{t-1} + g / d,\quad \theta \leftarrow \theta - \eta\, b_t
              &&\text{(momentum > 0)} \\
        \theta &\leftarrow \theta - \eta\, g / d                      &&\text{(otherwise)}

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: learning rate :math:`\eta` (>= 0, default 1e-2).
        alpha: smoothing constant :math:`\alpha` (>= 0, default 0.99).
        eps: :math:`\epsilon` added to the denominator (>= 0, default 1e-8).
        weight_decay: L2 penalty :math:`\lambda` (>= 0, default 0).
        momentum: momentum factor :math:`\mu` (>= 0, default 0).
        centered: normalise by the estimated variance of the gradient instead of its raw
            second moment.

    State per parameter: ``step`` (int), ``square_avg`` (:math:`v`), ``momentum_buffer``
    (when momentum > 0), ``grad_avg`` (:math:`\bar g`, when centered).

    Example:
        >>> opt = RMSprop(model.parameters(), lr=1e-3, momentum=0.9)
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered)
        super().__init__(params, defaults)

    def _check(self, group: dict) -> None:
        super()._check(group)
        for key in ("alpha", "eps", "weight_decay", "momentum"):
            self._require(group, key, ">= 0", lambda v: v >= 0)

    def step(self, closure=None):
        """Apply one RMSprop update to every parameter that has a gradient."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
            weight_decay, momentum = float(group["weight_decay"]), float(group["momentum"])
            for p, theta, g, xp, state in with_grads(self, group):
                if not state:
                    new_state(state, theta, "square_avg",
                              *(["momentum_buffer"] if momentum > 0 else []),
                              *(["grad_avg"] if group["centered"] else []))
                state["step"] += 1
                v = state["square_avg"]
                tmp = self._scratch(p, 0)

                g = decayed_grad(self, p, g, weight_decay)   # g ← g + λθ
                ema_square_(v, g, alpha, tmp)                # v ← α v + (1-α) g²

                denom = tmp
                if group["centered"]:                        # ḡ ← α ḡ + (1-α) g
                    g_avg = state["grad_avg"]
                    lerp_(g_avg, g, 1.0 - alpha, tmp)
                    xp.multiply(g_avg, g_avg, out=denom)     # √(v - ḡ²)
                    xp.subtract(v, denom, out=denom)
                    xp.sqrt(denom, out=denom)
                else:
                    xp.sqrt(v, out=denom)
                denom += eps

                if momentum > 0:                             # b ← μ b + g / d;  θ ← θ - η b
                    buf = state["momentum_buffer"]
                    buf *= momentum
                    xp.divide(g, denom, out=tmp)
                    buf += tmp
                    xp.multiply(buf, lr, out=tmp)
                else:                                        # θ ← θ - η g / d
                    xp.divide(g, denom, out=tmp)
                    tmp *= lr
                theta -= tmp
        return loss
