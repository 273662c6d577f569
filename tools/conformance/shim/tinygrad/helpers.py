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


@contextlib.contextmanager
def Context(**kw):  # noqa: N802  (tinygrad's name)
    yield
