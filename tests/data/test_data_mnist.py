import gzip
import http.server
import shutil
import threading
from functools import partial

import numpy as np
import pytest

from conftest import write_idx
from glassnet.data import (MNIST, ChecksumError, data_dir, download, load_mnist, read_idx,
                           sha256_file)
from glassnet.data.mnist import MNIST_FILES

TEST_FILES = [name for name, _ in MNIST_FILES["test"]]


# -- real files ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mnist_train(mnist_dir):
    return load_mnist(mnist_dir, split="train")


def test_real_train_labels_and_counts(mnist_train):
    x, y = mnist_train
    assert x.shape == (60000, 1, 28, 28) and x.dtype == np.float32
    assert y.shape == (60000,) and y.dtype == np.int64
    assert 0.0 <= x.min() and x.max() == 1.0
    np.testing.assert_allclose(x.mean() * 255, 33.32, atol=0.01)
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851,
                                       5949]


def test_real_test_split(mnist_dir):
    ds = MNIST(mnist_dir, split="test")
    x, y = ds.arrays
    assert len(ds) == 10000 and x.shape == (10000, 1, 28, 28)
    assert y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    np.testing.assert_allclose(x.mean() * 255, 33.79, atol=0.01)


def test_real_checksums_match_table(mnist_dir):
    for name, digest in MNIST_FILES["test"]:
        assert sha256_file(mnist_dir / name) == digest


# -- root resolution, parsing ----------------------------------------------------------------
def test_synthetic_scaling_and_layout(tiny_mnist):
    x, y = load_mnist(tiny_mnist, split="test")
    raw = read_idx(tiny_mnist / TEST_FILES[0], expected_magic=2051)
    assert x.shape == (6, 1, 28, 28) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:, 0], raw.astype(np.float32) / np.float32(255))
    assert x[0, 0, 0, 0] == 0.0 and x[0, 0, 0, 1] == 1.0
    assert y.tolist() == [7, 2, 1, 0, 4, 9] and y.dtype == np.int64


def test_glassnet_data_env_var(tiny_mnist, tmp_path, monkeypatch):
    shutil.copytree(tiny_mnist, tmp_path / "env" / "mnist")
    monkeypatch.setenv("GLASSNET_DATA", str(tmp_path / "env"))
    assert data_dir() == tmp_path / "env"
    assert load_mnist(split="test")[1].tolist() == [7, 2, 1, 0, 4, 9]


def test_data_dir_defaults_to_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("GLASSNET_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data_dir() == tmp_path / "glassnet"


def test_missing_files_message(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_mnist(tmp_path, split="test")
    with pytest.raises(ValueError, match="split"):
        load_mnist(tmp_path, split="valid")


def test_truncated_and_corrupt_files(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    with pytest.raises(ValueError, match="truncated"):
        read_idx(write_idx(tmp_path / "a.gz", labels, cut=3), expected_magic=2049)
    with pytest.raises(ValueError, match="trailing"):
        read_idx(write_idx(tmp_path / "b.gz", labels, extra=b"\0"), expected_magic=2049)
    with pytest.raises(ValueError, match="magic number 2049"):
        read_idx(write_idx(tmp_path / "c.gz", labels, magic=2051), expected_magic=2049)
    with pytest.raises(ValueError, match="not an IDX"):
        read_idx(write_idx(tmp_path / "d.gz", labels, magic=0x01020301))
    good = (tmp_path / "a.gz").read_bytes()
    (tmp_path / "e.gz").write_bytes(good[: len(good) // 2])          # cut gzip stream
    with pytest.raises(ValueError, match="truncated gzip"):
        read_idx(tmp_path / "e.gz")
    (tmp_path / "f").write_bytes(b"\0\0")
    with pytest.raises(ValueError, match="too short"):
        read_idx(tmp_path / "f")


def test_truncated_real_label_file(mnist_dir, tmp_path):
    raw = gzip.decompress((mnist_dir / TEST_FILES[1]).read_bytes())
    for name in TEST_FILES:
        shutil.copy(mnist_dir / name, tmp_path / name)
    (tmp_path / TEST_FILES[1]).write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(ValueError, match=r"truncated.*\(10000,\)"):
        load_mnist(tmp_path, split="test")


def test_raw_idx_and_count_mismatch(tiny_mnist, tmp_path):
    write_idx(tmp_path / TEST_FILES[0], np.zeros((3, 28, 28), np.uint8))
    write_idx(tmp_path / TEST_FILES[1], np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="3 images but 4 labels"):
        load_mnist(tmp_path, split="test")
    write_idx(tmp_path / TEST_FILES[0], np.zeros((4, 8, 8), np.uint8))
    with pytest.raises(ValueError, match=r"\(28, 28\)"):
        load_mnist(tmp_path, split="test")


# -- download --------------------------------------------------------------------------------
@pytest.fixture
def mirror(mnist_dir, tmp_path):
    m = tmp_path / "mirror"
    m.mkdir()
    for name in TEST_FILES:
        shutil.copy(mnist_dir / name, m / name)
    return m


def test_download_from_file_mirror(mirror, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(FileNotFoundError):
        load_mnist(tmp_path / "empty", split="test", cache_dir=cache)
    bad_first = (tmp_path / "nowhere").as_uri()
    x, y = load_mnist(tmp_path / "empty", split="test", download=True,
                      mirror=[bad_first, mirror.as_uri()], cache_dir=cache)
    assert x.shape == (10000, 1, 28, 28) and y[:3].tolist() == [7, 2, 1]
    assert sorted(p.name for p in cache.iterdir()) == sorted(TEST_FILES)   # no .part files
    # second call reads the cache (the mirror is gone)
    shutil.rmtree(mirror)
    assert load_mnist(tmp_path / "empty", split="test", cache_dir=cache)[1][0] == 7


def test_download_default_cache_location(mirror, tmp_path, monkeypatch):
    monkeypatch.delenv("GLASSNET_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    load_mnist(split="test", download=True, mirror=mirror.as_uri())
    assert (tmp_path / "xdg" / "glassnet" / "mnist" / TEST_FILES[1]).is_file()


def test_download_rejects_bad_checksum(mirror, tmp_path):
    path = mirror / TEST_FILES[1]
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumError, match="sha256 mismatch"):
        load_mnist(tmp_path / "empty", split="test", download=True, mirror=mirror.as_uri(),
                   cache_dir=cache)
    assert not (cache / TEST_FILES[1]).exists()
    assert not any(p.name.endswith(".part") for p in cache.iterdir())


def test_download_unreachable(tmp_path):
    with pytest.raises(OSError, match="could not fetch"):
        download("x.gz", (tmp_path / "nope").as_uri(), tmp_path / "cache")


def test_download_over_local_http(mirror, tmp_path):
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(mirror))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        name, digest = MNIST_FILES["test"][1]
        path = download(name, url, tmp_path / "cache", sha256=digest, timeout=10)
        assert sha256_file(path) == digest
    finally:
        server.shutdown()
        server.server_close()
