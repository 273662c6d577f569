"""A thin adapter that makes ``from tinygrad import Tensor`` run on glassnet (our own code)."""
from .tensor import Device, Tensor, TinyJit, dtypes  # noqa: F401
