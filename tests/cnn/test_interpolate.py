"""F.interpolate / nn.Upsample in every mode (nearest, nearest-exact, linear, bilinear, bicubic,
trilinear, area) vs PyTorch: values and input gradients, align_corners True/False, size and
scale_factor (up and down, recomputed or not), NaN placement, float64 central differences,
and errors naming the layer or the function."""
import numpy as np
import pytest
import torch

import glassnet as gn
import glassnet.nn.functional as F
from _helpers import compare_with_torch, gradcheck_layer, rand

CASES = [
    ("linear", (2, 3, 7), dict(size=12)),
    ("linear", (2, 3, 7), dict(scale_factor=0.6)),
    ("bilinear", (2, 3, 5, 7), dict(scale_factor=(2.5, 1.5))),
    ("bilinear", (1, 2, 6, 4), dict(size=(3, 9))),
    ("bicubic", (2, 3, 5, 7), dict(size=(3, 11))),
    ("bicubic", (1, 2, 4, 4), dict(scale_factor=1.7)),
    ("trilinear", (2, 3, 3, 4, 5), dict(size=(5, 3, 9))),
    ("trilinear", (1, 2, 3, 4, 5), dict(scale_factor=(2, 0.5, 1.3))),
]


@pytest.mark.parametrize("mode,shape,kw", CASES)
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("recompute", [None, True])
def test_interpolating_modes_match_torch(mode, shape, kw, align_corners, recompute):
    kw = dict(kw, mode=mode, align_corners=align_corners, recompute_scale_factor=recompute)
    if recompute and "size" in kw:
        kw.pop("recompute_scale_factor")
    compare_with_torch(gn.nn.Upsample(**kw), torch.nn.Upsample(**kw), rand(*shape))


@pytest.mark.parametrize("mode,shape,kw", [
    ("nearest", (2, 3, 4, 5, 6), dict(scale_factor=1.5)),
    ("nearest", (2, 3, 4, 5, 6), dict(size=(2, 7, 3))),
    ("nearest", (2, 3, 5, 7), dict(scale_factor=1.5, recompute_scale_factor=True)),
    ("nearest-exact", (2, 3, 7, 9), dict(scale_factor=1.5)),
    ("nearest-exact", (2, 3, 7), dict(size=13)),
    ("area", (2, 3, 7, 9), dict(size=(3, 4))),
    ("area", (2, 3, 7), dict(size=3)),
    ("area", (1, 2, 4, 7, 9), dict(size=(3, 3, 4))),
    ("area", (1, 2, 8, 8), dict(scale_factor=0.5))])
def test_other_modes_match_torch(mode, shape, kw):
    x = rand(*shape)
    xg, xt = gn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yg, yt = F.interpolate(xg, mode=mode, **kw), torch.nn.functional.interpolate(
        xt, mode=mode, **kw)
    assert yg.shape == tuple(yt.shape) and yg.dtype == np.float32
    np.testing.assert_allclose(yg.array, yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    w = rand(*yg.shape)
    (yg * gn.tensor(w)).sum().backward()
    (yt * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(xg.grad.array, xt.grad.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode,shape", [("bilinear", (1, 1, 4, 5)), ("bicubic", (1, 1, 4, 5)),
                                        ("linear", (1, 2, 6))])
def test_nan_reaches_the_same_outputs_as_torch(mode, shape):
    x = rand(*shape)
    x.reshape(-1)[3] = np.nan
    yg = F.interpolate(gn.tensor(x), scale_factor=2, mode=mode, align_corners=False)
    yt = torch.nn.functional.interpolate(torch.from_numpy(x), scale_factor=2, mode=mode,
                                         align_corners=False)
    np.testing.assert_array_equal(np.isnan(yg.array), np.isnan(yt.numpy()))
    np.testing.assert_allclose(yg.array, yt.numpy(), rtol=1e-5, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("kw,shape", [
    (dict(scale_factor=2, mode="bilinear"), (1, 2, 3, 2)),
    (dict(size=(4, 3), mode="bicubic", align_corners=True), (1, 1, 3, 3)),
    (dict(scale_factor=1.5, mode="trilinear"), (1, 1, 2, 2, 3)),
    (dict(size=3, mode="area"), (1, 2, 5))])
def test_float64_finite_differences(kw, shape):
    gradcheck_layer(gn.nn.Upsample(**kw), rand(*shape, dtype=np.float64))


@pytest.mark.parametrize("call,match", [
    (lambda: gn.nn.Upsample(scale_factor=2, mode="bilinear")(gn.tensor(rand(1, 2, 5))),
     r"Upsample\(mode='bilinear'\): expected input \(N, C, H, W\), got \(1, 2, 5\)"),
    (lambda: gn.nn.Upsample(scale_factor=2, mode="nearest", align_corners=True),
     r"Upsample\(align_corners=True\): only for the modes"),
    (lambda: gn.nn.Upsample(size=(2, 3), mode="trilinear")(gn.tensor(rand(1, 1, 2, 2, 2))),
     r"Upsample\(size=\(2, 3\)\): 2 values for 3 spatial dims"),
    (lambda: F.interpolate(gn.tensor(rand(1, 2, 5, 5)), scale_factor=2, mode="linear"),
     r"interpolate\(mode='linear'\): needs a 3-D input"),
    (lambda: F.interpolate(gn.tensor(rand(1, 2, 5)), size=4, mode="area", align_corners=False),
     r"interpolate\(mode='area'\): align_corners can only be set"),
    (lambda: F.interpolate(gn.tensor(rand(1, 2, 5)), mode="linear"),
     r"exactly one of size and scale_factor"),
    (lambda: F.interpolate(gn.tensor(rand(1, 2, 5)), scale_factor=0.1, mode="linear"),
     r"interpolate\(mode='linear'\)\(scale_factor=0.1\): output size \(0,\) is empty")])
def test_errors_name_the_layer_or_function(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_nearest_keeps_integer_dtypes_like_torch():
    x = np.arange(24, dtype=np.uint8).reshape(1, 2, 3, 4)
    for mode in ("nearest", "nearest-exact"):
        yg = F.interpolate(gn.tensor(x), scale_factor=1.5, mode=mode)
        yt = torch.nn.functional.interpolate(torch.from_numpy(x), scale_factor=1.5, mode=mode)
        assert yg.dtype == np.uint8
        np.testing.assert_array_equal(yg.array, yt.numpy())


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize("kw", [dict(size=(20, 5)), dict(size=(4, 30)), dict(size=(9, 30)),
                                dict(size=(3, 3)), dict(scale_factor=1.7),
                                dict(scale_factor=(0.6, 2.5))])
def test_uint8_images_stay_uint8_bit_exact_with_torch(mode, align, kw):
    x = np.random.default_rng(7).integers(0, 256, (2, 3, 9, 11)).astype(np.uint8)
    x[0, 0, :2] = 255                                  # bicubic overshoots here: clipped
    x[0, 0, 2:4] = 0
    got = F.interpolate(gn.tensor(x), mode=mode, align_corners=align, **kw)
    want = torch.nn.functional.interpolate(torch.from_numpy(x), mode=mode,
                                           align_corners=align, **kw)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got.numpy(), want.numpy())
