"""Loss layers: thin shells over :mod:`glassnet.nn.losses`."""
from . import losses
from .module import Module

__all__ = ["MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
           "HuberLoss", "SmoothL1Loss", "KLDivLoss"]


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
        if input.array.dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}(input): expected a floating-point "
                            f"prediction, got dtype {input.array.dtype}")
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


class HuberLoss(_Loss):
    """Huber loss of d = input − target: ½d² where |d| < δ, else δ·(|d| − ½δ).

    Args: reduction ('mean', 'sum', 'none'), delta δ > 0 (default 1.0).
    Shape: input (*), target (*) → scalar, or (*) with reduction='none'.

    Example:
        >>> nn.HuberLoss(delta=0.5)(gn.tensor([0.0, 3.0]), gn.tensor([0.2, 0.0])).item()
        0.6975        # (0.02 + 1.375) / 2
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        losses._check_positive("HuberLoss", "delta", delta, strict=True)
        self.delta = delta

    def forward(self, input, target):
        return losses.huber_loss(self._input(input), target, self.reduction, self.delta)


class SmoothL1Loss(_Loss):
    """Smooth L1 of d = input − target: ½d²/β where |d| < β, else |d| − ½β (L1 when β = 0).

    Args: reduction ('mean', 'sum', 'none'), beta β >= 0 (default 1.0).
    Shape: input (*), target (*) → scalar, or (*) with reduction='none'.

    Example:
        >>> nn.SmoothL1Loss(beta=0.5)(gn.tensor([0.0, 3.0]), gn.tensor([0.2, 0.0])).item()
        1.395         # (0.04 + 2.75) / 2
    """

    def __init__(self, reduction: str = "mean", beta: float = 1.0):
        super().__init__(reduction)
        losses._check_positive("SmoothL1Loss", "beta", beta, strict=False)
        self.beta = beta

    def forward(self, input, target):
        return losses.smooth_l1_loss(self._input(input), target, self.reduction, self.beta)


class KLDivLoss(_Loss):
    """KL(target ‖ model) with the model as log-probabilities: Σ t·(log t − x).

    Args: reduction ('mean', 'batchmean' — the true KL per sample —, 'sum', 'none'),
    log_target (the target is given as log-probabilities too).
    Shape: input (N, *) log-probabilities, target (N, *) → scalar, or (N, *) with 'none'.

    Example:
        >>> loss = nn.KLDivLoss(reduction="batchmean")(F.log_softmax(logits, 1), probs)
    """

    def __init__(self, reduction: str = "mean", log_target: bool = False):
        if reduction not in ("mean", "batchmean", "sum", "none"):
            raise ValueError(f"KLDivLoss(reduction={reduction!r}): expected one of "
                             f"('mean', 'batchmean', 'sum', 'none')")
        super().__init__("mean")
        self.reduction, self.log_target = reduction, bool(log_target)

    def forward(self, input, target):
        return losses.kl_div(self._input(input), target, self.reduction, self.log_target)
