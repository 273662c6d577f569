"""Spatial rearrangement layers: ZeroPad/ConstantPad/ReflectionPad/ReplicationPad 1d/2d/3d,
PixelShuffle/PixelUnshuffle, Unfold/Fold, thin shells over ``ops.pad``, reshape/permute and
``ops.fold``.

Shape glossary: N batch, C channels, L length, D depth, H height, W width, r upscale factor.
Padding tuples follow PyTorch's order, from the last dim backwards: (left, right) for 1-d,
(left, right, top, bottom) for 2-d, (…, front, back) for 3-d; one int pads every side.
"""
import numpy as np

from .. import ops
from ..ops.fold import fold, unfold
from ..tensor import Tensor
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d",
           "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "PixelShuffle",
           "PixelUnshuffle", "pixel_shuffle", "pixel_unshuffle", "Unfold", "Fold"]

_LETTERS = {1: "L", 2: "H, W", 3: "D, H, W"}


class _PadNd(Module):
    _dims = 1
    _mode = "constant"

    def __init__(self, padding, value: float = 0.0):
        super().__init__()
        name, n = type(self).__name__, self._dims
        if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
            pads = (int(padding),) * (2 * n)
        elif isinstance(padding, (tuple, list)) and len(padding) == 2 * n and all(
                isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in padding):
            pads = tuple(int(p) for p in padding)
        else:
            raise TypeError(f"{name}(padding={padding!r}): expected an int or a tuple of "
                            f"{2 * n} ints")
        if self._mode != "constant" and min(pads) < 0:
            raise ValueError(f"{name}(padding={padding!r}): padding must be >= 0")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"{name}(value={value!r}): expected a number")
        self.padding, self.value = pads, float(value)

    def forward(self, x: Tensor) -> Tensor:
        n, name = self._dims, type(self).__name__
        if x.ndim not in (n + 1, n + 2):
            raise ValueError(f"{name}: expected input (N, C, {_LETTERS[n]}) or unbatched "
                             f"(C, {_LETTERS[n]}), got {tuple(x.shape)}")
        sizes = x.shape[x.ndim - n:]
        if self._mode == "reflect" and any(p >= s for i, s in enumerate(reversed(sizes))
                                           for p in self.padding[2 * i:2 * i + 2]):
            raise ValueError(f"{name}(padding={self.padding}): each padding must be smaller "
                             f"than its dim, got input {tuple(x.shape)}")
        if any(s + self.padding[2 * i] + self.padding[2 * i + 1] <= 0
               for i, s in enumerate(reversed(sizes))):
            raise ValueError(f"{name}(padding={self.padding}): leaves an empty output for "
                             f"input {tuple(x.shape)}")
        if self._mode != "constant" and 0 in sizes:
            raise ValueError(f"{name}: input {tuple(x.shape)} has an empty spatial dim")
        return ops.pad(x, self.padding, self._mode, self.value)

    def extra_repr(self) -> str:
        return f"{self.padding}" + (f", value={self.value}" if type(self).__name__.startswith(
            "Constant") else "")


_PAD_DOC = r"""{what}

    Args:
        padding: an int (every side) or a {k}-tuple {order}.{value}

    Shape:
        input (N, C, {dims}) or (C, {dims}) → output with {grow}.

    Example:
        >>> gn.nn.{cls}({ex_pad})(gn.randn({ex_in})).shape
        ({ex_out})
    """
_ORDER = {1: "(left, right)", 2: "(left, right, top, bottom)",
          3: "(left, right, top, bottom, front, back)"}
_GROW = {1: "L_out = L + left + right", 2: "H_out = H + top + bottom, W_out = W + left + right",
         3: "D_out = D + front + back, H_out, W_out likewise"}
_EX = {1: ("2", "1, 2, 5", "1, 2, 9"), 2: ("(1, 1, 2, 0)", "1, 2, 3, 3", "1, 2, 5, 5"),
       3: ("1", "1, 2, 2, 3, 3", "1, 2, 4, 5, 5")}
_WHAT = {"Zero": "Pad with zeros (negative padding crops).",
         "Constant": "Pad with a constant ``value`` (negative padding crops).",
         "Reflection": "Pad by mirroring the input at its border, without repeating the edge "
                       "(each padding < its dim).",
         "Replication": "Pad by repeating the edge values."}


def _pad_class(kind: str, n: int, mode: str):
    name = f"{kind}Pad{n}d"
    ex = _EX[n]
    doc = _PAD_DOC.format(what=_WHAT[kind], k=2 * n, order=_ORDER[n], dims=_LETTERS[n],
                          grow=_GROW[n], cls=name, value="\n        value: the fill value."
                          if kind == "Constant" else "",
                          ex_pad=ex[0] + (", 3.5" if kind == "Constant" else ""),
                          ex_in=ex[1], ex_out=ex[2])
    attrs = {"__doc__": doc, "_dims": n, "_mode": mode, "__module__": __name__}
    if kind != "Constant":
        attrs["__init__"] = lambda self, padding: _PadNd.__init__(self, padding)
    return type(name, (_PadNd,), attrs)


ZeroPad1d, ZeroPad2d, ZeroPad3d = (_pad_class("Zero", n, "constant") for n in (1, 2, 3))
ConstantPad1d, ConstantPad2d, ConstantPad3d = (_pad_class("Constant", n, "constant")
                                               for n in (1, 2, 3))
ReflectionPad1d, ReflectionPad2d, ReflectionPad3d = (_pad_class("Reflection", n, "reflect")
                                                     for n in (1, 2, 3))
ReplicationPad1d, ReplicationPad2d, ReplicationPad3d = (_pad_class("Replication", n,
                                                                   "replicate")
                                                        for n in (1, 2, 3))


# -- pixel shuffle ---------------------------------------------------------------------------
def _factor(who: str, r) -> int:
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r <= 0:
        raise ValueError(f"{who}: expected a positive int factor, got {r!r}")
    return int(r)


def pixel_shuffle(x: Tensor, upscale_factor: int) -> Tensor:
    """(*, C·r², H, W) → (*, C, H·r, W·r): each group of r² channels becomes an r×r block."""
    r = _factor("pixel_shuffle(upscale_factor)", upscale_factor)
    if x.ndim < 3 or x.shape[-3] % (r * r):
        raise ValueError(f"pixel_shuffle(upscale_factor={r}): expected input (*, C·{r * r}, "
                         f"H, W), got {tuple(x.shape)}")
    *lead, c, h, w = x.shape
    k = len(lead)
    y = ops.reshape(x, *lead, c // (r * r), r, r, h, w)
    y = ops.permute(y, *range(k), k, k + 3, k + 1, k + 4, k + 2)
    return ops.reshape(y, *lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(x: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H·r, W·r) → (*, C·r², H, W): the inverse of :func:`pixel_shuffle`."""
    r = _factor("pixel_unshuffle(downscale_factor)", downscale_factor)
    if x.ndim < 3 or x.shape[-2] % r or x.shape[-1] % r:
        raise ValueError(f"pixel_unshuffle(downscale_factor={r}): expected input (*, C, H·{r}, "
                         f"W·{r}), got {tuple(x.shape)}")
    *lead, c, h, w = x.shape
    k = len(lead)
    y = ops.reshape(x, *lead, c, h // r, r, w // r, r)
    y = ops.permute(y, *range(k), k, k + 2, k + 4, k + 1, k + 3)
    return ops.reshape(y, *lead, c * r * r, h // r, w // r)


class PixelShuffle(Module):
    r"""Rearrange channels into space (sub-pixel convolution upsampling, ESPCN):
    out[c, h·r + i, w·r + j] = in[c·r² + i·r + j, h, w].

    Args:
        upscale_factor: r.

    Shape:
        input (*, C·r², H, W) → output (*, C, H·r, W·r).

    Example:
        >>> gn.nn.PixelShuffle(3)(gn.randn(1, 9, 4, 4)).shape
        (1, 1, 12, 12)
    """

    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = _factor("PixelShuffle(upscale_factor)", upscale_factor)

    def forward(self, x: Tensor) -> Tensor:
        return pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    r"""Rearrange space into channels: the inverse of :class:`PixelShuffle`.

    Args:
        downscale_factor: r.

    Shape:
        input (*, C, H·r, W·r) → output (*, C·r², H, W).

    Example:
        >>> gn.nn.PixelUnshuffle(2)(gn.randn(1, 1, 4, 6)).shape
        (1, 4, 2, 3)
    """

    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = _factor("PixelUnshuffle(downscale_factor)", downscale_factor)

    def forward(self, x: Tensor) -> Tensor:
        return pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class Unfold(Module):
    r"""Extract the sliding k_h × k_w blocks of an image as columns (im2col): column l holds
    block l's C·k_h·k_w values, channel-major. ``Unfold`` then a matmul then ``Fold`` is a
    convolution.

    Args:
        kernel_size: (k_h, k_w) or an int. dilation (1), padding (0), stride (1): as Conv2d.

    Shape:
        input (N, C, H, W) or (C, H, W) → output (N, C·k_h·k_w, L) or (C·k_h·k_w, L),
        L = H_out·W_out, H_out = floor((H + 2p − d·(k − 1) − 1)/s) + 1.

    Example:
        >>> gn.nn.Unfold(kernel_size=(2, 3))(gn.randn(2, 5, 3, 4)).shape
        (2, 30, 4)
    """

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 3:
            return ops.squeeze(self.forward(ops.unsqueeze(x, 0)), 0)
        if x.ndim != 4:
            raise ValueError(f"Unfold: expected input (N, C, H, W) or (C, H, W), got "
                             f"{tuple(x.shape)}")
        return unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding="
                f"{self.padding}, stride={self.stride}")


class Fold(Module):
    r"""Sum columns of sliding blocks back into an image (col2im), the adjoint of
    :class:`Unfold`: overlapping blocks add up.

    Args:
        output_size: (H, W) of the image. kernel_size, dilation, padding, stride: as Unfold.

    Shape:
        input (N, C·k_h·k_w, L) or (C·k_h·k_w, L) → output (N, C, H, W) or (C, H, W).

    Example:
        >>> gn.nn.Fold(output_size=(4, 5), kernel_size=(2, 2))(gn.randn(1, 12, 12)).shape
        (1, 3, 4, 5)
    """

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 2:
            return ops.squeeze(self.forward(ops.unsqueeze(x, 0)), 0)
        if x.ndim != 3:
            raise ValueError(f"Fold: expected input (N, C·k_h·k_w, L) or (C·k_h·k_w, L), got "
                             f"{tuple(x.shape)}")
        return fold(x, self.output_size, self.kernel_size, self.dilation, self.padding,
                    self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation="
                f"{self.dilation}, padding={self.padding}, stride={self.stride}")
