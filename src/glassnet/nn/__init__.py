"""Neural-network layers, losses and utilities (``glassnet.nn``), shaped like ``torch.nn``."""
from . import functional, init
from .activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh, Threshold
from .activation import (CELU, ELU, GLU, SELU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh,
                         LogSigmoid, Mish, PReLU, ReLU6, SiLU, Softmin, Softplus, Softshrink,
                         Softsign, Tanhshrink)
from .container import ModuleList, Sequential
from .dropout import Dropout
from .linear import Flatten, Identity, Linear, Unflatten
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module, Parameter
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell; from .embedding import Embedding  # noqa: E702

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList", "Linear", "Identity", "Flatten",
    "Unflatten", "Dropout", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "Threshold",
    "Softmax", "LogSoftmax", "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
    "BCEWithLogitsLoss", "functional", "init", "utils",
]
__all__ += ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "Embedding"]
__all__ += ["SiLU", "Mish", "ELU", "CELU", "SELU", "Softplus", "LogSigmoid", "Softsign",
            "Tanhshrink", "Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish", "Softmin",
            "Hardshrink", "Softshrink", "GLU", "PReLU"]
from .conv import Conv1d, Conv2d, ConvTranspose2d  # noqa: E402
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool1d, MaxPool2d  # noqa: E402
from .upsampling import Upsample  # noqa: E402
from .normalization import BatchNorm1d, BatchNorm2d, Dropout2d, LayerNorm  # noqa: E402
__all__ += ["Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool1d", "MaxPool2d", "AvgPool2d",
            "AdaptiveAvgPool2d", "Upsample", "BatchNorm1d", "BatchNorm2d", "LayerNorm",
            "Dropout2d"]
from .convlstm import ConvLSTM2d; __all__ += ["ConvLSTM2d"]  # noqa: E402,E702
from .loss import HuberLoss, KLDivLoss, SmoothL1Loss  # noqa: E402
__all__ += ["HuberLoss", "SmoothL1Loss", "KLDivLoss"]
from .attention import MultiheadAttention  # noqa: E402
from .transformer import TransformerEncoder, TransformerEncoderLayer  # noqa: E402
__all__ += ["MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder"]
from .ctc import CTCLoss; __all__ += ["CTCLoss"]  # noqa: E402,E702
from .normalization import BatchNorm3d  # noqa: E402
from .group_norm import GroupNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, RMSNorm  # noqa: E402,E501
from .container import ModuleDict, ParameterDict, ParameterList  # noqa: E402
__all__ += ["BatchNorm3d", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
            "RMSNorm", "ModuleDict", "ParameterList", "ParameterDict"]
from .conv import Conv3d, ConvTranspose1d, ConvTranspose3d  # noqa: E402
__all__ += ["Conv3d", "ConvTranspose1d", "ConvTranspose3d"]
from .pooling import (AvgPool1d, AvgPool3d, MaxPool3d, MaxUnpool1d, MaxUnpool2d,  # noqa: E402
                      MaxUnpool3d)
__all__ += ["MaxPool3d", "AvgPool1d", "AvgPool3d", "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d"]
from .pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool3d, AdaptiveMaxPool1d,  # noqa: E402
                      AdaptiveMaxPool2d, AdaptiveMaxPool3d)
__all__ += ["AdaptiveAvgPool1d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
            "AdaptiveMaxPool3d"]
from .upsampling import UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: E402
from .normalization import Dropout1d, Dropout3d  # noqa: E402
from .spatial import (ConstantPad1d, ConstantPad2d, ConstantPad3d, PixelShuffle,  # noqa: E402
                      PixelUnshuffle, ReflectionPad1d, ReflectionPad2d, ReflectionPad3d,
                      ReplicationPad1d, ReplicationPad2d, ReplicationPad3d, ZeroPad1d,
                      ZeroPad2d, ZeroPad3d)
__all__ += ["UpsamplingNearest2d", "UpsamplingBilinear2d", "Dropout1d", "Dropout3d",
            "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d",
            "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
            "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "PixelShuffle",
            "PixelUnshuffle"]
from .spatial import Fold, Unfold  # noqa: E402
from .normalization import LocalResponseNorm  # noqa: E402
__all__ += ["Unfold", "Fold", "LocalResponseNorm"]


def __getattr__(name):
    if name == "utils":                      # written separately; imported on first use
        import importlib
        return importlib.import_module(".utils", __name__)
    raise AttributeError(f"module 'glassnet.nn' has no attribute {name!r}")
