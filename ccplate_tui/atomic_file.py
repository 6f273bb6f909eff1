"""Replace a file atomically: write a temp file beside it, fsync, rename, fsync the folder.

A reader (or a process killed mid-write) sees either the old file or the new one, never half.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomic(
    path: Path,
    data: bytes,
    *,
    backup: bool = False,
    mode: int | None = None,
    shared: bool = False,
) -> None:
    """Write `data` to `path` atomically; with `backup`, keep the previous version as `path.bak`.

    The backup is itself written atomically (a kill -9 during a plain copy would leave a torn
    `.bak`), so at every instant both files are whole. `mode` (e.g. the replaced file's own)
    is set on the temp file before the rename; `shared` gives a file meant for others (a report,
    an exported script) the mode a plain `open()` would: 0o666 less the umask (0644 under 022).
    Without either the file is private (0600), as state files must be.
    """
    if shared:
        if mode is not None:
            raise ValueError("write_atomic: give `mode` or `shared`, not both")
        mode = 0o666 & ~current_umask()
    path.parent.mkdir(parents=True, exist_ok=True)
    if backup:
        try:
            previous = path.read_bytes()
        except FileNotFoundError:
            previous = None
        if previous is not None:
            _replace(backup_path(path), previous, mode)
    _replace(path, data, mode)


def _replace(path: Path, data: bytes, mode: int | None = None) -> None:
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    _fsync_folder(path.parent)


def current_umask() -> int:
    """The process's umask, read without changing it where the OS tells (Linux /proc).

    Elsewhere it is set and restored at once, which another thread creating a file in that
    instant could see; the dashboard's workers write only private files (mkstemp: 0600).
    """
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


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
