"""Done-when for issue 6: a scenario exported to k6 runs under the real k6 and is watched live
in the dashboard (`watch k6 FILE`), which ends up showing exactly what k6 sent."""

from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

import pytest

from ccplate_tui.cli import main
from ccplate_tui.ui.app import CcplateApp
from ccplate_tui.ui.load_pane import LoadPane
from ccplate_tui.ui.messages import LoadViewUpdated
from ccplate_tui.ui.watch_command import add_watch_parser, build_watch_app
from tests.k6_export_helpers import K6, requires_k6
from tests.ui.app_fixtures import SIZE, MessageLog, demo_target, wait_for, write_config

__all__ = ["demo_target"]

SCENARIO = """
[scenarios.steady]
executor = "per-vu-iterations"
vus = 2
iterations = 15
thresholds = { http_req_failed = ["rate<0.01"] }

[[scenarios.steady.requests]]
name = "health"
path = "/api/health"
think_time = "200ms"
"""


@requires_k6
async def test_an_exported_scenario_under_k6_is_watched_live(
    demo_target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, demo_target, SCENARIO)
    assert main(["export", "k6", "steady", "--config", str(config), "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    stream = tmp_path / "k6.ndjson"
    stream.touch()
    assert K6 is not None
    k6 = subprocess.Popen(
        [K6, "run", "--no-usage-report", "--address", "", "--quiet", "--no-summary",
         "--out", f"json={stream}", str(tmp_path / "steady.js")],
        env={**os.environ, "K6_NO_USAGE_REPORT": "true", "BASE_URL": demo_target},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        parser = argparse.ArgumentParser()
        add_watch_parser(parser.add_subparsers(dest="command"))
        args = parser.parse_args(
            ["watch", "k6", str(stream), "steady", "--config", str(config),
             "--state", str(tmp_path / "state")]
        )  # fmt: skip
        app = build_watch_app(args)
        assert isinstance(app, CcplateApp)
        log = MessageLog()
        async with app.run_test(size=SIZE, message_hook=log) as pilot:
            assert "engine: k6" in app.sub_title
            await wait_for(
                pilot,
                lambda: (
                    bool(log.of(LoadViewUpdated))
                    and log.of(LoadViewUpdated)[-1].view.total_requests > 0
                ),
                timeout=60,
                what="the first requests k6 sent",
            )
            assert k6.wait(60) == 0, k6.stderr.read() if k6.stderr else ""
            # k6 has ended: the watcher hands out the last interval although nothing follows.
            await wait_for(
                pilot,
                lambda: log.of(LoadViewUpdated)[-1].view.total_requests == 30,
                timeout=30,
                what="all of k6's 2 VUs x 15 iterations on screen",
            )
            views = log.of(LoadViewUpdated)
            assert len(views) >= 2, "the dashboard followed the run while k6 wrote it"
            assert [r.name for r in views[-1].view.requests] == ["health"]
            assert all(t.ok for t in views[-1].view.thresholds)
            assert app.query_one(LoadPane).locked
    finally:
        if k6.poll() is None:
            k6.kill()
            k6.wait(10)
