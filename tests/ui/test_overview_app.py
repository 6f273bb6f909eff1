"""The Overview in the real dashboard: a real run against the demo target on loopback.

The app owns the run and hands the Overview `evaluate_release(...)` of each view and of the
result; these tests check what the Overview then shows, while running and at the end.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from ccplate_tui.config.loader import load_config
from ccplate_tui.config.timescale import with_time_scale
from ccplate_tui.load.run_records import latest_run
from ccplate_tui.release.criteria import evaluate_release
from ccplate_tui.ui.app import CcplateApp
from ccplate_tui.ui.messages import LoadViewUpdated, RunFinished
from ccplate_tui.ui.overview_pane import BigWord, CriterionRow, OverviewPane
from tests.ui.app_fixtures import (
    SIZE,
    MessageLog,
    demo_target,
    make_app,
    wait_for,
    write_config,
)

__all__ = ["demo_target"]  # a fixture, imported for pytest


def shown_evidence(pane: OverviewPane) -> dict[str, str]:
    return {
        row.criterion.name: str(list(row.query_children(Static))[3].render())
        for row in pane.query(CriterionRow)
    }


def shown_values(pane: OverviewPane) -> dict[str, str]:
    return {
        row.criterion.name: str(list(row.query_children(Static))[2].render())
        for row in pane.query(CriterionRow)
    }


async def test_a_finished_run_shows_its_verdict(demo_target: str, tmp_path: Path) -> None:
    app = make_app(write_config(tmp_path, demo_target))
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        overview = app.query_one(OverviewPane)
        assert overview.verdict == evaluate_release(None)
        app.start_run(("quick",))
        await wait_for(pilot, lambda: log.of(RunFinished), timeout=60, what="the run to finish")
        await pilot.pause()
        result = log.of(RunFinished)[0].result
        record = latest_run(tmp_path / "state")
        assert record is not None
        expected = evaluate_release(result, run_id=record.run_id)
        assert [(c.name, c.value, c.status) for c in overview.verdict.criteria] == [
            (c.name, c.value, c.status) for c in expected.criteria
        ]
        # No Sentry check and no checklist yet: never a go, and it says why.
        assert not expected.go and overview.query_one(BigWord).word == "NO-GO"
        assert "in progress" not in expected.headline
        values = shown_values(overview)
        assert values == {c.name: c.value for c in expected.criteria}
        # Every load criterion names the run the history recorded.
        evidence = shown_evidence(overview)
        assert evidence["Response time"].startswith(f"run {record.run_id} · ")
        assert evidence["Response time"].endswith("time scale 1")
        assert evidence["Availability"].startswith("no availability probes recorded")
        assert values["Response time"].startswith("p99 ")  # measured, not "no run yet"
        assert values["Load thresholds"] == "2 of 2 pass"


async def test_a_stopped_run_is_in_progress_then_no_go(demo_target: str, tmp_path: Path) -> None:
    app = make_app(write_config(tmp_path, demo_target))
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        overview = app.query_one(OverviewPane)
        app.start_run(("long",))
        await wait_for(pilot, lambda: log.of(LoadViewUpdated), timeout=60, what="a first view")
        await pilot.pause()
        if not log.of(RunFinished):
            assert overview.verdict.headline.startswith("Load run in progress")
            headline = overview.query_one("#headline", Static)
            assert str(headline.render()).startswith("Load run in progress")
        app.stop_run()
        await wait_for(pilot, lambda: log.of(RunFinished), timeout=40, what="the stopped run")
        await pilot.pause()
        assert log.of(RunFinished)[0].result.stopped == "interrupted"
        assert not overview.verdict.go
        assert any("interrupted before its planned end" in r for r in overview.verdict.reasons)
        assert {c for c in overview.query_one("#verdict").classes if c.startswith("-")} == {"-fail"}


@pytest.mark.slow
async def test_a_scaled_run_then_an_interrupted_one_show_their_evidence(
    demo_target: str, tmp_path: Path
) -> None:
    """A dashboard run at --time-scale 0.5 is a rehearsal on screen; a later run stopped early
    is shown beside it, and the criteria stay on the complete one."""
    config = with_time_scale(load_config(write_config(tmp_path, demo_target)), 0.5)
    app = CcplateApp(config, workers=1, state_dir=tmp_path / "state", time_scale=0.5)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        overview = app.query_one(OverviewPane)
        app.start_run(("quick",))
        await wait_for(pilot, lambda: log.of(RunFinished), timeout=60, what="the scaled run")
        await pilot.pause()
        first = latest_run(tmp_path / "state")
        assert first is not None and first.time_scale == 0.5
        evidence = shown_evidence(overview)
        assert evidence["Load thresholds"].startswith(f"run {first.run_id} · ")
        assert "time scale 0.5 of" in evidence["Load thresholds"]
        assert evidence["Load thresholds"].endswith("REHEARSAL")

        seen = len(log.of(LoadViewUpdated))
        app.start_run(("long",))
        await wait_for(
            pilot, lambda: len(log.of(LoadViewUpdated)) > seen, timeout=60, what="a live view"
        )
        await pilot.pause()
        # While it runs, the criteria are the complete run's and the live one is beside them.
        assert overview.verdict.latest is not None
        assert overview.verdict.latest.state == "running"
        assert shown_evidence(overview)["Response time"].startswith(f"run {first.run_id} · ")
        app.stop_run()
        await wait_for(pilot, lambda: len(log.of(RunFinished)) > 1, timeout=40, what="the stop")
        await pilot.pause()
        latest = overview.verdict.latest
        assert latest is not None and latest.state == "interrupted"
        assert latest.run_id is not None and latest.run_id != first.run_id
        beside = str(overview.query_one("#latest-run", Static).render())
        assert beside.startswith(f"Latest run, not judged: run {latest.run_id} (interrupted)")
        assert shown_evidence(overview)["Response time"].startswith(f"run {first.run_id} · ")
