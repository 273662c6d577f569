"""AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay."""
from __future__ import annotations

from .adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    r"""Adam with decoupled weight decay, the same update as ``torch.optim.AdamW``.

    Identical to :class:`Adam` except for weight decay, which shrinks the parameter directly
    instead of being added to the gradient (so it is not rescaled by the adaptive denominator):

    .. math::
        \theta \leftarrow (1 - \eta\lambda)\,\theta, \quad\text{then the Adam update of } \theta.

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: learning rate :math:`\eta` (>= 0, default 1e-3).
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1) (default (0.9, 0.999)).
        eps: term added to the denominator (>= 0, default 1e-8).
        weight_decay: decoupled decay :math:`\lambda` (>= 0, default 1e-2).
        amsgrad: use the running maximum of the second moment (AMSGrad).

    Example:
        >>> opt = AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    """

    _decoupled_weight_decay = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)
