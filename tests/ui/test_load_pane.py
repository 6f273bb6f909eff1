"""The Load tab: what it shows for recorded LiveView sequences and the messages it posts."""

from __future__ import annotations

import dataclasses

import pytest
from textual.message import Message
from textual.widgets import Button, ContentSwitcher, DataTable, Static

from ccplate_tui.config.loader import parse_config
from ccplate_tui.load.engine import resolve_plan
from ccplate_tui.load.live import planned_end
from ccplate_tui.load.snapshot import WorkerHealth
from ccplate_tui.load.summary import render_summary
from ccplate_tui.load.units_format import go_duration
from ccplate_tui.ui.load_pane import (
    HISTORY,
    REDRAW_INTERVAL,
    LoadPane,
    latency_limits,
    stage_marks,
)
from ccplate_tui.ui.widgets import (
    HistogramPlot,
    LatencyPlot,
    RatePlot,
    RequestTable,
    RunStatus,
    ScenarioList,
    SummaryPanel,
    ThresholdTable,
)
from ccplate_tui.ui.widgets.summary_panel import ErrorPanel
from tests.ui.app_fixtures import wait_for
from tests.ui.load_fixtures import (
    LoadPaneApp,
    TabbedLoadPaneApp,
    fixture_config,
    pane_messages,
    record_run,
)

SIZE = (140, 45)


@pytest.fixture
def plot_refreshes(monkeypatch: pytest.MonkeyPatch) -> list[LoadPane]:
    """Every call of `LoadPane.refresh_plots` (the redraw timer's ticks and the test's own), so a
    test waits for the timer to have fired instead of guessing how long that takes."""
    calls: list[LoadPane] = []
    refresh = LoadPane.refresh_plots

    def counted(self: LoadPane) -> bool:
        calls.append(self)
        return refresh(self)

    monkeypatch.setattr(LoadPane, "refresh_plots", counted)
    return calls


def cell_text(table: DataTable, row: int, column: int) -> str:
    return str(table.get_row_at(row)[column])


def column_texts(table: DataTable, column: int) -> list[str]:
    return [cell_text(table, row, column) for row in range(table.row_count)]


def status_text(app: LoadPaneApp) -> str:
    return str(app.query_one(RunStatus).render())


async def test_before_a_run_the_list_shows_every_scenario_and_suite() -> None:
    app = LoadPaneApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        listing = app.query_one(ScenarioList)
        names = [p.name for p in listing.previews]
        assert names == ["auth_burst", "browse", "spike", "schema_lock", "steady", "mixed"]
        by_name = {p.name: p for p in listing.previews}
        assert by_name["auth_burst"].kind_label == "ramping-vus"
        assert by_name["auth_burst"].length == "1m0s" and by_name["auth_burst"].peak == 40
        assert by_name["browse"].unit == "iters/s" and by_name["browse"].length == "55s"
        assert by_name["schema_lock"].length == "50 iters"
        # A suite mixing VUs and iterations/s previews its VU members only: summing them is
        # meaningless.
        assert by_name["mixed"].kind == "suite" and by_name["mixed"].peak == 10
        assert by_name["mixed"].unit == "VUs (closed-model members)"
        assert app.pane.selected_names == ("auth_burst",)
        text = status_text(app)
        assert "idle" in text and "Up to 40 looping VUs for 1m0s over 3 stages" in text
        thresholds = app.query_one(ThresholdTable)
        assert column_texts(thresholds, 0) == ["· planned"] * 4
        assert column_texts(thresholds, 1) == [
            "http_req_duration p(99)<200",
            "http_req_duration p(95)<150",
            "http_req_failed rate<0.01",
            "checks rate>0.99",
        ]
        assert str(thresholds.border_title) == "Thresholds · scenario auth_burst"
        assert app.query_one("#load-stop", Button).disabled
        # Moving the highlight previews the other plan's thresholds.
        app.query_one("ScenarioList ListView").focus()
        await pilot.press("down", "down", "down", "down", "down")
        await pilot.pause()
        assert app.pane.selected_names == ("mixed",)
        assert column_texts(thresholds, 1) == ["http_req_duration p(99)<300"]
        assert "steady: 10 looping VUs for 1m0s" in status_text(app)


async def test_live_views_fill_status_and_tables() -> None:
    rec = record_run()
    app = LoadPaneApp(rec.config)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        pane.set_running(True, rec.names)
        for view in rec.views[:40]:
            pane.show_view(view)
        await pilot.pause()
        view = rec.views[39]
        text = status_text(app)
        assert "running  40s / 1m0s" in text
        assert "auth_burst 2/3 · 40/40 VUs" in text
        assert f"{view.requests_per_s:.1f}/s" == "320.0/s"
        assert "requests    320.0/s" in text
        assert f"{view.errors_per_s:.1f}/s · 0.83% of all" in text
        assert "0 iterations" in text
        assert "CPU 94% · lag 6 ms · 2 procs" in text
        assert "⚠ generator saturated: worker CPU 94% — latencies include its own delay" in text
        requests = app.query_one(RequestTable)
        # Slowest p95 first: me (128 ms) above login (122 ms).
        assert column_texts(requests, 0) == ["me", "login"]
        login = next(r for r in view.requests if r.name == "login")
        assert column_texts(requests, 4)[1] == str(login.count)
        assert column_texts(requests, 5) == ["0.00%", "1.66%"]
        assert column_texts(requests, 1) == ["128.38ms", "122.36ms"]
        assert cell_text(requests, 1, 3) == "87.23ms"
        assert app.query_one("#load-start", Button).disabled
        assert not app.query_one("#load-stop", Button).disabled


async def test_threshold_light_switches_from_pass_to_fail_with_the_first_failed_time() -> None:
    rec = record_run()
    failing = next(i for i, v in enumerate(rec.views) if v.thresholds[0].ok is False)
    first_failed = rec.views[failing].thresholds[0].first_failed_at
    assert failing > 0 and first_failed is not None
    app = LoadPaneApp(rec.config)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        table = app.query_one(ThresholdTable)
        pane.set_running(True, rec.names)
        for view in rec.views[:failing]:
            pane.show_view(view)
        await pilot.pause()
        assert cell_text(table, 0, 0) == "● PASS"
        assert cell_text(table, 0, 3) == "never failed"
        pane.show_view(rec.views[failing])
        await pilot.pause()
        assert cell_text(table, 0, 0) == "● FAIL"
        assert cell_text(table, 0, 3) == f"failing since {go_duration(first_failed)}"
        assert cell_text(table, 0, 3) == "failing since 25s"
        assert cell_text(table, 0, 2) == "202.49ms"
        # The other lights: p95 passes, the error rate too (for now), checks have no data.
        assert column_texts(table, 0)[1:] == ["● PASS", "● PASS", "○ NO DATA"]
        assert cell_text(table, 3, 2) == "-"
        assert cell_text(table, 3, 3) == "no data yet"
        # The light's colour is the theme's: FAIL in the error text colour.
        fail_style = str(table.get_row_at(0)[0].style)
        assert app.theme_variables["text-error"].lower() in fail_style.lower()
        for view in rec.views[failing + 1 :]:
            pane.show_view(view)
        await pilot.pause()
        assert column_texts(table, 0) == ["● FAIL", "● PASS", "● FAIL", "○ NO DATA"]
        assert cell_text(table, 2, 3) == "failing since 44s"
        # The end: the verdict is on the whole run, with the failing stretch it had.
        pane.set_running(False)
        pane.show_result(rec.result)
        await pilot.pause()
        assert cell_text(table, 0, 3) == "judged on the whole run (failing since 25s)"
        assert cell_text(table, 1, 3) == "judged on the whole run"


async def test_the_light_colours_follow_a_theme_switch() -> None:
    rec = record_run()
    app = LoadPaneApp(rec.config)
    async with app.run_test(size=SIZE) as pilot:
        app.pane.set_running(True, rec.names)
        app.pane.show_view(rec.views[10])
        app.theme = "textual-light"
        await pilot.pause()
        style = str(app.query_one(ThresholdTable).get_row_at(0)[0].style)
        assert app.theme_variables["text-success"].lower() in style.lower()


@pytest.mark.slow
async def test_plots_hold_at_most_their_width_and_history_is_bounded() -> None:
    rec = record_run()
    app = LoadPaneApp(rec.config)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        pane.set_running(True, rec.names)
        template = rec.views[30]
        for second in range(HISTORY + 50):
            pane.show_view(dataclasses.replace(template, elapsed=float(second + 1)))
        assert len(pane.history) == HISTORY
        assert pane.history[0].elapsed == 51.0  # the oldest ones scrolled off
        await pilot.pause()
        pane.refresh_plots()  # unless the timer already did
        latency = app.query_one(LatencyPlot)
        assert latency.draws >= 1
        rates = app.query_one(RatePlot)
        assert 0 < latency.plotted_points <= latency.size.width
        assert 0 < rates.plotted_points <= rates.size.width
        assert app.query_one(HistogramPlot).plotted_points == len(template.histogram)


async def test_hidden_pane_does_not_redraw_and_catches_up_once_shown(
    plot_refreshes: list[LoadPane],
) -> None:
    rec = record_run()
    app = LoadPaneApp(rec.config)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        pane.set_running(True, rec.names)
        await pilot.pause()
        pane.refresh_plots()
        latency = app.query_one(LatencyPlot)
        before = (pane.redraws, latency.draws)
        pane.set_visible(False)
        for view in rec.views[:20]:
            pane.show_view(view)
        assert not pane.refresh_plots()
        ticks = len(plot_refreshes)
        await wait_for(pilot, lambda: len(plot_refreshes) >= ticks + 2, what="two timer ticks")
        assert (pane.redraws, latency.draws) == before
        # Tables are not touched while hidden either.
        assert app.query_one(RequestTable).row_count == 0
        pane.set_visible(True)
        await pilot.pause()
        await pilot.pause()
        assert pane.redraws == before[0] + 1
        assert app.query_one(RequestTable).row_count == 2
        assert latency.plotted_points == 20
        # Nothing new: no redraw.
        assert not pane.refresh_plots()
        assert pane.redraws == before[0] + 1


async def test_views_never_redraw_plots_only_the_timer_does_once_per_change() -> None:
    rec = record_run()
    app = LoadPaneApp(rec.config)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        pane.set_running(True, rec.names)
        await pilot.pause()
        pane.refresh_plots()
        start = pane.redraws
        plot_draws = app.query_one(LatencyPlot).draws
        # 20 views arriving between two timer ticks: none of them draws...
        for view in rec.views[:20]:
            pane.show_view(view)
        assert app.query_one(LatencyPlot).draws == plot_draws
        # ...the next tick draws once, and a tick with nothing new draws nothing.
        assert pane.refresh_plots() is True
        assert pane.refresh_plots() is False
        assert pane.redraws - start == 1
        assert app.query_one(LatencyPlot).draws == app.query_one(RatePlot).draws
        timers = [t for t in pane._timers if t.name == "load-plot-redraw"]
        assert len(timers) == 1 and timers[0]._interval == REDRAW_INTERVAL == 0.5


async def test_a_pane_behind_another_panel_does_not_redraw() -> None:
    rec = record_run()
    app = LoadPaneApp(rec.config)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        pane.set_running(True, rec.names)
        pane.show_error("target down")
        pane.show_view(rec.views[0])
        await pilot.pause()
        assert not pane.refresh_plots()  # the error panel covers the plots


async def test_start_and_stop_post_their_messages() -> None:
    posted: list[Message] = []
    app = LoadPaneApp()
    async with app.run_test(size=SIZE, message_hook=pane_messages(posted)) as pilot:
        pane = app.pane
        app.query_one("ScenarioList ListView").focus()
        await pilot.press("x")  # nothing runs: no stop
        await pilot.press("s")
        await pilot.pause()
        assert [type(m) for m in posted] == [LoadPane.StartRequested]
        assert posted[0].names == ("auth_burst",)  # type: ignore[attr-defined]
        await pilot.press("down")
        await pilot.click("#load-start")
        await pilot.pause()
        assert posted[-1].names == ("browse",)  # type: ignore[attr-defined]
        # The app answers by marking the run; now Start is refused and Stop works once.
        pane.set_running(True, ("browse",))
        await pilot.pause()
        app.query_one("ScenarioList ListView").focus()
        await pilot.press("s")
        await pilot.press("x")
        await pilot.press("x")
        await pilot.pause()
        assert [type(m) for m in posted] == [
            LoadPane.StartRequested,
            LoadPane.StartRequested,
            LoadPane.StopRequested,
        ]
        assert "stopping" in status_text(app)
        pane.set_running(False)
        await pilot.pause()
        assert not app.query_one("#load-start", Button).disabled
        # The messages reach the app (they bubble).
        assert [type(m) for m in app.posted] == [type(m) for m in posted]


async def test_stop_button_posts_stop() -> None:
    posted: list[Message] = []
    app = LoadPaneApp()
    async with app.run_test(size=SIZE, message_hook=pane_messages(posted)) as pilot:
        app.pane.set_running(True, ("steady",))
        await pilot.pause()
        await pilot.click("#load-stop")
        await pilot.pause()
        assert [type(m) for m in posted] == [LoadPane.StopRequested]


async def test_show_result_shows_the_headless_summary_and_saves_on_key() -> None:
    rec = record_run()
    posted: list[Message] = []
    app = LoadPaneApp(rec.config)
    async with app.run_test(size=SIZE, message_hook=pane_messages(posted)) as pilot:
        pane = app.pane
        pane.set_running(True, rec.names)
        for view in rec.views:
            pane.show_view(view)
        await pilot.press("ctrl+e")  # no result yet: nothing to save
        pane.set_running(False)
        pane.show_result(rec.result)
        await pilot.pause()
        panel = app.query_one(SummaryPanel)
        assert panel.text == render_summary(rec.result)
        shown = str(app.query_one("#summary-text", Static).render())
        assert "THRESHOLDS" in shown and "http_req_failed{scenario:auth_burst}" in shown
        assert panel.border_title == "Summary - thresholds crossed"
        assert app.query_one(ContentSwitcher).current == "load-summary"
        assert "finished  1m0s / 1m0s" in status_text(app)
        app.query_one(ScenarioList).query_one("ListView").focus()
        await pilot.press("ctrl+e")
        await pilot.click("#save-summary")
        await pilot.pause()
        assert [type(m) for m in posted] == [LoadPane.SaveSummaryRequested] * 2
        # v flips to the plots and back.
        await pilot.press("v")
        assert app.query_one(ContentSwitcher).current == "load-live"
        await pilot.press("v")
        assert app.query_one(ContentSwitcher).current == "load-summary"
        # A new run clears the old one.
        pane.set_running(True, rec.names)
        await pilot.pause()
        assert app.query_one(ContentSwitcher).current == "load-live"
        assert pane.result is None and not pane.history


async def test_show_error_is_readable_and_literal() -> None:
    app = LoadPaneApp()
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        text = "cannot reach http://127.0.0.1:9 [connection refused]; is the target running?"
        pane.set_running(True, ("steady",))
        pane.set_running(False)
        pane.show_error(text)
        await pilot.pause()
        assert app.query_one(ContentSwitcher).current == "load-error"
        assert str(app.query_one("#error-text", Static).render()) == text
        assert app.query_one(ErrorPanel).text == text
        assert status_text(app).startswith("failed")
        await pilot.press("v")
        assert app.query_one(ContentSwitcher).current == "load-live"


async def test_suite_runs_mark_their_members_and_unknown_names_do_not_break() -> None:
    app = LoadPaneApp()
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        pane.set_running(True, ("mixed",))
        await pilot.pause()
        running = [i.preview.name for i in app.query("ScenarioItem") if i.has_class("-running")]
        assert running == ["browse", "steady", "mixed"]
        assert pane.selected_names == ("mixed",)
        pane.set_running(False)
        pane.set_running(True, ("no_such_scenario",))
        await pilot.pause()
        assert not [i for i in app.query("ScenarioItem") if i.has_class("-running")]
        pane.refresh_plots()  # draws empty plots, no crash
        assert app.query_one(LatencyPlot).draws >= 1


async def test_notes_and_a_healthy_generator() -> None:
    rec = record_run()
    app = LoadPaneApp(rec.config)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        pane.set_running(True, rec.names)
        calm = dataclasses.replace(
            rec.views[5],
            health=WorkerHealth(workers=1, cpu_percent=12.0, loop_lag_ms=1.0),
            notes=("Insufficient VUs, reached 40 active VUs",),
        )
        pane.show_view(calm)
        await pilot.pause()
        text = status_text(app)
        assert "CPU 12% · lag 1 ms · 1 proc" in text
        assert "bottleneck" not in text
        assert "note: Insufficient VUs, reached 40 active VUs" in text
        pane.show_view(dataclasses.replace(calm, health=None))
        await pilot.pause()
        assert "no health data yet" in status_text(app)


def test_latency_limits_and_stage_marks_come_from_the_plan() -> None:
    config = fixture_config()
    plan = resolve_plan(config, ["auth_burst"])
    assert latency_limits(plan.thresholds) == (150.0, 200.0)
    assert stage_marks(plan.scenarios) == (20.0, 50.0)
    suite = resolve_plan(config, ["mixed"])
    # browse starts at 10 s and ends at 55 s; steady ends at 60 s (the run's end).
    assert planned_end(suite.scenarios) == 60.0
    assert stage_marks(suite.scenarios) == (10.0, 55.0)
    assert latency_limits(suite.thresholds) == (300.0,)


def test_latency_lines_are_distinct_and_sorted() -> None:
    config = parse_config(
        """
[scenarios.a]
executor = "constant-vus"
vus = 1
duration = "1s"
thresholds = { http_req_duration = ["max<300", "avg<100", "p(99)<100"] }
[[scenarios.a.requests]]
path = "/"
""",
        "t.toml",
    )
    assert latency_limits(resolve_plan(config, ["a"]).thresholds) == (100.0, 300.0)


@pytest.mark.parametrize("names", [(), ("steady",)])
async def test_set_running_without_views_shows_the_plan(names: tuple[str, ...]) -> None:
    app = LoadPaneApp()
    async with app.run_test(size=SIZE) as pilot:
        app.pane.set_running(True, names)
        await pilot.pause()
        assert status_text(app).startswith("running")
        app.pane.refresh_plots()
        assert app.query_one(LatencyPlot).draws >= 1


async def test_a_pane_on_an_inactive_tab_does_not_redraw_even_if_not_told(
    plot_refreshes: list[LoadPane],
) -> None:
    rec = record_run()
    app = TabbedLoadPaneApp(rec.config)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        pane.set_running(True, rec.names)
        for view in rec.views[:10]:
            pane.show_view(view)
        ticks = len(plot_refreshes)
        await wait_for(pilot, lambda: len(plot_refreshes) > ticks, what="a timer tick")
        assert pane.redraws == 0 and not pane.refresh_plots()
        app.query_one("TabbedContent").active = "load-tab"  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.pause()
        assert pane.refresh_plots() or pane.redraws == 1
        assert app.query_one(LatencyPlot).plotted_points == 10


async def test_a_followed_runs_summary_text_shows_but_cannot_be_saved_here() -> None:
    posted: list[Message] = []
    app = LoadPaneApp()
    async with app.run_test(size=SIZE, message_hook=pane_messages(posted)) as pilot:
        pane = app.pane
        pane.set_running(True, ("steady",))
        pane.set_running(False)
        pane.show_summary_text("  █ THRESHOLDS\n\n    [not markup]", ok=False)
        await pilot.pause()
        assert app.query_one(ContentSwitcher).current == "load-summary"
        assert "[not markup]" in str(app.query_one("#summary-text", Static).render())
        assert app.query_one("#save-summary", Button).disabled
        assert app.query_one(SummaryPanel).border_title.endswith("not ok")
        app.query_one("ScenarioList ListView").focus()
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert posted == []
        assert status_text(app).startswith("finished")
