"""What the lifecycle tests need: an owner to kill, a watch on everything it started, the checks.

Issue 11: every process the tool starts ends with its owner, however the owner ends. A test
starts an owner (`ccplate-tui run`, `checklist run`, the dashboard, `serve`), waits until its run
or step has demonstrably started, waits a random extra 0-1 s, kills it with one signal and then
checks, within the issue's bound measured from the kill, that:

- no process the owner started is alive. `ProcessWatch` collects the owner's descendants
  continuously while they live (an orphan is re-parented, so a look after the kill would miss
  it), and also finds any process that carries the case's environment marker, wherever it was
  re-parented to;
- no port those processes listened on still accepts a connection;
- the run or step is recorded as ended (the callers check the history or the checklist state).

Every wait is a poll on a condition with a generous bound: only the cleanup after the kill is
held to the issue's limits.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import re
import select
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import termios
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGKILL)
CLEANUP_LIMIT = 10.0
"""Seconds from the kill by which nothing the owner started may be alive or listening."""
START_TIMEOUT = 90.0
"""Generous bound for an owner to start its run or step on a loaded machine (not a timing test)."""
MARKER_ENV = "CCPLATE_LIFECYCLE_CASE"
"""Environment variable given to each owner: every process it starts inherits it."""
SEED_ENV = "CCPLATE_LIFECYCLE_SEED"
"""Set it to replay the random kill moments of a failed run."""
_POLL = 0.1
_SWEEP_EVERY = 0.5
_LISTEN_EVERY = 0.2


def case_seed() -> int:
    """SEED_ENV when set (to replay a failed case), else a fresh one."""
    given = os.environ.get(SEED_ENV)
    return int(given) if given else random.SystemRandom().randrange(2**32)


@dataclass
class Case:
    """One owner x signal case: its name, seeded randomness and what happened (for messages)."""

    name: str
    sig: signal.Signals
    seed: int
    rng: random.Random = field(init=False)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def __str__(self) -> str:
        notes = "; ".join(self.notes)
        return (
            f"[case {self.name} {self.sig.name}, seed {self.seed} (replay with "
            f"{SEED_ENV}={self.seed}); {notes}]"
        )


def make_case(name: str, sig: signal.Signals) -> Case:
    case = Case(name, sig, case_seed())
    print(f"lifecycle case {name} {sig.name}: seed {case.seed}", flush=True)
    return case


def owner_env(marker: str, **extra: str) -> dict[str, str]:
    """The environment for an owner: ours, the case marker, no inherited state folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("CCPLATE_TUI_STATE_DIR",)}
    env[MARKER_ENV] = marker
    env.pop("CCPLATE_OWNER_PID", None)
    env.update(extra)
    return env


def new_marker() -> str:
    return uuid.uuid4().hex


# --- watching what an owner starts --------------------------------------------------------------


@dataclass
class Seen:
    """A process seen under the owner (or carrying its marker)."""

    process: psutil.Process
    parent: int
    cmdline: str
    first_seen: float
    via: str
    gone_at: float | None = None
    """When the watch first found it gone (monotonic), None while alive or not yet looked at."""

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        try:
            # is_running() compares the create time too: a reused pid is not this process.
            return self.process.is_running() and self.process.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def refresh(self) -> None:
        """Read the command line again: a child seen between fork and exec showed its parent's."""
        with contextlib.suppress(psutil.Error):
            cmdline = " ".join(self.process.cmdline())
            if cmdline:
                self.cmdline = cmdline

    def describe(self) -> str:
        now_parent = "?"
        status = "?"
        with contextlib.suppress(psutil.Error):
            now_parent = str(self.process.ppid())
            status = self.process.status()
        return (
            f"pid {self.pid} ({status}) started by pid {self.parent}, now child of {now_parent}, "
            f"found {self.via}: {self.cmdline}"
        )


@dataclass(frozen=True)
class Listener:
    host: str
    port: int
    pid: int

    def accepts(self) -> bool:
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            try:
                sock.connect((host, self.port))
            except OSError:
                return False
            return True


class ProcessWatch:
    """Collects, in a thread, every descendant of `owner_pid` and every process carrying
    `marker` in its environment, with the LISTEN sockets they open, until stopped."""

    def __init__(
        self, owner_pid: int, marker: str | None = None, exclude: tuple[int, ...] = ()
    ) -> None:
        self.owner = psutil.Process(owner_pid)
        self.owner_pid = owner_pid
        self.marker = marker
        self.exclude = {owner_pid, os.getpid(), *exclude}
        """Not the owner's: the owner itself, this test, a terminal's stand-in shell."""
        self.seen: dict[tuple[int, float], Seen] = {}
        self.listeners: set[Listener] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._last_sweep = 0.0
        self._last_listen = 0.0
        self._swept: set[tuple[int, float]] = set()
        self._thread = threading.Thread(target=self._run, name="lifecycle-watch", daemon=True)

    def __enter__(self) -> ProcessWatch:
        self.poll()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.kill_leftovers()

    def _run(self) -> None:
        while not self._stop.wait(_POLL):
            with contextlib.suppress(Exception):  # a process vanishing mid-look is normal here
                self.poll()

    def _add(self, proc: psutil.Process, parent: int, via: str) -> None:
        try:
            key = (proc.pid, proc.create_time())
        except psutil.Error:
            return
        if key in self.seen or proc.pid in self.exclude:
            return
        try:
            cmdline = " ".join(proc.cmdline()) or proc.name()
        except psutil.Error:
            cmdline = "?"
        self.seen[key] = Seen(proc, parent, cmdline, time.monotonic(), via)

    def poll(self) -> None:
        """One look: the owner's and every living descendant's children (one pass over all
        processes), their listeners (every 0.2 s) and every process carrying the marker (every
        0.5 s)."""
        with self._lock:
            now = time.monotonic()
            living: set[int] = set()
            for seen in self.seen.values():
                if seen.gone_at is not None:
                    continue
                if seen.alive():
                    living.add(seen.pid)
                    seen.refresh()
                else:
                    seen.gone_at = now
            roots = set(living)
            if _alive(self.owner):
                roots.add(self.owner_pid)
            children: dict[int, list[int]] = {}
            for pid, ppid in _ppid_map().items():
                children.setdefault(ppid, []).append(pid)
            stack = list(roots)
            while stack:
                parent = stack.pop()
                for pid in children.get(parent, ()):
                    stack.append(pid)
                    if pid not in living:
                        with contextlib.suppress(psutil.Error):
                            self._add(psutil.Process(pid), parent, "under the owner")
            if self.marker is not None and now - self._last_sweep >= _SWEEP_EVERY:
                self._last_sweep = now
                self._sweep()
            if now - self._last_listen >= _LISTEN_EVERY:
                self._last_listen = now
                self._listeners()

    def _listeners(self) -> None:
        for proc in [self.owner, *(s.process for s in self.seen.values() if s.gone_at is None)]:
            if not _alive(proc):
                continue
            with contextlib.suppress(psutil.Error):
                for conn in proc.net_connections(kind="inet"):
                    if conn.status == psutil.CONN_LISTEN and conn.laddr:
                        self.listeners.add(Listener(conn.laddr.ip, conn.laddr.port, proc.pid))

    def _sweep(self) -> None:
        """Look once at each process started since the owner for the marker (an orphan is
        found wherever it was re-parented)."""
        since = self.owner_started() - 1.0
        for pid in psutil.pids():
            if pid in self.exclude:
                continue
            try:
                proc = psutil.Process(pid)
                key = (pid, proc.create_time())
                if key in self._swept or key[1] < since:
                    continue
                self._swept.add(key)
                if proc.environ().get(MARKER_ENV) == self.marker:
                    self._add(proc, proc.ppid(), "by its environment marker")
            except psutil.Error:
                continue

    def owner_started(self) -> float:
        with contextlib.suppress(psutil.Error):
            return self.owner.create_time()
        return 0.0

    def processes(self, predicate: Callable[[Seen], bool] | None = None) -> list[Seen]:
        with self._lock:
            found = list(self.seen.values())
        return [s for s in found if predicate is None or predicate(s)]

    def alive(self) -> list[Seen]:
        return [s for s in self.processes() if s.alive()]

    def still_listening(self) -> list[Listener]:
        """Listeners that still accept a connection, except the ports a living owner holds
        itself (a child forked by the owner holds the owner's sockets until it execs)."""
        with self._lock:
            listeners = list(self.listeners)
        own: set[int] = set()
        if _alive(self.owner):
            with contextlib.suppress(psutil.Error):
                own = {
                    c.laddr.port
                    for c in self.owner.net_connections(kind="inet")
                    if c.status == psutil.CONN_LISTEN and c.laddr
                }
        return [item for item in listeners if item.port not in own and item.accepts()]

    def wait_clean(self, since: float, limit: float) -> Cleanup:
        """Wait until nothing seen is alive or listening, at most until `since + limit` (plus a
        little to report how late it was); the time from `since` to clean."""
        give_up = since + limit + 5.0
        while True:
            self.poll()
            alive = self.alive()
            listening = [] if alive and time.monotonic() < give_up else self.still_listening()
            if not alive and not listening:
                return Cleanup(time.monotonic() - since, [], [], self.processes())
            if time.monotonic() > give_up:
                return Cleanup(None, alive, listening, self.processes())
            time.sleep(_POLL)

    def kill_leftovers(self) -> None:
        """SIGKILL whatever the case left (after its checks): later tests start clean."""
        for seen in self.alive():
            with contextlib.suppress(psutil.Error):
                seen.process.kill()


def _ppid_map() -> dict[int, int]:
    """pid -> parent pid of every process, in one pass (what Process.children() uses)."""
    fast = getattr(psutil, "_ppid_map", None)
    if fast is not None:
        return fast()
    return {p.pid: p.info["ppid"] for p in psutil.process_iter(["ppid"])}


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@dataclass
class Cleanup:
    """How the owner's processes ended after the kill."""

    seconds: float | None
    """From the kill until nothing was alive or listening; None when that never happened."""
    alive: list[Seen]
    listening: list[Listener]
    seen: list[Seen]

    def problems(self) -> str:
        lines = [f"{len(self.alive)} process(es) still alive:"]
        lines += [f"  {s.describe()}" for s in self.alive]
        if self.listening:
            lines.append("ports still accepting connections:")
            lines += [
                f"  {item.host}:{item.port} (opened by pid {item.pid})" for item in self.listening
            ]
        return "\n".join(lines)

    def summary(self) -> str:
        return "seen: " + "; ".join(
            f"{s.pid} (parent {s.parent}) {s.cmdline[:90]}" for s in self.seen
        )


def assert_cleaned_up(
    watch: ProcessWatch, killed_at: float, case: Case, limit: float = CLEANUP_LIMIT
) -> Cleanup:
    """Everything the owner started is gone and nothing it opened listens, within `limit` s."""
    cleanup = watch.wait_clean(killed_at, limit)
    took = "never" if cleanup.seconds is None else f"{cleanup.seconds:.2f} s"
    print(
        f"lifecycle case {case.name} {case.sig.name}: clean {took} after the kill; "
        f"{len(cleanup.seen)} processes, {len(watch.listeners)} listeners seen",
        flush=True,
    )
    assert cleanup.seconds is not None, f"{case}\n{cleanup.problems()}\n{cleanup.summary()}"
    assert cleanup.seconds <= limit, (
        f"{case}: clean only {cleanup.seconds:.2f} s after the kill (limit {limit:g} s)\n"
        f"{cleanup.summary()}"
    )
    return cleanup


def kill_at_random_moment(
    process: subprocess.Popen[bytes] | int, case: Case, max_extra: float = 1.0
) -> float:
    """Wait a seeded random 0..`max_extra` s, then send the case's signal; the monotonic time of
    the kill."""
    extra = case.rng.uniform(0.0, max_extra)
    time.sleep(extra)
    pid = process if isinstance(process, int) else process.pid
    killed_at = time.monotonic()
    os.kill(pid, case.sig)
    case.note(f"killed {extra:.2f} s after the start was seen")
    return killed_at


def wait_for(
    condition: Callable[[], object],
    what: str,
    timeout: float = START_TIMEOUT,
    *,
    alive: subprocess.Popen[bytes] | None = None,
    context: Callable[[], str] = lambda: "",
) -> object:
    """Poll `condition` until it is truthy (its value); fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if alive is not None and alive.poll() is not None:
            raise AssertionError(
                f"the owner exited with {alive.returncode} before {what}\n{context()}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s\n{context()}")
        time.sleep(_POLL)


# --- owners ---------------------------------------------------------------------------------------


def ccplate_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "ccplate_tui", *args]


def default_signals() -> None:
    """In the child before exec: the signals under test at their default action, as a user's
    terminal gives them, even when this suite runs under `nohup` (which ignores SIGHUP, and an
    ignored signal stays ignored across exec)."""
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


@dataclass
class CliOwner:
    """A `ccplate-tui ...` process with its stdout and stderr in files."""

    process: subprocess.Popen[bytes]
    out_path: Path
    err_path: Path

    @classmethod
    def start(cls, argv: list[str], folder: Path, marker: str) -> CliOwner:
        out_path, err_path = folder / "owner.out", folder / "owner.err"
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            process = subprocess.Popen(
                argv,
                cwd=folder,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=owner_env(marker),
                start_new_session=True,  # away from pytest's terminal: only our signal reaches it
                preexec_fn=default_signals,
            )
        return cls(process, out_path, err_path)

    def out(self) -> str:
        return self.out_path.read_text(errors="replace")

    def err(self) -> str:
        return self.err_path.read_text(errors="replace")

    def output(self) -> str:
        return f"--- stdout ---\n{self.out()[-3000:]}\n--- stderr ---\n{self.err()[-3000:]}"

    def reap(self, timeout: float = 30.0) -> int | None:
        """Wait for the killed owner (it is ours: no zombie left); its exit status."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(10)


# A terminal's shell, in miniature: it leads the session with the pty as its controlling
# terminal, runs the command as the foreground job in a process group of its own (as bash does),
# writes the job's pid, and once the job has ended takes the terminal back and waits to be closed.
# So the killed job's processes get no SIGHUP from the kernel: only their own watches end them.
_SHELL = r"""
import os, signal, sys, fcntl, termios
pid_file, argv = sys.argv[1], sys.argv[2:]
os.setsid()
fcntl.ioctl(0, termios.TIOCSCTTY, 0)
signal.signal(signal.SIGTTOU, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
job = os.fork()
if job == 0:
    os.setpgid(0, 0)
    os.tcsetpgrp(0, os.getpgrp())
    signal.signal(signal.SIGTTOU, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execvp(argv[0], argv)
try:
    os.setpgid(job, job)
except OSError:
    pass
with open(pid_file + ".tmp", "w") as out:
    out.write(str(job))
os.rename(pid_file + ".tmp", pid_file)
_, status = os.waitpid(job, 0)
os.tcsetpgrp(0, os.getpgrp())
with open(pid_file + ".status", "w") as out:
    out.write(str(os.waitstatus_to_exitcode(status)))
while True:
    signal.pause()
"""

_ANSI = re.compile(
    rb"\x1b\[[0-9;?<=>]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78NOMc]"
)


class PtyJob:
    """A command run as the foreground job of a shell on a pseudo-terminal (`size` columns x
    rows); the terminal is read continuously (a terminal nobody reads blocks the app)."""

    def __init__(
        self, argv: list[str], folder: Path, marker: str, size: tuple[int, int] = (120, 40)
    ) -> None:
        self.folder = folder
        self.pid_file = folder / "job.pid"
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        env = owner_env(marker, TERM="xterm-256color")
        self.shell = subprocess.Popen(
            [sys.executable, "-c", _SHELL, str(self.pid_file), *argv],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=folder,
            env=env,
            preexec_fn=default_signals,
        )
        os.close(slave)
        self.master = master
        self.screen = bytearray()
        self._closing = threading.Event()
        self._reader = threading.Thread(target=self._read, name="pty-reader", daemon=True)
        self._reader.start()
        self.pid = int(
            wait_for(  # type: ignore[arg-type]
                lambda: self.pid_file.exists() and self.pid_file.read_text(),
                "the terminal's job to start",
                alive=self.shell,
                context=self.text,
            )
        )

    def _read(self) -> None:
        while not self._closing.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the terminal has no process on its other side any more
                return
            if not chunk:
                return
            self.screen += chunk
            if len(self.screen) > 4_000_000:
                del self.screen[:2_000_000]

    def text(self) -> str:
        """What the job wrote so far, escape sequences removed, spaces collapsed (the tail)."""
        return " ".join(
            _ANSI.sub(b" ", bytes(self.screen[-200_000:])).decode("utf-8", "replace").split()
        )

    def exit_code(self, timeout: float = 30.0) -> int | None:
        """The job's exit status as the shell saw it (negative: killed by that signal)."""
        path = Path(f"{self.pid_file}.status")
        with contextlib.suppress(AssertionError):
            wait_for(path.exists, "the job's exit status", timeout)
            return int(path.read_text())
        return None

    def close(self) -> None:
        """Close the terminal: the shell goes, then the reader."""
        with contextlib.suppress(ProcessLookupError):
            self.shell.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.shell.wait(10)
        self._closing.set()
        self._reader.join(10)
        os.close(self.master)


# --- the run history, read without disturbing the recording process -----------------------------


def committed_intervals(state: Path) -> tuple[str | None, int]:
    """The newest run's id and how many of its intervals are committed, read-only."""
    path = state / "history.sqlite3"
    if not path.exists():
        return None, 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
            row = db.execute("SELECT id FROM runs ORDER BY seq DESC LIMIT 1").fetchone()
            if row is None:
                return None, 0
            (count,) = db.execute(
                "SELECT COUNT(*) FROM intervals WHERE run_id = ?", (row[0],)
            ).fetchone()
            return row[0], int(count)
    except sqlite3.Error:
        return None, 0


RUN_ENDED = ("interrupted", "aborted")
"""How a killed owner's run may read: never `running`, never `finished` (it did not finish)."""


def assert_run_recorded(
    state: Path, run_id: str, acknowledged: int, case: Case, statuses: tuple[str, ...] = RUN_ENDED
):  # type: ignore[no-untyped-def]
    """The run is in the history, ended as interrupted (or aborted), with every interval that
    was committed before the kill and no gap; opening the history is what marks a dead
    process's run interrupted."""
    from ccplate_tui.history.store import HistoryStore

    with HistoryStore(state / "history.sqlite3") as store:
        run = store.run(run_id)
        assert run is not None, f"{case}: run {run_id} is not in the history"
        intervals = store.intervals(run_id)
        notes = [a.text for a in store.annotations(run_id)]
    case.note(
        f"run {run_id} {run.status}, {len(intervals)} intervals (acknowledged {acknowledged})"
    )
    print(f"lifecycle case {case.name} {case.sig.name}: {case.notes[-1]}", flush=True)
    why = " (it ran to its end before the kill landed)" if run.status == "finished" else ""
    assert run.status in statuses, f"{case}: run {run_id} reads {run.status!r}{why}; notes {notes}"
    assert run.ended_at is not None and run.summary is not None, f"{case}: {run}"
    assert len(intervals) >= acknowledged >= 1, f"{case}: intervals lost"
    assert [i.index for i in intervals] == list(range(len(intervals))), f"{case}: a gap"
    return run


@contextlib.contextmanager
def fixture_target() -> Iterator[str]:
    """A loopback load target this test starts (never the network, never the demo default)."""
    from tests.http_fixtures import fixture_server

    with fixture_server() as server:
        yield server.url


def scenario_toml(base_url: str, *, duration: str = "100s", vus: int = 2, path: str = "/ok") -> str:
    """One constant-vus scenario against `base_url`, half-second intervals; with a small
    --time-scale its planned length is a few seconds."""
    return f"""
[target]
base_url = "{base_url}"

[options]
interval = "500ms"

[scenarios.smoke]
executor = "constant-vus"
vus = {vus}
duration = "{duration}"
think_time = "50ms"
gracefulStop = "2s"
thresholds = {{ http_req_failed = ["rate<0.5"] }}

[[scenarios.smoke.requests]]
name = "ok"
path = "{path}"
"""


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
