"""The timer runner: a real watch window against a loopback server that can turn unhealthy."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from ccplate_tui.checklist.model import CommandSpec, HttpProbe
from ccplate_tui.checklist.runners import run_step
from ccplate_tui.checklist.runners.timer import clock, watch_summary
from tests.checklist_runner_fixtures import Background, make_ctx, make_step, toml_ready, wait_until
from tests.http_fixtures import FixtureServer


class FlipServer(FixtureServer):
    """The fixture server plus `/health`, answering `self.status` (flip it mid-test)."""

    def __init__(self) -> None:
        super().__init__()
        self.status = 200

    def _app(self) -> web.Application:
        app = super()._app()

        async def health(request: web.Request) -> web.Response:
            return web.json_response({"ok": self.status == 200}, status=self.status)

        app.router.add_get("/health", health)
        return app


@pytest.fixture
def server() -> Iterator[FlipServer]:
    flip = FlipServer()
    flip.start()
    try:
        yield flip
    finally:
        flip.__exit__()


def timer_step(server: FlipServer, duration: float, every: float = 0.2, **kw: Any):
    probe = HttpProbe(url=f"{server.url}/health", body_contains='"ok": true', timeout=5.0)
    return make_step("timer", duration=duration, every=every, probes=(probe,), **kw)


def test_a_short_window_passes_against_a_healthy_server(tmp_path: Path, server: FlipServer) -> None:
    watched: list[Mapping[str, Any]] = []
    lines: list[str] = []
    ctx = make_ctx(tmp_path, on_watch=watched.append)
    outcome = run_step(timer_step(server, 1.5), ctx, threading.Event(), lines.append)
    assert outcome.result == "passed", outcome.summary
    ev = outcome.evidence
    assert ev["rounds"] >= 2
    assert ev["probes_run"] == ev["rounds"]
    assert server.hits >= ev["rounds"]
    assert ev["window_s"] == 1.5
    assert ev["unwatched_s"] == 0.0
    assert ev["probes"] == [f"GET {server.url}/health"]
    assert outcome.summary.startswith(f"{ev['rounds']} rounds ok over 1.5 s")
    assert any(" left · " in line and "ok" in line for line in lines)
    assert toml_ready(outcome)
    assert len(watched) == 1, "on_watch is a once-a-minute heartbeat"
    assert watched[0]["rounds"] == 1
    assert watched[0]["window_s"] == 1.5


def test_the_step_fails_at_once_when_the_server_turns_unhealthy(
    tmp_path: Path, server: FlipServer
) -> None:
    run = Background(timer_step(server, 120.0), make_ctx(tmp_path))
    wait_until(lambda: server.hits >= 3, "three healthy rounds")
    server.status = 500
    outcome = run.result()  # bounded well below the 120 s window: it must fail at once
    assert outcome.result == "failed"
    ev = outcome.evidence
    assert ev["failed_probe"] == 1
    assert ev["probe"]["status"] == 500
    assert ev["probe_name"] == f"GET {server.url}/health"
    assert ev["rounds"] >= 2
    assert "probe 1 failed after" in outcome.summary
    assert "HTTP 500" in outcome.summary
    assert toml_ready(outcome)


def test_a_failing_command_probe_fails_the_step(tmp_path: Path) -> None:
    probe = CommandSpec(argv=(sys.executable, "-c", "print('error rate 7%'); raise SystemExit(2)"))
    step = make_step("timer", duration=60.0, every=1.0, probes=(probe,))
    outcome = run_step(step, make_ctx(tmp_path), threading.Event())
    assert outcome.result == "failed"
    assert outcome.evidence["rounds"] == 0
    assert outcome.evidence["probe"]["exit_code"] == 2
    assert outcome.evidence["probe"]["output"] == "error rate 7%"


def test_resuming_watches_only_the_remaining_time(tmp_path: Path, server: FlipServer) -> None:
    started = datetime.now(UTC) - timedelta(seconds=10)
    ctx = make_ctx(tmp_path, timer_started=started)
    outcome = run_step(timer_step(server, 11.5), ctx, threading.Event())
    assert outcome.result == "passed"
    ev = outcome.evidence
    assert 9.0 <= ev["unwatched_s"] <= 11.5
    assert ev["started_at"] == started.isoformat()
    assert "unwatched" in outcome.summary


def test_a_window_that_ran_out_unwatched_still_gets_a_closing_check(
    tmp_path: Path, server: FlipServer
) -> None:
    ctx = make_ctx(tmp_path, timer_started=datetime.now(UTC) - timedelta(minutes=10))
    outcome = run_step(timer_step(server, 60.0), ctx, threading.Event())
    assert outcome.result == "passed"
    assert outcome.evidence["rounds"] == 1
    assert outcome.evidence["unwatched_s"] == 60.0
    server.status = 503
    failed = run_step(timer_step(server, 60.0), ctx, threading.Event())
    assert failed.result == "failed"


def test_cancel_ends_the_watch(tmp_path: Path, server: FlipServer) -> None:
    run = Background(timer_step(server, 120.0, every=5.0), make_ctx(tmp_path))
    wait_until(lambda: run.lines, "the first round")
    run.cancel.set()
    outcome = run.result()
    assert outcome.result == "cancelled"
    assert outcome.evidence["rounds"] == 1
    assert outcome.summary.startswith("cancelled with ")


def test_clock_and_watch_summary() -> None:
    assert clock(0) == "0:00"
    assert clock(751) == "12:31"
    assert clock(3723) == "1:02:03"
    assert clock(-5) == "0:00"
    assert watch_summary({"rounds": 24, "left_s": 751.0}) == "24 rounds ok, 12:31 left"
    assert watch_summary({"rounds": 1}) == "1 round ok"
