"""Real load runs from the dashboard against a demo target the test starts on loopback.

Each run is bounded: `quick` is two VUs for two seconds; `long` is always stopped by the test.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from textual.widgets import TabbedContent

from ccplate_tui.history.rows import Annotation
from ccplate_tui.history.store import HistoryStore, history_path
from ccplate_tui.load.summary import render_summary
from ccplate_tui.release.criteria import evaluate_release
from ccplate_tui.ui.app import closing_cause
from ccplate_tui.ui.load_pane import LoadPane
from ccplate_tui.ui.messages import LoadViewUpdated, RunFailed, RunFinished, RunStarted
from ccplate_tui.ui.overview_pane import OverviewPane
from ccplate_tui.ui.screens.quit_confirm import QuitConfirmScreen
from tests.ui.app_fixtures import (
    SIZE,
    MessageLog,
    child_pids,
    choose_in_palette,
    demo_target,
    free_port,
    make_app,
    no_new_children,
    wait_for,
    write_config,
)

__all__ = ["demo_target"]  # a fixture, imported for pytest


def recorded_stops(state: Path) -> list[Annotation]:
    """The stop and abort annotations of the one run recorded in `state`'s history."""
    with HistoryStore(history_path(state)) as store:
        (run,) = store.runs()
        assert run.status == "interrupted"
        return [a for a in store.annotations(run.id) if a.kind in ("stop", "abort")]


def the_end_record(state: Path) -> dict[str, object]:
    """The end record of the one run in `state`'s run registry: what its followers are told."""
    (live,) = (state / "load-runs").glob("*.jsonl")
    end = json.loads(live.read_text(encoding="utf-8").splitlines()[-1])
    assert end["type"] == "end"
    return end


async def test_a_run_streams_views_and_ends_with_the_summary(
    demo_target: str, tmp_path: Path
) -> None:
    app = make_app(write_config(tmp_path, demo_target))
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        load = app.query_one(LoadPane)
        await pilot.press("2")
        load.post_message(LoadPane.StartRequested(("quick",)))
        await wait_for(pilot, lambda: app.run_active, what="the run to start")
        assert load.running and load.run_names == ("quick",)
        await wait_for(pilot, lambda: log.of(RunFinished), timeout=60, what="the run to finish")
        await wait_for(pilot, lambda: not app.run_active, what="the engine thread to end")
        await pilot.pause()

        names = log.names()
        started = names.index("RunStarted")
        views = [i for i, n in enumerate(names) if n == "LoadViewUpdated"]
        finished = names.index("RunFinished")
        assert views and started < views[0] and views[-1] < finished
        assert "RunFailed" not in names
        view = log.of(LoadViewUpdated)[-1].view
        assert view.total_requests > 0 and view.requests[0].name == "health"

        result = log.of(RunFinished)[0].result
        assert result.scenario_names == ("quick",) and not result.thresholds_failed
        # What the widgets show is what the app handed them.
        assert load.result is result and load.latest is not None
        assert load.latest.total_requests >= view.total_requests
        assert not load.running
        assert app.last_result is result
        # The Overview judged the finished run, not a live interval.
        overview = app.query_one(OverviewPane)
        judged = evaluate_release(result)
        assert [(c.name, c.value, c.status) for c in overview.verdict.criteria] == [
            (c.name, c.value, c.status) for c in judged.criteria
        ]
        assert overview.verdict.criteria[0].evidence.run_id  # the history's id of this run
        assert overview.verdict.headline != "No load run yet"
        assert app.query_one("#tabs", TabbedContent).active == "load-tab"

        # The summary can be saved, as text and as k6's JSON export.
        app.save_summary()
        await pilot.pause()
        assert app.last_summary is not None
        text = app.last_summary.read_text(encoding="utf-8")
        assert "http_req_duration" in text and "quick" in text
        assert app.last_summary.with_suffix(".json").exists()
    # The run released the state folder for the next one.
    assert app.registry.current() is None


async def test_an_unknown_scenario_is_a_readable_error_and_the_next_run_works(
    demo_target: str, tmp_path: Path
) -> None:
    app = make_app(write_config(tmp_path, demo_target))
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        load = app.query_one(LoadPane)
        app.start_run(("nope",))
        await wait_for(pilot, lambda: log.of(RunFailed), what="the failure")
        await pilot.pause()
        text = log.of(RunFailed)[0].text
        assert "no scenario or suite named 'nope'" in text and "Traceback" not in text
        assert load.error == text and not load.running
        assert any("nope" in n for n in log.notices())
        assert app.registry.current() is None  # nothing was claimed for a bad name

        app.start_run(("quick",))
        await wait_for(pilot, lambda: log.of(RunFinished), timeout=60, what="the second run")
        assert log.of(RunFinished)[0].result.scenario_names == ("quick",)


async def test_an_unreachable_target_shows_an_error_and_the_app_keeps_working(
    tmp_path: Path,
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    app = make_app(write_config(tmp_path, url))
    log = MessageLog()
    before = child_pids()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await pilot.press("2")
        app.start_run(("quick",))
        await wait_for(pilot, lambda: log.of(RunFailed), what="the failure")
        await pilot.pause()
        text = log.of(RunFailed)[0].text
        assert text.startswith(f"nothing answers at {url}") and "Traceback" not in text
        assert app.query_one(LoadPane).error == text
        await wait_for(pilot, lambda: not app.run_active, what="the run worker to end")
        assert not log.of(RunStarted)
        assert app.registry.current() is None
        # The app still answers keys and can try again.
        await pilot.press("1")
        await wait_for(
            pilot, lambda: app.query_one("#tabs", TabbedContent).active == "overview-tab"
        )
        app.start_run(("quick",))
        await wait_for(pilot, lambda: len(log.of(RunFailed)) == 2, what="the second attempt")
    assert await no_new_children(before) == set()


async def test_a_remote_target_is_refused_readably(tmp_path: Path) -> None:
    app = make_app(write_config(tmp_path, "http://192.0.2.10:8080"))
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        app.start_run(("quick",))
        await wait_for(pilot, lambda: log.of(RunFailed), what="the refusal")
        text = log.of(RunFailed)[0].text
        assert "refusing to send load to http://192.0.2.10:8080" in text
        assert app.query_one(LoadPane).error == text
        await wait_for(pilot, lambda: not app.run_active, what="the run worker to end")


async def test_quitting_during_a_run_asks_and_leaves_no_worker_behind(
    demo_target: str, tmp_path: Path
) -> None:
    app = make_app(write_config(tmp_path, demo_target))
    log = MessageLog()
    before = child_pids()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        app.start_run(("long",))
        await wait_for(pilot, lambda: log.of(LoadViewUpdated), timeout=60, what="a first view")
        assert child_pids() - before, "the engine should have worker processes now"

        await pilot.press("ctrl+q")
        await wait_for(
            pilot, lambda: isinstance(app.screen, QuitConfirmScreen), what="the question"
        )
        await pilot.press("n")  # no: the run goes on
        await wait_for(pilot, lambda: not isinstance(app.screen, QuitConfirmScreen))
        assert app.run_active and not app._exit

        await pilot.press("ctrl+q")
        await wait_for(
            pilot, lambda: isinstance(app.screen, QuitConfirmScreen), what="the question"
        )
        await pilot.press("y")
        await wait_for(pilot, lambda: app._exit, timeout=40, what="the app to exit")
    assert not app.run_active
    assert await no_new_children(before) == set()
    finished = log.of(RunFinished)
    assert finished and finished[0].result.stopped == "interrupted"
    cause = f"stopped on quitting the dashboard (terminal, pid {os.getpid()})"
    assert finished[0].result.stop_cause == cause
    assert the_end_record(tmp_path / "state")["stopped"] == cause


async def test_stop_binding_stops_the_run(demo_target: str, tmp_path: Path) -> None:
    app = make_app(write_config(tmp_path, demo_target))
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        app.start_run(("long",))
        await wait_for(pilot, lambda: log.of(RunStarted), timeout=60, what="the run to start")
        await pilot.press("ctrl+x")  # may land before the first interval: stop still holds
        await wait_for(pilot, lambda: log.of(RunFinished), timeout=40, what="the stopped run")
        assert log.of(RunFinished)[0].result.stopped == "interrupted"
        assert app.query_one(LoadPane).result is not None


@pytest.mark.parametrize(("key", "message"), [("x", "StopRequested"), ("a", "AbortRequested")])
async def test_the_load_tab_stops_or_aborts_the_run(
    demo_target: str, tmp_path: Path, key: str, message: str
) -> None:
    app = make_app(write_config(tmp_path, demo_target))
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await pilot.press("2")  # the Load tab focuses its scenario list, so its keys work
        app.start_run(("long",))
        await wait_for(pilot, lambda: log.of(LoadViewUpdated), timeout=60, what="a first view")
        await pilot.press(key)
        await wait_for(pilot, lambda: log.of(RunFinished), timeout=40, what="the stopped run")
        # The hook sees a message once per node it bubbles through: count each once.
        posted = {
            id(m): type(m).__name__
            for m in log.messages
            if isinstance(m, LoadPane.StopRequested | LoadPane.AbortRequested)
        }
        assert sorted(set(posted.values())) == [message]
        result = log.of(RunFinished)[0].result
        assert result.stopped == "interrupted"
        assert result.duration < 30  # far less than the planned 60 s
        await pilot.pause()
        shown = app.query_one(LoadPane).summary_text

    # Said as what it was, everywhere: the summary, the notice, the history, the followers.
    verb = "stopped" if key == "x" else "aborted"
    cause = f"{verb} from the dashboard (terminal, pid {os.getpid()})"
    assert result.stop_cause == cause
    summary = render_summary(result)
    assert summary.splitlines()[-1].endswith(f": {cause}; results cover only what ran")
    assert "Ctrl-C" not in summary and shown == summary
    assert f"run {cause}" in log.notices()
    stops = recorded_stops(tmp_path / "state")
    assert [(a.kind, a.text) for a in stops] == [("stop" if key == "x" else "abort", cause)]
    end = the_end_record(tmp_path / "state")
    assert end["stopped"] == cause and end["summary"] == summary and end["ok"] is False


async def test_the_run_option_opens_the_load_tab_with_the_run_started(
    demo_target: str, tmp_path: Path
) -> None:
    app = make_app(write_config(tmp_path, demo_target), run=("quick",))
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await wait_for(pilot, lambda: log.of(RunStarted), timeout=60, what="the run to start")
        assert app.query_one("#tabs", TabbedContent).active == "load-tab"
        assert log.of(RunStarted)[0].names == ("quick",)
        await wait_for(pilot, lambda: log.of(RunFinished), timeout=60, what="the run to finish")


@pytest.mark.parametrize("command", ["Start scenario quick", "Start suite both"])
async def test_the_palette_starts_scenarios_and_suites(
    demo_target: str, tmp_path: Path, command: str
) -> None:
    app = make_app(write_config(tmp_path, demo_target))
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await choose_in_palette(pilot, command)  # the palette searches asynchronously
        await wait_for(pilot, lambda: log.of(RunFinished), timeout=60, what="the run to finish")
        assert log.of(RunFinished)[0].result.scenario_names == ("quick",)


async def test_the_load_tab_key_and_the_app_binding_start_the_selected_scenario(
    demo_target: str, tmp_path: Path
) -> None:
    app = make_app(write_config(tmp_path, demo_target))
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await pilot.press("2", "s")  # the Load tab takes the focus: its own key works at once
        await wait_for(pilot, lambda: log.of(RunFinished), timeout=60, what="the first run")
        assert log.of(LoadPane.StartRequested)[0].names == ("quick",)
        await pilot.press("1", "ctrl+r")  # from any tab
        await wait_for(pilot, lambda: len(log.of(RunFinished)) == 2, timeout=60, what="run two")
        assert [m.names for m in log.of(RunStarted)] == [("quick",), ("quick",)]


async def test_an_unusable_state_folder_is_a_readable_error(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "state"
    not_a_folder.write_text("a file where the state folder should be")
    app = make_app(write_config(tmp_path, f"http://127.0.0.1:{free_port()}"))
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        app.start_run(("quick",))
        await wait_for(pilot, lambda: log.of(RunFailed), what="the failure")
        text = log.of(RunFailed)[0].text
        assert f"cannot use the state folder {not_a_folder}" in text
        assert not app.run_active


async def test_sigterm_ends_a_terminal_dashboard_and_its_run_says_so(
    demo_target: str, tmp_path: Path
) -> None:
    app = make_app(write_config(tmp_path, demo_target))
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        app.start_run(("long",))
        await wait_for(pilot, lambda: log.of(LoadViewUpdated), timeout=60, what="a first view")
        # Only with the app's handler in place: the default action would end pytest itself.
        assert signal.SIGTERM in app._caught_signals
        os.kill(os.getpid(), signal.SIGTERM)
        await wait_for(pilot, lambda: app._exit, timeout=20, what="the app to exit")
    assert app.return_code == 128 + signal.SIGTERM
    cause = f"aborted by SIGTERM to the dashboard (terminal, pid {os.getpid()})"
    assert [(a.kind, a.text) for a in recorded_stops(tmp_path / "state")] == [("abort", cause)]
    end = the_end_record(tmp_path / "state")
    assert end["stopped"] == cause
    assert str(end["summary"]).splitlines()[-1].endswith(f": {cause}; results cover only what ran")


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        ("SIGHUP", "aborted by SIGHUP to the dashboard (terminal, pid {pid})"),
        ("the browser tab closed", "aborted as the dashboard (terminal, pid {pid}) closed: "
         "the browser tab closed"),
        (None, "aborted as the dashboard (terminal, pid {pid}) closed"),
    ],
)  # fmt: skip
def test_a_run_stopped_by_its_dashboard_closing_says_why(reason: str | None, said: str) -> None:
    assert closing_cause(reason) == said.format(pid=os.getpid())
