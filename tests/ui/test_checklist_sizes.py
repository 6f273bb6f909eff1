"""The Checklist tab at 80x24, 120x40 and 200x60: every step's title and status whole (a long
one wraps, never cut), the detail beside the steps, or under them on a narrow terminal.

Accept a deliberate change with `pytest tests/ui/test_checklist_sizes.py --snapshot-update` and
look at each SVG before keeping it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ccplate_tui.ui.widgets.checklist_widgets import StepDetail, StepRow
from tests.ui.overview_fixtures import SIZES
from tests.ui.test_checklist_snapshots import host


@pytest.mark.parametrize("size", SIZES)
def test_the_walked_checklist_at_size(snap_compare: Callable[..., bool], size: str) -> None:
    assert snap_compare(host("unit_tests"), terminal_size=SIZES[size])


@pytest.mark.parametrize("size", SIZES)
async def test_no_step_title_or_status_is_cut(size: str) -> None:
    app = host("unit_tests")
    async with app.run_test(size=SIZES[size]) as pilot:
        await pilot.pause()
        rows = list(app.query(StepRow))
        assert rows
        for row in rows:
            text = row.render()
            lines = str(text).split("\n")
            assert row.size.height == len(lines), row.state.step.id  # every line shown
            assert all(len(line) <= row.size.width for line in lines)
            words = " ".join(" ".join(lines).split())
            # A wrapped title reads whole once its lines are joined.
            for word in row.state.step.title.split():
                assert word in words, (row.state.step.id, word, lines)
        detail = app.query_one(StepDetail)
        beside = detail.region.x > rows[0].region.x
        assert beside == (size != "80x24")  # 80 columns: the detail goes under the steps
