"""The history file's integrity: checked before it is opened, watched while a run records.

Before a HistoryStore touches an existing file, `check_file` reads its header and runs SQLite's
`PRAGMA quick_check` on a read-only connection (nothing is written, not even a checkpoint). A
damaged file is never written into:

- opened for writing (`open_history`: a run, the dashboard, a checklist step), the damaged file
  and its `-wal`/`-shm`/`-journal` are moved aside as `history.sqlite3.damaged-<UTC stamp>`
  (byte for byte), a new history is started, and the store's `moved_aside` says so (also logged
  as a warning);
- opened to read (`history list`, `show`, the verdict), it raises DamagedHistory and the file is
  left as it is.

A zero-byte file is treated the same way (it is not silently a new history). A file that does
not start like a SQLite database at all is not ours to move: it is refused, as schema.py does.
A new history is built under another name and linked into place (`create_file`), so a zero-byte
file is never one being created; `-wal`/`-shm` left by a removed file are moved aside first.

While a run records, `watch_files` notices the file removed or replaced under it (what the run
recorded there is lost) and a deleted `-wal` (its frames are checkpointed into the file and a
new `-wal` is started, so a later kill -9 loses nothing).

Core module: no Textual here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ccplate_tui.history.schema import SQLITE_MAGIC, HistoryError, open_database

if TYPE_CHECKING:
    from ccplate_tui.history.store import HistoryStore

log = logging.getLogger(__name__)

COMPANIONS = ("-wal", "-shm", "-journal")
"""SQLite's files beside the database; they go wherever the database goes."""
_HEADER = 100
_CHECK_LINES = 3
"""How many of quick_check's complaints a message quotes."""


@dataclass(frozen=True)
class Damage:
    """Why a history file cannot be used as it is."""

    path: Path
    reason: str
    """Says what is wrong, e.g. `is empty (zero bytes)`."""
    kind: str
    """`empty`, `damaged` (both moved aside when opened for writing) or `foreign` (not SQLite:
    refused, never moved)."""


class DamagedHistory(HistoryError):
    """A history file that failed its integrity check, left as it is (it was opened to read)."""

    def __init__(self, damage: Damage) -> None:
        self.damage = damage
        super().__init__(
            f"{damage.path}: the run history {damage.reason}; it was left as it is (the next "
            "run moves it aside and starts a new history; repair a copy with "
            "`sqlite3 FILE .recover`)"
        )


@dataclass(frozen=True)
class MovedAside:
    """A damaged (or empty) history moved aside when it was opened for writing; for the UI."""

    path: Path
    """Where the new history is."""
    aside: Path
    """Where the old file went, unchanged."""
    reason: str

    @property
    def message(self) -> str:
        return (
            f"the run history {self.path} {self.reason}: moved aside to {self.aside} (kept as "
            f"it was); a new history was started in {self.path}"
        )


def check_file(path: Path) -> Damage | None:
    """What is wrong with the history file at `path`; None when it is sound or absent.

    Only reads. Problems that are not damage (busy, unreadable, a folder) are left to the open
    that follows, which reports them as today.
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEADER)
    except OSError:
        return None
    if not head:
        return Damage(path, "is empty (zero bytes)", "empty")
    if not head.startswith(SQLITE_MAGIC):
        return Damage(path, f"is not a SQLite database (it starts with {head[:16]!r})", "foreign")
    problem = _header_problem(head)
    if problem:
        return Damage(path, f"is damaged ({problem})", "damaged")
    return _quick_check(path)


def _header_problem(head: bytes) -> str | None:
    """What is wrong with the 100-byte SQLite header (see the file format's section 1.3)."""
    if len(head) < _HEADER:
        return f"{len(head)} bytes, shorter than a SQLite header"
    page = int.from_bytes(head[16:18], "big")
    if page != 1 and (page < 512 or page & (page - 1)):
        return f"page size {page} in its header"
    if head[18] not in (1, 2) or head[19] not in (1, 2) or head[21:24] != b"\x40\x20\x20":
        return "its header's format bytes are wrong"
    return None


def _quick_check(path: Path) -> Damage | None:
    """quick_check on a read-only connection; the `-wal`/`-shm` it creates beside a damaged file
    are removed again, so reading a damaged history leaves its folder as it was."""
    created = [
        Path(f"{path}{end}") for end in ("-wal", "-shm") if not Path(f"{path}{end}").exists()
    ]
    damage = _run_quick_check(path)
    if damage is not None and len(created) == 2 and _size(created[0]) == 0:
        for companion in created:
            with contextlib.suppress(OSError):
                companion.unlink()
    return damage


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _run_quick_check(path: Path) -> Damage | None:
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True, timeout=10.0)
    except sqlite3.Error:
        return None  # cannot open it at all: the open that follows says why
    try:
        rows = [str(row[0]) for row in db.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if any(word in text for word in ("locked", "busy", "readonly", "unable to open")):
            return None  # not damage: the open that follows reports it
        return Damage(path, f"is damaged ({text})", "damaged")
    except sqlite3.DatabaseError as exc:
        return Damage(path, f"is damaged ({exc})", "damaged")
    finally:
        db.close()
    if rows == ["ok"]:
        return None
    found = "; ".join(" ".join(r.split()) for r in rows[:_CHECK_LINES])
    more = f" and {len(rows) - _CHECK_LINES} more" if len(rows) > _CHECK_LINES else ""
    return Damage(path, f"is damaged (PRAGMA quick_check: {found}{more})", "damaged")


def prepare_file(path: Path, *, move_damaged: bool) -> MovedAside | None:
    """Check `path` before it is opened: None when it can be used as it is.

    A damaged or empty file is moved aside when `move_damaged` (the open is for writing), else
    DamagedHistory is raised; a file that is not SQLite at all is left to schema.py's refusal.
    HistoryError when it should be moved but cannot be (it is then left as it is).
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        left = [end for end in COMPANIONS if Path(f"{path}{end}").exists()]
        moved = None
        if left and not move_damaged:
            raise HistoryError(
                f"{path}: the run history is missing but its {'/'.join(left)} are left; they "
                "were left as they are"
            )
        if left:  # a new file would take in the removed database's -wal as its own
            reason = f"was removed, leaving its {'/'.join(left)} behind"
            moved = MovedAside(path, move_aside(path), reason)
            log.warning("%s", moved.message)
        create_file(path)
        return moved
    damage = check_file(path)
    if damage is None or damage.kind == "foreign":
        return None
    if not move_damaged:
        raise DamagedHistory(damage)
    aside = move_aside(path)
    moved = MovedAside(path, aside, damage.reason)
    log.warning("%s", moved.message)
    return moved


def create_file(path: Path) -> None:
    """Create a new, empty history at `path` all at once: built under another name and linked
    into place, so no process ever sees a zero-byte history being created (a zero-byte file is
    then always one left behind, and is moved aside). Another process's file, linked first, wins.
    """
    temp = path.with_name(f"{path.name}.new-{os.getpid()}-{os.urandom(4).hex()}")
    try:
        open_database(temp).close()  # the last connection: checkpointed, -wal and -shm removed
        try:
            os.link(temp, path)
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links
            if not path.exists():
                os.replace(temp, path)
    except sqlite3.Error as exc:
        raise HistoryError(f"{path}: could not create the run history: {exc}") from exc
    finally:
        for end in ("", *COMPANIONS):
            with contextlib.suppress(OSError):
                Path(f"{temp}{end}").unlink()


def aside_path(path: Path, at: float | None = None) -> Path:
    """`history.sqlite3.damaged-<UTC stamp>`, numbered when that name (or a companion) is taken."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if at is None else at))
    candidate = path.with_name(f"{path.name}.damaged-{stamp}")
    number = 1
    while any(Path(f"{candidate}{end}").exists() for end in ("", *COMPANIONS)):
        number += 1
        candidate = path.with_name(f"{path.name}.damaged-{stamp}-{number}")
    return candidate


def move_aside(path: Path) -> Path:
    """Rename `path` and its companions to `aside_path(path)` (+ `-wal`, …); the new name.

    Companions go first, so a new history never starts beside the old one's `-wal`; a failure
    puts back what was moved and raises HistoryError.
    """
    aside = aside_path(path)
    moved: list[tuple[Path, Path]] = []
    try:
        for end in (*COMPANIONS, ""):
            source, target = Path(f"{path}{end}"), Path(f"{aside}{end}")
            if not source.exists():
                continue
            os.rename(source, target)
            moved.append((source, target))
    except OSError as exc:
        for source, target in reversed(moved):
            with contextlib.suppress(OSError):
                os.rename(target, source)
        raise HistoryError(
            f"{path}: the run history is damaged and could not be moved aside to {aside} "
            f"({exc.strerror or exc}); it was left as it is and nothing was written to it"
        ) from exc
    return aside


# --- while a run records -------------------------------------------------------------------------


def file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of `path`, None when it is missing."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def watch_files(store: HistoryStore, identity: tuple[int, int] | None) -> str | None:
    """Check the store's files after a write: a message when the file was removed or replaced
    (what was written since is lost: raised as HistoryError), or when its `-wal` was deleted and
    has been rescued (returned: the run goes on, nothing lost). None when all is well."""
    now = file_identity(store.path)
    if identity is not None and now != identity:
        what = "removed" if now is None else "replaced by another file"
        raise HistoryError(
            f"{store.path}: the run history file was {what} during the run; what this run "
            "had recorded in it went with it"
        )
    if Path(f"{store.path}-wal").exists():
        return None
    store.reconnect()
    return (
        f"{store.path}-wal (the run history's write-ahead log) was deleted during the run; "
        "its contents were written into the history and a new one was started"
    )
