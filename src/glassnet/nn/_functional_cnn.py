"""Functional forms of the CNN layers, re-exported by ``glassnet.nn.functional``."""
from ..ops.conv import conv1d, conv2d, conv_transpose2d
from ..ops.adaptive_pool import (adaptive_avg_pool1d, adaptive_avg_pool3d, adaptive_max_pool1d,
                                adaptive_max_pool2d, adaptive_max_pool3d)
from ..ops.conv_nd import conv3d, conv_transpose1d, conv_transpose3d
from ..ops.pool3d import max_pool3d
from ..ops.pool_nd import avg_pool1d, avg_pool3d, max_unpool1d, max_unpool2d, max_unpool3d
from ..ops.group_norm import group_norm, instance_norm, rms_norm
from ..ops.norm import batch_norm, layer_norm
from ..ops.interpolate import interpolate
from ..ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool1d, max_pool2d
from ..ops.fold import fold, unfold
from .normalization import dropout1d, dropout2d, dropout3d, local_response_norm
from .spatial import pixel_shuffle, pixel_unshuffle

__all__ = ["conv1d", "conv2d", "conv_transpose2d", "max_pool1d", "max_pool2d", "avg_pool2d",
           "adaptive_avg_pool2d", "interpolate", "batch_norm", "layer_norm", "dropout2d"]
__all__ += ["group_norm", "instance_norm", "rms_norm"]
__all__ += ["conv3d", "conv_transpose1d", "conv_transpose3d"]
__all__ += ["max_pool3d", "avg_pool1d", "avg_pool3d", "max_unpool1d", "max_unpool2d",
            "max_unpool3d"]
__all__ += ["adaptive_avg_pool1d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
            "adaptive_max_pool2d", "adaptive_max_pool3d"]
__all__ += ["dropout1d", "dropout3d", "pixel_shuffle", "pixel_unshuffle"]
__all__ += ["unfold", "fold", "local_response_norm"]
__all__ += ["upsample", "upsample_nearest", "upsample_bilinear"]


def upsample(x, size=None, scale_factor=None, mode: str = "nearest", align_corners=None):
    """PyTorch's older name of :func:`interpolate` (same arguments and results)."""
    return interpolate(x, size, scale_factor, mode, align_corners)


def upsample_nearest(x, size=None, scale_factor=None):
    """``interpolate(x, size, scale_factor, mode='nearest')`` (PyTorch's older name)."""
    return interpolate(x, size, scale_factor, "nearest")


def upsample_bilinear(x, size=None, scale_factor=None):
    """``interpolate(x, size, scale_factor, mode='bilinear', align_corners=True)`` (PyTorch's
    older name; note the aligned corners)."""
    return interpolate(x, size, scale_factor, "bilinear", True)
