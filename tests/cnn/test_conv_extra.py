"""Conv3d, ConvTranspose1d/3d and grouped ConvTranspose2d vs PyTorch (same weights by state
dict: output, input gradient, every parameter gradient), functional forms, float64 central
differences, and errors naming the layer."""
import numpy as np
import pytest
import torch

import glassnet as gn
import glassnet.nn.functional as F
from _helpers import compare_with_torch, gradcheck_layer, rand


def _pair(gcls, tcls, *args, **kw):
    g, t = gcls(*args, **kw), tcls(*args, **kw)
    assert list(g.state_dict()) == list(t.state_dict())
    assert [v.shape for v in g.state_dict().values()] == \
        [tuple(v.shape) for v in t.state_dict().values()]
    return g, t


@pytest.mark.parametrize("kw,shape", [
    (dict(kernel_size=3), (2, 4, 5, 6, 5)),
    (dict(kernel_size=(2, 3, 1), stride=(1, 2, 2), padding=(1, 0, 1), bias=False),
     (2, 4, 4, 7, 6)),
    (dict(kernel_size=2, dilation=(2, 1, 1), groups=2, padding="same"), (1, 4, 5, 4, 4)),
    (dict(kernel_size=3, padding=1, padding_mode="replicate", groups=4), (2, 4, 3, 4, 5))])
def test_conv3d_matches_torch(kw, shape):
    g, t = _pair(gn.nn.Conv3d, torch.nn.Conv3d, 4, 8, **kw)
    compare_with_torch(g, t, rand(*shape), rtol=2e-4, atol=2e-5)


def test_conv3d_unbatched_and_functional():
    g, t = _pair(gn.nn.Conv3d, torch.nn.Conv3d, 2, 3, 2)
    compare_with_torch(g, t, rand(2, 3, 4, 3))
    x, w, b = rand(1, 2, 4, 5, 3), rand(4, 1, 2, 2, 2), rand(4)
    y = F.conv3d(gn.tensor(x), gn.tensor(w), gn.tensor(b), stride=2, padding=1, groups=2)
    ref = torch.nn.functional.conv3d(torch.from_numpy(x), torch.from_numpy(w),
                                     torch.from_numpy(b), stride=2, padding=1, groups=2)
    np.testing.assert_allclose(y.array, ref.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kw,shape", [
    (dict(kernel_size=3), (2, 4, 7)),
    (dict(kernel_size=4, stride=2, padding=1), (3, 4, 5)),
    (dict(kernel_size=3, stride=3, padding=1, output_padding=2, bias=False), (2, 4, 6)),
    (dict(kernel_size=3, stride=2, dilation=2, output_padding=1, groups=2), (2, 4, 5)),
    (dict(kernel_size=2, groups=4), (4, 6))])                           # unbatched
def test_conv_transpose1d_matches_torch(kw, shape):
    g, t = _pair(gn.nn.ConvTranspose1d, torch.nn.ConvTranspose1d, 4, 8, **kw)
    compare_with_torch(g, t, rand(*shape))


@pytest.mark.parametrize("kw,shape", [
    (dict(kernel_size=3, groups=2), (2, 4, 5, 6)),
    (dict(kernel_size=(3, 2), stride=2, padding=1, output_padding=1, groups=4), (2, 4, 3, 4)),
    (dict(kernel_size=3, stride=(2, 1), dilation=2, output_padding=(1, 0), groups=2,
          bias=False), (1, 4, 4, 3))])
def test_grouped_conv_transpose2d_matches_torch(kw, shape):
    g, t = _pair(gn.nn.ConvTranspose2d, torch.nn.ConvTranspose2d, 4, 6 if
                 kw["groups"] == 2 else 8, **kw)
    compare_with_torch(g, t, rand(*shape))


def test_conv_transpose3d_matches_torch():
    g, t = _pair(gn.nn.ConvTranspose3d, torch.nn.ConvTranspose3d, 4, 6, 2, stride=(2, 1, 2),
                 padding=(0, 1, 0), output_padding=(1, 0, 0), groups=2)
    compare_with_torch(g, t, rand(2, 4, 3, 4, 2))


def test_functional_transposed_forms():
    x, w, b = rand(2, 6, 5), rand(6, 2, 3), rand(6)
    for groups in (1, 3):
        y = F.conv_transpose1d(gn.tensor(x), gn.tensor(w), gn.tensor(b[:2 * groups]),
                               stride=2, padding=1, groups=groups)
        ref = torch.nn.functional.conv_transpose1d(
            torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b[:2 * groups]),
            stride=2, padding=1, groups=groups)
        np.testing.assert_allclose(y.array, ref.numpy(), rtol=1e-5, atol=1e-5)
    x2, w2 = rand(1, 6, 3, 4), rand(6, 1, 2, 2)
    y = F.conv_transpose2d(gn.tensor(x2), gn.tensor(w2), stride=2, groups=3)
    ref = torch.nn.functional.conv_transpose2d(torch.from_numpy(x2), torch.from_numpy(w2),
                                               stride=2, groups=3)
    np.testing.assert_allclose(y.array, ref.numpy(), rtol=1e-5, atol=1e-5)


def test_float64_finite_differences():
    gradcheck_layer(gn.nn.Conv3d(2, 4, 2, stride=(1, 2, 1), padding=1, groups=2),
                    rand(1, 2, 3, 3, 2, dtype=np.float64))
    gradcheck_layer(gn.nn.ConvTranspose1d(2, 4, 3, stride=2, padding=1, output_padding=1,
                                          groups=2), rand(2, 2, 3, dtype=np.float64))
    gradcheck_layer(gn.nn.ConvTranspose2d(4, 2, 2, stride=2, groups=2, dilation=(1, 2)),
                    rand(1, 4, 2, 3, dtype=np.float64))


@pytest.mark.parametrize("make,match", [
    (lambda: gn.nn.Conv3d(3, 4, 3, groups=2), r"Conv3d\(groups=2\): in_channels=3"),
    (lambda: gn.nn.Conv3d(2, 4, (3, 3)), r"Conv3d\(kernel_size=\(3, 3\)\): expected an int "
     r"or a tuple of 3 ints"),
    (lambda: gn.nn.ConvTranspose1d(2, 4, 3, stride=2, output_padding=2),
     r"ConvTranspose1d\(output_padding=\(2,\)\): must be smaller than stride"),
    (lambda: gn.nn.ConvTranspose2d(4, 6, 3, groups=4), r"ConvTranspose2d\(groups=4\): "
     r"in_channels=4 and out_channels=6 must both be divisible by groups")])
def test_constructor_errors_name_the_layer(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


@pytest.mark.parametrize("layer,shape,match", [
    (gn.nn.Conv3d(3, 4, 2), (2, 3, 4, 4), r"Conv3d\(in_channels=3\): expected input "
     r"\(N, 3, D, H, W\), got \(2, 3, 4, 4\)"),
    (gn.nn.Conv3d(3, 4, 3), (1, 3, 2, 5, 5), r"Conv3d\(in_channels=3\): kernel size"),
    (gn.nn.ConvTranspose1d(2, 4, 3), (2, 3, 5), r"ConvTranspose1d\(in_channels=2\): "
     r"expected input \(N, 2, L\), got \(2, 3, 5\)")])
def test_bad_input_errors_name_the_layer(layer, shape, match):
    with pytest.raises(ValueError, match=match):
        layer(gn.tensor(rand(*shape)))


def test_functional_errors():
    with pytest.raises(ValueError, match=r"conv_transpose2d\(groups=4\)"):
        F.conv_transpose2d(gn.tensor(rand(1, 6, 3, 3)), gn.tensor(rand(6, 1, 2, 2)), groups=4)
    with pytest.raises(ValueError, match="conv3d: expected input"):
        F.conv3d(gn.tensor(rand(1, 2, 3, 3)), gn.tensor(rand(2, 2, 1, 1, 1)))


@pytest.mark.parametrize("cls,tcls,shape,sizes", [
    (gn.nn.ConvTranspose2d, torch.nn.ConvTranspose2d, (1, 4, 3, 5), [(7, 13), (9, 15),
                                                                    (1, 2, 8, 14)]),
    (gn.nn.ConvTranspose1d, torch.nn.ConvTranspose1d, (2, 4, 5), [(13,), [15]])])
def test_transposed_forward_output_size_matches_torch(cls, tcls, shape, sizes):
    g, t = _pair(cls, tcls, 4, 2, 3, stride=3, padding=1)
    t.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in g.state_dict().items()})
    x = rand(*shape)
    for size in sizes:
        y, yt = g(gn.tensor(x), output_size=size), t(torch.from_numpy(x), output_size=size)
        np.testing.assert_allclose(y.array, yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=rf"{cls.__name__}\(output_size=.*\): size 99 of "
                                         r"spatial dim 0 is outside"):
        g(gn.tensor(x), output_size=(99,) * (len(shape) - 2))
