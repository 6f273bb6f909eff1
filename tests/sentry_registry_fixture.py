"""A loopback npm registry serving the demo `@sentry/nextjs` packument, with switchable faults.

It is the demo target's own registry route (`add_npm_routes`) behind a middleware that records
every request and can make the registry misbehave the ways real ones do.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest
from aiohttp import web
from multidict import CIMultiDict

from ccplate_tui.target.npm_demo import add_npm_routes
from tests.http_fixtures import FixtureServer

_OUTSIDE_SETTINGS = (
    "NPM_CONFIG_REGISTRY",
    "npm_config_registry",
    "npm_config_cache",
    "SENTRY_DSN",
    "SENTRY_AUTH_TOKEN",
)
"""Settings from the machine running the tests that would aim npm or Sentry elsewhere."""


def isolate_project_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cwd, HOME (npm's cache and user config) and the state folder inside `tmp_path`, and no
    registry or Sentry setting from outside; returns `tmp_path`."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CCPLATE_TUI_STATE_DIR", str(tmp_path / "state"))
    for name in _OUTSIDE_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return tmp_path


Fault = Literal["404", "500", "hang", "invalid-json", "wrong-shape", "401-unless-token"]


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    """The raw request path, escapes kept (`/@sentry%2fnextjs`)."""
    accept: str | None
    authorization: str | None
    accept_encoding: str | None


class RegistryFixture(FixtureServer):
    """`with RegistryFixture() as registry:`; `registry.url` ends with the prefix (and a slash)."""

    def __init__(self, prefix: str = "/", token: str | None = None) -> None:
        super().__init__()
        self.prefix = prefix
        self.token = token
        self.fault: Fault | None = None
        self.full_only = False
        """Ignore `Accept` and always answer the full document (as some registries do)."""
        self.requests: list[RecordedRequest] = []
        self._release: asyncio.Event | None = None

    def _app(self) -> web.Application:
        @web.middleware
        async def misbehave(request: web.Request, handler):  # type: ignore[no-untyped-def]
            self.requests.append(
                RecordedRequest(
                    request.raw_path,
                    request.headers.get("Accept"),
                    request.headers.get("Authorization"),
                    request.headers.get("Accept-Encoding"),
                )
            )
            fault = self.fault
            if fault == "404":
                return web.Response(status=404, body=b"{}", content_type="application/json")
            if fault == "500":
                return web.Response(status=500, text="internal error", content_type="text/plain")
            if fault == "hang":
                assert self._release is not None
                await self._release.wait()  # until the fixture stops; the client times out first
                return web.Response(status=503)
            if fault == "invalid-json":
                return web.Response(
                    body=b'{"name": "@sentry/nextjs", "versions": {',
                    content_type="application/json",
                )
            if fault == "wrong-shape":
                return web.json_response({"error": "not_found", "reason": "document not found"})
            if fault == "401-unless-token" and request.headers.get("Authorization") != (
                f"Bearer {self.token}"
            ):
                return web.json_response({"error": "authentication required"}, status=401)
            if self.full_only:
                headers = CIMultiDict(request.headers)
                headers["Accept"] = "application/json"
                request = request.clone(headers=headers)
            return await handler(request)

        app = web.Application(middlewares=[misbehave])
        add_npm_routes(app, self.prefix)
        return app

    async def _start(self) -> None:
        self._release = asyncio.Event()
        await super()._start()

    @property
    def url(self) -> str:
        prefix = self.prefix if self.prefix.endswith("/") else self.prefix + "/"
        return f"http://127.0.0.1:{self.port}{prefix}"

    def __enter__(self) -> RegistryFixture:  # type: ignore[override]
        self.start()
        return self

    def stop(self) -> None:
        if self._release is not None:
            self.loop.call_soon_threadsafe(self._release.set)
        super().stop()
