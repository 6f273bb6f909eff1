"""The run-history screen at 80x24, 120x40 and 200x60: every column of every listed run on
screen, none behind a horizontal scroll."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from tests.ui.history_fixtures import ROWS, HistoryApp, utc
from tests.ui.overview_fixtures import SIZES, screen_lines

__all__ = ["utc"]  # a fixture, imported for pytest


@pytest.mark.usefixtures("utc")
@pytest.mark.parametrize("size", SIZES)
async def test_every_column_of_every_run_is_on_screen(size: str) -> None:
    app = HistoryApp()
    async with app.run_test(size=SIZES[size]) as pilot:
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        assert table.row_count == len(ROWS)
        assert table.virtual_size.width <= table.scrollable_content_region.width, "scrolls"
        lines = screen_lines(app)
        for row in ROWS:
            line = next(line for line in lines if f" {row.run_id} " in line)
            assert " ".join(row.names) in line and row.status in line
            if row.ran:  # a suite: its name and how many scenarios ran, not each of them
                count = f"+{len(row.ran)}" if size == "80x24" else f"({len(row.ran)} scenarios)"
                assert count in line and row.ran[0] not in line
        assert any("thresholds" in line for line in lines)


@pytest.mark.usefixtures("utc")
async def test_at_80x24_the_list_takes_the_whole_screen() -> None:
    app = HistoryApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        box = app.screen.query_one("#history-box")
        assert box.outer_size.width == app.screen.size.width
        assert box.outer_size.height >= app.screen.size.height - 1  # a footer may sit below


@pytest.mark.usefixtures("utc")
async def test_a_resize_switches_the_rows_form_and_keeps_the_cursor() -> None:
    app = HistoryApp()
    async with app.run_test(size=SIZES["120x40"]) as pilot:
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        await pilot.press("down")
        assert "(3 scenarios)" in str(table.get_row_at(1)[2])
        await pilot.resize_terminal(*SIZES["80x24"])
        await pilot.pause()
        assert str(table.get_row_at(1)[2]).endswith(" +3") and table.cursor_row == 1
        assert table.virtual_size.width <= table.scrollable_content_region.width
