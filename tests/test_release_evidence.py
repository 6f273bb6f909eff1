"""The verdict names its evidence, calls a rehearsal a rehearsal, and never passes a plan row that
nothing measured: the criteria, then `ccplate-tui verdict` on real history files (runs recorded by
a real `ccplate-tui run` against the demo target, or through the history store API)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

import ccplate_tui.release.plan_measures as plan_measures_module
from ccplate_tui.checklist.operations import begin_step, finish_step
from ccplate_tui.checklist.outcome import StepOutcome
from ccplate_tui.checklist.state import ChecklistStore
from ccplate_tui.cli import main
from ccplate_tui.config.loader import load_config
from ccplate_tui.load.run_records import RunRecord, ThresholdRecord, record_from_result, record_run
from ccplate_tui.release.criteria import (
    ChecklistProgress,
    PlanMeasures,
    SentryCapture,
    evaluate_release,
)
from ccplate_tui.release.evidence import Evidence
from ccplate_tui.release.plan_rows import (
    AVAILABILITY_UNMEASURED,
    DATABASE_UNMEASURED,
    Measurement,
    SentryWiring,
)
from ccplate_tui.sentry.last_results import CAPTURE_FILE, COMPATIBILITY_FILE, save_result
from tests.ui.app_fixtures import QUICK_RUN, demo_target
from tests.ui.overview_fixtures import live_view, run_result, spread

__all__ = ["demo_target"]  # a fixture, imported for pytest

HEALTHY = spread(1000, 40.0, 300.0)
SENTRY_OK = SentryCapture(True, "event received (HTTP 200)", "ok")
DONE = ChecklistProgress(21, 21)
WIRED = SentryWiring(7, 7, (), None, Evidence("Sentry compatibility check"))
MEASURED = PlanMeasures(
    availability=Measurement(0.9995, Evidence("probe window", duration=3600.0), count=2000),
    database_load=Measurement(31.0, Evidence("source db_cpu", run_id="r1")),
    error_capture=Measurement(1.0, Evidence("Sentry event API"), count=40),
)
ALL_CHECKS = {"sentry": SENTRY_OK, "checklist": DONE, "wiring": WIRED, "measures": MEASURED}


def by_name(verdict) -> dict:
    return {c.name: c for c in verdict.criteria}


# -- the criteria ------------------------------------------------------------------------------


def test_every_criterion_names_its_run_start_duration_and_time_scale() -> None:
    record = record_from_result(run_result(HEALTHY), ["mixed"], run_id="r7")
    verdict = evaluate_release(record, **ALL_CHECKS)  # type: ignore[arg-type]
    assert verdict.go is True and verdict.word == "GO"
    for name in ("Response time", "Error rate", "Load thresholds"):
        ev = by_name(verdict)[name].evidence
        assert (ev.run_id, ev.started_at, ev.duration, ev.time_scale) == (
            "r7",
            1_750_000_000.0,
            120.0,
            1.0,
        )
        assert ev.rehearsal is False
        assert ev.text() == "run r7 · 2025-06-15 15:06Z · 2m0s · time scale 1"
    assert by_name(verdict)["Availability"].evidence.source == "probe window"


def test_a_scaled_run_is_go_rehearsal_at_best_never_go() -> None:
    record = record_from_result(run_result(HEALTHY), ["mixed"], run_id="r3", time_scale=0.05)
    verdict = evaluate_release(record, **ALL_CHECKS)  # type: ignore[arg-type]
    assert verdict.go is False and verdict.rehearsal is True
    assert verdict.word == "GO (REHEARSAL)"
    assert verdict.reasons == ("load run r3 ran at time scale 0.05 (2m0s of a 40m0s plan)",)
    assert verdict.headline.startswith("Rehearsal only: load run r3")
    ev = by_name(verdict)["Response time"].evidence
    assert ev.rehearsal and ev.text().endswith("time scale 0.05 of 40m0s · REHEARSAL")
    # A failing criterion still makes it NO-GO: rehearsal is the best a scaled run can reach.
    failing = evaluate_release(
        record_from_result(run_result([900.0] * 100), ["mixed"], time_scale=0.05), **ALL_CHECKS
    )  # type: ignore[arg-type]
    assert failing.word == "NO-GO" and failing.rehearsal is False


def test_a_dashboard_run_is_told_its_id_and_scale() -> None:
    verdict = evaluate_release(
        run_result(HEALTHY),
        run_id="r9",
        time_scale=0.1,
        **ALL_CHECKS,  # type: ignore[arg-type]
    )
    assert verdict.word == "GO (REHEARSAL)"
    assert by_name(verdict)["Load thresholds"].evidence.run_id == "r9"


def test_a_rehearsed_checklist_timer_is_a_rehearsal() -> None:
    checks = dict(ALL_CHECKS, checklist=ChecklistProgress(21, 21, ("monitor_errors at 0.01",)))
    verdict = evaluate_release(run_result(HEALTHY), **checks)  # type: ignore[arg-type]
    assert verdict.word == "GO (REHEARSAL)"
    assert verdict.reasons == ("deploy checklist: rehearsed: monitor_errors at 0.01",)
    assert by_name(verdict)["Deploy checklist"].evidence.rehearsal is True


def test_unmeasured_plan_rows_hold_the_release_and_say_what_would_measure_them() -> None:
    checks = dict(ALL_CHECKS, measures=PlanMeasures())
    verdict = evaluate_release(run_result(HEALTHY), **checks)  # type: ignore[arg-type]
    assert verdict.word == "NO-GO" and verdict.rehearsal is False
    assert verdict.headline == "Incomplete: 3 plan criteria not measured"
    rows = by_name(verdict)
    for name in ("Availability", "Database load", "Error capture"):
        assert (rows[name].status, rows[name].value, rows[name].plan) == (
            "not_measured",
            "not measured",
            True,
        )
    assert rows["Availability"].reason == AVAILABILITY_UNMEASURED
    assert "add a [sources.db_cpu] source" in DATABASE_UNMEASURED
    assert [c.name for c in verdict.not_measured] == [
        "Availability",
        "Database load",
        "Error capture",
    ]
    # Even a scaled run cannot reach GO (REHEARSAL) past them.
    scaled = record_from_result(run_result(HEALTHY), ["mixed"], time_scale=0.05)
    assert evaluate_release(scaled, **checks).word == "NO-GO"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("measures", "row", "status", "value"),
    [
        (PlanMeasures(availability=Measurement(1.0, Evidence("probe window"), count=20)),
         "Availability", "unknown", "100.00% of 20 probes"),
        (PlanMeasures(availability=Measurement(0.998, Evidence("probe window"), count=2000)),
         "Availability", "fail", "99.80% of 2,000 probes"),
        (PlanMeasures(database_load=Measurement(72.5, Evidence("source db_cpu"))),
         "Database load", "fail", "peak 72.5% CPU"),
        (PlanMeasures(error_capture=Measurement(0.8, Evidence("Sentry"), 50, "40 of 50 errors")),
         "Error capture", "fail", "40 of 50 errors"),
    ],
)  # fmt: skip
def test_measured_plan_rows_are_judged(
    measures: PlanMeasures, row: str, status: str, value: str
) -> None:
    full = {
        "availability": measures.availability or MEASURED.availability,
        "database_load": measures.database_load or MEASURED.database_load,
        "error_capture": measures.error_capture or MEASURED.error_capture,
    }
    checks = dict(ALL_CHECKS, measures=PlanMeasures(**full))
    verdict = evaluate_release(run_result(HEALTHY), **checks)  # type: ignore[arg-type]
    assert (by_name(verdict)[row].status, by_name(verdict)[row].value) == (status, value)
    assert verdict.word == "NO-GO"


def test_sentry_wiring_capped_or_missing_fails() -> None:
    capped = SentryWiring(6, 7, ("request errors",), "no onRequestError", Evidence("check"))
    verdict = evaluate_release(run_result(HEALTHY), **dict(ALL_CHECKS, wiring=capped))  # type: ignore[arg-type]
    wiring = by_name(verdict)["Sentry wiring"]
    assert (wiring.status, wiring.value) == ("fail", "6 of 7 paths, capped at partial")
    assert verdict.reasons == ("Sentry wiring capped at partial: no onRequestError",)


def test_an_interrupted_run_is_shown_beside_the_last_complete_one() -> None:
    complete = record_from_result(run_result(HEALTHY), ["mixed"], run_id="r1")
    cut = record_from_result(run_result(HEALTHY, stopped="interrupted"), ["mixed"], run_id="r2")
    verdict = evaluate_release(cut, last_complete=complete, **ALL_CHECKS)  # type: ignore[arg-type]
    assert verdict.go is True  # judged on r1; r2 proved nothing either way
    assert by_name(verdict)["Load thresholds"].evidence.run_id == "r1"
    assert verdict.latest is not None
    assert (verdict.latest.run_id, verdict.latest.state) == ("r2", "interrupted")
    # Without a complete run the interrupted one is judged, and fails.
    alone = evaluate_release(cut, **ALL_CHECKS)  # type: ignore[arg-type]
    assert alone.word == "NO-GO" and alone.latest is None


def test_a_running_run_is_shown_beside_the_last_complete_one_and_holds_the_verdict() -> None:
    complete = record_from_result(run_result(HEALTHY), ["mixed"], run_id="r1")
    view = live_view([900.0] * 50, elapsed=30.0)
    verdict = evaluate_release(view, run_id="r2", last_complete=complete, **ALL_CHECKS)  # type: ignore[arg-type]
    assert by_name(verdict)["Response time"].evidence.run_id == "r1"
    assert by_name(verdict)["Response time"].status == "pass"
    assert verdict.latest is not None and verdict.latest.state == "running"
    assert verdict.word == "NO-GO"
    assert verdict.reasons[0] == (
        "Load run r2 still in progress: the criteria are from the last complete run"
    )


# -- `ccplate-tui verdict` on real history files -------------------------------------------------

CHECKLIST = f"""
[checklist]
title = "Deploy"

[[checklist.phases]]
id = "watch"
title = "Watch"

[[checklist.phases.steps]]
id = "monitor"
title = "Monitor error rates"
kind = "command"
argv = [{json.dumps(sys.executable)}, "-c", "pass"]
"""

WIRING_DOC = {
    "verdict": "supported",
    "instrumentation_calls_init": True,
    "wiring": {
        "layout": "ccplate",
        "paths": [
            {"key": "server", "label": "server init", "status": "ok"},
            {"key": "request", "label": "request errors", "status": "ok"},
            {"key": "boundary", "label": "error boundary", "status": "not_needed"},
        ],
        "verdict_cap": None,
    },
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_target: str) -> Path:
    config = tmp_path / "scenarios.toml"
    config.write_text(f'[target]\nbase_url = "{demo_target}"\n{QUICK_RUN}{CHECKLIST}', "utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CCPLATE_TUI_STATE_DIR", raising=False)
    state = tmp_path / ".ccplate"
    save_result(state, CAPTURE_FILE, {"delivered": True, "event_id": "e1" * 16,
                                      "sent_at": "2026-12-03T10:00:00Z"})  # fmt: skip
    save_result(state, COMPATIBILITY_FILE, WIRING_DOC)
    store = ChecklistStore(state)
    checklist = load_config(config).checklist
    begin_step(store, checklist, "monitor", "alice")
    finish_step(store, checklist, "monitor", "alice", StepOutcome("passed", "watched", {}))
    return tmp_path


def verdict(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["verdict", *argv])
    return code, capsys.readouterr().out


def measured(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand in for measured plan rows (tests/test_plan_criteria_demo.py measures them for
    real), so these tests judge the verdict's other inputs."""
    monkeypatch.setattr(plan_measures_module, "plan_measures", lambda *_: MEASURED)


def test_verdict_json_carries_every_row_with_target_value_status_and_evidence(
    project: Path, capsys
) -> None:
    assert main(["run", "quick", "--time-scale", "0.5"]) == 0
    capsys.readouterr()
    code, out = verdict(capsys, "--json")
    document = json.loads(out)
    assert code == 1 and document["verdict"] == "NO-GO"
    assert document["headline"] == "Incomplete: 3 plan criteria not measured"
    assert document["not_measured"] == ["Availability", "Database load", "Error capture"]
    rows = {c["name"]: c for c in document["criteria"]}
    assert list(rows) == [
        "Response time", "Error rate", "Availability", "Database load", "Error capture",
        "Load thresholds", "Error tracking", "Sentry wiring", "Deploy checklist",
    ]  # fmt: skip
    assert [c["name"] for c in document["criteria"] if c["kind"] == "plan"] == list(rows)[:5]
    for row in rows.values():
        assert {"target", "value", "status", "evidence", "reason"} <= set(row)
    assert rows["Availability"]["status"] == "not_measured"
    assert "no availability probes recorded" in rows["Availability"]["reason"]
    assert "[sources.db_cpu]" in rows["Database load"]["reason"]
    run = rows["Response time"]["evidence"]
    assert run["run_id"] and run["run_id"] == document["load_run"]["run_id"]
    assert run["time_scale"] == 0.5 and run["rehearsal"] is True
    assert run["started"].endswith("Z") and 0.5 < run["duration_s"] < 10
    assert rows["Load thresholds"]["status"] == "pass"
    assert rows["Sentry wiring"]["value"] == "3 of 3 paths"
    assert rows["Sentry wiring"]["evidence"]["source"] == "Sentry compatibility check"
    assert rows["Error tracking"]["evidence"]["started"] == "2026-12-03T10:00:00Z"
    assert rows["Deploy checklist"]["value"] == "1 of 1 steps"


def test_a_scaled_run_exits_1_unless_the_rehearsal_is_accepted(
    project: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["run", "quick", "--time-scale", "0.5"]) == 0
    capsys.readouterr()
    measured(monkeypatch)
    code, out = verdict(capsys)
    assert code == 1
    assert out.startswith("GO (REHEARSAL): Rehearsal only: load run ")
    assert "ran at time scale 0.5" in out
    assert "pass --accept-rehearsal to exit 0 for it" in out
    assert "time scale 0.5 of" in out and "REHEARSAL" in out  # the evidence line
    code, out = verdict(capsys, "--accept-rehearsal")
    assert code == 0 and out.startswith("GO (REHEARSAL)")
    assert "--accept-rehearsal" not in out
    document = json.loads(verdict(capsys, "--json", "--accept-rehearsal")[1])
    assert (document["verdict"], document["go"], document["rehearsal"]) == (
        "GO (REHEARSAL)",
        False,
        True,
    )
    assert document["rehearsal_accepted"] is True


def _record(state: Path, run_id: str, *, stopped: str | None = None, ago: float = 0.0) -> None:
    now = time.time() - ago
    record_run(
        state,
        RunRecord(
            run_id=run_id,
            scenarios=("quick",),
            started_at=now - 300,
            ended_at=now,
            stopped=stopped,
            requests=5000,
            p99_ms=120.0,
            error_fraction=0.0,
            thresholds=(ThresholdRecord("http_req_duration", "p(99)<500", True, 120.0),),
        ),
    )


def test_full_scale_evidence_is_plain_go_and_an_interrupted_run_is_shown_beside_it(
    project: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = project / ".ccplate"
    _record(state, "r1", ago=60)
    _record(state, "r2", stopped="interrupted")
    measured(monkeypatch)
    code, out = verdict(capsys)
    assert code == 0 and out.startswith("GO: All 9 criteria pass")
    assert "from run r1 · " in out and "5m0s · time scale 1" in out
    assert "Latest run, not judged: run r2 (interrupted)" in out
    document = json.loads(verdict(capsys, "--json")[1])
    assert document["load_run"]["run_id"] == "r1"
    assert document["latest_run"]["run_id"] == "r2"
    assert document["latest_run"]["state"] == "interrupted"


def test_a_rehearsed_checklist_timer_needs_accept_rehearsal(
    project: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = project / ".ccplate"
    _record(state, "r1")
    store = ChecklistStore(state)
    checklist = load_config(project / "scenarios.toml").checklist
    begin_step(store, checklist, "monitor", "alice")
    outcome = StepOutcome("passed", "60 rounds ok over 18 s", {"time_scale": 0.01})
    finish_step(store, checklist, "monitor", "alice", outcome)
    measured(monkeypatch)
    code, out = verdict(capsys)
    assert code == 1 and out.startswith("GO (REHEARSAL)")
    assert "rehearsed: monitor at time scale 0.01" in out
    assert verdict(capsys, "--accept-rehearsal")[0] == 0


def test_database_load_is_the_peak_of_the_runs_db_cpu_samples(tmp_path: Path) -> None:
    from ccplate_tui.history.legacy import open_history
    from ccplate_tui.load.metrics import MetricSet
    from ccplate_tui.load.run_records import latest_run
    from ccplate_tui.load.snapshot import IntervalSnapshot
    from ccplate_tui.load.source_samples import SourceSample

    store = open_history(tmp_path)
    assert store is not None
    with store:
        run_id = store.begin_run(names=("mixed",), time_scale=0.5)
        for index, value in enumerate((20.0, 47.5, None)):
            sample = SourceSample("db_cpu", value, None if value else "timed out", float(index))
            store.add_interval(
                run_id,
                IntervalSnapshot(index, float(index), index + 1.0, MetricSet(), sources=(sample,)),
            )
        store.finish_run(run_id, run_result(HEALTHY))
    record = latest_run(tmp_path)
    assert record is not None and record.run_id == run_id
    load = plan_measures_module.plan_measures(tmp_path, record).database_load
    assert load is not None and load.value == 47.5
    row = by_name(
        evaluate_release(record, measures=plan_measures_module.plan_measures(tmp_path, record))
    )
    db = row["Database load"]
    assert (db.status, db.value) == ("pass", "peak 47.5% CPU")
    assert db.evidence.run_id == run_id and db.evidence.rehearsal is True
    assert "2 of 3 samples answered" in db.evidence.text()
    assert row["Availability"].status == "not_measured"


def test_a_run_still_recording_is_shown_beside_the_last_complete_one(
    project: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ccplate_tui.history.legacy import open_history

    state = project / ".ccplate"
    _record(state, "r1", ago=60)
    store = open_history(state)
    assert store is not None
    with store:  # begun by this (live) process: the history keeps it `running`
        going = store.begin_run(names=("quick",), time_scale=0.1)
    measured(monkeypatch)
    code, out = verdict(capsys)
    assert code == 1 and out.startswith(f"NO-GO: Load run {going} still in progress")
    assert f"Latest run, not judged: run {going} (running)" in out
    assert "from run r1 · " in out
    document = json.loads(verdict(capsys, "--json")[1])
    assert document["latest_run"]["state"] == "running"
    assert document["load_run"]["run_id"] == "r1"
