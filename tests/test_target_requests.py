"""No request the user did not configure reaches a target that is not the embedded demo.

A loopback server that is not the demo writes down every request a real run sends it; the demo
names itself with `DEMO_HEADER`, and only then is its `/__admin/faults` asked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from ccplate_tui import __version__
from ccplate_tui.cli import main
from ccplate_tui.history.fault_notes import ADMIN_PATH, FaultNotes
from ccplate_tui.history.legacy import open_history
from ccplate_tui.load.engine import RunUpdate
from ccplate_tui.load.reachability import DEMO_HEADER, connect_error
from ccplate_tui.target import running_target
from ccplate_tui.target.server import start_target_process, stop_target_process
from tests.engine_helpers import run_toml
from tests.recording_server import RecordingServer

RUN = """
[target]
base_url = "{url}"
[options]
interval = "250ms"
[scenarios.browse]
executor = "constant-vus"
vus = 1
duration = "1500ms"
gracefulStop = "1s"
think_time = "20ms"
[[scenarios.browse.requests]]
path = "/api/users/me"
[[scenarios.browse.requests]]
method = "POST"
path = "/api/auth/login"
json = {{ email = "load-test@example.com", password = "test-password" }}
"""
CONFIGURED = {("GET", "/api/users/me"), ("POST", "/api/auth/login")}


class Notes:
    """Collects what FaultNotes would write to the history."""

    def __init__(self) -> None:
        self.made: list[tuple[str, str]] = []

    def annotate(self, kind: str, text: str) -> None:
        self.made.append((kind, text))


@pytest.fixture
def demo_target() -> Iterator[str]:
    proc, url = start_target_process(port=0)
    try:
        yield url
    finally:
        stop_target_process(proc)


def test_a_headless_run_sends_a_target_that_is_not_the_demo_only_its_configured_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with RecordingServer() as server:
        (tmp_path / "scenarios.toml").write_text(RUN.format(url=server.url))
        monkeypatch.chdir(tmp_path)
        monkeypatch.delenv("CCPLATE_TUI_STATE_DIR", raising=False)
        # History on: the fault notes observer runs, and the pre-run reachability check too.
        assert main(["run", "--quiet", "--workers", "1"]) == 0
        received = list(server.requests)
    assert received, "the run sent nothing"
    assert set(received) == CONFIGURED
    assert not any(path.startswith("/__admin") for _, path in received)
    with open_history(tmp_path / ".ccplate") as store:  # type: ignore[union-attr]
        (run,) = store.runs()
        assert [a for a in store.annotations(run.id) if a.kind == "fault"] == []


def test_the_reachability_probe_connects_without_sending_a_request() -> None:
    with RecordingServer() as server:
        assert connect_error(server.url, timeout=2.0) is None
        httpx.get(f"{server.url}/after", trust_env=False)  # the server's log is in order
        assert server.requests == [("GET", "/after")]


def test_fault_notes_ask_nothing_until_the_target_names_itself_the_demo() -> None:
    with RecordingServer() as server:
        notes = Notes()
        observer = FaultNotes(notes, server.url)  # type: ignore[arg-type]
        anonymous = SimpleNamespace(snapshot=SimpleNamespace(target_demo=None))
        for update in (None, anonymous, anonymous):
            observer(update)
        assert server.requests == []
        observer(SimpleNamespace(snapshot=SimpleNamespace(target_demo=__version__)))
        assert server.requests == [("GET", ADMIN_PATH)]
    remote = FaultNotes(Notes(), "https://example.invalid")  # type: ignore[arg-type]
    remote(SimpleNamespace(snapshot=SimpleNamespace(target_demo=__version__)))
    assert not remote.enabled, "a remote target is never asked, demo or not"


def test_a_demo_the_caller_started_is_asked_from_the_first_interval() -> None:
    """The dashboard and `run --start-target` know the demo without its traffic (k6 runs)."""
    with RecordingServer() as server:
        observer = FaultNotes(Notes(), server.url, started_demo=True)  # type: ignore[arg-type]
        observer(SimpleNamespace(snapshot=SimpleNamespace(target_demo=None)))
        assert server.requests == [("GET", ADMIN_PATH)]


async def test_the_demo_names_itself_on_its_health_route(tmp_path: Path) -> None:
    async with (
        running_target(db_path=tmp_path / "t.db") as url,
        httpx.AsyncClient(trust_env=False) as client,
    ):
        response = await client.get(f"{url}/api/health")
    assert response.status_code == 200
    assert response.headers[DEMO_HEADER] == __version__


def test_a_run_learns_the_demo_from_its_own_traffic(demo_target: str) -> None:
    updates: list[RunUpdate] = []
    run_toml(RUN.format(url=demo_target), updates=updates)  # every demo route names it
    assert updates and updates[-1].snapshot.target_demo == __version__
    with RecordingServer() as server:
        others: list[RunUpdate] = []
        run_toml(RUN.format(url=server.url), updates=others)
    assert others and all(u.snapshot.target_demo is None for u in others)


def test_fault_notes_still_annotate_the_demo(
    demo_target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "scenarios.toml").write_text(
        RUN.format(url=demo_target).replace("/api/users/me", "/api/health")
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CCPLATE_TUI_STATE_DIR", raising=False)
    httpx.patch(
        f"{demo_target}{ADMIN_PATH}", json={"latency": "2ms"}, trust_env=False
    ).raise_for_status()
    assert main(["run", "--quiet", "--workers", "1"]) in (0, 99)
    with open_history(tmp_path / ".ccplate") as store:  # type: ignore[union-attr]
        (run,) = store.runs()
        notes = [(a.kind, a.text) for a in store.annotations(run.id)]
    assert ("fault", "faults at start: latency=2ms") in notes
