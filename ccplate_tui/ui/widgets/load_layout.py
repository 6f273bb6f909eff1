"""The Load tab's layout by size: its CSS, and the classes that pick a layout on resize.

Wide (from `NARROW` columns and `LOW` rows): scenarios, buttons and status on the left, the
three plots on the right, both tables across the full width below, so every column fits at
120 columns. Narrow: a thin side column with a compact status and the latency plot beside it;
the scenario list, rate plot and histogram are behind `p`. Low: the same for the plots.
"""

from __future__ import annotations

from textual import events
from textual.widget import Widget

from ccplate_tui.ui.widgets.request_table import RequestTable
from ccplate_tui.ui.widgets.run_status import RunStatus
from ccplate_tui.ui.widgets.threshold_table import ThresholdTable

NARROW = 110
"""Pane columns below which the side column thins and the scenario list goes behind `p`."""
LOW = 30
"""Pane rows below which the rate plot and histogram go behind `p`."""

LOAD_PANE_CSS = """
    LoadPane {
        layout: vertical;
        height: 1fr;
    }
    LoadPane #load-top {
        height: 1fr;
    }
    LoadPane #load-side {
        width: 46;
        height: 1fr;
    }
    LoadPane #load-buttons {
        height: auto;
        padding: 0 1;
    }
    LoadPane #load-buttons Button {
        min-width: 12;
        margin-right: 1;
    }
    LoadPane #load-main {
        width: 1fr;
        height: 1fr;
    }
    LoadPane #load-live {
        height: 1fr;
    }
    LoadPane #load-plots-row {
        height: 1fr;
    }
    LoadPane #load-plots-row HistogramPlot, LoadPane #load-plots-row SourcePlot {
        width: 2fr;
    }
    LoadPane #load-plots-row RatePlot {
        width: 3fr;
        margin-right: 1;
    }
    /* Narrow: a thin side column with the run's status; the scenario list behind `p`. */
    LoadPane.-narrow #load-side {
        width: 34;
    }
    LoadPane.-narrow #load-scenarios, LoadPane.-narrow #load-buttons {
        display: none;
    }
    LoadPane.-narrow.-more #load-scenarios {
        display: block;
    }
    LoadPane.-narrow.-more #load-status {
        display: none;
    }
    LoadPane.-narrow #load-status {
        height: 1fr;
    }
    /* Narrow or low: the latency plot alone; `p` swaps in the rate plot and histogram. */
    LoadPane.-narrow #load-plots-row, LoadPane.-low #load-plots-row {
        display: none;
    }
    LoadPane.-narrow.-more #load-plots-row, LoadPane.-low.-more #load-plots-row {
        display: block;
    }
    LoadPane.-narrow.-more #load-latency, LoadPane.-low.-more #load-latency {
        display: none;
    }
    LoadPane.-low #load-buttons {
        display: none;
    }
    /* Low: tables keep only their top border (with the title); no horizontal scrollbar. */
    LoadPane.-low ThresholdTable, LoadPane.-low RequestTable {
        border: none;
        border-top: round $border;
        overflow-x: hidden;
    }
    LoadPane.-narrow ThresholdTable, LoadPane.-narrow RequestTable {
        overflow-x: hidden;
    }
    /* Narrow: the summary's key hint would be cut; the keys are in the footer. */
    LoadPane.-narrow SummaryPanel HorizontalGroup Label {
        display: none;
    }
    """


class SizeLayout(Widget):
    """Mixin for the LoadPane: `-narrow`, `-low` and `-more` classes from its size and `p`."""

    narrow = False
    """Narrower than NARROW columns at the last resize."""
    low = False
    """Fewer than LOW rows at the last resize."""
    more = False
    """On a small terminal: showing the scenarios, rate plot and histogram (`p`)."""
    _dirty: bool

    def focus_scenarios(self) -> None:
        raise NotImplementedError

    def refresh_plots(self) -> bool:
        raise NotImplementedError

    def _refresh_status(self) -> None:
        raise NotImplementedError

    def on_resize(self, event: events.Resize) -> None:
        narrow = event.size.width < NARROW
        low = event.size.height < LOW
        if (narrow, low) != (self.narrow, self.low):
            self.narrow, self.low = narrow, low
            self._apply_layout()

    @property
    def small(self) -> bool:
        """Whether some panels are behind `p` at this size."""
        return self.narrow or self.low

    @property
    def _list_hidden(self) -> bool:
        return self.narrow and not self.more

    def _apply_layout(self) -> None:
        """Set the size classes, keep the focus on something shown, redraw at the new size."""
        self.set_class(self.narrow, "-narrow")
        self.set_class(self.low, "-low")
        self.set_class(self.more and self.small, "-more")
        if not self.is_mounted:
            return
        self.query_one(RunStatus).compact = self.narrow
        self.query_one(RequestTable).set_compact(self.narrow)
        self.query_one(ThresholdTable).set_compact(self.narrow)
        self._refresh_status()
        focused = self.screen.focused if self.is_attached else None
        in_pane = focused is not None and self in focused.ancestors_with_self
        if in_pane:
            self.focus_scenarios()
        self._dirty = True
        self.call_after_refresh(self.refresh_plots)  # after the layout pass: the new sizes
        self.refresh_bindings()

    def action_toggle_more(self) -> None:
        """Small terminal: swap the latency plot (and status) for the scenarios, the rate plot
        and the histogram, and back."""
        self.more = not self.more
        self._apply_layout()
