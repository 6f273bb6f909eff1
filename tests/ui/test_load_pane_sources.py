"""The Load tab's metric-source panel: `m` cycles the histogram's panel through the config's
sources; the source plot follows live views and replays, with its threshold line and NO DATA.

Deterministic data (tests/ui/load_fixtures.py `record_sourced_run`). Update the snapshot with
`pytest tests/ui/test_load_pane_sources.py --snapshot-update` and look at the SVG under
tests/ui/__snapshots__/ before accepting it.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot
from textual.widgets import Static

from ccplate_tui.config.loader import parse_config
from ccplate_tui.ui.widgets.histogram_plot import HistogramPlot
from ccplate_tui.ui.widgets.source_plot import (
    SourceChart,
    SourceLine,
    SourcePlot,
    _runs,
    caption,
    next_panel,
    source_lines,
    sources_of,
)
from tests.ui.load_fixtures import (
    NO_DATA_SECOND,
    SOURCES_TOML,
    LoadPaneApp,
    db_cpu_sample,
    record_run,
    record_sourced_run,
)

SIZE = (140, 45)
MID_RUN = 40
"""Views fed: past db_cpu's crossing of 50 % (about 16 s) and its NO DATA reading (34 s)."""

TWO_SOURCES_TOML = (
    SOURCES_TOML + '\n[sources.queue_depth]\ncommand = ["echo", "3"]\nunit = "jobs"\n'
)


async def _settle(pilot: Pilot) -> None:
    await pilot.pause()
    pilot.app.query_one("LoadPane").refresh_plots()  # type: ignore[attr-defined]
    await pilot.pause()


def _caption(app: LoadPaneApp) -> str:
    return str(app.query_one("#source-caption", Static).render())


# -- pure parts -------------------------------------------------------------------------------


def test_next_panel_cycles_histogram_then_each_source() -> None:
    names = ["db_cpu", "queue_depth"]
    assert next_panel(None, names) == "db_cpu"
    # A source may be called "histogram": the histogram is None, not a name.
    assert next_panel("histogram", ["histogram"]) is None
    assert next_panel("db_cpu", names) == "queue_depth"
    assert next_panel("queue_depth", names) is None
    # A source gone from the config (e.g. a reload): back to the start of the cycle.
    assert next_panel("gone", names) == "db_cpu"


def test_source_lines_are_the_fixed_thresholds_on_that_source() -> None:
    toml = SOURCES_TOML.replace('db_cpu = ["max<50"]', 'db_cpu = ["max<50", "avg<30", "max<50"]')
    config = parse_config(toml, "fixture.toml")
    specs = config.scenarios["auth_burst"].thresholds
    assert source_lines(specs, "db_cpu") == (SourceLine(50.0, "max<50"), SourceLine(30.0, "avg<30"))
    assert source_lines(specs, "other") == ()


def test_runs_split_at_no_data_even_after_downsampling() -> None:
    samples = [db_cpu_sample(s, 10) for s in range(NO_DATA_SECOND - 2, NO_DATA_SECOND + 3)]
    valued = [(i, s) for i, s in enumerate(samples) if s.value is not None]
    missing = [0, 0, 0, 1, 1, 1]
    runs = _runs(valued, missing)
    assert [[s.at for s in run] for run in runs] == [[32.0, 33.0], [35.0, 36.0]]
    # Neighbours kept after downsampling are still split by the NO DATA between them.
    assert len(_runs([valued[0], valued[3]], missing)) == 2


def test_caption_keeps_the_error_on_one_line() -> None:
    failed = db_cpu_sample(NO_DATA_SECOND, 40)
    ok = db_cpu_sample(NO_DATA_SECOND + 1, 40)
    text = caption("db_cpu", [ok, failed], "%").plain
    assert text == "db_cpu NO DATA at 34 s: GET http://127.0.0.1:8787/metrics: no answer within 2s"
    assert "\n" not in text
    assert caption("db_cpu", [failed, ok], "%").plain == "db_cpu 59.0 % at 35 s · 1 NO DATA"
    assert caption("db_cpu", [ok], "").plain == "db_cpu 59.0 at 35 s"
    assert caption("db_cpu", [], "%").plain == "db_cpu no reading yet"


def test_a_plain_live_view_has_no_sources() -> None:
    assert sources_of(record_run().views[0]) == ()
    assert len(sources_of(record_sourced_run().views[0])) == 1


# -- the pane ---------------------------------------------------------------------------------


async def test_m_cycles_histogram_source_histogram() -> None:
    rec = record_sourced_run()
    app = LoadPaneApp(rec.config)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        pane.set_running(True, rec.names)
        for view in rec.views[:MID_RUN]:
            pane.show_view(view)
        await _settle(pilot)
        histogram, source = app.query_one(HistogramPlot), app.query_one(SourcePlot)
        assert (pane.panel, histogram.display, source.display) == (None, True, False)
        assert source.chart.draws == 0

        await pilot.press("m")
        await _settle(pilot)
        assert (pane.panel, histogram.display, source.display) == ("db_cpu", False, True)
        assert source.source == "db_cpu"
        assert source.chart.draws >= 1 and source.chart.region.area
        # Downsampled to the plot's width, NO DATA readings not among the points.
        assert 0 < source.chart.plotted_points <= min(MID_RUN - 1, source.chart.size.width - 10)
        assert "Source db_cpu (%) 1/1" in str(source.chart.render())
        assert _caption(app) == "db_cpu 59.0 % at 40 s · 1 NO DATA"

        # Live: the next interval reaches the source plot on the next redraw.
        draws = source.chart.draws
        pane.show_view(rec.views[MID_RUN])
        await _settle(pilot)
        assert source.chart.draws == draws + 1
        assert "at 41 s" in _caption(app)

        await pilot.press("m")
        await _settle(pilot)
        assert (pane.panel, histogram.display, source.display) == (None, True, False)


async def test_m_visits_every_configured_source_in_order() -> None:
    rec = record_sourced_run()
    app = LoadPaneApp(parse_config(TWO_SOURCES_TOML, "fixture.toml"))
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        pane.set_running(True, rec.names)
        pane.show_view(rec.views[0])
        seen = []
        for _ in range(3):
            await pilot.press("m")
            await _settle(pilot)
            seen.append(pane.panel)
        assert seen == ["db_cpu", "queue_depth", None]
        await pilot.press("m", "m")
        await _settle(pilot)
        # A source without readings in this run: an empty plot and a caption saying so.
        assert _caption(app) == "queue_depth no reading yet"
        assert "Source queue_depth (jobs) 2/2" in str(app.query_one(SourceChart).render())


async def test_m_without_sources_says_so_and_keeps_the_histogram() -> None:
    rec = record_run()
    app = LoadPaneApp(rec.config)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        pane.set_running(True, rec.names)
        pane.show_view(rec.views[0])
        await pilot.press("m")
        await _settle(pilot)
        notes = [n.message for n in app._notifications]
        assert any("No metric sources" in note for note in notes)
        assert pane.panel is None
        assert app.query_one(HistogramPlot).display
        assert not app.query_one(SourcePlot).display


async def test_source_panel_follows_a_replay_and_a_new_run_clears_it() -> None:
    rec = record_sourced_run()
    app = LoadPaneApp(rec.config)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        await pilot.press("m")
        pane.show_replay(f"replay of r3 · 30/{len(rec.views)}", rec.views, 29, rec.names)
        await _settle(pilot)
        assert len(pane.source_history.series("db_cpu")) == 30
        assert _caption(app) == "db_cpu 59.0 % at 30 s"

        # Scrubbed to the NO DATA interval: the caption gives its reason.
        pane.show_replay("replay of r3", rec.views, NO_DATA_SECOND, rec.names)
        await _settle(pilot)
        assert len(pane.source_history.series("db_cpu")) == NO_DATA_SECOND + 1
        assert "NO DATA at 34 s: GET http://127.0.0.1:8787/metrics: no answer within 2s" in (
            _caption(app)
        )

        pane.end_replay()
        pane.set_running(True, rec.names)
        assert pane.source_history.series("db_cpu") == []
        assert pane.panel == "db_cpu"  # the choice outlives the run


def test_source_panel_with_threshold_and_no_data(snap_compare: Callable[..., bool]) -> None:
    """db_cpu climbing past its `max<50` line (failed in the threshold table), one NO DATA gap
    at 34 s, and the caption with the latest reading and the NO DATA count."""
    rec = record_sourced_run()

    async def run_before(pilot: Pilot) -> None:
        pane = pilot.app.pane  # type: ignore[attr-defined]
        pane.set_running(True, rec.names)
        for view in rec.views[:MID_RUN]:
            pane.show_view(view)
        await pilot.press("m")
        await _settle(pilot)

    assert snap_compare(LoadPaneApp(rec.config), terminal_size=SIZE, run_before=run_before)


async def test_a_plot_drawn_before_its_layout_is_drawn_again_at_its_size() -> None:
    rec = record_sourced_run()
    app = LoadPaneApp(rec.config)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        for view in rec.views[:MID_RUN]:
            pane.show_view(view)
        plot = app.query_one(SourcePlot)
        samples = pane.source_history.series("db_cpu")
        plot.draw("db_cpu", samples, unit="%")  # hidden: no width yet, so 2 points at most
        assert plot.chart.plotted_points <= 2
        plot.display = True
        await pilot.pause()
        await pilot.pause()
        assert plot.chart.size.width
        assert plot.chart.plotted_points == min(MID_RUN - 1, plot.chart.size.width - 10)
