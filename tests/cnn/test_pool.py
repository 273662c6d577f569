"""Pooling and upsampling layers vs PyTorch, plus float64 finite differences."""
import numpy as np
import pytest
import torch

import glassnet as gn
from _helpers import compare_with_torch, gradcheck_layer, rand


@pytest.mark.parametrize("k,s,p,d,ceil,H,W", [
    (2, None, 0, 1, False, 8, 8), (2, None, 0, 1, False, 9, 7), (3, 2, 1, 1, False, 9, 8),
    (3, 2, 1, 1, True, 10, 7), (3, 1, 1, 2, False, 7, 7), ((2, 3), (1, 2), (1, 1), 1, True, 6, 9),
    (2, 3, 0, 1, True, 8, 8)])
def test_max_pool2d_matches_torch(k, s, p, d, ceil, H, W):
    layer = gn.nn.MaxPool2d(k, s, p, d, ceil_mode=ceil)
    compare_with_torch(layer, torch.nn.MaxPool2d(k, s, p, d, ceil_mode=ceil), rand(2, 3, H, W))


def test_max_pool2d_ties_send_gradient_to_first_max_like_torch():
    x = np.maximum(rand(2, 3, 8, 8), 0)          # ReLU output: many all-zero windows
    x[0, 0, :2, :2] = 1.0
    compare_with_torch(gn.nn.MaxPool2d(2), torch.nn.MaxPool2d(2), x)
    compare_with_torch(gn.nn.MaxPool2d(3, 1, 1), torch.nn.MaxPool2d(3, 1, 1), x)


@pytest.mark.parametrize("k,s,p,ceil", [(2, None, 0, False), (3, 1, 1, False), (3, 2, 1, True)])
def test_max_pool2d_nan_propagates_and_gets_the_gradient_like_torch(k, s, p, ceil):
    x = np.round(rand(2, 3, 8, 7), 1)
    x[0, 0, 1, 1] = x[0, 0, 0, 1] = x[1, 2, 5, 4] = np.nan    # two NaNs share a 2x2 window
    x[1, 1, 3, 3] = np.inf
    yg, _ = compare_with_torch(gn.nn.MaxPool2d(k, s, p, ceil_mode=ceil),
                               torch.nn.MaxPool2d(k, s, p, ceil_mode=ceil), x)
    assert np.isnan(yg.array).any()


def test_max_pool2d_no_grad_and_non_contiguous_inputs_agree():
    x = rand(2, 8, 6, 6)
    ref = gn.nn.functional.max_pool2d(gn.tensor(x), 2).array
    with gn.no_grad():
        assert np.array_equal(gn.nn.functional.max_pool2d(
            gn.tensor(x, requires_grad=True), 2).array, ref)
    cl = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)   # channels-last
    assert np.array_equal(gn.nn.functional.max_pool2d(gn.tensor(cl), 2).array, ref)


@pytest.mark.parametrize("k,s,p,ceil,L", [(2, None, 0, False, 9), (3, 2, 1, True, 10),
                                          (4, 1, 2, False, 7)])
def test_max_pool1d_matches_torch(k, s, p, ceil, L):
    compare_with_torch(gn.nn.MaxPool1d(k, s, p, ceil_mode=ceil),
                       torch.nn.MaxPool1d(k, s, p, ceil_mode=ceil), rand(2, 3, L))


@pytest.mark.parametrize("k,s,p,ceil,incl,div", [
    (2, None, 0, False, True, None), (3, 2, 1, False, True, None), (3, 2, 1, True, True, None),
    (3, 2, 1, True, False, None), ((2, 3), (2, 1), (1, 1), False, False, None),
    (2, 2, 0, False, True, 3)])
def test_avg_pool2d_matches_torch(k, s, p, ceil, incl, div):
    args = dict(ceil_mode=ceil, count_include_pad=incl, divisor_override=div)
    compare_with_torch(gn.nn.AvgPool2d(k, s, p, **args), torch.nn.AvgPool2d(k, s, p, **args),
                       rand(2, 3, 9, 8))


@pytest.mark.parametrize("out,H,W", [(1, 7, 7), ((3, 3), 7, 7), ((4, 5), 9, 11), ((5, 2), 5, 8),
                                     ((None, 3), 6, 7)])
def test_adaptive_avg_pool2d_matches_torch(out, H, W):
    compare_with_torch(gn.nn.AdaptiveAvgPool2d(out), torch.nn.AdaptiveAvgPool2d(out),
                       rand(2, 3, H, W))


@pytest.mark.parametrize("out", [1, (3, 4), (4, 3), (7, 9)])
def test_adaptive_avg_pool2d_nan_stays_in_its_windows_like_torch(out):
    x = rand(2, 3, 7, 9)
    x[0, 1, 3, 4] = np.nan
    x[1, 2, 6, 0] = np.inf
    yg, yt = compare_with_torch(gn.nn.AdaptiveAvgPool2d(out), torch.nn.AdaptiveAvgPool2d(out),
                                x)
    assert np.array_equal(np.isnan(yg.array), np.isnan(yt.detach().numpy()))   # same cells


@pytest.mark.parametrize("kw,shape", [
    (dict(scale_factor=2), (2, 3, 4, 5)), (dict(scale_factor=(2, 3)), (1, 2, 3, 3)),
    (dict(size=(7, 5)), (2, 2, 3, 4)), (dict(scale_factor=1.5), (1, 2, 4, 4)),
    (dict(scale_factor=3), (2, 3, 5))])
def test_upsample_nearest_matches_torch(kw, shape):
    compare_with_torch(gn.nn.Upsample(**kw), torch.nn.Upsample(**kw, mode="nearest"),
                       rand(*shape))


@pytest.mark.parametrize("layer,shape", [
    (lambda: gn.nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), (1, 2, 6, 5)),
    (lambda: gn.nn.MaxPool2d(3, 2, 1), (1, 2, 5, 6)),
    (lambda: gn.nn.AdaptiveAvgPool2d((2, 3)), (1, 2, 5, 7)),
    (lambda: gn.nn.Upsample(size=(5, 7)), (1, 2, 3, 3))])
def test_float64_finite_differences(layer, shape):
    gradcheck_layer(layer(), rand(*shape, dtype=np.float64))


def test_functional_forms_exist():
    F = gn.nn.functional
    x = gn.tensor(rand(1, 2, 8, 8))
    assert F.max_pool2d(x, 2).shape == (1, 2, 4, 4)
    assert F.avg_pool2d(x, 2).shape == (1, 2, 4, 4)
    assert F.adaptive_avg_pool2d(x, 1).shape == (1, 2, 1, 1)
    assert F.interpolate(x, scale_factor=2).shape == (1, 2, 16, 16)
    assert F.conv2d(x, gn.tensor(rand(3, 2, 3, 3))).shape == (1, 3, 6, 6)


@pytest.mark.parametrize("k,H,W", [(2, 8, 6), (3, 9, 6), ((2, 3), 6, 9), (1, 4, 4)])
@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool2d_without_a_graph_matches_torch_and_the_recording_path(k, H, W, layout, dtype):
    """Tiled windows under no_grad take the maxima of strided views (no masks): same values
    as torch and as the path that records the graph, NaN and -inf windows included."""
    x = rand(2, 3, H, W).astype(dtype)
    x[0, 0, 0, 0], x[1, 2, :2, :3] = np.nan, -np.inf
    g_in = gn.tensor(x)
    if layout == "channels_last":
        g_in = gn.tensor(np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2))
    with gn.no_grad():
        got = gn.nn.functional.max_pool2d(g_in, k)
    recorded = gn.nn.functional.max_pool2d(gn.tensor(x, requires_grad=True), k)
    want = torch.nn.functional.max_pool2d(torch.from_numpy(x), k).numpy()
    assert got.dtype == dtype and not got.requires_grad
    np.testing.assert_array_equal(got.numpy(), want)
    np.testing.assert_array_equal(got.numpy(), recorded.detach().numpy())
