"""One row per threshold with a PASS / FAIL / NO DATA light and the time it first failed."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

from ccplate_tui.config.thresholds import ThresholdSpec
from ccplate_tui.load.metrics import BUILTIN_METRICS, MetricType
from ccplate_tui.load.thresholds import ThresholdResult
from ccplate_tui.load.units_format import go_duration, humanize_ms, humanize_rate_percent, js_number

COLUMNS = ("", "threshold", "expression", "observed", "first failed")

LIGHTS = {
    True: ("● PASS", "text-success"),
    False: ("● FAIL", "text-error"),
    None: ("○ NO DATA", "text-warning"),
}
"""Label and theme colour for `ThresholdResult.ok`; the word is there for colour-blind eyes."""

PLANNED = ("· planned", "text-muted")


def format_observed(spec: ThresholdSpec, value: float | None) -> str:
    """The observed aggregate in the metric's unit: ms as k6 prints them, rates as percent."""
    if value is None:
        return "-"
    info = BUILTIN_METRICS.get(spec.metric)
    aggregation = spec.expr.aggregation
    if info is not None and info.type is MetricType.RATE:
        return humanize_rate_percent(value)
    if info is not None and info.type is MetricType.COUNTER:
        return f"{value:.2f}/s" if aggregation == "rate" else js_number(value)
    if info is not None and info.contains == "time" and aggregation != "count":
        return humanize_ms(value)
    return js_number(round(value, 3))


def expression(spec: ThresholdSpec) -> str:
    text = spec.expr.source
    return f"{text} (abortOnFail)" if spec.abort_on_fail else text


class ThresholdTable(DataTable):
    """Live threshold results; rows update in place while the set of thresholds stays the same."""

    DEFAULT_CSS = """
    ThresholdTable {
        height: auto;
        max-height: 10;
        border: round $border;
        border-title-color: $text-accent;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.border_title = "Thresholds"
        self._keys: tuple[str, ...] = ()
        self._shown: Sequence[ThresholdResult] | Sequence[ThresholdSpec] = ()

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)
        # The lights use theme colours, resolved when the cells are built: rebuild on a switch.
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._rebuild())

    def _light(self, label: str, variable: str) -> Text:
        colour = self.app.theme_variables.get(variable, "")
        return Text(label, style=f"bold {colour}" if colour.startswith("#") else "bold")

    def _row(self, result: ThresholdResult) -> tuple[object, ...]:
        label, variable = LIGHTS[result.ok]
        first = result.first_failed_at
        return (
            self._light(label, variable),
            result.spec.key,
            expression(result.spec),
            format_observed(result.spec, result.observed),
            "-" if first is None else f"at {go_duration(round(first, 1))}",
        )

    def _planned_row(self, spec: ThresholdSpec) -> tuple[object, ...]:
        return (self._light(*PLANNED), spec.key, expression(spec), "-", "-")

    def _fill(self, keys: tuple[str, ...], rows: list[tuple[object, ...]]) -> None:
        if keys == self._keys:
            for key, row in zip(keys, rows, strict=True):
                for column, value in zip(self.columns, row, strict=True):
                    self.update_cell(key, column, value, update_width=True)
            return
        self.clear()
        for key, row in zip(keys, rows, strict=True):
            self.add_row(*row, key=key)
        self._keys = keys

    def show_results(self, results: Sequence[ThresholdResult]) -> None:
        """The latest evaluation: one row per threshold, in the engine's order."""
        self._shown = tuple(results)
        keys = tuple(f"{i}:{r.spec.key}:{r.spec.expr.source}" for i, r in enumerate(results))
        self._fill(keys, [self._row(r) for r in results])

    def show_planned(self, specs: Sequence[ThresholdSpec]) -> None:
        """Before a run: the thresholds that will judge it, without a verdict."""
        self._shown = tuple(specs)
        keys = tuple(f"planned:{i}:{s.key}:{s.expr.source}" for i, s in enumerate(specs))
        self._fill(keys, [self._planned_row(s) for s in specs])

    def _rebuild(self) -> None:
        self._keys = ()
        shown = self._shown
        if shown and isinstance(shown[0], ThresholdResult):
            self.show_results(shown)  # type: ignore[arg-type]
        else:
            self.show_planned(shown)  # type: ignore[arg-type]
