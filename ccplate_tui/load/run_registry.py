"""One load run per state folder, shared by every process that opens the dashboard.

Under `ccplate-tui serve` every browser tab is its own app process, so without this a second
tab would start a second load generator behind the presenter's back. The process that starts a
run claims a lock file and appends each interval's `LiveView` to the run's live file as a JSON
line; any other process sees the claim with `current()` and replays the run with `follow()`.

Layout inside the state folder:
    load-run.lock         JSON {run_id, pid, pid_started, owner, names, started, live}
    load-run.guard        held with flock for a moment around claim/inspect (never removed)
    load-runs/<id>.jsonl  start record, one view record per interval, one end record

Core module: no Textual here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import threading
import time
import types
import typing
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ccplate_tui.load.live import LiveView
from ccplate_tui.process_identity import process_alive, process_started

log = logging.getLogger(__name__)

STATE_DIR_ENV = "CCPLATE_TUI_STATE_DIR"
"""Environment variable that overrides the state folder (tests, several checkouts)."""
LOCK_NAME = "load-run.lock"
GUARD_NAME = "load-run.guard"
RUNS_DIR = "load-runs"
KEEP_RUNS = 10
"""Live files of older runs beyond this many are deleted when a new run starts."""
FORMAT = 1
"""Version of the live file's records."""

_LOCK_KEYS = ("run_id", "pid", "pid_started", "owner", "names", "started", "live")


def default_state_dir(config_path: Path | str) -> Path:
    """`$CCPLATE_TUI_STATE_DIR`, else `.ccplate/` beside the config file.

    Beside the config so that every tab served for one project shares one registry, while two
    checkouts on one machine do not block each other.
    """
    override = os.environ.get(STATE_DIR_ENV)
    if override:
        return Path(override)
    return Path(config_path).resolve().parent / ".ccplate"


@dataclass(frozen=True)
class RunInfo:
    """A run some process has claimed, as its lock file describes it."""

    run_id: str
    pid: int
    pid_started: float
    """The owner process's start time (psutil), so a recycled pid is not mistaken for it."""
    owner: str
    """Who started it, e.g. `terminal` or `browser`: shown to the other viewers."""
    names: tuple[str, ...]
    started: float
    """Unix time of the claim."""
    live_path: Path


@dataclass(frozen=True)
class RunEnded:
    """The last item `follow()` yields: the run finished, or its owner disappeared."""

    run_id: str
    ok: bool
    """True when every threshold held; False when one failed, the run failed, or it was lost."""
    summary: str
    """The end-of-test summary text the owner published (empty when there is none)."""
    lost: bool = False
    """True when the owner process died (or the live file vanished) before an end record."""
    reason: str = ""
    stopped: str = ""
    """Who or what stopped the run early, as the owner put it (`stopped from the dashboard
    (browser, pid 4242)`); empty when it ran to its end or ended otherwise."""


class RegistryError(RuntimeError):
    """The state folder cannot be used (not writable, not a folder)."""


# --- LiveView <-> plain JSON data --------------------------------------------------------------


def live_view_to_dict(view: LiveView) -> dict[str, Any]:
    """A JSON-ready dict of `view` (nested dataclasses as dicts, tuples as lists)."""
    return _encode(view)


def live_view_from_dict(data: Any) -> LiveView:
    """The LiveView `live_view_to_dict` made; ValueError naming the key path when it does not fit."""
    return _decode(LiveView, data, "view")


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_encode(item) for item in value]
    return value


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    # get_type_hints resolves the string annotations (`from __future__ import annotations`).
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _decode(tp: Any, data: Any, path: str) -> Any:
    """Build a value of type `tp` from JSON data, strictly: every mismatch names `path`."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if data is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _decode(option, data, path)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError(errors[0] if len(errors) == 1 else f"{path}: {data!r} fits none of {tp}")
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a list, got {_kind(data)}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], item, f"{path}[{i}]") for i, item in enumerate(data))
        if len(args) != len(data):
            raise ValueError(f"{path}: expected {len(args)} items, got {len(data)}")
        return tuple(
            _decode(a, item, f"{path}[{i}]")
            for i, (a, item) in enumerate(zip(args, data, strict=True))
        )
    if dataclasses.is_dataclass(tp):
        return _decode_dataclass(tp, data, path)
    if tp is bool:
        if not isinstance(data, bool):
            raise ValueError(f"{path}: expected true or false, got {_kind(data)}")
        return data
    if tp is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise ValueError(f"{path}: expected an integer, got {_kind(data)}")
        return data
    if tp is float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise ValueError(f"{path}: expected a number, got {_kind(data)}")
        return data
    if tp is str:
        if not isinstance(data, str):
            raise ValueError(f"{path}: expected a string, got {_kind(data)}")
        return data
    raise TypeError(f"{path}: cannot decode type {tp!r}")  # a LiveView field of a new kind


def _decode_dataclass(cls: Any, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object for {cls.__name__}, got {_kind(data)}")
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{path}: unknown key {unknown[0]!r} for {cls.__name__}")
    values = {}
    for name, field in fields.items():
        if name in data:
            values[name] = _decode(hints[name], data[name], f"{path}.{name}")
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ValueError(f"{path}: missing key {name!r} for {cls.__name__}")
    return cls(**values)


def _kind(data: Any) -> str:
    text = repr(data)
    return f"{type(data).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


# --- process liveness ---------------------------------------------------------------------------


def owner_alive(info: RunInfo) -> bool:
    """True while the process that claimed `info` still runs (not a recycled pid)."""
    return process_alive(info.pid, info.pid_started)


# --- the registry -------------------------------------------------------------------------------


class RunRegistry:
    """The load run of one state folder: claim it, see it, follow it."""

    def __init__(self, state_dir: Path | str) -> None:
        self.state_dir = Path(state_dir)
        self.lock_path = self.state_dir / LOCK_NAME
        self.runs_dir = self.state_dir / RUNS_DIR
        self._guard_path = self.state_dir / GUARD_NAME

    def claim(self, names: Iterable[str], owner: str) -> RunClaim | None:
        """Start a run of `names` as `owner`, or None when a live run already holds the folder.

        A lock left by a dead process, or a damaged one, is taken over; `RunClaim.notes` says so.
        """
        names = tuple(names)
        notes: list[str] = []
        with self._guarded():
            state = self._read_lock()
            if isinstance(state, RunInfo):
                if owner_alive(state):
                    return None
                notes.append(
                    f"took over the run lock {self.lock_path}: the run {state.run_id} "
                    f"({', '.join(state.names) or 'all scenarios'}, started by {state.owner}) "
                    f"belonged to process {state.pid}, which is gone"
                )
                self.lock_path.unlink(missing_ok=True)
            elif isinstance(state, str):
                notes.append(state + "; treated it as stale")
                log.warning("%s; treated it as stale", state)
                self._set_aside_damaged()
            info = self._new_info(names, owner)
            try:
                self._write_lock(info)
            except FileExistsError:
                return None  # a writer that bypassed the guard won: O_EXCL still keeps one run
        claim = RunClaim(self, info, tuple(notes))
        self._prune(keep=info.live_path)
        return claim

    def current(self) -> RunInfo | None:
        """The run a live process holds, or None (no run, or only a stale or damaged lock)."""
        with self._guarded():
            state = self._read_lock()
        if isinstance(state, str):
            log.warning("%s; no run is considered active", state)
            return None
        if state is None or not owner_alive(state):
            return None
        return state

    def follow(
        self, info: RunInfo, *, poll: float = 0.1, stop: threading.Event | None = None
    ) -> Iterator[LiveView | RunEnded]:
        """Every view of the run from its start, then a RunEnded; blocks between views.

        Ends after the end record, or with a RunEnded(lost=True) when the owner dies first.
        Returns without a RunEnded when `stop` is set. Use from a thread, not an event loop.
        """
        return follow_run(info, poll=poll, stop=stop)

    # -- internals

    @contextlib.contextmanager
    def _guarded(self) -> Iterator[None]:
        """Hold the folder's guard: a claimer's create+write and a reader's read never interleave."""
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._guard_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise RegistryError(
                f"cannot use the state folder {self.state_dir}: {exc.strerror or exc}"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _read_lock(self) -> RunInfo | str | None:
        """The lock's RunInfo, None without a lock, or a message saying how it is damaged."""
        try:
            raw = self.lock_path.read_bytes()
        except FileNotFoundError:
            return None
        expected = "expected a JSON object with " + ", ".join(_LOCK_KEYS)
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            got = "an empty file" if not raw.strip() else f"invalid JSON ({exc})"
            return f"the run lock {self.lock_path} is damaged: {expected}, got {got}"
        try:
            return _info_from_lock(data)
        except (ValueError, TypeError, KeyError) as exc:
            return f"the run lock {self.lock_path} is damaged: {expected}; {exc}"

    def _set_aside_damaged(self) -> None:
        # Kept (one copy) so that whoever looks into it later still has the evidence.
        with contextlib.suppress(FileNotFoundError):
            os.replace(self.lock_path, self.lock_path.with_name(LOCK_NAME + ".damaged"))

    def _new_info(self, names: tuple[str, ...], owner: str) -> RunInfo:
        run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:8]
        started = process_started(os.getpid())
        assert started is not None  # this very process
        return RunInfo(
            run_id=run_id,
            pid=os.getpid(),
            pid_started=started,
            owner=owner,
            names=names,
            started=time.time(),
            live_path=self.runs_dir / f"{run_id}.jsonl",
        )

    def _write_lock(self, info: RunInfo) -> None:
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        with open(info.live_path, "x", encoding="utf-8") as live:
            start = {"type": "start", "format": FORMAT, **_lock_data(info)}
            live.write(json.dumps(start) + "\n")
        # O_EXCL: even a process that ignores the guard cannot overwrite a run's lock.
        try:
            fd = os.open(self.lock_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            info.live_path.unlink(missing_ok=True)
            raise
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(_lock_data(info)))
            handle.flush()
            os.fsync(handle.fileno())

    def _prune(self, keep: Path) -> None:
        """Delete live files beyond the newest KEEP_RUNS (the new run's own file always stays)."""
        try:
            files = sorted(self.runs_dir.glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
        except FileNotFoundError:
            return
        old = [p for p in files if p != keep]
        for path in old[: max(0, len(old) - (KEEP_RUNS - 1))]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def _release(self, info: RunInfo) -> None:
        with self._guarded():
            state = self._read_lock()
            # Only our own lock: after a takeover the file may belong to someone else now.
            if isinstance(state, RunInfo) and state.run_id == info.run_id:
                self.lock_path.unlink(missing_ok=True)


def _lock_data(info: RunInfo) -> dict[str, Any]:
    return {
        "run_id": info.run_id,
        "pid": info.pid,
        "pid_started": info.pid_started,
        "owner": info.owner,
        "names": list(info.names),
        "started": info.started,
        "live": str(info.live_path),
    }


def _info_from_lock(data: Any) -> RunInfo:
    if not isinstance(data, dict):
        raise ValueError(f"got {_kind(data)}")
    missing = [key for key in _LOCK_KEYS if key not in data]
    if missing:
        raise ValueError(f"missing {', '.join(repr(k) for k in missing)}")
    names = data["names"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"'names': expected a list of strings, got {_kind(names)}")
    pid = data["pid"]
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        raise ValueError(f"'pid': expected a positive integer, got {_kind(pid)}")
    for key in ("pid_started", "started"):
        if isinstance(data[key], bool) or not isinstance(data[key], int | float):
            raise ValueError(f"{key!r}: expected a number, got {_kind(data[key])}")
    for key in ("run_id", "owner", "live"):
        if not isinstance(data[key], str) or not data[key]:
            raise ValueError(f"{key!r}: expected a non-empty string, got {_kind(data[key])}")
    return RunInfo(
        run_id=data["run_id"],
        pid=pid,
        pid_started=float(data["pid_started"]),
        owner=data["owner"],
        names=tuple(names),
        started=float(data["started"]),
        live_path=Path(data["live"]),
    )


class RunClaim:
    """The owner's side of a run: publish views, finish, release (also on `with` exit)."""

    def __init__(self, registry: RunRegistry, info: RunInfo, notes: tuple[str, ...]) -> None:
        self.registry = registry
        self.info = info
        self.notes = notes
        """What the claim had to clean up (a stale or damaged lock), to show the user."""
        self._lock = threading.Lock()  # publish runs in the engine's thread, finish in another
        self._file: IO[str] | None = open(info.live_path, "a", encoding="utf-8")  # noqa: SIM115
        self._ended = False

    def publish(self, view: LiveView) -> None:
        """Append one interval's view to the live file, flushed so followers see it at once."""
        self._append({"type": "view", "view": live_view_to_dict(view)})

    def finish(self, summary: str, ok: bool, stopped: str = "") -> None:
        """Append the end record: followers yield a RunEnded with this summary (and `stopped`,
        who or what stopped the run early, when someone did)."""
        record: dict[str, Any] = {"type": "end", "ok": ok, "summary": summary}
        if stopped:
            record["stopped"] = stopped
        self._append(record, end=True)

    def release(self) -> None:
        """Remove the lock; a run released without `finish` ends for its followers as failed."""
        with self._lock:
            if self._file is None:
                return
            if not self._ended:
                self._write(
                    {
                        "type": "end",
                        "ok": False,
                        "summary": "",
                        "reason": "the run ended without a result",
                    }
                )
                self._ended = True
            self._file.close()
            self._file = None
        self.registry._release(self.info)

    def __enter__(self) -> RunClaim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _append(self, record: dict[str, Any], end: bool = False) -> None:
        with self._lock:
            if self._file is None:
                raise RuntimeError(f"run {self.info.run_id} was already released")
            if self._ended:
                raise RuntimeError(f"run {self.info.run_id} has already finished")
            self._write(record)
            self._ended = end

    def _write(self, record: dict[str, Any]) -> None:
        assert self._file is not None
        # One write of a whole line: a follower never sees half a record as complete.
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()


# --- following a run ----------------------------------------------------------------------------


def follow_run(
    info: RunInfo, *, poll: float = 0.1, stop: threading.Event | None = None
) -> Iterator[LiveView | RunEnded]:
    """Tail `info`'s live file from its start; see `RunRegistry.follow`."""
    wait = stop.wait if stop is not None else time.sleep
    try:
        handle = open(info.live_path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        yield RunEnded(info.run_id, False, "", lost=True, reason=f"{info.live_path} is missing")
        return
    with handle:
        pending = b""
        owner_gone = False
        while True:
            if stop is not None and stop.is_set():
                return
            chunk = handle.read()
            if chunk:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    item = _parse_record(line, info)
                    if item is not None:
                        yield item
                        if isinstance(item, RunEnded):
                            return
                continue
            if owner_gone:
                # Read once more after noticing the death: the last lines may have landed late.
                yield RunEnded(
                    info.run_id,
                    False,
                    "",
                    lost=True,
                    reason=f"the process that ran it (pid {info.pid}, {info.owner}) is gone",
                )
                return
            if not owner_alive(info):
                owner_gone = True
                continue
            wait(poll)


def _parse_record(line: bytes, info: RunInfo) -> LiveView | RunEnded | None:
    if not line.strip():
        return None
    try:
        record = json.loads(line)
        kind = record.get("type") if isinstance(record, dict) else None
        if kind == "view":
            return live_view_from_dict(record["view"])
        if kind == "end":
            ok = record.get("ok")
            summary = record.get("summary", "")
            stopped = record.get("stopped", "")
            return RunEnded(
                info.run_id,
                ok is True,
                summary if isinstance(summary, str) else "",
                reason=str(record.get("reason") or ""),
                stopped=stopped if isinstance(stopped, str) else "",
            )
        if kind == "start":
            return None
        raise ValueError(f"unknown record type {kind!r}")
    except (ValueError, KeyError) as exc:
        # A torn line can only come from a crashed writer; skip it rather than end the replay.
        log.warning("%s: skipped a damaged record: %s", info.live_path, exc)
        return None
