"""write_atomic: the file is replaced whole, the previous version kept as .bak, no temp left."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccplate_tui.atomic_file import backup_path, current_umask, write_atomic


def test_write_creates_folders_and_replaces_whole(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "state.toml"
    write_atomic(path, b"one")
    write_atomic(path, b"two")
    assert path.read_bytes() == b"two"
    assert not backup_path(path).exists(), "no backup unless asked"
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.toml"]


def test_backup_keeps_the_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    write_atomic(path, b"first", backup=True)
    assert not backup_path(path).exists(), "nothing to back up the first time"
    write_atomic(path, b"second", backup=True)
    write_atomic(path, b"third", backup=True)
    assert path.read_bytes() == b"third"
    assert backup_path(path).read_bytes() == b"second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.toml", "state.toml.bak"]


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    write_atomic(path, b"good")
    with pytest.raises(TypeError):
        write_atomic(path, "not bytes")  # type: ignore[arg-type]
    assert path.read_bytes() == b"good"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.toml"]


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_a_shared_file_follows_the_umask_and_state_stays_private(
    tmp_path: Path, mask: int, expected: int
) -> None:
    with umask(mask):
        assert current_umask() == mask
        write_atomic(tmp_path / "report.md", b"one", shared=True)
        write_atomic(tmp_path / "report.md", b"two", shared=True, backup=True)
        write_atomic(tmp_path / "state.toml", b"private")
    assert mode(tmp_path / "report.md") == expected
    assert mode(backup_path(tmp_path / "report.md")) == expected
    assert mode(tmp_path / "state.toml") == 0o600


def test_shared_and_mode_together_are_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not both"):
        write_atomic(tmp_path / "x", b"", shared=True, mode=0o600)
    assert not (tmp_path / "x").exists()
