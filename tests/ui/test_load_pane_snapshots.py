"""Snapshots of the Load tab from the recorded sequence: before, during and after a run.

Update with `pytest tests/ui/test_load_pane_snapshots.py --snapshot-update` and look at the SVGs
under tests/ui/__snapshots__/ before accepting them.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot

from tests.ui.load_fixtures import LoadPaneApp, record_run

SIZE = (140, 45)
MID_RUN = 40
"""Views fed for the mid-run shot: past the first p(99) failure (25 s), before the error rate's."""


async def _settle(pilot: Pilot) -> None:
    await pilot.pause()
    pilot.app.query_one("LoadPane").refresh_plots()  # type: ignore[attr-defined]
    await pilot.pause()


def test_before_a_run(snap_compare: Callable[..., bool]) -> None:
    """The scenario list with curve previews, the plan's thresholds and stage marks."""
    assert snap_compare(LoadPaneApp(), terminal_size=SIZE, run_before=_settle)


def test_mid_run(snap_compare: Callable[..., bool]) -> None:
    """Plots, a failing p(99) threshold, the request table and a saturated generator."""
    rec = record_run()

    async def run_before(pilot: Pilot) -> None:
        pane = pilot.app.pane  # type: ignore[attr-defined]
        pane.set_running(True, rec.names)
        for view in rec.views[:MID_RUN]:
            pane.show_view(view)
        await _settle(pilot)

    assert snap_compare(LoadPaneApp(rec.config), terminal_size=SIZE, run_before=run_before)


def test_after_a_run(snap_compare: Callable[..., bool]) -> None:
    """The headless summary in its scrollable panel."""
    rec = record_run()

    async def run_before(pilot: Pilot) -> None:
        pane = pilot.app.pane  # type: ignore[attr-defined]
        pane.set_running(True, rec.names)
        for view in rec.views:
            pane.show_view(view)
        pane.set_running(False)
        pane.show_result(rec.result)
        await _settle(pilot)

    assert snap_compare(LoadPaneApp(rec.config), terminal_size=SIZE, run_before=run_before)
