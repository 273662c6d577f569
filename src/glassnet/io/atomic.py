"""Crash-safe file writing: a file is either absent, its old version, or complete.

The recipe (used for every file glassnet writes into a run directory): write to a temporary
file in the *same* directory, ``flush`` + ``fsync`` it, ``os.replace`` it over the target
(atomic on POSIX and Windows), then ``fsync`` the directory so the rename itself survives a
power cut. A crash at any moment leaves at worst a stray ``.tmp-*`` file, never a partial
target.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text", "fsync_dir", "sha256_bytes"]


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def fsync_dir(path) -> None:
    """``fsync`` a directory so that renames inside it are durable (no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename, fsync dir).

    Args:
        path: the target file; its directory must exist.
        data: the complete file contents.

    Returns:
        The target path.

    Raises:
        OSError: the directory is missing or not writable, or the disk is full. The
            temporary file is removed and an existing target is left untouched.

    Example:
        >>> atomic_write_bytes("run/metrics.json", b"{}")
        PosixPath('run/metrics.json')
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".tmp-{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def atomic_write_text(path, text: str) -> Path:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"))
