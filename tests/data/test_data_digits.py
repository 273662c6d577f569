import numpy as np
import pytest

import glassnet.data as gd
from glassnet.data import get_dataset, load_digits


def test_digits_shapes():
    x, y = load_digits()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    assert set(np.unique(y).tolist()) == set(range(10))


def test_digits_match_sklearn():
    sk = pytest.importorskip("sklearn.datasets", reason="scikit-learn is the oracle")
    ref = sk.load_digits()
    x, y = load_digits()
    np.testing.assert_array_equal(x.reshape(1797, 64) * 16, ref.data.astype(np.float32))
    np.testing.assert_array_equal(x[:, 0], (ref.images / 16).astype(np.float32))
    np.testing.assert_array_equal(y, ref.target)


def test_digits_splits():
    x, y = load_digits()
    xtr, ytr = load_digits("train")
    xte, yte = load_digits("test")
    assert len(ytr) + len(yte) == 1797 and len(yte) == 359
    np.testing.assert_array_equal(xte, x[4::5])
    np.testing.assert_array_equal(ytr, np.delete(y, np.arange(4, 1797, 5)))
    with pytest.raises(ValueError, match="split"):
        load_digits("valid")


def test_registry(mnist_dir_optional=None):
    ds = get_dataset("digits", split="test")
    x, y = ds.arrays
    assert x.shape == (359, 1, 8, 8) and y.dtype == np.int64
    assert gd.available_datasets() == ["digits", "mnist"]
    with pytest.raises(ValueError, match="mnist"):
        get_dataset("cifar")
    with pytest.raises(ValueError, match="root"):
        get_dataset("digits", root="/tmp")


def test_registry_mnist(mnist_dir):
    ds = get_dataset("mnist", root=mnist_dir, split="test")
    assert len(ds) == 10000 and ds.arrays[0].shape[1:] == (1, 28, 28)


def test_public_api():
    for name in gd.__all__:
        obj = getattr(gd, name)
        assert obj.__doc__, f"glassnet.data.{name} has no docstring"
    assert {"Dataset", "TensorDataset", "DataLoader", "random_split", "Subset", "load_mnist",
            "load_digits", "get_dataset", "data_dir"} <= set(gd.__all__)
