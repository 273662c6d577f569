"""Regression: 0-d buffers (BatchNorm's num_batches_tracked) keep their shape through a file."""
import numpy as np

import glassnet as gn
from glassnet.io import load_weights, save_weights


def test_zero_dim_buffers_round_trip(tmp_path):
    model = gn.nn.Sequential(gn.nn.Linear(3, 4), gn.nn.BatchNorm1d(4))
    model(gn.randn(5, 3))
    save_weights(model, tmp_path / "w.safetensors")
    fresh = gn.nn.Sequential(gn.nn.Linear(3, 4), gn.nn.BatchNorm1d(4))
    load_weights(fresh, tmp_path / "w.safetensors")
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[key], value)
        assert fresh.state_dict()[key].shape == value.shape
    assert fresh.state_dict()["1.num_batches_tracked"].shape == ()
