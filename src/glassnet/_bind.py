"""Attach operators and methods to Tensor (kept apart so tensor.py stays about the graph)."""
from . import ops
from .tensor import Tensor


def _r(fn):
    return lambda self, other: fn(other, self)


def _max(self, dim=None, keepdim=False):
    return ops.max(self, dim, keepdim)


def _min(self, dim=None, keepdim=False):
    return ops.min(self, dim, keepdim)


_methods = {
    "__add__": ops.add, "__radd__": _r(ops.add), "__sub__": ops.sub, "__rsub__": _r(ops.sub),
    "__mul__": ops.mul, "__rmul__": _r(ops.mul), "__truediv__": ops.div,
    "__rtruediv__": _r(ops.div), "__pow__": ops.pow, "__rpow__": _r(ops.pow),
    "__matmul__": ops.matmul, "__rmatmul__": _r(ops.matmul), "__neg__": ops.neg,
    "__getitem__": ops.getitem, "__abs__": ops.abs,
    "add": ops.add, "sub": ops.sub, "mul": ops.mul, "div": ops.div, "pow": ops.pow,
    "matmul": ops.matmul, "neg": ops.neg, "exp": ops.exp, "log": ops.log, "sqrt": ops.sqrt,
    "abs": ops.abs, "clamp": ops.clamp, "clip": ops.clamp, "maximum": ops.maximum,
    "minimum": ops.minimum, "sign": ops.sign,
    "sum": ops.sum, "mean": ops.mean, "max": _max, "min": _min, "var": ops.var,
    "logsumexp": ops.logsumexp, "argmax": ops.argmax, "argmin": ops.argmin,
    "reshape": ops.reshape, "view": ops.view, "transpose": ops.transpose,
    "permute": ops.permute, "flatten": ops.flatten, "squeeze": ops.squeeze,
    "unsqueeze": ops.unsqueeze, "expand": ops.expand, "repeat": ops.repeat,
    "relu": ops.relu, "sigmoid": ops.sigmoid, "tanh": ops.tanh, "softmax": ops.softmax,
    "log_softmax": ops.log_softmax,
}
for _name, _fn in _methods.items():
    setattr(Tensor, _name, _fn)


def _compare(np_fn):
    def method(self, other):
        o = other.data if isinstance(other, Tensor) else other
        return Tensor(np_fn(self.data, o))
    return method


import numpy as _np  # noqa: E402

for _name, _fn in {"__lt__": _np.less, "__le__": _np.less_equal, "__gt__": _np.greater,
                   "__ge__": _np.greater_equal, "eq": _np.equal, "ne": _np.not_equal,
                   "__eq__": _np.equal, "__ne__": _np.not_equal}.items():
    setattr(Tensor, _name, _compare(_fn))

from . import _inplace  # noqa: E402,F401  (in-place methods: add_, zero_, +=, x[i] = v ...)
