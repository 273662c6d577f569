"""MaxPool3d, AvgPool1d/3d, max pooling with return_indices (1-d, 2-d, 3-d) and MaxUnpool1d/2d/3d
vs PyTorch (outputs, indices, input gradients), float64 central differences, and errors
naming the layer."""
import numpy as np
import pytest
import torch

import glassnet as gn
import glassnet.nn.functional as F
from _helpers import RNG, compare_with_torch, gradcheck_layer, rand


def distinct(*shape, dtype=np.float32):
    """Values without ties (a tie makes the max's gradient depend on the scan order)."""
    return RNG.permutation(int(np.prod(shape))).reshape(shape).astype(dtype) / 7


@pytest.mark.parametrize("kw,shape", [
    (dict(kernel_size=2), (2, 3, 4, 6, 6)),
    (dict(kernel_size=(2, 3, 2), stride=(1, 2, 2), padding=(1, 1, 0)), (2, 2, 5, 6, 7)),
    (dict(kernel_size=3, stride=2, dilation=(1, 2, 1), ceil_mode=True), (1, 2, 6, 8, 6))])
def test_maxpool3d_matches_torch(kw, shape):
    compare_with_torch(gn.nn.MaxPool3d(**kw), torch.nn.MaxPool3d(**kw), distinct(*shape))


@pytest.mark.parametrize("cls,tcls,kw,shape", [
    (gn.nn.AvgPool3d, torch.nn.AvgPool3d, dict(kernel_size=2), (2, 3, 4, 6, 6)),
    (gn.nn.AvgPool3d, torch.nn.AvgPool3d, dict(kernel_size=(3, 2, 3), stride=2,
                                               padding=(1, 0, 1), ceil_mode=True,
                                               count_include_pad=False), (2, 2, 5, 6, 7)),
    (gn.nn.AvgPool3d, torch.nn.AvgPool3d, dict(kernel_size=3, stride=2, padding=1,
                                               divisor_override=4), (1, 2, 5, 5, 5)),
    (gn.nn.AvgPool1d, torch.nn.AvgPool1d, dict(kernel_size=3), (2, 3, 10)),
    (gn.nn.AvgPool1d, torch.nn.AvgPool1d, dict(kernel_size=4, stride=3, padding=2,
                                               ceil_mode=True, count_include_pad=False),
     (2, 3, 11))])
def test_avgpool_matches_torch(cls, tcls, kw, shape):
    compare_with_torch(cls(**kw), tcls(**kw), rand(*shape))


@pytest.mark.parametrize("nd,kw,shape", [
    (1, dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (2, 3, 9)),
    (2, dict(kernel_size=2), (2, 3, 6, 8)),
    (2, dict(kernel_size=3, stride=2, padding=1), (2, 2, 7, 9)),
    (3, dict(kernel_size=(2, 3, 2), stride=(1, 2, 2), padding=(1, 1, 0)), (1, 2, 4, 6, 5))])
def test_return_indices_and_unpool_match_torch(nd, kw, shape):
    x = distinct(*shape)
    pool = getattr(gn.nn, f"MaxPool{nd}d")(**kw, return_indices=True)
    tpool = getattr(torch.nn, f"MaxPool{nd}d")(**kw, return_indices=True)
    xg, xt = gn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (yg, ig), (yt, it) = pool(xg), tpool(xt)
    np.testing.assert_array_equal(ig.array, it.numpy())
    assert ig.dtype == np.int64
    np.testing.assert_allclose(yg.array, yt.detach().numpy())
    fkw = {k: v for k, v in kw.items() if k in ("kernel_size", "stride", "padding")}
    unpool = getattr(gn.nn, f"MaxUnpool{nd}d")(**fkw)
    tunpool = getattr(torch.nn, f"MaxUnpool{nd}d")(**fkw)
    zg, zt = unpool(yg, ig, output_size=shape), tunpool(yt, it, output_size=shape)
    np.testing.assert_array_equal(zg.array, zt.detach().numpy())
    w = rand(*shape)
    (zg * gn.tensor(w)).sum().backward()
    (zt * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(xg.grad.array, xt.grad.numpy(), rtol=1e-6, atol=1e-6)
    yf, idf = getattr(F, f"max_pool{nd}d")(gn.tensor(x), **kw, return_indices=True)
    np.testing.assert_array_equal(idf.array, it.numpy())


def test_unpool_default_output_size_and_functional():
    x = distinct(2, 3, 6, 8)
    yt, it = torch.nn.functional.max_pool2d(torch.from_numpy(x), 2, return_indices=True)
    z = F.max_unpool2d(gn.tensor(yt.numpy()), gn.tensor(it.numpy()), 2)
    np.testing.assert_array_equal(z.array, torch.nn.functional.max_unpool2d(yt, it, 2).numpy())


def test_maxpool_nan_and_minus_inf_like_torch():
    x = distinct(1, 1, 4, 4, 4)
    x[0, 0, 1, 1, 1] = np.nan
    x[0, 0, 0, 0, 0] = np.nan
    x[0, 0, 2:, 2:, 2:] = -np.inf
    for pad in (0, 1):
        yg, ig = F.max_pool3d(gn.tensor(x), 2, padding=pad, return_indices=True)
        yt, it = torch.nn.functional.max_pool3d(torch.from_numpy(x), 2, padding=pad,
                                                return_indices=True)
        np.testing.assert_array_equal(yg.array, yt.numpy())
        np.testing.assert_array_equal(ig.array, it.numpy())


def test_float64_finite_differences():
    gradcheck_layer(gn.nn.MaxPool3d(2, stride=1, padding=1), distinct(1, 2, 3, 3, 2,
                                                                      dtype=np.float64))
    gradcheck_layer(gn.nn.AvgPool3d(2, stride=1, padding=1, count_include_pad=False,
                                    ceil_mode=True), rand(1, 2, 3, 2, 3, dtype=np.float64))
    gradcheck_layer(gn.nn.AvgPool1d(3, stride=2, padding=1), rand(2, 2, 5, dtype=np.float64))


@pytest.mark.parametrize("make,match", [
    (lambda: gn.nn.MaxPool3d(2, padding=2), r"MaxPool3d\(padding=2\): padding must be at most "
     r"half"),
    (lambda: gn.nn.AvgPool3d((2, 2)), r"AvgPool3d\(kernel_size=\(2, 2\)\)"),
    (lambda: gn.nn.AvgPool3d(2, divisor_override=0), r"AvgPool3d\(divisor_override=0\)"),
    (lambda: gn.nn.MaxUnpool2d(0), r"MaxUnpool2d: kernel_size \(0, 0\)")])
def test_constructor_errors_name_the_layer(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_bad_inputs_name_the_layer():
    with pytest.raises(ValueError, match=r"MaxPool3d: expected input \(N, C, D, H, W\)"):
        gn.nn.MaxPool3d(2)(gn.tensor(rand(2, 4, 4)))
    with pytest.raises(ValueError, match=r"max_pool3d: kernel size \(3, 3, 3\)"):
        gn.nn.MaxPool3d(3)(gn.tensor(rand(1, 1, 2, 5, 5)))
    with pytest.raises(ValueError, match=r"AvgPool1d: expected input \(N, C, L\)"):
        gn.nn.AvgPool1d(2)(gn.tensor(rand(2, 4, 4, 4)))
    y, idx = gn.nn.MaxPool2d(2, return_indices=True)(gn.tensor(rand(1, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"MaxUnpool2d: indices must lie in \[0, 4\)"):
        gn.nn.MaxUnpool2d(2)(y, idx, output_size=(2, 2))
    with pytest.raises(ValueError, match=r"MaxUnpool2d: expected integer indices"):
        gn.nn.MaxUnpool2d(2)(y, gn.tensor(rand(1, 1, 2, 2)))


@pytest.mark.parametrize("name,out,shape", [
    ("AdaptiveAvgPool1d", 4, (2, 3, 10)), ("AdaptiveAvgPool1d", 7, (2, 3, 5)),
    ("AdaptiveAvgPool3d", (2, None, 4), (2, 3, 5, 7, 6)), ("AdaptiveAvgPool3d", 1, (1, 2, 3, 4, 5)),
    ("AdaptiveMaxPool1d", 4, (2, 3, 10)), ("AdaptiveMaxPool2d", (3, 5), (2, 3, 7, 9)),
    ("AdaptiveMaxPool2d", (6, None), (2, 3, 4, 5)),
    ("AdaptiveMaxPool3d", (2, 3, 4), (1, 2, 5, 7, 6))])
def test_adaptive_pools_match_torch(name, out, shape):
    compare_with_torch(getattr(gn.nn, name)(out), getattr(torch.nn, name)(out),
                       distinct(*shape))


@pytest.mark.parametrize("nd,out,shape", [(1, 3, (2, 3, 8)), (2, (3, 2), (2, 2, 7, 5)),
                                          (3, 2, (1, 2, 3, 5, 4))])
def test_adaptive_max_indices_and_nan_match_torch(nd, out, shape):
    x = distinct(*shape)
    x.reshape(-1)[[1, 2, 9]] = np.nan
    yg, ig = getattr(F, f"adaptive_max_pool{nd}d")(gn.tensor(x), out, return_indices=True)
    yt, it = getattr(torch.nn.functional, f"adaptive_max_pool{nd}d")(
        torch.from_numpy(x), out, return_indices=True)
    np.testing.assert_array_equal(yg.array, yt.numpy())
    np.testing.assert_array_equal(ig.array, it.numpy())
    ym, im = getattr(gn.nn, f"AdaptiveMaxPool{nd}d")(out, return_indices=True)(gn.tensor(x))
    np.testing.assert_array_equal(im.array, it.numpy())


def test_adaptive_float64_finite_differences_and_errors():
    gradcheck_layer(gn.nn.AdaptiveMaxPool2d((2, 3)), distinct(1, 2, 5, 4, dtype=np.float64))
    gradcheck_layer(gn.nn.AdaptiveAvgPool3d((2, 1, 2)), rand(1, 2, 3, 2, 3, dtype=np.float64))
    with pytest.raises(ValueError, match=r"AdaptiveMaxPool2d\(output_size=\(2, 0\)\)"):
        gn.nn.AdaptiveMaxPool2d((2, 0))
    with pytest.raises(ValueError, match=r"adaptive_max_pool3d: expected input \(N, C, D, H, W\)"):
        gn.nn.AdaptiveMaxPool3d(2)(gn.tensor(rand(2, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"adaptive_avg_pool1d: input \(2, 3, 0\) has an empty"):
        gn.nn.AdaptiveAvgPool1d(2)(gn.tensor(rand(2, 3, 0)))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=(2, 3, 2), stride=1, dilation=(2, 1, 1),
                                     ceil_mode=True)])
def test_maxpool3d_two_pass_ties_and_nan_like_torch(kw):
    """The separable path keeps PyTorch's choice: first maximum in (d, h, w) order, last NaN."""
    x = np.round(rand(2, 2, 5, 6, 6))                  # many ties
    x[0, 0, 1, 2, 2] = x[0, 1, 3, 1, 4] = x[1, 0, 0, 0, 0] = np.nan
    x[1, 1, 2:4, 2:4, 2:4] = -np.inf
    compare_with_torch(gn.nn.MaxPool3d(**kw), torch.nn.MaxPool3d(**kw), x.astype(np.float32))
