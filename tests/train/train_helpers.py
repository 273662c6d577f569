"""Small shared pieces for the training-loop tests (digits subset, tiny models)."""
import numpy as np

import glassnet as gn
from glassnet import nn
from glassnet.data import DataLoader, TensorDataset, load_digits


def digits_loaders(n_train=480, n_val=160, batch_size=32, seed=0):
    x, y = load_digits("train")
    train = TensorDataset(x[:n_train], y[:n_train])
    val = TensorDataset(x[n_train:n_train + n_val], y[n_train:n_train + n_val])
    return (DataLoader(train, batch_size, shuffle=True, seed=seed),
            DataLoader(val, 128))


def tiny_model(seed=0, dropout=0.0):
    gn.manual_seed(seed)
    layers = [nn.Flatten(), nn.Linear(64, 32), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.Linear(32, 10))


def weights_of(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), f"{k} differs"
