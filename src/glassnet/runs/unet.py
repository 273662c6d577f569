"""A U-Net-like encoder-decoder for semantic segmentation (the ``segmentation`` task).

The encoder halves the size ``len(widths) - 1`` times with Conv-BN-ReLU blocks and max
pooling; the decoder goes back up with ConvTranspose2d and concatenates, at each level, the
encoder features of the same size (skip connections). A 1x1 convolution gives per-pixel
logits; with ``class_skip`` logits from the half-size decoder level are added, upsampled x2.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..ops import cat
from ..tensor import Tensor, no_grad

__all__ = ["UNet", "block", "segment", "confusion", "iou_scores"]


def block(cin: int, cout: int, convs: int = 2) -> nn.Sequential:
    """``convs`` times Conv2d(3x3, same size) -> BatchNorm2d -> ReLU."""
    layers = []
    for i in range(convs):
        layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1),
                   nn.BatchNorm2d(cout), nn.ReLU()]
    return nn.Sequential(*layers)


class UNet(nn.Module):
    """U-Net-like encoder-decoder: 64→32→16→8→4 by default (channels ``widths``) and back up.

    ``top_convs`` convolutions run at full resolution (1 is enough for MNIST canvases: ink is
    a threshold of the input; telling digits apart happens in the deeper, cheaper levels,
    whose 3x3 kernels at 1/8 and 1/16 size see the whole digit).

    Args:
        widths: channels per level, full size first (at least two levels).
        classes: output classes per pixel.
        in_channels: input channels (1 grayscale, 3 RGB).
        top_convs: Conv-BN-ReLU layers at full size (encoder and decoder).
        class_skip: also compute logits from the half-size decoder features and add them,
            upsampled x2, to the full-size head's logits.

    Shape:
        input (N, C_in, H, W) with H, W divisible by 2 ** (len(widths) - 1);
        output (N, classes, H, W) logits.

    Example:
        >>> UNet()(gn.zeros(2, 1, 64, 64)).shape
        (2, 11, 64, 64)
    """

    def __init__(self, widths=(8, 16, 48, 96, 192), classes: int = 11, *,
                 in_channels: int = 1, top_convs: int = 1, class_skip: bool = True):
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if len(widths) < 2 or min(widths) < 1:
            raise ValueError(f"UNet(widths={widths}): expected >= 2 positive channel counts")
        if classes < 2 or in_channels < 1 or top_convs < 1:
            raise ValueError(f"UNet: expected classes >= 2, in_channels >= 1, top_convs >= 1; "
                             f"got {classes}, {in_channels}, {top_convs}")
        L = len(widths) - 1
        self.levels = L
        self.down = nn.ModuleList([block(in_channels, widths[0], top_convs)] + [
            block(widths[i], widths[i + 1]) for i in range(L)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
                                 for i in reversed(range(L))])
        self.dec = nn.ModuleList([block(2 * widths[i], widths[i], top_convs if i == 0 else 2)
                                  for i in reversed(range(L))])
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Conv2d(widths[0], classes, 1)
        if class_skip:
            self.head2 = nn.Conv2d(widths[1], classes, 1)
            self.up2 = nn.Upsample(scale_factor=2)
        self.class_skip = class_skip

    def forward(self, x):
        step = 2 ** self.levels
        if x.shape[-1] % step or x.shape[-2] % step:
            raise ValueError(f"UNet: input height and width must be divisible by {step} "
                             f"({self.levels} poolings), got {tuple(x.shape[-2:])}")
        skips = []
        for i, enc in enumerate(self.down):
            x = enc(x if i == 0 else self.pool(x))
            skips.append(x)
        skips.pop()                                                # the bottleneck itself
        half = None
        for up, dec in zip(self.up, self.dec):
            half = x
            x = dec(cat([up(x), skips.pop()], dim=1))
        if self.class_skip:
            return self.head(x) + self.up2(self.head2(half))
        return self.head(x)


def segment(model, x, batch: int = 64) -> np.ndarray:
    """Per-pixel classes (N, H, W) int64 of images ``x`` (N, C, H, W), in eval mode."""
    was = model.training
    model.eval()
    out = []
    with no_grad():
        for i in range(0, len(x), batch):
            out.append(model(Tensor(np.ascontiguousarray(x[i:i + batch]))).array.argmax(1))
    model.train(was)
    return np.concatenate(out).astype(np.int64) if out else np.zeros((0,) + x.shape[2:], np.int64)


def confusion(pred, target, classes: int) -> np.ndarray:
    """Pixel counts (classes, classes): row = true class, column = predicted class."""
    idx = np.asarray(target, np.int64).ravel() * classes + np.asarray(pred, np.int64).ravel()
    return np.bincount(idx, minlength=classes * classes).reshape(classes, classes)


def iou_scores(cm: np.ndarray) -> dict:
    """``{"mean_iou", "pixel_accuracy", "iou"}`` from a confusion matrix. The mean is over the
    classes present in the target or the prediction (IoU of the others is undefined: None)."""
    cm = np.asarray(cm, np.float64)
    inter = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - inter
    iou = [float(i / u) if u else None for i, u in zip(inter, union)]
    present = [v for v in iou if v is not None]
    return {"mean_iou": float(np.mean(present)) if present else 0.0,
            "pixel_accuracy": float(inter.sum() / max(cm.sum(), 1.0)), "iou": iou}
