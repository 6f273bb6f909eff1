"""A tiny App showing the run-history screen over fixed rows, with the dashboard's stylesheet
and breakpoint classes, for the History snapshots and Pilot tests.

The rows never come from a history file: the screen's reader is replaced by one that posts
`ROWS` at once, so the pictures do not wait on a thread. `started_at` is shown in local time,
so the tests pin TZ to UTC (`utc` fixture).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static

import ccplate_tui.ui
from ccplate_tui.ui.app import CcplateApp
from ccplate_tui.ui.screens.history_screen import HistoryRow, HistoryScreen

APP_CSS = Path(ccplate_tui.ui.__file__).parent / "app.tcss"
T0 = 1_764_150_000.0
"""2025-11-26 09:40:00 UTC."""

ROWS = [
    HistoryRow("r12", T0 + 7200, ("auth_burst",), "finished", 297.4, True, 240),
    HistoryRow(
        "r11",
        T0 + 3600,
        ("mixed_workload",),
        "interrupted",
        1812.0,
        False,
        95,
        ran=("mixed_reads", "mixed_writes", "mixed_ai"),
    ),
    HistoryRow("r10", T0 + 1800, ("auth_burst",), "aborted", 950.2, False, 12),
    HistoryRow("r9", T0, ("quick",), "finished", None, None, 0),
]
"""Newest first, as the store lists them: the shipped scenarios and a suite, each status a run
can end with, and an imported run (no p95, no thresholds)."""


class FixedHistoryScreen(HistoryScreen):
    """The history screen over `ROWS` (or an error), posted at once instead of read."""

    def __init__(self, rows: list[HistoryRow], error: str | None = None) -> None:
        super().__init__(Path("unused"))
        self.fixed = (rows, error)

    def _load(self) -> None:  # type: ignore[override]
        self.post_message(self.Loaded(*self.fixed))


class HistoryApp(App[None]):
    """The history screen over a plain background, styled as in the dashboard."""

    CSS_PATH = APP_CSS
    HORIZONTAL_BREAKPOINTS = CcplateApp.HORIZONTAL_BREAKPOINTS
    VERTICAL_BREAKPOINTS = CcplateApp.VERTICAL_BREAKPOINTS

    def __init__(self, rows: list[HistoryRow] | None = None, error: str | None = None) -> None:
        super().__init__()
        self.rows = ROWS if rows is None else rows
        self.error = error

    def compose(self) -> ComposeResult:
        yield Static("the dashboard behind the history")

    def on_mount(self) -> None:
        self.push_screen(FixedHistoryScreen(self.rows, self.error))


@pytest.fixture
def utc() -> Iterator[None]:
    """Local time is UTC for the test (the `when` column), restored afterwards."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()
