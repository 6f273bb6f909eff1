"""The run history: recorded runs, newest first; Enter opens one on the Load tab to scrub through.

The rows are read in a thread worker (a long history decodes a histogram per run for its p95), so
the screen opens at once and fills in; a damaged history is shown as its message, never raised.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from ccplate_tui.history.legacy import open_history
from ccplate_tui.history.rows import StoredRun
from ccplate_tui.history.store import HistoryStore
from ccplate_tui.load.metrics import Trend
from ccplate_tui.load.units_format import humanize_ms

LIMIT = 200
"""Runs listed (newest first)."""
COLUMNS = ("id", "when", "scenarios", "status", "p95", "thresholds ok")
NARROW_COLUMNS = ("id", "when", "scenarios", "status", "p95", "thresholds")
NARROW = 100
"""Screen columns below which the rows take their short form (every column still fits at 80)."""


@dataclass(frozen=True)
class HistoryRow:
    """One recorded run as the list shows it."""

    run_id: str
    started_at: float
    names: tuple[str, ...]
    """The scenarios or suites asked for."""
    status: str
    p95_ms: float | None
    """None for a run without recorded request durations (or an imported record)."""
    thresholds_ok: bool | None
    """True when all held, False when one failed or had no data, None without thresholds."""
    intervals: int
    ran: tuple[str, ...] = ()
    """The scenarios that ran, when they differ from `names` (a suite's members)."""


def thresholds_ok(run: StoredRun) -> bool | None:
    if not run.thresholds:
        return None
    return all(t.ok is True for t in run.thresholds)


def run_p95(store: HistoryStore, run: StoredRun) -> float | None:
    if not run.interval_count:
        return None
    trend = store.totals(run.id).select("http_req_duration")
    return float(trend.percentile(95.0)) if isinstance(trend, Trend) and trend.count else None


def history_rows(state_dir: Path, limit: int = LIMIT) -> list[HistoryRow]:
    """The state folder's recorded runs, newest first; raises HistoryError (an OSError) for a
    history that cannot be read."""
    store = open_history(state_dir, create=False)
    if store is None:
        return []
    with store:
        return [
            HistoryRow(
                run.id,
                run.started_at,
                run.names or run.scenarios,
                run.status,
                run_p95(store, run),
                thresholds_ok(run),
                run.interval_count,
                run.scenarios if set(run.scenarios) - set(run.names) else (),
            )
            for run in store.runs(limit)
        ]


def names_cell(row: HistoryRow, narrow: bool = False) -> Text:
    """What was asked for: `mixed_workload (3 scenarios)` for a suite (narrow: `+3`), so a row
    stays on screen."""
    text = Text(", ".join(row.names))
    if row.ran:
        text.append(f" +{len(row.ran)}" if narrow else f" ({len(row.ran)} scenarios)", style="dim")
    return text


def row_cells(row: HistoryRow, narrow: bool = False) -> tuple[object, ...]:
    """The row's cells; `narrow`: the date without its year and seconds, a suite's count short."""
    ok = {True: Text("yes", style="green"), False: Text("no", style="bold red")}
    when = time.localtime(row.started_at)
    return (
        row.run_id,
        time.strftime("%m-%d %H:%M" if narrow else "%Y-%m-%d %H:%M:%S", when),
        names_cell(row, narrow),
        row.status,
        Text(humanize_ms(row.p95_ms) if row.p95_ms is not None else "-", justify="right"),
        ok.get(row.thresholds_ok, Text("-", style="dim")),  # type: ignore[arg-type]
    )


class HistoryScreen(ModalScreen[str | None]):
    """Lists the recorded runs; dismisses with the chosen run's id (None on escape)."""

    DEFAULT_CSS = """
    HistoryScreen {
        align: center middle;
    }
    HistoryScreen #history-box {
        width: 90%;
        height: 80%;
        border: round $primary;
        border-title-color: $text-accent;
        background: $surface;
    }
    HistoryScreen #history-note {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    HistoryScreen DataTable {
        height: 1fr;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,h", "close", "Close", tooltip="Back to the dashboard"),
    ]

    @dataclass
    class Loaded(Message):
        """The worker read the history: its rows, or the error that stopped it."""

        rows: list[HistoryRow]
        error: str | None = None

    def __init__(self, state_dir: Path) -> None:
        super().__init__(id="history-screen")
        self.state_dir = state_dir
        self.rows: list[HistoryRow] | None = None
        """The listed runs once read; None while reading."""
        self.error: str | None = None
        self.narrow = False
        """Whether the rows are in their short form (a screen under NARROW columns)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="history-box") as box:
            box.border_title = "Run history"
            yield Static("reading the history…", id="history-note")
            yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield Footer()  # the list's keys, not the dashboard's

    def on_mount(self) -> None:
        self.narrow = self.app.size.width < NARROW
        self.query_one(DataTable).focus()
        self._fill()
        self._load()

    def on_resize(self) -> None:
        narrow = self.app.size.width < NARROW
        if narrow != self.narrow:
            self.narrow = narrow
            self._fill()

    def _fill(self) -> None:
        """The table's columns and the rows read so far, in the form for this width."""
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        table.add_columns(*(NARROW_COLUMNS if self.narrow else COLUMNS))
        for row in self.rows or ():
            table.add_row(*row_cells(row, self.narrow), key=row.run_id)
        if self.rows:
            table.move_cursor(row=min(cursor, len(self.rows) - 1))

    @work(thread=True, exclusive=True, group="history-list", exit_on_error=False)
    def _load(self) -> None:
        try:
            rows = history_rows(self.state_dir)
        except OSError as exc:  # HistoryError included: say it, do not fall over
            self.post_message(self.Loaded([], f"the run history cannot be read: {exc}"))
            return
        self.post_message(self.Loaded(rows))

    def on_history_screen_loaded(self, message: HistoryScreen.Loaded) -> None:
        self.rows = message.rows
        self.error = message.error
        note = self.query_one("#history-note", Static)
        if message.error:
            note.update(Text(message.error, style="bold red"))
        elif not message.rows:
            note.update(
                "no recorded runs yet: a run from the dashboard or `ccplate-tui run` "
                "is recorded here"
            )
        else:
            note.update(
                "enter opens a run on the Load tab ([ ] or left/right step, home/end "
                "jump, escape leaves the replay)"
            )
        self._fill()

    @on(DataTable.RowSelected)
    def _chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.dismiss(str(event.row_key.value))

    def action_close(self) -> None:
        self.dismiss(None)
