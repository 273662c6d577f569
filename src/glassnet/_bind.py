"""Attach operators and methods to Tensor (kept apart so tensor.py stays about the graph)."""
from . import ops
from .ops.logic import comparison_method
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


# comparisons give bool tensors (t == None is False: unknown operands give NotImplemented)
for _name, _fn in {"lt": ops.lt, "le": ops.le, "gt": ops.gt, "ge": ops.ge, "eq": ops.eq,
                   "ne": ops.ne}.items():
    setattr(Tensor, _name, _fn)
    setattr(Tensor, f"__{_name}__", comparison_method(_fn))
for _name in ("greater", "greater_equal", "less", "less_equal", "not_equal", "equal"):
    setattr(Tensor, _name, getattr(ops, _name))


def _round(self, decimals=0):
    return ops.round(self, decimals=decimals or 0)


# element-wise maths, logic, integer and bitwise operators (ops/math.py, ops/logic.py)
_math_methods = {
    "__floordiv__": ops.floor_divide, "__rfloordiv__": _r(ops.floor_divide),
    "__mod__": ops.remainder, "__rmod__": _r(ops.remainder),
    "__and__": ops.bitwise_and, "__rand__": _r(ops.bitwise_and),
    "__or__": ops.bitwise_or, "__ror__": _r(ops.bitwise_or),
    "__xor__": ops.bitwise_xor, "__rxor__": _r(ops.bitwise_xor),
    "__lshift__": ops.bitwise_left_shift, "__rlshift__": _r(ops.bitwise_left_shift),
    "__rshift__": ops.bitwise_right_shift, "__rrshift__": _r(ops.bitwise_right_shift),
    "__invert__": ops.bitwise_not, "__round__": _round, "round": ops.round,
    "floor_divide": ops.floor_divide, "remainder": ops.remainder, "fmod": ops.fmod,
    "bitwise_and": ops.bitwise_and, "bitwise_or": ops.bitwise_or,
    "bitwise_xor": ops.bitwise_xor, "bitwise_not": ops.bitwise_not,
    "bitwise_left_shift": ops.bitwise_left_shift,
    "bitwise_right_shift": ops.bitwise_right_shift,
    "logical_not": ops.logical_not, "logical_and": ops.logical_and,
    "logical_or": ops.logical_or, "logical_xor": ops.logical_xor,
    "any": ops.any, "all": ops.all, "isnan": ops.isnan, "isinf": ops.isinf,
    "isfinite": ops.isfinite, "isposinf": ops.isposinf, "isneginf": ops.isneginf,
    "isclose": ops.isclose, "allclose": ops.allclose,
    "floor": ops.floor, "ceil": ops.ceil, "trunc": ops.trunc, "fix": ops.fix, "frac": ops.frac,
    "lerp": ops.lerp, "atan2": ops.atan2, "arctan2": ops.atan2, "logaddexp": ops.logaddexp,
    "copysign": ops.copysign, "erf": ops.erf, "erfc": ops.erfc, "erfinv": ops.erfinv,
}
for _name in ("hypot xlogy logit sinc logaddexp2 fmax fmin float_power heaviside nan_to_num "
              "deg2rad rad2deg signbit sgn multiply subtract divide true_divide negative "
              "absolute positive clamp_min clamp_max addcmul addcdiv hardshrink lgamma "
              "digamma").split():
    _math_methods[_name] = getattr(ops, _name)
for _name in ("sin cos tan asin acos atan sinh cosh asinh acosh atanh arcsin arccos arctan "
              "arcsinh arccosh arctanh log2 log10 log1p expm1 exp2 rsqrt reciprocal "
              "square").split():
    _math_methods[_name] = getattr(ops, _name)
for _name, _fn in _math_methods.items():
    setattr(Tensor, _name, _fn)

from . import _inplace  # noqa: E402,F401  (in-place methods: add_, zero_, +=, x[i] = v ...)


# shape, reduction, indexing and ordering ops (ops/stats, scan, index, ordering, pieces,
# arrange, triangular; max/min again: they take axis= and an other tensor)
Tensor.norm = ops.stats.norm
from . import _inplace_index  # noqa: E402,F401  (masked_fill_, scatter_, index_add_ ...)
from . import factory as _factory  # noqa: E402
Tensor.bernoulli, Tensor.multinomial = _factory.bernoulli, _factory.multinomial
Tensor.mT = property(ops.matrix_transpose)
Tensor.where = ops.where_method
for _name in ("expand_as view_as reshape_as type_as new_zeros new_ones new_full new_empty "
              "new_tensor is_floating_point is_complex ndimension nelement").split():
    if not hasattr(Tensor, _name):          # tensor.py's own definition wins
        setattr(Tensor, _name, getattr(ops, _name))
for _name in ("hsplit vsplit dsplit diagflat dist cov corrcoef "
              "unflatten select ravel rot90 diff kron count_nonzero bincount unique aminmax "
              "nansum nanmean index_add index_copy index_fill broadcast_to quantile mode histc "
              "max min amax amin prod std cumsum cumprod cummax cummin logcumsumexp "
              "split chunk unbind narrow tensor_split unfold flip fliplr flipud roll tril "
              "triu diag diagonal diag_embed trace repeat_interleave tile movedim moveaxis "
              "swapaxes swapdims t contiguous gather scatter scatter_add scatter_reduce "
              "index_select take take_along_dim masked_fill masked_select nonzero argwhere "
              "sort argsort msort topk kthvalue median").split():
    setattr(Tensor, _name, getattr(ops, _name))
