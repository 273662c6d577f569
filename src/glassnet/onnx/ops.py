"""ONNX nodes for the primitive ops a custom ``forward`` runs between layers (``OPS``).

Each converter maps one glassnet op, known by its node name (``Tensor._op``, e.g.
``"AddBackward"``), to ONNX nodes and returns ``(name, batch_axis)``. The op's settings that
the output's shape does not tell (a softmax's axis, a transpose's dims, an index) are read
from the variables its backward closure keeps: the same values the backward itself uses,
looked up by name; a converter that does not find them raises instead of guessing.
"""
from __future__ import annotations

import math

import numpy as np
from onnx import helper

from .errors import ExportError

__all__ = ["OPS", "gelu_nodes"]

_INT64_MAX, _INT64_MIN = np.iinfo(np.int64).max, np.iinfo(np.int64).min


def _saved(t, *names):
    """The named variables of ``t``'s backward closure (an error naming the op if absent)."""
    fn = t._backward
    cells = dict(zip(getattr(fn, "__code__", None).co_freevars if hasattr(fn, "__code__")
                     else (), [c.cell_contents for c in (getattr(fn, "__closure__", None)
                                                          or ())]))
    missing = [n for n in names if n not in cells]
    if missing:
        raise ExportError(f"onnx.export: cannot read the settings {missing} of op {t._op}; "
                          f"this op is not exported")
    return [cells[n] for n in names]


def _parents(t):
    return [p for p in t._parents if p is not None]


def _moved(p, t, axis):
    """The batch axis of ``p`` seen in ``t`` after broadcasting (leading dims added)."""
    return None if axis is None else axis + (t.ndim - p.ndim)


def _operand(ex, p, t):
    """``p``'s name, cast to ``t``'s dtype when it differs (a Python scalar's constant)."""
    name = ex.name(p)
    if p.array.dtype != t.array.dtype:
        name = ex.g.node("Cast", [name], "cast",
                         to=helper.np_dtype_to_tensor_dtype(t.array.dtype))
    return name


def _binary(op):
    def convert(ex, t):
        a, b = t._parents
        axis = _moved(a, t, ex.axis(a))
        if axis is None:
            axis = _moved(b, t, ex.axis(b))
        return ex.g.node(op, [_operand(ex, a, t), _operand(ex, b, t)], op.lower()), axis
    return convert


def _unary(op, **attrs):
    def convert(ex, t):
        (a,) = _parents(t)
        return ex.g.node(op, [ex.name(a)], op.lower(), **attrs), ex.axis(a)
    return convert


def gelu_nodes(ex, x: str, approximate: str, dtype) -> str:
    """x·Φ(x) (erf) or the tanh approximation, from ONNX primitives (opset 17 has no Gelu)."""
    g = ex.g

    def c(v):
        return g.weight(np.asarray(v, dtype=dtype), "c")
    half = g.node("Mul", [x, c(0.5)])
    if approximate == "tanh":
        cube = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Add", [x, g.node("Mul", [cube, c(0.044715)])])
        th = g.node("Tanh", [g.node("Mul", [inner, c(math.sqrt(2 / math.pi))])])
        return g.node("Mul", [half, g.node("Add", [th, c(1.0)])], "gelu")
    cdf = g.node("Erf", [g.node("Div", [x, c(math.sqrt(2.0))])])
    return g.node("Mul", [half, g.node("Add", [cdf, c(1.0)])], "gelu")


def _gelu(ex, t):
    (a,) = _parents(t)
    fn = t._backward
    tanh = "t" in getattr(getattr(fn, "__code__", None), "co_freevars", ())
    return gelu_nodes(ex, ex.name(a), "tanh" if tanh else "none", t.array.dtype), ex.axis(a)


def _softmax(op):
    def convert(ex, t):
        (a,) = _parents(t)
        (axis,) = _saved(t, "axis")
        return ex.g.node(op, [ex.name(a)], op.lower(), axis=int(axis)), ex.axis(a)
    return convert


def _reshape(ex, t):
    (a,) = _parents(t)
    return ex.reshape(ex.name(a), a.shape, ex.axis(a), t.shape)


def _perm(ex, t, perm):
    (a,) = _parents(t)
    axis = ex.axis(a)
    return (ex.g.node("Transpose", [ex.name(a)], "transpose", perm=list(perm)),
            None if axis is None else list(perm).index(axis))


def _transpose(ex, t):
    d0, d1 = _saved(t, "d0", "d1")
    perm = list(range(t.ndim))
    perm[d0], perm[d1] = perm[d1], perm[d0]
    return _perm(ex, t, perm)


def _permute(ex, t):
    (inverse,) = _saved(t, "inverse")
    return _perm(ex, t, [int(i) for i in np.argsort(inverse)])


def _cat(ex, t):
    (axis,) = _saved(t, "axis")
    ps = _parents(t)
    batch = next((ex.axis(p) for p in ps if ex.axis(p) is not None), None)
    return ex.g.node("Concat", [_operand(ex, p, t) for p in ps], "cat", axis=int(axis)), batch


def _matmul(ex, t):
    a, b = t._parents
    axis = ex.axis(a)
    if axis is not None and axis >= a.ndim - 1 and a.ndim > 1:
        axis = None                                   # a contracted or column dim
    axis = _moved(a, t, axis) if axis is not None else _moved(b, t, ex.axis(b))
    return ex.g.node("MatMul", [ex.name(a), ex.name(b)], "matmul"), axis


def _linear(ex, t):
    x, w, b = t._parents
    g = ex.g
    if x.ndim == 2:
        y = g.node("Gemm", [ex.name(x), ex.name(w)] + ([ex.name(b)] if b is not None else []),
                   "linear", transB=1)
    else:
        y = g.node("MatMul", [ex.name(x), g.node("Transpose", [ex.name(w)], perm=[1, 0])])
        if b is not None:
            y = g.node("Add", [y, ex.name(b)], "linear")
    return y, ex.axis(x)


def _reduced(ex, op, t, a, axes, keepdim):
    """``op`` (ReduceSum/Mean/Max/Min) of ``a`` over ``axes`` (None: all)."""
    axes = list(range(a.ndim)) if axes is None else [int(i) for i in axes]
    inputs, attrs = [ex.name(a)], {"keepdims": int(bool(keepdim))}
    if op == "ReduceSum" or ex.opset >= 18:
        inputs.append(ex.g.ints(axes, "axes"))
    else:
        attrs["axes"] = axes
    axis = ex.axis(a)
    if axis is not None:
        axis = None if axis in axes else (axis if keepdim else
                                          axis - sum(1 for i in axes if i < axis))
    return ex.g.node(op, inputs, op.lower(), **attrs), axis


def _reduce(op):
    def convert(ex, t):
        (a,) = _parents(t)
        axes, keepdim = _saved(t, "axes", "keepdim")
        return _reduced(ex, op, t, a, axes, keepdim)
    return convert


def _extreme(op):
    """``x.max(dim)[0]`` / ``x.min(dim)[0]`` / ``max()`` of all, and ``amax``/``amin``."""
    def convert(ex, t):
        (a,) = _parents(t)
        free = getattr(getattr(t._backward, "__code__", None), "co_freevars", ())
        if "axes" in free:                                    # amax / amin
            (axes,) = _saved(t, "axes")
            return _reduced(ex, op, t, a, axes, t.ndim == a.ndim and a.ndim > 0)
        if "axis" in free:                                    # max(dim) / min(dim)
            axis, keepdim = _saved(t, "axis", "keepdim")
            return _reduced(ex, op, t, a, [axis], keepdim)
        if a.ndim == t.ndim:                                  # max(dim) of a 0-d tensor
            return ex.g.node("Identity", [ex.name(a)], "max"), ex.axis(a)
        return _reduced(ex, op, t, a, None, False)            # max() of all elements
    return convert


def _cast(ex, t):
    (a,) = _parents(t)
    return (ex.g.node("Cast", [ex.name(a)], "cast",
                      to=helper.np_dtype_to_tensor_dtype(t.array.dtype)), ex.axis(a))


def _expand(ex, t):
    (a,) = _parents(t)
    lead = t.ndim - a.ndim
    shape = [1 if k >= lead and a.shape[k - lead] == s else s for k, s in enumerate(t.shape)]
    return (ex.g.node("Expand", [ex.name(a), ex.g.ints(shape, "shape")], "expand"),
            _moved(a, t, ex.axis(a)))


def _getitem(ex, t):
    """Basic indexing: ints, slices, None and ``...`` (index tensors are not exported)."""
    (a,) = _parents(t)
    key, basic = _saved(t, "key", "basic")
    key = key if isinstance(key, tuple) else (key,)
    if not basic or any(not (k is None or k is Ellipsis or isinstance(k, slice) or
                             isinstance(k, (int, np.integer))) for k in key):
        raise ExportError(f"onnx.export: indexing with {key!r} (output {tuple(t.shape)}) is "
                          f"not exported; only ints, slices, None and ... are")
    used = sum(1 for k in key if k is not None and k is not Ellipsis)
    full = []
    for k in key:
        full += [slice(None)] * (a.ndim - used) if k is Ellipsis else [k]
    full += [slice(None)] * (a.ndim - sum(1 for k in full if k is not None))
    g, x, batch = ex.g, ex.name(a), ex.axis(a)
    starts, ends, axes, steps, ints = [], [], [], [], []
    dim, out_axis, new_batch = 0, 0, None
    for k in full:
        if k is None:
            out_axis += 1
            continue
        if isinstance(k, slice):
            if k != slice(None) and k != slice(None, None, 1):
                n = a.shape[dim]
                s0, s1, st = k.indices(n)
                if st < 0 and s1 < 0:
                    s1 = _INT64_MIN
                starts.append(s0)
                ends.append(s1)
                axes.append(dim)
                steps.append(st)
            if dim == batch:
                new_batch = out_axis if k == slice(None) or k == slice(None, None, 1) else None
            out_axis += 1
        else:
            ints.append((dim, int(k)))
        dim += 1
    if axes:
        x = g.node("Slice", [x, g.ints(starts, "starts"), g.ints(ends, "ends"),
                             g.ints(axes, "axes"), g.ints(steps, "steps")], "slice")
    for d, i in sorted(ints, reverse=True):
        x = g.node("Gather", [x, g.weight(np.asarray(i, np.int64), "index")], "select", axis=d)
    if any(k is None for k in full):
        x = g.node("Reshape", [x, g.ints([-1 if k == new_batch else s
                                          for k, s in enumerate(t.shape)], "shape")],
                   "index") if new_batch is not None else \
            g.node("Reshape", [x, g.ints(list(t.shape), "shape")], "index")
    elif not axes and not ints:
        x = g.node("Identity", [x], "index")
    return x, new_batch


OPS = {
    "AddBackward": _binary("Add"), "SubBackward": _binary("Sub"),
    "MulBackward": _binary("Mul"), "DivBackward": _binary("Div"),
    "PowBackward": _binary("Pow"), "MaximumBackward": _binary("Max"),
    "MinimumBackward": _binary("Min"),
    "NegBackward": _unary("Neg"), "ExpBackward": _unary("Exp"), "LogBackward": _unary("Log"),
    "SqrtBackward": _unary("Sqrt"), "AbsBackward": _unary("Abs"),
    "ReluBackward": _unary("Relu"), "SigmoidBackward": _unary("Sigmoid"),
    "TanhBackward": _unary("Tanh"), "CloneBackward": _unary("Identity"),
    "GeluBackward": _gelu,
    "SoftmaxBackward": _softmax("Softmax"), "LogSoftmaxBackward": _softmax("LogSoftmax"),
    "ReshapeBackward": _reshape, "TransposeBackward": _transpose,
    "PermuteBackward": _permute, "CatBackward": _cat, "ExpandBackward": _expand,
    "IndexBackward": _getitem, "MmBackward": _matmul, "AddmmBackward": _linear,
    "SumBackward": _reduce("ReduceSum"), "MeanBackward": _reduce("ReduceMean"),
    "ToCopyBackward": _cast,
    "MaxBackward": _extreme("ReduceMax"), "MinBackward": _extreme("ReduceMin"),
    "AmaxBackward": _extreme("ReduceMax"), "AminBackward": _extreme("ReduceMin"),
}
