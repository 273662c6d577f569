"""MNIST handwritten digits: strict IDX parsing, download with checksum, cache.

MNIST (LeCun, Cortes & Burges) has 60,000 training and 10,000 test images of the digits
0–9, 28x28 grayscale, distributed as four gzip-compressed IDX files. The original page
gives no explicit licence and asks users to credit the authors.

IDX format (big-endian): a magic number ``0x0000 TT DD`` (TT = element type, 0x08 for
uint8; DD = number of dimensions), then DD uint32 sizes, then the elements in row-major
order. Images: magic 2051, sizes (N, 28, 28). Labels: magic 2049, size (N,).

Shape glossary: N = number of images (60000 train, 10000 test).
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from . import _files
from .dataset import TensorDataset

__all__ = ["load_mnist", "read_idx", "MNIST", "MNIST_FILES", "MNIST_MIRRORS"]

#: file name -> published sha256 of the canonical files, per split.
MNIST_FILES = {
    "train": (("train-images-idx3-ubyte.gz",
               "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
              ("train-labels-idx1-ubyte.gz",
               "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c")),
    "test": (("t10k-images-idx3-ubyte.gz",
              "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
             ("t10k-labels-idx1-ubyte.gz",
              "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6")),
}
#: default mirrors, tried in order (the first is the one torchvision uses).
MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/")

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4",
              0x0E: ">f8"}


def read_idx(path, expected_magic: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw) into a NumPy array, checking it strictly.

    Args:
        path: the ``.gz`` or raw IDX file.
        expected_magic: if given, the file's magic number must equal it (2051 for MNIST
            images, 2049 for labels).

    Raises:
        ValueError: bad gzip stream, wrong magic number, unknown type code, or a data
            length that does not match the header (truncated or trailing bytes).

    Example:
        >>> labels = read_idx("t10k-labels-idx1-ubyte.gz", expected_magic=2049)
        >>> labels.shape
        (10000,)
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as e:
            raise ValueError(f"read_idx({path}): corrupt or truncated gzip data ({e})") from None
    if len(raw) < 4:
        raise ValueError(f"read_idx({path}): file too short for an IDX header "
                         f"({len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    zero, type_code, ndim = magic >> 16, (magic >> 8) & 0xFF, magic & 0xFF
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(f"read_idx({path}): expected magic number {expected_magic}, "
                         f"got {magic}")
    if zero != 0 or type_code not in _IDX_TYPES or ndim == 0:
        raise ValueError(f"read_idx({path}): not an IDX file (magic number {magic:#010x})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx({path}): truncated header, expected {header} bytes, "
                         f"got {len(raw)}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[type_code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        kind = "truncated" if len(raw) - header < expected else "trailing bytes"
        raise ValueError(f"read_idx({path}): {kind}: header shape {shape} needs {expected} "
                         f"bytes of data, found {len(raw) - header}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(
        dtype.newbyteorder("="), copy=True)


def _find(filename: str, dirs: list[Path]) -> Path | None:
    for d in dirs:
        if (d / filename).is_file():
            return d / filename
    return None


def load_mnist(root=None, split: str = "train", download: bool = False,
               mirror=MNIST_MIRRORS, cache_dir=None) -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST as NumPy arrays: images float32 in [0, 1] and int64 labels.

    Files are looked up in ``root`` if given, else in ``$GLASSNET_DATA/mnist`` (when that
    variable is set), then in ``~/.cache/glassnet/mnist``. With ``download=True`` missing
    files are fetched from ``mirror`` into ``cache_dir``, written atomically (temporary file
    + rename) and checked against their published sha256 before use; a mismatch raises
    :class:`~glassnet.data.ChecksumError` and keeps nothing.

    Args:
        root: folder holding the four ``*-ubyte.gz`` files.
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000).
        download: fetch missing files.
        mirror: a base URL or list of base URLs (``https://``, ``http://`` or ``file://``).
        cache_dir: download folder, also searched when given (default: ``root`` if given,
            else ``~/.cache/glassnet/mnist``; see :func:`glassnet.data.cache_dir`).

    Shape:
        images: (N, 1, 28, 28) float32, pixel / 255. labels: (N,) int64 in 0..9.

    Example:
        >>> x, y = load_mnist(split="test")
        >>> x.shape, x.dtype, y[:3]
        ((10000, 1, 28, 28), dtype('float32'), array([7, 2, 1]))
    """
    if split not in MNIST_FILES:
        raise ValueError(f"load_mnist(split): expected 'train' or 'test', got {split!r}")
    if root is not None:
        dirs = [Path(root).expanduser()]
    else:
        dirs = [_files.data_dir() / "mnist", _files.cache_dir() / "mnist"]
    cache = Path(cache_dir).expanduser() if cache_dir is not None else dirs[-1]
    if (download or cache_dir is not None) and cache not in dirs:
        dirs.append(cache)
    paths = []
    for name, digest in MNIST_FILES[split]:
        path = _find(name, dirs)
        if path is None and download:
            path = _files.download(name, mirror, cache, sha256=digest)
        if path is None:
            where = ", ".join(str(d) for d in dict.fromkeys(dirs))
            raise FileNotFoundError(f"load_mnist(split={split!r}): {name} not found in {where}; "
                                    f"pass root=, set GLASSNET_DATA, or use download=True")
        paths.append(path)
    images = read_idx(paths[0], expected_magic=2051)
    labels = read_idx(paths[1], expected_magic=2049)
    for path, arr in zip(paths, (images, labels)):
        if arr.dtype != np.uint8:
            raise ValueError(f"load_mnist: {path} holds {arr.dtype} elements, expected uint8")
    if images.shape[1:] != (28, 28):
        raise ValueError(f"load_mnist: {paths[0]} holds images of size {images.shape[1:]}, "
                         f"expected (28, 28)")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"load_mnist: {images.shape[0]} images but {labels.shape[0]} labels "
                         f"in {paths[0].name} / {paths[1].name}")
    if labels.size and labels.max() > 9:
        raise ValueError(f"load_mnist: {paths[1]} holds a label {labels.max()} outside 0..9")
    x = images.reshape(-1, 1, 28, 28).astype(np.float32)
    np.divide(x, np.float32(255), out=x)
    return x, labels.astype(np.int64)


class MNIST(TensorDataset):
    """MNIST as a :class:`TensorDataset` of (image, label) pairs.

    Takes the same arguments as :func:`load_mnist`; ``self.arrays`` is ``(images, labels)``.

    Shape:
        sample: image (1, 28, 28) float32 in [0, 1], label () int64.

    Example:
        >>> ds = MNIST(split="test")
        >>> len(ds)
        10000
    """

    def __init__(self, root=None, split: str = "train", download: bool = False,
                 mirror=MNIST_MIRRORS, cache_dir=None):
        super().__init__(*load_mnist(root, split, download, mirror, cache_dir))
        self.split = split
