"""Every layer added for issue 14 documents Shape and a runnable Example (its doctest passes),
and the deprecated functional aliases (upsample, upsample_nearest, upsample_bilinear) match
PyTorch's."""
import doctest
import warnings

import numpy as np
import pytest
import torch

import glassnet as gn
import glassnet.nn.functional as F

LAYERS = """BatchNorm3d GroupNorm InstanceNorm1d InstanceNorm2d InstanceNorm3d RMSNorm Conv3d
ConvTranspose1d ConvTranspose2d ConvTranspose3d MaxPool3d AvgPool1d AvgPool3d MaxUnpool1d
MaxUnpool2d MaxUnpool3d AdaptiveAvgPool1d AdaptiveAvgPool3d AdaptiveMaxPool1d AdaptiveMaxPool2d
AdaptiveMaxPool3d Upsample UpsamplingNearest2d UpsamplingBilinear2d Dropout1d Dropout3d
ZeroPad1d ZeroPad2d ZeroPad3d ConstantPad1d ConstantPad2d ConstantPad3d ReflectionPad1d
ReflectionPad2d ReflectionPad3d ReplicationPad1d ReplicationPad2d ReplicationPad3d PixelShuffle
PixelUnshuffle Unfold Fold LocalResponseNorm""".split()


@pytest.mark.parametrize("name", LAYERS + ["ModuleDict", "ParameterList", "ParameterDict"])
def test_docstring_example_runs(name):
    doc = getattr(gn.nn, name).__doc__ or ""
    assert "Example" in doc and (name not in LAYERS or "Shape" in doc), name
    test = doctest.DocTestParser().get_doctest(doc, {"gn": gn}, name, None, 0)
    runner = doctest.DocTestRunner()
    runner.run(test, out=lambda s: None)
    assert test.examples and runner.failures == 0, f"{name}: the docstring example fails"


def test_deprecated_upsample_aliases_match_torch():
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 4)).astype(np.float32)
    t = torch.from_numpy(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pairs = [(F.upsample(gn.tensor(x), scale_factor=2, mode="bilinear"),
                  torch.nn.functional.upsample(t, scale_factor=2, mode="bilinear")),
                 (F.upsample_nearest(gn.tensor(x), size=(5, 7)),
                  torch.nn.functional.upsample_nearest(t, size=(5, 7))),
                 (F.upsample_bilinear(gn.tensor(x), scale_factor=2),
                  torch.nn.functional.upsample_bilinear(t, scale_factor=2))]
    for g, ref in pairs:
        np.testing.assert_allclose(g.array, ref.numpy(), rtol=1e-5, atol=1e-6)
