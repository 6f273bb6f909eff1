"""Latency p50/p95/p99 over the run, with the threshold values and the planned stage changes.

The y axis fits the data (with headroom), not the thresholds: a 200 ms limit over a 1-5 ms run
would flatten every line onto 0. A threshold above the data is a labelled marker at the top
edge instead (`p(99)<200 ↑ 200 ms`). The legend is the border title, off the data.

The plot widgets share one rule (textual-notes §5): data lives in the pane's bounded history,
`draw(...)` replots from it at most twice a second, downsampled to the plot's width, and the
build happens in the widget's own `self.plt` figure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from textual.color import Color
from textual.content import Content
from textual_plotext import PlotextPlot

from ccplate_tui.load.live import LiveView

MARKER = "hd"
"""Half-block markers: twice the resolution of plain characters at a fraction of braille's cost."""

T = TypeVar("T")

RGB = tuple[int, int, int]

HEADROOM = 1.25
"""The y axis ends this far above the highest plotted value."""

SERIES = (("p50", "success", "p50"), ("p95", "warning", "p95"), ("p99", "primary", "p99"))
"""(PlotPoint field, theme colour variable, label) of the latency lines."""


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
    """One line per (PlotPoint field, theme colour variable, label) over elapsed seconds; no
    plotext legend (it is drawn over the data): the caller names the lines in its title."""
    if not shown:
        return
    xs = [p.elapsed for p in shown]
    for field, colour, _label in lines:
        plot.plt.plot(
            xs, [getattr(p, field) for p in shown], marker=MARKER, color=theme_rgb(plot, colour)
        )


def legend(title: str, lines: Sequence[tuple[str, str]], extra: str = "") -> Content:
    """A border title naming each line in its colour: `Latency ms  ━ p50 ━ p95 ━ p99`."""
    parts = [Content.from_markup("[b]$title[/b]", title=title)]
    for label, colour in lines:
        parts.append(Content.from_markup(f"[${colour}]━ $label[/]", label=label))
    if extra:
        parts.append(Content.from_markup("[dim]$extra[/dim]", extra=extra))
    return Content(" ").join(parts)


def y_top(values: Sequence[float]) -> float:
    """The top of a y axis over `values`: the highest with HEADROOM, at least 1."""
    return max([*values, 0.0]) * HEADROOM or 1.0


def off_scale_label(value: float, label: str) -> str:
    """The marker of a threshold above the plotted range: `p(99)<200 ↑ 200 ms`."""
    return f"{label} ↑ {value:g} ms" if label else f"↑ {value:g} ms"


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
        min-height: 7;
        border-top: solid $border;
        border-title-color: $text-accent;
        border-title-align: left;
    }
    """

    TITLE = "Latency ms (interval)"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.draws = 0
        """How many times the data was replotted (for tests and the redraw budget)."""
        self.plotted_points = 0
        """Points per series in the last draw, after downsampling."""
        self.y_range: tuple[float, float] = (0.0, 1.0)
        """The y axis of the last draw, ms."""
        self.off_scale: tuple[str, ...] = ()
        """Markers of the thresholds above the y axis in the last draw."""
        self.border_title = legend(self.TITLE, [(label, colour) for _f, colour, label in SERIES])

    def draw(
        self,
        points: Sequence[PlotPoint],
        *,
        planned: float,
        thresholds: Sequence[float] = (),
        stage_marks: Sequence[float] = (),
        baseline: Sequence[tuple[float, float]] = (),
        baseline_label: str = "baseline p95",
        labels: Sequence[str] = (),
    ) -> None:
        """Replot from `points`; `thresholds` are ms values drawn as horizontal lines (with
        `labels`, one per value, naming them when off-scale), `stage_marks` seconds drawn as
        vertical lines, and `baseline` (elapsed s, p95 ms) points of a baseline run as a faint
        line."""
        plt = self.plt
        plt.clear_figure()
        plt.xlabel("seconds")
        limit = max(self.size.width - 10, 2)
        shown = downsample([p for p in points if p.has_latency], limit, lambda p: p.p99)
        left, right = x_range(points, planned)
        plt.xlim(left, right)
        # Only the stretch of the baseline run that lines up with this plot's time span.
        base = downsample([b for b in baseline if left <= b[0] <= right], limit, lambda b: b[1])
        data = [*(p.p99 for p in shown), *(b[1] for b in base)]
        # Without data the thresholds set the scale; with data, the data does.
        top = y_top(data or list(thresholds))
        plt.ylim(0, top)
        self.y_range = (0.0, top)
        muted = theme_rgb(self, "foreground-darken-3")
        for mark in stage_marks:
            if left < mark < right:
                plt.vline(mark, muted)
        named = dict(zip(thresholds, labels, strict=False))
        above = [v for v in thresholds if v > top]
        for value in thresholds:
            if value <= top:
                plt.hline(value, theme_rgb(self, "error"))
        self.off_scale = tuple(off_scale_label(v, named.get(v, "")) for v in above)
        if self.off_scale:
            # At the top edge, right-aligned: the limit is there, just far above the data.
            plt.text(
                "  ".join(self.off_scale),
                right,
                top,
                alignment="right",
                color=theme_rgb(self, "error"),
            )
        lines = [(label, colour) for _f, colour, label in SERIES]
        drawn = [v for v in thresholds if v <= top]
        if drawn:
            lines.append(("limit " + ", ".join(f"{v:g}" for v in drawn), "error"))
        if base:
            # Drawn first and muted, so the live lines stay on top of it.
            plt.plot(
                [b[0] for b in base],
                [b[1] for b in base],
                marker="dot",
                color=theme_rgb(self, "foreground-darken-2"),
            )
            lines.append((baseline_label, "foreground-darken-2"))
        plot_lines(self, shown, SERIES)
        self.border_title = legend(self.TITLE, lines)
        self.plotted_points = len(shown)
        self.draws += 1
        self.refresh()
