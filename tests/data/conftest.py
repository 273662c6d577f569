"""Fixtures for the data tests. Repo-relative defaults live here, never in the library."""
import gzip
import os
from pathlib import Path

import numpy as np
import pytest


def shared_data_dir() -> Path:
    env = os.environ.get("GLASSNET_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "../shared/data"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    d = shared_data_dir() / "mnist"
    if not (d / "t10k-labels-idx1-ubyte.gz").is_file():
        pytest.skip(f"real MNIST files not found in {d} (set GLASSNET_DATA to the folder "
                    f"holding mnist/)")
    return d


def write_idx(path: Path, array: np.ndarray, magic: int | None = None, cut: int = 0,
              extra: bytes = b"") -> Path:
    """Write uint8 ``array`` as a gzip IDX file; ``cut`` drops trailing data bytes."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = (0x08 << 8 | array.ndim) if magic is None else magic
    header = magic.to_bytes(4, "big") + b"".join(int(s).to_bytes(4, "big")
                                                 for s in array.shape)
    body = array.tobytes()
    body = body[:len(body) - cut] + extra
    path.write_bytes(gzip.compress(header + body))
    return path


@pytest.fixture
def tiny_mnist(tmp_path) -> Path:
    """A 'test' split of 6 synthetic 28x28 images in IDX format."""
    rng = np.random.default_rng(0)
    root = tmp_path / "tiny"
    root.mkdir()
    images = rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    write_idx(root / "t10k-images-idx3-ubyte.gz", images)
    write_idx(root / "t10k-labels-idx1-ubyte.gz", np.array([7, 2, 1, 0, 4, 9], np.uint8))
    return root
