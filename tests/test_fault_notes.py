"""Fault changes in the demo target during a run are annotated in the run's history."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from ccplate_tui.cli import main
from ccplate_tui.history.fault_notes import FaultNotes, describe_faults
from ccplate_tui.history.legacy import open_history
from ccplate_tui.target.server import start_target_process, stop_target_process
from tests.http_fixtures import FixtureServer

WAIT = 60.0
"""Generous bound on waiting for the run to read the faults (a busy machine starts slowly)."""

CONFIG = """
[target]
base_url = "{url}"
[options]
interval = "500ms"
[scenarios.steady]
executor = "constant-vus"
vus = 1
duration = "4s"
[[scenarios.steady.requests]]
path = "{path}"
think_time = "50ms"
"""


@pytest.fixture
def demo_target():
    proc, url = start_target_process(port=0)
    try:
        yield url
    finally:
        stop_target_process(proc)


def test_a_fault_change_mid_run_is_noted(demo_target: str, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "scenarios.toml").write_text(CONFIG.format(url=demo_target, path="/api/health"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CCPLATE_TUI_STATE_DIR", raising=False)
    httpx.patch(f"{demo_target}/__admin/faults", json={"error_rate": 0.5}).raise_for_status()
    # The faults change once the run has read them (its start note), not after a fixed delay:
    # on a busy machine the run may not have started yet, or read nothing, by any given time.
    first_read, run_over = threading.Event(), threading.Event()
    read = FaultNotes._read

    def read_and_tell(self: FaultNotes) -> dict[str, object] | None:
        faults = read(self)
        if faults is not None:
            first_read.set()
        return faults

    monkeypatch.setattr(FaultNotes, "_read", read_and_tell)
    changed: list[int] = []

    def change_faults() -> None:
        deadline = time.monotonic() + WAIT
        while not first_read.wait(0.05):
            if run_over.is_set() or time.monotonic() > deadline:
                return
        response = httpx.put(f"{demo_target}/__admin/faults", json={"latency": "5ms"})
        changed.append(response.status_code)

    changer = threading.Thread(target=change_faults)
    changer.start()
    try:
        assert main(["run", "--quiet", "--workers", "1"]) == 0
    finally:
        run_over.set()
        changer.join(WAIT)
    assert first_read.is_set(), "the run never read the demo's faults"
    assert changed == [200], f"changing the faults mid-run answered {changed}"
    with open_history(tmp_path / ".ccplate") as store:  # type: ignore[union-attr]
        (run,) = store.runs()
        notes = [(a.kind, a.text) for a in store.annotations(run.id)]
    assert ("fault", "faults at start: error_rate=0.5") in notes
    assert ("fault", "faults changed: error_rate=0.5 -> latency=5ms") in notes


def test_a_target_that_is_not_the_demo_is_never_asked() -> None:
    server = FixtureServer()
    with server as url:
        notes_made = []

        class Recorder:  # collects what would be annotated: nothing, here
            def annotate(self, kind: str, text: str) -> None:
                notes_made.append((kind, text))

        notes = FaultNotes(Recorder(), url)  # type: ignore[arg-type]
        notes(None)  # an update from a run whose traffic never named the demo
        notes(None)
        assert server.hits == 0, "nothing is sent to a target that did not name itself the demo"
        assert notes_made == []
    remote = FaultNotes(Recorder(), "https://example.invalid")  # type: ignore[arg-type]
    assert not remote.enabled, "a non-loopback target is never asked"


def test_describe_faults_names_only_what_is_on() -> None:
    quiet = {"error_rate": 0.0, "latency": "0s", "slow": [], "paths": None, "active": False}
    assert describe_faults(quiet) == "none"
    assert describe_faults({**quiet, "latency": "20ms", "active": True}) == "latency=20ms"
