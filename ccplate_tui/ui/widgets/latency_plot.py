"""Latency p50/p95/p99 over the run, with the threshold values and the planned stage changes.

The plot widgets share one rule (textual-notes §5): data lives in the pane's bounded history,
`draw(...)` replots from it at most twice a second, downsampled to the plot's width, and the
build happens in the widget's own `self.plt` figure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from textual.color import Color
from textual_plotext import PlotextPlot

from ccplate_tui.load.live import LiveView

MARKER = "hd"
"""Half-block markers: twice the resolution of plain characters at a fraction of braille's cost."""

T = TypeVar("T")

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class PlotPoint:
    """What the time plots need from one LiveView, copied out so the view itself can go."""

    elapsed: float
    p50: float
    p95: float
    p99: float
    requests_per_s: float
    errors_per_s: float
    has_latency: bool
    """False for an interval without finished requests (its percentiles are 0, not data)."""

    @classmethod
    def of(cls, view: LiveView) -> PlotPoint:
        lat = view.interval_latency
        return cls(
            view.elapsed,
            lat.p50,
            lat.p95,
            lat.p99,
            view.requests_per_s,
            view.errors_per_s,
            lat.count > 0,
        )


def downsample(points: Sequence[T], limit: int, peak: Callable[[T], float]) -> list[T]:
    """At most `limit` of `points`, in order: per equal bucket the one with the highest `peak`.

    It picks whole recorded points (never averages them), so spikes stay visible and every
    plotted value is one the engine reported.
    """
    if limit <= 0:
        return []
    if len(points) <= limit:
        return list(points)
    out = []
    for bucket in range(limit):
        start = bucket * len(points) // limit
        end = (bucket + 1) * len(points) // limit
        out.append(max(points[start:end], key=peak))
    return out


def theme_rgb(plot: PlotextPlot, variable: str) -> RGB:
    """A Textual theme colour as the RGB tuple plotext takes, so plots follow the theme."""
    value = plot.app.theme_variables.get(variable, "#808080")
    return Color.parse(value).rgb


def plot_lines(
    plot: PlotextPlot, shown: Sequence[PlotPoint], lines: Sequence[tuple[str, str, str]]
) -> None:
    """One line per (PlotPoint field, theme colour variable, label) over elapsed seconds."""
    if not shown:
        return
    xs = [p.elapsed for p in shown]
    for field, colour, label in lines:
        plot.plt.plot(
            xs,
            [getattr(p, field) for p in shown],
            marker=MARKER,
            color=theme_rgb(plot, colour),
            label=label,
        )


def x_range(points: Sequence[PlotPoint], planned: float) -> tuple[float, float]:
    """The run so far and what is planned: from the first kept point (or 0) to the later end."""
    start = 0.0 if not points or points[0].elapsed <= 1.0 else points[0].elapsed
    end = max(planned, points[-1].elapsed if points else 0.0, start + 1.0)
    return start, end


class LatencyPlot(PlotextPlot):
    """Interval latency percentiles over time, in milliseconds."""

    DEFAULT_CSS = """
    LatencyPlot {
        height: 2fr;
        min-height: 10;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.draws = 0
        """How many times the data was replotted (for tests and the redraw budget)."""
        self.plotted_points = 0
        """Points per series in the last draw, after downsampling."""

    def draw(
        self,
        points: Sequence[PlotPoint],
        *,
        planned: float,
        thresholds: Sequence[float] = (),
        stage_marks: Sequence[float] = (),
        baseline: Sequence[tuple[float, float]] = (),
        baseline_label: str = "baseline p95",
    ) -> None:
        """Replot from `points`; `thresholds` are ms values drawn as horizontal lines,
        `stage_marks` seconds drawn as vertical lines, and `baseline` (elapsed s, p95 ms) points
        of a baseline run as a faint line."""
        plt = self.plt
        plt.clear_figure()
        title = "Latency ms (interval p50 / p95 / p99)"
        if thresholds:
            title += "  thresholds: " + ", ".join(f"{v:g}" for v in thresholds)
        plt.title(title)
        plt.xlabel("seconds")
        limit = max(self.size.width - 10, 2)
        shown = downsample([p for p in points if p.has_latency], limit, lambda p: p.p99)
        left, right = x_range(points, planned)
        plt.xlim(left, right)
        # Only the stretch of the baseline run that lines up with this plot's time span.
        base = downsample([b for b in baseline if left <= b[0] <= right], limit, lambda b: b[1])
        top = max([*(p.p99 for p in shown), *(b[1] for b in base), *thresholds, 1.0]) * 1.1
        plt.ylim(0, top)
        muted = theme_rgb(self, "foreground-darken-3")
        for mark in stage_marks:
            if left < mark < right:
                plt.vline(mark, muted)
        for value in thresholds:
            plt.hline(value, theme_rgb(self, "error"))
        if base:
            # Drawn first and muted, so the live lines stay on top of it.
            plt.plot(
                [b[0] for b in base],
                [b[1] for b in base],
                marker="dot",
                color=theme_rgb(self, "foreground-darken-2"),
                label=baseline_label,
            )
        plot_lines(
            self,
            shown,
            [("p50", "success", "p50"), ("p95", "warning", "p95"), ("p99", "primary", "p99")],
        )
        self.plotted_points = len(shown)
        self.draws += 1
        self.refresh()
