"""SQLite store of the demo target: the seeded user, files, builder analytics and the schema lock.

Every call runs on the event loop thread: each statement is short (WAL, no fsync), and
a thread hop would cost more than the statement. Nothing ever waits inside SQLite
(busy_timeout=0); a busy database is retried with `asyncio.sleep`, so a writer in another process
never blocks this loop. Every statement after opening goes through `_one` / `_exec`, which charge
its CPU time to the store's DbMeter (the database load on `/metrics`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import random
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ccplate_tui.target.db_meter import DbMeter

DEMO_EMAIL = "load-test@example.com"
DEMO_PASSWORD = "test-password"
DEMO_NAME = "Load Test User"
# Deliberately low: the login endpoint takes bursts of thousands of requests per second, and
# this is a demo target. 100 rounds cost ~50 µs; 1,000 would cost ~250 µs of loop time each.
PASSWORD_ITERATIONS = 100
STALE_LOCK_S = 30.0
BUSY_GIVE_UP_S = 10.0
SCHEMA_FIELDS = (("id", "String"), ("createdAt", "DateTime"), ("data", "Json"))

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE COLLATE NOCASE, name TEXT NOT NULL,
    password TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY AUTOINCREMENT, filename TEXT NOT NULL, content_type TEXT NOT NULL,
    size INTEGER NOT NULL, sha256 TEXT NOT NULL, content BLOB NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS builder_analytics (
    id INTEGER PRIMARY KEY AUTOINCREMENT, component_name TEXT NOT NULL, description TEXT NOT NULL,
    preferences TEXT NOT NULL, mock INTEGER NOT NULL, duration_ms REAL NOT NULL,
    created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS schema_lock (
    id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT, since REAL);
INSERT OR IGNORE INTO schema_lock (id, holder, since) VALUES (1, NULL, NULL);
CREATE TABLE IF NOT EXISTS schema_models (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, holder TEXT NOT NULL,
    applied_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS schema_fields (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model_id INTEGER NOT NULL REFERENCES schema_models(id),
    name TEXT NOT NULL, type TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS schema_indexes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model_id INTEGER NOT NULL REFERENCES schema_models(id),
    name TEXT NOT NULL, columns TEXT NOT NULL);
"""

T = TypeVar("T")


class DatabaseBusy(RuntimeError):
    """The database stayed locked by another writer for longer than BUSY_GIVE_UP_S."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds the schema lock and since when (epoch seconds)."""

    holder: str
    since: float


class SchemaLocked(Exception):
    """Another apply holds the schema lock; the caller answers 423 without waiting."""

    def __init__(self, holder: LockHolder) -> None:
        super().__init__(f"schema lock held by {holder.holder}")
        self.holder = holder


@dataclass(frozen=True)
class AppliedSchema:
    """A committed schema apply: the model name and its version (the model row id)."""

    model: str
    version: int


@dataclass(frozen=True)
class User:
    """A user row with its parsed password hash; cached in memory after the first read."""

    id: int
    email: str
    name: str
    created_at: float
    salt: bytes
    password_hash: bytes
    iterations: int

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "name": self.name}


@dataclass(frozen=True)
class StoredFile:
    """Metadata of an uploaded file (the bytes stay in SQLite)."""

    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "created_at": self.created_at,
        }


def hash_password(password: str, salt: bytes, iterations: int = PASSWORD_ITERATIONS) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)


def _encode_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hash_password(password, salt)
    return f"pbkdf2_sha256${PASSWORD_ITERATIONS}${salt.hex()}${digest.hex()}"


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def _connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: autocommit, and transactions only where this module says BEGIN.
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 10000")  # only while initialising, see TargetStore
    conn.execute("PRAGMA journal_mode = WAL")
    # No fsync: a checkpoint after a few 1 MB uploads would otherwise stall the event loop
    # for every request. A process crash still leaves the WAL database intact; only an OS
    # crash could lose the latest writes, which is fine for a demo target.
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA journal_size_limit = 67108864")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


class TargetStore:
    """One target's view of the database file; several stores (or processes) may share a file."""

    def __init__(self, path: str | Path, meter: DbMeter | None = None) -> None:
        self.path = Path(path)
        self.meter = meter if meter is not None else DbMeter()
        self._conn = _connect(self.path)
        self._schema_conn = _connect(self.path)
        try:
            self._initialise()
        except BaseException:
            self.close()
            raise
        for conn in (self._conn, self._schema_conn):
            conn.execute("PRAGMA busy_timeout = 0")
        # Serialises this store's writes so in-process writers queue fairly (FIFO) instead of
        # polling against each other; other processes are handled by the busy retry.
        self._write_gate = asyncio.Lock()
        self._users: dict[str, User | None] = {}
        self._instance = f"{os.getpid()}-{secrets.token_hex(3)}"
        self._local_holder: LockHolder | None = None
        self._random = random.Random()

    def _initialise(self) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('token_secret', ?)",
                (secrets.token_hex(32),),
            )
            conn.execute(
                "INSERT OR IGNORE INTO users (email, name, password, created_at) "
                "VALUES (?, ?, ?, ?)",
                (DEMO_EMAIL, DEMO_NAME, _encode_password(DEMO_PASSWORD), time.time()),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        row = conn.execute("SELECT value FROM meta WHERE key = 'token_secret'").fetchone()
        self.token_secret: bytes = bytes.fromhex(row[0])

    def close(self) -> None:
        self._conn.close()
        self._schema_conn.close()

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        """The first row of a query on the main connection (None when there is none), metered."""
        conn = self._conn
        return self.meter.run(conn, lambda: conn.execute(sql, params).fetchone())

    def _exec(
        self, conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()
    ) -> sqlite3.Cursor:
        """One statement on `conn`, metered."""
        return self.meter.run(conn, lambda: conn.execute(sql, params))

    def ping(self) -> None:
        """A real round trip to SQLite; raises sqlite3.Error when the database is unusable."""
        self._one("SELECT 1")

    async def _write(self, action: Callable[[], T], *, gated: bool = True) -> T:
        """Run a write, retrying (without blocking the loop) while another process holds the DB."""
        if gated:
            async with self._write_gate:
                return await self._retry_busy(action)
        return await self._retry_busy(action)

    async def _retry_busy(self, action: Callable[[], T]) -> T:
        delay = 0.001
        deadline = time.monotonic() + BUSY_GIVE_UP_S
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                if time.monotonic() > deadline:
                    raise DatabaseBusy("the database stayed locked by another writer") from exc
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.01)

    # users ---------------------------------------------------------------------------------

    def find_user(self, email: str) -> User | None:
        """The user with this email (case-insensitive), cached: logins never query SQLite twice."""
        key = email.strip().lower()
        if key in self._users:
            return self._users[key]
        row = self._one(
            "SELECT id, email, name, password, created_at FROM users WHERE email = ?", (key,)
        )
        user = None if row is None else _user_from_row(row)
        if user is not None or len(self._users) < 10_000:  # bounded: emails are client input
            self._users[key] = user
        return user

    def user_by_id(self, user_id: int) -> User | None:
        for user in self._users.values():
            if user is not None and user.id == user_id:
                return user
        row = self._one("SELECT email FROM users WHERE id = ?", (user_id,))
        return None if row is None else self.find_user(row[0])

    def demo_user(self) -> User:
        user = self.find_user(DEMO_EMAIL)
        if user is None:  # the row is seeded on open, so only a hand-edited DB gets here
            raise RuntimeError(f"the demo user {DEMO_EMAIL} is missing from {self.path}")
        return user

    @staticmethod
    def verify_password(user: User, password: str) -> bool:
        digest = hash_password(password, user.salt, user.iterations)
        return hmac.compare_digest(digest, user.password_hash)

    # files ---------------------------------------------------------------------------------

    async def add_file(
        self, filename: str, content_type: str, content: bytes, sha256: str
    ) -> StoredFile:
        created = time.time()

        def insert() -> int:
            cursor = self._exec(
                self._conn,
                "INSERT INTO files (filename, content_type, size, sha256, content, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (filename, content_type, len(content), sha256, content, created),
            )
            return int(cursor.lastrowid or 0)

        file_id = await self._write(insert)
        return StoredFile(file_id, filename, content_type, len(content), sha256, created)

    def get_file(self, file_id: int) -> StoredFile | None:
        row = self._one(
            "SELECT id, filename, content_type, size, sha256, created_at FROM files WHERE id = ?",
            (file_id,),
        )
        return None if row is None else StoredFile(*row)

    def get_file_content(self, file_id: int) -> bytes | None:
        row = self._one("SELECT content FROM files WHERE id = ?", (file_id,))
        return None if row is None else bytes(row[0])

    # builder analytics ---------------------------------------------------------------------

    async def record_generation(
        self,
        component_name: str,
        description: str,
        preferences: object,
        mock: bool,
        duration_ms: float,
    ) -> None:
        row = (
            component_name,
            description,
            json.dumps(preferences, sort_keys=True),
            int(mock),
            duration_ms,
            time.time(),
        )
        await self._write(
            lambda: self._exec(
                self._conn,
                "INSERT INTO builder_analytics (component_name, description, preferences, mock, "
                "duration_ms, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                row,
            )
        )

    # schema lock ---------------------------------------------------------------------------

    def lock_holder(self) -> LockHolder | None:
        """The current holder of the DB-level schema lock, as last committed."""
        row = self._one("SELECT holder, since FROM schema_lock WHERE id = 1")
        if row is None or row[0] is None:
            return None
        return LockHolder(row[0], float(row[1] or 0.0))

    async def apply_schema(self, model: str) -> AppliedSchema:
        """Apply `model` under the schema lock in one transaction, or raise SchemaLocked at once."""
        if self._local_holder is not None:
            raise SchemaLocked(self._local_holder)
        # Claimed before the first await, so no other task of this store gets past the check.
        me = LockHolder(f"{model}@{self._instance}", time.time())
        self._local_holder = me
        try:
            await self._claim_lock(me)
            return await self._apply_claimed(model, me)
        finally:
            self._local_holder = None

    async def _claim_lock(self, me: LockHolder) -> None:
        """Take the DB row lock (atomic UPDATE ... WHERE holder IS NULL) or raise SchemaLocked."""
        conn = self._schema_conn
        for _ in range(100):  # each lost race means someone else holds it now: bounded anyway
            # Readers never wait in WAL, so a held lock is reported without queueing for writes.
            current = self.lock_holder()
            now = time.time()
            if current is not None and now - current.since < STALE_LOCK_S:
                raise SchemaLocked(current)

            def claim() -> int:
                now = time.time()  # fresh: the write may have waited for another process
                cursor = self._exec(
                    conn,
                    "UPDATE schema_lock SET holder = ?, since = ? "
                    "WHERE id = 1 AND (holder IS NULL OR since IS NULL OR since < ?)",
                    (me.holder, now, now - STALE_LOCK_S),
                )
                return cursor.rowcount

            if await self._write(claim) == 1:
                return
            # Someone claimed it between our read and our UPDATE: read again and report them.
        raise DatabaseBusy("could not read a stable schema lock row")

    async def _apply_claimed(self, model: str, me: LockHolder) -> AppliedSchema:
        conn = self._schema_conn
        released = False
        try:
            async with self._write_gate:
                await self._write(lambda: self._exec(conn, "BEGIN IMMEDIATE"), gated=False)
                try:
                    version = await self._apply_steps(conn, model, me)
                    # Released in the same commit as the schema: never a window where the schema
                    # is half-visible or the lock is free before the commit.
                    cursor = self._exec(
                        conn,
                        "UPDATE schema_lock SET holder = NULL, since = NULL "
                        "WHERE id = 1 AND holder = ?",
                        (me.holder,),
                    )
                    if cursor.rowcount != 1:
                        raise RuntimeError("the schema lock was taken over while applying")
                    self._exec(conn, "COMMIT")
                    released = True
                finally:
                    if conn.in_transaction:
                        self._exec(conn, "ROLLBACK")
            return AppliedSchema(model, version)
        finally:
            if not released:
                self._release_after_failure(me)

    async def _apply_steps(self, conn: sqlite3.Connection, model: str, me: LockHolder) -> int:
        """Model row, then its fields, then an index, with pauses that widen any race window."""
        cursor = self._exec(
            conn,
            "INSERT INTO schema_models (name, holder, applied_at) VALUES (?, ?, ?)",
            (model, me.holder, time.time()),
        )
        model_id = int(cursor.lastrowid or 0)
        await self._pause()
        for name, kind in SCHEMA_FIELDS:
            self._exec(
                conn,
                "INSERT INTO schema_fields (model_id, name, type) VALUES (?, ?, ?)",
                (model_id, name, kind),
            )
            await self._pause()
        self._exec(
            conn,
            "INSERT INTO schema_indexes (model_id, name, columns) VALUES (?, ?, ?)",
            (model_id, f"{model}_createdAt_idx", "createdAt"),
        )
        await self._pause()
        return model_id

    async def _pause(self) -> None:
        await asyncio.sleep(self._random.uniform(0.005, 0.02))

    def _release_after_failure(self, me: LockHolder) -> None:
        """Free the lock after a failed or cancelled apply; synchronous so cancellation can't skip it."""
        conn = self._schema_conn
        conn.execute("PRAGMA busy_timeout = 2000")  # rare path: a short blocking wait is fine
        try:
            self._exec(
                conn,
                "UPDATE schema_lock SET holder = NULL, since = NULL WHERE id = 1 AND holder = ?",
                (me.holder,),
            )
        except sqlite3.Error:
            pass  # the lock goes stale after STALE_LOCK_S and is taken over then
        finally:
            conn.execute("PRAGMA busy_timeout = 0")


def _user_from_row(row: tuple[Any, ...]) -> User:
    user_id, email, name, encoded, created_at = row
    scheme, iterations, salt_hex, hash_hex = str(encoded).split("$")
    if scheme != "pbkdf2_sha256":
        raise RuntimeError(f"user {email}: unsupported password scheme {scheme!r}")
    return User(
        id=int(user_id),
        email=str(email),
        name=str(name),
        created_at=float(created_at),
        salt=bytes.fromhex(salt_hex),
        password_hash=bytes.fromhex(hash_hex),
        iterations=int(iterations),
    )
