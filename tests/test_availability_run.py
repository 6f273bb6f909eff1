"""The availability probe in whole runs: the engine recording its probes per interval (history,
`--out jsonl`, the summary), a run killed with kill -9, the k6 engine, and the v4 history upgrade
(intervals.probes, runs.capture). Every wait is a poll with a deadline."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ccplate_tui.config.loader import load_config
from ccplate_tui.history.recorder import HistoryRecorder, config_json
from ccplate_tui.history.schema import MIGRATIONS, SCHEMA_VERSION
from ccplate_tui.history.store import HistoryStore, UnknownRun, history_path
from ccplate_tui.k6.runner import K6Run
from ccplate_tui.load.engine import LoadRun, resolve_plan
from ccplate_tui.load.metrics import MetricSet
from ccplate_tui.load.metrics_codec import metric_set_to_json
from ccplate_tui.load.ndjson import NdjsonWriter
from ccplate_tui.load.probe_tally import ProbeTally, total_tally, truncated_percent
from ccplate_tui.load.snapshot import IntervalSnapshot
from ccplate_tui.load.source_samples import SourceSample
from ccplate_tui.load.summary import render_summary
from tests.availability_fixtures import HealthServer, health, health_server, server, wait_for
from tests.http_fixtures import FixtureServer, fixture_server
from tests.k6_export_helpers import requires_k6

__all__ = ["health", "health_server", "server"]  # fixtures, imported for pytest


# --- a whole run: history, jsonl, summary -------------------------------------------------------


def _run_config(tmp_path: Path, target: str, probe_url: str, duration: str = "2s") -> Path:
    path = tmp_path / "scenarios.toml"
    path.write_text(
        f"""
[target]
base_url = "{target}"
[options]
interval = "250ms"
[availability]
url = "{probe_url}"
every = "20ms"
[scenarios.a]
executor = "constant-vus"
vus = 1
duration = "{duration}"
[[scenarios.a.requests]]
path = "/ok"
"""
    )
    return path


def test_a_run_probes_records_exports_and_summarises(
    health: HealthServer, server: FixtureServer, tmp_path: Path
) -> None:
    health.fail_next = 2
    config = load_config(_run_config(tmp_path, server.url, health.url))
    plan = resolve_plan(config, ["a"])
    out = tmp_path / "points.jsonl"
    with (
        HistoryStore(history_path(tmp_path / "state")) as store,
        NdjsonWriter(out, plan.thresholds) as writer,
    ):
        recorder = HistoryRecorder(store, config, plan, ["a"])
        run = LoadRun(
            config,
            plan,
            workers=1,
            observers=[recorder, lambda u: writer.write_snapshot(u.snapshot)],
        )
        result = run.run()
        assert recorder.finish(result)
        intervals = store.intervals(recorder.run_id)
        stored = store.availability(recorder.run_id)
        recorded_config = store.run(recorder.run_id).config  # type: ignore[union-attr]

    total = result.probes
    assert total is not None and total.sent >= 3
    assert total.failures == {"HTTP 503": 2} and total.ok == total.sent - 2
    assert all(s.probes is not None for s in intervals)
    assert total_tally(s.probes for s in intervals) == total == stored
    assert recorded_config["availability"]["url"] == health.url
    assert recorded_config["availability"]["every"] == 0.02

    records = [json.loads(line) for line in out.read_text().splitlines()]
    counters = {
        r["metric"]: r["data"]["type"]
        for r in records
        if r["type"] == "Metric" and r["metric"].startswith("availability")
    }
    assert counters == {
        "availability_probes": "counter",
        "availability_ok": "counter",
        "availability_failures": "counter",
    }

    def points(metric: str) -> list[dict]:
        return [r["data"] for r in records if r["type"] == "Point" and r["metric"] == metric]

    assert len(points("availability_probes")) == len(intervals)
    assert sum(p["value"] for p in points("availability_probes")) == total.sent
    assert sum(p["value"] for p in points("availability_ok")) == total.ok
    failures = points("availability_failures")
    assert {p["tags"]["reason"] for p in failures} == {"HTTP 503"}
    assert sum(p["value"] for p in failures) == 2

    text = render_summary(result)
    percent = truncated_percent(total.ok, total.sent)
    assert f"{percent} of {total.sent:,d} probes ok (GET {health.url} every 20ms, " in text
    assert "failed: HTTP 503 ×2" in text
    assert "not enough probes to support 99.9%" in text


def test_a_run_without_a_probe_records_none(server: FixtureServer, tmp_path: Path) -> None:
    path = _run_config(tmp_path, server.url, "/x", duration="500ms")
    path.write_text(path.read_text().replace('[availability]\nurl = "/x"\nevery = "20ms"\n', ""))
    config = load_config(path)
    assert config.availability is None
    plan = resolve_plan(config, ["a"])
    with HistoryStore(history_path(tmp_path / "state")) as store:
        recorder = HistoryRecorder(store, config, plan, ["a"])
        result = LoadRun(config, plan, workers=1, observers=[recorder]).run()
        assert result.probes is None and "AVAILABILITY" not in render_summary(result)
        assert store.availability(recorder.run_id) is None
        assert all(s.probes is None for s in store.intervals(recorder.run_id))
        assert "availability" not in config_json(config, plan)


def test_a_killed_run_keeps_its_probes(health: HealthServer, tmp_path: Path) -> None:
    with fixture_server() as target:
        health.fail_next = 3
        path = _run_config(tmp_path, target.url, health.url, duration="300s")
        state = tmp_path / "state"
        log = tmp_path / "run.log"
        with log.open("wb") as stderr:
            proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "ccplate_tui", "run", "--workers", "1", "a", "-q"),
                    *("--config", str(path), "--state", str(state)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        db = history_path(state)
        try:

            def probed() -> bool:
                if proc.poll() is not None:
                    pytest.fail(f"the run ended by itself ({proc.returncode}): {log.read_text()}")
                if not db.exists():
                    return False
                with HistoryStore(db) as reader:
                    tally = reader.availability("r1") if reader.run("r1") else None
                    return (
                        tally is not None and tally.sent >= 10 and reader.interval_count("r1") >= 4
                    )

            wait_for("ten probes recorded", probed, deadline=120, poll=0.2)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    with HistoryStore(db) as store:
        run = store.run("r1")
        assert run is not None and run.status == "interrupted"
        tally = store.availability("r1")
        assert tally is not None and tally.sent >= 10
        assert tally.failures == {"HTTP 503": 3} and tally.ok == tally.sent - 3
        per_interval = [s.probes for s in store.intervals("r1")]
        assert all(p is not None for p in per_interval)
        assert total_tally(per_interval) == tally
        assert [idx for idx, _ in store.probe_tallies("r1")] == list(range(len(per_interval)))


@requires_k6
def test_the_k6_engine_probes_too(
    health: HealthServer, server: FixtureServer, tmp_path: Path
) -> None:
    health.fail_next = 1
    config = load_config(_run_config(tmp_path, server.url, health.url))
    plan = resolve_plan(config, ["a"])
    seen: list[ProbeTally | None] = []
    run = K6Run(
        config, plan, keep_dir=tmp_path / "k6", observers=[lambda u: seen.append(u.snapshot.probes)]
    )
    assert "health" not in run.script  # the probe is ours, beside k6, not part of its script
    result = run.run()
    assert result.probes is not None and result.probes.sent >= 1
    assert result.probes.failures == {"HTTP 503": 1}
    assert seen and all(p is not None for p in seen)
    assert total_tally(seen) == result.probes


# --- the history: schema v4 ---------------------------------------------------------------------


def _make_v3(path: Path) -> None:
    """A schema v3 history as the previous release left it: one run with a source sample."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    for migrate in MIGRATIONS[:3]:
        migrate(db)
    db.execute("PRAGMA user_version = 3")
    db.execute(
        "INSERT INTO runs (id, seq, started_at, ended_at, status, engine, names, config, target, "
        "time_scale, summary, thresholds) VALUES ('r1', 1, 1000.0, 1002.0, 'finished', "
        "'built-in', '[\"a\"]', '{}', 'http://127.0.0.1:8787', 1.0, '{\"duration\": 2.0}', '[]')"
    )
    sample = json.dumps([{"name": "db_cpu", "value": 12.5, "at": 0.5, "wall_time": 1000.5}])
    db.execute(
        'INSERT INTO intervals (run_id, idx, start, "end", wall_time, metrics, progress, '
        "sources) VALUES ('r1', 0, 0.0, 1.0, 1001.0, ?, '[]', ?)",
        (json.dumps(metric_set_to_json(MetricSet())), sample),
    )
    db.execute("COMMIT")
    db.close()


def test_a_v3_history_is_backed_up_and_upgraded_to_v4(tmp_path: Path) -> None:
    assert SCHEMA_VERSION == 4
    path = history_path(tmp_path)
    _make_v3(path)
    with HistoryStore(path) as store:
        assert store.source_samples("r1")["db_cpu"][0].value == 12.5
        assert store.availability("r1") is None and store.probe_tallies("r1") == []
        assert store.capture("r1") is None
        store.set_capture("r1", {"errors": 12, "captured": 12, "api": "http://127.0.0.1/api"})
        assert store.capture("r1") == {"errors": 12, "captured": 12, "api": "http://127.0.0.1/api"}
        store.set_capture("r1", {"errors": 3, "captured": 2})
        assert store.capture("r1") == {"errors": 3, "captured": 2}
        with pytest.raises(UnknownRun):
            store.set_capture("r99", {"errors": 1})
        assert store.capture("r99") is None
        run_id = store.begin_run(names=["a"])
        tally = ProbeTally(4, 3, {"HTTP 503": 1}, 2000.0, 2000.75)
        store.add_interval(run_id, IntervalSnapshot(0, 0.0, 1.0, MetricSet(), probes=tally))
        store.add_interval(run_id, IntervalSnapshot(1, 1.0, 2.0, MetricSet(), probes=ProbeTally()))
        store.add_interval(
            run_id,
            IntervalSnapshot(
                2, 2.0, 3.0, MetricSet(), sources=(SourceSample("x", 1.0),), probes=None
            ),
        )
        assert [s.probes for s in store.intervals(run_id)] == [tally, ProbeTally(), None]
        assert store.availability(run_id) == tally
    backup = sqlite3.connect(tmp_path / "history.sqlite3.v3.bak")
    assert backup.execute("PRAGMA user_version").fetchone()[0] == 3
    assert "probes" not in {r[1] for r in backup.execute("PRAGMA table_info(intervals)")}
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 4
    assert "probes" in {r[1] for r in db.execute("PRAGMA table_info(intervals)")}
    assert "capture" in {r[1] for r in db.execute("PRAGMA table_info(runs)")}


def test_damaged_probes_or_capture_say_so(tmp_path: Path) -> None:
    path = history_path(tmp_path)
    with HistoryStore(path) as store:
        run_id = store.begin_run(names=["a"])
        store.add_interval(
            run_id, IntervalSnapshot(0, 0.0, 1.0, MetricSet(), probes=ProbeTally(1, 1))
        )
    db = sqlite3.connect(path)
    db.execute('UPDATE intervals SET probes = \'{"sent": 1, "ok": 5}\'')
    db.execute("UPDATE runs SET capture = '[1, 2]'")
    db.commit()
    db.close()
    with HistoryStore(path) as store:
        with pytest.raises(OSError, match="availability probes of interval 0 of run r1"):
            store.availability(run_id)
        with pytest.raises(OSError, match="capture count of run r1 is damaged"):
            store.capture(run_id)
