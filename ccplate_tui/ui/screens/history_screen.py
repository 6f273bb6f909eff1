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


@dataclass(frozen=True)
class HistoryRow:
    """One recorded run as the list shows it."""

    run_id: str
    started_at: float
    names: tuple[str, ...]
    status: str
    p95_ms: float | None
    """None for a run without recorded request durations (or an imported record)."""
    thresholds_ok: bool | None
    """True when all held, False when one failed or had no data, None without thresholds."""
    intervals: int


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
                run.all_names,
                run.status,
                run_p95(store, run),
                thresholds_ok(run),
                run.interval_count,
            )
            for run in store.runs(limit)
        ]


def row_cells(row: HistoryRow) -> tuple[object, ...]:
    ok = {True: Text("yes", style="green"), False: Text("no", style="bold red")}
    return (
        row.run_id,
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.started_at)),
        ", ".join(row.names),
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

    def compose(self) -> ComposeResult:
        with Vertical(id="history-box") as box:
            box.border_title = "Run history"
            yield Static("reading the history…", id="history-note")
            yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield Footer()  # the list's keys, not the dashboard's

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)
        self.query_one(DataTable).focus()
        self._load()

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
        table = self.query_one(DataTable)
        table.clear()
        for row in message.rows:
            table.add_row(*row_cells(row), key=row.run_id)

    @on(DataTable.RowSelected)
    def _chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.dismiss(str(event.row_key.value))

    def action_close(self) -> None:
        self.dismiss(None)
