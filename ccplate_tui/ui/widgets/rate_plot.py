"""Requests/s and errors/s over the run.

Errors at zero are a faint dotted line along the axis, not a red bar: red means errors.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual_plotext import PlotextPlot

from ccplate_tui.ui.widgets.latency_plot import (
    PlotPoint,
    downsample,
    legend,
    plot_lines,
    theme_rgb,
    x_range,
    y_top,
)


class RatePlot(PlotextPlot):
    """Interval throughput and errors per second."""

    DEFAULT_CSS = """
    RatePlot {
        height: 1fr;
        min-height: 6;
        border-top: solid $border;
        border-title-color: $text-accent;
        border-title-align: left;
    }
    """

    TITLE = "per second"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.draws = 0
        self.plotted_points = 0
        self.errors_drawn_faint = False
        """Whether the last draw showed errors/s as the faint zero line."""
        self.border_title = legend(self.TITLE, [("req/s", "primary"), ("errors/s", "error")])

    def draw(
        self, points: Sequence[PlotPoint], *, planned: float, stage_marks: Sequence[float] = ()
    ) -> None:
        plt = self.plt
        plt.clear_figure()
        limit = max(self.size.width - 10, 2)
        shown = downsample(points, limit, lambda p: p.requests_per_s + p.errors_per_s)
        left, right = x_range(points, planned)
        plt.xlim(left, right)
        top = y_top([*(p.requests_per_s for p in shown), *(p.errors_per_s for p in shown)])
        plt.ylim(0, top)
        muted = theme_rgb(self, "foreground-darken-3")
        for mark in stage_marks:
            if left < mark < right:
                plt.vline(mark, muted)
        errors = any(p.errors_per_s for p in shown)
        self.errors_drawn_faint = bool(shown) and not errors
        if shown and not errors:
            plt.plot(
                [p.elapsed for p in shown],
                [0.0] * len(shown),
                marker="braille",
                color=theme_rgb(self, "foreground-darken-3"),
            )
        plot_lines(self, shown, [("requests_per_s", "primary", "req/s")])
        if errors:
            # Thin braille dots: a few errors along the axis must not read as a solid bar.
            plt.plot(
                [p.elapsed for p in shown],
                [p.errors_per_s for p in shown],
                marker="braille",
                color=theme_rgb(self, "error"),
            )
        self.border_title = legend(
            self.TITLE,
            [("req/s", "primary"), ("errors/s", "error" if errors else "text-muted")],
            "" if errors or not shown else "no errors",
        )
        self.plotted_points = len(shown)
        self.draws += 1
        self.refresh()
