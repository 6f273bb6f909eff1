"""Fault parsing, and each fault kind as a client sees it from a real loopback target."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ccplate_tui.target import Faults, parse_faults, running_target
from ccplate_tui.target.faults import NO_FAULTS, FaultInjector, SlowRule, faults_from_mapping

LOGIN = {"email": "load-test@example.com", "password": "test-password"}


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    # No keep-alive reuse: a faulted connection must not poison the next request.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as client:
        yield client


async def status_of(session: aiohttp.ClientSession, method: str, url: str, **kw: Any) -> int:
    async with session.request(method, url, **kw) as response:
        await response.read()
        return response.status


async def admin(
    session: aiohttp.ClientSession, method: str, url: str, body: Any = None
) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {} if body is None else {"data": json.dumps(body)}
    async with session.request(method, f"{url}/__admin/faults", **kwargs) as response:
        return response.status, await response.json()


# parse_faults -------------------------------------------------------------------------------


def test_parse_faults_reads_every_key() -> None:
    faults = parse_faults(
        "error_rate=0.05, latency=200ms,jitter=50,slow=/api/files:500ms;/api/auth/*:1s,"
        "slow=/api/users/me:2s,drop_rate=0.01,reset_rate=0.02,garbage_rate=0.03,"
        "paths=/api/auth/*,paths=/api/files*,seed=7"
    )
    assert faults == Faults(
        error_rate=0.05,
        latency=0.2,
        jitter=0.05,
        slow=(
            SlowRule("/api/files", 0.5),
            SlowRule("/api/auth/*", 1.0),
            SlowRule("/api/users/me", 2.0),
        ),
        drop_rate=0.01,
        reset_rate=0.02,
        garbage_rate=0.03,
        paths=("/api/auth/*", "/api/files*"),
        seed=7,
    )
    assert parse_faults(faults.to_text()) == faults
    assert faults_from_mapping(json.loads(json.dumps(faults.to_mapping()))) == faults


def test_no_faults_is_inactive() -> None:
    assert parse_faults("") == parse_faults(" , ") == NO_FAULTS
    assert not NO_FAULTS.active
    assert parse_faults("seed=3").active is False
    assert parse_faults("latency=1ms").active


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("error_rate=x", "error_rate: expected a number between 0 and 1, got 'x'"),
        ("drop_rate=1.5", "drop_rate: expected a number between 0 and 1, got '1.5'"),
        ("reset_rate=nan", "reset_rate: expected a number between 0 and 1"),
        ("latency=soon", "latency: expected a duration like '200ms'"),
        ("jitter=-5", "jitter: expected a duration"),
        ("slow=/api/files", "slow: expected PATH:DURATION"),
        ("slow=api/files:1s", "slow: expected PATH:DURATION"),
        ("slow=/api/files:fast", "slow: expected PATH:DURATION"),
        ("paths=api/*", "paths: expected path globs starting with '/'"),
        ("seed=abc", "seed: expected an integer, got 'abc'"),
        ("typo_rate=0.1", "unknown fault key 'typo_rate'; expected one of: error_rate"),
        ("error_rate", "expected key=value"),
        ("latency=1s,latency=2s", "latency: given more than once"),
    ],
)
def test_parse_faults_errors_name_the_key_and_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace("*", r"\*")):
        parse_faults(text)


def test_faults_from_mapping_takes_ms_numbers_lists_and_dicts() -> None:
    faults = faults_from_mapping(
        {"latency": 250, "jitter": "10ms", "slow": {"/api/files": 100}, "paths": ["/api/*"]}
    )
    assert (faults.latency, faults.jitter) == (0.25, 0.01)
    assert faults.slow == (SlowRule("/api/files", 0.1),)
    assert faults.paths == ("/api/*",)
    patched = faults_from_mapping({"error_rate": 0.5, "latency": None}, base=faults)
    assert (patched.error_rate, patched.latency, patched.jitter) == (0.5, 0.0, 0.01)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "expected a JSON object"),
        ({"error_rate": True}, "error_rate: expected a number between 0 and 1, got True"),
        ({"latency": -1}, "latency: expected a duration"),
        ({"slow": 5}, "slow: expected PATH:DURATION"),
        ({"seed": 1.5}, "seed: expected an integer"),
        ({"nope": 1}, "unknown fault key 'nope'"),
    ],
)
def test_faults_from_mapping_errors(data: Any, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message):
        faults_from_mapping(data)


@pytest.mark.parametrize(
    ("faults", "path", "expected"),
    [
        (Faults(error_rate=1), "/api/files", True),
        (Faults(error_rate=1), "/api/health", False),
        (Faults(error_rate=1), "/__admin/faults", False),
        (Faults(error_rate=1), "/elsewhere", False),
        (Faults(error_rate=1, paths=("/api/health",)), "/api/health", True),
        (Faults(error_rate=1, paths=("/api/auth/*",)), "/api/auth/login", True),
        (Faults(error_rate=1, paths=("/api/auth/*",)), "/api/files", False),
        (Faults(error_rate=1, paths=("*",)), "/__admin/stats", False),
    ],
)
def test_fault_scope(faults: Faults, path: str, expected: bool) -> None:
    assert faults.in_scope(path) is expected


def test_seeded_injector_replays_the_same_decisions() -> None:
    faults = parse_faults("error_rate=0.3,drop_rate=0.2,jitter=10ms,seed=42")

    def decisions() -> list[tuple[float, str | None] | None]:
        injector = FaultInjector(faults)
        plans = [injector.plan("/api/files") for _ in range(200)]
        return [None if p is None else (p.delay, p.action) for p in plans]

    first = decisions()
    assert first == decisions()
    actions = {d[1] for d in first if d is not None}
    assert {"error", "drop", None} <= actions


# faults over HTTP ---------------------------------------------------------------------------


async def test_error_rate_1_answers_500_except_outside_the_scope(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with running_target(
        faults=parse_faults("error_rate=1"), db_path=tmp_path / "t.db"
    ) as url:
        async with session.post(f"{url}/api/auth/login", json=LOGIN) as response:
            assert response.status == 500
            assert await response.json() == {"error": "injected fault"}
        assert await status_of(session, "GET", f"{url}/api/health") == 200


async def test_latency_and_slow_paths_delay_responses(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    faults = parse_faults("latency=200ms,slow=/api/files*:300ms")
    async with running_target(faults=faults, db_path=tmp_path / "t.db") as url:
        started = time.monotonic()
        assert await status_of(session, "GET", f"{url}/api/users/me") == 200
        assert time.monotonic() - started >= 0.2
        started = time.monotonic()
        assert await status_of(session, "GET", f"{url}/api/files/1") == 404
        assert time.monotonic() - started >= 0.5
        async with session.get(f"{url}/__admin/stats") as response:
            stats = await response.json()
    assert stats["faults"] == {"delayed": 2}


async def test_drop_closes_the_connection_without_an_answer(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with running_target(faults=parse_faults("drop_rate=1"), db_path=tmp_path / "t.db") as url:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await status_of(session, "POST", f"{url}/api/auth/login", json=LOGIN)
        assert await status_of(session, "GET", f"{url}/api/health") == 200  # still serving


async def test_reset_cuts_the_response_midway(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with running_target(
        faults=parse_faults("reset_rate=1"), db_path=tmp_path / "t.db"
    ) as url:
        with pytest.raises(aiohttp.ClientError) as caught:
            await status_of(session, "GET", f"{url}/api/users/me")
    # Either the body was cut short or the reset arrived first; never a clean disconnect.
    assert isinstance(caught.value, aiohttp.ClientPayloadError | aiohttp.ClientOSError)


async def test_garbage_is_not_http(session: aiohttp.ClientSession, tmp_path: Path) -> None:
    faults = parse_faults("garbage_rate=1")
    async with running_target(faults=faults, db_path=tmp_path / "t.db") as url:
        with pytest.raises(aiohttp.ClientResponseError, match=r"[Bb]ad status line"):
            await status_of(session, "GET", f"{url}/api/users/me")


async def test_paths_limit_the_faults(session: aiohttp.ClientSession, tmp_path: Path) -> None:
    faults = parse_faults("error_rate=1,paths=/api/auth/*")
    async with running_target(faults=faults, db_path=tmp_path / "t.db") as url:
        assert await status_of(session, "POST", f"{url}/api/auth/login", json=LOGIN) == 500
        assert await status_of(session, "GET", f"{url}/api/users/me") == 200


async def test_a_seed_makes_runs_reproducible(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    faults = parse_faults("error_rate=0.5,seed=1234")

    async def sequence(db: Path) -> list[int]:
        async with running_target(faults=faults, db_path=db) as url:
            return [await status_of(session, "GET", f"{url}/api/users/me") for _ in range(40)]

    first = await sequence(tmp_path / "a.db")
    assert first == await sequence(tmp_path / "b.db")
    assert set(first) == {200, 500}


# admin --------------------------------------------------------------------------------------


async def test_admin_changes_faults_while_running(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with running_target(db_path=tmp_path / "t.db") as url:
        me = f"{url}/api/users/me"
        assert await status_of(session, "GET", me) == 200
        status, body = await admin(session, "PUT", url, {"error_rate": 1, "jitter": 5})
        assert status == 200 and body["error_rate"] == 1.0 and body["active"] is True
        assert await status_of(session, "GET", me) == 500
        status, body = await admin(session, "PATCH", url, {"paths": "/api/files*"})
        assert (body["error_rate"], body["jitter"], body["paths"]) == (1.0, "5ms", ["/api/files*"])
        assert await status_of(session, "GET", me) == 200
        assert await status_of(session, "GET", f"{url}/api/files/1") == 500
        status, body = await admin(session, "DELETE", url)
        assert status == 200 and body["active"] is False
        assert await status_of(session, "GET", f"{url}/api/files/1") == 404
        status, body = await admin(session, "GET", url)
        assert body == {**NO_FAULTS.to_mapping(), "active": False}


@pytest.mark.parametrize(
    ("body", "message_part"),
    [
        ({"error_rate": "lots"}, "error_rate: expected a number between 0 and 1, got 'lots'"),
        ({"latency": "whenever"}, "latency: expected a duration"),
        ({"bogus": 1}, "unknown fault key 'bogus'"),
        (["error_rate", 1], "expected a JSON object"),
    ],
)
async def test_admin_rejects_bad_faults_with_400_and_keeps_the_old_ones(
    session: aiohttp.ClientSession, tmp_path: Path, body: Any, message_part: str
) -> None:
    faults = parse_faults("latency=1ms")
    async with running_target(faults=faults, db_path=tmp_path / "t.db") as url:
        status, answer = await admin(session, "PUT", url, body)
        assert status == 400 and message_part in answer["error"]
        async with session.put(f"{url}/__admin/faults", data=b"{oops") as response:
            assert response.status == 400
            assert "malformed JSON" in (await response.json())["error"]
        _, current = await admin(session, "GET", url)
    assert current["latency"] == "1ms"


async def test_admin_is_never_faulted(session: aiohttp.ClientSession, tmp_path: Path) -> None:
    faults = parse_faults("drop_rate=1,paths=*")
    async with running_target(faults=faults, db_path=tmp_path / "t.db") as url:
        status, body = await admin(session, "GET", url)
        assert status == 200 and body["drop_rate"] == 1.0


async def test_stats_count_requests_by_path_and_outcome(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    faults = parse_faults("drop_rate=1,paths=/api/files*")
    async with running_target(faults=faults, db_path=tmp_path / "t.db") as url:
        for _ in range(3):
            await status_of(session, "GET", f"{url}/api/health")
        await status_of(
            session, "POST", f"{url}/api/auth/login", json={"email": "x", "password": "y"}
        )
        await status_of(session, "GET", f"{url}/nowhere")
        with pytest.raises(aiohttp.ServerDisconnectedError):  # POST: aiohttp retries a GET
            await status_of(session, "POST", f"{url}/api/files", json={"filename": "f"})
        await admin(session, "GET", url)
        async with session.get(f"{url}/__admin/stats") as response:
            stats = await response.json()
        assert stats["by_path"] == {
            "/api/health": {"200": 3},
            "/api/auth/login": {"401": 1},
            "/nowhere": {"404": 1},
            "/api/files": {"drop": 1},
        }
        assert stats["total"] == 6 and stats["faults"] == {"drop": 1}
        async with session.delete(f"{url}/__admin/stats") as response:
            assert (await response.json())["total"] == 0
