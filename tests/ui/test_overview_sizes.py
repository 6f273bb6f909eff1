"""The Overview at the on-call terminal's 80x24, a laptop's 120x40 and a projector's 200x60.

At 80x24, inside the whole dashboard (header, tabs, footer), every criterion's name, value and
status read whole on one row without scrolling; at every size no cell is cut; the verdict's
letters follow the size as the terminal is resized.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ccplate_tui.release.criteria import Verdict, evaluate_release
from ccplate_tui.ui.app import CcplateApp
from ccplate_tui.ui.overview_pane import STATUS_WORDS, BigWord, OverviewPane, big_text
from tests.ui.app_fixtures import free_port, make_app, write_config
from tests.ui.overview_fixtures import SIZES, cut_cells, screen_lines
from tests.ui.test_overview_snapshots import failing_verdict, overview, rehearsal_verdict

VERDICTS = {
    "no-go": failing_verdict,
    "rehearsal": rehearsal_verdict,
    "before-any-run": lambda: evaluate_release(None),
}


def dashboard(tmp_path: Path) -> CcplateApp:
    # A free port that is not the default: nothing is started, nothing answers.
    return make_app(write_config(tmp_path, f"http://127.0.0.1:{free_port()}"))


@pytest.mark.parametrize("which", VERDICTS)
async def test_at_80x24_every_row_reads_whole_without_scrolling(tmp_path: Path, which: str) -> None:
    verdict: Verdict = VERDICTS[which]()
    app = dashboard(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(OverviewPane).show_verdict(verdict)
        await pilot.pause()
        assert app.screen.has_class("-narrow") and app.screen.has_class("-short")
        lines = screen_lines(app)
        assert any(line.strip() == verdict.word for line in lines)  # the verdict, one line
        for criterion in verdict.criteria:
            row = [line for line in lines if f"│  {criterion.name} " in line]  # table rows only
            assert len(row) == 1, f"{criterion.name}: not on screen once in {lines}"
            assert f" {criterion.value} " in row[0], f"{criterion.value!r} cut in {row[0]!r}"
            assert STATUS_WORDS[criterion.status] in row[0]
        assert cut_cells(app.query_one(OverviewPane)) == []


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("which", VERDICTS)
async def test_no_cell_is_cut(size: str, which: str) -> None:
    app = overview(VERDICTS[which]())
    async with app.run_test(size=SIZES[size]) as pilot:
        await pilot.pause()
        pane = app.query_one(OverviewPane)
        assert cut_cells(pane) == []
        # The evidence is on screen somewhere at every size: in its column, or (narrow) in the
        # box under the table.
        shown = pane.query_one("#evidence").display or all(
            cell.display for cell in pane.query(".evidence")
        )
        assert shown


async def test_the_verdict_grows_with_the_terminal() -> None:
    app = overview(failing_verdict())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        word = app.query_one(BigWord)
        assert str(word.render()) == "NO-GO" and word.size.height == 1
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert str(word.render()).splitlines() == list(big_text("NO-GO"))
        assert word.size.height == 5
        await pilot.resize_terminal(200, 60)
        await pilot.pause()
        assert str(word.render()).splitlines() == list(big_text("NO-GO", 2))
        assert word.size.height == 10
        await pilot.resize_terminal(200, 24)  # wide but short: the rows come first
        await pilot.pause()
        assert str(word.render()) == "NO-GO" and word.size.height == 1


def test_big_text_doubles_every_pixel() -> None:
    small, large = big_text("GO"), big_text("GO", 2)
    assert len(large) == 2 * len(small)
    assert len(large[0]) == 2 * len(small[0])
    assert large[0] == large[1] and large[0].replace("████", "██").replace("    ", "  ") == small[0]
