"""Moving MNIST generator: determinism, shapes, value ranges, motion, splits."""
import numpy as np
import pytest

from glassnet.data import MovingMNIST, generate_moving_mnist, moving_mnist_sequence

from ._helpers import mnist_dir


def _digits(m=20, seed=0):
    """Random blob 'digits' (uint8, 28x28) with a full-intensity pixel each."""
    rng = np.random.default_rng(seed)
    d = (rng.random((m, 28, 28)) * 255).astype(np.uint8)
    d[:, 13, 13] = 255
    return d


def test_deterministic_from_seed_and_order_independent():
    digits = _digits()
    a = generate_moving_mnist(digits, 6, seed=3)
    b = generate_moving_mnist(digits, 6, seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, generate_moving_mnist(digits, 6, seed=4))
    tail = generate_moving_mnist(digits, 2, seed=3, start=4)      # sequences 4, 5 alone
    np.testing.assert_array_equal(tail, a[4:])
    ds = MovingMNIST(split="train", num_sequences=6, seed=3, digits=digits)
    for i in (5, 0, 2):                                           # any order
        x, y = ds[i]
        np.testing.assert_allclose(np.concatenate([x, y])[:, 0], a[i] / np.float32(255),
                                   rtol=1e-6)


def test_shapes_dtypes_and_value_range():
    ds = MovingMNIST(num_sequences=4, digits=_digits())
    x, y = ds[1]
    assert x.shape == (10, 1, 64, 64) and y.shape == (10, 1, 64, 64)
    assert x.dtype == np.float32 and y.dtype == np.float32
    xs, ys = ds.arrays([0, 1, 3])
    assert xs.shape == (3, 10, 1, 64, 64) and ys.shape == (3, 10, 1, 64, 64)
    frames = np.concatenate([xs, ys], 1)
    assert frames.min() == 0.0 and frames.max() == 1.0
    assert (frames.reshape(3, 20, -1).max(-1) == 1.0).all()       # digits in every frame
    ds32 = MovingMNIST(num_sequences=2, downsample=2, num_observed=5, digits=_digits())
    x32, y32 = ds32[0]
    assert x32.shape == (5, 1, 32, 32) and y32.shape == (15, 1, 32, 32)
    full = MovingMNIST(num_sequences=2, num_observed=5, digits=_digits()).frames(0)
    np.testing.assert_allclose(full.mean(axis=(1, 2, 3)),
                               ds32.frames(0).mean(axis=(1, 2, 3)), rtol=1e-5)


def test_motion_bounces_and_stays_inside():
    """One digit: its mass is conserved (never clipped) and it moves every frame."""
    digit = np.zeros((1, 28, 28), np.uint8)
    digit[0, 10:18, 10:18] = 200
    for seed in range(5):
        seq = moving_mnist_sequence(digit, np.random.default_rng(seed), num_digits=1,
                                    num_frames=40).astype(np.int64)
        assert (seq.sum(axis=(1, 2)) == 200 * 64).all()             # fully inside
        ys, xs = [], []
        for f in seq:
            r, c = np.nonzero(f)
            ys.append(r.min())
            xs.append(c.min())
        steps = np.abs(np.diff(ys)) + np.abs(np.diff(xs))
        assert (steps > 0).mean() > 0.9 and (steps <= 6).all()      # ~3.6 px per frame
        turns = np.diff(np.sign(np.diff(ys))) != 0
        assert turns.any() or (np.diff(np.sign(np.diff(xs))) != 0).any()   # it bounced
        assert min(ys) >= 10 and max(ys) <= 64 - 28 + 17 and min(xs) >= 10


def test_errors():
    with pytest.raises(ValueError, match=r"MovingMNIST\(num_observed=20\)"):
        MovingMNIST(num_observed=20, digits=_digits())
    with pytest.raises(ValueError, match=r"MovingMNIST\(downsample=3\)"):
        MovingMNIST(downsample=3, digits=_digits())
    with pytest.raises(ValueError, match="digits"):
        MovingMNIST(digits=np.zeros((3, 28, 28), np.float32))
    with pytest.raises(IndexError, match="out of range"):
        MovingMNIST(num_sequences=2, digits=_digits())[2]


def test_real_mnist_splits():
    root = mnist_dir()
    test = MovingMNIST(root, split="test", num_sequences=3)
    assert test.digits.shape == (10000, 28, 28)
    x, y = test[0]
    assert x.shape == (10, 1, 64, 64) and 0 < x.mean() < 0.2
    again = MovingMNIST(root, split="test", num_sequences=3)
    np.testing.assert_array_equal(again[2][1], test[2][1])
    train = MovingMNIST(root, split="train", num_sequences=3)
    assert train.digits.shape == (60000, 28, 28)
    assert not np.array_equal(train[0][0], x)                       # other digits
