"""One load run per state folder for `ccplate-tui run`, as the dashboard already does.

A headless run claims the folder's run registry before it starts: a second run on a folder with
a live run is refused (exit 2) with the running run's pid, owner and how to follow it, unless
`--concurrent` says to run beside it. While it runs it publishes each interval's LiveView to
the registry's live file, so a dashboard opened on the same folder follows it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from pathlib import Path

from ccplate_tui.config.model import ScenarioSpec
from ccplate_tui.load.engine import RunUpdate
from ccplate_tui.load.live import build_live_view
from ccplate_tui.load.run_registry import RunClaim, RunInfo, RunRegistry

OWNER = "ccplate-tui run"
"""How a headless run names itself to the dashboards that follow it."""


class FolderBusy(Exception):
    """The state folder has a live run; the message says whose and what to do."""


BESIDE = "pass --concurrent to run beside it (its figures then share the machine)"


def busy_message(info: RunInfo | None, state_dir: Path, beside: str = BESIDE) -> str:
    """Why a second run is refused: whose run it is, since when, how to follow it and (`beside`)
    how to run anyway."""
    tail = f", or {beside}" if beside else ""
    if info is None:
        return f"another process is starting a load run in {state_dir}; try again in a moment{tail}"
    what = ", ".join(info.names) or "all scenarios"
    since = time.strftime("%H:%M:%S", time.localtime(info.started))
    return (
        f"a load run is already running in {state_dir}: {info.run_id} ({what}), started "
        f"{since} by {info.owner}, pid {info.pid}. Follow it with `ccplate-tui` (the dashboard "
        f"shows the running run), stop it with `kill -INT {info.pid}`{tail}"
    )


def claim_folder(
    state_dir: Path, names: Sequence[str], owner: str = OWNER, beside: str = BESIDE
) -> RunClaim:
    """Claim the folder's one load run for `names`; raises FolderBusy when a live run has it,
    RegistryError when the folder cannot hold the claim at all (not a folder, read-only)."""
    registry = RunRegistry(state_dir)
    claim = registry.claim(names, owner)
    if claim is None:
        raise FolderBusy(busy_message(registry.current(), state_dir, beside))
    return claim


class ClaimPublisher:
    """A run observer that publishes each interval's LiveView for the dashboards following."""

    def __init__(self, claim: RunClaim, scenarios: Sequence[ScenarioSpec]) -> None:
        self.claim = claim
        self.scenarios = tuple(scenarios)

    def __call__(self, update: RunUpdate) -> None:
        # Followers are best effort: a live file that cannot be written never stops the run.
        with contextlib.suppress(OSError, RuntimeError):
            self.claim.publish(build_live_view(update, self.scenarios))
