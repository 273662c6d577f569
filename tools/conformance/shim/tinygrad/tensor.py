"""Adapter: tinygrad's ``Tensor`` spelled over glassnet's PyTorch-shaped API.

Every method is forwarded to the glassnet tensor of the same name; only tinygrad's
spellings of what PyTorch names otherwise are translated here (``axis=`` stays, glassnet
accepts it; ``cast`` -> ``to``; ``dot`` -> ``matmul``; conv/pool argument order; ``pad``
given per dimension; losses named ``sparse_categorical_crossentropy`` ...). tinygrad returns
int32 indices where PyTorch returns int64: the adapter casts indices to int32 (the tests
compare against ``torch_result.int()``). Features with no PyTorch equivalent raise
``unittest.SkipTest`` (counted as "skipped by the adapter").
"""
from __future__ import annotations

import unittest
from types import SimpleNamespace

import numpy as np
import torch

import glassnet as gn
import glassnet.nn.functional as F

_TORCH_TO_NP = {torch.float32: np.float32, torch.float64: np.float64, torch.float16: np.float16,
                torch.int32: np.int32, torch.int64: np.int64, torch.int16: np.int16,
                torch.int8: np.int8, torch.uint8: np.uint8, torch.bool: np.bool_,
                torch.uint32: np.uint32, torch.uint64: np.uint64, torch.uint16: np.uint16}


def _py(v):
    return v.item() if hasattr(v, "item") else v


class DType:
    """A numpy dtype with tinygrad's ``.max``/``.min``; compares equal to the numpy dtype."""

    def __init__(self, t):
        self.np = np.dtype(t)
        info = np.finfo(self.np) if np.issubdtype(self.np, np.floating) else \
            (np.iinfo(self.np) if np.issubdtype(self.np, np.integer) else None)
        self.max = True if info is None else _py(info.max)
        self.min = False if info is None else _py(info.min)
        self.itemsize = self.np.itemsize

    def __eq__(self, other):
        return self.np == (other.np if isinstance(other, DType) else other)

    def __hash__(self):
        return hash(self.np)

    def __repr__(self):
        return f"dtypes.{self.np.name}"


class _DTypes:
    bool = DType(np.bool_)
    int8, int16, int32, int64 = (DType(t) for t in (np.int8, np.int16, np.int32, np.int64))
    uint8, uint16, uint32, uint64 = (DType(t) for t in (np.uint8, np.uint16, np.uint32,
                                                        np.uint64))
    half = float16 = DType(np.float16)
    float = float32 = DType(np.float32)
    double = float64 = DType(np.float64)
    int = int32
    default_float = float32
    default_int = int32
    bfloat16 = None

    @staticmethod
    def is_float(d):
        return np.issubdtype(np.dtype(d), np.floating)

    @staticmethod
    def is_int(d):
        return np.issubdtype(np.dtype(d), np.integer)


dtypes = _DTypes()


def _np_dtype(d):
    if isinstance(d, DType):
        return d.np
    if isinstance(d, torch.dtype):
        return np.dtype(_TORCH_TO_NP[d])
    if d == "int":  # tinygrad's "int" is int32 (NumPy's is int64)
        return np.dtype(np.int32)
    return np.dtype(d)


def _to_np_dtype(d):
    return _np_dtype(d).type


class _Renderer:
    @staticmethod
    def supported_dtypes():
        return [dtypes.bool, dtypes.int8, dtypes.int16, dtypes.int32, dtypes.int64,
                dtypes.uint8, dtypes.uint32, dtypes.uint64, dtypes.half, dtypes.float32,
                dtypes.float64]


class _DeviceMeta(type):
    def __getitem__(cls, name):
        return SimpleNamespace(renderer=_Renderer(), compiler=None)


class Device(metaclass=_DeviceMeta):
    DEFAULT = "CPU"

    @staticmethod
    def canonicalize(d):
        return "CPU"


def skip(what):
    raise unittest.SkipTest(f"adapter: tinygrad-only feature ({what})")


def _unwrap(a):
    if isinstance(a, Tensor):
        return a.t
    if isinstance(a, (torch.dtype, DType)):
        return _np_dtype(a)
    if isinstance(a, list):
        return [_unwrap(x) for x in a]
    if isinstance(a, tuple):
        return tuple(_unwrap(x) for x in a)
    return a


def _wrap(r):
    if isinstance(r, gn.Tensor):
        return Tensor(r)
    if isinstance(r, tuple):  # named tuples (values, indices) come back as plain tuples
        return tuple(_wrap(x) for x in r)
    if isinstance(r, list):
        return [_wrap(x) for x in r]
    return r


def _has_int64(args):
    for a in args:
        if isinstance(a, Tensor) and a.t.dtype == np.int64:
            return True
        if isinstance(a, (list, tuple)) and _has_int64(a):
            return True
    return False


def _int32(r):
    if isinstance(r, Tensor) and r.t.dtype == np.int64 and (
            r.t.numel() == 0 or (abs(r.t.array).max() < 2**31)):
        return Tensor(r.t.to(np.int32))
    if isinstance(r, (tuple, list)):
        return type(r)(_int32(x) for x in r)
    return r


def _call(fn, *args, **kw):
    """Call a glassnet function. tinygrad's default int is int32 (PyTorch's int64): an int64
    result from operands none of which is int64 (indices, Python ints) becomes int32."""
    r = _wrap(fn(*_unwrap(args), **{k: _unwrap(v) for k, v in kw.items()}))
    if kw.get("dtype") is None and not _has_int64(args) and not _has_int64(kw.values()):
        r = _int32(r)
    return r


def _idx32(r):
    """tinygrad's index results are int32 (PyTorch's int64): cast, as the tests expect."""
    if isinstance(r, Tensor) and r.t.dtype == np.int64:
        return Tensor(r.t.to(np.int32))
    return r


def _torch_pad(padding, ndim):
    """tinygrad's per-dimension ((before, after) or None, ...) -> F.pad's flat last-first."""
    if all(isinstance(p, int) for p in padding):
        return tuple(padding)
    flat = []
    for p in reversed(list(padding) + [None] * (ndim - len(padding))):
        flat += [0, 0] if p is None else list(p)
    return tuple(flat)


# tinygrad names -> glassnet functions taking the tensor first
_ALIASES = {"swish": "silu", "dot": "matmul", "mod": "remainder",
            "lshift": "bitwise_left_shift", "rshift": "bitwise_right_shift"}
_INDEX_METHODS = {"argmax", "argmin", "argsort", "nonzero"}
_PAIR_INDEX = {"sort", "topk", "cummax", "cummin", "max", "min", "median", "kthvalue", "mode"}
_TINY_ONLY = {"quick_gelu", "bitcast", "shard", "schedule", "lazydata", "uop",
              "rearrange", "batchnorm", "scaled_uniform", "glorot_uniform", "kaiming_uniform",
              "kaiming_normal", "max_unpool2d", "pool", "to_", "keccak", "polyN"}


class _TensorMeta(type):
    def __getattr__(cls, name):
        if name.startswith("__") or name in _TINY_ONLY:
            if name in _TINY_ONLY:
                return lambda *a, **k: skip(name)
            raise AttributeError(name)
        fn = getattr(gn, _ALIASES.get(name, name), None)
        if fn is not None and callable(fn):
            def static(*args, **kw):
                if args and isinstance(args[0], Tensor):
                    return getattr(args[0], name)(*args[1:], **kw)
                if "dtype" in kw:
                    kw["dtype"] = _np_dtype(kw["dtype"])
                r = _call(fn, *args, **kw)
                if isinstance(r, Tensor) and np.issubdtype(r.t.dtype, np.floating):
                    r.t.requires_grad_(True)  # tinygrad differentiates any float tensor
                return r
            return static
        def unbound(self, *args, **kw):
            return getattr(self, name)(*args, **kw)
        return unbound


class Tensor(metaclass=_TensorMeta):
    __slots__ = ("t",)
    training = False
    no_grad = False

    def __init__(self, data, device=None, dtype=None, requires_grad=None):
        if isinstance(data, gn.Tensor):
            self.t = data
            return
        if isinstance(data, Tensor):
            self.t = data.t
            return
        if isinstance(data, (bytes, memoryview)):
            skip("Tensor from bytes")
        t = gn.tensor(data, dtype=None if dtype is None else _np_dtype(dtype))
        if dtype is None and t.dtype == np.int64 and not isinstance(data, np.ndarray):
            t = t.to(np.int32)  # tinygrad's default int
        if requires_grad is None:  # tinygrad differentiates any float tensor
            requires_grad = np.issubdtype(t.dtype, np.floating)
        if requires_grad:
            t.requires_grad_(True)
        self.t = t

    # ---- tinygrad-only plumbing
    def realize(self, *others):
        return self

    def contiguous(self):
        return self

    def numpy(self):
        return np.asarray(self.t.detach().numpy())

    def gradient(self, *targets):
        gs = gn.autograd.grad(self.t, [x.t for x in targets], allow_unused=True)
        return [Tensor(g if g is not None else gn.zeros_like(x.t)) for g, x in zip(gs, targets)]

    @property
    def shape(self):
        return tuple(self.t.shape)

    @property
    def dtype(self):
        return DType(self.t.dtype)

    @property
    def ndim(self):
        return self.t.ndim

    @property
    def grad(self):
        g = self.t.grad
        return None if g is None else Tensor(g)

    @property
    def requires_grad(self):
        return self.t.requires_grad

    @property
    def device(self):
        return "CPU"

    @property
    def T(self):  # noqa: N802
        return Tensor(self.t.T)

    def __repr__(self):
        return f"<shim {self.t!r}>"

    def __len__(self):
        return len(self.t)

    def __bool__(self):
        return bool(self.t)

    def __iter__(self):
        return iter([Tensor(x) for x in self.t])

    def __getitem__(self, k):
        return _call(self.t.__getitem__, k)

    def __setitem__(self, k, v):
        _call(self.t.__setitem__, k, v)

    # ---- translated spellings
    def assign(self, v):  # in place, like PyTorch's copy_
        with gn.no_grad():
            self.t.array[...] = np.asarray(v.t.array if isinstance(v, Tensor) else v)
        return self

    def where(self, x, y):  # tinygrad: self is the condition
        return _call(gn.where, self, x, y)

    def isinf(self, detect_positive=True, detect_negative=True):
        if detect_positive and detect_negative:
            return _call(gn.isinf, self)
        if detect_positive:
            return _call(gn.isposinf, self)
        if detect_negative:
            return _call(gn.isneginf, self)
        return _call(gn.zeros_like, self, dtype=np.bool_)

    def logcumsumexp(self, axis=0):
        return _call(gn.logcumsumexp, self, axis)

    def reshape(self, shape, *args):
        shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape, *args)
        shape = tuple(self.shape[i] if s is None else s for i, s in enumerate(shape))
        return _call(self.t.reshape, shape)

    @staticmethod
    def normal(*shape, mean=0.0, std=1.0, **kw):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return Tensor(gn.empty(*shape).normal_(mean, std))

    @staticmethod
    def uniform(*shape, low=0.0, high=1.0, **kw):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return Tensor(gn.empty(*shape).uniform_(low, high))

    @staticmethod
    def randint(*shape, low=0, high=10, dtype=None, **kw):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        if any(s < 0 for s in shape):
            raise ValueError(f"randint: negative dimension in {shape}")
        return _call(gn.randint, low, high, tuple(shape)).cast(dtype or dtypes.int32)

    def cast(self, dtype):
        return Tensor(self.t.to(_np_dtype(dtype)))

    def to(self, device):
        return self

    def pad(self, padding, value=0.0, mode="constant"):
        return _call(F.pad, self, _torch_pad(padding, self.ndim), mode=mode, value=value)

    def cat(self, *others, dim=0):
        return _call(gn.cat, [self, *others], dim=dim)

    @staticmethod
    def stack(*ts, dim=0):
        if len(ts) == 1 and isinstance(ts[0], (list, tuple)):
            ts = ts[0]
        return _call(gn.stack, list(ts), dim=dim)

    @staticmethod
    def einsum(formula, *operands):
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = operands[0]
        return _call(gn.einsum, formula, *operands)

    def _conv_pad(self, padding, nd):
        if isinstance(padding, (tuple, list)) and len(padding) == 2 * nd:
            # tinygrad: per side, last dim first like F.pad
            return Tensor(F.pad(self.t, tuple(padding))), 0
        return self, padding

    def conv2d(self, weight, bias=None, groups=1, stride=1, dilation=1, padding=0, dtype=None):
        nd = weight.ndim - 2
        x, padding = self._conv_pad(padding, nd)
        fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}.get(nd)
        if fn is None:
            skip(f"{nd}-d convolution")
        return _call(fn, x, weight, bias, stride=stride, padding=padding, dilation=dilation,
                     groups=groups)

    def conv_transpose2d(self, weight, bias=None, groups=1, stride=1, dilation=1, padding=0,
                         output_padding=0):
        nd = weight.ndim - 2
        fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d,
              3: getattr(F, "conv_transpose3d", None)}.get(nd)
        if fn is None:
            skip(f"{nd}-d transposed convolution")
        return _call(fn, self, weight, bias, stride=stride, padding=padding,
                     output_padding=output_padding, groups=groups, dilation=dilation)

    def _pool(self, name, kernel_size, **kw):
        nd = self.ndim - 2
        fn = getattr(F, f"{name}_pool{nd}d", None)
        if fn is None:
            skip(f"{nd}-d {name} pooling")
        return _call(fn, self, kernel_size, **kw)

    def max_pool2d(self, kernel_size=(2, 2), stride=None, dilation=1, padding=0,
                   ceil_mode=False, return_indices=False):
        nd = self.ndim - 2
        if isinstance(padding, (tuple, list)) and len(padding) == 2 * nd and not return_indices:
            self, padding = Tensor(F.pad(self.t, tuple(padding), value=float("-inf"))), 0
        r = self._pool("max", kernel_size, stride=stride, dilation=dilation, padding=padding,
                       ceil_mode=ceil_mode, return_indices=return_indices)
        return (r[0], _idx32(r[1])) if return_indices else r

    def avg_pool2d(self, kernel_size=(2, 2), stride=None, dilation=1, padding=0,
                   ceil_mode=False, count_include_pad=True):
        if dilation not in (1, (1, 1), (1,), (1, 1, 1)):
            skip("dilated average pooling (PyTorch has none)")
        return self._pool("avg", kernel_size, stride=stride, padding=padding,
                          ceil_mode=ceil_mode, count_include_pad=count_include_pad)

    def interpolate(self, size, mode="linear", align_corners=False):
        nd = self.ndim - 2
        if mode == "linear" and nd == 2:
            mode = "bilinear"
        elif mode == "linear" and nd == 3:
            mode = "trilinear"
        kw = {} if mode.startswith("nearest") else {"align_corners": align_corners}
        return _call(F.interpolate, self, size=size, mode=mode, **kw)

    def scaled_dot_product_attention(self, key, value, attn_mask=None, dropout_p=0.0,
                                     is_causal=False, enable_gqa=False):
        return _call(F.scaled_dot_product_attention, self, key, value, attn_mask=attn_mask,
                     dropout_p=dropout_p, is_causal=is_causal,
                     **({"enable_gqa": True} if enable_gqa else {}))

    def sparse_categorical_crossentropy(self, Y, ignore_index=-1, label_smoothing=0.0,
                                        reduction="mean"):
        x = self if self.ndim <= 2 else Tensor(self.t.movedim(-1, 1))  # classes last -> dim 1
        return _call(F.cross_entropy, x, Y.t.to(np.int64), ignore_index=ignore_index,
                     label_smoothing=label_smoothing, reduction=reduction)

    def cross_entropy(self, Y, reduction="mean", label_smoothing=0.0):
        return _call(F.cross_entropy, self, Y, reduction=reduction,
                     label_smoothing=label_smoothing)

    def nll_loss(self, Y, weight=None, ignore_index=None, reduction="mean"):
        kw = {} if ignore_index is None else {"ignore_index": ignore_index}
        return _call(F.nll_loss, self, Y.t.to(np.int64), weight=weight, reduction=reduction,
                     **kw)

    def binary_crossentropy(self, Y, reduction="mean"):
        return _call(F.binary_cross_entropy, self, Y, reduction=reduction)

    def binary_crossentropy_logits(self, Y, reduction="mean", pos_weight=None):
        return _call(F.binary_cross_entropy_with_logits, self, Y, reduction=reduction,
                     pos_weight=pos_weight)

    def one_hot(self, num_classes=-1):
        if num_classes < 0:
            skip("one_hot without num_classes")
        return _int32(_call(F.one_hot, Tensor(self.t.to(np.int64)), num_classes))

    def normalize(self, p=2.0, dim=1, eps=1e-12):
        return _call(F.normalize, self, p=p, dim=dim, eps=eps)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name in _TINY_ONLY:
            skip(name)
        if name in ("max", "min"):
            return lambda axis=None, keepdim=False: _call(
                getattr(self.t, name) if axis is None else getattr(self.t, "a" + name),
                *(() if axis is None else (axis, keepdim)))
        gname = _ALIASES.get(name, name)
        attr = getattr(self.t, gname, None)
        if attr is None:  # PyTorch spells it as a function: F.gelu(x), gn.full_like(x, v)
            fn = getattr(F, gname, None) or getattr(gn, gname)
            return lambda *a, **k: _call(fn, self, *a, **k)
        if not callable(attr):
            return _wrap(attr)

        def method(*args, **kw):
            r = _call(attr, *args, **kw)
            if name in _INDEX_METHODS:
                return tuple(_idx32(x) for x in r) if isinstance(r, tuple) else _idx32(r)
            if name in _PAIR_INDEX and isinstance(r, tuple) and len(r) == 2:
                return (r[0], _idx32(r[1]))
            return r
        return method


def TinyJit(fn):  # noqa: N802  (a JIT compiles the same maths; glassnet runs it eagerly)
    return fn


def _dunder(name):
    def op(self, *args):
        return _call(getattr(self.t, name), *args)
    op.__name__ = name
    return op


for _n in ("add radd sub rsub mul rmul truediv rtruediv floordiv rfloordiv mod rmod pow rpow "
           "matmul rmatmul neg pos abs invert and rand or ror xor rxor lshift rlshift rshift "
           "rrshift lt le gt ge eq ne iadd isub imul itruediv").split():
    setattr(Tensor, f"__{_n}__", _dunder(f"__{_n}__"))
Tensor.__hash__ = object.__hash__
