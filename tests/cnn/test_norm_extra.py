"""GroupNorm, InstanceNorm1d/2d/3d, RMSNorm, BatchNorm3d and their functional forms vs PyTorch
(outputs, input and parameter gradients, running statistics), float64 central differences,
and errors naming the layer."""
import numpy as np
import pytest
import torch

import glassnet as gn
import glassnet.nn.functional as F
from _helpers import compare_with_torch, gradcheck_layer, rand


def _randomise(layer):
    for p in layer.parameters():
        p.array[...] = rand(*p.shape)
    return layer


@pytest.mark.parametrize("groups,channels,shape", [
    (2, 6, (3, 6, 4, 5)), (1, 4, (2, 4, 7)), (4, 4, (2, 4, 3, 3)), (3, 6, (2, 6)),
    (2, 4, (2, 4, 2, 3, 3))])
def test_groupnorm_matches_torch(groups, channels, shape):
    layer = _randomise(gn.nn.GroupNorm(groups, channels))
    ref = torch.nn.GroupNorm(groups, channels)
    assert list(layer.state_dict()) == list(ref.state_dict())
    compare_with_torch(layer, ref, rand(*shape) * 3 + 1, train=True)
    compare_with_torch(layer, ref, rand(*shape), train=False)


def test_groupnorm_without_affine_and_functional():
    x = rand(3, 6, 5)
    compare_with_torch(gn.nn.GroupNorm(3, 6, affine=False, eps=1e-3),
                       torch.nn.GroupNorm(3, 6, affine=False, eps=1e-3), x)
    w, b = rand(6), rand(6)
    y = F.group_norm(gn.tensor(x), 2, gn.tensor(w), gn.tensor(b), 1e-4)
    ref = torch.nn.functional.group_norm(torch.from_numpy(x), 2, torch.from_numpy(w),
                                         torch.from_numpy(b), 1e-4)
    np.testing.assert_allclose(y.array, ref.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls,tcls,shape", [
    (gn.nn.InstanceNorm1d, torch.nn.InstanceNorm1d, (4, 3, 9)),
    (gn.nn.InstanceNorm1d, torch.nn.InstanceNorm1d, (3, 9)),          # unbatched
    (gn.nn.InstanceNorm2d, torch.nn.InstanceNorm2d, (2, 3, 4, 5)),
    (gn.nn.InstanceNorm2d, torch.nn.InstanceNorm2d, (3, 4, 5)),       # unbatched
    (gn.nn.InstanceNorm3d, torch.nn.InstanceNorm3d, (2, 3, 3, 4, 2))])
@pytest.mark.parametrize("affine,track", [(False, False), (True, False), (True, True),
                                          (False, True)])
def test_instancenorm_matches_torch(cls, tcls, shape, affine, track):
    layer = _randomise(cls(3, affine=affine, track_running_stats=track, momentum=0.3))
    ref = tcls(3, affine=affine, track_running_stats=track, momentum=0.3)
    assert list(layer.state_dict()) == list(ref.state_dict())
    ref.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in
                         layer.state_dict().items()})
    for _ in range(3):                            # running stats follow torch's, step by step
        x = rand(*shape) * 2 + 1
        layer.train()(gn.tensor(x))
        ref.train()(torch.from_numpy(x))
    if track:
        for name in ("running_mean", "running_var"):
            np.testing.assert_allclose(getattr(layer, name).array,
                                       getattr(ref, name).numpy(), rtol=1e-5, atol=1e-6)
    compare_with_torch(layer, ref, rand(*shape), train=True)
    compare_with_torch(layer, ref, rand(*shape), train=False)   # running stats when tracked


def test_instance_norm_functional_matches_torch():
    x, w, b = rand(3, 4, 6, 5), rand(4), rand(4)
    rm, rv = rand(4), np.abs(rand(4)) + 0.5
    grm, grv = gn.tensor(rm.copy()), gn.tensor(rv.copy())
    trm, trv = torch.from_numpy(rm.copy()), torch.from_numpy(rv.copy())
    for stats in (True, False):
        y = F.instance_norm(gn.tensor(x), grm, grv, gn.tensor(w), gn.tensor(b),
                            use_input_stats=stats, momentum=0.2, eps=1e-3)
        ref = torch.nn.functional.instance_norm(torch.from_numpy(x), trm, trv,
                                                torch.from_numpy(w), torch.from_numpy(b),
                                                use_input_stats=stats, momentum=0.2, eps=1e-3)
        np.testing.assert_allclose(y.array, ref.numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(grm.array, trm.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(grv.array, trv.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("norm,shape,eps", [(6, (4, 6), None), ((3, 5), (2, 3, 5), 1e-6),
                                            (4, (2, 3, 2, 4), 0.1)])
def test_rmsnorm_matches_torch(norm, shape, eps):
    layer = _randomise(gn.nn.RMSNorm(norm, eps=eps))
    ref = torch.nn.RMSNorm(norm, eps=eps)
    assert list(layer.state_dict()) == list(ref.state_dict())
    compare_with_torch(layer, ref, rand(*shape))
    compare_with_torch(gn.nn.RMSNorm(norm, eps=eps, elementwise_affine=False),
                       torch.nn.RMSNorm(norm, eps=eps, elementwise_affine=False), rand(*shape))


def test_rms_norm_functional_and_default_eps():
    x = rand(3, 8) * 1e-4                         # eps matters at this scale
    y = F.rms_norm(gn.tensor(x), (8,))
    ref = torch.nn.functional.rms_norm(torch.from_numpy(x), (8,))
    np.testing.assert_allclose(y.array, ref.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm3d_matches_torch(momentum):
    layer = _randomise(gn.nn.BatchNorm3d(3, momentum=momentum))
    ref = torch.nn.BatchNorm3d(3, momentum=momentum)
    ref.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in
                         layer.state_dict().items()})
    for _ in range(2):
        x = rand(2, 3, 3, 4, 2) * 2 + 1
        layer.train()(gn.tensor(x))
        ref.train()(torch.from_numpy(x))
    np.testing.assert_allclose(layer.running_var.array, ref.running_var.numpy(), rtol=1e-5)
    assert list(layer.state_dict()) == list(ref.state_dict())
    compare_with_torch(layer, ref, rand(2, 3, 2, 3, 4), train=True)
    compare_with_torch(layer, ref, rand(2, 3, 2, 3, 4), train=False)


def test_float64_finite_differences():
    gradcheck_layer(_randomise(gn.nn.GroupNorm(2, 4)), rand(2, 4, 3, dtype=np.float64))
    gradcheck_layer(_randomise(gn.nn.InstanceNorm2d(2, affine=True)),
                    rand(2, 2, 3, 2, dtype=np.float64))
    gradcheck_layer(_randomise(gn.nn.RMSNorm((2, 3), eps=1e-3)), rand(2, 2, 3,
                                                                       dtype=np.float64))
    layer = _randomise(gn.nn.InstanceNorm1d(2, affine=True, track_running_stats=True)).eval()
    gradcheck_layer(layer, rand(2, 2, 4, dtype=np.float64))


@pytest.mark.parametrize("make,match", [
    (lambda: gn.nn.GroupNorm(num_groups=3, num_channels=8), r"GroupNorm\(num_groups=3, "
     r"num_channels=8\): num_channels must be divisible by num_groups"),
    (lambda: gn.nn.GroupNorm(0, 8), r"GroupNorm\(num_groups=0\)"),
    (lambda: gn.nn.InstanceNorm2d(3, eps=-1), r"InstanceNorm2d\(eps=-1\)"),
    (lambda: gn.nn.InstanceNorm1d(3, momentum=2), r"InstanceNorm1d\(momentum=2\)"),
    (lambda: gn.nn.RMSNorm((4, 0)), r"RMSNorm\(normalized_shape\[1\]=0\)")])
def test_constructor_errors_name_the_layer(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("layer,shape,match", [
    (gn.nn.GroupNorm(2, 4), (2, 6, 3), r"GroupNorm\(num_groups=2, num_channels=4\): expected "
     r"input \(N, 4, \*\), got \(2, 6, 3\)"),
    (gn.nn.InstanceNorm2d(3), (3, 4, 5), None),                  # unbatched: fine
    (gn.nn.InstanceNorm2d(3), (3, 4), r"InstanceNorm2d\(num_features=3\): expected input "
     r"\(N, C, H, W\)"),
    (gn.nn.InstanceNorm1d(3, affine=True), (2, 5, 4), r"InstanceNorm1d\(num_features=3\): "
     r"expected 3 channels"),
    (gn.nn.RMSNorm(4), (2, 5), r"RMSNorm\(normalized_shape=\(4,\)\): expected input "
     r"\(\*, 4\), got \(2, 5\)"),
    (gn.nn.BatchNorm3d(3), (2, 3, 4, 4), r"BatchNorm3d\(num_features=3\): expected input "
     r"\(N, 3, D, H, W\)")])
def test_bad_input_errors_name_the_layer(layer, shape, match):
    x = gn.tensor(rand(*shape))
    if match is None:
        assert layer(x).shape == shape
        return
    with pytest.raises(ValueError, match=match):
        layer(x)


def test_instance_norm_needs_more_than_one_value():
    with pytest.raises(ValueError, match="instance_norm: expected more than 1 spatial"):
        gn.nn.InstanceNorm1d(3)(gn.tensor(rand(2, 3, 1)))


@pytest.mark.parametrize("make", [
    lambda m: m.GroupNorm(2, 4, bias=False),
    lambda m: m.InstanceNorm1d(4, affine=True, bias=False),
    lambda m: m.BatchNorm3d(4, bias=False)])
def test_keyword_bias_false_like_torch(make):
    layer, ref = _randomise(make(gn.nn)), make(torch.nn)
    assert list(layer.state_dict()) == list(ref.state_dict())
    x = rand(2, 4, 3, 3, 2) if isinstance(layer, gn.nn.BatchNorm3d) else rand(2, 4, 5)
    compare_with_torch(layer, ref, x)
