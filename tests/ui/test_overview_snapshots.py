"""Snapshots of the Overview, Sentry and Checklist panes with fixed data, at a pinned size, and
of the Overview at the on-call terminal's 80x24, a laptop's 120x40 and a projector's 200x60.

Accept a deliberate change with `pytest --snapshot-update` and look at the SVG before keeping it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import ccplate_tui.ui
from ccplate_tui.load.run_records import record_from_result
from ccplate_tui.release.criteria import ChecklistProgress, SentryCapture, Verdict, evaluate_release
from ccplate_tui.ui.checklist_pane import ChecklistPane
from ccplate_tui.ui.overview_pane import OverviewPane
from ccplate_tui.ui.sentry_pane import SentryPane
from ccplate_tui.ui.themes import load_theme_file
from tests.ui.overview_fixtures import (
    MEASURED,
    SIZES,
    WIRED,
    PaneApp,
    fixture_config,
    live_view,
    run_result,
    spread,
)

SIZE = (140, 45)
HEALTHY = spread(1000, 40.0, 300.0)
HIGH_CONTRAST = Path(ccplate_tui.ui.__file__).parent / "themes" / "ccplate-high-contrast.toml"


def overview(verdict: Verdict | None = None, theme: Path | None = None) -> PaneApp:
    pane = OverviewPane()
    if verdict is not None:
        pane.show_verdict(verdict)
    return PaneApp(pane, load_theme_file(theme) if theme else None)


def go_verdict() -> Verdict:
    return evaluate_release(
        run_result(HEALTHY),
        sentry=SentryCapture(True, "event received (HTTP 200)"),
        checklist=ChecklistProgress(21, 21),
        run_id="r7",
        wiring=WIRED,
        measures=MEASURED,
    )


def rehearsal_verdict() -> Verdict:
    """A run at time scale 0.05 judged, a later interrupted one shown beside it."""
    complete = record_from_result(run_result(HEALTHY), ["mixed"], run_id="r3", time_scale=0.05)
    cut = record_from_result(run_result(HEALTHY, stopped="interrupted"), ["mixed"], run_id="r4")
    return evaluate_release(
        cut,
        last_complete=complete,
        sentry=SentryCapture(True, "event received (HTTP 200)"),
        checklist=ChecklistProgress(21, 21),
        wiring=WIRED,
        measures=MEASURED,
    )


def failing_verdict() -> Verdict:
    return evaluate_release(
        run_result([50.0] * 98 + [900.0] * 2, failures=1),
        checklist=ChecklistProgress(12, 21),
        run_id="r5",
    )


def test_overview_before_any_run(snap_compare) -> None:
    assert snap_compare(overview(), terminal_size=SIZE)


def test_overview_go(snap_compare) -> None:
    assert snap_compare(overview(go_verdict()), terminal_size=SIZE)


def test_overview_go_rehearsal(snap_compare) -> None:
    assert snap_compare(overview(rehearsal_verdict()), terminal_size=SIZE)


def test_overview_no_go_with_failing_criteria(snap_compare) -> None:
    assert snap_compare(overview(failing_verdict()), terminal_size=SIZE)


def test_overview_run_in_progress(snap_compare) -> None:
    verdict = evaluate_release(live_view(HEALTHY, elapsed=83.0))
    assert snap_compare(overview(verdict), terminal_size=SIZE)


def test_overview_no_go_high_contrast(snap_compare) -> None:
    assert snap_compare(overview(failing_verdict(), HIGH_CONTRAST), terminal_size=SIZE)


def test_sentry_pane(snap_compare) -> None:
    assert snap_compare(PaneApp(SentryPane()), terminal_size=SIZE)


def test_checklist_pane(snap_compare) -> None:
    assert snap_compare(PaneApp(ChecklistPane(fixture_config())), terminal_size=SIZE)


@pytest.mark.parametrize("size", SIZES)
def test_overview_no_go_at_size(snap_compare, size: str) -> None:
    """80x24: one-line verdict, name / value / status rows, targets and evidence in a box below;
    120x40: every column, rows grown to their evidence; 200x60: double-size letters."""
    assert snap_compare(overview(failing_verdict()), terminal_size=SIZES[size])


@pytest.mark.parametrize("size", SIZES)
def test_overview_go_rehearsal_at_size(snap_compare, size: str) -> None:
    """The qualifier under the letters, and the latest run beside the judged one."""
    assert snap_compare(overview(rehearsal_verdict()), terminal_size=SIZES[size])
