"""A dashboard run sends a target that is not the demo only the requests its scenarios configure."""

from __future__ import annotations

from pathlib import Path

from ccplate_tui.ui.load_pane import LoadPane
from ccplate_tui.ui.messages import RunFinished
from tests.recording_server import RecordingServer
from tests.ui.app_fixtures import SIZE, MessageLog, make_app, wait_for, write_config


async def test_a_dashboard_run_sends_only_the_configured_requests(tmp_path: Path) -> None:
    with RecordingServer() as server:
        app = make_app(write_config(tmp_path, server.url))  # history on: fault notes observe
        log = MessageLog()
        async with app.run_test(size=SIZE, message_hook=log) as pilot:
            await pilot.press("2")
            app.query_one(LoadPane).post_message(LoadPane.StartRequested(("quick",)))
            await wait_for(pilot, lambda: log.of(RunFinished), timeout=60, what="the run to end")
            await wait_for(pilot, lambda: not app.run_active, what="the engine thread to end")
        received = list(server.requests)
    assert received, "the run sent nothing"
    assert set(received) == {("GET", "/api/health")}
