"""The history database's schema, its versions, and opening a file safely.

`PRAGMA user_version` is the schema version; `MIGRATIONS[n]` upgrades version n to n + 1, so a
new database runs them all and an old one only the missing ones, after a backup of the file as it
was (`history.sqlite3.v<N>.bak`, made with SQLite's backup API so it is consistent even while
another process writes). A file that is not a database, is damaged, or was written by a newer
version raises HistoryError and is never changed, let alone deleted (integrity.py checks a file
before it is opened, and moves a damaged one aside when it is opened for writing).

Core module: no Textual here.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 10_000
"""How long a writer waits for another process's write to finish before giving up."""


class HistoryError(OSError):
    """The history database cannot be used; the message names the file and what is wrong.

    An OSError so that callers which already survive an unwritable state folder survive a damaged
    history the same way: they warn and go on without it.
    """


def _statements(db: sqlite3.Connection, script: str) -> None:
    """Run `script` statement by statement inside the caller's transaction.

    Not `executescript`: it commits the open transaction first, which would let half a
    migration land.
    """
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _v1(db: sqlite3.Connection) -> None:
    """Runs, their interval snapshots, annotations and per-scenario baselines."""
    _statements(
        db,
        """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            started_at REAL NOT NULL,
            ended_at REAL,
            status TEXT NOT NULL CHECK (
                status IN ('running', 'finished', 'interrupted', 'aborted', 'error')
            ),
            engine TEXT NOT NULL,
            names TEXT NOT NULL,
            config TEXT NOT NULL,
            config_hash TEXT,
            git_commit TEXT,
            target TEXT NOT NULL,
            time_scale REAL NOT NULL,
            pid INTEGER,
            pid_started REAL,
            summary TEXT,
            thresholds TEXT
        );
        CREATE TABLE intervals (
            run_id TEXT NOT NULL REFERENCES runs(id),
            idx INTEGER NOT NULL,
            start REAL NOT NULL,
            "end" REAL NOT NULL,
            wall_time REAL NOT NULL,
            metrics TEXT NOT NULL,
            progress TEXT NOT NULL,
            PRIMARY KEY (run_id, idx)
        );
        CREATE TABLE annotations (
            run_id TEXT NOT NULL REFERENCES runs(id),
            at REAL NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('stop', 'abort', 'fault', 'note')),
            text TEXT NOT NULL
        );
        CREATE INDEX annotations_run ON annotations(run_id, at);
        CREATE TABLE baselines (
            scenario TEXT PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES runs(id),
            set_at REAL NOT NULL,
            set_by TEXT NOT NULL
        );
        """,
    )


def _v2(db: sqlite3.Connection) -> None:
    """Run numbers (`history show 12`), the scenarios that ran, cached run totals (one decode
    instead of one per interval), the baselines a run was judged against, interval health and
    notes, and a key/value table for one-off jobs such as importing the old JSON records."""
    _statements(
        db,
        """
        ALTER TABLE runs ADD COLUMN seq INTEGER;
        UPDATE runs SET seq = (
            SELECT COUNT(*) FROM runs AS other
            WHERE other.started_at < runs.started_at
               OR (other.started_at = runs.started_at AND other.rowid <= runs.rowid)
        );
        CREATE UNIQUE INDEX runs_seq ON runs(seq);
        CREATE INDEX runs_ended ON runs(ended_at);
        ALTER TABLE runs ADD COLUMN scenarios TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE runs ADD COLUMN totals TEXT;
        ALTER TABLE runs ADD COLUMN baseline_for TEXT;
        ALTER TABLE intervals ADD COLUMN health TEXT;
        ALTER TABLE intervals ADD COLUMN notes TEXT NOT NULL DEFAULT '[]';
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """,
    )


def _v3(db: sqlite3.Connection) -> None:
    """The metric sources' samples of each interval (`[sources.NAME]`), committed with it."""
    _statements(db, "ALTER TABLE intervals ADD COLUMN sources TEXT NOT NULL DEFAULT '[]'")


def _v4(db: sqlite3.Connection) -> None:
    """The availability probes' tally of each interval (`[availability]`, JSON, NULL for a run
    without a probe), committed with it; and a run's error-capture count (JSON, NULL until
    measured)."""
    _statements(
        db,
        """
        ALTER TABLE intervals ADD COLUMN probes TEXT;
        ALTER TABLE runs ADD COLUMN capture TEXT
        """,
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2, _v3, _v4]
"""`MIGRATIONS[n]` turns schema version n into n + 1; append, never edit a shipped one."""

SCHEMA_VERSION = len(MIGRATIONS)


def open_database(path: Path) -> sqlite3.Connection:
    """A connection to the history at `path`, created or upgraded to SCHEMA_VERSION, in WAL mode.

    Raises HistoryError (the file untouched) for a file that is not a usable history database,
    OSError when its folder cannot be created.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _check_header(path)
    try:
        db = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise HistoryError(f"{path}: cannot open the run history: {exc}") from exc
    try:
        version = _inspect(db, path)  # reads only: a damaged file is left as it is
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        if version < SCHEMA_VERSION:
            _upgrade(db, path)
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise HistoryError(f"{path}: could not switch the run history to WAL mode ({mode})")
    except sqlite3.DatabaseError as exc:
        db.close()
        raise as_history_error(path, exc) from exc
    except BaseException:
        db.close()
        raise
    return db


def as_history_error(path: Path, exc: sqlite3.Error) -> HistoryError:
    """The HistoryError for a SQLite error on `path`, saying plainly whether the file is damaged
    or only busy, read-only, on a full disk, or otherwise unusable right now."""
    text = str(exc)
    if isinstance(
        exc, sqlite3.OperationalError | sqlite3.ProgrammingError | sqlite3.InterfaceError
    ):
        if "locked" in text or "busy" in text:
            return HistoryError(f"{path}: the run history is busy in another process ({text})")
        if "readonly" in text or "read-only" in text:
            return HistoryError(f"{path}: the run history is read-only ({text})")
        if "full" in text:
            return HistoryError(f"{path}: the disk holding the run history is full ({text})")
        return HistoryError(f"{path}: the run history cannot be used: {text}")
    return HistoryError(
        f"{path}: the run history is damaged ({text}); it was left as it is: move it aside "
        "to start a new history, or repair it with `sqlite3 FILE .recover`"
    )


def _check_header(path: Path) -> None:
    """Refuse a non-empty file that does not start like a SQLite database, before SQLite sees it."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except IsADirectoryError as exc:
        raise HistoryError(f"{path}: expected the run history database, found a folder") from exc
    except OSError as exc:
        raise HistoryError(f"{path}: cannot read the run history: {exc.strerror or exc}") from exc
    if head and head != SQLITE_MAGIC:
        raise HistoryError(
            f"{path}: not a SQLite database (it starts with {head[:16]!r}); it was left as it "
            "is: move it aside to start a new history"
        )


def _inspect(db: sqlite3.Connection, path: Path) -> int:
    """The file's schema version, after checking it is ours and not from a newer version."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if version > SCHEMA_VERSION:
        raise HistoryError(
            f"{path}: the run history has schema version {version}, newer than this "
            f"ccplate-tui knows ({SCHEMA_VERSION}); upgrade ccplate-tui to read it"
        )
    if version == 0 and tables:
        raise HistoryError(
            f"{path}: a SQLite database, but not a ccplate-tui run history "
            f"(tables: {', '.join(sorted(tables))}); it was left as it is"
        )
    if version > 0 and "runs" not in tables:
        raise HistoryError(f"{path}: the run history has no runs table (schema v{version})")
    return version


def _upgrade(db: sqlite3.Connection, path: Path) -> None:
    """Back up an existing older database, then apply the missing migrations in one transaction.

    The write lock is taken first, so two processes opening an old file at once upgrade it once.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > 0 and version < SCHEMA_VERSION:
            _backup(path, version)
        for step in range(version, SCHEMA_VERSION):
            MIGRATIONS[step](db)
            db.execute(f"PRAGMA user_version = {step + 1}")
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise


def backup_path(path: Path, version: int) -> Path:
    """Where the copy of a version-`version` database goes before its upgrade (never overwritten)."""
    candidate = path.with_name(f"{path.name}.v{version}.bak")
    number = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.v{version}.{number}.bak")
        number += 1
    return candidate


def _backup(path: Path, version: int) -> None:
    """Copy the database as committed. Called while `_upgrade` holds the write lock, through a
    second connection: SQLite refuses to back up from the connection that holds the lock, and
    with the lock held nobody can change the file between the copy and the upgrade."""
    target = backup_path(path, version)
    try:
        source = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
    except sqlite3.Error as exc:
        raise HistoryError(
            f"{path}: could not back up the schema v{version} run history to {target} before "
            f"upgrading it ({exc}); nothing was changed"
        ) from exc
