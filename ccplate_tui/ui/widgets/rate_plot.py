"""Requests/s and errors/s over the run."""

from __future__ import annotations

from collections.abc import Sequence

from textual_plotext import PlotextPlot

from ccplate_tui.ui.widgets.latency_plot import (
    PlotPoint,
    downsample,
    plot_lines,
    theme_rgb,
    x_range,
)


class RatePlot(PlotextPlot):
    """Interval throughput and errors per second."""

    DEFAULT_CSS = """
    RatePlot {
        height: 1fr;
        min-height: 8;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.draws = 0
        self.plotted_points = 0

    def draw(
        self, points: Sequence[PlotPoint], *, planned: float, stage_marks: Sequence[float] = ()
    ) -> None:
        plt = self.plt
        plt.clear_figure()
        plt.title("Requests/s and errors/s")
        limit = max(self.size.width - 10, 2)
        shown = downsample(points, limit, lambda p: p.requests_per_s + p.errors_per_s)
        left, right = x_range(points, planned)
        plt.xlim(left, right)
        top = max([*(p.requests_per_s for p in shown), *(p.errors_per_s for p in shown), 1.0])
        plt.ylim(0, top * 1.1)
        muted = theme_rgb(self, "foreground-darken-3")
        for mark in stage_marks:
            if left < mark < right:
                plt.vline(mark, muted)
        plot_lines(
            self,
            shown,
            [("requests_per_s", "primary", "req/s"), ("errors_per_s", "error", "errors/s")],
        )
        self.plotted_points = len(shown)
        self.draws += 1
        self.refresh()
