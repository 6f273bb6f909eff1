"""The checklist's state: an append-only event log kept as two complete copies, shared and safe.

Every transition (started, passed, ticked, approved, revoked…) is an event. The log is kept as
two complete copies, `checklist.toml` and `checklist.toml.bak`, each carrying the sha256 digest
of its events (its checksum). An append, under the folder's exclusive lock (`checklist.lock`,
a bounded `flock`), re-reads the log, then writes the whole new log to `checklist.toml` and
then to `checklist.toml.bak`, each atomically (temp file, fsync, rename, fsync of the folder).
Only when both are durable is the append acknowledged (`append`/`update` return).

Why two copies rather than a journal beside the TOML: the state file already is a log with a
checksum, and the `.bak` already is a second file written atomically; making the `.bak` a
complete copy of the *current* log instead of the previous one is the smallest change that gives
"nothing acknowledged is lost when one file is damaged". A journal would be a third format to
parse, replay, compact and migrate, and it must hold every event anyway to survive damage to the
TOML — a second complete copy in another syntax. Both copies keep the old layout (`format = 1`)
with one comment line first (`PAIR_MARK`), so an older ccplate-tui still reads them, and files
written before this change load as they are: their `.bak` holds the previous state (a prefix of
the main file) or is absent, and the first load under the lock rewrites both as a marked pair.

On load, each copy is checked on its own (TOML, layout, seq order, digest) and the valid copy
with the most events wins: events are only ever appended, so the newer copy holds the older one
as a prefix, and a copy one event behind is what a writer killed between the two renames leaves
(that event was never acknowledged; it is kept). Damage to either file — random bytes, truncation,
zero bytes, deletion, a torn last line — therefore loses no acknowledged event: the other copy
holds it. A damaged copy is renamed `<name>.damaged-<UTC stamp>` (kept as found) and rewritten
from the good one. Every recovery is reported (`LoadedState.problem`, shown as `state_problem`)
and appended to `checklist.recovery.log`, so later loads keep reporting it until that file is
deleted. With both copies damaged nothing is silently started afresh: both are kept aside and the
problem names them.

Core module: no Textual here.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ccplate_tui.atomic_file import backup_path, write_atomic
from ccplate_tui.checklist.state_format import (
    ACTIONS,
    FORMAT,
    Damaged,
    Event,
    EventAction,
    EventDraft,
    digest,
    draft_fields,
    parse,
    render,
)

__all__ = [
    "ACTIONS",
    "FORMAT",
    "LOCK_NAME",
    "PAIR_MARK",
    "RECOVERY_NAME",
    "STATE_NAME",
    "ChecklistStore",
    "Event",
    "EventAction",
    "EventDraft",
    "LoadedState",
    "StateError",
    "digest",
    "parse",
    "read_state_file",
    "render",
]

STATE_NAME = "checklist.toml"
LOCK_NAME = "checklist.lock"
RECOVERY_NAME = "checklist.recovery.log"
"""One line per recovery (UTC stamp, what was found and done); reported until deleted."""
PAIR_MARK = (
    b"# ccplate-tui checklist log, kept as two complete copies: checklist.toml and "
    b"checklist.toml.bak\n"
)
"""First line of each copy (a comment: older readers ignore it). A log without it is from before
there were two copies, so its missing `.bak` is no damage."""
LOCK_WAIT = 30.0
"""Seconds to wait for another process's append; it holds the lock for two file writes only."""


class StateError(Exception):
    """The state cannot be read or written; the message names the file and the problem."""


@dataclass(frozen=True)
class LoadedState:
    """The events, and what was wrong with the files (and what was done about it), if anything."""

    events: tuple[Event, ...]
    problem: str | None


@dataclass(frozen=True)
class _Copy:
    """One copy of the log as found: missing (`data` None), damaged (`why`) or valid."""

    path: Path
    data: bytes | None
    events: tuple[Event, ...] | None
    why: str | None = None


class ChecklistStore:
    """The event log of one state folder: `<state>/checklist.toml`, its `.bak` copy, its lock."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / STATE_NAME
        self.backup = backup_path(self.path)
        """The second complete copy (named `.bak` since before it held the whole log)."""
        self.lock_path = self.state_dir / LOCK_NAME
        self.recovery_log = self.state_dir / RECOVERY_NAME
        self.last_problem: str | None = None
        """The `problem` of the latest load or append (an append may recover a damaged copy)."""

    def load(self) -> LoadedState:
        """The stored events; a damaged copy is set aside and rewritten from the other one.

        Never raises for damage (`problem` says what happened); raises StateError only when a
        file cannot be read at all.
        """
        if not self.path.exists() and not self.backup.exists():
            state = LoadedState((), self._standing_notice())
        else:
            with contextlib.ExitStack() as stack:
                # A read-only state folder can still be read; it just cannot be repaired.
                locked = False
                with contextlib.suppress(StateError):
                    stack.enter_context(self._locked())
                    locked = True
                state = self._load_unlocked(locked)[0]
        self.last_problem = state.problem
        return state

    def events(self) -> tuple[Event, ...]:
        """`load().events`."""
        return self.load().events

    def append(self, *drafts: EventDraft) -> tuple[Event, ...]:
        """Store `drafts` as the next events (seq, UTC time) and return them as stored.

        Re-reads the log under the lock first, so concurrent writers never lose an event.
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
        back into the store (the lock is held). Returns once both copies are durable.
        """
        with self._locked():
            state, current = self._load_unlocked(locked=True)
            self.last_problem = state.problem
            fields = [draft_fields(draft) for draft in decide(state.events)]
            if not fields:
                return ()
            now = datetime.now(UTC)
            start = len(state.events) + 1
            new = tuple(Event(seq=start + i, at=now, **values) for i, values in enumerate(fields))
            try:
                data = PAIR_MARK + render(state.events + new)
                parse(data)  # never write a file that would read back as damaged
            except (TypeError, ValueError, Damaged) as exc:
                raise ValueError(f"cannot store these events: {exc}") from None
            self._write_both(data, current)
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

    def _write_both(self, data: bytes, previous: bytes | None) -> None:
        """Write the new log to both copies in turn; on failure, undo the first (best effort)."""
        try:
            write_atomic(self.path, data)
        except OSError as exc:
            raise StateError(f"cannot write the checklist state {self.path}: {_why(exc)}") from exc
        try:
            write_atomic(self.backup, data)
        except OSError as exc:
            # Not acknowledged: put the first copy back, so the event does not appear later.
            with contextlib.suppress(OSError):
                if previous is None:
                    self.path.unlink()
                else:
                    write_atomic(self.path, previous)
            raise StateError(
                f"cannot write the checklist state {self.backup}: {_why(exc)}; nothing was recorded"
            ) from exc

    def _examine(self, path: Path, twin: _Copy | None = None) -> _Copy:
        """Read and check one copy (parsed once when it is byte for byte its `twin`)."""
        data = self._read(path)
        if data is None:
            return _Copy(path, None, None)
        if twin is not None and twin.data == data:
            return _Copy(path, data, twin.events, twin.why)
        try:
            return _Copy(path, data, parse(data))
        except Damaged as exc:
            return _Copy(path, data, None, str(exc))

    def _load_unlocked(self, locked: bool) -> tuple[LoadedState, bytes | None]:
        """The state, and the bytes both copies hold once repaired (None: no log yet).

        Only with the lock held are copies set aside, rewritten and the recovery logged.
        """
        main = self._examine(self.path)
        other = self._examine(self.backup, twin=main)
        if main.data is None and other.data is None:
            return LoadedState((), self._standing_notice()), None
        valid = [copy for copy in (main, other) if copy.events is not None]
        if not valid:
            return self._nothing_left(main, other, locked), None
        best = max(valid, key=lambda copy: len(copy.events or ()))  # the main file on a tie
        assert best.events is not None and best.data is not None
        found: list[str] = []
        reported: set[Path] = set()
        for copy in (main, other):
            if copy is best or copy.events == best.events:
                continue
            before = len(found)
            name = copy.path if copy is main else copy.path.name
            if copy.data is None:
                # A log from before there were two copies may well have no `.bak`.
                if copy is main or best.data.startswith(PAIR_MARK):
                    found.append(f"{name} is missing")
            elif copy.events is None:
                found.append(f"{name} is damaged ({copy.why}); {self._set_aside(copy, locked)}")
            elif best.events[: len(copy.events)] != copy.events:
                found.append(
                    f"{name} disagrees with {best.path.name} from event "
                    f"{_first_difference(copy.events, best.events)} on; "
                    f"{self._set_aside(copy, locked)}"
                )
            elif copy is main:
                found.append(f"{name} held only {_count(len(copy.events))} (an older copy?)")
            # else: the second copy is one write behind (a writer killed between its two
            # renames, or a log from before): it is brought up to date below, quietly.
            if len(found) > before:
                reported.add(copy.path)
        # Both copies hold the marked log from here on (a log from before is migrated).
        marked = best.data if best.data.startswith(PAIR_MARK) else PAIR_MARK + best.data
        mended: list[str] = []
        for copy in (main, other) if locked else ():
            if copy.data == marked:
                continue
            try:
                write_atomic(copy.path, marked)
            except OSError as exc:
                found.append(f"could not rewrite {copy.path.name} ({_why(exc)})")
            else:
                if copy.path in reported:
                    mended.append(copy.path.name)
        if not found:
            return LoadedState(best.events, self._standing_notice()), marked
        problem = "; ".join(found) + (
            f"; resumed from {best.path.name}, the intact copy ({_count(len(best.events))})"
        )
        if mended:
            problem += f" and rewrote {' and '.join(mended)} from it"
        return LoadedState(best.events, self._record(problem, locked)), marked

    def _nothing_left(self, main: _Copy, other: _Copy, locked: bool) -> LoadedState:
        """Neither copy is valid: keep the damaged ones aside and say so; never a quiet start."""
        found: list[str] = []
        for copy in (main, other):
            name = copy.path if copy is main else copy.path.name
            if copy.data is None:
                found.append(f"{name} is missing")
            else:
                found.append(f"{name} is damaged ({copy.why}); {self._set_aside(copy, locked)}")
        problem = (
            "; ".join(found) + "; no intact copy of the checklist log is left, so it starts "
            "empty: no recorded event could be recovered (the damaged files are kept for a "
            "post-mortem)"
        )
        return LoadedState((), self._record(problem, locked))

    def _record(self, problem: str, locked: bool) -> str:
        """Append the recovery to the recovery log (under the lock), so later loads report it."""
        if not locked:
            return problem
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        line = f"{stamp} {' '.join(problem.split())}\n".encode()
        try:
            fd = os.open(self.recovery_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            return f"{problem} (could not note it in {self.recovery_log.name}: {_why(exc)})"
        return f"{problem} (noted in {self.recovery_log.name}; delete it once checked)"

    def _standing_notice(self) -> str | None:
        """An earlier recovery, from the recovery log: reported until the log is deleted."""
        try:
            text = self.recovery_log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            return None
        stamp, _, what = lines[-1].partition(" ")
        earlier = f" ({len(lines)} recoveries in all)" if len(lines) > 1 else ""
        return (
            f"the checklist log was recovered at {stamp}{earlier}: {what}. Delete "
            f"{self.recovery_log} once checked to clear this notice"
        )

    def _read(self, path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read the checklist state {path}: {_why(exc)}") from exc

    def _set_aside(self, copy: _Copy, locked: bool) -> str:
        """Rename a bad copy to `<name>.damaged-<UTC stamp>`; says what was done."""
        if not locked:
            return "left as it is (the state folder could not be locked)"
        path = copy.path
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


def read_state_file(path: Path) -> tuple[Event, ...]:
    """The events of one copy (e.g. a `.bak`); StateError when it is unreadable or damaged."""
    try:
        return parse(path.read_bytes())
    except OSError as exc:
        raise StateError(f"cannot read the checklist state {path}: {_why(exc)}") from exc
    except Damaged as exc:
        raise StateError(f"{path} is damaged ({exc})") from None


def _first_difference(a: Sequence[Event], b: Sequence[Event]) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i + 1
    return min(len(a), len(b)) + 1


def _count(n: int) -> str:
    return f"{n} event" if n == 1 else f"{n} events"


def _why(exc: OSError) -> str:
    return exc.strerror or errno.errorcode.get(exc.errno or 0, "") or str(exc)
