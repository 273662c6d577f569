"""Bad inputs and arguments raise errors that name the layer, the expectation and the value."""
import pytest

import glassnet as gn
from _helpers import rand

nn = gn.nn


@pytest.mark.parametrize("layer,shape,message", [
    (lambda: nn.Conv2d(3, 8, 3), (32, 1, 28, 28),
     r"Conv2d\(in_channels=3\): expected input \(N, 3, H, W\), got \(32, 1, 28, 28\)"),
    (lambda: nn.Conv2d(1, 8, 3), (32, 784),
     r"Conv2d\(in_channels=1\): expected input \(N, 1, H, W\), got \(32, 784\)"),
    (lambda: nn.Conv1d(4, 8, 3), (2, 3, 10),
     r"Conv1d\(in_channels=4\): expected input \(N, 4, L\), got \(2, 3, 10\)"),
    (lambda: nn.ConvTranspose2d(4, 2, 2), (2, 3, 5, 5),
     r"ConvTranspose2d\(in_channels=4\): expected input \(N, 4, H, W\)"),
    (lambda: nn.Conv2d(1, 2, 5), (1, 1, 3, 4),
     r"Conv2d\(in_channels=1\): kernel size \(5, 5\) \(after dilation\) is larger than the "
     r"padded input \(3, 4\)"),
    (lambda: nn.Conv2d(1, 2, 3, dilation=3), (1, 1, 6, 6), r"kernel size \(7, 7\)"),
    (lambda: nn.MaxPool2d(2), (4, 28, 28), r"MaxPool2d: expected input \(N, C, H, W\)"),
    (lambda: nn.MaxPool2d(5), (1, 1, 3, 3), r"max_pool2d: kernel size \(5, 5\).*larger"),
    (lambda: nn.MaxPool1d(2), (4, 28, 28, 1), r"MaxPool1d: expected input \(N, C, L\)"),
    (lambda: nn.BatchNorm2d(16), (8, 8, 4, 4),
     r"BatchNorm2d\(num_features=16\): expected input \(N, 16, H, W\), got \(8, 8, 4, 4\)"),
    (lambda: nn.BatchNorm1d(5), (3, 4),
     r"BatchNorm1d\(num_features=5\): expected input \(N, 5\) or \(N, 5, L\)"),
    (lambda: nn.LayerNorm(6), (3, 5), r"LayerNorm\(normalized_shape=\(6,\)\): expected input "
                                      r"\(\*, 6\), got \(3, 5\)"),
])
def test_wrong_input_shape(layer, shape, message):
    with pytest.raises(ValueError, match=message):
        layer()(gn.tensor(rand(*shape)))


@pytest.mark.parametrize("make,message", [
    (lambda: nn.Conv2d(0, 8, 3), r"Conv2d\(in_channels=0\): in_channels must be a positive"),
    (lambda: nn.Conv2d(3, 8, 3, groups=2), r"Conv2d\(groups=2\): in_channels=3"),
    (lambda: nn.Conv2d(3, 8, 3, stride=2, padding="same"), r"padding='same'.*stride"),
    (lambda: nn.Conv2d(3, 8, 3, padding="full"), r"Conv2d\(padding='full'\)"),
    (lambda: nn.Conv2d(3, 8, 0), r"kernel_size \(0, 0\)"),
    (lambda: nn.Conv2d(3, 8, (3, 3, 3)), r"Conv2d\(kernel_size=\(3, 3, 3\)\): expected an int "
                                         r"or a tuple of 2 ints"),
    (lambda: nn.Conv2d(3, 8, 3, padding_mode="circular"), r"padding_mode='circular'"),
    (lambda: nn.ConvTranspose2d(3, 8, 3, stride=2, output_padding=2), r"output_padding"),
    (lambda: nn.MaxPool2d(2, padding=2), r"MaxPool2d\(padding=2\): padding must be at most half"),
    (lambda: nn.BatchNorm2d(8, momentum=2.0), r"BatchNorm2d\(momentum=2.0\)"),
    (lambda: nn.Dropout2d(1.5), r"Dropout2d\(p=1.5\)"),
    (lambda: nn.Upsample(size=4, scale_factor=2), r"exactly one of size and scale_factor"),
    (lambda: nn.Upsample(scale_factor=2, mode="cubic"), r"Upsample\(mode='cubic'\)"),
])
def test_bad_constructor_arguments(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_batchnorm_needs_more_than_one_value_per_channel_in_training():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(gn.tensor(rand(1, 3)))
