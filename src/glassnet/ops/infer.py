"""Inference in one call: a chain of convolutions, linear maps, pools, batch norms and
activations planned once for an input shape and then run by one compiled kernel
(``infer_chain`` in ``ops/kernels/infer.c``), with MKL's products called from C.

Why: one image through the cnn workload's model (two convolutions, two pools, two linear
layers) is ~8 MFLOP, about 50 µs of products; op by op, each of its ten layers also pays
~10 µs of Python and NumPy dispatch. Run as one call, the layers' Python is paid once.

A step is a tuple naming a layer and its settings; weights and statistics come as Tensors,
read at every call (so an optimizer's in-place update or a loaded state is seen; a replaced
array is bound again):

    ("conv2d", weight, bias, (sh, sw), ((top, bottom), (left, right)), (dh, dw))
    ("linear", weight, bias)          # (N, F) or (N, C, H, W) flattened: F = C·H·W
    ("max_pool2d", (kh, kw), (sh, sw), (ph, pw), (dh, dw))
    ("avg_pool2d", (kh, kw), (sh, sw), (ph, pw), count_include_pad)
    ("adaptive_avg_pool2d", (Ho, Wo))
    ("batch_norm", running_mean, running_var, weight, bias, eps[, rank])   # running statistics
    ("relu",), ("sigmoid",), ("tanh",), ("leaky_relu", slope)
    ("flatten",)                      # (N, C, H, W) → (N, C·H·W): free in this layout

Weights and bias may be None where the layer has none. :func:`plan` returns a
:class:`Chain` or None where the chain cannot run here: compiled kernels or MKL off, a
weight that is not float32 or not contiguous, shapes that do not fit (the layers' own forward
then runs and raises its usual error). Values match the layers run one by one within float32
rounding (the products' summation order differs).
"""
import threading

import numpy as np

from .. import blas
from . import _fast

__all__ = ["plan", "Chain"]

_F32 = np.dtype(np.float32)
_ACT = {"relu": 1, "sigmoid": 2, "tanh": 3, "leaky_relu": 4}
_CONV, _LINEAR, _MAX_POOL, _ALONE, _NORM, _AVG_POOL, _ADAPTIVE = range(7)


def plan(steps, shape):
    """A :class:`Chain` running ``steps`` on float32 inputs of ``shape``, or None."""
    k = _fast.kernels()
    if k is None or blas.gemm_address(_F32) is None or len(shape) not in (2, 4):
        return None
    try:
        return Chain(k, steps, tuple(int(n) for n in shape))
    except _Unfit:
        return None


class _Unfit(Exception):
    """A step does not fit the input it gets (the layers' forward will say how)."""


class Chain:
    """The planned chain: ``chain(x)`` → a new output array (x float32, C-contiguous, of the
    planned shape), or None where it cannot run now (a weight changed dtype or layout, or
    another thread is running this chain). ``str(chain)`` lists its steps and shapes."""

    def __init__(self, k, steps, shape):
        self._k, self._lock = k, threading.Lock()
        self.shape, self.lines = shape, []
        specs = []          # per compiled step: {kind, act, alpha, fields, tensors, out}
        cur = shape
        for step in steps:
            name, args = step[0], step[1:]
            if name == "flatten":
                if len(cur) != 4:
                    raise _Unfit
                cur = (cur[0], cur[1] * cur[2] * cur[3])
                self.lines.append(f"flatten → {cur}")
            elif name in _ACT:
                alpha = float(args[0]) if args else 0.0
                label = name + (f"({alpha:g})" if args else "")
                if specs and specs[-1]["act"] == 0:     # into the step before: same pass
                    specs[-1].update(act=_ACT[name], alpha=alpha)
                    self.lines[-1] += f" + {label}"
                else:
                    specs.append(dict(kind=_ALONE, act=_ACT[name], alpha=alpha,
                                      fields=_geometry(cur, cur), tensors={}, out=cur))
                    self.lines.append(f"{label} → {cur}")
            elif name in _STEPS:
                kind, out, fields, tensors = _STEPS[name](cur, *args)
                specs.append(dict(kind=kind, act=0, alpha=0.0, fields=fields,
                                  tensors=tensors, out=out))
                self.lines.append(f"{name} {_settings(name, args)} → {out}")
                cur = out
            else:
                raise ValueError(f"ops.infer.plan: unknown step {name!r}; expected one of "
                                 f"{sorted([*_STEPS, *_ACT, 'flatten'])}")
        if not specs:
            raise _Unfit
        self.out_shape = cur
        self._tensors = [(i, field, t) for i, spec in enumerate(specs)
                         for field, t in spec["tensors"].items()]
        self._shapes = [t.shape for _, _, t in self._tensors]
        self._build(specs)
        self._bound = None

    def _build(self, specs) -> None:
        ffi = self._k.ffi
        self._steps = ffi.new("infer_step[]", len(specs))
        self._keep = []                                   # buffers the steps point into
        cols = max((g["C"] * g["kh"] * g["kw"] * g["Ho"] * g["Wo"] for spec in specs
                    if spec["kind"] == _CONV for g in (spec["fields"],)), default=0)
        cols = np.empty(max(cols, 1), _F32)
        self._keep.append(cols)
        prev = None
        for i, spec in enumerate(specs):
            s = self._steps[i]
            s.kind, s.act, s.alpha = spec["kind"], spec["act"], spec["alpha"]
            for name, value in spec["fields"].items():
                setattr(s, name, value)
            s.cols = ffi.from_buffer("float[]", cols)
            if prev is not None:
                s.src = prev
            if i < len(specs) - 1:                        # the last writes the caller's array
                buf = np.empty(spec["out"], _F32)
                self._keep.append(buf)
                prev = s.dst = ffi.from_buffer("float[]", buf)

    def _bind(self, arrays) -> bool:
        """Point the steps at the Tensors' current arrays (False: one no longer fits)."""
        ffi, keep = self._k.ffi, []
        for (i, field, _), a, shape in zip(self._tensors, arrays, self._shapes):
            if type(a) is not np.ndarray or a.dtype is not _F32 or \
                    not a.flags.c_contiguous or a.shape != shape:
                return False
            p = ffi.from_buffer("float[]", a)
            keep.append(p)
            setattr(self._steps[i], field, p)
        self._bound = list(arrays)
        self._pointers = keep
        return True

    def __call__(self, x):
        fn = blas.gemm_address(_F32)
        if fn is None or _fast.kernels() is not self._k or type(x) is not np.ndarray or \
                x.dtype is not _F32 or x.shape != self.shape or not x.flags.c_contiguous:
            return None
        if not self._lock.acquire(blocking=False):
            return None
        try:
            arrays = [t.array for _, _, t in self._tensors]
            bound = self._bound
            if (bound is None or any(a is not b for a, b in zip(arrays, bound))) and \
                    not self._bind(arrays):
                return None
            ffi, steps, n = self._k.ffi, self._steps, len(self._steps)
            out = np.empty(self.out_shape, _F32)
            steps[0].src = ffi.from_buffer("float[]", x)
            steps[n - 1].dst = ffi.from_buffer("float[]", out)
            self._k.lib.infer_chain(fn, steps, n)
            _fast.note("infer_chain")
        finally:
            self._lock.release()
        return out

    def __str__(self) -> str:
        return "\n".join([f"inference chain for input {self.shape}:"] +
                         [f"  {i}. {line}" for i, line in enumerate(self.lines)])


def _geometry(cur, out, **window) -> dict:
    """The step's C fields: input (N, C, H, W), output channels and size, window settings."""
    N, C, H, W = (cur + (1, 1))[:4] if len(cur) == 2 else cur
    Co, Ho, Wo = (out[1], 1, 1) if len(out) == 2 else out[1:]
    g = dict(N=N, C=C, H=H, W=W, Co=Co, Ho=Ho, Wo=Wo, kh=1, kw=1, sh=1, sw=1, pt=0, pl=0,
             dh=1, dw=1)
    g.update(window)
    return g


def _window_out(size, k, s, lo, hi, d=1) -> int:
    return (size + lo + hi - d * (k - 1) - 1) // s + 1


def _params(**tensors) -> dict:
    """The step's Tensor fields, those that are present."""
    return {field: t for field, t in tensors.items() if t is not None}


def _conv2d(cur, weight, bias, stride, pads, dilation):
    if len(cur) != 4 or weight.ndim != 4 or weight.shape[1] != cur[1] or \
            (bias is not None and bias.shape != (weight.shape[0],)):
        raise _Unfit
    Co, _, kh, kw = weight.shape
    (pt, pb), (pl, pr) = pads
    Ho = _window_out(cur[2], kh, stride[0], pt, pb, dilation[0])
    Wo = _window_out(cur[3], kw, stride[1], pl, pr, dilation[1])
    if Ho < 1 or Wo < 1:
        raise _Unfit
    out = (cur[0], Co, Ho, Wo)
    return _CONV, out, _geometry(cur, out, kh=kh, kw=kw, sh=stride[0], sw=stride[1], pt=pt,
                                 pl=pl, dh=dilation[0], dw=dilation[1]), \
        _params(w=weight, b=bias)


def _linear(cur, weight, bias):
    if len(cur) != 2 or weight.ndim != 2 or weight.shape[1] != cur[1] or \
            (bias is not None and bias.shape != (weight.shape[0],)):
        raise _Unfit
    out = (cur[0], weight.shape[0])
    return _LINEAR, out, _geometry(cur, out), _params(w=weight, b=bias)


def _pooled(cur, kernel, stride, padding, dilation=(1, 1)):
    if len(cur) != 4:
        raise _Unfit
    Ho = _window_out(cur[2], kernel[0], stride[0], padding[0], padding[0], dilation[0])
    Wo = _window_out(cur[3], kernel[1], stride[1], padding[1], padding[1], dilation[1])
    if Ho < 1 or Wo < 1:
        raise _Unfit
    out = (cur[0], cur[1], Ho, Wo)
    return out, _geometry(cur, out, kh=kernel[0], kw=kernel[1], sh=stride[0], sw=stride[1],
                          pt=padding[0], pl=padding[1], dh=dilation[0], dw=dilation[1])


def _max_pool2d(cur, kernel, stride, padding, dilation):
    out, fields = _pooled(cur, kernel, stride, padding, dilation)
    return _MAX_POOL, out, fields, {}


def _avg_pool2d(cur, kernel, stride, padding, count_include_pad):
    out, fields = _pooled(cur, kernel, stride, padding)
    fields["count_pad"] = int(bool(count_include_pad))
    return _AVG_POOL, out, fields, {}


def _adaptive_avg_pool2d(cur, size):
    if len(cur) != 4:
        raise _Unfit
    size = size if isinstance(size, (tuple, list)) else (size, size)
    out = (cur[0], cur[1]) + tuple(int(c if s is None else s) for s, c in zip(size, cur[2:]))
    return _ADAPTIVE, out, _geometry(cur, out), {}


def _batch_norm(cur, mean, var, weight, bias, eps, rank=None):
    C = cur[1]
    if rank is not None and len(cur) != rank or \
            any(t is not None and t.shape != (C,) for t in (mean, var, weight, bias)):
        raise _Unfit
    fields = _geometry(cur, cur)
    fields["eps"] = float(eps)
    return _NORM, cur, fields, _params(mean=mean, var=var, w=weight, b=bias)


_STEPS = {"conv2d": _conv2d, "linear": _linear, "max_pool2d": _max_pool2d,
          "avg_pool2d": _avg_pool2d, "adaptive_avg_pool2d": _adaptive_avg_pool2d,
          "batch_norm": _batch_norm}


def _settings(name: str, args) -> str:
    if name == "linear":
        return f"{args[0].shape[1]}→{args[0].shape[0]}" + (" + bias" if args[1] is not None
                                                           else "")
    if name == "conv2d":
        w = args[0]
        return (f"{w.shape[1]}→{w.shape[0]} {w.shape[2]}x{w.shape[3]} stride {args[2]} "
                f"padding {args[3]} dilation {args[4]}" + (" + bias" if args[1] is not None
                                                            else ""))
    if name == "batch_norm":
        return f"{args[0].shape[0]} channels, eps {args[4]:g}"
    if name == "adaptive_avg_pool2d":
        return f"to {args[0]}"
    extra = (f"dilation {args[3]}" if name == "max_pool2d" else
             f"count_include_pad={bool(args[3])}")
    return f"kernel {args[0]} stride {args[1]} padding {args[2]} {extra}"
