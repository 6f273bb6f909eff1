"""Replace a file atomically: write a temp file beside it, fsync, rename, fsync the folder.

A reader (or a process killed mid-write) sees either the old file or the new one, never half.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes, *, backup: bool = False) -> None:
    """Write `data` to `path` atomically; with `backup`, keep the previous version as `path.bak`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if backup and path.exists():
            # A copy, not a rename: `path` must exist at every instant.
            shutil.copy2(path, backup_path(path))
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    _fsync_folder(path.parent)


def backup_path(path: Path) -> Path:
    """Where `write_atomic(..., backup=True)` keeps the previous version."""
    return path.with_name(path.name + ".bak")


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable; not possible on every platform, and harmless to skip there.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
