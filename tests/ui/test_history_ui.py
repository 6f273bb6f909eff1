"""The dashboard and the run history: runs recorded, the baseline beside a run, replays of
recorded runs, and `watch k6 FILE` on an NDJSON file the test writes as k6 would.

Real runs against a demo target on a free loopback port (two VUs for two seconds), a real SQLite
history in the test's state folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from ccplate_tui.history.legacy import open_history
from ccplate_tui.history.store import history_path
from ccplate_tui.k6.ndjson_reader import NdjsonTail
from ccplate_tui.ui.app import CcplateApp
from ccplate_tui.ui.load_pane import LoadPane
from ccplate_tui.ui.messages import LoadViewUpdated, RunFinished
from ccplate_tui.ui.screens.history_screen import HistoryScreen
from ccplate_tui.ui.watch_command import add_watch_parser, build_watch_app
from ccplate_tui.ui.widgets.request_table import DELTA_COLUMN, RequestTable
from tests.test_k6_ndjson_reader import build_stream
from tests.ui.app_fixtures import SIZE, MessageLog, demo_target, make_app, wait_for, write_config

__all__ = ["demo_target"]  # a fixture, imported for pytest


async def _run(app: CcplateApp, pilot, log: MessageLog, names: tuple[str, ...]) -> None:
    """Start `names` from the Load pane and wait until the app has handled the end."""
    before = len(log.of(RunFinished))
    app.query_one(LoadPane).post_message(LoadPane.StartRequested(names))
    await wait_for(pilot, lambda: app.run_active, what="the run to start")
    await wait_for(
        pilot, lambda: len(log.of(RunFinished)) > before, timeout=60, what="the run to end"
    )
    await wait_for(pilot, lambda: app._run_done.is_set(), what="the engine thread to end")
    await pilot.pause()


@pytest.mark.slow
async def test_dashboard_runs_are_recorded_with_baseline_and_replayable(
    demo_target: str, tmp_path: Path
) -> None:
    app = make_app(write_config(tmp_path, demo_target))
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        assert "engine: built-in" in app.sub_title
        await pilot.press("2")
        await _run(app, pilot, log, ("quick",))
        with open_history(app.state_dir) as store:
            runs = store.runs()
            assert len(runs) == 1  # recorded once: not again as an outcome-only record
            first = runs[0]
            assert first.status == "finished" and first.engine == "built-in"
            assert first.names == ("quick",) and first.interval_count >= 2
            assert first.thresholds and all(t.ok for t in first.thresholds)
            # The intervals hold the histograms: the run's p95 can be recomputed from them.
            assert store.totals(first.id).select("http_req_duration").count > 0
            store.set_baseline("quick", first.id)
        pane = app.query_one(LoadPane)
        assert pane.baseline is None  # no baseline when the first run started

        # The second run is drawn against the first: a p95 line and a delta column.
        await _run(app, pilot, log, ("quick",))
        await wait_for(pilot, lambda: pane.baseline is not None, what="the baseline overlay")
        assert pane.baseline.run_id == first.id and pane.baseline.points
        assert "health" in pane.baseline.p95_by_name
        table = app.query_one(RequestTable)
        labels = [str(c.label) for c in table.columns.values()]
        assert labels[-1] == DELTA_COLUMN
        health = next(row for row in pane.latest.requests if row.name == "health")
        delta = str(table.get_cell(health.key, list(table.columns)[-1]))
        assert delta.endswith("%")
        with open_history(app.state_dir) as store:
            second = store.runs()[0]
            assert second.id != first.id and second.baseline_for in (None, {})  # no relative
            assert second.status == "finished"

        # The history screen lists both; enter opens the highlighted (newest) one as a replay.
        await pilot.press("h")
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await wait_for(pilot, lambda: screen.rows is not None, what="the history rows")
        assert [r.run_id for r in screen.rows] == [second.id, first.id]
        assert all(r.thresholds_ok is True and r.p95_ms for r in screen.rows)
        assert screen.query_one(DataTable).row_count == 2
        await pilot.press("down", "enter")  # the older run: the baseline itself
        await wait_for(pilot, lambda: app.replay is not None, what="the replay")
        replay = app.replay
        assert replay.run_id == first.id and len(replay.views) == first.interval_count
        assert app.sub_title.endswith(f"replay of {first.id}")
        assert replay.index == len(replay.views) - 1
        assert pane.latest is replay.views[-1] and "replay of" in pane._state()
        # Its replayed totals are the recorded run's.
        assert pane.latest.total_requests == first.summary["requests"]

        await pilot.press("home")
        assert app.replay.index == 0 and pane.latest is replay.views[0]
        assert len(pane.history) == 1
        await pilot.press("right_square_bracket")
        assert app.replay.index == 1 and len(pane.history) == 2
        await pilot.press("left_square_bracket", "left_square_bracket")  # stops at the first
        assert app.replay.index == 0
        await pilot.press("end")
        assert app.replay.index == len(replay.views) - 1
        await pilot.press("escape")
        assert app.replay is None and "engine: built-in" in app.sub_title


async def test_a_stop_from_the_dashboard_is_annotated(demo_target: str, tmp_path: Path) -> None:
    app = make_app(write_config(tmp_path, demo_target))
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        app.start_run(("long",))
        await wait_for(pilot, lambda: log.of(LoadViewUpdated), timeout=30, what="an interval")
        app.stop_run()
        await wait_for(pilot, lambda: log.of(RunFinished), timeout=40, what="the stopped run")
        await wait_for(pilot, lambda: app._run_done.is_set(), what="the engine thread to end")
    with open_history(tmp_path / "state") as store:
        (run,) = store.runs()
        notes = store.annotations(run.id)
        assert [a.kind for a in notes] == ["stop"]
        assert "stopped from the dashboard" in notes[0].text
        assert run.status != "running" and run.interval_count >= 1


async def test_a_damaged_history_is_reported_and_the_run_goes_on(
    demo_target: str, tmp_path: Path
) -> None:
    app = make_app(write_config(tmp_path, demo_target))
    damaged = history_path(app.state_dir)
    damaged.parent.mkdir(parents=True, exist_ok=True)
    garbage = b"this is not a database\n" * 100
    damaged.write_bytes(garbage)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await _run(app, pilot, log, ("quick",))
        result = log.of(RunFinished)[0].result
        assert result.stopped is None and not result.thresholds_failed
        notices = log.notices()
        assert any("run history is unavailable" in n and str(damaged) in n for n in notices)
        # One notice about the history, not a second one from the fallback record.
        assert not any("could not record" in n for n in notices)
        # The history screen says so too, instead of failing.
        await pilot.press("h")
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await wait_for(pilot, lambda: screen.rows is not None, what="the history screen")
        assert screen.error and "cannot be read" in screen.error and screen.rows == []
    assert damaged.read_bytes() == garbage  # never deleted nor rewritten


def _watch_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_watch_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["watch", "k6", *argv])


async def test_watch_k6_follows_a_growing_ndjson_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_to: list[int] = []
    """How far into the file the watch has read, after each of its reads."""
    read = NdjsonTail.read

    def read_and_note(self: NdjsonTail, *args: Any, **kwargs: Any) -> list[tuple[int, bytes]]:
        lines = read(self, *args, **kwargs)
        read_to.append(self.offset)
        return lines

    monkeypatch.setattr(NdjsonTail, "read", read_and_note)
    lines, expected = build_stream(seconds=6, per_second=7)
    path = tmp_path / "k6.ndjson"
    half = len(lines) // 2
    path.write_text("\n".join(lines[:half]) + "\n", encoding="utf-8")
    app = build_watch_app(_watch_args(str(path), "--state", str(tmp_path / "state")))
    assert isinstance(app, CcplateApp)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        assert app.sub_title.endswith(f"engine: k6 (watching {path})")
        pane = app.query_one(LoadPane)
        assert pane.locked and pane.running
        await wait_for(pilot, lambda: log.of(LoadViewUpdated), what="the first interval")
        seen = log.of(LoadViewUpdated)[-1].view.total_requests
        assert 0 < seen < sum(expected["reqs"].values())
        # k6 goes on writing (a partial last line first): the dashboard follows.
        rest = "\n".join(lines[half:]) + "\n"
        with path.open("a", encoding="utf-8") as out:
            out.write(rest[:37])
            out.flush()
            partial = path.stat().st_size
            await wait_for(
                pilot,
                lambda: max(read_to, default=0) >= partial,
                what="the watch to read the partial line",
            )
            out.write(rest[37:])
        await wait_for(
            pilot,
            lambda: log.of(LoadViewUpdated)[-1].view.total_requests > seen,
            what="later intervals",
        )
        view = log.of(LoadViewUpdated)[-1].view
        assert {r.name for r in view.requests} == {"home", "login"}
        # Starting or stopping a run is not possible here.
        app.start_run(("anything",))
        app.stop_run()
        await pilot.pause()
        assert not app.run_active and app.registry.current() is None
        refusals = [n for n in log.notices() if "runs are started and stopped by the k6" in n]
        assert len(refusals) == 2
        assert pane.check_action("start", ()) is None and pane.check_action("stop", ()) is None


def test_watch_k6_bad_usage_exits_2(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "no-such-folder" / "k6.ndjson"
    assert build_watch_app(_watch_args(str(missing))) == 2
    assert "no-such-folder" in capsys.readouterr().err
    config = write_config(tmp_path, "http://127.0.0.1:9")
    path = tmp_path / "k6.ndjson"
    assert build_watch_app(_watch_args(str(path), "nope", "--config", str(config))) == 2
    assert "nope" in capsys.readouterr().err
    assert build_watch_app(_watch_args(str(path), "quick")) == 2
    assert "--config" in capsys.readouterr().err


async def test_a_damaged_sqlite_history_is_moved_aside_and_the_dashboard_says_so(
    demo_target: str, tmp_path: Path
) -> None:
    """A real history with random bytes mid-file: the dashboard's run never writes into it, it
    is kept aside byte for byte, and the notice names both files."""
    from tests.test_history_integrity import _damaged

    app = make_app(write_config(tmp_path, demo_target))
    path, before, _mtime = _damaged(app.state_dir, "random-4k-mid-file")
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await _run(app, pilot, log, ("quick",))
        notices = log.notices()
    assert any(str(path) in n and ".damaged-" in n for n in notices), notices
    companions = ("-wal", "-shm", "-journal")
    kept = [
        p for p in path.parent.glob("history.sqlite3.damaged-*") if not p.name.endswith(companions)
    ]
    assert kept and kept[0].read_bytes() == before
    with open_history(app.state_dir) as store:  # type: ignore[union-attr]
        assert [run.names for run in store.runs()] == [("quick",)]
