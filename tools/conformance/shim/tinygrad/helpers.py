"""Adapter: the few helpers tinygrad's tests import, with neutral values."""
import contextlib
import os
from types import SimpleNamespace


def getenv(key, default=0):
    v = os.environ.get(key)
    return type(default)(v) if v is not None else default


DEBUG = 0
IMAGE = 0
DEV = SimpleNamespace(interface="", renderer="", device="CPU")


GlobalCounters = SimpleNamespace(kernel_count=0, global_ops=0, reset=lambda: None)


@contextlib.contextmanager
def Context(**kw):  # noqa: N802  (tinygrad's name); TRAINING= sets Tensor.training
    from .tensor import Tensor
    old = Tensor.training
    if "TRAINING" in kw:
        Tensor.training = bool(kw["TRAINING"])
    try:
        yield
    finally:
        Tensor.training = old
