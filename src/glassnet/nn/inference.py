"""A Sequential's forward for one input in one compiled call (:mod:`glassnet.ops.infer`).

When a :class:`~glassnet.nn.Sequential` runs in eval mode without gradients on a float32
batch of ``MAX_BATCH`` (1) input, and every layer is one the chain runs, the layers run as
one call: Conv2d (zeros padding, groups 1), Linear, MaxPool2d (no indices, no ceil mode),
AvgPool2d (no ceil mode or divisor override), AdaptiveAvgPool2d, BatchNorm1d/2d (with running
statistics), ReLU, LeakyReLU, Sigmoid, Tanh, Flatten (all but the batch axis), and Dropout
and Identity (nothing in eval mode). The cnn workload's batch-1 forward takes ~0.1 ms this
way against ~0.27 ms layer by layer (docs/performance.md). Anything else runs layer by layer,
as always: a layer in training mode, with hooks or a replaced ``forward`` (what
``gn.inspect`` installs, so inspection sees every layer), another layer type, another dtype
or batch size, compiled kernels or MKL off. ``gn.nn.Sequential.plan_inference = False``
turns it off; :func:`explain` shows the chain a model and input shape get, or why there is
none.

The chain is planned once per input shape and planned again when any module attribute is
assigned (``module.edits()``); weights are read at every call.
"""
import weakref

import numpy as np

from ..ops import infer
from ..tensor import Tensor, is_grad_enabled
from .activation import LeakyReLU, ReLU, Sigmoid, Tanh
from .conv import Conv2d
from .dropout import Dropout
from .linear import Flatten, Identity, Linear
from .module import edits
from .normalization import BatchNorm1d, BatchNorm2d
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d

__all__ = ["run", "explain", "MAX_BATCH"]

MAX_BATCH = 1
_F32 = np.dtype(np.float32)
_plans = weakref.WeakKeyDictionary()        # Sequential → (key, chain or None)


def _step(layer):
    """The chain's step for one layer: a tuple, () for a layer that does nothing in eval
    mode, or None for one the chain does not run."""
    t = type(layer)
    if t is Conv2d:
        if layer.groups != 1 or layer.padding_mode != "zeros":
            return None
        return ("conv2d", layer.weight, layer.bias, layer.stride, layer._pads, layer.dilation)
    if t is Linear:
        return ("linear", layer.weight, layer.bias)
    if t is MaxPool2d:
        if layer.ceil_mode or layer.return_indices:
            return None
        return ("max_pool2d", layer.kernel_size, layer.stride, layer.padding, layer.dilation)
    if t is AvgPool2d:
        if layer.ceil_mode or layer.divisor_override is not None:
            return None
        return ("avg_pool2d", layer.kernel_size, layer.stride, layer.padding,
                layer.count_include_pad)
    if t is AdaptiveAvgPool2d:
        return ("adaptive_avg_pool2d", layer.output_size)
    if t in (BatchNorm1d, BatchNorm2d):
        if layer.running_mean is None:          # batch statistics even in eval mode
            return None
        return ("batch_norm", layer.running_mean, layer.running_var, layer.weight,
                layer.bias, layer.eps, 2 if t is BatchNorm1d else 4)
    if t in (ReLU, Sigmoid, Tanh):
        return (t.__name__.lower(),)
    if t is LeakyReLU:
        return ("leaky_relu", layer.negative_slope)
    if t is Flatten:
        return ("flatten",) if (layer.start_dim, layer.end_dim) == (1, -1) else None
    if t in (Dropout, Identity):
        return ()
    return None


def _chain(layers, shape):
    steps = []
    for layer in layers:
        step = _step(layer)
        if step is None:
            return None
        if step:
            steps.append(step)
    return infer.plan(steps, shape) if steps else None


def _ready(seq, x):
    """(input array, chain) when the chain may run, else None."""
    a = x.array if type(x) is Tensor else None
    if type(a) is not np.ndarray or a.dtype is not _F32 or a.ndim not in (2, 4) or \
            a.shape[0] > MAX_BATCH:
        return None
    layers = tuple(seq._modules.values())
    for m in layers:
        d = m.__dict__
        if m.training or "_has_hooks" in d or "forward" in d:
            return None
    key = (edits(), a.shape, layers)
    try:
        cached = _plans.get(seq)
        if cached is None or cached[0] != key:
            cached = _plans[seq] = (key, _chain(layers, a.shape))
    except TypeError:                   # a subclass that defines __eq__ without __hash__
        return None
    return None if cached[1] is None else (a, cached[1])


def run(seq, x) -> Tensor | None:
    """``seq(x)`` as one compiled call, or None where the layers must run one by one."""
    if seq.training or is_grad_enabled():
        return None
    ready = _ready(seq, x)
    if ready is None:
        return None
    a, chain = ready
    y = chain(a if a.flags.c_contiguous else np.ascontiguousarray(a))
    return None if y is None else Tensor(y)


def explain(seq, shape) -> str:
    """The chain ``seq`` gets for eval-mode inputs of ``shape`` (listed step by step), or why
    its layers run one by one."""
    shape = tuple(int(n) for n in shape)
    if len(shape) not in (2, 4) or shape[0] > MAX_BATCH:
        return (f"layer by layer: the chain takes (N, features) or (N, C, H, W) inputs with "
                f"N <= {MAX_BATCH}, got {shape}")
    for i, layer in enumerate(seq._modules.values()):
        if _step(layer) is None:
            return f"layer by layer: layer {i} ({layer!r}) is not one the chain runs"
    chain = _chain(tuple(seq._modules.values()), shape)
    if chain is None:
        return ("layer by layer: no chain here (compiled kernels or MKL off, a weight that is "
                "not float32, or shapes that do not fit)")
    return str(chain)
