"""Where data lives, and fetching files safely: mirrors, sha256 checks, atomic writes.

Library code never assumes a repository layout. Data is looked up in:

1. an explicit ``root`` argument,
2. ``$GLASSNET_DATA/<dataset>`` when the ``GLASSNET_DATA`` environment variable is set,
3. the cache ``$XDG_CACHE_HOME/glassnet/<dataset>`` (default ``~/.cache/glassnet/<dataset>``),
   which is also where downloads go.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["ChecksumError", "data_dir", "cache_dir", "sha256_file", "download"]

_CHUNK = 1 << 20


class ChecksumError(ValueError):
    """A downloaded file's sha256 differs from the published checksum."""


def cache_dir() -> Path:
    """The download cache root: ``$XDG_CACHE_HOME/glassnet`` or ``~/.cache/glassnet``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "glassnet"


def data_dir() -> Path:
    """The data root: ``$GLASSNET_DATA`` if set, else :func:`cache_dir`.

    A dataset ``name`` is then looked up in ``data_dir() / name``.

    Example:
        >>> import os; os.environ["GLASSNET_DATA"] = "/srv/data"
        >>> str(data_dir() / "mnist")
        '/srv/data/mnist'
    """
    env = os.environ.get("GLASSNET_DATA")
    return Path(env).expanduser() if env else cache_dir()


def sha256_file(path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _fetch_one(url: str, dest: Path, sha256: str | None, timeout: float) -> None:
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            for chunk in iter(lambda: resp.read(_CHUNK), b""):
                h.update(chunk)
                out.write(chunk)
        if sha256 is not None and h.hexdigest() != sha256.lower():
            raise ChecksumError(f"download({url}): sha256 mismatch, expected {sha256}, got "
                                f"{h.hexdigest()}; the file was discarded")
        os.replace(tmp, dest)                    # atomic: dest is either absent or complete
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def download(filename: str, mirrors, dest_dir, sha256: str | None = None,
             timeout: float = 60.0) -> Path:
    """Fetch ``filename`` from the first mirror that serves it, into ``dest_dir``.

    The file is streamed to a temporary file in ``dest_dir``, its sha256 compared with
    ``sha256`` and only then renamed into place, so an interrupted or corrupt download never
    leaves a file that looks valid.

    Args:
        filename: name appended to each mirror URL.
        mirrors: a base URL or a list of them (``https://…/``, ``file:///…/``).
        dest_dir: target folder, created if needed.
        sha256: expected hex digest (``None`` skips the check).
        timeout: seconds per connection attempt.

    Raises:
        ChecksumError: a mirror served bytes with the wrong checksum (and no mirror
            served the right ones).
        OSError: no mirror could be reached.

    Example:
        >>> download("t10k-labels-idx1-ubyte.gz", "file:///tmp/mirror/", "/tmp/cache")
        PosixPath('/tmp/cache/t10k-labels-idx1-ubyte.gz')
    """
    mirrors = [mirrors] if isinstance(mirrors, str) else list(mirrors)
    if not mirrors:
        raise ValueError("download(mirrors): expected at least one mirror URL, got none")
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / filename
    errors = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + filename
        try:
            _fetch_one(url, dest, sha256, timeout)
            return dest
        except ChecksumError as e:
            errors.append(e)
        except (urllib.error.URLError, OSError, ValueError) as e:
            errors.append(OSError(f"{url}: {e}"))
    detail = "; ".join(str(e) for e in errors)
    if any(isinstance(e, ChecksumError) for e in errors):
        raise ChecksumError(f"download({filename}): no mirror served a file with the expected "
                            f"checksum: {detail}")
    raise OSError(f"download({filename}): could not fetch from any mirror: {detail}")
