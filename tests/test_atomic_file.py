"""write_atomic: the file is replaced whole, the previous version kept as .bak, no temp left."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccplate_tui.atomic_file import backup_path, write_atomic


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
