"""The model and data the distributed tests train (shared by the worker and the tests)."""
import numpy as np

import glassnet as gn
from glassnet import nn
from glassnet.data import TensorDataset

B = 8                      # per-rank batch; the global batch is 2 * B


def build(seed: int):
    """A small MLP (3 parameter tensors of different sizes) with SGD + momentum."""
    gn.manual_seed(seed)
    model = nn.Sequential(nn.Linear(12, 32), nn.Tanh(), nn.Linear(32, 5))
    opt = gn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return model, opt, nn.CrossEntropyLoss()


def data(n: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 12)).astype(np.float32)
    y = (x[:, :5].argmax(axis=1)).astype(np.int64)
    return x, y


def datasets():
    """96 training samples (6 global batches of 16) and 37 validation samples (odd, so
    the two ranks' validation shards differ in size)."""
    x, y = data(96 + 37, seed=2)
    return TensorDataset(x[:96], y[:96]), TensorDataset(x[96:], y[96:])
