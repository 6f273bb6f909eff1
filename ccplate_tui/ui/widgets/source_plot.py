"""One metric source's readings over the run: its values, its threshold lines and NO DATA marks.

A `[sources.NAME]` is read once per interval (load/sources.py); a reading without a value is
NO DATA and leaves a gap in the line, with a mark at the bottom of the plot. The Load tab shows
this panel in place of the latency histogram when the user cycles to a source.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static
from textual_plotext import PlotextPlot

from ccplate_tui.config.model import Config
from ccplate_tui.config.thresholds import ThresholdSpec
from ccplate_tui.load.live import LiveView
from ccplate_tui.load.source_samples import SourceSample
from ccplate_tui.ui.widgets.latency_plot import MARKER, downsample, theme_rgb

NO_DATA = "NO DATA"


def sources_of(view: LiveView) -> tuple[SourceSample, ...]:
    """The metric-source readings `view` carries; () for a view without any."""
    return view.sources


def next_panel(current: str | None, names: Sequence[str]) -> str | None:
    """The panel after `current`: the histogram (None) -> each source in `names` -> None."""
    order: list[str | None] = [None, *names]
    at = order.index(current) if current in order else 0
    return order[(at + 1) % len(order)]


@dataclass(frozen=True)
class SourceLine:
    """A threshold drawn across a source's plot: its limit, labelled with the expression."""

    value: float
    label: str


def source_lines(specs: Iterable[ThresholdSpec], name: str) -> tuple[SourceLine, ...]:
    """One line per distinct threshold on source `name` (`max<50` -> 50); the config refuses
    relative thresholds on sources, so each has a fixed limit."""
    lines: dict[tuple[float, str], SourceLine] = {}
    for spec in specs:
        if spec.metric == name:
            line = SourceLine(spec.expr.value, spec.expr.source.strip())
            lines.setdefault((line.value, line.label), line)
    return tuple(lines.values())


class SourceHistory:
    """Each source's readings over the run, in order, at most `maxlen` per source."""

    def __init__(self, maxlen: int) -> None:
        self.maxlen = maxlen
        self._series: dict[str, deque[SourceSample]] = {}

    def clear(self) -> None:
        self._series.clear()

    def add(self, view: LiveView) -> None:
        """Keep the readings of one interval."""
        for sample in sources_of(view):
            series = self._series.setdefault(sample.name, deque(maxlen=self.maxlen))
            series.append(sample)

    def reset(self, views: Iterable[LiveView]) -> None:
        """Forget what was kept and keep the readings of `views` instead (a replay)."""
        self.clear()
        for view in views:
            self.add(view)

    def series(self, name: str) -> list[SourceSample]:
        """A copy of source `name`'s readings, oldest first."""
        return list(self._series.get(name, ()))


def one_line(text: str) -> str:
    """`text` with every run of whitespace (newlines too) as one space."""
    return " ".join(text.split())


def format_value(value: float) -> str:
    """A reading, short: `63`, `4.2`, `0.0123`."""
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.1f}"
    return f"{value:.3g}"


def with_unit(value: float, unit: str) -> str:
    """`63 %`, `4.2 jobs`, or the bare number without a unit."""
    return format_value(value) + (f" {unit}" if unit else "")


def caption(name: str, samples: Sequence[SourceSample], unit: str) -> Content:
    """The line under the plot: the latest reading or why it has none, then how many readings
    were NO DATA. Short: the panel is narrow (what does not fit ends in an ellipsis)."""
    if not samples:
        return Content.from_markup("[b]$name[/b] [dim]no reading yet[/dim]", name=name)
    last = samples[-1]
    missing = sum(1 for s in samples if s.value is None)
    if last.value is None:
        return Content.from_markup(
            "[b]$name[/b] [b $error]$no_data[/] at $at s: $reason",
            name=name,
            no_data=NO_DATA,
            at=f"{last.at:.0f}",
            reason=one_line(last.error or "no value"),
        )
    return Content.from_markup(
        "[b]$name[/b] [b]$value[/b] at $at s$tail",
        name=name,
        value=with_unit(last.value, unit),
        at=f"{last.at:.0f}",
        tail=f" · {missing} {NO_DATA}" if missing else "",
    )


def nice_ticks(bottom: float, top: float, count: int = 4) -> list[float]:
    """Round values (steps of 1, 2 or 5 times a power of ten) from `bottom` up to `top`."""
    raw = max((top - bottom) / count, 1e-9)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(bottom / step) * step
    return [first + i * step for i in range(int((top - first) / step + 1e-9) + 1)]


class SourceChart(PlotextPlot):
    """The plot part of a SourcePlot: readings over run time, in the source's unit."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.draws = 0
        self.plotted_points = 0
        self._last: tuple[tuple[Any, ...], dict[str, Any], int] | None = None
        """The last draw's arguments and the width it downsampled to."""

    def on_resize(self) -> None:
        # Shown before its first layout (the panel was hidden), or resized: the last draw
        # downsampled to a width it no longer has, so draw it again at this one.
        if self._last is not None and self._last[2] != self.size.width:
            args, kwargs, _ = self._last
            self.draw(*args, **kwargs)

    def draw(
        self,
        title: str,
        samples: Sequence[SourceSample],
        *,
        unit: str,
        lines: Sequence[SourceLine],
        planned: float,
    ) -> None:
        """Replot: one line per run of readings with a value, NO DATA marks on the x axis.

        No legend: in a panel this small it would hide the data. Threshold lines carry their
        expression at their right end, and the unit is on the y axis' labels.
        """
        kwargs = {"unit": unit, "lines": tuple(lines), "planned": planned}
        self._last = ((title, tuple(samples)), kwargs, self.size.width)
        plt = self.plt
        plt.clear_figure()
        plt.title(title)
        plt.xlabel("seconds")
        limit = max(self.size.width - 10, 2)
        # Per index, how many readings before it had no value: two kept readings with a NO
        # DATA between them must not be joined, even after downsampling.
        missing_before = [0]
        for sample in samples:
            missing_before.append(missing_before[-1] + (sample.value is None))
        valued = [(i, s) for i, s in enumerate(samples) if s.value is not None]
        shown = downsample(valued, limit, lambda item: item[1].value or 0.0)
        blanks = downsample([s for s in samples if s.value is None], limit, lambda s: s.at)
        left = 0.0 if not samples or samples[0].at <= 1.0 else samples[0].at
        right = max(planned, samples[-1].at if samples else 0.0, left + 1.0)
        values = [s.value for _, s in shown if s.value is not None]
        bottom = min([*values, *(line.value for line in lines), 0.0])
        top = max([*values, *(line.value for line in lines), 1.0])
        span = top - bottom
        plt.xlim(left, right)
        plt.ylim(bottom - (span * 0.05 if bottom < 0 else 0.0), top + span * 0.1)
        ticks = nice_ticks(bottom, top + span * 0.1)
        plt.yticks(ticks, [f"{t:.6g}" + (f" {unit}" if unit else "") for t in ticks])
        colour = theme_rgb(self, "primary")
        for run in _runs(shown, missing_before):
            plt.plot(
                [s.at for s in run], [s.value or 0.0 for s in run], marker=MARKER, color=colour
            )
        for index, line in enumerate(lines):
            line_colour = theme_rgb(self, "error" if index == 0 else "warning")
            plt.hline(line.value, line_colour)
            # On the plot's own background (textual-plotext paints the canvas `surface`);
            # plotext's default for text is a white box.
            plt.text(
                line.label,
                right,
                line.value,
                color=line_colour,
                background=theme_rgb(self, "surface"),
                alignment="right",
            )
        if blanks:
            plt.scatter(
                [s.at for s in blanks],
                [bottom] * len(blanks),
                marker="x",
                color=theme_rgb(self, "error"),
            )
        self.plotted_points = len(shown)
        self.draws += 1
        self.refresh()


def _runs(
    shown: Sequence[tuple[int, SourceSample]], missing_before: Sequence[int]
) -> list[list[SourceSample]]:
    """`shown` split wherever a reading without a value lies between two neighbours."""
    runs: list[list[SourceSample]] = []
    previous: int | None = None
    for index, sample in shown:
        if previous is None or missing_before[index] != missing_before[previous + 1]:
            runs.append([])
        runs[-1].append(sample)
        previous = index
    return runs


class SourcePlot(Widget):
    """A metric source's plot with a one-line caption under it (latest value or error)."""

    DEFAULT_CSS = """
    SourcePlot {
        display: none;
        height: 1fr;
        min-height: 8;
    }
    SourcePlot SourceChart {
        height: 1fr;
    }
    SourcePlot #source-caption {
        height: 1;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source: str | None = None
        """The source on show (None before the first draw)."""

    def compose(self) -> ComposeResult:
        yield SourceChart()
        yield Static(id="source-caption")

    @property
    def chart(self) -> SourceChart:
        return self.query_one(SourceChart)

    def draw(
        self,
        name: str,
        samples: Sequence[SourceSample],
        *,
        unit: str = "",
        lines: Sequence[SourceLine] = (),
        planned: float = 0.0,
        position: tuple[int, int] = (1, 1),
    ) -> None:
        """Show source `name` (the `position`th of all, as (n, of)) from its `samples`."""
        self.source = name
        unit = next((s.unit for s in reversed(samples) if s.unit), unit)
        # Short: the panel is narrow, and plotext drops a title wider than the plot. The
        # threshold expressions are written on their lines.
        title = f"Source {name}" + (f" ({unit})" if unit else "")
        title += f" {position[0]}/{position[1]}"
        self.chart.draw(title, samples, unit=unit, lines=lines, planned=planned)
        line = caption(name, samples, unit)
        label = self.query_one("#source-caption", Static)
        label.update(line)
        label.tooltip = line.plain  # the whole line, when the panel cuts it short

    def show(
        self,
        config: Config,
        name: str,
        history: SourceHistory,
        specs: Iterable[ThresholdSpec],
        planned: float,
    ) -> None:
        """`draw` source `name` of `config` from `history`, with lines for its `specs`."""
        names = list(config.sources)
        spec = config.sources.get(name)
        self.draw(
            name,
            history.series(name),
            unit=spec.unit if spec else "",
            lines=source_lines(specs, name),
            planned=planned,
            position=(names.index(name) + 1 if name in names else 1, len(names)),
        )
