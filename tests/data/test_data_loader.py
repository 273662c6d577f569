import json

import numpy as np
import pytest

import glassnet as gn
from glassnet.data import (DataLoader, Dataset, Subset, TensorDataset, default_collate,
                           random_split)


def make_ds(n=100, hw=20, seed=0):
    rng = np.random.default_rng(seed)
    return TensorDataset(rng.random((n, 1, hw, hw), dtype=np.float32), np.arange(n))


class ListDataset(Dataset):
    """A plain (slow-path) dataset over the same arrays."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], int(self.y[i])


def epoch_labels(loader):
    return np.concatenate([y.numpy() for _, y in loader])


def test_batches_shapes_and_dtypes():
    loader = DataLoader(make_ds(), batch_size=32)
    batches = list(loader)
    assert [x.shape for x, _ in batches] == [(32, 1, 20, 20)] * 3 + [(4, 1, 20, 20)]
    x, y = batches[0]
    assert isinstance(x, gn.Tensor) and isinstance(y, gn.Tensor)
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert x.flatten(1).shape == (32, 400)
    assert len(loader) == 4
    np.testing.assert_array_equal(epoch_labels(loader), np.arange(100))


def test_drop_last():
    loader = DataLoader(make_ds(), batch_size=32, drop_last=True)
    assert len(loader) == 3
    assert [x.shape[0] for x, _ in loader] == [32, 32, 32]
    assert len(DataLoader(make_ds(96), batch_size=32, drop_last=True)) == 3


def test_batch_is_a_copy():
    ds = make_ds(10)
    x, _ = next(iter(DataLoader(ds, batch_size=4)))
    x.array[:] = -1
    assert ds.arrays[0].min() >= 0


def test_shuffle_reproducible_and_complete():
    a = DataLoader(make_ds(), batch_size=16, shuffle=True, seed=3)
    b = DataLoader(make_ds(), batch_size=16, shuffle=True, seed=3)
    c = DataLoader(make_ds(), batch_size=16, shuffle=True, seed=4)
    la, lb, lc = epoch_labels(a), epoch_labels(b), epoch_labels(c)
    np.testing.assert_array_equal(la, lb)
    assert not np.array_equal(la, lc)
    assert not np.array_equal(la, np.arange(100))
    np.testing.assert_array_equal(np.sort(la), np.arange(100))
    x, y = next(iter(DataLoader(make_ds(), batch_size=5, shuffle=True, seed=3)))
    np.testing.assert_array_equal(x.numpy(), make_ds().arrays[0][y.numpy()])


def test_new_order_each_epoch():
    loader = DataLoader(make_ds(), batch_size=10, shuffle=True, seed=0)
    e1, e2 = epoch_labels(loader), epoch_labels(loader)
    assert not np.array_equal(e1, e2)
    assert loader.epoch == 2


def test_seed_none_follows_manual_seed():
    gn.manual_seed(11)
    a = epoch_labels(DataLoader(make_ds(), batch_size=10, shuffle=True))
    gn.manual_seed(11)
    b = epoch_labels(DataLoader(make_ds(), batch_size=10, shuffle=True))
    np.testing.assert_array_equal(a, b)
    assert isinstance(DataLoader(make_ds()).generator, np.random.Generator)


def test_state_dict_resume_between_epochs():
    loader = DataLoader(make_ds(), batch_size=16, shuffle=True, seed=1)
    epoch_labels(loader)
    state = json.loads(json.dumps(loader.state_dict()))
    expected = [epoch_labels(loader) for _ in range(2)]
    other = DataLoader(make_ds(), batch_size=16, shuffle=True, seed=999)
    other.load_state_dict(state)
    assert other.epoch == 1
    for want in expected:
        np.testing.assert_array_equal(epoch_labels(other), want)


def test_state_dict_resume_mid_epoch():
    loader = DataLoader(make_ds(), batch_size=16, shuffle=True, seed=2)
    it = iter(loader)
    for _ in range(3):
        next(it)
    state = json.loads(json.dumps(loader.state_dict()))
    assert state["position"] == 3
    rest = np.concatenate([y.numpy() for _, y in it])
    following = epoch_labels(loader)
    other = DataLoader(make_ds(), batch_size=16, shuffle=True, seed=5)
    other.load_state_dict(state)
    np.testing.assert_array_equal(epoch_labels(other), rest)
    np.testing.assert_array_equal(epoch_labels(other), following)


def test_state_dict_after_last_batch_means_next_epoch():
    loader = DataLoader(make_ds(), batch_size=50, shuffle=True, seed=2)
    for _ in loader:
        state = loader.state_dict()          # taken inside the loop, after the last batch
    assert state["epoch"] == 1 and state["position"] == 0
    following = epoch_labels(loader)
    other = DataLoader(make_ds(), batch_size=50, shuffle=True, seed=0)
    other.load_state_dict(state)
    np.testing.assert_array_equal(epoch_labels(other), following)


def test_abandoned_epoch_counts():
    loader = DataLoader(make_ds(), batch_size=10, shuffle=True, seed=0)
    next(iter(loader))
    epoch_labels(loader)
    assert loader.epoch == 2


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, None])
def test_batch_size_validation(bad):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(make_ds(), batch_size=bad)


def test_other_argument_validation():
    with pytest.raises(TypeError, match="dataset"):
        DataLoader(42)
    with pytest.raises(TypeError, match="collate_fn"):
        DataLoader(make_ds(), collate_fn=3)
    with pytest.raises(ValueError, match="seed"):
        DataLoader(make_ds(), seed=-1)
    with pytest.raises(ValueError, match="missing keys"):
        DataLoader(make_ds()).load_state_dict({"epoch": 0})


def test_fast_path_matches_generic_path(monkeypatch):
    ds = make_ds(50)
    slow = DataLoader(ListDataset(*ds.arrays), batch_size=8, shuffle=True, seed=7)
    custom = DataLoader(ds, batch_size=8, shuffle=True, seed=7, collate_fn=default_collate)
    sub = Subset(ds, np.arange(50)[::-1])
    sub_slow = DataLoader(Subset(ListDataset(*ds.arrays), np.arange(50)[::-1]), batch_size=8,
                          shuffle=True, seed=7)
    fast_batches = list(DataLoader(ds, batch_size=8, shuffle=True, seed=7))
    sub_batches = list(DataLoader(sub, batch_size=8, shuffle=True, seed=7))
    for (xf, yf), (xs, ys), (xc, _yc) in zip(fast_batches, slow, custom):
        np.testing.assert_array_equal(xf.numpy(), xs.numpy())
        np.testing.assert_array_equal(yf.numpy(), ys.numpy())
        np.testing.assert_array_equal(xf.numpy(), xc.numpy())
        assert ys.dtype == np.int64 and xs.dtype == np.float32
    for (xf, yf), (xs, ys) in zip(sub_batches, sub_slow):
        np.testing.assert_array_equal(xf.numpy(), xs.numpy())
        np.testing.assert_array_equal(yf.numpy(), ys.numpy())


def test_fast_path_does_not_touch_getitem(monkeypatch):
    def boom(self, i):
        raise AssertionError("per-sample __getitem__ called on the fast path")
    ds = make_ds(64, hw=28)
    monkeypatch.setattr(TensorDataset, "__getitem__", boom)
    assert sum(x.shape[0] for x, _ in DataLoader(ds, batch_size=16, shuffle=True, seed=0)) == 64
    sub = random_split(ds, [32, 32], seed=0)[0]
    assert sum(x.shape[0] for x, _ in DataLoader(sub, batch_size=16, shuffle=True)) == 32


def test_default_collate_types():
    x, y, f = default_collate([(np.zeros(2, np.float32), 1, 0.5), (np.ones(2, np.float32), 2, 1.5)])
    assert x.shape == (2, 2) and x.dtype == np.float32
    assert y.dtype == np.int64 and f.dtype == np.float32
    d = default_collate([{"a": 1}, {"a": 2}])
    np.testing.assert_array_equal(d["a"].numpy(), [1, 2])
    with pytest.raises(TypeError, match="collate_fn"):
        default_collate([object(), object()])
