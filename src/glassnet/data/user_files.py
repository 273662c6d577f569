"""The user's own data: image folders, ``.npz`` arrays and CSV tables.

Every reader returns plain NumPy arrays and raises an error naming the file (and the line,
for text files) when the data is malformed.

* :func:`load_image_folder` — ``ROOT/<class>/<image>`` (PNG, JPEG, BMP, GIF via Pillow),
  optionally split as ``ROOT/train/<class>/...`` and ``ROOT/test/<class>/...``.
* :func:`load_npz` — arrays ``x``, ``y`` (or ``x_train``, ``y_train``, ``x_test``, ``y_test``).
* :func:`load_table` — a CSV with a header row and a target column.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

__all__ = ["IMAGE_SUFFIXES", "load_image_folder", "read_image", "load_npz", "load_table",
           "has_split"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("image folders need Pillow: pip install 'glassnet[images]'") from None
    return Image


def read_image(path, size: int | None = None, grayscale: bool = False) -> np.ndarray:
    """One image as float32 (C, H, W) in [0, 1]; resized to ``size`` x ``size`` if given."""
    Image = _pillow()
    try:
        with Image.open(path) as im:
            im = im.convert("L" if grayscale else "RGB")
            if size:
                im = im.resize((size, size), Image.BILINEAR)
            a = np.asarray(im, dtype=np.float32) / 255.0
    except (OSError, ValueError) as e:
        raise ValueError(f"image {path}: cannot be read ({e})") from None
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def _class_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def has_split(root) -> bool:
    """Whether ``root`` holds ``train/`` and ``test/`` sub-folders."""
    root = Path(root)
    return (root / "train").is_dir() and (root / "test").is_dir()


def load_image_folder(root, size: int | None = None, grayscale: bool | None = None,
                      classes: list[str] | None = None):
    """Read ``root/<class>/*`` into ``(x (N, C, H, W) float32, y (N,) int64, classes)``.

    Args:
        size: resize every image to ``size`` x ``size`` (required when sizes differ).
        grayscale: one channel; ``None``: one channel when every image is grayscale.
        classes: the class names in label order (to read a test folder like its train
            folder); a class folder not in the list is an error.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data {root}: no such folder")
    dirs = _class_dirs(root)
    if classes is None:
        classes = [d.name for d in dirs]
    if len(classes) < 2:
        raise ValueError(f"data {root}: expected one sub-folder per class (at least 2), "
                         f"found {len(classes)}")
    unknown = [d.name for d in dirs if d.name not in classes]
    if unknown:
        raise ValueError(f"data {root}: class folder {unknown[0]!r} is not among the "
                         f"training classes {classes}")
    files = [(f, classes.index(d.name)) for d in dirs for f in sorted(d.iterdir())
             if f.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise ValueError(f"data {root}: no images ({', '.join(IMAGE_SUFFIXES)}) in the class "
                         f"folders")
    if grayscale is None:
        Image = _pillow()
        modes = set()
        for f, _ in files[:200]:
            try:
                with Image.open(f) as im:
                    modes.add(im.mode)
            except OSError as e:
                raise ValueError(f"image {f}: cannot be read ({e})") from None
        grayscale = modes <= {"L", "1", "I", "I;16"}
    images = [read_image(f, size, grayscale) for f, _ in files]
    first = images[0].shape
    for (f, _), a in zip(files, images):
        if a.shape != first:
            raise ValueError(f"image {f}: size {a.shape[1]}x{a.shape[2]} differs from "
                             f"{first[1]}x{first[2]} of the first image; set image_size to "
                             f"resize them all")
    x = np.stack(images)
    y = np.array([label for _, label in files], np.int64)
    return x, y, classes


def load_npz(path):
    """``(x, y)`` or ``((x_train, y_train), (x_test, y_test))`` from an ``.npz`` file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data {path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise ValueError(f"data {path}: not a readable .npz file ({e})") from None
    if {"x_train", "y_train", "x_test", "y_test"} <= set(arrays):
        pairs = [(arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])]
    elif {"x", "y"} <= set(arrays):
        pairs = [(arrays["x"], arrays["y"])]
    else:
        raise ValueError(f"data {path}: expected arrays x, y (or x_train, y_train, x_test, "
                         f"y_test), found {sorted(arrays)}")
    for x, y in pairs:
        if len(x) != len(y):
            raise ValueError(f"data {path}: {len(x)} inputs but {len(y)} labels")
        if x.dtype.kind not in "fiub" or not np.isfinite(x.astype(np.float64)).all():
            raise ValueError(f"data {path}: inputs must be finite numbers, got {x.dtype}")
    return pairs[0] if len(pairs) == 1 else tuple(pairs)


def _float(text):
    try:
        v = float(text)
    except ValueError:
        return None
    return v if np.isfinite(v) else None


def load_table(path, target_column: str | None = None, features: list | None = None):
    """A CSV with a header row: ``(x (N, D) float32, target (N,) strings, feature names)``.

    Every column but the target must be numeric; the target is returned as text (the task
    decides between classes and numbers). With ``features`` (names, e.g. a trained model's),
    only those columns are read, in that order, and the target is ``None``. A non-numeric or
    missing feature is an error naming the file, the line and the column.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data {path}: no such file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [(i + 1, r) for i, r in enumerate(csv.reader(f)) if any(c.strip() for c in r)]
    except UnicodeDecodeError:
        raise ValueError(f"data {path}: not a UTF-8 text file") from None
    if len(rows) < 2:
        raise ValueError(f"data {path}: expected a header row and data rows")
    header = [h.strip() for h in rows[0][1]]
    t = None
    if features is None:
        target = target_column if target_column is not None else header[-1]
        if target not in header:
            raise ValueError(f"data {path}: target_column {target!r} is not a column; "
                             f"columns are {header}")
        t = header.index(target)
        features = [h for j, h in enumerate(header) if j != t]
    missing = [c for c in features if c not in header]
    if missing:
        raise ValueError(f"data {path}: missing feature column {missing[0]!r}")
    cols = [header.index(c) for c in features]
    x, y = [], []
    for line, row in rows[1:]:
        if len(row) != len(header):
            raise ValueError(f"data {path}:{line}: expected {len(header)} fields, got "
                             f"{len(row)}")
        vals = []
        for j in cols:
            v = _float(row[j].strip())
            if v is None:
                raise ValueError(f"data {path}:{line}: column {header[j]!r}: expected a "
                                 f"number, got {row[j].strip()!r}")
            vals.append(v)
        x.append(vals)
        if t is not None:
            y.append(row[t].strip())
    return np.asarray(x, np.float32), (np.asarray(y) if t is not None else None), features
