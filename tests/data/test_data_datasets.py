import numpy as np
import pytest

import glassnet as gn
from glassnet.data import Dataset, Subset, TensorDataset, random_split


def test_dataset_is_abstract():
    with pytest.raises(TypeError):
        Dataset()


def test_tensor_dataset_items_and_dtypes():
    x = np.arange(24, dtype=np.float32).reshape(6, 4)
    ds = TensorDataset(x, gn.tensor(np.arange(6)))
    assert len(ds) == 6
    xi, yi = ds[2]
    np.testing.assert_array_equal(xi.numpy(), x[2])
    assert yi.item() == 2 and yi.dtype == np.int64
    assert ds.arrays[0] is x                         # no copy
    lst = TensorDataset([[0.5, 1.0], [2.0, 3.0]], [1, 2])
    assert lst.arrays[0].dtype == np.float32 and lst.arrays[1].dtype == np.int64


def test_tensor_dataset_errors():
    with pytest.raises(ValueError, match=r"same first dimension.*\(5, 3\).*\(4,\)"):
        TensorDataset(np.zeros((5, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(np.float32(1.0))


def test_subset():
    ds = TensorDataset(np.arange(10) * 10)
    sub = Subset(ds, [3, 1, -1])
    assert len(sub) == 3
    assert [sub[i][0].item() for i in range(3)] == [30, 10, 90]
    with pytest.raises(IndexError, match="indices"):
        Subset(ds, [10])


def test_random_split_ints_and_fractions():
    ds = TensorDataset(np.arange(10))
    a, b = random_split(ds, [7, 3], seed=0)
    assert (len(a), len(b)) == (7, 3)
    ia, ib = set(a.indices.tolist()), set(b.indices.tolist())
    assert not ia & ib and ia | ib == set(range(10))
    parts = random_split(TensorDataset(np.arange(11)), [0.5, 0.3, 0.2], seed=1)
    assert [len(p) for p in parts] == [6, 3, 2]
    allidx = np.concatenate([p.indices for p in parts])
    np.testing.assert_array_equal(np.sort(allidx), np.arange(11))


def test_random_split_reproducible():
    ds = TensorDataset(np.arange(100))
    a = random_split(ds, [0.8, 0.2], seed=4)[0].indices
    b = random_split(ds, [0.8, 0.2], seed=4)[0].indices
    c = random_split(ds, [0.8, 0.2], seed=5)[0].indices
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    gn.manual_seed(0)
    d = random_split(ds, [50, 50])[0].indices
    gn.manual_seed(0)
    np.testing.assert_array_equal(d, random_split(ds, [50, 50])[0].indices)


@pytest.mark.parametrize("lengths", [[5, 4], [0.5, 0.4], [-1, 11], []])
def test_random_split_bad_lengths(lengths):
    with pytest.raises(ValueError, match="lengths"):
        random_split(TensorDataset(np.arange(10)), lengths)
