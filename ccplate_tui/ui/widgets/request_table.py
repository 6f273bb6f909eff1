"""Per-request (`name` tag) figures over the run so far: p95 first, slowest first.

Rows are sorted by p95, descending, by default (`o` on the Load tab cycles the sort column). A
row is red when its percentile crosses an `http_req_duration` threshold filtered to its name
or URL, and yellow when its p95 is well above the whole run's, so a slow endpoint in a mixed
workload stands out. With a baseline run, a column shows the change of p95 against it. When
more than one scenario sends requests, scenario and method columns tell the rows apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import DataTable

from ccplate_tui.config.thresholds import ThresholdSpec
from ccplate_tui.history.overlay import p95_delta
from ccplate_tui.load.live import RequestRow
from ccplate_tui.load.units_format import humanize_ms, humanize_rate_percent

COLUMNS = ("name", "p95", "p99", "p50", "count", "errors")
ORIGIN_COLUMNS = ("scenario", "method")
"""Shown only when the rows come from more than one scenario."""
COMPACT_COLUMNS = ("name", "p95", "p99", "errors")
"""On a narrow terminal: the method goes in front of the name, p50 and the count go."""
DELTA_COLUMN = "Δ p95"
"""Shown only while a baseline is known."""
WORSE = 0.10
"""A p95 more than this fraction above the baseline's is marked as worse."""
SLOW = 1.5
"""A row whose p95 is more than this times the whole run's p95 is marked as slow."""

SORTS: tuple[str, ...] = ("p95", "p99", "p50", "count", "errors", "name")
"""The sort columns `o` cycles through; numbers sort descending, the name ascending."""

PERCENTILE_FIELDS = {50.0: "p50", 95.0: "p95", 99.0: "p99"}
"""The threshold percentiles a RequestRow holds."""


def delta_cell(row: RequestRow, baseline: Mapping[str, float]) -> Text:
    """`+12%` against the baseline's p95 of the same name; red when worse by more than WORSE."""
    delta = p95_delta(row.p95, baseline.get(row.name))
    if delta is None or not row.count:
        return Text("-", justify="right", style="dim")
    style = "bold red" if delta > WORSE else ""
    return Text(f"{delta * 100:+.0f}%", justify="right", style=style)


def table_columns(origin: bool, compact: bool) -> tuple[str, ...]:
    """The column labels for these display choices (the delta column aside)."""
    if compact:
        return (*(ORIGIN_COLUMNS[:1] if origin else ()), *COMPACT_COLUMNS)
    return (*(ORIGIN_COLUMNS if origin else ()), *COLUMNS)


def row_cells(row: RequestRow, origin: bool = False, compact: bool = False) -> tuple[object, ...]:
    """The row's cells under `table_columns(origin, compact)`."""
    # Numbers right-aligned so the columns compare at a glance.
    p95 = Text(humanize_ms(row.p95), justify="right")
    p99 = Text(humanize_ms(row.p99), justify="right")
    errors = Text(humanize_rate_percent(row.error_rate), justify="right")
    if compact:
        name = f"{row.method} {row.name}" if origin and row.method else row.name
        return (*((row.scenario,) if origin else ()), name, p95, p99, errors)
    return (
        *((row.scenario, row.method) if origin else ()),
        row.name,
        p95,
        p99,
        Text(humanize_ms(row.p50), justify="right"),
        Text(str(row.count), justify="right"),
        errors,
    )


def sort_rows(rows: Sequence[RequestRow], column: str) -> list[RequestRow]:
    """`rows` by `column`: the name ascending, any number descending (ties by name)."""
    if column == "name":
        return sorted(rows, key=lambda r: (r.name, r.scenario, r.method))
    field = "error_rate" if column == "errors" else column
    return sorted(rows, key=lambda r: (-getattr(r, field), r.name, r.scenario, r.method))


@dataclass(frozen=True)
class RowLimit:
    """A latency threshold that applies to one request name: `p(95)<300` on `/api/files`."""

    name: str
    field: str
    """The RequestRow percentile it is compared with: p50, p95 or p99."""
    value: float
    source: str


def row_limits(specs: Sequence[ThresholdSpec]) -> tuple[RowLimit, ...]:
    """The `http_req_duration` thresholds filtered by a `name` or `url` tag, as row limits
    (only the percentiles a row holds; `med` is p50)."""
    limits = []
    for spec in specs:
        if spec.metric != "http_req_duration" or spec.expr.operator not in ("<", "<="):
            continue
        tags = dict(spec.tags)
        name = tags.get("name") or tags.get("url")
        if name is None:
            continue
        expr = spec.expr
        percentile = 50.0 if expr.aggregation == "med" else expr.percentile
        field = PERCENTILE_FIELDS.get(percentile) if expr.aggregation in ("p", "med") else None
        if field is not None and not expr.relative:
            limits.append(RowLimit(name, field, expr.value, expr.source))
    return tuple(limits)


def row_state(row: RequestRow, limits: Sequence[RowLimit], overall_p95: float | None) -> str:
    """`over` a threshold of its own, `slow` against the whole run's p95, else ``."""
    for limit in limits:
        if limit.name == row.name and row.count and getattr(row, limit.field) >= limit.value:
            return "over"
    if overall_p95 and row.count and row.p95 > overall_p95 * SLOW:
        return "slow"
    return ""


class RequestTable(DataTable):
    """One row per request name, sorted; rows update in place while their order stays the same."""

    DEFAULT_CSS = """
    RequestTable {
        height: auto;
        max-height: 8;
        border: round $border;
        border-title-color: $text-accent;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        # No cursor: it would paint over the first row, the one with the most to say.
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, show_cursor=False)
        self._keys: tuple[str, ...] = ()
        self.origin = False
        """Whether the scenario and method columns are shown."""
        self.compact = False
        """Whether only the columns a narrow terminal has room for are shown."""
        self.baseline: Mapping[str, float] | None = None
        """p95 ms by request name of the baseline run; None hides the delta column."""
        self._rows: tuple[RequestRow, ...] = ()
        self.sort = SORTS[0]
        """The column the rows are sorted by."""
        self.limits: tuple[RowLimit, ...] = ()
        """Thresholds on single request names (rows crossing them are red)."""
        self.overall_p95: float | None = None
        """The whole run's p95 so far (rows well above it are yellow)."""
        self._title()

    def on_mount(self) -> None:
        self.add_columns(*table_columns(self.origin, self.compact))

    def _title(self) -> None:
        order = "↑" if self.sort == "name" else "↓"
        self.border_title = f"Requests · by {self.sort} {order}"

    def _set_columns(self) -> None:
        self.clear(columns=True)
        self.add_columns(
            *table_columns(self.origin, self.compact),
            *((DELTA_COLUMN,) if self.baseline is not None else ()),
        )
        self._keys = ()

    def set_baseline(self, baseline: Mapping[str, float] | None) -> None:
        """Show (or, with None, hide) the delta column against this baseline."""
        had = self.baseline is not None
        self.baseline = dict(baseline) if baseline is not None else None
        if had != (baseline is not None):
            self._set_columns()
        self.show_rows(self._rows, self.overall_p95)

    def set_compact(self, compact: bool) -> None:
        """Show only the columns a narrow terminal has room for (or, with False, all)."""
        if compact != self.compact:
            self.compact = compact
            if self.is_mounted:
                self._set_columns()
                self.show_rows(self._rows, self.overall_p95)

    def set_limits(self, specs: Sequence[ThresholdSpec]) -> None:
        """The run's thresholds: those on a single request name mark its row."""
        self.limits = row_limits(specs)

    def cycle_sort(self) -> str:
        """Sort by the next column of SORTS; returns it."""
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._title()
        self.show_rows(self._rows, self.overall_p95)
        return self.sort

    def _cells(self, row: RequestRow) -> tuple[object, ...]:
        cells = row_cells(row, self.origin, self.compact)
        state = row_state(row, self.limits, self.overall_p95)
        if state:
            colour = self.app.theme_variables.get(
                "text-error" if state == "over" else "text-warning", ""
            )
            style = f"bold {colour}" if colour.startswith("#") else "bold"
            cells = tuple(
                Text(c, style=style) if isinstance(c, str) else _styled(c, style) for c in cells
            )
        if self.baseline is None:
            return cells
        return (*cells, delta_cell(row, self.baseline))

    def show_rows(self, rows: Sequence[RequestRow], overall_p95: float | None = None) -> None:
        """The rows of the latest view; `overall_p95`: the whole run's p95 (None: unknown)."""
        self._rows = tuple(rows)
        self.overall_p95 = overall_p95
        origin = len({row.scenario for row in rows}) > 1
        if origin != self.origin:
            self.origin = origin
            self._set_columns()
        ordered = sort_rows(rows, self.sort)
        keys = tuple(row.key for row in ordered)
        if keys == self._keys:
            for row in ordered:
                for column, value in zip(self.columns, self._cells(row), strict=True):
                    self.update_cell(row.key, column, value, update_width=True)
            return
        self.clear()
        for row in ordered:
            self.add_row(*self._cells(row), key=row.key)
        self._keys = keys


def _styled(cell: object, style: str) -> object:
    if isinstance(cell, Text):
        copy = cell.copy()
        copy.stylize(style)
        return copy
    return cell
