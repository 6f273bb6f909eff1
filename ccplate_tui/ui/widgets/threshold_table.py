"""One row per threshold: a PASS / FAIL / NO DATA light, the observed value, and why the light is
what it is (`failing since 5s`, `passing again since 41s (failed 5s–41s)`, at the end `judged on
the whole run`).

Columns are ordered by what a narrow terminal must keep: light, threshold, observed, then the
explanation; a tag every row shares (`{scenario:auth_burst}`) moves to the border title.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text
from textual.widgets import DataTable

from ccplate_tui.config.thresholds import ThresholdSpec
from ccplate_tui.load.metrics import BUILTIN_METRICS, MetricType
from ccplate_tui.load.thresholds import ThresholdResult
from ccplate_tui.load.units_format import go_duration, humanize_ms, humanize_rate_percent, js_number

COLUMNS = ("", "threshold", "observed", "since")

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


def shared_tag(specs: Sequence[ThresholdSpec]) -> tuple[str, str] | None:
    """The one `scenario` tag every threshold filters on, if they all do (a single scenario's
    thresholds): shown once in the title instead of on every row."""
    tags = {dict(s.tags).get("scenario") for s in specs}
    if len(tags) != 1 or None in tags or not specs:
        return None
    value = tags.pop()
    return ("scenario", value) if value is not None else None


def threshold_label(spec: ThresholdSpec, shared: tuple[str, str] | None) -> str:
    """`http_req_duration p(99)<200`, with the tags other than the shared one in braces."""
    tags = [f"{k}:{v}" for k, v in spec.tags if (k, v) != shared]
    metric = spec.metric + ("{" + ",".join(tags) + "}" if tags else "")
    return f"{metric} {expression(spec)}"


Explain = Callable[[ThresholdResult, bool], str]
"""The text of the `since` column for a result, compact or not (see ThresholdTimeline)."""


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

    TITLE = "Thresholds"

    def __init__(self, *, id: str | None = None) -> None:
        # No cursor: it would paint over the first row, the one with the most to say.
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, show_cursor=False)
        self.border_title = self.TITLE
        self._keys: tuple[str, ...] = ()
        self._shown: Sequence[ThresholdResult] | Sequence[ThresholdSpec] = ()
        self._explain: Explain | None = None
        self._shared: tuple[str, str] | None = None
        self.compact = False
        """A narrow terminal: the `since` texts in their short form."""

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)
        # The lights use theme colours, resolved when the cells are built: rebuild on a switch.
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._rebuild())

    def _light(self, label: str, variable: str) -> Text:
        colour = self.app.theme_variables.get(variable, "")
        return Text(label, style=f"bold {colour}" if colour.startswith("#") else "bold")

    def _row(self, result: ThresholdResult) -> tuple[object, ...]:
        label, variable = LIGHTS[result.ok]
        if self._explain is not None:
            since = self._explain(result, self.compact)
        else:
            first = result.first_failed_at
            since = "-" if first is None else f"failed at {go_duration(round(first, 1))}"
        return (
            self._light(label, variable),
            threshold_label(result.spec, self._shared),
            Text(format_observed(result.spec, result.observed), justify="right"),
            since,
        )

    def _planned_row(self, spec: ThresholdSpec) -> tuple[object, ...]:
        return (self._light(*PLANNED), threshold_label(spec, self._shared), "-", "-")

    def _set_shared(self, specs: Sequence[ThresholdSpec]) -> None:
        shared = shared_tag(specs)
        if shared != self._shared:
            self._keys = ()  # every label changes
        self._shared = shared
        self.border_title = self.TITLE + (f" · {shared[0]} {shared[1]}" if shared else "")

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

    def show_results(
        self, results: Sequence[ThresholdResult], explain: Explain | None = None
    ) -> None:
        """The latest evaluation: one row per threshold, in the engine's order; `explain` gives
        each row's `since` text (without it: when it first failed)."""
        self._shown = tuple(results)
        self._explain = explain
        self._set_shared([r.spec for r in results])
        keys = tuple(f"{i}:{r.spec.key}:{r.spec.expr.source}" for i, r in enumerate(results))
        self._fill(keys, [self._row(r) for r in results])

    def show_planned(self, specs: Sequence[ThresholdSpec]) -> None:
        """Before a run: the thresholds that will judge it, without a verdict."""
        self._shown = tuple(specs)
        self._set_shared(specs)
        keys = tuple(f"planned:{i}:{s.key}:{s.expr.source}" for i, s in enumerate(specs))
        self._fill(keys, [self._planned_row(s) for s in specs])

    def set_compact(self, compact: bool) -> None:
        """Short `since` texts (or, with False, the full ones)."""
        if compact != self.compact:
            self.compact = compact
            if self.is_mounted:
                self._rebuild()

    def _rebuild(self) -> None:
        # Columns too: their widths only ever grow while rows are updated in place.
        self.clear(columns=True)
        self.add_columns(*COLUMNS)
        self._keys = ()
        shown = self._shown
        if shown and isinstance(shown[0], ThresholdResult):
            self.show_results(shown, self._explain)  # type: ignore[arg-type]
        else:
            self.show_planned(shown)  # type: ignore[arg-type]
