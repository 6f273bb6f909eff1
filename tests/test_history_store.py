"""The run history store on real SQLite files: runs, intervals, baselines, migrations, damage."""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ccplate_tui.history.schema import SCHEMA_VERSION
from ccplate_tui.history.store import HistoryError, HistoryStore, UnknownRun, history_path
from ccplate_tui.load.metrics import Counter, Gauge, MetricSet, Rate, Trend
from ccplate_tui.load.snapshot import IntervalSnapshot, ScenarioProgress, WorkerHealth


def snapshot(index: int, *, requests: int = 10, base_ms: float = 10.0) -> IntervalSnapshot:
    """An interval with `requests` requests of known latencies (base_ms .. base_ms + n - 1)."""
    ms = MetricSet()
    trend = ms.sink("http_req_duration", (("name", "login"),))
    reqs = ms.sink("http_reqs", (("name", "login"),))
    failed = ms.sink("http_req_failed")
    vus = ms.sink("vus")
    assert isinstance(trend, Trend) and isinstance(reqs, Counter)
    assert isinstance(failed, Rate) and isinstance(vus, Gauge)
    for n in range(requests):
        trend.add(base_ms + n + index)
        failed.add(n == 0)
    reqs.value += requests
    vus.set(3)
    progress = (ScenarioProgress("auth", "running", index + 1.0, 60.0, 3, 3, 10 * index, 0, 0),)
    return IntervalSnapshot(
        index=index,
        start=float(index),
        end=index + 1.0,
        metrics=ms,
        progress=progress,
        health=WorkerHealth(workers=2, cpu_percent=12.5, loop_lag_ms=0.4),
        wall_time=1_700_000_000.0 + index + 1,
        notes=("Insufficient VUs",) if index == 1 else (),
    )


@pytest.fixture
def store(tmp_path: Path):
    with HistoryStore(history_path(tmp_path)) as opened:
        yield opened


def _begin(store: HistoryStore, names: tuple[str, ...] = ("auth",)) -> str:
    return store.begin_run(names=list(names), scenarios=["auth"], target="http://127.0.0.1:9")


# --- runs ---------------------------------------------------------------------------------------


def test_a_new_history_is_created_in_wal_mode_at_the_current_version(tmp_path: Path) -> None:
    path = history_path(tmp_path / "state")  # the folder does not exist yet
    with HistoryStore(path):
        pass
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "intervals", "annotations", "baselines", "meta"} <= tables


def test_runs_get_short_numbered_ids_found_by_id_or_number(store: HistoryStore) -> None:
    first = _begin(store)
    second = _begin(store, ("suite_x",))
    assert (first, second) == ("r1", "r2")
    assert store.run("r2").seq == 2  # type: ignore[union-attr]
    assert store.run("2").id == "r2"  # type: ignore[union-attr]
    assert store.run(" 1 ").id == "r1"  # type: ignore[union-attr]
    assert store.run("3") is None and store.run("nope") is None
    assert [r.id for r in store.runs()] == ["r2", "r1"]
    assert [r.id for r in store.runs(limit=1)] == ["r2"]
    assert [r.id for r in store.runs(scenario="suite_x")] == ["r2"]
    assert [r.id for r in store.runs(scenario="auth")] == ["r2", "r1"]  # r2 ran auth
    run = store.run("r1")
    assert run is not None
    assert (run.status, run.ended_at, run.summary, run.thresholds) == ("running", None, None, None)
    assert run.pid == os.getpid() and run.target == "http://127.0.0.1:9"


def test_intervals_round_trip_with_progress_health_and_notes(store: HistoryStore) -> None:
    run_id = _begin(store)
    written = [snapshot(i) for i in range(3)]
    for snap in written:
        store.add_interval(run_id, snap)
    read = store.intervals(run_id)
    assert [s.index for s in read] == [0, 1, 2]
    for got, want in zip(read, written, strict=True):
        assert (got.start, got.end, got.wall_time) == (want.start, want.end, want.wall_time)
        assert got.progress == want.progress and got.health == want.health
        assert got.notes == want.notes
        assert list(got.metrics.series) == list(want.metrics.series)
    assert [s.index for s in store.intervals(run_id, 1, 2)] == [1]
    assert store.interval_count(run_id) == 3
    run = store.run(run_id)
    assert run is not None and (run.interval_count, run.elapsed) == (3, 3.0)


def test_a_long_run_streams_its_intervals_page_by_page(store: HistoryStore) -> None:
    run_id = _begin(store)
    for i in range(150):  # more than two pages
        store.add_interval(run_id, snapshot(i, requests=2))
    indexes = [s.index for s in store.iter_intervals(run_id)]
    assert indexes == list(range(150))
    assert [s.index for s in store.iter_intervals(run_id, 63, 131)] == list(range(63, 131))
    reqs = store.totals(run_id).select("http_reqs")
    assert isinstance(reqs, Counter) and reqs.value == 300


def test_totals_merge_the_intervals_and_are_kept_once_the_run_ended(
    store: HistoryStore,
) -> None:
    run_id = _begin(store)
    for i in range(4):
        store.add_interval(run_id, snapshot(i))
    expected = MetricSet()
    for i in range(4):
        expected.accumulate(snapshot(i).metrics)
    totals = store.totals(run_id)
    for p in (50.0, 95.0, 99.0):
        got, want = totals.select("http_req_duration"), expected.select("http_req_duration")
        assert isinstance(got, Trend) and isinstance(want, Trend)
        assert got.percentile(p) == want.percentile(p)
    assert store.end_run(run_id, "error", "the engine failed") is True
    assert store.end_run(run_id, "error", "again") is False  # only a running run ends
    cached = store._read("SELECT totals FROM runs WHERE id = ?", (run_id,))[0][0]
    assert cached is not None
    run = store.run(run_id)
    assert run is not None and run.status == "error" and run.stopped == "error"
    assert run.summary is not None and run.summary["requests"] == 40
    assert run.summary["error_fraction"] == pytest.approx(0.1)
    assert run.ended_at == snapshot(3).wall_time and run.duration == 4.0
    assert [a.text for a in store.annotations(run_id)] == ["the engine failed"]


def test_an_interval_for_an_unknown_run_is_refused(store: HistoryStore) -> None:
    with pytest.raises(HistoryError, match="refused a write"):
        store.add_interval("r404", snapshot(0))


# --- annotations and baselines ------------------------------------------------------------------


def test_annotations_are_kept_in_time_order(store: HistoryStore) -> None:
    run_id = _begin(store)
    store.annotate(run_id, "fault", "error_rate=0.1", at=200.0)
    store.annotate(run_id, "stop", "Ctrl+C", at=100.0)
    store.annotate(run_id, "note", "hello")
    got = store.annotations(run_id)
    assert [(a.kind, a.text) for a in got] == [
        ("stop", "Ctrl+C"),
        ("fault", "error_rate=0.1"),
        ("note", "hello"),
    ]
    with pytest.raises(ValueError, match="stop, abort, fault, note"):
        store.annotate(run_id, "party", "no")


def test_baselines_per_scenario_replace_and_name_who_set_them(store: HistoryStore) -> None:
    first, second = _begin(store), _begin(store)
    assert store.baseline("auth") is None and store.baselines() == []
    set_first = store.set_baseline("auth", "1", set_by="alice")
    assert (set_first.run_id, set_first.set_by) == (first, "alice")
    store.set_baseline("auth", second)
    store.set_baseline("checkout", first, set_by="bob")
    assert store.baseline("auth") == second
    info = store.baseline_info("auth")
    assert info is not None and info.set_by  # the OS user when nobody is named
    assert [(b.scenario, b.run_id) for b in store.baselines()] == [
        ("auth", second),
        ("checkout", first),
    ]
    with pytest.raises(UnknownRun, match="no run '99'"):
        store.set_baseline("auth", "99")


# --- interrupted runs ---------------------------------------------------------------------------

_DIE_MID_RUN = """
import os, sys
sys.path.insert(0, {root!r})
from ccplate_tui.history.store import HistoryStore
from tests.test_history_store import snapshot
store = HistoryStore({path!r})
run_id = store.begin_run(names=["auth"], scenarios=["auth"])
for i in range(3):
    store.add_interval(run_id, snapshot(i))
print(run_id, flush=True)
os._exit(0)  # no finish, no close: as good as kill -9 for the database
"""


def test_a_run_whose_process_died_is_marked_interrupted_on_the_next_open(
    tmp_path: Path,
) -> None:
    path = history_path(tmp_path)
    root = str(Path(__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-c", _DIE_MID_RUN.format(root=root, path=str(path))],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip()
    with HistoryStore(path) as store:
        run = store.run(run_id)
        assert run is not None and run.status == "interrupted"
        assert run.ended_at == snapshot(2).wall_time  # at its last interval
        assert run.summary is not None and run.summary["requests"] == 30
        assert run.summary["progress"][0]["name"] == "auth"
        assert run.thresholds == ()
        assert store.interval_count(run_id) == 3
        notes = store.annotations(run_id)
        assert len(notes) == 1 and "ended without finishing the run" in notes[0].text
        assert store.mark_interrupted() == []  # once


def test_a_live_run_is_left_running_but_a_recycled_pid_is_not_trusted(store: HistoryStore) -> None:
    live, recycled = _begin(store), _begin(store)
    # Same pid, another start time: the process that recorded it is gone.
    with store._write() as db:
        db.execute("UPDATE runs SET pid_started = pid_started - 3600 WHERE id = ?", (recycled,))
    assert store.mark_interrupted() == [recycled]
    assert store.run(live).status == "running"  # type: ignore[union-attr]


# --- schema versions ----------------------------------------------------------------------------

_V1 = """
CREATE TABLE runs (id TEXT PRIMARY KEY, started_at REAL NOT NULL, ended_at REAL,
  status TEXT NOT NULL CHECK (status IN ('running','finished','interrupted','aborted','error')),
  engine TEXT NOT NULL, names TEXT NOT NULL, config TEXT NOT NULL, config_hash TEXT,
  git_commit TEXT, target TEXT NOT NULL, time_scale REAL NOT NULL, pid INTEGER,
  pid_started REAL, summary TEXT, thresholds TEXT);
CREATE TABLE intervals (run_id TEXT NOT NULL REFERENCES runs(id), idx INTEGER NOT NULL,
  start REAL NOT NULL, "end" REAL NOT NULL, wall_time REAL NOT NULL, metrics TEXT NOT NULL,
  progress TEXT NOT NULL, PRIMARY KEY (run_id, idx));
CREATE TABLE annotations (run_id TEXT NOT NULL REFERENCES runs(id), at REAL NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('stop','abort','fault','note')), text TEXT NOT NULL);
CREATE INDEX annotations_run ON annotations(run_id, at);
CREATE TABLE baselines (scenario TEXT PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id),
  set_at REAL NOT NULL, set_by TEXT NOT NULL);
PRAGMA user_version = 1;
"""


def _make_v1(path: Path) -> None:
    """A schema v1 history written by hand, as the first release of the history left it."""
    from ccplate_tui.load.metrics_codec import metric_set_to_json

    db = sqlite3.connect(path)
    db.executescript(_V1)
    summary = json.dumps({"duration": 2.0, "requests": 20, "p99_ms": 30.0, "error_fraction": 0.1})
    for run_id, started in (("20240101T000000Z-bbbb", 2000.0), ("20240101T000000Z-aaaa", 1000.0)):
        db.execute(
            "INSERT INTO runs VALUES (?, ?, ?, 'finished', 'built-in', '[\"auth\"]', '{}', NULL, "
            "NULL, 'http://127.0.0.1:8787', 1.0, 4242, 1.0, ?, '[]')",
            (run_id, started, started + 2, summary),
        )
        for i in range(2):
            db.execute(
                "INSERT INTO intervals VALUES (?, ?, ?, ?, ?, ?, '[]')",
                (
                    run_id,
                    i,
                    float(i),
                    i + 1.0,
                    started + i + 1,
                    json.dumps(metric_set_to_json(snapshot(i).metrics)),
                ),
            )
    db.execute("INSERT INTO baselines VALUES ('auth', '20240101T000000Z-aaaa', 1500.0, 'carol')")
    db.commit()
    db.close()


def test_an_old_schema_is_backed_up_then_upgraded_in_place(tmp_path: Path) -> None:
    path = history_path(tmp_path)
    _make_v1(path)
    original = tmp_path / "as-made.sqlite3"
    original.write_bytes(path.read_bytes())
    with HistoryStore(path) as store:
        runs = store.runs()
        # Numbered by start time, oldest first.
        assert [(r.id, r.seq) for r in runs] == [
            ("20240101T000000Z-bbbb", 2),
            ("20240101T000000Z-aaaa", 1),
        ]
        assert store.run("1").id == "20240101T000000Z-aaaa"  # type: ignore[union-attr]
        assert store.baseline("auth") == "20240101T000000Z-aaaa"
        reqs = store.totals("1").select("http_reqs")
        assert isinstance(reqs, Counter) and reqs.value == 20
        assert store.intervals("20240101T000000Z-bbbb")[1].notes == ()
        assert _begin(store) == "r3"  # new runs carry on the numbering
    backup = sqlite3.connect(tmp_path / "history.sqlite3.v1.bak")
    # The database as it was before any change: same schema, same rows, same version.
    assert list(backup.iterdump()) == list(sqlite3.connect(original).iterdump())
    assert backup.execute("PRAGMA user_version").fetchone()[0] == 1
    assert backup.execute("SELECT COUNT(*) FROM intervals").fetchone()[0] == 4
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_second_upgrade_never_overwrites_an_earlier_backup(tmp_path: Path) -> None:
    path = history_path(tmp_path)
    (tmp_path / "history.sqlite3.v1.bak").write_text("an earlier backup")
    _make_v1(path)
    with HistoryStore(path):
        pass
    assert (tmp_path / "history.sqlite3.v1.bak").read_text() == "an earlier backup"
    assert (tmp_path / "history.sqlite3.v1.1.bak").stat().st_size > 0


# --- files that are not a usable history --------------------------------------------------------


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\x00\x01garbage" * 300, "not a SQLite database"),
        (b"SQLite format 3\x00" + b"\xff" * 4000, "damaged"),
        (b'{"runs": []}\n', "not a SQLite database"),
    ],
    ids=["garbage", "sqlite-header-then-garbage", "json"],
)
def test_a_damaged_file_raises_and_is_left_untouched(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = history_path(tmp_path)
    path.write_bytes(content)
    with pytest.raises(HistoryError) as caught:
        HistoryStore(path)
    assert str(path) in str(caught.value) and problem in str(caught.value)
    assert path.read_bytes() == content
    assert _files(tmp_path) == ["history.sqlite3"]  # no journal, no backup, nothing deleted


def test_a_truncated_history_is_reported_and_never_rewritten(tmp_path: Path) -> None:
    path = history_path(tmp_path)
    with HistoryStore(path) as store:
        run_id = _begin(store)
        for i in range(40):
            store.add_interval(run_id, snapshot(i))
    size = path.stat().st_size
    assert size > 20_000
    with path.open("r+b") as handle:  # cut it in the middle of its pages
        handle.truncate(size // 2)
    cut = path.read_bytes()
    with pytest.raises(HistoryError) as caught, HistoryStore(path) as store:
        store.totals(run_id)
        store.intervals(run_id)
    assert "damaged" in str(caught.value) and str(path) in str(caught.value)
    assert path.read_bytes() == cut


def test_a_database_of_something_else_or_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other" / "history.sqlite3"
    other.parent.mkdir()
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE recipes (name TEXT)")
    db.commit()
    db.close()
    before = other.read_bytes()
    with pytest.raises(HistoryError, match=r"not a ccplate-tui run history \(tables: recipes"):
        HistoryStore(other)
    assert other.read_bytes() == before

    newer = tmp_path / "newer" / "history.sqlite3"
    newer.parent.mkdir()
    with HistoryStore(newer):
        pass
    db = sqlite3.connect(newer)
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    before = newer.read_bytes()
    with pytest.raises(HistoryError, match="schema version 99, newer than this ccplate-tui"):
        HistoryStore(newer)
    assert newer.read_bytes() == before


def test_damaged_rows_are_reported_with_the_run_and_interval(store: HistoryStore) -> None:
    run_id = _begin(store)
    store.add_interval(run_id, snapshot(0))
    store.add_interval(run_id, snapshot(1))
    with store._write() as db:
        db.execute("UPDATE intervals SET metrics = '{\"format\": 1}' WHERE idx = 1")
    with pytest.raises(HistoryError, match=f"interval 1 of run {run_id} is damaged: series"):
        store.intervals(run_id)
    assert len(store.intervals(run_id, 0, 1)) == 1  # the rest still reads
    with store._write() as db:
        db.execute("UPDATE runs SET names = 'not json' WHERE id = ?", (run_id,))
    with pytest.raises(HistoryError, match=f"run {run_id} is damaged"):
        store.runs()


# --- concurrency --------------------------------------------------------------------------------


def test_a_reader_sees_whole_intervals_while_another_connection_writes(tmp_path: Path) -> None:
    path = history_path(tmp_path)
    writer = HistoryStore(path)
    run_id = _begin(writer)
    seen: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        try:
            with HistoryStore(path) as reader:
                while not done.is_set():
                    count = reader.interval_count(run_id)
                    reqs = reader.totals(run_id).select("http_reqs")
                    # Totals never see half an interval: always whole tens.
                    total = reqs.value if isinstance(reqs, Counter) else 0
                    assert total % 10 == 0 and total >= count * 10
                    seen.append(count)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for i in range(60):
            writer.add_interval(run_id, snapshot(i))
            time.sleep(0.002)
            if i in (19, 39):
                # The reader has read while the writes go on (however busy the machine is):
                # waited for, not left to how the threads happen to be scheduled.
                deadline = time.monotonic() + 30
                while not (errors or (seen and seen[-1] > i)):
                    assert time.monotonic() < deadline, f"the reader never saw interval {i}"
                    time.sleep(0.002)
    finally:
        done.set()
        thread.join(30)
        writer.close()
    assert not errors, errors
    assert seen == sorted(seen) and len(seen) > 1  # never went back, and read during the writes
    with HistoryStore(path) as store:
        assert store.interval_count(run_id) == 60


def _open_and_begin(path: str, queue: multiprocessing.Queue) -> None:
    with HistoryStore(Path(path)) as store:
        queue.put(store.begin_run(names=["auth"]))


def test_processes_opening_a_new_history_at_once_create_it_once(tmp_path: Path) -> None:
    path = history_path(tmp_path)
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_open_and_begin, args=(str(path), queue)) for _ in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    ids = sorted(queue.get(timeout=5) for _ in procs)
    assert ids == ["r1", "r2", "r3", "r4"]
    assert not list(tmp_path.glob("*.bak"))  # a new file is created, not upgraded
