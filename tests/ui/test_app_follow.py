"""A run another process owns is shown, not duplicated: the app attaches as a viewer.

The other process is real: a Python child that claims the state folder's run through the
registry and publishes recorded LiveViews, as a second dashboard (or a browser tab) would.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccplate_tui.load.run_registry import RunRegistry
from ccplate_tui.ui.app import CcplateApp
from ccplate_tui.ui.load_pane import LoadPane
from ccplate_tui.ui.messages import (
    FollowedRunEnded,
    LoadViewUpdated,
    RunFinished,
    RunStarted,
)
from ccplate_tui.ui.widgets.run_status import RunStatus
from tests.ui.app_fixtures import SIZE, MessageLog, demo_target, make_app, wait_for, write_config

__all__ = ["demo_target"]

REPO = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def owner_process(script: str, state: Path) -> Iterator[subprocess.Popen[str]]:
    """`script` in a child that claims the state folder's run; yielded once it has claimed it."""
    owner = subprocess.Popen(
        [sys.executable, "-c", script, str(state)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None and owner.stdin is not None
        assert owner.stdout.readline().strip() == "claimed"
        yield owner
    finally:
        if owner.poll() is None:
            owner.kill()
        owner.wait(10)


OWNER = """
import sys
from ccplate_tui.load.run_registry import RunRegistry
from tests.ui.load_fixtures import record_run

views = record_run(6).views
claim = RunRegistry(sys.argv[1]).claim(("auth_burst",), "other-terminal")
for view in views[:3]:
    claim.publish(view)
print("claimed", flush=True)
sys.stdin.readline()  # the test says when to finish
for view in views[3:]:
    claim.publish(view)
claim.finish("SUMMARY OF THE OTHER RUN", True)
claim.release()
print("done", flush=True)
"""


@pytest.mark.slow
async def test_a_run_owned_elsewhere_is_followed_not_duplicated(
    demo_target: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path, demo_target)
    state = tmp_path / "state"
    with owner_process(OWNER, state) as owner:
        assert owner.stdin is not None and owner.stdout is not None
        app = make_app(config, state_dir=state)
        log = MessageLog()
        async with app.run_test(size=SIZE, message_hook=log) as pilot:
            load = app.query_one(LoadPane)
            await wait_for(pilot, lambda: app.following is not None, what="the app to attach")
            await wait_for(pilot, lambda: log.of(LoadViewUpdated), what="the followed views")
            assert load.running and load.run_names == ("auth_burst",)
            assert any("belongs to other-terminal" in n for n in log.notices())

            # Starting here does not start a second generator, and stop is not ours to do.
            app.start_run(("quick",))
            await pilot.press("ctrl+x")
            await pilot.pause()
            assert not log.of(RunStarted) and not app.run_active
            assert any("stop it there" in n for n in log.notices())

            owner.stdin.write("\n")
            owner.stdin.flush()
            await wait_for(pilot, lambda: log.of(FollowedRunEnded), what="the followed run's end")
            ended = log.of(FollowedRunEnded)[0].ended
            assert ended.ok and ended.summary == "SUMMARY OF THE OTHER RUN"
            await pilot.pause()
            assert app.following is None and not load.running
            assert load.summary_text == "SUMMARY OF THE OTHER RUN"
            assert load.latest is not None and load.latest.elapsed == 6.0  # the last view

            # The folder is free again: this app can run its own.
            app.start_run(("quick",))
            await wait_for(pilot, lambda: log.of(RunFinished), timeout=60, what="our own run")
        assert RunRegistry(state).current() is None


STOPPED_BY_ITS_TAB = """
import dataclasses, os, sys
from ccplate_tui.load.run_registry import RunRegistry
from ccplate_tui.load.summary import render_summary
from tests.ui.load_fixtures import record_run

rec = record_run(6)
claim = RunRegistry(sys.argv[1]).claim(("auth_burst",), "browser")
for view in rec.views[:3]:
    claim.publish(view)
print("claimed", flush=True)
sys.stdin.readline()  # the test says when the owning tab stops it
# What a dashboard's run ends with when someone presses x there (CcplateApp._run_load).
cause = f"stopped from the dashboard (browser, pid {os.getpid()})"
result = dataclasses.replace(rec.result, duration=3.0, stopped="interrupted", stop_cause=cause)
claim.finish(render_summary(result), False, cause)
claim.release()
print("done", flush=True)
"""


def run_status(app: CcplateApp) -> str:
    """The Load tab's status block as plain text."""
    return str(app.query_one(RunStatus).render())


@pytest.mark.slow
async def test_a_follower_refuses_a_stop_keeps_running_and_shows_who_stopped_it(
    demo_target: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path, demo_target)
    state = tmp_path / "state"
    with owner_process(STOPPED_BY_ITS_TAB, state) as owner:
        assert owner.stdin is not None and owner.stdout is not None
        app = make_app(config, state_dir=state)
        log = MessageLog()
        async with app.run_test(size=SIZE, message_hook=log) as pilot:
            load = app.query_one(LoadPane)
            await pilot.press("2")  # the Load tab: its x and a keys act
            await wait_for(pilot, lambda: log.of(LoadViewUpdated), what="the followed views")
            await wait_for(pilot, lambda: load.latest is not None, what="a view on show")
            whose = f"browser (pid {owner.pid})"
            assert f"owned by    {whose}" in run_status(app)

            for key in ("x", "a", "ctrl+x"):
                refusals = sum("stop it there" in n for n in log.notices())
                await pilot.press(key)
                await wait_for(
                    pilot,
                    lambda n=refusals: sum("stop it there" in m for m in log.notices()) > n,
                    what=f"the refusal of {key}",
                )
                await pilot.pause()
                status = run_status(app)
                # Still running, owned elsewhere, with the refusal: never "stopping…".
                assert load.running and not load.stopping and app.following is not None
                assert status.startswith("running") and "stopping" not in status, status
                assert f"owned by    {whose}" in status
                assert f"belongs to {whose}; stop it there" in status

            owner.stdin.write("\n")
            owner.stdin.flush()
            await wait_for(pilot, lambda: log.of(FollowedRunEnded), what="the followed run's end")
            await pilot.pause()
            cause = f"stopped from the dashboard (browser, pid {owner.pid})"
            assert log.of(FollowedRunEnded)[0].ended.stopped == cause
            assert not load.running and run_status(app).startswith("stopped")
            assert "owned by" not in run_status(app) and "stop it there" not in run_status(app)
            assert load.summary_text is not None
            last = load.summary_text.splitlines()[-1]
            assert last == f"run stopped early after 3s: {cause}; results cover only what ran"
            assert "Ctrl-C" not in load.summary_text
            assert f"the run of browser ended: {cause} (not ok)" in log.notices()
