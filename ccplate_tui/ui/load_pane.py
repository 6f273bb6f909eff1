"""The Load tab: pick a scenario, start or stop it, and watch the run live.

The pane only renders what the app hands it (LiveView per interval, RunResult at the end, an
error text) and posts requests upward; the app owns the run. Tables and the status block
update on each view; the plots replot from a bounded history at most every
`REDRAW_INTERVAL` seconds, only while the pane is visible and something changed.

The layout follows the pane's size (classes set on resize, widgets/load_layout.py): the tables
span the full width under the plots, so their values are never cut at 120 columns; on a small
terminal the pane keeps what a watcher needs (status, latency plot, thresholds, requests) and
`p` swaps in the rest (scenario list, rate plot, histogram).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, HorizontalGroup, Vertical
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, ContentSwitcher, ListView

from ccplate_tui.config.model import Config, ScenarioSpec
from ccplate_tui.history.overlay import BaselineOverlay
from ccplate_tui.load.engine import RunPlan, UnknownScenario, resolve_plan
from ccplate_tui.load.live import LiveView, planned_end
from ccplate_tui.load.results import RunResult
from ccplate_tui.load.summary import render_summary
from ccplate_tui.ui.widgets.histogram_plot import HistogramPlot
from ccplate_tui.ui.widgets.latency_plot import LatencyPlot, PlotPoint
from ccplate_tui.ui.widgets.load_layout import LOAD_PANE_CSS, SizeLayout
from ccplate_tui.ui.widgets.plot_context import (
    PlotContext,
    latency_limits,
    latency_lines,
    stage_marks,
)
from ccplate_tui.ui.widgets.rate_plot import RatePlot
from ccplate_tui.ui.widgets.request_table import RequestTable
from ccplate_tui.ui.widgets.run_status import RunStatus
from ccplate_tui.ui.widgets.scenario_list import ScenarioList
from ccplate_tui.ui.widgets.source_plot import SourceHistory, SourcePlot, next_panel
from ccplate_tui.ui.widgets.summary_panel import ErrorPanel, SummaryPanel
from ccplate_tui.ui.widgets.threshold_table import ThresholdTable
from ccplate_tui.ui.widgets.threshold_timeline import ThresholdTimeline

__all__ = ["HISTORY", "REDRAW_INTERVAL", "LoadPane", "PlotContext", "latency_limits", "stage_marks"]

REDRAW_INTERVAL = 0.5
"""Seconds between plot redraws: the issue's "at least twice a second", and no more often."""

HISTORY = 3600
"""Intervals kept for the time plots: an hour at the default 1 s interval; older ones scroll off."""


class LoadPane(SizeLayout, Widget):
    """The Load tab. The app calls `show_view`, `show_result`, `show_error`, `set_running` and
    `set_visible`; the pane posts `StartRequested`, `StopRequested` and `SaveSummaryRequested`."""

    DEFAULT_CSS = LOAD_PANE_CSS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "start", "Start", tooltip="Start the highlighted scenario or suite"),
        Binding("x", "stop", "Stop", tooltip="Stop: no new iterations, running ones may finish"),
        Binding("a", "abort", "Abort", tooltip="Abort: interrupt running iterations now"),
        Binding("ctrl+e", "save_summary", "Save", tooltip="Save the end-of-run summary"),
        Binding("v", "toggle_view", "Summary", tooltip="Switch between plots and summary"),
        Binding("m", "cycle_panel", "Metrics", tooltip="Cycle: histogram, each metric source"),
        Binding("o", "cycle_sort", "Sort", tooltip="Sort the requests by the next column"),
        Binding(
            "p",
            "toggle_more",
            "More",
            tooltip="Small terminal: swap in the scenarios, rate plot and histogram",
        ),
    ]

    class StartRequested(Message):
        """The user asked to start these scenarios or suites."""

        def __init__(self, names: tuple[str, ...]) -> None:
            super().__init__()
            self.names = names

    class StopRequested(Message):
        """The user asked to stop the running test."""

    class AbortRequested(Message):
        """The user asked to abort the running test (interrupt iterations now)."""

    class SaveSummaryRequested(Message):
        """The user asked to save the end-of-run summary (the app writes the file)."""

    def __init__(self, config: Config, *, id: str | None = "load") -> None:
        super().__init__(id=id)
        self.config = config
        self.history: deque[PlotPoint] = deque(maxlen=HISTORY)
        """One point per interval of the current (or last) run, bounded."""
        self.source_history = SourceHistory(HISTORY)
        """The metric sources' readings of the same run, bounded per source."""
        self.panel: str | None = None
        """The metric source the histogram's panel shows instead (`m`); None: the histogram."""
        self.latest: LiveView | None = None
        """The newest view, kept while hidden so showing the pane can catch up."""
        self.result: RunResult | None = None
        self.summary_text: str | None = None
        """The summary on show, from `show_result` or `show_summary_text`."""
        self.error: str | None = None
        self.running = False
        self.stopping = False
        self.owner: str | None = None
        """Who runs the run on show when another process owns it (`browser (pid 4242)`)."""
        self.refusal: str | None = None
        """Why the last stop or abort was refused here (the run is another process's)."""
        self.stop_cause = ""
        """How a followed run was stopped early, as its owner said; empty when it was not."""
        self.run_names: tuple[str, ...] = ()
        self.shown = True
        self.redraws = 0
        """Plot redraws done (each redraws the three plots); tests count them."""
        self._dirty = True
        self._drawn_sizes: tuple[Size, ...] = ()
        """The plots' sizes at the last redraw."""
        self._plot_context = PlotContext(0.0, (), ())
        self._specs: dict[str, ScenarioSpec] = dict(config.scenarios)
        self.baseline: BaselineOverlay | None = None
        """The baseline run drawn beside this run (a faint p95 line, a delta column)."""
        self.replay_label: str | None = None
        """`replay of r12 · 3/20` while a recorded run is shown; None otherwise."""
        self.locked: str | None = None
        """Why runs cannot be started or stopped here (watching a k6 file); None when they can."""
        self.timeline = ThresholdTimeline()
        """When each threshold's light changed in the run on show (the `since` column)."""
        self.more = False
        self.narrow = False
        self.low = False

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="load-top"):
            with Vertical(id="load-side"):
                yield ScenarioList(self.config, id="load-scenarios")
                with HorizontalGroup(id="load-buttons"):
                    yield Button("Start", id="load-start", variant="success")
                    yield Button("Stop", id="load-stop", variant="error", disabled=True)
                yield RunStatus(id="load-status")
            with ContentSwitcher(initial="load-live", id="load-main"):
                with Vertical(id="load-live"):
                    yield LatencyPlot(id="load-latency")
                    with Horizontal(id="load-plots-row"):
                        yield RatePlot(id="load-rates")
                        yield HistogramPlot(id="load-histogram")
                        yield SourcePlot(id="load-source")
                yield SummaryPanel(id="load-summary")
                yield ErrorPanel(id="load-error")
        # Full width under both columns: every column of both tables fits at 120 columns.
        yield ThresholdTable(id="load-thresholds")
        yield RequestTable(id="load-requests")

    def on_mount(self) -> None:
        self.set_interval(REDRAW_INTERVAL, self.refresh_plots, name="load-plot-redraw")
        # Our plot colours come from the theme: replot on a switch.
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._mark_dirty())
        self._show_plan()

    # -- what the app calls -------------------------------------------------------------------

    def show_view(self, view: LiveView) -> None:
        """One interval of the running test: store it, update tables and status if visible.

        Plots are not drawn here; the redraw timer picks the new data up.
        """
        self.latest = view
        self.history.append(PlotPoint.of(view))
        self.source_history.add(view)
        self.timeline.observe(view.thresholds, view.elapsed)
        self._dirty = True
        if self.shown and self.is_mounted:
            self._render_view(view)

    def set_baseline(self, overlay: BaselineOverlay | None) -> None:
        """Draw `overlay` (None: no baseline) with the run on show."""
        self.baseline = overlay
        self._dirty = True
        if self.is_mounted:
            self.query_one(RequestTable).set_baseline(overlay.p95_by_name if overlay else None)

    def show_replay(
        self, label: str, views: Sequence[LiveView], index: int, names: tuple[str, ...] = ()
    ) -> None:
        """A recorded run (of `names`) up to its interval `index`: plots, tables and status as
        they were then."""
        if self.replay_label is None or names != self.run_names:
            self.run_names = names
            self._set_context(self._plan(names))
        self.replay_label = label
        self.running = False
        self.stopping = False
        self.result = None
        self.summary_text = None
        self.error = None
        self.history.clear()
        self.history.extend(PlotPoint.of(view) for view in views[: index + 1])
        self.source_history.reset(views[: index + 1])
        self.timeline.reset((v.elapsed, v.thresholds) for v in views[: index + 1])
        self.latest = views[index]
        self._dirty = True
        with self.app.batch_update():
            self._switch("load-live")
            self._render_view(self.latest)
        self.refresh_bindings()

    def end_replay(self) -> None:
        """Leave replay mode (the recorded run stays on show until a run starts)."""
        self.replay_label = None
        if self.is_mounted:
            self._refresh_status()
        self.refresh_bindings()

    def set_locked(self, reason: str | None) -> None:
        """Disable (with a reason) or enable starting and stopping runs from this pane."""
        self.locked = reason
        if self.is_mounted:
            self.query_one("#load-start", Button).disabled = reason is not None or self.running
            self.query_one("#load-stop", Button).disabled = reason is not None or not self.running
        self.refresh_bindings()

    def show_result(self, result: RunResult) -> None:
        """The run ended: show the headless runner's summary, scrollable, with a save key."""
        self.result = result
        crossed = " - thresholds crossed" if result.thresholds_failed else ""
        stopped = f" - stopped ({result.stopped})" if result.stopped else ""
        with self.app.batch_update():
            self.query_one(ThresholdTable).show_results(result.thresholds, self.timeline.final_text)
            self._show_summary(render_summary(result), f"Summary{crossed}{stopped}", savable=True)

    def show_summary_text(self, text: str, *, ok: bool = True, stopped: str = "") -> None:
        """A summary without its RunResult (a run followed from another process): shown, but
        only the process that ran it can save it. `stopped`: who stopped it early, if anyone."""
        self.stop_cause = stopped
        title = "Summary (from the process that ran it)" + ("" if ok else " - not ok")
        self._show_summary(text, title, savable=False)

    def _show_summary(self, text: str, title: str, *, savable: bool) -> None:
        self.summary_text = text
        with self.app.batch_update():
            self.query_one(SummaryPanel).show(text, title, savable=savable)
            self._switch("load-summary")
            self._refresh_status()
        self.refresh_bindings()

    def show_error(self, text: str) -> None:
        """A run that could not start or broke: say why, in words."""
        self.error = text
        with self.app.batch_update():
            self.query_one(ErrorPanel).show(text)
            self._switch("load-error")
            self._refresh_status()
        self.refresh_bindings()

    def set_running(
        self, running: bool, names: tuple[str, ...] = (), *, owner: str | None = None
    ) -> None:
        """Whether a run is active; `names` are its scenarios or suites (a new run clears the
        previous run's data); `owner` names the process running it when it is not this one."""
        if running and not self.running:
            self.replay_label = None
            self.history.clear()
            self.source_history.clear()
            self.timeline.clear()
            self.more = False
            self._apply_layout()
            self.latest = None
            self.result = None
            self.summary_text = None
            self.error = None
            self.stop_cause = ""
            self.run_names = tuple(names)
        elif names:
            self.run_names = tuple(names)
        self.running = running
        self.stopping = False
        self.owner = owner if running else None
        self.refusal = None
        plan = self._plan(self.run_names)
        self._dirty = True
        with self.app.batch_update():
            scenarios = self.query_one(ScenarioList)
            if running:
                marked = {*self.run_names, *(s.name for s in plan.scenarios)} if plan else set()
                scenarios.mark_running(sorted(marked))
                if len(self.run_names) == 1:
                    scenarios.select(self.run_names[0])
                self._switch("load-live")
            else:
                scenarios.mark_running(())
            self.query_one("#load-start", Button).disabled = running or self.locked is not None
            self.query_one("#load-stop", Button).disabled = not running or self.locked is not None
            self._set_context(plan)
            if self.latest is None and running and plan is not None:
                self.query_one(ThresholdTable).show_planned(plan.thresholds)
            self._refresh_status()
        self.refresh_bindings()

    def set_stopping(self) -> None:
        """The app accepted a stop or abort of its run: say so until the run has ended."""
        if self.running and not self.stopping:
            self.stopping = True
            self._refresh_status()
            self.refresh_bindings()

    def refuse_stop(self, text: str) -> None:
        """The app refused a stop or abort (another process owns the run): it keeps running
        here, and the status keeps `text` (why, and where to stop it) in sight."""
        self.stopping = False
        self.refusal = text
        if self.is_mounted:
            self._refresh_status()
        self.refresh_bindings()

    def set_visible(self, visible: bool) -> None:
        """Called on tab switches: hidden, the pane stores views but redraws nothing; shown,
        it catches up once."""
        was = self.shown
        self.shown = visible
        if visible and not was and self.is_mounted:
            self._dirty = True
            if self.latest is not None:
                self._render_view(self.latest)
            # After the layout pass, so the plots know their size.
            self.call_after_refresh(self.refresh_plots)

    def focus_scenarios(self) -> None:
        """Focus the scenario list, so the pane's keys (s, x, v, ctrl+e) reach it; while the
        list is behind `p` (a small terminal), the pane itself holds the focus for its keys."""
        if self._list_hidden:
            self.can_focus = True
            self.focus()
        else:
            self.query_one(ScenarioList).query_one(ListView).focus()
            self.can_focus = False

    @property
    def selected_names(self) -> tuple[str, ...]:
        """What Start would run: the highlighted scenario or suite."""
        preview = self.query_one(ScenarioList).selected
        return (preview.name,) if preview else ()

    # -- plots --------------------------------------------------------------------------------

    def refresh_plots(self) -> bool:
        """Replot the three plots from the stored history if visible and changed (data, or a
        plot's size since its last draw); True if drawn."""
        if not (self.shown and self.is_mounted):
            return False
        # Each plot downsamples to its width: one drawn before a layout change settled (a
        # resize, `p`) must be drawn again at its final size.
        sizes = tuple(plot.size for plot in self.query("#load-live PlotextPlot"))
        if not self._dirty and sizes == self._drawn_sizes:
            return False
        switcher = self.query_one(ContentSwitcher)
        # Hidden by a parent (another tab) or showing the summary: the plots have no region.
        # On a small terminal `p` may have swapped the latency plot for the rate plot.
        probe = RatePlot if self.small and self.more else LatencyPlot
        if switcher.current != "load-live" or not self.query_one(probe).region.area:
            return False
        points = list(self.history)
        ctx = self._plot_context
        planned = self.latest.planned if self.latest else ctx.planned
        with self.app.batch_update():
            base = self.baseline
            self.query_one(LatencyPlot).draw(
                points,
                planned=planned,
                thresholds=ctx.thresholds,
                labels=ctx.labels,
                stage_marks=ctx.stage_marks,
                baseline=base.points if base else (),
                baseline_label=f"baseline {base.run_id} p95" if base else "",
            )
            self.query_one(RatePlot).draw(points, planned=planned, stage_marks=ctx.stage_marks)
            if self.panel is None:
                self.query_one(HistogramPlot).draw(self.latest.histogram if self.latest else ())
            else:
                self.query_one(SourcePlot).show(
                    self.config, self.panel, self.source_history, ctx.specs, planned
                )
        self._dirty = False
        self._drawn_sizes = sizes
        self.redraws += 1
        return True

    def _mark_dirty(self) -> None:
        self._dirty = True

    # -- internals ----------------------------------------------------------------------------

    def _plan(self, names: tuple[str, ...]) -> RunPlan | None:
        """The plan for `names` (none: the whole file, as the engine reads it)."""
        try:
            return resolve_plan(self.config, names)
        except UnknownScenario:
            return None  # e.g. a run attached from another config: no plan to preview

    def _set_context(self, plan: RunPlan | None) -> None:
        if plan is None:
            self._plot_context = PlotContext(0.0, (), ())
            return
        lines = latency_lines(tuple(plan.thresholds))
        self._plot_context = PlotContext(
            planned_end(plan.scenarios),
            tuple(value for value, _label in lines),
            stage_marks(plan.scenarios),
            tuple(plan.thresholds),
            tuple(label for _value, label in lines),
        )
        if self.is_mounted:
            self.query_one(RequestTable).set_limits(plan.thresholds)

    def _render_view(self, view: LiveView) -> None:
        with self.app.batch_update():
            self._refresh_status()
            self.query_one(ThresholdTable).show_results(view.thresholds, self.timeline.live_text)
            self.query_one(RequestTable).show_rows(view.requests, view.total_latency.p95 or None)

    def _switch(self, panel: str) -> None:
        switcher = self.query_one(ContentSwitcher)
        old = switcher.visible_content
        focused = self.screen.focused if self.is_attached else None
        switcher.current = panel
        if old is not None and focused is not None and old in focused.ancestors_with_self:
            # The focused widget just vanished; keep focus (and so the pane's keys) in the pane.
            self.focus_scenarios()
        if panel == "load-live":
            self._dirty = True

    def _state(self) -> str:
        if self.replay_label is not None:
            return self.replay_label
        if self.running:
            return "stopping..." if self.stopping else "running"
        if self.error is not None:
            return "failed"
        if self.result is not None:
            return f"stopped ({self.result.stopped})" if self.result.stopped else "finished"
        if self.summary_text is not None:
            return "stopped" if self.stop_cause else "finished"
        return "ended" if self.latest is not None else "idle"

    def _refresh_status(self) -> None:
        status = self.query_one(RunStatus)
        if self.latest is None and not self.running:
            self._show_idle(status)
            return
        status.show(
            self.latest,
            state=self._state(),
            specs=self._specs,
            owner=self.owner,
            note=self.refusal if self.running else None,
        )

    def _show_idle(self, status: RunStatus) -> None:
        preview = self.query_one(ScenarioList).selected
        state = self._state()
        if preview is None:
            status.show_idle(
                Content.from_markup("[b]$state[/b]  no scenario selected", state=state)
            )
            return
        status.show_idle(
            Content.from_markup(
                "[b]$state[/b]  [dim]s starts[/dim] [b]$name[/b]\n\n$details",
                state=state,
                name=preview.name,
                details=preview.details,
            )
        )

    def _show_plan(self) -> None:
        """Before any run: the highlighted plan's thresholds, stage marks and status."""
        names = self.selected_names
        plan = self._plan(names)
        self._set_context(plan)
        self.run_names = names
        with self.app.batch_update():
            self.query_one(ThresholdTable).show_planned(plan.thresholds if plan else ())
            self._refresh_status()
        self._dirty = True
        self.refresh_bindings()

    def on_scenario_list_highlighted(self, event: ScenarioList.Highlighted) -> None:
        event.stop()
        if self.running or self.latest is not None or not self.is_mounted:
            # During and after a run the panels keep showing that run.
            if not self.running and self.is_mounted:
                self.refresh_bindings()
            return
        self._show_plan()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {
            "load-start": self.action_start,
            "load-stop": self.action_stop,
            "save-summary": self.action_save_summary,
        }
        action = actions.get(event.button.id or "")
        if action is not None:
            event.stop()
            action()

    # -- actions ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # None shows the key greyed out in the footer: visible, but not possible right now.
        if action in ("start", "stop", "abort") and self.locked is not None:
            return None
        if action == "start":
            return None if self.running or not self.is_mounted or not self.selected_names else True
        if action == "stop":
            return True if self.running and not self.stopping else None
        if action == "abort":
            return True if self.running else None
        if action == "save_summary":
            return True if self.result is not None else None
        if action == "toggle_more":
            return self.small  # False: not in the footer when everything fits
        if action == "toggle_view":
            return True if self.summary_text is not None or self.error is not None else None
        return True

    def action_start(self) -> None:
        names = self.selected_names
        if self.running or not names or self.locked is not None:
            return
        self.post_message(self.StartRequested(names))

    def action_stop(self) -> None:
        if not self.running or self.stopping or self.locked is not None:
            return
        self.stopping = True
        self._refresh_status()
        self.refresh_bindings()
        self.post_message(self.StopRequested())

    def action_abort(self) -> None:
        if not self.running or self.locked is not None:
            return
        self.stopping = True
        self._refresh_status()
        self.refresh_bindings()
        self.post_message(self.AbortRequested())

    def action_save_summary(self) -> None:
        if self.result is not None:
            self.post_message(self.SaveSummaryRequested())

    def action_cycle_panel(self) -> None:
        """Show the next metric source in the histogram's panel (after the last: the histogram)."""
        if not self.config.sources:
            self.notify("No metric sources in the config ([sources.NAME]): nothing to plot here")
            return
        self.panel = next_panel(self.panel, list(self.config.sources))
        self.query_one(HistogramPlot).display = self.panel is None
        self.query_one(SourcePlot).display = self.panel is not None
        self._dirty = True
        self.call_after_refresh(self.refresh_plots)  # after the layout pass: the new size

    def action_cycle_sort(self) -> None:
        """Sort the request table by its next column."""
        self.query_one(RequestTable).cycle_sort()

    def action_toggle_view(self) -> None:
        switcher = self.query_one(ContentSwitcher)
        if switcher.current != "load-live":
            self._switch("load-live")
            self.call_after_refresh(self.refresh_plots)
        elif self.summary_text is not None:
            self._switch("load-summary")
        elif self.error is not None:
            self._switch("load-error")
