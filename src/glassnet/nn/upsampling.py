"""Upsampling layers: Upsample, UpsamplingNearest2d, UpsamplingBilinear2d.

Shape glossary: N batch, C channels, L length, D depth, H height, W width.
"""
import numpy as np

from ..ops.interpolate import interpolate
from ..tensor import Tensor
from .module import Module

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]


class Upsample(Module):
    r"""Upsampling (or resizing) of 1-d, 2-d or 3-d signals, like ``torch.nn.Upsample``.

    'nearest': output pixel i copies input pixel floor(i / scale_factor) (floor(i·H/H_out)
    when ``size`` is given). 'linear' / 'bilinear' / 'trilinear' interpolate between the two
    nearest input pixels along each axis, 'bicubic' between four (Keys' kernel, a = −0.75).
    See ``glassnet.ops.interpolate`` for the coordinate rules, identical to PyTorch's.

    Args:
        size: output size (int or tuple), or
        scale_factor: multiplier (number or tuple); give exactly one.
        mode: 'nearest' (default), 'nearest-exact', 'linear' (3-D input), 'bilinear',
            'bicubic' (4-D), 'trilinear' (5-D) or 'area'.
        align_corners: linear/cubic modes only: align the corner pixels' centres (True) or
            their outer edges (False, default behaviour).
        recompute_scale_factor: take the coordinate scale from the output size.

    Shape:
        input (N, C, H, W) → output (N, C, H_out, W_out), H_out = size or
        floor(H · scale_factor). Also (N, C, L) and (N, C, D, H, W).

    Example:
        >>> gn.nn.Upsample(scale_factor=2, mode="bilinear")(gn.randn(1, 8, 7, 7)).shape
        (1, 8, 14, 14)
    """

    _MODES = {"nearest": None, "nearest-exact": None, "area": None, "linear": 3,
              "bilinear": 4, "bicubic": 4, "trilinear": 5}

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest",
                 align_corners: bool | None = None, recompute_scale_factor: bool | None = None):
        super().__init__()
        name = type(self).__name__
        if mode not in self._MODES:
            raise ValueError(f"{name}(mode={mode!r}): expected one of {sorted(self._MODES)}")
        if align_corners is not None and self._MODES[mode] is None:
            raise ValueError(f"{name}(align_corners={align_corners!r}): only for the modes "
                             f"linear, bilinear, bicubic and trilinear, not {mode!r}")
        if (size is None) == (scale_factor is None):
            raise ValueError(f"{name}: give exactly one of size and scale_factor")
        arg, value = ("size", size) if size is not None else ("scale_factor", scale_factor)
        values = value if isinstance(value, (tuple, list)) else (value,)
        integral = arg == "size"
        if not 1 <= len(values) <= 3 or not all(
                not isinstance(v, bool) and isinstance(v, (int, np.integer) if integral else
                                                       (int, float, np.integer, np.floating))
                and 0 < v < float("inf") for v in values):
            raise ValueError(f"{name}({arg}={value!r}): expected a positive "
                             f"{'int' if integral else 'number'} or a tuple of them")
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, x: Tensor) -> Tensor:
        name, need = type(self).__name__, self._MODES[self.mode]
        if x.ndim not in (3, 4, 5) or need is not None and x.ndim != need:
            shape = {3: "(N, C, L)", 4: "(N, C, H, W)", 5: "(N, C, D, H, W)"}.get(
                need, "(N, C, L), (N, C, H, W) or (N, C, D, H, W)")
            raise ValueError(f"{name}(mode={self.mode!r}): expected input {shape}, got "
                             f"{tuple(x.shape)}")
        if 0 in x.shape[2:]:
            raise ValueError(f"{name}: input {tuple(x.shape)} has an empty spatial dim")
        arg = "size" if self.size is not None else "scale_factor"
        given = self.size if self.size is not None else self.scale_factor
        if isinstance(given, (tuple, list)) and len(given) != x.ndim - 2:
            raise ValueError(f"{name}({arg}={given!r}): {len(given)} values for {x.ndim - 2} "
                             f"spatial dims of input {tuple(x.shape)}")
        factors = given if isinstance(given, (tuple, list)) else (given,) * (x.ndim - 2)
        if self.scale_factor is not None and min(
                int(n * f) for n, f in zip(x.shape[2:], factors)) <= 0:
            raise ValueError(f"{name}(scale_factor={given!r}): empty output for input "
                             f"{tuple(x.shape)}")
        return interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                           self.recompute_scale_factor)

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else \
            f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    r"""Nearest-neighbour upsampling of images: ``Upsample(size, scale_factor,
    mode='nearest')``.

    Shape:
        input (N, C, H, W) → output (N, C, H_out, W_out), H_out = size or
        floor(H · scale_factor).

    Example:
        >>> gn.nn.UpsamplingNearest2d(scale_factor=2)(gn.randn(1, 3, 4, 4)).shape
        (1, 3, 8, 8)
    """

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise ValueError(f"UpsamplingNearest2d: expected input (N, C, H, W), got "
                             f"{tuple(x.shape)}")
        return super().forward(x)


class UpsamplingBilinear2d(Upsample):
    r"""Bilinear upsampling of images with aligned corners: ``Upsample(size, scale_factor,
    mode='bilinear', align_corners=True)``.

    Shape:
        input (N, C, H, W) → output (N, C, H_out, W_out), H_out = size or
        floor(H · scale_factor).

    Example:
        >>> gn.nn.UpsamplingBilinear2d(scale_factor=2)(gn.randn(1, 3, 4, 4)).shape
        (1, 3, 8, 8)
    """

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
