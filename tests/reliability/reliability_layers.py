"""Table of every public layer in ``gn.nn``: how to draw valid constructor arguments, the
input shape they expect, and the PyTorch twin (None: no twin, only the no-crash checks).

A new layer in ``gn.nn.__all__`` without a row here fails ``test_every_layer_has_a_row``.
"""
from hypothesis import strategies as st

B = st.booleans()


def ints(lo, hi):
    return st.integers(lo, hi)


def row(args, shape, torch_name="same", kind="float", train=True):
    """args: {name: strategy}; shape(kw) -> valid input shape; kind: "float" | "index"."""
    return {"args": args, "shape": shape, "torch": torch_name, "kind": kind, "train": train}


def _seq(kw):
    n, length, h = 2, 3, kw["input_size"]
    return (n, length, h) if kw.get("batch_first") else (length, n, h)


def _k(kw, n=1):
    k = kw["kernel_size"]
    return k if isinstance(k, int) else k[0]


_RNN = {"input_size": ints(1, 4), "hidden_size": ints(1, 4), "num_layers": ints(1, 2),
        "bias": B, "batch_first": B, "bidirectional": B}
_CELL = {"input_size": ints(1, 4), "hidden_size": ints(1, 4), "bias": B}
_CONV = {"in_channels": ints(1, 3), "out_channels": ints(1, 3), "kernel_size": ints(1, 3),
         "stride": ints(1, 2), "padding": ints(0, 1), "dilation": ints(1, 2), "bias": B}
_POOL = {"kernel_size": ints(1, 3), "stride": st.none() | ints(1, 2), "ceil_mode": B}

LAYERS = {
    "Linear": row({"in_features": ints(1, 5), "out_features": ints(1, 5), "bias": B},
                  lambda kw: (3, kw["in_features"])),
    "Identity": row({}, lambda kw: (2, 3)),
    "Flatten": row({"start_dim": st.sampled_from([0, 1]), "end_dim": st.sampled_from([-1, 2])},
                   lambda kw: (2, 3, 4)),
    "Unflatten": row({"dim": st.just(1), "unflattened_size": st.just((2, 3))},
                     lambda kw: (2, 6)),
    "Dropout": row({"p": st.floats(0, 1)}, lambda kw: (2, 3), train=False),
    "Dropout2d": row({"p": st.floats(0, 1)}, lambda kw: (2, 3, 4, 4), train=False),
    "ReLU": row({}, lambda kw: (2, 3)),
    "LeakyReLU": row({"negative_slope": st.floats(-1, 1)}, lambda kw: (2, 3)),
    "Sigmoid": row({}, lambda kw: (2, 3)),
    "Tanh": row({}, lambda kw: (2, 3)),
    "GELU": row({"approximate": st.sampled_from(["none", "tanh"])}, lambda kw: (2, 3)),
    "Threshold": row({"threshold": st.floats(-1, 1), "value": st.floats(-2, 2)},
                     lambda kw: (2, 3)),
    "Softmax": row({"dim": st.sampled_from([-1, 0, 1])}, lambda kw: (2, 3)),
    "LogSoftmax": row({"dim": st.sampled_from([-1, 0, 1])}, lambda kw: (2, 3)),
    "RNN": row({**_RNN, "nonlinearity": st.sampled_from(["tanh", "relu"])}, _seq),
    "LSTM": row(_RNN, _seq),
    "GRU": row(_RNN, _seq),
    "RNNCell": row({**_CELL, "nonlinearity": st.sampled_from(["tanh", "relu"])},
                   lambda kw: (2, kw["input_size"])),
    "LSTMCell": row(_CELL, lambda kw: (2, kw["input_size"])),
    "GRUCell": row(_CELL, lambda kw: (2, kw["input_size"])),
    "Embedding": row({"num_embeddings": ints(1, 6), "embedding_dim": ints(1, 4)},
                     lambda kw: (2, 3), kind="index"),
    "Conv1d": row(_CONV, lambda kw: (2, kw["in_channels"], 8)),
    "Conv2d": row(_CONV, lambda kw: (2, kw["in_channels"], 7, 7)),
    "ConvTranspose2d": row({**_CONV, "dilation": st.just(1), "padding": st.just(0)},
                           lambda kw: (2, kw["in_channels"], 4, 4)),
    "MaxPool1d": row(_POOL, lambda kw: (2, 3, 8)),
    "MaxPool2d": row(_POOL, lambda kw: (2, 3, 6, 6)),
    "AvgPool2d": row({**_POOL, "count_include_pad": B}, lambda kw: (2, 3, 6, 6)),
    "AdaptiveAvgPool2d": row({"output_size": ints(1, 3)}, lambda kw: (2, 3, 6, 6)),
    "Upsample": row({"scale_factor": ints(1, 3), "mode": st.sampled_from(
        ["nearest", "nearest-exact", "bilinear", "bicubic", "area"])}, lambda kw: (2, 3, 3, 3)),
    "BatchNorm1d": row({"num_features": ints(1, 4), "affine": B,
                        "momentum": st.floats(0, 1), "eps": st.floats(1e-6, 1e-2)},
                       lambda kw: (4, kw["num_features"])),
    "BatchNorm2d": row({"num_features": ints(1, 4), "affine": B},
                       lambda kw: (3, kw["num_features"], 3, 3)),
    "LayerNorm": row({"normalized_shape": ints(1, 4), "elementwise_affine": B},
                     lambda kw: (2, 3, kw["normalized_shape"])),
    "ConvLSTM2d": row({"input_channels": ints(1, 2), "hidden_channels": ints(1, 2),
                       "kernel_size": st.sampled_from([1, 3]), "batch_first": B},
                      lambda kw: (2, 2, kw["input_channels"], 4, 4), torch_name=None),
}
_INORM = {"num_features": ints(1, 4), "affine": B, "track_running_stats": B,
          "momentum": st.floats(0, 1)}
LAYERS.update({      # normalisation layers of issue 14
    "BatchNorm3d": row({"num_features": ints(1, 4), "affine": B},
                       lambda kw: (2, kw["num_features"], 2, 3, 3)),
    "GroupNorm": row({"num_groups": st.sampled_from([1, 2]), "num_channels":
                      st.sampled_from([2, 4]), "affine": B, "eps": st.floats(1e-6, 1e-2)},
                     lambda kw: (2, kw["num_channels"], 3)),
    "InstanceNorm1d": row(_INORM, lambda kw: (2, kw["num_features"], 5)),
    "InstanceNorm2d": row(_INORM, lambda kw: (2, kw["num_features"], 3, 3)),
    "InstanceNorm3d": row(_INORM, lambda kw: (2, kw["num_features"], 2, 3, 3)),
    "RMSNorm": row({"normalized_shape": ints(1, 4), "eps": st.none() | st.floats(1e-6, 1e-2),
                    "elementwise_affine": B}, lambda kw: (2, 3, kw["normalized_shape"])),
})
LAYERS.update({      # convolutions of issue 14
    "Conv3d": row({**_CONV, "kernel_size": ints(1, 2)}, lambda kw: (2, kw["in_channels"], 4, 4, 4)),
    "ConvTranspose1d": row({**_CONV, "padding": st.just(0)}, lambda kw: (2, kw["in_channels"], 5)),
    "ConvTranspose3d": row({**_CONV, "kernel_size": ints(1, 2), "padding": st.just(0)},
                           lambda kw: (2, kw["in_channels"], 2, 3, 3)),
})
LAYERS.update({      # pooling of issue 14
    "MaxPool3d": row({**_POOL, "kernel_size": ints(1, 2), "return_indices": B},
                     lambda kw: (2, 3, 3, 4, 4)),
    "AvgPool1d": row({**_POOL, "count_include_pad": B}, lambda kw: (2, 3, 8)),
    "AvgPool3d": row({**_POOL, "kernel_size": ints(1, 2), "count_include_pad": B},
                     lambda kw: (2, 3, 3, 4, 4)),
})
_OUT = st.none() | ints(1, 3)
LAYERS.update({      # adaptive pooling
    "AdaptiveAvgPool1d": row({"output_size": ints(1, 3)}, lambda kw: (2, 3, 7)),
    "AdaptiveAvgPool3d": row({"output_size": st.tuples(_OUT, _OUT, _OUT)},
                             lambda kw: (2, 3, 3, 4, 5)),
    "AdaptiveMaxPool1d": row({"output_size": ints(1, 3), "return_indices": B},
                             lambda kw: (2, 3, 7)),
    "AdaptiveMaxPool2d": row({"output_size": st.tuples(_OUT, _OUT), "return_indices": B},
                             lambda kw: (2, 3, 5, 6)),
    "AdaptiveMaxPool3d": row({"output_size": ints(1, 3), "return_indices": B},
                             lambda kw: (2, 3, 3, 4, 5)),
})
_PADSHAPE = {1: (2, 3, 5), 2: (2, 3, 4, 4), 3: (2, 2, 3, 4, 4)}
for _n in (1, 2, 3):  # padding layers (ops.pad) and channel dropout
    LAYERS[f"ZeroPad{_n}d"] = row({"padding": ints(-1, 2)}, lambda kw, n=_n: _PADSHAPE[n])
    LAYERS[f"ConstantPad{_n}d"] = row({"padding": ints(0, 2), "value": st.floats(-2, 2)},
                                      lambda kw, n=_n: _PADSHAPE[n])
    LAYERS[f"ReflectionPad{_n}d"] = row({"padding": ints(0, 2)}, lambda kw, n=_n: _PADSHAPE[n])
    LAYERS[f"ReplicationPad{_n}d"] = row({"padding": ints(0, 2)},
                                         lambda kw, n=_n: _PADSHAPE[n])
LAYERS.update({
    "PixelShuffle": row({"upscale_factor": ints(1, 3)},
                        lambda kw: (2, 2 * kw["upscale_factor"] ** 2, 3, 3)),
    "PixelUnshuffle": row({"downscale_factor": ints(1, 3)}, lambda kw: (2, 2, 6, 6)),
    "UpsamplingNearest2d": row({"scale_factor": ints(1, 3)}, lambda kw: (2, 3, 3, 3)),
    "UpsamplingBilinear2d": row({"scale_factor": ints(1, 3)}, lambda kw: (2, 3, 3, 3)),
    "Dropout1d": row({"p": st.floats(0, 1)}, lambda kw: (2, 3, 4), train=False),
    "Dropout3d": row({"p": st.floats(0, 1)}, lambda kw: (2, 3, 2, 3, 3), train=False),
})
LAYERS.update({
    "Unfold": row({"kernel_size": ints(1, 3), "stride": ints(1, 2), "padding": ints(0, 1),
                   "dilation": ints(1, 2)}, lambda kw: (2, 3, 6, 6)),
    "Fold": row({"kernel_size": ints(1, 2), "output_size": st.just((4, 4))},
                lambda kw: (2, 3 * kw["kernel_size"] ** 2, (5 - kw["kernel_size"]) ** 2)),
    "LocalResponseNorm": row({"size": ints(1, 4), "alpha": st.floats(0, 1),
                              "beta": st.floats(0, 1), "k": st.floats(0.5, 2)},
                             lambda kw: (2, 4, 3, 3)),
})
_NUM = st.floats(-3, 3).filter(lambda v: v != 0)
LAYERS.update({      # activations of issue 14
    **{n: row({}, lambda kw: (2, 3)) for n in ("SiLU", "Mish", "SELU", "LogSigmoid",
                                                "Softsign", "Tanhshrink", "ReLU6",
                                                "Hardsigmoid", "Hardswish")},
    "ELU": row({"alpha": st.floats(-2, 2)}, lambda kw: (2, 3)),
    "CELU": row({"alpha": _NUM}, lambda kw: (2, 3)),
    "Softplus": row({"beta": _NUM, "threshold": st.floats(-5, 30)}, lambda kw: (2, 3)),
    "Hardtanh": row({"min_val": st.floats(-3, 0), "max_val": st.floats(0, 3)},
                    lambda kw: (2, 3)),
    "Softmin": row({"dim": st.sampled_from([-1, 0, 1])}, lambda kw: (2, 3)),
    "Hardshrink": row({"lambd": st.floats(0, 2)}, lambda kw: (2, 3)),
    "Softshrink": row({"lambd": st.floats(0, 2)}, lambda kw: (2, 3)),
    "GLU": row({"dim": st.sampled_from([-1, 1])}, lambda kw: (2, 4)),
    "PReLU": row({"num_parameters": st.sampled_from([1, 3]), "init": st.floats(-1, 1)},
                 lambda kw: (2, 3, 4)),
})

# Not layers (containers, the base classes) or tested elsewhere in the suite (losses).
NOT_LAYERS = {"Module", "Parameter", "Sequential", "ModuleList", "functional", "init", "utils"}
NOT_LAYERS |= {"ModuleDict", "ParameterList", "ParameterDict"}
# two inputs (values, indices): tested in tests/cnn/test_pool_extra.py
NOT_LAYERS |= {"MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d"}
LOSSES = {"MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss"}
NOT_LAYERS |= {"CTCLoss"}   # four arguments (log_probs, targets, lengths): tests/apps/test_ctc.py

LOSSES |= {"HuberLoss", "SmoothL1Loss", "KLDivLoss"}
# (query, key, value) inputs / a layer to copy: tests/nn/test_attention.py
NOT_LAYERS |= {"MultiheadAttention", "TransformerEncoder"}
LAYERS["TransformerEncoderLayer"] = row(
    {"d_model": st.sampled_from([4, 6]), "nhead": st.sampled_from([1, 2]),
     "dim_feedforward": ints(1, 8), "dropout": st.sampled_from([0.0, 0.3]),
     "activation": st.sampled_from(["relu", "gelu"]), "batch_first": B, "norm_first": B},
    lambda kw: (2, 3, kw["d_model"]), train=False)

# Values thrown at one constructor argument at a time (huge sizes are left out: they are a
# MemoryError by design, as in PyTorch).
BAD_VALUES = [-1, 0, 2.5, -0.5, True, False, "3", None, float("nan"), float("inf"), (), (1, 2),
              [3], (2, -1), object()]
