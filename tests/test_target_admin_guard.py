"""The admin routes answer loopback peers only, checked per request from the connection's peer
address whatever the bind address; the demo API itself stays open to whoever can reach it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from ccplate_tui.load.reachability import DEMO_HEADER
from ccplate_tui.target import request_guard
from ccplate_tui.target.app import build_app
from ccplate_tui.target.request_guard import is_loopback_peer, peer_host
from tests.test_target import db_path, session, target

__all__ = ["db_path", "session", "target"]  # fixtures, imported for pytest


@pytest.mark.parametrize(
    "peer",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "[::1]",
        "::ffff:127.0.0.1",
        ("127.0.0.1", 40000),
        ("::1", 40000, 0, 0),
        ("::ffff:127.0.0.1", 40000, 0, 0),
    ],
)
def test_loopback_peers_are_allowed(peer: object) -> None:
    assert is_loopback_peer(peer) is True


@pytest.mark.parametrize(
    "peer",
    [
        "10.0.0.5",
        "192.168.1.2",
        ("10.0.0.5", 40000),
        ("192.168.1.2", 40000),
        ("2001:db8::1", 40000, 0, 0),
        "::ffff:10.0.0.5",
        "0.0.0.0",
        "::",
        "fe80::1%eth0",
        "localhost",  # a peer is an address; a name is never resolved, so never trusted
        "not an address",
        None,
        "",  # a Unix socket's unnamed peer
        "/run/target.sock",  # a Unix socket's path
        b"/run/target.sock",
        b"",
        (),
    ],
)
def test_other_peers_are_refused(peer: object) -> None:
    assert is_loopback_peer(peer) is False


def test_peer_host_takes_the_address_out_of_a_peername() -> None:
    assert peer_host(("10.0.0.5", 1234)) == "10.0.0.5"
    assert peer_host(("::1", 1234, 0, 0)) == "::1"
    assert peer_host("/run/target.sock") is None
    assert peer_host(None) is None


async def call(
    session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> tuple[int, Any, str | None]:
    async with session.request(method, url, **kwargs) as response:
        return response.status, await response.json(), response.headers.get(DEMO_HEADER)


async def test_admin_routes_work_over_loopback(target: str, session: aiohttp.ClientSession) -> None:
    status, body, _ = await call(session, "GET", f"{target}/__admin/faults")
    assert (status, body["active"]) == (200, False)
    status, body, _ = await call(
        session, "PATCH", f"{target}/__admin/faults", json={"latency": "5ms"}
    )
    assert (status, body["latency"], body["active"]) == (200, "5ms", True)
    status, body, _ = await call(session, "DELETE", f"{target}/__admin/faults")
    assert (status, body["active"]) == (200, False)
    status, body, _ = await call(session, "GET", f"{target}/__admin/stats")
    assert status == 200 and "total" in body


async def test_a_peer_that_is_not_loopback_gets_403_from_every_admin_route(
    target: str, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The connection is loopback (nothing else is reachable here); the peer address the guard
    # reads from the transport is made a LAN one, as a target bound to 0.0.0.0 would see it.
    monkeypatch.setattr(request_guard, "request_peer", lambda _request: ("10.0.0.5", 40000))
    spoof = {"X-Forwarded-For": "127.0.0.1", "Forwarded": "for=127.0.0.1"}
    for method, path, kwargs in [
        ("GET", "/__admin/faults", {}),
        ("PATCH", "/__admin/faults", {"json": {"error_rate": 1}}),
        ("PUT", "/__admin/faults", {"json": {"error_rate": 1}}),
        ("DELETE", "/__admin/faults", {}),
        ("GET", "/__admin/stats", {}),
        ("DELETE", "/__admin/stats", {}),
        ("GET", "/__admin/no-such-route", {}),
        ("GET", "/%5F%5Fadmin/faults", {}),  # percent-encoded: the same route once decoded
        ("PATCH", "/__admin/faults", {"json": {"error_rate": 1}, "headers": spoof}),
    ]:
        status, body, demo = await call(session, method, f"{target}{path}", **kwargs)
        assert status == 403, (method, path, body)
        assert body == {
            "error": "forbidden: /__admin/* answers loopback clients only",
            "peer": "10.0.0.5",
        }
        assert demo is not None  # still names itself as the demo
    status, _, _ = await call(session, "GET", f"{target}/api/health")
    assert status == 200  # the API is not an admin route
    monkeypatch.undo()
    status, body, _ = await call(session, "GET", f"{target}/__admin/faults")
    assert (status, body["error_rate"], body["active"]) == (200, 0.0, False)  # nothing changed


async def test_a_unix_socket_peer_is_refused_end_to_end(tmp_path: Path) -> None:
    """A real connection whose peer has no IP address at all: the admin routes refuse it."""
    runner = web.AppRunner(build_app(db_path=tmp_path / "target.db"), access_log=None)
    await runner.setup()
    socket_path = str(tmp_path / "target.sock")
    try:
        await web.UnixSite(runner, socket_path).start()
        connector = aiohttp.UnixConnector(path=socket_path)
        async with aiohttp.ClientSession(connector=connector) as session:
            async with session.patch(
                "http://demo/__admin/faults", data=json.dumps({"error_rate": 1})
            ) as response:
                assert response.status == 403
                assert (await response.json())["peer"] is None
            async with session.get("http://demo/api/health") as response:
                assert response.status == 200
    finally:
        await runner.cleanup()
