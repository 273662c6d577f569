"""ONNX nodes for glassnet's layers: one converter per layer class (``LAYERS``).

A converter gets the :class:`~glassnet.onnx.trace.Exporter` and the recorded call
(``call.module``, ``call.args``, ``call.outputs``) and returns one ``(name, batch_axis)``
per output tensor. It reads the layer's settings and weights, never its inner ops.
Recurrent layers are in ``recurrent.py``.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from . import recurrent
from .errors import ExportError
from .ops import gelu_nodes

__all__ = ["LAYERS", "converter_for", "supported_layers"]

_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _const(ex, value, like, hint="c"):
    """A scalar constant of ``like``'s dtype (ONNX does not promote types)."""
    return ex.g.weight(np.asarray(value, dtype=like.array.dtype), hint)


def _unary(build):
    """Converter for a layer that maps its one input element-wise: ``build(ex, x, m, t)``."""
    def convert(ex, call):
        t = call.x
        return [(build(ex, ex.name(t), call.module, t), ex.axis(t))]
    return convert


def _op(op, **attrs):
    """An element-wise layer that is one ONNX op (attributes from the module: callables)."""
    return _unary(lambda ex, x, m, t: ex.g.node(
        op, [x], op.lower(), **{k: (f(m) if callable(f) else f) for k, f in attrs.items()}))


def _gelu(ex, x, m, t):
    return gelu_nodes(ex, x, m.approximate, t.array.dtype)


def _softplus(ex, x, beta, threshold, t):
    """log(1 + exp(βx))/β, and x where βx > threshold (PyTorch's rule)."""
    g = ex.g
    bx = g.node("Mul", [x, _const(ex, beta, t)])
    soft = g.node("Div", [g.node("Softplus", [bx]), _const(ex, beta, t)])
    big = g.node("Greater", [bx, _const(ex, threshold, t)])
    return g.node("Where", [big, x, soft], "softplus")


def _threshold(ex, x, m, t):
    low = ex.g.node("LessOrEqual", [x, _const(ex, m.threshold, t)])
    return ex.g.node("Where", [low, _const(ex, m.value, t), x], "threshold")


def _passthrough(ex, call):
    t = call.x
    return [(ex.g.node("Identity", [ex.name(t)]), ex.axis(t))]


def _linear(ex, call):
    m, t = call.module, call.x
    w = ex.weight(m.weight)
    b = ex.weight(m.bias) if m.bias is not None else None
    if t.ndim == 2:
        return [(ex.g.node("Gemm", [ex.name(t), w] + ([b] if b else []), "linear", transB=1),
                 ex.axis(t))]
    y = ex.g.node("MatMul", [ex.name(t), ex.g.node("Transpose", [w], perm=[1, 0])], "matmul")
    if b:
        y = ex.g.node("Add", [y, b], "linear")
    return [(y, ex.axis(t))]


def _reshape_layer(ex, call):
    t, out = call.x, call.outputs[0]
    return [ex.reshape(ex.name(t), t.shape, ex.axis(t), out.shape, "flatten")]


def _batched(call, extra=""):
    m, t = call.module, call.x
    dims = getattr(m, "_dims", None) or len(m.kernel_size)
    if t.ndim != dims + 2:
        raise ExportError(f"onnx.export: {type(m).__name__} is exported for batched input "
                          f"(N, C, ...) only, got shape {tuple(t.shape)}{extra}")
    return dims


def _conv_pads(m, dims):
    if isinstance(m.padding, str):
        if m.padding == "valid":
            return [0] * (2 * dims)
        total = [d * (k - 1) for d, k in zip(m.dilation, m.kernel_size)]
        return [s // 2 for s in total] + [s - s // 2 for s in total]
    return list(m.padding) * 2


_PAD_MODES = {"reflect": "reflect", "replicate": "edge"}


def _conv(ex, call):
    m, t = call.module, call.x
    dims = _batched(call)
    x, pads = ex.name(t), _conv_pads(m, dims)
    if m.padding_mode != "zeros":
        if m.padding_mode not in _PAD_MODES:
            raise ExportError(f"onnx.export: {type(m).__name__}(padding_mode="
                              f"{m.padding_mode!r}) is not exported")
        full = [0, 0] + pads[:dims] + [0, 0] + pads[dims:]
        x = ex.g.node("Pad", [x, ex.g.ints(full, "pads")], "pad",
                      mode=_PAD_MODES[m.padding_mode])
        pads = [0] * (2 * dims)
    inputs = [x, ex.weight(m.weight)] + ([ex.weight(m.bias)] if m.bias is not None else [])
    y = ex.g.node("Conv", inputs, "conv", kernel_shape=list(m.kernel_size),
                  strides=list(m.stride), pads=pads, dilations=list(m.dilation),
                  group=m.groups)
    return [(y, ex.axis(t))]


def _conv_transpose(ex, call):
    m, t = call.module, call.x
    if call.kwargs.get("output_size") is not None or len(call.args) > 1:
        raise ExportError(f"onnx.export: {type(m).__name__}(output_size=...) is not "
                          f"exported; set output_padding on the layer instead")
    _batched(call)
    inputs = [ex.name(t), ex.weight(m.weight)] + (
        [ex.weight(m.bias)] if m.bias is not None else [])
    y = ex.g.node("ConvTranspose", inputs, "conv_transpose", kernel_shape=list(m.kernel_size),
                  strides=list(m.stride), pads=list(m.padding) * 2,
                  dilations=list(m.dilation), group=m.groups,
                  output_padding=list(m.output_padding))
    return [(y, ex.axis(t))]


def _max_pool(ex, call):
    m, t = call.module, call.x
    if m.return_indices:
        raise ExportError(f"onnx.export: {type(m).__name__}(return_indices=True) is not "
                          f"supported")
    _batched(call)
    y = ex.g.node("MaxPool", [ex.name(t)], "max_pool", kernel_shape=list(m.kernel_size),
                  strides=list(m.stride), pads=list(m.padding) * 2,
                  dilations=list(m.dilation), ceil_mode=int(m.ceil_mode))
    return [(y, ex.axis(t))]


def _avg_pool(ex, call):
    m, t = call.module, call.x
    if m.divisor_override is not None:
        raise ExportError(f"onnx.export: {type(m).__name__}(divisor_override=...) has no "
                          f"ONNX equivalent")
    _batched(call)
    y = ex.g.node("AveragePool", [ex.name(t)], "avg_pool", kernel_shape=list(m.kernel_size),
                  strides=list(m.stride), pads=list(m.padding) * 2,
                  ceil_mode=int(m.ceil_mode), count_include_pad=int(m.count_include_pad))
    return [(y, ex.axis(t))]


def _adaptive_avg_pool(ex, call):
    t, out = call.x, call.outputs[0]
    if t.ndim != 4:
        raise ExportError(f"onnx.export: AdaptiveAvgPool2d is exported for (N, C, H, W) "
                          f"input only, got {tuple(t.shape)}")
    (H, W), (Ho, Wo) = t.shape[2:], out.shape[2:]
    if Ho == Wo == 1:
        return [(ex.g.node("GlobalAveragePool", [ex.name(t)], "gap"), ex.axis(t))]
    if H % Ho or W % Wo:
        raise ExportError(f"onnx.export: AdaptiveAvgPool2d from {H}x{W} to {Ho}x{Wo}: only "
                          f"output sizes that divide the input size (or 1x1) are exported")
    k = [H // Ho, W // Wo]
    return [(ex.g.node("AveragePool", [ex.name(t)], "adaptive_avg_pool", kernel_shape=k,
                       strides=k), ex.axis(t))]


def _batch_norm(ex, call):
    m, t = call.module, call.x
    if not m.track_running_stats:
        raise ExportError(f"onnx.export: {type(m).__name__}(track_running_stats=False) uses "
                          f"batch statistics even in eval mode; it has no ONNX equivalent")
    C, dt = m.num_features, m.running_mean.array.dtype
    scale = ex.weight(m.weight) if m.weight is not None else ex.g.weight(np.ones(C, dt), "ones")
    bias = ex.weight(m.bias) if m.bias is not None else ex.g.weight(np.zeros(C, dt), "zeros")
    y = ex.g.node("BatchNormalization", [ex.name(t), scale, bias, ex.weight(m.running_mean),
                                         ex.weight(m.running_var)], "batch_norm",
                  epsilon=m.eps)
    return [(y, ex.axis(t))]


def _layer_norm(ex, call):
    m, t = call.module, call.x
    shape, dt = m.normalized_shape, t.array.dtype
    scale = ex.weight(m.weight) if m.weight is not None else ex.g.weight(np.ones(shape, dt),
                                                                         "ones")
    bias = ex.weight(m.bias) if getattr(m, "bias", None) is not None else \
        ex.g.weight(np.zeros(shape, dt), "zeros")
    y = ex.g.node("LayerNormalization", [ex.name(t), scale, bias], "layer_norm",
                  axis=-len(shape), epsilon=m.eps)
    return [(y, ex.axis(t))]


def _embedding(ex, call):
    m, t = call.module, call.x
    y = ex.g.node("Gather", [ex.weight(m.weight), ex.name(t)], "embedding", axis=0)
    return [(y, ex.axis(t))]


def _upsample(ex, call):
    m, t, out = call.module, call.x, call.outputs[0]
    modes = {"nearest": ("nearest", "asymmetric"), "linear": ("linear", None),
             "bilinear": ("linear", None), "trilinear": ("linear", None)}
    if m.mode not in modes:
        raise ExportError(f"onnx.export: Upsample(mode={m.mode!r}) is not exported (modes: "
                          f"{', '.join(modes)})")
    mode, coords = modes[m.mode]
    if coords is None:
        coords = "align_corners" if m.align_corners else "pytorch_half_pixel"
    scales = [1.0, 1.0] + [o / i for o, i in zip(out.shape[2:], t.shape[2:])]
    if m.scale_factor is not None and not m.recompute_scale_factor:
        sf = m.scale_factor if isinstance(m.scale_factor, (tuple, list)) else \
            (m.scale_factor,) * (t.ndim - 2)
        scales = [1.0, 1.0] + [float(s) for s in sf]
    roi = ex.g.weight(np.zeros(0, np.float32), "roi")
    y = ex.g.node("Resize", [ex.name(t), roi, ex.g.weight(np.asarray(scales, np.float32),
                                                          "scales")], "upsample",
                  mode=mode, coordinate_transformation_mode=coords,
                  nearest_mode="floor" if mode == "nearest" else None)
    return [(y, ex.axis(t))]


LAYERS = {
    nn.Linear: _linear,
    nn.Identity: _passthrough, nn.Dropout: _passthrough, nn.Dropout2d: _passthrough,
    nn.Flatten: _reshape_layer, nn.Unflatten: _reshape_layer,
    nn.ReLU: _op("Relu"), nn.Sigmoid: _op("Sigmoid"), nn.Tanh: _op("Tanh"),
    nn.LeakyReLU: _op("LeakyRelu", alpha=lambda m: m.negative_slope),
    nn.GELU: _unary(_gelu), nn.Threshold: _unary(_threshold),
    nn.Softmax: _op("Softmax", axis=lambda m: m.dim),
    nn.LogSoftmax: _op("LogSoftmax", axis=lambda m: m.dim),
    nn.Softmin: _unary(lambda ex, x, m, t: ex.g.node("Softmax", [ex.g.node("Neg", [x])],
                                                     "softmin", axis=m.dim)),
    nn.SiLU: _unary(lambda ex, x, m, t: ex.g.node("Mul", [x, ex.g.node("Sigmoid", [x])],
                                                  "silu")),
    nn.Mish: _unary(lambda ex, x, m, t: ex.g.node(
        "Mul", [x, ex.g.node("Tanh", [_softplus(ex, x, 1.0, 20.0, t)])], "mish")),
    nn.ELU: _op("Elu", alpha=lambda m: m.alpha), nn.CELU: _op("Celu", alpha=lambda m: m.alpha),
    nn.SELU: _op("Selu"),
    nn.Softplus: _unary(lambda ex, x, m, t: _softplus(ex, x, m.beta, m.threshold, t)),
    nn.LogSigmoid: _unary(lambda ex, x, m, t: ex.g.node(
        "Neg", [_softplus(ex, ex.g.node("Neg", [x]), 1.0, 20.0, t)], "logsigmoid")),
    nn.Softsign: _op("Softsign"),
    nn.Tanhshrink: _unary(lambda ex, x, m, t: ex.g.node("Sub", [x, ex.g.node("Tanh", [x])],
                                                        "tanhshrink")),
    nn.Hardtanh: _unary(lambda ex, x, m, t: ex.g.node(
        "Clip", [x, _const(ex, m.min_val, t), _const(ex, m.max_val, t)], "hardtanh")),
    nn.Hardsigmoid: _op("HardSigmoid", alpha=1 / 6, beta=0.5),
    nn.Hardswish: _op("HardSwish"),
    nn.Conv1d: _conv, nn.Conv2d: _conv, nn.Conv3d: _conv,
    nn.ConvTranspose1d: _conv_transpose, nn.ConvTranspose2d: _conv_transpose,
    nn.MaxPool1d: _max_pool, nn.MaxPool2d: _max_pool, nn.MaxPool3d: _max_pool,
    nn.AvgPool1d: _avg_pool, nn.AvgPool2d: _avg_pool, nn.AvgPool3d: _avg_pool,
    nn.AdaptiveAvgPool2d: _adaptive_avg_pool,
    nn.BatchNorm1d: _batch_norm, nn.BatchNorm2d: _batch_norm, nn.BatchNorm3d: _batch_norm,
    nn.LayerNorm: _layer_norm, nn.Embedding: _embedding, nn.Upsample: _upsample,
    nn.ReLU6: _unary(lambda ex, x, m, t: ex.g.node(
        "Clip", [x, _const(ex, 0.0, t), _const(ex, 6.0, t)], "relu6")),
}
LAYERS.update(recurrent.LAYERS)


def supported_layers() -> list:
    """Names of the layers the exporter writes, sorted."""
    return sorted(cls.__name__ for cls in LAYERS)


def _unsupported(ex, call):
    raise ExportError(f"onnx.export: unsupported layer {type(call.module).__name__} "
                      f"(supported: {', '.join(supported_layers())}, and Sequential, "
                      f"ModuleList, ModuleDict and custom modules built from them)")


def converter_for(module):
    """The converter of a known layer; None for containers and composite models (user-defined
    or glassnet's application models: their forward is traced); a converter that raises for
    the other layers of ``glassnet.nn``."""
    cls = type(module)
    if isinstance(module, _CONTAINERS) and cls.forward in {c.forward for c in _CONTAINERS}:
        return None
    for base in cls.__mro__:
        if base in LAYERS and cls.forward is base.forward:
            return LAYERS[base]
    if cls.__module__.startswith("glassnet.nn."):     # a glassnet layer with no converter
        return _unsupported
    return None
