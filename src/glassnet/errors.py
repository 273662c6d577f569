"""glassnet's error classes, so code ported from PyTorch catches what it expects.

Where PyTorch raises ``RuntimeError`` (operand shapes that do not fit: matmul, reshape,
permute, expand, cat/stack, a kernel larger than its input, a loss target of the wrong shape)
glassnet used to raise ``ValueError``. :class:`ShapeError` is both, so ``except RuntimeError``
(PyTorch code) and ``except ValueError`` (existing glassnet code) both catch it; the messages
are unchanged. This module imports nothing, so every layer may use it.
"""

__all__ = ["ShapeError", "ArgumentError", "UnsupportedModeError", "DTypeError",
           "StateDictKeyError", "NonFiniteLossError"]


class ShapeError(ValueError, RuntimeError):
    """Shapes (or sizes) of the operands do not fit the operation.

    A subclass of both ``ValueError`` and ``RuntimeError``.

    Example:
        >>> try:
        ...     gn.ones(2, 3) @ gn.ones(2, 3)
        ... except RuntimeError as e:          # `except ValueError` catches it too
        ...     print(e)
    """


class ArgumentError(ValueError, RuntimeError):
    """An argument's value is invalid where PyTorch raises ``RuntimeError`` (a dim given
    twice, an unknown ``reduce=``/``rounding_mode=``, a negative step or padding, integers to
    negative powers, ``clamp`` with no bounds ...). A subclass of both ``ValueError`` and
    ``RuntimeError``."""


class UnsupportedModeError(ValueError, NotImplementedError):
    """A mode string PyTorch does not know (``F.pad(mode='typo')``), where PyTorch raises
    ``NotImplementedError``. A subclass of both ``ValueError`` and ``NotImplementedError``."""


class DTypeError(TypeError, NotImplementedError):
    """An operand's dtype does not fit the op (bitwise ops on floats, ``scatter`` with a
    ``src`` of another dtype), where PyTorch raises ``RuntimeError`` or its subclass
    ``NotImplementedError`` ("not implemented for 'Float'"). A subclass of ``TypeError``
    (glassnet's earlier class) and of both of PyTorch's."""


class StateDictKeyError(KeyError, RuntimeError):
    """``load_state_dict(strict=True)`` met missing or unexpected keys, where PyTorch raises
    ``RuntimeError``. A subclass of ``KeyError`` (glassnet's earlier class) and
    ``RuntimeError``."""


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or Inf; the message names the epoch and step. The weights are
    those before the failing step, and checkpoints on disk are the last good ones."""
