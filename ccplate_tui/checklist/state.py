"""The checklist's state: an append-only event log in one TOML file, crash-safe and shared.

Every transition (started, passed, ticked, approved, overridden…) is an event. The whole file is
rewritten on every append under an exclusive lock, so the CLI and the Checklist tab never lose each
other's events, and written atomically, so a kill -9 leaves either the old file or the new one.

Core module: no Textual here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import time
import tomllib
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import tomli_w

from ccplate_tui.atomic_file import backup_path, write_atomic

STATE_NAME = "checklist.toml"
LOCK_NAME = "checklist.lock"
FORMAT = 1
"""Version of the state file's layout."""
LOCK_WAIT = 30.0
"""Seconds to wait for another process's append; it holds the lock for one file write only."""

# fmt: off
EventAction = Literal["started", "passed", "failed", "cancelled", "interrupted", "ticked", "noted",
                      "approved", "overridden", "reset", "watch", "revoked"]
# fmt: on
"""Every action a stored event may have; the parser accepts exactly these. "revoked" (undoing a
step's latest tick, pass or approval, with a reason) came later: files without it load as before,
but a file holding one is refused as damaged by a version that does not know it."""


@dataclass(frozen=True)
class EventDraft:
    """An event before the store gives it its sequence number and time."""

    who: str
    action: EventAction
    phase: str | None = None
    step: str | None = None
    """Absent for phase-level actions (override, reset)."""
    fingerprint: str | None = None
    """The step's fingerprint when it acted, so a later change of its definition is detected."""
    checklist: str | None = None
    """`Checklist.digest` at the time (informational)."""
    note: str | None = None
    reason: str | None = None
    pid: int | None = None
    """For "started": the process running the step, with its start time (pid reuse)."""
    pid_started: float | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    """Free-form, already masked; TOML-serialisable. Frozen by convention."""


@dataclass(frozen=True)
class Event:
    """One stored transition: a draft plus its place in the log (`seq`) and UTC time (`at`)."""

    seq: int
    at: datetime
    who: str
    action: EventAction
    phase: str | None = None
    step: str | None = None
    fingerprint: str | None = None
    checklist: str | None = None
    note: str | None = None
    reason: str | None = None
    pid: int | None = None
    pid_started: float | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)


class StateError(Exception):
    """The state cannot be read or written; the message names the file and the problem."""


@dataclass(frozen=True)
class LoadedState:
    """The events, and what was wrong with the file (and what was done about it), if anything."""

    events: tuple[Event, ...]
    problem: str | None


ACTIONS: frozenset[str] = frozenset(typing.get_args(EventAction))
_OPTIONAL_TEXT = ("phase", "step", "fingerprint", "checklist", "note", "reason")
_EVENT_KEYS = frozenset(f.name for f in dataclasses.fields(Event))


class _Damaged(Exception):
    """The file's content is not a valid state (message: what is wrong, without the file name)."""


class ChecklistStore:
    """The event log of one state folder: `<state>/checklist.toml`, its `.bak` and its lock."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / STATE_NAME
        self.backup = backup_path(self.path)
        self.lock_path = self.state_dir / LOCK_NAME
        self.last_problem: str | None = None
        """The `problem` of the latest load or append (an append may recover a damaged file)."""

    def load(self) -> LoadedState:
        """The stored events; a damaged file is set aside and the last good state recovered.

        Never raises for damage (`problem` says what happened); raises StateError only when a
        file cannot be read at all.
        """
        if not self.path.exists() and not self.backup.exists():
            return LoadedState((), None)
        with contextlib.ExitStack() as stack:
            # A read-only state folder can still be read; it just cannot be repaired.
            with contextlib.suppress(StateError):
                stack.enter_context(self._locked())
            state = self._load_unlocked()[0]
        self.last_problem = state.problem
        return state

    def events(self) -> tuple[Event, ...]:
        """`load().events`."""
        return self.load().events

    def append(self, *drafts: EventDraft) -> tuple[Event, ...]:
        """Store `drafts` as the next events (seq, UTC time) and return them as stored.

        Re-reads the file under the lock first, so concurrent writers never lose an event.
        """
        if not drafts:
            return ()
        return self.update(lambda _events: drafts)

    def update(
        self, decide: Callable[[tuple[Event, ...]], Sequence[EventDraft]]
    ) -> tuple[Event, ...]:
        """Append what `decide` returns for the current events, all under the lock.

        For checks that must not race another process (e.g. "already running"): `decide` sees
        the latest events and may raise to refuse; then nothing is written. It must not call
        back into the store (the lock is held).
        """
        with self._locked():
            state, current = self._load_unlocked()
            self.last_problem = state.problem
            fields = [_draft_fields(draft) for draft in decide(state.events)]
            if not fields:
                return ()
            now = datetime.now(UTC)
            start = len(state.events) + 1
            new = tuple(Event(seq=start + i, at=now, **values) for i, values in enumerate(fields))
            try:
                data = render(state.events + new)
                parse(data)  # never write a file that would read back as damaged
            except (TypeError, ValueError, _Damaged) as exc:
                raise ValueError(f"cannot store these events: {exc}") from None
            try:
                if current is not None:
                    # Our own atomic copy: a half-copied .bak would be no backup at all.
                    write_atomic(self.backup, current)
                write_atomic(self.path, data)
            except OSError as exc:
                raise StateError(
                    f"cannot write the checklist state {self.path}: {_why(exc)}"
                ) from exc
        return new

    # -- internals ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the folder's exclusive lock (bounded wait); also clears temp files of the dead."""
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            handle = open(self.lock_path, "a+b")  # noqa: SIM115 - held across the yield
        except OSError as exc:
            raise StateError(
                f"cannot use the checklist state folder {self.state_dir}: {_why(exc)}"
            ) from exc
        try:
            deadline = time.monotonic() + LOCK_WAIT
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StateError(
                            f"{self.lock_path} has been held by another process for over "
                            f"{LOCK_WAIT:.0f} s"
                        ) from None
                    time.sleep(0.005)
            # Under the lock no one else is writing: any temp file left is from a killed writer.
            for stale in self.state_dir.glob(f".{STATE_NAME}*.tmp"):
                with contextlib.suppress(OSError):
                    stale.unlink()
            yield
        finally:
            handle.close()

    def _load_unlocked(self) -> tuple[LoadedState, bytes | None]:
        """The state and the main file's bytes when they are valid (the next backup)."""
        data = self._read(self.path)
        if data is not None:
            try:
                return LoadedState(parse(data), None), data
            except _Damaged as exc:
                what = f"{self.path} is damaged ({exc})"
                kept = self._set_aside(self.path)
        else:
            what, kept = f"{self.path} is missing", None
        backup = self._read(self.backup)
        if backup is None:
            if data is None:
                return LoadedState((), None), None
            return LoadedState((), f"{what}; {kept}; no backup, starting empty"), None
        try:
            events = parse(backup)
        except _Damaged as exc:
            kept_bak = self._set_aside(self.backup)
            problem = f"{what}; {kept}" if kept else what
            problem += f"; {self.backup.name} is damaged too ({exc}); {kept_bak}; starting empty"
            return LoadedState((), problem), None
        with contextlib.suppress(OSError):
            # Put the good state back, so the next load is clean and the next append backs it up.
            write_atomic(self.path, backup)
        problem = f"{what}; {kept}" if kept else what
        problem += f"; resumed from {self.backup.name} ({_count(len(events))})"
        return LoadedState(events, problem), backup

    def _read(self, path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read the checklist state {path}: {_why(exc)}") from exc

    def _set_aside(self, path: Path) -> str:
        """Rename a damaged file to `<name>.damaged-<UTC stamp>`; says what was done."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = path.with_name(f"{path.name}.damaged-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
        try:
            os.replace(path, target)
        except OSError as exc:
            return f"could not set it aside ({_why(exc)})"
        return f"kept it as {target.name}"


def render(events: tuple[Event, ...] | list[Event]) -> bytes:
    """The state file's bytes for `events` (format, digest, then one table per event)."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "digest": digest(events),
        "events": [_to_toml(event) for event in events],
    }
    return tomli_w.dumps(doc).encode("utf-8")


def parse(data: bytes) -> tuple[Event, ...]:
    """The events of a state file's bytes; raises `_Damaged` naming what is wrong."""
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _Damaged(f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except tomllib.TOMLDecodeError as exc:
        raise _Damaged(f"not valid TOML: {exc}") from None
    unknown = sorted(set(doc) - {"format", "digest", "events"})
    if unknown:
        raise _Damaged(f"unknown top-level key `{unknown[0]}`")
    if doc.get("format") != FORMAT or isinstance(doc.get("format"), bool):
        raise _Damaged(f"`format` is {doc.get('format')!r}, expected {FORMAT}")
    stored = doc.get("digest")
    if not isinstance(stored, str):
        raise _Damaged("`digest` is missing or not a string")
    raw = doc.get("events", [])
    if not isinstance(raw, list):
        raise _Damaged("`events` is not an array of tables")
    events = tuple(_from_toml(i, item) for i, item in enumerate(raw))
    if digest(events) != stored:
        raise _Damaged("its digest does not match its events: edited by hand?")
    return events


def read_state_file(path: Path) -> tuple[Event, ...]:
    """The events of one state file (e.g. a `.bak`); StateError when it is unreadable or damaged."""
    try:
        return parse(path.read_bytes())
    except OSError as exc:
        raise StateError(f"cannot read the checklist state {path}: {_why(exc)}") from exc
    except _Damaged as exc:
        raise StateError(f"{path} is damaged ({exc})") from None


def digest(events: tuple[Event, ...] | list[Event]) -> str:
    """sha256 over the canonical JSON of `events`: any hand edit changes it.

    `default=str` covers the TOML date/time values; `_clean` lets nothing else in.
    """
    plain = [_to_toml(event) for event in events]
    text = json.dumps(plain, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _to_toml(event: Event) -> dict[str, Any]:
    """The event as its TOML table: None fields left out, evidence last (a sub-table)."""
    table: dict[str, Any] = {}
    for f in dataclasses.fields(Event):
        value = getattr(event, f.name)
        if f.name == "at":
            value = value.astimezone(UTC)
        if value is not None and not (f.name == "evidence" and not value):
            table[f.name] = dict(value) if f.name == "evidence" else value
    return table


def _from_toml(index: int, item: object) -> Event:
    where = f"events[{index}]"
    if not isinstance(item, dict):
        raise _Damaged(f"{where} is not a table")
    seq = item.get("seq")
    where = f"{where} (seq {seq!r})"
    unknown = sorted(set(item) - _EVENT_KEYS)
    if unknown:
        raise _Damaged(f"{where} has an unknown key `{unknown[0]}`")
    if not _is_int(seq) or seq != index + 1:
        raise _Damaged(f"{where}: expected seq {index + 1} (events missing or out of order)")
    at = item.get("at")
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise _Damaged(f"{where}: `at` must be a date-time with a UTC offset, got {at!r}")
    who = item.get("who")
    if not isinstance(who, str) or not who:
        raise _Damaged(f"{where}: `who` must be a non-empty string")
    action = item.get("action")
    if action not in ACTIONS:
        raise _Damaged(f"{where}: unknown action {action!r}")
    for key in _OPTIONAL_TEXT:
        if key in item and not isinstance(item[key], str):
            raise _Damaged(f"{where}: `{key}` must be a string")
    if "pid" in item and not _is_int(item["pid"]):
        raise _Damaged(f"{where}: `pid` must be an integer")
    pid_started = item.get("pid_started")
    if pid_started is not None and not _is_number(pid_started):
        raise _Damaged(f"{where}: `pid_started` must be a number")
    evidence = item.get("evidence", {})
    if not isinstance(evidence, dict):
        raise _Damaged(f"{where}: `evidence` must be a table")
    return Event(
        seq=seq,
        at=at.astimezone(UTC),
        who=who,
        action=action,
        **{key: item.get(key) for key in _OPTIONAL_TEXT},
        pid=item.get("pid"),
        pid_started=None if pid_started is None else float(pid_started),
        evidence=evidence,
    )


def _draft_fields(draft: EventDraft) -> dict[str, Any]:
    """The draft's fields, with text and evidence made TOML-safe (ValueError: caller's bug)."""
    if not isinstance(draft.who, str) or not draft.who.strip():
        raise ValueError("an event needs a non-empty `who`")
    if draft.action not in ACTIONS:
        raise ValueError(f"unknown event action {draft.action!r}")
    values = {f.name: getattr(draft, f.name) for f in dataclasses.fields(EventDraft)}
    for key in ("who", *_OPTIONAL_TEXT):
        if isinstance(values[key], str):
            values[key] = _text(values[key])
    if _is_number(draft.pid_started):
        values["pid_started"] = float(draft.pid_started)  # type: ignore[arg-type]
    values["evidence"] = _clean(draft.evidence, "evidence")
    return values


def _clean(value: Any, where: str) -> Any:
    """`value` as TOML can hold it: tables drop None entries, tuples become arrays."""
    if isinstance(value, Mapping):
        table: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: key {key!r} is not a string")
            if item is not None:
                table[_text(key)] = _clean(item, f"{where}.{key}")
        return table
    if isinstance(value, list | tuple):
        if any(item is None for item in value):
            raise ValueError(f"{where}: an array cannot hold None")
        return [_clean(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bool | int | float | dt.datetime | dt.date | dt.time):
        return value
    raise ValueError(f"{where}: cannot store a {type(value).__name__}")


def _text(value: str) -> str:
    """The string, with lone surrogates (undecodable output bytes) replaced: UTF-8 must encode."""
    return value.encode("utf-8", "replace").decode("utf-8")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _count(n: int) -> str:
    return f"{n} event" if n == 1 else f"{n} events"


def _why(exc: OSError) -> str:
    return exc.strerror or errno.errorcode.get(exc.errno or 0, "") or str(exc)
