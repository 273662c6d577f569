"""Dropout: randomly zero activations during training (identity in eval mode)."""
from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Zero each element with probability ``p`` in training and scale survivors by 1/(1−p).

    Shape: input (*) → output (*). Draws from glassnet's generator (``gn.manual_seed``).
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout(p={p!r}): p must be a probability in [0, 1]")
        self.p = float(p)

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
