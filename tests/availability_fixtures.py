"""A loopback health endpoint that can be told to fail, hang or hang up, and polling with a
deadline, for the availability probe's tests."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from aiohttp import web

from ccplate_tui.config.loader import parse_config
from ccplate_tui.config.model import Config
from tests.http_fixtures import FixtureServer, fixture_server

DEADLINE = 60.0


def wait_for(
    what: str, check: Callable[[], bool], deadline: float = DEADLINE, poll: float = 0.01
) -> None:
    """Poll `check` until it holds; fail naming `what` after `deadline` seconds."""
    end = time.monotonic() + deadline
    while not check():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(poll)


class HealthServer:
    """A loopback `/health` that answers 200, or fails the next `fail_next` requests with 503,
    or (`hold`) keeps each request waiting until `release` is set, or (`hang_up`) closes the
    connection without an answer. Runs on its own loop in a thread."""

    def __init__(self) -> None:
        self.fail_next = 0
        self.hold = False
        self.hang_up = False
        self.hits = 0
        self.release = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def _health(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=503, text="down")
        if self.hang_up and request.transport is not None:
            request.transport.abort()
            return web.Response()
        while self.hold and not self.release.is_set():
            await asyncio.sleep(0.005)
        return web.Response(text="ok")

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/health", self._health)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def start(self) -> HealthServer:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/health"

    def reset(self) -> None:
        self.fail_next, self.hold, self.hang_up, self.hits = 0, False, False, 0
        self.release.set()
        self.release = threading.Event()

    def close(self) -> None:
        self.release.set()
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


SCENARIO = """
[scenarios.a]
executor = "constant-vus"
duration = "1s"
[[scenarios.a.requests]]
path = "/ok"
"""


def parse_with(block: str, head: str = "") -> Config:
    return parse_config(head + block + SCENARIO)


@pytest.fixture(scope="module")
def health_server() -> Iterator[HealthServer]:
    """One health endpoint for the module."""
    server = HealthServer().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def health(health_server: HealthServer) -> Iterator[HealthServer]:
    """The module's health endpoint, answering 200 again before and after the test."""
    health_server.reset()
    yield health_server
    health_server.reset()


@pytest.fixture(scope="module")
def server() -> Iterator[FixtureServer]:
    """A load target for the module."""
    with fixture_server() as srv:
        yield srv
