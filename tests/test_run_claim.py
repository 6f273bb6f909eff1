"""One load run per state folder, headless too: a second `ccplate-tui run` on a folder with a
live run is refused (exit 2, naming the running pid and how to follow it), `--concurrent` runs
beside it, a dead owner's lock is taken over, and a dashboard-style follower sees the headless
run's views and its end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccplate_tui.load.live import LiveView
from ccplate_tui.load.run_registry import RunEnded, RunRegistry
from tests.http_fixtures import FixtureServer, fixture_server
from tests.lifecycle_fixtures import wait_for

LONG = """
[scenarios.long]
executor = "constant-vus"
vus = 1
duration = "300s"
[[scenarios.long.requests]]
path = "/ok"

[scenarios.short]
executor = "per-vu-iterations"
vus = 1
iterations = 3
[[scenarios.short.requests]]
path = "/ok"
"""


@pytest.fixture(scope="module")
def server() -> Iterator[FixtureServer]:
    with fixture_server() as srv:
        yield srv


def _config(folder: Path, url: str) -> Path:
    path = folder / "scenarios.toml"
    path.write_text(f'[target]\nbase_url = "{url}"\n[options]\ninterval = "250ms"\n{LONG}')
    return path


def _run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ccplate_tui", "run", "-q", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _start_long(config: Path, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "ccplate_tui", "run", "-q", "--workers", "1", "long"]
    with log.open("wb") as err:
        return subprocess.Popen(
            [*command, "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )


def test_a_second_run_is_refused_while_one_is_live(server: FixtureServer, tmp_path: Path) -> None:
    config = _config(tmp_path, server.url)
    registry = RunRegistry(tmp_path / ".ccplate")
    proc = _start_long(config, tmp_path / "long.log")
    try:
        wait_for(lambda: registry.current() is not None, "the first run's claim", alive=proc)
        info = registry.current()
        assert info is not None and info.pid == proc.pid and info.owner == "ccplate-tui run"

        second = _run(config, "short")
        assert second.returncode == 2, second.stderr
        assert f"pid {proc.pid}" in second.stderr and "long" in second.stderr
        assert "Follow it with `ccplate-tui`" in second.stderr and "--concurrent" in second.stderr
        assert "THRESHOLDS" not in second.stdout and "█" not in second.stdout  # nothing ran

        # A dashboard-style follower sees the headless run's views as they come.
        views = registry.follow(info, poll=0.05)
        first = next(views)
        assert isinstance(first, LiveView) and first.progress[0].name == "long"

        beside = _run(config, "short", "--concurrent")
        assert beside.returncode == 0, beside.stderr
        assert registry.current() == info  # running beside it did not take the folder

        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(60) != 0
        ended = [item for item in views if isinstance(item, RunEnded)]
        assert ended and ended[-1].run_id == info.run_id and not ended[-1].lost
        assert not ended[-1].ok and ended[-1].stopped == "interrupted (Ctrl-C)"
        assert "TOTAL RESULTS" in ended[-1].summary
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
    assert registry.current() is None
    after = _run(config, "short")
    assert after.returncode == 0, after.stderr


def test_a_killed_runs_lock_is_taken_over(server: FixtureServer, tmp_path: Path) -> None:
    config = _config(tmp_path, server.url)
    registry = RunRegistry(tmp_path / ".ccplate")
    proc = _start_long(config, tmp_path / "long.log")
    try:
        wait_for(lambda: registry.current() is not None, "the first run's claim", alive=proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    assert registry.current() is None  # its owner is gone
    after = _run(config, "short")
    assert after.returncode == 0, after.stderr
    assert f"belonged to process {proc.pid}, which is gone" in after.stderr
