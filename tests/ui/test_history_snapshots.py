"""Snapshots of the Load tab with a baseline run beside the run, of a replayed run, and of the
run-history screen (`h`) at 80x24, 120x40 and 200x60.

Deterministic data: the recorded sequence of tests/ui/load_fixtures.py, and a baseline built
from it by fixed arithmetic. Update with `pytest tests/ui/test_history_snapshots.py
--snapshot-update` and look at the SVGs under tests/ui/__snapshots__/ before accepting them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from ccplate_tui.history.overlay import BaselineOverlay
from tests.ui.history_fixtures import HistoryApp, utc
from tests.ui.load_fixtures import LoadPaneApp, record_run
from tests.ui.overview_fixtures import SIZES

__all__ = ["utc"]  # a fixture, imported for pytest

SIZE = (140, 45)
MID_RUN = 40


def _baseline(views) -> BaselineOverlay:
    """A baseline 20 % faster than the recorded run for `login`, the same for `me`."""
    last = views[-1]
    factors = {"login": 1.2, "me": 1.0}
    return BaselineOverlay(
        "r7",
        "auth_burst",
        tuple((v.elapsed, v.interval_latency.p95 * 0.8) for v in views if v.interval_latency.count),
        {row.name: row.p95 / factors.get(row.name, 1.0) for row in last.requests},
    )


async def _settle(pilot: Pilot) -> None:
    await pilot.pause()
    pilot.app.query_one("LoadPane").refresh_plots()  # type: ignore[attr-defined]
    await pilot.pause()


def test_mid_run_with_a_baseline(snap_compare: Callable[..., bool]) -> None:
    """The baseline's p95 as a faint line and a Δ p95 column (login worse by > 10 %: red)."""
    rec = record_run()

    async def run_before(pilot: Pilot) -> None:
        pane = pilot.app.pane  # type: ignore[attr-defined]
        pane.set_running(True, rec.names)
        pane.set_baseline(_baseline(rec.views))
        for view in rec.views[:MID_RUN]:
            pane.show_view(view)
        await _settle(pilot)

    assert snap_compare(LoadPaneApp(rec.config), terminal_size=SIZE, run_before=run_before)


def test_replay_scrubbed_back(snap_compare: Callable[..., bool]) -> None:
    """A recorded run shown up to its 30th interval, with its replay label in the status."""
    rec = record_run()

    async def run_before(pilot: Pilot) -> None:
        pane = pilot.app.pane  # type: ignore[attr-defined]
        pane.show_replay(f"replay of r3 · 30/{len(rec.views)}", rec.views, 29, rec.names)
        await _settle(pilot)

    assert snap_compare(LoadPaneApp(rec.config), terminal_size=SIZE, run_before=run_before)


@pytest.mark.usefixtures("utc")
@pytest.mark.parametrize("size", SIZES)
def test_history_list_at_size(snap_compare: Callable[..., bool], size: str) -> None:
    """Four runs (finished, interrupted, aborted, imported); 80x24 fills the screen."""
    assert snap_compare(HistoryApp(), terminal_size=SIZES[size])
