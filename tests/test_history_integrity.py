"""A damaged history is never written into: real SQLite files damaged on disk (random bytes in the
middle, cut short, zero bytes, a deleted `-wal` under a killed writer, the file removed or the disk
filling up mid-run), then opened by the store, `history list` and `ccplate-tui run` against a
loopback fixture server."""

from __future__ import annotations

import os
import random
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ccplate_tui.history.integrity import DamagedHistory, check_file
from ccplate_tui.history.legacy import open_history
from ccplate_tui.history.store import HistoryError, HistoryStore, history_path
from tests.http_fixtures import FixtureServer, fixture_server
from tests.test_history_store import snapshot


@pytest.fixture(scope="module")
def server() -> Iterator[FixtureServer]:
    with fixture_server() as srv:
        yield srv


def _history(state: Path, runs: int = 2, intervals: int = 30) -> Path:
    """A real history of several pages, closed (everything checkpointed into the file)."""
    path = history_path(state)
    with HistoryStore(path) as store:
        for _ in range(runs):
            run_id = store.begin_run(names=["auth"], scenarios=["auth"], target="http://x")
            for i in range(intervals):
                store.add_interval(run_id, snapshot(i))
            store.end_run(run_id, "interrupted", "made by the test")
    assert not Path(f"{path}-wal").exists()
    return path


def _random_middle(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.seek(size // 2)
        handle.write(random.Random(15).randbytes(4096))


def _truncate(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def _zero(path: Path) -> None:
    path.write_bytes(b"")


def _page_size(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.seek(16)
        handle.write(b"\x03\x00")  # 768: not a power of two


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "random-4k-mid-file": (_random_middle, "is damaged ("),
    "truncated": (_truncate, "is damaged"),
    "zero-bytes": (_zero, "is empty (zero bytes)"),
    "bad-page-size": (_page_size, "is damaged (page size 768"),
}


def _damaged(state: Path, kind: str) -> tuple[Path, bytes, int]:
    """A history damaged as `kind`: (its path, its bytes, its mtime in ns)."""
    path = _history(state)
    DAMAGE[kind][0](path)
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    return path, path.read_bytes(), path.stat().st_mtime_ns


def _asides(state: Path) -> list[Path]:
    return sorted(state.glob("history.sqlite3.damaged-*"))


def _history_files(state: Path) -> list[str]:
    return sorted(p.name for p in state.iterdir() if p.name.startswith("history"))


# --- the store ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_opened_for_writing_a_damaged_file_is_moved_aside_and_a_new_history_started(
    tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    path, before, _ = _damaged(tmp_path, kind)
    assert check_file(path) is not None
    store = open_history(tmp_path)  # as a run opens it
    assert store is not None
    with store:
        moved = store.moved_aside
        assert moved is not None and DAMAGE[kind][1] in moved.reason
        (aside,) = _asides(tmp_path)
        assert moved.aside == aside and moved.path == path
        assert str(aside) in moved.message and str(path) in moved.message
        assert store.runs() == []
        store.begin_run(names=["new"])
    assert aside.read_bytes() == before  # byte for byte, never written into
    assert check_file(path) is None  # the new history is sound
    assert any(moved.message in r.getMessage() for r in caplog.records)
    with HistoryStore(path) as again:
        assert [r.names for r in again.runs()] == [("new",)]
        assert again.moved_aside is None


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_opened_to_read_a_damaged_file_is_reported_and_left_as_it_is(
    tmp_path: Path, kind: str
) -> None:
    path, before, mtime = _damaged(tmp_path, kind)
    for opener in (lambda: open_history(tmp_path, create=False), lambda: HistoryStore(path)):
        with pytest.raises(DamagedHistory) as caught:
            opener()
        assert str(path) in str(caught.value) and "left as it is" in str(caught.value)
        assert DAMAGE[kind][1] in str(caught.value)
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime
    assert _history_files(tmp_path) == ["history.sqlite3"]


def test_a_file_that_is_not_sqlite_at_all_is_refused_not_moved(tmp_path: Path) -> None:
    path = history_path(tmp_path)
    path.write_bytes(b"PK\x03\x04 a zip file, not a history" * 40)
    with pytest.raises(HistoryError, match="not a SQLite database"):
        open_history(tmp_path)
    assert _history_files(tmp_path) == ["history.sqlite3"]


def test_a_sound_history_is_opened_as_it_is(tmp_path: Path) -> None:
    _history(tmp_path)
    store = open_history(tmp_path)
    assert store is not None
    with store:
        assert store.moved_aside is None and len(store.runs()) == 2
    assert _asides(tmp_path) == []


def test_a_second_damage_the_same_second_gets_its_own_name(tmp_path: Path) -> None:
    for _ in range(2):
        _zero(history_path(tmp_path))
        store = open_history(tmp_path)
        assert store is not None and store.moved_aside is not None
        store.close()
    assert len(_asides(tmp_path)) == 2


def test_a_removed_historys_left_over_wal_is_moved_aside_not_taken_in(tmp_path: Path) -> None:
    path = history_path(tmp_path)
    store = HistoryStore(path)
    run_id = store.begin_run(names=["old"])
    store.add_interval(run_id, snapshot(0))
    path.unlink()  # under the open store: SQLite leaves its -wal and -shm behind on close
    store.close()
    wal = Path(f"{path}-wal").read_bytes()
    assert wal
    with pytest.raises(HistoryError, match="missing but its -wal/-shm are left"):
        HistoryStore(path)  # to read: left as they are
    assert _history_files(tmp_path) == ["history.sqlite3-shm", "history.sqlite3-wal"]
    store = open_history(tmp_path)
    assert store is not None
    with store:
        assert store.moved_aside is not None
        assert "was removed, leaving its -wal/-shm behind" in store.moved_aside.message
        assert store.runs() == []  # the old -wal's frames did not land in the new file
    assert Path(f"{store.moved_aside.aside}-wal").read_bytes() == wal
    assert check_file(path) is None


# --- `history list` -----------------------------------------------------------------------------


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ccplate_tui", *args]


def _config(tmp_path: Path, url: str, body: str) -> Path:
    path = tmp_path / "scenarios.toml"
    path.write_text(f'[target]\nbase_url = "{url}"\n[options]\ninterval = "250ms"\n{body}')
    return path


QUICK = """
[scenarios.quick]
executor = "per-vu-iterations"
vus = 1
iterations = 4
[[scenarios.quick.requests]]
path = "/sleep/100"
"""


@pytest.mark.parametrize("kind", ["random-4k-mid-file", "zero-bytes"])
def test_history_list_reports_a_damaged_file_and_leaves_it(
    server: FixtureServer, tmp_path: Path, kind: str
) -> None:
    config = _config(tmp_path, server.url, QUICK)
    state = tmp_path / "state"
    state.mkdir()
    path, before, mtime = _damaged(state, kind)
    done = subprocess.run(
        _cli("history", "list", "--config", str(config), "--state", str(state)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert str(path) in done.stderr and DAMAGE[kind][1] in done.stderr
    assert "Traceback" not in done.stderr
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime
    assert _history_files(state) == ["history.sqlite3"]


# --- `ccplate-tui run` --------------------------------------------------------------------------


def _run(config: Path, state: Path, *extra: str, **popen: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        _cli("run", "--workers", "1", "-q", "--config", str(config), "--state", str(state), *extra),
        capture_output=True,
        text=True,
        timeout=90,
        **popen,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("kind", ["random-4k-mid-file", "truncated", "zero-bytes"])
def test_a_run_never_writes_into_a_damaged_history(
    server: FixtureServer, tmp_path: Path, kind: str
) -> None:
    config = _config(tmp_path, server.url, QUICK)
    state = tmp_path / "state"
    state.mkdir()
    path, before, _ = _damaged(state, kind)
    done = _run(config, state, "--time-scale", "0.5")
    assert done.returncode == 0, done.stderr
    assert "TOTAL RESULTS" in done.stdout and "Traceback" not in done.stderr
    (aside,) = _asides(state)
    assert aside.read_bytes() == before
    moved = [line for line in done.stderr.splitlines() if str(aside) in line]
    assert moved and all(str(path) in line for line in moved), done.stderr
    assert any(DAMAGE[kind][1] in line for line in moved), done.stderr
    assert f"WARN the damaged run history was moved aside to {aside}" in done.stderr
    assert f"run recorded: r1 in {path}" in done.stderr
    with HistoryStore(path) as store:
        (run,) = store.runs()
        assert run.id == "r1" and run.status == "finished" and run.interval_count >= 1
    assert check_file(aside) is not None  # still the damaged file, for `.recover`


# --- a history that fails during the run --------------------------------------------------------

LONG = """
[scenarios.long]
executor = "constant-vus"
vus = 1
duration = "{duration}"
[[scenarios.long.requests]]
path = "/sleep/20"
"""


class _Lines:
    """A process's stderr, read line by line on a thread (so the pipe never fills)."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        assert proc.stderr is not None
        self._thread = threading.Thread(target=self._read, args=(proc.stderr,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            self.lines.append(line)

    def wait_for(self, predicate: Callable[[list[str]], bool], what: str) -> None:
        deadline = time.monotonic() + 60
        while not predicate(self.lines):
            assert time.monotonic() < deadline, f"{what}: {''.join(self.lines)[-2000:]}"
            time.sleep(0.05)

    def text(self) -> str:
        self._thread.join(30)
        return "".join(self.lines)


def _intervals_seen(lines: list[str]) -> int:
    return sum(line.startswith("running (") for line in lines)


def test_the_history_file_removed_mid_run_is_said_at_the_end(
    server: FixtureServer, tmp_path: Path
) -> None:
    config = _config(tmp_path, server.url, LONG.format(duration="2.5s"))
    state = tmp_path / "state"
    argv = _cli("run", "--workers", "1", "--config", str(config), "--state", str(state))
    with (tmp_path / "stdout").open("w+") as stdout:
        proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, text=True)
        try:
            lines = _Lines(proc)
            lines.wait_for(lambda ls: _intervals_seen(ls) >= 2, "no intervals")
            history_path(state).unlink()
            proc.wait(60)
            err = lines.text()
        finally:
            if proc.poll() is None:
                proc.kill()
    out = (tmp_path / "stdout").read_text()
    assert proc.returncode == 0, err  # the load figures are true: the run is not failed by it
    assert "TOTAL RESULTS" in out and "Traceback" not in err
    (warning,) = [line for line in err.splitlines() if "history is incomplete" in line]
    assert warning.startswith("WARN ") and "was removed during the run" in warning
    assert "intervals could not be written" in warning
    assert f"run recorded: r1 in {history_path(state)} (its outcome: see the warning above)" in err
    with HistoryStore(history_path(state)) as store:
        (run,) = store.runs()
        assert run.id == "r1" and run.status == "finished" and run.interval_count == 0


def _limit_file_size(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_full_disk_mid_run_is_said_at_the_end_and_the_exit_code_stands(
    server: FixtureServer, tmp_path: Path
) -> None:
    # A real "disk full": no file of the run may grow past 96 KB (RLIMIT_FSIZE; Python ignores
    # SIGXFSZ, so the writes fail with EFBIG): the history is created, then its -wal fills up.
    config = _config(tmp_path, server.url, LONG.format(duration="3s"))
    state = tmp_path / "state"
    done = _run(config, state, preexec_fn=_limit_file_size(96 * 1024))
    assert done.returncode == 0, done.stderr
    assert "TOTAL RESULTS" in done.stdout and "Traceback" not in done.stderr
    (warning,) = [line for line in done.stderr.splitlines() if "history is incomplete" in line]
    assert warning.startswith("WARN the run history is incomplete for r1: ")
    assert re.search(r"\d+ of \d+ intervals could not be written", warning), warning
    assert str(history_path(state)) in warning


def test_a_deleted_wal_under_a_killed_run_loses_nothing_it_had_recorded(
    server: FixtureServer, tmp_path: Path
) -> None:
    config = _config(tmp_path, server.url, LONG.format(duration="60s"))
    state = tmp_path / "state"
    path = history_path(state)
    argv = _cli("run", "--workers", "1", "--config", str(config), "--state", str(state))
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the workers die with it
    )
    try:
        lines = _Lines(proc)
        lines.wait_for(lambda ls: _intervals_seen(ls) >= 3, "no intervals")
        Path(f"{path}-wal").unlink()
        seen = _intervals_seen(lines.lines)
        lines.wait_for(lambda ls: any("-wal (the run history's" in ln for ln in ls), "no notice")
        lines.wait_for(lambda ls: _intervals_seen(ls) >= seen + 2, "no intervals after")
        os.killpg(proc.pid, signal.SIGSTOP)
        recorded = _intervals_seen(lines.lines)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
    err = lines.text()
    assert "were written into the history and a new one was started" in err
    with HistoryStore(path) as store:  # the next open marks it interrupted
        run = store.run("r1")
        assert run is not None and run.status == "interrupted", err
        assert recorded - 1 <= run.interval_count <= recorded + 1
        assert [s.index for s in store.intervals("r1")] == list(range(run.interval_count))
    assert check_file(path) is None
