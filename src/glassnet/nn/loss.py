"""Loss layers: thin shells over :mod:`glassnet.nn.losses`."""
from . import losses
from .module import Module

__all__ = ["MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss"]


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        losses._check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""

    def _input(self, input, classes: bool = False):
        """The prediction must be floating point (bool/int would break the maths deep
        inside NumPy); Module.__call__ has already made it a numeric Tensor. With
        ``classes``, dim 1 (dim 0 unbatched) holds C >= 1 class scores."""
        if input.data.dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}(input): expected a floating-point "
                            f"prediction, got dtype {input.data.dtype}")
        if classes and input.ndim and input.shape[1 if input.ndim > 1 else 0] == 0:
            raise ValueError(f"{type(self).__name__}(input): input {tuple(input.shape)} has "
                             f"no classes (C = 0)")
        return input


class MSELoss(_Loss):
    """MSE = 1/n Σ (y_i − ŷ_i)². Shape: input (*), target (*) same shape → scalar."""

    def forward(self, input, target):
        input = self._input(input)
        return losses.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """MAE = 1/n Σ |y_i − ŷ_i|. Shape: input (*), target (*) → scalar."""

    def forward(self, input, target):
        input = self._input(input)
        return losses.l1_loss(input, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """Softmax + negative log-likelihood on raw logits, in one stable step.

    Args: weight (C,), ignore_index, reduction, label_smoothing — as in PyTorch.
    Shape: input (N, C) or (N, C, d1, …) logits; target (N) / (N, d1, …) int64 class indices
    or probabilities shaped like input → scalar (or per-element with reduction='none').
    """

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss(label_smoothing={label_smoothing}): "
                             f"expected a value in [0, 1]")
        self.weight, self.ignore_index, self.label_smoothing = weight, ignore_index, \
            label_smoothing

    def forward(self, input, target):
        input = self._input(input, classes=True)
        return losses.cross_entropy(input, target, self.weight, self.ignore_index,
                                    self.reduction, self.label_smoothing)


class NLLLoss(_Loss):
    """−log p of the target class, given log-probabilities (e.g. from LogSoftmax)."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight, self.ignore_index = weight, ignore_index

    def forward(self, input, target):
        input = self._input(input, classes=True)
        return losses.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities in [0, 1]. Shape: (*), (*) → scalar."""

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight = weight

    def forward(self, input, target):
        input = self._input(input)
        return losses.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy on logits, stable. Shape: (*), (*) → scalar."""

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction)
        self.weight, self.pos_weight = weight, pos_weight

    def forward(self, input, target):
        input = self._input(input)
        return losses.binary_cross_entropy_with_logits(input, target, self.weight,
                                                       self.reduction, self.pos_weight)
