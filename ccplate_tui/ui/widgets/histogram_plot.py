"""The latency distribution of the last interval, as the engine binned it (log-spaced bins)."""

from __future__ import annotations

from collections.abc import Sequence

from textual_plotext import PlotextPlot

from ccplate_tui.load.live import HistogramBin
from ccplate_tui.ui.widgets.latency_plot import legend, theme_rgb

TICK_LABELS = 5
"""Bin labels on the x axis at most; all 24 would overlap."""
AXIS_WIDTH = 7
"""Columns the y axis and the frame take from the plot's width."""


def bin_label(upper_ms: float, extra: int = 0) -> str:
    """A bin's upper edge, short: `850`, `12`, `1.2`, `1.2k` (ms); `extra` more decimals."""
    if upper_ms >= 10_000:
        return f"{upper_ms / 1000:.{extra}f}k"
    if upper_ms >= 1000:
        return f"{upper_ms / 1000:.{1 + extra}f}k"
    if upper_ms >= 10:
        return f"{upper_ms:.{extra}f}"
    return f"{upper_ms:.{1 + extra}f}"


def tick_labels(edges: Sequence[float]) -> list[str]:
    """Labels for `edges`, with as few decimals as keep them distinct (a 1-5 ms run's bins
    would otherwise all read `1.1`, `1.2`, `1.2`)."""
    for extra in range(4):
        labels = [bin_label(edge, extra) for edge in edges]
        if len(set(labels)) == len(labels):
            return labels
    return labels


def tick_positions(bins: int, width: int, label_width: int = 4) -> list[int]:
    """Evenly spread 1-based bin positions whose labels fit `width` columns side by side.

    Labels must never touch: plotext then drops one of the colliding pair, and which one
    depends on the process's string hash seed, so the same data drew differently per run."""
    room = max(1, (width - AXIS_WIDTH) // (label_width + 2))
    labels = max(1, min(TICK_LABELS, room, bins))
    step = -(-bins // labels)
    return list(range(bins, 0, -step))[::-1]


class HistogramPlot(PlotextPlot):
    """Request counts per latency bin in the last interval."""

    DEFAULT_CSS = """
    HistogramPlot {
        height: 1fr;
        min-height: 6;
        border-top: solid $border;
        border-title-color: $text-accent;
        border-title-align: left;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.draws = 0
        self.plotted_points = 0
        self.x_labels: list[str] = []
        """The x tick labels of the last draw (bin upper edges, ms)."""
        self.border_title = legend("Last interval", [("count", "primary")])

    def draw(self, bins: Sequence[HistogramBin]) -> None:
        plt = self.plt
        plt.clear_figure()
        plt.xlabel("ms (bin upper edge)")
        self.x_labels = []
        if bins:
            xs = list(range(1, len(bins) + 1))
            plt.bar(xs, [b.count for b in bins], marker="hd", color=theme_rgb(self, "primary"))
            edges = [b.upper_ms for b in bins]
            widest = max(len(label) for label in tick_labels(edges[:: max(1, len(edges) // 6)]))
            ticks = tick_positions(len(bins), self.size.width, widest)
            self.x_labels = tick_labels([edges[t - 1] for t in ticks])
            plt.xticks(ticks, self.x_labels)

        self.plotted_points = len(bins)
        self.draws += 1
        self.refresh()
