"""Padding layers (Zero/Constant/Reflection/Replication 1d/2d/3d), PixelShuffle/PixelUnshuffle,
UpsamplingNearest2d/UpsamplingBilinear2d and Dropout1d/3d vs PyTorch (values and input
gradients), and errors naming the layer."""
import numpy as np
import pytest
import torch

import glassnet as gn
import glassnet.nn.functional as F
from _helpers import compare_with_torch, gradcheck_layer, rand

SHAPES = {1: (2, 3, 6), 2: (2, 3, 4, 5), 3: (1, 2, 3, 4, 5)}
PADS = {1: [2, (1, 3)], 2: [1, (1, 0, 2, 3)], 3: [1, (0, 1, 2, 1, 1, 0)]}


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("kind", ["Zero", "Constant", "Reflection", "Replication"])
def test_padding_layers_match_torch(kind, nd):
    for pad in PADS[nd]:
        args = (pad, 2.5) if kind == "Constant" else (pad,)
        name = f"{kind}Pad{nd}d"
        shape = SHAPES[nd]
        compare_with_torch(getattr(gn.nn, name)(*args), getattr(torch.nn, name)(*args),
                           rand(*shape))
        compare_with_torch(getattr(gn.nn, name)(*args), getattr(torch.nn, name)(*args),
                           rand(*shape[1:]))                              # unbatched


def test_negative_zero_padding_crops_like_torch():
    compare_with_torch(gn.nn.ZeroPad2d((-1, 2, 0, -2)), torch.nn.ZeroPad2d((-1, 2, 0, -2)),
                       rand(2, 3, 5, 5))


@pytest.mark.parametrize("r,shape", [(2, (2, 8, 3, 4)), (3, (9, 2, 2)), (2, (2, 1, 4, 3, 5))])
def test_pixel_shuffle_and_unshuffle_match_torch(r, shape):
    compare_with_torch(gn.nn.PixelShuffle(r), torch.nn.PixelShuffle(r), rand(*shape))
    up = tuple(shape[:-3]) + (shape[-3] // (r * r), shape[-2] * r, shape[-1] * r)
    compare_with_torch(gn.nn.PixelUnshuffle(r), torch.nn.PixelUnshuffle(r), rand(*up))
    x = rand(*shape)
    np.testing.assert_array_equal(F.pixel_unshuffle(F.pixel_shuffle(gn.tensor(x), r), r).array,
                                  x)


@pytest.mark.parametrize("kw", [dict(scale_factor=2), dict(size=(5, 7)),
                                dict(scale_factor=(1.5, 2.5))])
def test_upsampling2d_layers_match_torch(kw):
    x = rand(2, 3, 4, 3)
    compare_with_torch(gn.nn.UpsamplingNearest2d(**kw), torch.nn.UpsamplingNearest2d(**kw), x)
    compare_with_torch(gn.nn.UpsamplingBilinear2d(**kw), torch.nn.UpsamplingBilinear2d(**kw),
                       x)


@pytest.mark.parametrize("cls,shape", [(gn.nn.Dropout1d, (8, 16, 10)), (gn.nn.Dropout1d, (16, 10)),
                                       (gn.nn.Dropout3d, (4, 8, 2, 3, 3)),
                                       (gn.nn.Dropout3d, (8, 2, 3, 3))])
def test_channel_dropout_zeroes_whole_channels(cls, shape):
    gn.manual_seed(0)
    layer = cls(0.4)
    x = rand(*shape) + 5                          # no zeros of its own
    xg = gn.tensor(x, requires_grad=True)
    y = layer(xg)
    assert y.shape == shape
    lead = 1 if len(shape) in (2, 4) else 2       # (C, …) unbatched or (N, C, …)
    per = y.array.reshape(int(np.prod(shape[:lead])), -1)
    xs = x.reshape(per.shape)
    dropped = (per == 0).all(axis=1)
    kept = np.isclose(per, xs / 0.6, rtol=1e-6).all(axis=1)
    assert (dropped | kept).all() and dropped.any() and kept.any()
    y.sum().backward()
    np.testing.assert_allclose(xg.grad.array.reshape(per.shape), np.where(
        dropped[:, None], 0.0, 1 / 0.6) * np.ones_like(per), rtol=1e-6)
    layer.eval()
    np.testing.assert_array_equal(layer(gn.tensor(x)).array, x)


def test_float64_finite_differences():
    gradcheck_layer(gn.nn.ReflectionPad2d((1, 2, 0, 1)), rand(1, 2, 3, 3, dtype=np.float64))
    gradcheck_layer(gn.nn.ReplicationPad3d(1), rand(1, 1, 2, 2, 3, dtype=np.float64))
    gradcheck_layer(gn.nn.PixelShuffle(2), rand(1, 4, 2, 3, dtype=np.float64))


@pytest.mark.parametrize("call,err,match", [
    (lambda: gn.nn.ZeroPad2d((1, 2)), TypeError, r"ZeroPad2d\(padding=\(1, 2\)\): expected an "
     r"int or a tuple of 4 ints"),
    (lambda: gn.nn.ReflectionPad1d(-1), ValueError, r"ReflectionPad1d\(padding=-1\): padding "
     r"must be >= 0"),
    (lambda: gn.nn.ReflectionPad2d(3)(gn.tensor(rand(1, 1, 3, 5))), ValueError,
     r"ReflectionPad2d\(padding=\(3, 3, 3, 3\)\): each padding must be smaller than its dim"),
    (lambda: gn.nn.ReplicationPad3d(1)(gn.tensor(rand(2, 3))), ValueError,
     r"ReplicationPad3d: expected input \(N, C, D, H, W\)"),
    (lambda: gn.nn.PixelShuffle(0), ValueError, r"PixelShuffle\(upscale_factor\)"),
    (lambda: gn.nn.PixelShuffle(2)(gn.tensor(rand(1, 6, 2, 2))), ValueError,
     r"pixel_shuffle\(upscale_factor=2\): expected input \(\*, C·4, H, W\)"),
    (lambda: gn.nn.PixelUnshuffle(2)(gn.tensor(rand(1, 1, 3, 4))), ValueError,
     r"pixel_unshuffle\(downscale_factor=2\)"),
    (lambda: gn.nn.Dropout3d(1.5), ValueError, r"Dropout3d\(p=1.5\)"),
    (lambda: gn.nn.Dropout1d()(gn.tensor(rand(2, 3, 4, 5))), ValueError,
     r"dropout1d: expected input \(N, C, L\)"),
    (lambda: gn.nn.UpsamplingNearest2d(scale_factor=2)(gn.tensor(rand(1, 2, 5))), ValueError,
     r"UpsamplingNearest2d: expected input \(N, C, H, W\)")])
def test_errors_name_the_layer(call, err, match):
    with pytest.raises(err, match=match):
        call()


@pytest.mark.parametrize("kw,shape", [
    (dict(kernel_size=(2, 3)), (2, 5, 3, 4)),
    (dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(2, 1)), (2, 3, 7, 8)),
    (dict(kernel_size=2, stride=2), (3, 4, 6))])                           # unbatched
def test_unfold_and_fold_match_torch(kw, shape):
    compare_with_torch(gn.nn.Unfold(**kw), torch.nn.Unfold(**kw), rand(*shape))
    cols = torch.nn.functional.unfold(torch.from_numpy(rand(*shape)).reshape(-1, *shape[-3:]),
                                      **kw)
    fold_kw = dict(kw, output_size=shape[-2:])
    x = rand(*(cols.shape[1:] if len(shape) == 3 else cols.shape))
    compare_with_torch(gn.nn.Fold(**fold_kw), torch.nn.Fold(**fold_kw), x)


@pytest.mark.parametrize("size,shape", [(1, (2, 5, 7)), (2, (2, 6, 3, 4)), (3, (2, 6, 3, 4)),
                                        (5, (1, 4, 2, 3, 3))])
def test_local_response_norm_matches_torch(size, shape):
    kw = dict(alpha=0.3, beta=0.7, k=1.5)
    compare_with_torch(gn.nn.LocalResponseNorm(size, **kw),
                       torch.nn.LocalResponseNorm(size, **kw), rand(*shape))


def test_fold_unfold_finite_differences_and_errors():
    gradcheck_layer(gn.nn.Unfold(2, padding=1, stride=2), rand(1, 2, 3, 3, dtype=np.float64))
    gradcheck_layer(gn.nn.Fold((3, 4), 2), rand(1, 8, 6, dtype=np.float64))
    gradcheck_layer(gn.nn.LocalResponseNorm(3, alpha=0.5), rand(2, 4, 3, dtype=np.float64))
    with pytest.raises(ValueError, match=r"fold: input \(1, 8, 5\) does not match kernel"):
        gn.nn.Fold((3, 4), 2)(gn.tensor(rand(1, 8, 5)))
    with pytest.raises(ValueError, match=r"unfold: kernel \(4, 4\) .*does not fit"):
        gn.nn.Unfold(4)(gn.tensor(rand(1, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"LocalResponseNorm\(size=0\)"):
        gn.nn.LocalResponseNorm(0)
