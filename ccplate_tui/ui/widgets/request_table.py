"""Per-request (`name` tag) figures over the run so far: count, error %, p50/p95/p99."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

from ccplate_tui.load.live import RequestRow
from ccplate_tui.load.units_format import humanize_ms, humanize_rate_percent

COLUMNS = ("name", "count", "errors", "p50", "p95", "p99")


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

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)

    def show_rows(self, rows: Sequence[RequestRow]) -> None:
        names = tuple(row.name for row in rows)
        if names == self._names:
            for row in rows:
                for column, value in zip(self.columns, row_cells(row), strict=True):
                    self.update_cell(row.name, column, value, update_width=True)
            return
        self.clear()
        for row in rows:
            self.add_row(*row_cells(row), key=row.name)
        self._names = names
