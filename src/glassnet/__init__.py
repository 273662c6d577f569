"""glassnet: a deep-learning framework whose engine is written from first principles on NumPy.

    import glassnet as gn
    x = gn.tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == 2·x
"""
from .ops import (abs, add, argmax, argmin, cat, clamp, clip, concat, div, exp, flatten,  # noqa: A004
                  gelu, leaky_relu, log, log_softmax, logsumexp, matmul, max, maximum, mean,
                  min, minimum, mul, neg, pad, permute, pow, relu, reshape, sigmoid, softmax,
                  sqrt, squeeze, stack, sub, sum, tanh, transpose, unsqueeze, var, where)
from .ops import (acos, acosh, all, allclose, any, arccos, arccosh, arcsin, arcsinh,  # noqa: A004
                  arctan, arctan2, arctanh, asin, asinh, atan, atan2, atanh, bitwise_and,
                  bitwise_left_shift, bitwise_not, bitwise_or, bitwise_right_shift,
                  bitwise_xor, ceil, copysign, cos, cosh, eq, equal, erf, erfc, erfinv, exp2,
                  expm1, fix, floor, floor_divide, fmod, frac, ge, greater, greater_equal, gt,
                  isclose, isfinite, isinf, isnan, isneginf, isposinf, le, lerp, less,
                  less_equal, log1p, log2, log10, logaddexp, logical_and, logical_not,
                  logical_or, logical_xor, lt, ne, not_equal, reciprocal, remainder, round,
                  rsqrt, sign, sin, sinh, square, tan, trunc)
from .ops import (celu, elu, hardsigmoid, hardswish, hardtanh, logsigmoid, mish, relu6,
                  selu, silu, softmin, softplus, softsign, tanhshrink)
from .ops import (absolute, deg2rad, divide, float_power, fmax, fmin, glu, hardshrink,  # noqa: A004
                  heaviside, hypot, logaddexp2, logit, multiply, nan_to_num, negative,
                  positive, prelu, rad2deg, sgn, signbit, sinc, softshrink, subtract,
                  true_divide, xlogy)
from .ops import addcdiv, addcmul, clamp_max, clamp_min, digamma, lgamma
from . import special  # noqa: E402  (torch.special's names)
from . import _bind  # noqa: F401,E402  (operators and methods onto Tensor)
from .tensor import (Tensor, enable_grad, float32, float64, inference_mode, int64,
                     is_grad_enabled, manual_seed, no_grad, set_grad_enabled, tensor)

from .version import __version__  # noqa: E402

__all__ = [
    "Tensor", "tensor", "no_grad", "enable_grad", "is_grad_enabled", "manual_seed",
    "set_grad_enabled", "inference_mode", "autograd", "errors",
    "float32", "float64", "int64", "zeros", "ones", "randn", "rand", "arange", "zeros_like",
    "ones_like", "from_numpy",
    "abs", "add", "argmax", "argmin", "cat", "clamp", "clip", "concat", "div", "exp",
    "flatten", "gelu", "leaky_relu", "log", "log_softmax", "logsumexp", "matmul", "max",
    "maximum", "mean", "min", "minimum", "mul", "neg", "pad", "permute", "pow", "relu",
    "reshape", "sigmoid", "softmax", "sqrt", "squeeze", "stack", "sub", "sum", "tanh",
    "transpose", "unsqueeze", "var", "where", "__version__", "nn", "optim", "data", "train", "io",
    "inspect", "viz", "backend",
]
__all__ += [  # element-wise maths, logic and activations (ops/math.py, logic.py, activation_ext.py)
    "acos", "acosh", "all", "allclose", "any", "arccos", "arccosh", "arcsin", "arcsinh",
    "arctan", "arctan2", "arctanh", "asin", "asinh", "atan", "atan2", "atanh", "bitwise_and",
    "bitwise_left_shift", "bitwise_not", "bitwise_or", "bitwise_right_shift", "bitwise_xor",
    "ceil", "copysign", "cos", "cosh", "eq", "equal", "erf", "erfc", "erfinv", "exp2", "expm1",
    "fix", "floor", "floor_divide", "fmod", "frac", "ge", "greater", "greater_equal", "gt",
    "isclose", "isfinite", "isinf", "isnan", "isneginf", "isposinf", "le", "lerp", "less",
    "less_equal", "log1p", "log2", "log10", "logaddexp", "logical_and", "logical_not",
    "logical_or", "logical_xor", "lt", "ne", "not_equal", "reciprocal", "remainder", "round",
    "rsqrt", "sign", "sin", "sinh", "square", "tan", "trunc",
    "celu", "elu", "hardsigmoid", "hardswish", "hardtanh", "logsigmoid", "mish", "relu6",
    "selu", "silu", "softmin", "softplus", "softsign", "tanhshrink",
    "absolute", "deg2rad", "divide", "float_power", "fmax", "fmin", "glu", "hardshrink",
    "heaviside", "hypot", "logaddexp2", "logit", "multiply", "nan_to_num", "negative",
    "positive", "prelu", "rad2deg", "sgn", "signbit", "sinc", "softshrink", "subtract",
    "true_divide", "xlogy", "addcdiv", "addcmul", "clamp_max", "clamp_min", "digamma",
    "lgamma", "special", "set_flush_denormal"]

from . import autograd, backend, data, errors, io, nn, optim, train  # noqa: E402
from . import inspect, viz  # noqa: E402,A004  (viz imports matplotlib only when plotting)
from . import onnx  # noqa: E402  (gn.onnx.export; the onnx package is imported only by export)
__all__ += ["onnx"]
from .factory import arange, from_numpy, ones, ones_like, rand, randn, zeros, zeros_like  # noqa: E402


# shape, reduction, indexing, ordering ops and constructors (ops/stats, scan, index, ordering,
# pieces, arrange, triangular, einstein; factory)
from .ops import (amax, amin, argsort, argwhere, chunk, cummax, cummin, cumprod,  # noqa: E402
                  cumsum, diag, diag_embed, diagonal, einsum, flip, fliplr, flipud, gather,
                  index_select, kthvalue, logcumsumexp, masked_fill, masked_select, median,
                  meshgrid, moveaxis, movedim, msort, narrow, nonzero, prod,
                  repeat_interleave, roll, scatter, scatter_add, scatter_reduce, sort, split,
                  std, std_mean, swapaxes, swapdims, t, take, take_along_dim, tensor_split,
                  tile, topk, trace, tril, triu, unbind, var_mean)
from .ops import (aminmax, atleast_1d, atleast_2d, atleast_3d, bincount,  # noqa: E402
                  block_diag, broadcast_shapes, broadcast_tensors, broadcast_to, bucketize,
                  cartesian_prod, column_stack, concatenate, count_nonzero, diff, dstack, histc,
                  hstack, index_add, index_copy, index_fill, is_complex, is_floating_point,
                  kron, mode, nanmean, nansum, quantile, ravel, rot90, row_stack, searchsorted,
                  select, tensordot, unflatten, unique, vstack)
from .ops import (cdist, corrcoef, cov, diagflat, dist, dsplit, hsplit, vsplit)  # noqa: E402
from .ops.stats import norm  # noqa: E402  (ops.norm is the normalisation module)
from .ops.fp import set_flush_denormal  # noqa: E402
from .factory import (empty, empty_like, eye, full, full_like, linspace, logspace,  # noqa: E402
                      rand_like, randint, randint_like, randn_like, randperm, tril_indices,
                      triu_indices, bernoulli, multinomial, normal)
__all__ += [
    "aminmax", "atleast_1d", "atleast_2d", "atleast_3d", "bincount", "block_diag",
    "broadcast_shapes", "broadcast_tensors", "broadcast_to", "bucketize", "cartesian_prod",
    "column_stack", "concatenate", "count_nonzero", "diff", "dstack", "histc", "hstack",
    "index_add", "index_copy", "index_fill", "is_complex", "is_floating_point", "kron", "mode",
    "nanmean", "nansum", "quantile", "ravel", "rot90", "row_stack", "searchsorted", "select",
    "tensordot", "unflatten", "unique", "vstack", "randperm", "tril_indices", "triu_indices",
    "bernoulli", "multinomial", "normal", "cdist", "corrcoef", "cov", "diagflat", "dist",
    "dsplit", "hsplit", "vsplit",
    "amax", "amin", "argsort", "argwhere", "chunk", "cummax", "cummin", "cumprod", "cumsum",
    "diag", "diag_embed", "diagonal", "einsum", "flip", "fliplr", "flipud", "gather",
    "index_select", "kthvalue", "logcumsumexp", "masked_fill", "masked_select", "median",
    "meshgrid", "moveaxis", "movedim", "msort", "narrow", "nonzero", "norm", "prod",
    "repeat_interleave", "roll", "scatter", "scatter_add", "scatter_reduce", "sort", "split",
    "std", "std_mean", "swapaxes", "swapdims", "t", "take", "take_along_dim", "tensor_split",
    "tile", "topk", "trace", "tril", "triu", "unbind", "var_mean",
    "empty", "empty_like", "eye", "full", "full_like", "linspace", "logspace", "rand_like",
    "randint", "randint_like", "randn_like"]
