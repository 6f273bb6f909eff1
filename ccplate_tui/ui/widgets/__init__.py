"""Widgets of the Load tab (textual only; they render LiveView / RunResult fields)."""

from ccplate_tui.ui.widgets.histogram_plot import HistogramPlot
from ccplate_tui.ui.widgets.latency_plot import LatencyPlot, PlotPoint, downsample
from ccplate_tui.ui.widgets.rate_plot import RatePlot
from ccplate_tui.ui.widgets.request_table import RequestTable
from ccplate_tui.ui.widgets.run_status import RunStatus
from ccplate_tui.ui.widgets.scenario_list import ScenarioList, planned_curve, planned_load
from ccplate_tui.ui.widgets.summary_panel import ErrorPanel, SummaryPanel
from ccplate_tui.ui.widgets.threshold_table import ThresholdTable

__all__ = [
    "ErrorPanel",
    "HistogramPlot",
    "LatencyPlot",
    "PlotPoint",
    "RatePlot",
    "RequestTable",
    "RunStatus",
    "ScenarioList",
    "SummaryPanel",
    "ThresholdTable",
    "downsample",
    "planned_curve",
    "planned_load",
]
