"""The latency distribution of the last interval, as the engine binned it (log-spaced bins)."""

from __future__ import annotations

from collections.abc import Sequence

from textual_plotext import PlotextPlot

from ccplate_tui.load.live import HistogramBin
from ccplate_tui.ui.widgets.latency_plot import theme_rgb

TICK_LABELS = 5
"""Bin labels on the x axis; all 24 would overlap."""


def bin_label(upper_ms: float) -> str:
    """A bin's upper edge, short: `850`, `12`, `1.2`, `1.2k` (ms)."""
    if upper_ms >= 10_000:
        return f"{upper_ms / 1000:.0f}k"
    if upper_ms >= 1000:
        return f"{upper_ms / 1000:.1f}k"
    if upper_ms >= 10:
        return f"{upper_ms:.0f}"
    return f"{upper_ms:.1f}"


class HistogramPlot(PlotextPlot):
    """Request counts per latency bin in the last interval."""

    DEFAULT_CSS = """
    HistogramPlot {
        height: 1fr;
        min-height: 8;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.draws = 0
        self.plotted_points = 0

    def draw(self, bins: Sequence[HistogramBin]) -> None:
        plt = self.plt
        plt.clear_figure()
        plt.title("Last interval latency (ms)")
        if bins:
            xs = list(range(1, len(bins) + 1))
            plt.bar(xs, [b.count for b in bins], marker="hd", color=theme_rgb(self, "primary"))
            step = max(1, len(bins) // TICK_LABELS)
            ticks = xs[step - 1 :: step]
            plt.xticks(ticks, [bin_label(bins[t - 1].upper_ms) for t in ticks])
        self.plotted_points = len(bins)
        self.draws += 1
        self.refresh()
