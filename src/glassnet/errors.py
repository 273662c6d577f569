"""glassnet's error classes, so code ported from PyTorch catches what it expects.

Where PyTorch raises ``RuntimeError`` (operand shapes that do not fit: matmul, reshape,
permute, expand, cat/stack, a kernel larger than its input, a loss target of the wrong shape)
glassnet used to raise ``ValueError``. :class:`ShapeError` is both, so ``except RuntimeError``
(PyTorch code) and ``except ValueError`` (existing glassnet code) both catch it; the messages
are unchanged. This module imports nothing, so every layer may use it.
"""

__all__ = ["ShapeError", "NonFiniteLossError"]


class ShapeError(ValueError, RuntimeError):
    """Shapes (or sizes) of the operands do not fit the operation.

    A subclass of both ``ValueError`` and ``RuntimeError``.

    Example:
        >>> try:
        ...     gn.ones(2, 3) @ gn.ones(2, 3)
        ... except RuntimeError as e:          # `except ValueError` catches it too
        ...     print(e)
    """


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or Inf; the message names the epoch and step. The weights are
    those before the failing step, and checkpoints on disk are the last good ones."""
