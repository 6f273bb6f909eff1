"""Per-request (`name` tag) figures over the run so far: count, error %, p50/p95/p99, and with
a baseline run the change of p95 against the baseline's same name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.widgets import DataTable

from ccplate_tui.history.overlay import p95_delta
from ccplate_tui.load.live import RequestRow
from ccplate_tui.load.units_format import humanize_ms, humanize_rate_percent

COLUMNS = ("name", "count", "errors", "p50", "p95", "p99")
DELTA_COLUMN = "Δ p95"
"""Shown only while a baseline is known."""
WORSE = 0.10
"""A p95 more than this fraction above the baseline's is marked as worse."""


def delta_cell(row: RequestRow, baseline: Mapping[str, float]) -> Text:
    """`+12%` against the baseline's p95 of the same name; red when worse by more than WORSE."""
    delta = p95_delta(row.p95, baseline.get(row.name))
    if delta is None or not row.count:
        return Text("-", justify="right", style="dim")
    style = "bold red" if delta > WORSE else ""
    return Text(f"{delta * 100:+.0f}%", justify="right", style=style)


def row_cells(row: RequestRow) -> tuple[object, ...]:
    # Numbers right-aligned so the columns compare at a glance.
    return (
        row.name,
        Text(str(row.count), justify="right"),
        Text(humanize_rate_percent(row.error_rate), justify="right"),
        Text(humanize_ms(row.p50), justify="right"),
        Text(humanize_ms(row.p95), justify="right"),
        Text(humanize_ms(row.p99), justify="right"),
    )


class RequestTable(DataTable):
    """One row per request name; rows update in place while the names stay the same."""

    DEFAULT_CSS = """
    RequestTable {
        height: auto;
        max-height: 8;
        border: round $border;
        border-title-color: $text-accent;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.border_title = "Requests"
        self._names: tuple[str, ...] = ()
        self.baseline: Mapping[str, float] | None = None
        """p95 ms by request name of the baseline run; None hides the delta column."""
        self._rows: tuple[RequestRow, ...] = ()

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)

    def set_baseline(self, baseline: Mapping[str, float] | None) -> None:
        """Show (or, with None, hide) the delta column against this baseline."""
        had = self.baseline is not None
        self.baseline = dict(baseline) if baseline is not None else None
        if had != (baseline is not None):
            self.clear(columns=True)
            self.add_columns(*COLUMNS, *((DELTA_COLUMN,) if baseline is not None else ()))
            self._names = ()
        self.show_rows(self._rows)

    def _cells(self, row: RequestRow) -> tuple[object, ...]:
        cells = row_cells(row)
        if self.baseline is None:
            return cells
        return (*cells, delta_cell(row, self.baseline))

    def show_rows(self, rows: Sequence[RequestRow]) -> None:
        self._rows = tuple(rows)
        names = tuple(row.name for row in rows)
        if names == self._names:
            for row in rows:
                for column, value in zip(self.columns, self._cells(row), strict=True):
                    self.update_cell(row.name, column, value, update_width=True)
            return
        self.clear()
        for row in rows:
            self.add_row(*self._cells(row), key=row.name)
        self._names = names
