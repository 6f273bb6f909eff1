"""The plan rows' measurements read from the state folder: the checklist's health probes as
availability, Sentry counts of runs and drills as error capture, each with its evidence.

Real state files: checklist events through the checklist store, counts through the history store
and the drill's result file; no network here (tests/test_capture_drill.py sends real errors)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest

from ccplate_tui.checklist.operations import begin_step, finish_step
from ccplate_tui.checklist.outcome import StepOutcome
from ccplate_tui.checklist.probe_counts import checklist_probes
from ccplate_tui.checklist.progress import build_view
from ccplate_tui.checklist.state import ChecklistStore
from ccplate_tui.config.loader import load_config
from ccplate_tui.release import plan_rows
from ccplate_tui.release.plan_measures import _error_capture, plan_measures
from ccplate_tui.sentry.capture_count import CaptureCount
from ccplate_tui.sentry.capture_drill import DRILL_FILE, drill_passed, last_drill
from ccplate_tui.sentry.last_results import save_result

CONFIG = """
[target]
base_url = "http://127.0.0.1:9"

[scenarios.smoke]
executor = "shared-iterations"
requests = [{ path = "/api/health" }]

[checklist]
title = "Deploy"

[[checklist.phases]]
id = "checks"
title = "Checks"

[[checklist.phases.steps]]
id = "health"
title = "Health check"
kind = "http"
url = "http://127.0.0.1:9/api/health"

[[checklist.phases.steps]]
id = "watch"
title = "Watch 30 min"
kind = "timer"
duration = "30m"
every = "30s"
probes = [{ url = "http://127.0.0.1:9/api/health" }]

[[checklist.phases.steps]]
id = "signoff"
title = "Sign-off"
kind = "manual"
"""


@pytest.fixture
def config(tmp_path: Path):
    path = tmp_path / "scenarios.toml"
    path.write_text(CONFIG, "utf-8")
    return load_config(path)


def record(state: Path, config, step: str, outcome: StepOutcome) -> None:
    store = ChecklistStore(state)
    begin_step(store, config.checklist, step, "alice")
    finish_step(store, config.checklist, step, "alice", outcome)


def probes_of(state: Path, config):
    return checklist_probes(build_view(config.checklist, ChecklistStore(state).load().events))


def test_no_probe_steps_run_is_no_data(tmp_path: Path, config) -> None:
    assert probes_of(tmp_path, config) is None
    assert plan_measures(tmp_path, None, config.checklist).availability is None


def test_every_attempt_counts_and_a_timer_counts_its_probes(tmp_path: Path, config) -> None:
    record(tmp_path, config, "health", StepOutcome("failed", "HTTP 503", {"status": 503}))
    record(tmp_path, config, "health", StepOutcome("passed", "HTTP 200", {"status": 200}))
    started = "2026-12-03T10:00:00+00:00"
    record(
        tmp_path,
        config,
        "watch",
        StepOutcome("failed", "probe 1 failed", {"probes_run": 7, "started_at": started}),
    )
    record(
        tmp_path,
        config,
        "watch",
        StepOutcome(
            "passed",
            "60 rounds ok",
            {"probes_run": 60, "started_at": started, "time_scale": 0.01},
        ),
    )
    from ccplate_tui.checklist.operations import tick

    tick(ChecklistStore(tmp_path), config.checklist, "signoff", "alice")
    probes = probes_of(tmp_path, config)
    assert probes is not None
    # health: 1 of 2; watch: 6 of 7 (stopped at its failing probe) and 60 of 60.
    assert (probes.sent, probes.ok) == (69, 67)
    assert probes.steps == ("health", "watch")
    assert probes.rehearsed == ("watch at 0.01",)
    assert probes.first_at == datetime.fromisoformat(started).timestamp()  # the window's start
    measure = plan_measures(tmp_path, None, config.checklist).availability
    assert measure is not None and measure.count == 69
    assert measure.value == pytest.approx(67 / 69)
    assert (
        measure.evidence.rehearsal and "checklist steps (health, watch)" in measure.evidence.detail
    )
    # 69 probes cannot support 99.9 %: not enough data, never a pass.
    row = plan_rows.availability(measure)
    assert row.status == "unknown" and "not enough data" in (row.reason or "")
    assert "97.10% of 69 probes" in row.value


def test_a_reset_starts_the_count_again(tmp_path: Path, config) -> None:
    record(tmp_path, config, "health", StepOutcome("failed", "HTTP 503", {"status": 503}))
    from ccplate_tui.checklist.operations import reset

    reset(ChecklistStore(tmp_path), config.checklist, "alice", "checks", "redeploy")
    record(tmp_path, config, "health", StepOutcome("passed", "HTTP 200", {"status": 200}))
    probes = probes_of(tmp_path, config)
    assert probes is not None and (probes.sent, probes.ok) == (1, 1)


def count(kind: str, errors: int, events: int | None, at: float, **extra) -> CaptureCount:
    return CaptureCount(
        kind=kind,  # type: ignore[arg-type]
        errors=errors,
        events=events,
        window_start=at - 10,
        window_end=at,
        counted_at=at,
        api="the Sentry API at http://127.0.0.1:9/__sentry (organization o, project 1)",
        **extra,
    )


def test_capture_count_text_and_ratio() -> None:
    lost = count("capture drill", 100, 80, 1000.0)
    assert lost.ratio == pytest.approx(0.8) and lost.lost == 20
    assert lost.text() == "80 of 100 errors reached Sentry (80.00%, 20 lost)"
    extra = count("load run", 10, 12, 1000.0)
    assert extra.ratio == 1.0
    assert "2 more events than errors" in extra.text()
    missing = count("load run", 5, None, 1000.0, problem="no API token")
    assert missing.ratio is None and "not counted: no API token" in missing.text()
    assert CaptureCount.from_json(lost.to_json()) == lost
    assert CaptureCount.from_json({"kind": "load run"}) is None
    assert CaptureCount.from_json({"errors": "x", "window_start": 1, "window_end": 2}) is None


def test_the_newest_count_is_the_evidence_and_a_failed_count_says_why() -> None:
    run = count("load run", 50, 50, 1000.0, run_id="r3")
    drill = count("capture drill", 20, 16, 2000.0, detail="GET … × 20")
    measure, problem = _error_capture(run, drill)
    assert measure is not None and problem is None
    assert measure.value == pytest.approx(0.8) and measure.count == 20
    assert measure.evidence.source == "capture drill"
    row = plan_rows.error_capture(measure)
    assert row.status == "fail" and row.value == "16 of 20 errors (80.00%)"
    measure, _ = _error_capture(count("load run", 50, 50, 3000.0, run_id="r4"), drill)
    assert measure is not None and measure.value == 1.0 and measure.evidence.run_id == "r4"
    assert plan_rows.error_capture(measure).status == "pass"
    failed = count("load run", 12, None, 1000.0, run_id="r5", problem="no API token")
    measure, problem = _error_capture(failed, None)
    assert measure is None and problem is not None
    assert "run r5" in problem and "12 server errors" in problem and "no API token" in problem
    row = plan_rows.error_capture(measure, problem)
    assert row.status == "not_measured" and "no API token" in (row.reason or "")
    assert _error_capture(None, None) == (None, None)


def test_the_drill_file_round_trips_and_a_damaged_one_reads_as_no_drill(tmp_path: Path) -> None:
    drill = count("capture drill", 20, 20, time.time())
    save_result(tmp_path, DRILL_FILE, drill.to_json())
    assert last_drill(tmp_path) == drill and drill_passed(drill)
    assert plan_measures(tmp_path, None).error_capture is not None
    (tmp_path / "sentry" / DRILL_FILE).write_text("{not json", "utf-8")
    assert last_drill(tmp_path) is None
    assert not drill_passed(count("capture drill", 0, 0, 1.0))
    assert not drill_passed(count("capture drill", 5, None, 1.0, problem="x"))
