"""BatchNorm1d/2d (running statistics, eval mode, state_dict), LayerNorm, Dropout2d."""
import numpy as np
import pytest
import torch

import glassnet as gn
from _helpers import compare_with_torch, gradcheck_layer, rand


@pytest.mark.parametrize("cls,tcls,shape", [
    (gn.nn.BatchNorm2d, torch.nn.BatchNorm2d, (4, 3, 5, 6)),
    (gn.nn.BatchNorm1d, torch.nn.BatchNorm1d, (8, 3)),
    (gn.nn.BatchNorm1d, torch.nn.BatchNorm1d, (4, 3, 7))])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_train_then_eval_matches_torch(cls, tcls, shape, momentum):
    layer, ref = cls(3, momentum=momentum), tcls(3, momentum=momentum)
    layer.weight.array[:] = rand(3)
    layer.bias.array[:] = rand(3)
    ref.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in
                         layer.state_dict().items()})
    for _ in range(3):                            # running stats follow torch's, step by step
        x = rand(*shape) * 2 + 1
        layer.train()(gn.tensor(x))
        ref.train()(torch.from_numpy(x))
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(getattr(layer, name).array,
                                   getattr(ref, name).numpy(), rtol=1e-5, atol=1e-6)
    assert int(layer.num_batches_tracked.array) == 3
    assert list(layer.state_dict()) == list(ref.state_dict())
    compare_with_torch(layer, ref, rand(*shape), train=True)
    compare_with_torch(layer, ref, rand(*shape), train=False)


def test_batchnorm_without_affine_or_running_stats():
    layer = gn.nn.BatchNorm2d(3, affine=False, track_running_stats=False)
    ref = torch.nn.BatchNorm2d(3, affine=False, track_running_stats=False)
    compare_with_torch(layer, ref, rand(4, 3, 3, 3), train=False)
    assert layer.state_dict() == {} or len(layer.state_dict()) == 0


def test_batchnorm_float64_finite_differences():
    layer = gn.nn.BatchNorm2d(2)
    layer.weight.array[:] = [1.5, -0.5]
    gradcheck_layer(layer, rand(3, 2, 2, 3, dtype=np.float64))
    layer.eval()
    gradcheck_layer(layer, rand(3, 2, 2, 3, dtype=np.float64))


@pytest.mark.parametrize("shape,norm", [((4, 6), 6), ((2, 3, 5), (3, 5)), ((2, 4, 3, 3), 3)])
def test_layernorm_matches_torch(shape, norm):
    layer, ref = gn.nn.LayerNorm(norm), torch.nn.LayerNorm(norm)
    layer.weight.array[...] = rand(*layer.weight.shape)
    layer.bias.array[...] = rand(*layer.bias.shape)
    compare_with_torch(layer, ref, rand(*shape))


def test_layernorm_float64_finite_differences():
    layer = gn.nn.LayerNorm((2, 3))
    layer.weight.array[...] = rand(2, 3)
    gradcheck_layer(layer, rand(2, 2, 3, dtype=np.float64))


def test_dropout2d_drops_whole_channels_and_rescales():
    gn.manual_seed(0)
    layer = gn.nn.Dropout2d(0.5)
    x = gn.tensor(np.ones((64, 16, 4, 4), np.float32), requires_grad=True)
    y = layer(x).array
    per_channel = y.reshape(64, 16, -1)
    assert np.all(per_channel.min(-1) == per_channel.max(-1))     # constant per channel
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert 0.4 < (y == 0).mean() < 0.6
    layer.eval()
    assert layer(x) is x


@pytest.mark.parametrize("shape", [(4, 3, 5, 6), (2, 8, 33, 17), (600, 5)])
def test_channel_sum_fast_path_equals_numpy(shape):
    from glassnet.ops.norm import channel_sum
    a = rand(*shape, dtype=np.float64)
    last = np.ascontiguousarray(np.moveaxis(a, 1, -1))          # channels-last memory
    a_cl = np.moveaxis(last, -1, 1)
    want = a.sum(axis=(0,) + tuple(range(2, a.ndim)))
    np.testing.assert_allclose(channel_sum(a_cl), want, rtol=1e-12)
    np.testing.assert_allclose(channel_sum(a), want, rtol=1e-12)


def test_batchnorm_on_channels_last_conv_output_matches_torch():
    # conv bias before BN has a zero gradient in exact arithmetic: leave it out
    conv, bn = gn.nn.Conv2d(2, 8, 3, padding=1, bias=False), gn.nn.BatchNorm2d(8)
    tconv, tbn = torch.nn.Conv2d(2, 8, 3, padding=1, bias=False), torch.nn.BatchNorm2d(8)
    compare_with_torch(gn.nn.Sequential(conv, bn), torch.nn.Sequential(tconv, tbn),
                       rand(5, 2, 21, 19))
