r"""CTC loss (``F.ctc_loss`` and the :class:`CTCLoss` layer) with PyTorch's arguments.

The kernel (alpha/beta recursions, gradient) is :func:`glassnet.ops.ctc.ctc_loss_per_sample`;
this file checks the arguments once, turns concatenated targets into padded ones, and
applies the reduction with ordinary ops.
"""
import numpy as np

from ..backend import to_host
from ..ops.ctc import ctc_loss_per_sample
from ..tensor import Tensor
from .losses import _check_reduction
from .module import Module

__all__ = ["ctc_loss", "CTCLoss"]


def _ints(name: str, value, what: str) -> np.ndarray:
    """A Tensor / array / list / int of integer values as an int64 host array."""
    arr = np.asarray(to_host(value.array) if isinstance(value, Tensor) else value)
    if arr.dtype.kind not in "iu" and not (arr.dtype.kind == "f" and arr.size == 0):
        raise TypeError(f"ctc_loss({name}): expected integers ({what}), got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _padded(targets: np.ndarray, target_lengths: np.ndarray) -> np.ndarray:
    """(N, S) padded targets from the padded form or from the 1-D concatenation."""
    if targets.ndim == 2:
        if target_lengths.size and target_lengths.max() > targets.shape[1]:
            raise ValueError(f"ctc_loss(target_lengths): a length {target_lengths.max()} "
                             f"exceeds the padded targets' width S = {targets.shape[1]}")
        return targets
    if targets.ndim != 1 or targets.size != target_lengths.sum():
        raise ValueError(f"ctc_loss(targets): expected (N, S) padded targets or a 1-D "
                         f"concatenation of sum(target_lengths) = {target_lengths.sum()} "
                         f"labels, got shape {targets.shape}")
    out = np.zeros((len(target_lengths), max(int(target_lengths.max(initial=0)), 1)), np.int64)
    starts = np.concatenate([[0], np.cumsum(target_lengths)[:-1]])
    for n, (a, k) in enumerate(zip(starts, target_lengths)):
        out[n, :k] = targets[a:a + k]
    return out


def ctc_loss(log_probs: Tensor, targets, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    r"""Connectionist temporal classification loss, as ``torch.nn.functional.ctc_loss``.

    loss_n = −log Σ_{alignments π of target_n} Π_t p_t(π_t), over the first
    ``input_lengths[n]`` frames (see :mod:`glassnet.ops.ctc` for the recursions).

    Args:
        log_probs: (T, N, C) or unbatched (T, C) log-probabilities (e.g. ``log_softmax``
            over C classes, the blank included).
        targets: (N, S) labels padded past each length, or the 1-D concatenation of the N
            targets (sum(target_lengths),); labels in [0, C) and never ``blank``.
        input_lengths: (N,) frames used per sample, 1 <= T_n <= T.
        target_lengths: (N,) labels per sample, 0 <= S_n <= S.
        blank: index of the blank class.
        reduction: ``'none'`` → (N,); ``'sum'``; ``'mean'`` (each loss divided by its target
            length, at least 1, then the mean over the batch — PyTorch's definition).
        zero_infinity: impossible alignments (e.g. T_n < S_n) give loss 0 and no gradient
            instead of +∞.

    Shape:
        output: scalar, or (N,) with ``reduction='none'`` (a scalar for unbatched input).

    Example:
        >>> lp = gn.randn(50, 2, 11, requires_grad=True).log_softmax(2)
        >>> F.ctc_loss(lp, [[1, 2, 3], [4, 4, 0]], [50, 40], [3, 2]).backward()
    """
    _check_reduction("ctc_loss", reduction)
    if not isinstance(log_probs, Tensor) or log_probs.array.dtype.kind != "f":
        got = log_probs.array.dtype if isinstance(log_probs, Tensor) else type(log_probs).__name__
        raise TypeError(f"ctc_loss(log_probs): expected a floating-point Tensor, got {got}")
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
    if log_probs.ndim != 3:
        raise ValueError(f"ctc_loss(log_probs): expected (T, N, C) or (T, C), got shape "
                         f"{tuple(log_probs.shape)}")
    T, N, C = log_probs.shape
    if not 0 <= blank < C:
        raise ValueError(f"ctc_loss(blank={blank}): expected a class index in [0, {C})")
    targets = _ints("targets", targets, "class labels")
    input_lengths = _ints("input_lengths", input_lengths, "frame counts").reshape(-1)
    target_lengths = _ints("target_lengths", target_lengths, "label counts").reshape(-1)
    if unbatched and targets.ndim == 1:
        targets = targets[None, :target_lengths.sum()] if len(target_lengths) == 1 else targets
    for name, arr in (("input_lengths", input_lengths), ("target_lengths", target_lengths)):
        if arr.shape != (N,):
            raise ValueError(f"ctc_loss({name}): expected {N} lengths (one per sample), got "
                             f"shape {arr.shape}")
    if N and (input_lengths.min() < 1 or input_lengths.max() > T):
        raise ValueError(f"ctc_loss(input_lengths): expected values in [1, T = {T}], got "
                         f"{input_lengths.tolist()}")
    if N and target_lengths.min() < 0:
        raise ValueError(f"ctc_loss(target_lengths): expected values >= 0, got "
                         f"{target_lengths.tolist()}")
    targets = _padded(targets, target_lengths)
    if targets.shape[0] != N:
        raise ValueError(f"ctc_loss(targets): expected {N} rows (one per sample), got "
                         f"{targets.shape[0]}")
    used = targets[np.arange(targets.shape[1]) < target_lengths[:, None]]
    bad = used[(used < 0) | (used >= C) | (used == blank)]
    if bad.size:
        raise ValueError(f"ctc_loss(targets): label {int(bad[0])} is not a class in [0, {C}) "
                         f"other than blank={blank}")
    loss = ctc_loss_per_sample(log_probs, targets, input_lengths, target_lengths, blank,
                               zero_infinity)
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        divisor = np.maximum(target_lengths, 1).astype(log_probs.array.dtype)
        return (loss / Tensor(divisor).to(log_probs.device)).mean()
    return loss.reshape(()) if unbatched else loss


class CTCLoss(Module):
    r"""Connectionist temporal classification loss (a shell over :func:`ctc_loss`).

    Args:
        blank: index of the blank class (default 0).
        reduction: ``'mean'`` (loss / target length, averaged over the batch), ``'sum'`` or
            ``'none'``.
        zero_infinity: replace infinite losses (impossible alignments) and their gradients by 0.

    Shape:
        log_probs: (T, N, C) — T frames, N samples, C classes including the blank;
        targets: (N, S) padded or (sum(target_lengths),) concatenated;
        input_lengths, target_lengths: (N,);
        output: scalar, or (N,) with ``reduction='none'``.

    Example:
        >>> ctc = nn.CTCLoss(blank=0)
        >>> log_probs = gn.randn(30, 4, 6, requires_grad=True).log_softmax(2)
        >>> loss = ctc(log_probs, gn.tensor([[1, 2], [3, 3], [5, 0], [2, 4]]),
        ...            [30, 30, 20, 25], [2, 2, 1, 2])
        >>> loss.backward()
    """

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False):
        super().__init__()
        _check_reduction("CTCLoss", reduction)
        if not isinstance(blank, int) or isinstance(blank, bool) or blank < 0:
            raise ValueError(f"CTCLoss(blank={blank!r}): expected an int >= 0")
        if not isinstance(zero_infinity, bool):
            raise TypeError(f"CTCLoss(zero_infinity={zero_infinity!r}): expected a bool")
        self.blank, self.reduction, self.zero_infinity = blank, reduction, zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                        self.reduction, self.zero_infinity)

    def extra_repr(self) -> str:
        return f"blank={self.blank}, reduction={self.reduction!r}, " \
               f"zero_infinity={self.zero_infinity}"
