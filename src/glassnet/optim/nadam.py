"""NAdam (Dozat, 2016): Adam with Nesterov momentum; NAdamW with decoupled weight decay."""
from __future__ import annotations

import numpy as np

from ._update import betas_pair, decayed_grad, ema_square_, new_state, with_grads
from .optimizer import Optimizer, lerp_

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam, with the same update as ``torch.optim.NAdam``.

    Adam's step uses the momentum :math:`m_t`; NAdam looks one step ahead, mixing the
    current gradient with the *next* momentum, as Nesterov's method does. With a momentum
    schedule :math:`\mu_t = \beta_1 (1 - \tfrac12 \cdot 0.96^{t\psi})` and
    :math:`\Pi_t = \prod_{i \le t} \mu_i`, for each parameter :math:`\theta` with gradient
    :math:`g` at step :math:`t = 1, 2, \dots`:

    .. math::
        g &\leftarrow g + \lambda\theta \quad\text{or}\quad
             \theta \leftarrow (1 - \eta\lambda)\theta   &&\text{(L2 or decoupled decay)} \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g^2 \\
        d &= \sqrt{v_t / (1-\beta_2^t)} + \epsilon \\
        \theta &\leftarrow \theta - \eta\,\frac{1-\mu_t}{1-\Pi_t}\,\frac{g}{d}
                 - \eta\,\frac{\mu_{t+1}}{1-\Pi_{t+1}}\,\frac{m_t}{d}

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: learning rate :math:`\eta` (>= 0, default 2e-3).
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1) (default (0.9, 0.999)).
        eps: :math:`\epsilon` added to the denominator (>= 0, default 1e-8).
        weight_decay: :math:`\lambda` (>= 0, default 0).
        momentum_decay: :math:`\psi` of the momentum schedule (>= 0, default 4e-3).
        decoupled_weight_decay: decay θ directly like AdamW (NAdamW) instead of adding
            :math:`\lambda\theta` to the gradient.

    State per parameter: ``step`` (int), ``mu_product`` (:math:`\Pi_t`, a float kept in float32
    arithmetic like PyTorch's), ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`).

    Example:
        >>> opt = NAdam(model.parameters(), lr=2e-3)
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params, lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False):
        defaults = dict(lr=lr, betas=betas_pair("NAdam", betas), eps=eps,
                        weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _check(self, group: dict) -> None:
        super()._check(group)
        for key in ("eps", "weight_decay", "momentum_decay"):
            self._require(group, key, ">= 0", lambda v: v >= 0)
        self._require_betas(group)

    def step(self, closure=None):
        """Apply one NAdam update to every parameter that has a gradient."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, eps = float(group["lr"]), float(group["eps"])
            weight_decay, psi = float(group["weight_decay"]), float(group["momentum_decay"])
            beta1, beta2 = (float(b) for b in group["betas"])
            for p, theta, g, xp, state in with_grads(self, group):
                if not state:
                    new_state(state, theta, "exp_avg", "exp_avg_sq", mu_product=1.0)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                tmp = self._scratch(p, 0)
                state["step"] += 1
                t = state["step"]

                g = decayed_grad(self, p, g, weight_decay, lr,   # g + λθ, or θ ← (1 - ηλ) θ
                                 group["decoupled_weight_decay"])

                mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
                mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
                # Π_t is a float32 scalar in PyTorch: multiply in float32 to follow it exactly
                mu_product = float(np.float32(state["mu_product"]) * np.float32(mu))
                state["mu_product"] = mu_product
                mu_product_next = mu_product * mu_next

                lerp_(m, g, 1.0 - beta1, tmp)                # m ← β1 m + (1-β1) g
                ema_square_(v, g, beta2, tmp)                # v ← β2 v + (1-β2) g²

                denom = self._scratch(p, 2)                  # d = √(v / (1-β2^t)) + ε
                xp.divide(v, 1.0 - beta2 ** t, out=denom)
                xp.sqrt(denom, out=denom)
                denom += eps
                xp.multiply(g, -lr * (1.0 - mu) / (1.0 - mu_product), out=tmp)
                tmp /= denom                                 # θ ← θ - η(1-μ_t)/(1-Π_t) g/d
                theta += tmp
                xp.multiply(m, -lr * mu_next / (1.0 - mu_product_next), out=tmp)
                tmp /= denom                                 #   - η μ_{t+1}/(1-Π_{t+1}) m/d
                theta += tmp
        return loss
