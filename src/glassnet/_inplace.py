"""In-place methods and operators on Tensor, as in PyTorch: ``x += y``, ``x.add_(y)``,
``x[0] = 5``, ``zero_()``, ``fill_()``, ``copy_()``, ``clamp_()``, ``normal_()`` ...

Each one keeps the tensor object (and its ``requires_grad``), bumps its version counter and
returns it. The value is computed by the ordinary op on the tensor as it was; see
``tensor._apply_inplace`` for how the graph and the version checks follow. On a leaf that
requires grad they raise unless grad mode is off, as in PyTorch::

    with gn.no_grad():
        w -= lr * w.grad            # w stays the same leaf, requires_grad=True
"""
from __future__ import annotations

import numpy as np

from . import ops
from .backend import to_device
from .ops.inplace import copy_from, fill, index_put
from .ops.shape import index_key
from .tensor import Tensor, _apply_inplace, bump_version, get_rng, is_grad_enabled


def _same(x, self, src):
    """An argument that is the tensor itself stands for its value before the change."""
    return src if x is self else x


def _scaled(other, alpha):
    return other if alpha == 1 else other * alpha


def add_(self, other, *, alpha=1):
    return _apply_inplace(self, lambda s: ops.add(s, _scaled(_same(other, self, s), alpha)),
                          "add_()")


def sub_(self, other, *, alpha=1):
    return _apply_inplace(self, lambda s: ops.sub(s, _scaled(_same(other, self, s), alpha)),
                          "sub_()")


def _binary(name, op):
    def method(self, other):
        return _apply_inplace(self, lambda s: op(s, _same(other, self, s)), f"{name}()")
    method.__name__ = name
    method.__doc__ = f"In place: ``self = {op.__name__}(self, other)``; returns self."
    return method


def _unary(name, op):
    def method(self):
        return _apply_inplace(self, op, f"{name}()")
    method.__name__ = name
    method.__doc__ = f"In place: ``self = {op.__name__}(self)``; returns self."
    return method


def clamp_(self, min=None, max=None):  # noqa: A002  (PyTorch's names)
    return _apply_inplace(self, lambda s: ops.clamp(s, min, max), "clamp_()")


def zero_(self):
    """Fill with zeros in place (no gradient flows to the old value)."""
    return _apply_inplace(self, lambda s: fill(s, 0), "zero_()")


def fill_(self, value):
    """Fill with ``value`` in place."""
    return _apply_inplace(self, lambda s: fill(s, value), "fill_()")


def copy_(self, src, non_blocking: bool = False):
    """Copy ``src`` (broadcast to this shape, cast to this dtype) into this tensor."""
    return _apply_inplace(self, lambda s: copy_from(s, _same(src, self, s)), "copy_()")


def _random(self, what, draw, generator):
    if self.dtype.kind != "f":
        raise TypeError(f"{what}: expected a floating tensor, got dtype {self.dtype}")
    rng = get_rng() if generator is None else generator
    arr = to_device(draw(rng).astype(self.dtype, copy=False), self.device)
    return _apply_inplace(self, lambda s: fill(s, arr), what)


def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None):
    """Fill with samples of N(mean, std²) from ``generator`` (default: glassnet's global)."""
    return _random(self, "normal_()", lambda r: r.normal(mean, std, self.shape), generator)


def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None):
    """Fill with samples of U(a, b) from ``generator`` (default: glassnet's global)."""
    return _random(self, "uniform_()", lambda r: r.uniform(a, b, self.shape), generator)


def __setitem__(self, key, value):
    """``x[key] = value``: in place; differentiable with respect to both x and value."""
    tracked = is_grad_enabled() and (self.requires_grad or getattr(value, "requires_grad",
                                                                   False))
    if tracked:
        _apply_inplace(self, lambda s: index_put(s, key, _same(value, self, s)),
                       "__setitem__")
        return
    # nothing to record: write straight into the array, as NumPy does
    v = value.array if isinstance(value, Tensor) else value
    key = index_key(key, self)                 # PyTorch's indexing rule, Tensors as arrays
    if self.dtype.kind in "biu" and np.asarray(v).dtype.kind == "f":
        raise RuntimeError(f"__setitem__: can't assign {np.asarray(v).dtype} values to a "
                           f"tensor of dtype {self.dtype}")
    self.array[key] = v
    bump_version(self)


_methods = {
    "add_": add_, "sub_": sub_, "clamp_": clamp_, "clip_": clamp_, "zero_": zero_,
    "fill_": fill_, "copy_": copy_, "normal_": normal_, "uniform_": uniform_,
    "__setitem__": __setitem__,
    "mul_": _binary("mul_", ops.mul), "div_": _binary("div_", ops.div),
    "pow_": _binary("pow_", ops.pow),
    "neg_": _unary("neg_", ops.neg), "relu_": _unary("relu_", ops.relu),
    "sigmoid_": _unary("sigmoid_", ops.sigmoid), "tanh_": _unary("tanh_", ops.tanh),
    "exp_": _unary("exp_", ops.exp), "log_": _unary("log_", ops.log),
    "sqrt_": _unary("sqrt_", ops.sqrt), "abs_": _unary("abs_", ops.abs),
}
_methods.update({"__iadd__": _methods["add_"], "__isub__": _methods["sub_"],
                 "__imul__": _methods["mul_"], "__itruediv__": _methods["div_"],
                 "__ipow__": _methods["pow_"]})
for _name, _fn in _methods.items():
    setattr(Tensor, _name, _fn)
