"""The Load tab at the sizes people run it: 80x24 keeps what a watcher needs, 120x40 cuts
nothing, 200x60 has room for everything; plus the plots' scale, the thresholds' `since` text
and the request table's order and highlights.

Deterministic data: the 1-5 ms `api_fast` recording of tests/ui/load_fixtures.py (a 200 ms
p(99) limit far above the data, a p(95)<5 that fails during the warm-up and passes again, a
`{name:files}` limit the files endpoint crosses). Update the snapshots with `pytest
tests/ui/test_load_pane_layout.py --snapshot-update` and look at each SVG before keeping it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, ListView

from ccplate_tui.load.live import RequestRow
from ccplate_tui.ui.widgets import HistogramPlot, LatencyPlot, RatePlot, RequestTable, ScenarioList
from ccplate_tui.ui.widgets.dashboard_footer import DashboardFooter
from ccplate_tui.ui.widgets.request_table import row_limits, row_state, sort_rows
from ccplate_tui.ui.widgets.threshold_table import ThresholdTable
from ccplate_tui.ui.widgets.threshold_timeline import ThresholdTimeline
from tests.ui.app_fixtures import free_port, make_app, wait_for, write_config
from tests.ui.load_fixtures import DashboardShellApp, record_fast_run

MID_RUN = 30
"""Views fed: past the p(95) flip back to PASS (15 s), on the plateau."""
SIZES = {"small": (80, 24), "medium": (120, 40), "large": (200, 60)}


async def _feed(pilot: Pilot, views: int = MID_RUN) -> None:
    rec = record_fast_run()
    pane = pilot.app.pane  # type: ignore[attr-defined]
    pane.set_running(True, rec.names)
    for view in rec.views[:views]:
        pane.show_view(view)
    await _redraw(pilot)


async def _redraw(pilot: Pilot) -> None:
    """Draw the plots once more after the layout has settled (resize, `p`, the footer), so
    the snapshot never catches a draw made at an intermediate size."""
    pane = pilot.app.pane  # type: ignore[attr-defined]
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    pane._mark_dirty()
    pane.refresh_plots()
    await pilot.pause()


# -- snapshots --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_a_fast_run_at_each_size(snap_compare: Callable[..., bool], size: str) -> None:
    """The latency plot of a 1-5 ms run spans the data, the 200 ms limit a marker at the top
    edge; no table value cut; at 80x24 the rate plot and histogram are behind `p`."""
    app = DashboardShellApp(record_fast_run().config)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=_feed)


def test_the_end_of_a_fast_run_at_120x40(snap_compare: Callable[..., bool]) -> None:
    """The summary beside the full-width tables: every threshold `judged on the whole run`,
    the flipped one with its failing stretch, no column cut."""
    rec = record_fast_run()

    async def run_before(pilot: Pilot) -> None:
        await _feed(pilot, len(rec.views))
        pane = pilot.app.pane  # type: ignore[attr-defined]
        pane.set_running(False)
        pane.show_result(rec.result)
        await pilot.pause()

    assert snap_compare(
        DashboardShellApp(rec.config), terminal_size=SIZES["medium"], run_before=run_before
    )


# -- what must be visible ---------------------------------------------------------------------


def _column_fits(table: DataTable, label: str) -> bool:
    """Whether the column `label` lies wholly inside the table's visible content area."""
    x = 0
    for column in table.ordered_columns:
        width = column.get_render_width(table)
        if str(column.label) == label:
            return x + width <= table.scrollable_content_region.width
        x += width
    raise AssertionError(f"no column {label!r}")


@pytest.mark.parametrize("size", SIZES)
async def test_observed_and_p95_are_never_cut(size: str) -> None:
    app = DashboardShellApp(record_fast_run().config)
    async with app.run_test(size=SIZES[size]) as pilot:
        await _feed(pilot)
        thresholds = app.query_one(ThresholdTable)
        requests = app.query_one(RequestTable)
        assert thresholds.region.width == requests.region.width == SIZES[size][0]
        assert _column_fits(thresholds, "observed")
        assert _column_fits(requests, "p95")
        # All four thresholds and both requests have a row on screen.
        assert thresholds.scrollable_content_region.height >= thresholds.row_count + 1
        assert requests.scrollable_content_region.height >= requests.row_count + 1
        plot = app.query_one(LatencyPlot)
        assert plot.region.area and "Latency" in str(plot.border_title)
        if size != "small":
            # Nothing cut at all: every column of both tables fits, no horizontal scrollbar.
            for table in (thresholds, requests):
                assert table.virtual_size.width <= table.scrollable_content_region.width
                assert not table.show_horizontal_scrollbar
                assert app.query_one(RatePlot).region.area
                assert app.query_one(HistogramPlot).region.area


async def test_the_small_terminal_hides_the_rest_behind_p_and_brings_it_back() -> None:
    app = DashboardShellApp(record_fast_run().config)
    async with app.run_test(size=SIZES["small"]) as pilot:
        await _feed(pilot)
        pane = app.pane
        assert pane.has_class("-narrow") and pane.has_class("-low")
        rates, histogram = app.query_one(RatePlot), app.query_one(HistogramPlot)
        scenarios = app.query_one(ScenarioList)
        assert not rates.region.area and not histogram.region.area and not scenarios.region.area
        # The hidden list cannot hold the focus: the pane does, so its keys still work.
        assert app.focused is pane
        await pilot.press("p")
        await pilot.pause()
        assert rates.region.area and histogram.region.area and scenarios.region.area
        assert not app.query_one(LatencyPlot).region.area
        assert isinstance(app.focused, ListView)
        await pilot.pause(0.6)  # a redraw tick: the swapped-in plots are drawn at their size
        assert 2 < rates.plotted_points <= rates.size.width
        await pilot.press("p")
        await pilot.pause()
        assert app.query_one(LatencyPlot).region.area and not rates.region.area
        # Grown to 120x40, everything is shown again and `p` is no longer offered.
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert not pane.has_class("-narrow") and not pane.has_class("-low")
        assert rates.region.area and histogram.region.area and scenarios.region.area
        assert pane.check_action("toggle_more", ()) is False


async def test_the_footer_keeps_the_tab_keys_at_80_columns() -> None:
    app = DashboardShellApp(record_fast_run().config)
    async with app.run_test(size=SIZES["small"]) as pilot:
        await _feed(pilot)
        await pilot.pause()
        footer = app.query_one(DashboardFooter)
        assert footer.compact
        shown = {
            key.key
            for key in footer.children
            if key.region.width and key.region.right <= SIZES["small"][0]
        }
        assert {"1", "2", "3", "4", "h", "ctrl+s", "ctrl+q"} <= shown


# -- the plots --------------------------------------------------------------------------------


async def test_the_latency_axis_fits_the_data_and_marks_the_far_limit() -> None:
    app = DashboardShellApp(record_fast_run().config)
    async with app.run_test(size=SIZES["medium"]) as pilot:
        await _feed(pilot)
        plot = app.query_one(LatencyPlot)
        bottom, top = plot.y_range
        highest = max(v.interval_latency.p99 for v in record_fast_run().views[:MID_RUN])
        assert bottom == 0 and highest < top < 2 * highest < 20  # not stretched to 200 ms
        assert plot.off_scale == ("p(99)<200 ↑ 200 ms",)
        assert "p(99)<200 ↑ 200 ms" in plot.render().plain  # type: ignore[union-attr]
        # The legend is the border title, outside the data.
        assert "p50" in str(plot.border_title) and "p99" in str(plot.border_title)
        rates = app.query_one(RatePlot)
        assert rates.errors_drawn_faint  # no errors: a faint line, not a red bar
        assert "no errors" in str(rates.border_title)
        labels = app.query_one(HistogramPlot).x_labels
        assert labels and len(set(labels)) == len(labels)


# -- the thresholds' since text ---------------------------------------------------------------


async def test_a_threshold_that_flips_says_why() -> None:
    rec = record_fast_run()
    flip = next(i for i, v in enumerate(rec.views) if v.thresholds[1].ok)
    assert flip > 1 and rec.views[0].thresholds[1].ok is False
    app = DashboardShellApp(rec.config)
    async with app.run_test(size=SIZES["large"]) as pilot:
        await _feed(pilot, flip)
        table = app.query_one(ThresholdTable)
        assert str(table.get_row_at(1)[3]) == "failing since 1s"
        await _feed(pilot, MID_RUN)
        at = int(rec.views[flip].elapsed)
        assert str(table.get_row_at(1)[3]) == f"passing again since {at}s (failed 1s–{at}s)"
        assert str(table.get_row_at(0)[3]) == "never failed"
        assert str(table.get_row_at(2)[3]) == "failing since 1s"
        app.pane.set_running(False)
        app.pane.show_result(rec.result)
        await pilot.pause()
        assert str(table.get_row_at(1)[3]) == f"judged on the whole run (failed 1s–{at}s)"
        assert str(table.get_row_at(0)[3]) == "judged on the whole run"
        # Narrowed to 80 columns: the short forms, the whole text of each still shown.
        await pilot.resize_terminal(*SIZES["small"])
        await pilot.pause()
        assert table.compact
        assert str(table.get_row_at(1)[3]) == f"failed 1s–{at}s"
        assert str(table.get_row_at(0)[3]) == "whole run"
        assert sum(c.get_render_width(table) for c in table.columns.values()) <= table.size.width


def test_the_timeline_of_a_run_followed_from_its_middle() -> None:
    rec = record_fast_run()
    timeline = ThresholdTimeline()
    # Attached at 20 s: only the evaluator's first failure time is known of the past.
    late = rec.views[19]
    timeline.observe(late.thresholds, late.elapsed)
    assert timeline.live_text(late.thresholds[1]) == "passing again (failed from 1s)"
    assert timeline.live_text(late.thresholds[2]) == "failing since 1s"
    # Beside the light on a narrow terminal: the short forms.
    assert timeline.live_text(late.thresholds[1], compact=True) == "again"
    assert timeline.live_text(late.thresholds[2], compact=True) == "since 1s"
    assert timeline.live_text(late.thresholds[0], compact=True) == "never failed"
    # A replay rebuilds the same texts from the views up to its index.
    timeline.reset((v.elapsed, v.thresholds) for v in rec.views[:MID_RUN])
    assert timeline.live_text(rec.views[MID_RUN - 1].thresholds[1]).startswith("passing again")


# -- the request table ------------------------------------------------------------------------


def _row(
    name: str,
    p95: float,
    count: int = 10,
    errors: float = 0.0,
    scenario: str = "",
    method: str = "",
) -> RequestRow:
    return RequestRow(name, count, errors, p95 / 2, p95, p95 * 1.2, scenario, method)


def test_rows_sort_and_the_slow_or_over_limit_ones_stand_out() -> None:
    rows = [_row("/api/items", 40.0), _row("/api/files", 340.0), _row("/api/me", 60.0, 99)]
    assert [r.name for r in sort_rows(rows, "p95")] == ["/api/files", "/api/me", "/api/items"]
    assert sort_rows(rows, "count")[0].name == "/api/me"
    assert sort_rows(rows, "name")[0].name == "/api/files"
    specs = record_fast_run().config.scenarios["api_fast"].thresholds
    limits = row_limits(specs)
    assert [(lim.name, lim.field, lim.value) for lim in limits] == [("files", "p95", 4.5)]
    assert row_state(_row("files", 4.9), limits, None) == "over"
    assert row_state(_row("items", 3.0), limits, 4.0) == ""
    # A mixed workload's slow endpoint: well over the run's p95, without a limit of its own.
    assert row_state(rows[1], limits, 120.0) == "slow"


async def test_the_request_table_sorts_by_p95_and_cycles_on_o() -> None:
    app = DashboardShellApp(record_fast_run().config)
    async with app.run_test(size=SIZES["medium"]) as pilot:
        await _feed(pilot)
        table = app.query_one(RequestTable)
        assert [str(table.get_row_at(i)[0]) for i in range(2)] == ["files", "items"]
        # `files` crosses its own p(95)<4.5: the row is in the theme's error colour.
        first = table.get_row_at(0)[1]
        assert isinstance(first, Text)
        styles = " ".join(str(span.style) for span in first.spans).lower()
        assert app.theme_variables["text-error"].lower() in styles
        await pilot.press("o", "o", "o")  # p99, p50, count
        await pilot.pause()
        assert table.sort == "count" and "by count" in str(table.border_title)
        await pilot.press("o", "o")  # errors, name
        assert table.sort == "name"
        assert [str(table.get_row_at(i)[0]) for i in range(2)] == ["files", "items"]


async def test_the_dashboard_itself_at_80x24(tmp_path: Path) -> None:
    """The real app (not the shell above): on its Load tab at 80x24 the footer keeps 1-4, h
    and ^s, and the latency plot, both tables and `p` work as in the shell."""
    app = make_app(write_config(tmp_path, f"http://127.0.0.1:{free_port()}"))
    async with app.run_test(size=SIZES["small"]) as pilot:
        await pilot.press("2")
        await wait_for(pilot, lambda: app.load_pane.shown, what="the Load tab")
        await pilot.pause()
        footer = app.query_one(DashboardFooter)
        shown = {k.key for k in footer.children if k.region.width and k.region.right <= 80}
        assert {"1", "2", "3", "4", "h", "ctrl+s"} <= shown
        assert app.query_one(LatencyPlot).region.area
        assert app.focused is app.load_pane  # the list is behind `p`: the pane keeps the keys
        await pilot.press("p")
        await pilot.pause()
        assert app.query_one(ScenarioList).region.area
        assert isinstance(app.focused, ListView)


async def test_rows_of_two_scenarios_show_where_they_come_from() -> None:
    """One scenario: no scenario or method column. Two: both columns, and the same name in
    each scenario is two rows; back to one scenario, the columns go again."""
    app = DashboardShellApp(record_fast_run().config)
    async with app.run_test(size=SIZES["medium"]) as pilot:
        table = app.query_one(RequestTable)
        one = [_row("files", 4.0, scenario="api_fast", method="POST")]
        table.show_rows(one)
        await pilot.pause()
        assert [str(c.label) for c in table.columns.values()][:2] == ["name", "p95"]
        two = [
            *one,
            _row("files", 9.0, 3, scenario="uploads", method="PUT"),
            _row("items", 2.0, scenario="api_fast", method="GET"),
        ]
        table.show_rows(two)
        await pilot.pause()
        labels = [str(c.label) for c in table.columns.values()]
        assert labels[:3] == ["scenario", "method", "name"]
        assert table.row_count == 3
        cells = [tuple(str(c) for c in table.get_row_at(i)[:4]) for i in range(3)]
        assert cells == [
            ("uploads", "PUT", "files", "9ms"),
            ("api_fast", "POST", "files", "4ms"),
            ("api_fast", "GET", "items", "2ms"),
        ]
        table.show_rows(one)
        await pilot.pause()
        assert next(str(c.label) for c in table.columns.values()) == "name"
