"""The Sentry tab at 80x24, 120x40 and 200x60: nothing cut, the cards side by side only where
they fit, border titles shortened rather than cut."""

from __future__ import annotations

import pytest

from ccplate_tui.ui.sentry_pane import CaptureCard, CheckCard, CompatibilityCard, SentryPane
from tests.ui.overview_fixtures import SIZES, cut_cells, screen_lines
from tests.ui.test_sentry_snapshots import (
    DELIVERED_CAPTURE,
    RATE_LIMITED_CAPTURE,
    UNSUPPORTED_REPORT,
    UPGRADE_REPORT,
    sentry_app,
)
from tests.ui.test_sentry_wiring_view import PLAN_WIRING

DOCUMENTS = {
    "upgrade-delivered": (UPGRADE_REPORT, DELIVERED_CAPTURE),
    "unsupported-rate-limited": (UNSUPPORTED_REPORT, RATE_LIMITED_CAPTURE),
    "not-run": (None, None),
    "with-wiring": ({**UPGRADE_REPORT, "wiring": PLAN_WIRING}, DELIVERED_CAPTURE),
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("which", DOCUMENTS)
async def test_no_cell_or_title_is_cut(size: str, which: str) -> None:
    app = sentry_app(*DOCUMENTS[which])
    async with app.run_test(size=SIZES[size]) as pilot:
        await pilot.pause()
        pane = app.query_one(SentryPane)
        assert cut_cells(pane) == []
        for card in pane.query(CheckCard):
            title = str(card.border_title)
            assert title in (card.long_title, card.short_title)
            assert card.outer_size.width >= len(title) + 6, f"{title!r} cut"


async def test_at_80x24_the_cards_stack_and_the_verdicts_show() -> None:
    app = sentry_app(UPGRADE_REPORT, DELIVERED_CAPTURE)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        compat, capture = app.query_one(CompatibilityCard), app.query_one(CaptureCard)
        assert compat.region.width == capture.region.width  # one above the other, full width
        assert capture.region.y > compat.region.bottom - 1
        assert compat.border_title == compat.long_title  # the full width has room for it
        lines = screen_lines(app)
        assert any("UPGRADE" in line and "Sentry supports Next.js 16.1.4" in line for line in lines)
        # Each TODO marker's comment is under its file:line, wrapped, never ellipsised.
        todos = app.query_one("#compat-todos")
        where, comment = todos.children[:2]
        assert comment.region.y >= where.region.bottom
        assert comment.content_region.x > where.content_region.x
        assert where.styles.text_overflow != "ellipsis" != comment.styles.text_overflow


async def test_at_120x40_the_cards_sit_side_by_side() -> None:
    app = sentry_app(UPGRADE_REPORT, DELIVERED_CAPTURE)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        compat, capture = app.query_one(CompatibilityCard), app.query_one(CaptureCard)
        assert compat.region.y == capture.region.y and compat.region.right <= capture.region.x
        assert capture.border_title == "Capture"  # the question does not fit 2/5 of 120
        await pilot.resize_terminal(200, 60)
        await pilot.pause()
        assert capture.border_title == capture.long_title
