"""The demo target reports its unhandled API errors through the real sentry-sdk to its own ingest.

Real parts only: the target on a loopback port (in-process, or a child process as the CLI runs
it), real HTTP, the SDK's own background transport delivering to the real ingest, and the
Discover `count()` route and `/metrics` read back over HTTP. Waits are conditions with a
deadline; the SDK sends in order, so once a count reaches its mark nothing earlier is pending.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sentry_sdk
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

import ccplate_tui.target.server as target_server
from ccplate_tui.target import (
    build_app,
    parse_faults,
    running_target,
    start_target_process,
    stop_target_process,
)
from ccplate_tui.target.error_reporting import (
    DEMO_PUBLIC_KEY,
    TRANSPORT_QUEUE_SIZE,
    ExactDropper,
    dsn_for,
)
from ccplate_tui.target.faults import SENTRY_EXAMPLE_PATH, faults_from_mapping
from ccplate_tui.target.sentry_ingest import SENTRY_INGEST_KEY

COUNT_PATH = "/__sentry/api/0/organizations/demo/events/"
AUTH = {"Authorization": "Bearer demo-token"}
SDK_THREAD = "sentry-sdk.BackgroundWorker"
DEADLINE_S = 20.0


# helpers ------------------------------------------------------------------------------------


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class Window:
    """A window around the test's requests, as a run's start and end would be."""

    def __init__(self) -> None:
        self.start = datetime.now(UTC) - timedelta(seconds=1)

    def params(self, query: str = "") -> dict[str, str]:
        end = datetime.now(UTC) + timedelta(seconds=5)
        return {
            "field": "count()",
            "project": "1",
            "start": iso(self.start),
            "end": iso(end),
            "query": query,
        }


async def count(client: httpx.AsyncClient, url: str, window: Window, query: str = "") -> int:
    response = await client.get(f"{url}{COUNT_PATH}", params=window.params(query), headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meta"]["fields"] == {"count()": "integer"}
    return int(body["data"][0]["count()"])


async def sentry_counters(client: httpx.AsyncClient, url: str) -> tuple[float, float]:
    """(sent, dropped) from `/metrics`, read with Prometheus's own parser."""
    text = (await client.get(f"{url}/metrics")).text
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return (
        samples["ccplate_sentry_events_sent_total"],
        samples["ccplate_sentry_events_dropped_total"],
    )


async def wait_until(
    probe: Callable[[], Awaitable[Any]], done: Callable[[Any], bool], what: str
) -> Any:
    """Poll `probe` until `done(value)`; fail with the last value after DEADLINE_S."""
    deadline = time.monotonic() + DEADLINE_S
    value = await probe()
    while not done(value):
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: still {value!r} after {DEADLINE_S:g}s")
        await asyncio.sleep(0.02)
        value = await probe()
    return value


async def settled_count(
    client: httpx.AsyncClient, url: str, window: Window, expected: int, query: str = ""
) -> int:
    """The count once everything the SDK was handed has arrived (sent == what the ingest has)."""

    async def probe() -> tuple[int, float]:
        sent, _ = await sentry_counters(client, url)
        return await count(client, url, window, query), sent

    got, _sent = await wait_until(
        probe, lambda v: v[0] >= expected and v[0] >= v[1], f"count (want {expected})"
    )
    return int(got)


def sdk_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == SDK_THREAD]


@pytest.fixture(autouse=True)
def global_sdk_untouched() -> Iterator[None]:
    """Every test here: the process's own sentry-sdk stays uninitialised, no worker lingers."""
    assert not sentry_sdk.get_client().is_active()
    before = set(sdk_threads())
    yield
    assert not sentry_sdk.get_client().is_active(), "the target must never init the global SDK"
    deadline = time.monotonic() + 5
    while set(sdk_threads()) - before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not set(sdk_threads()) - before, "a target left its SDK worker thread running"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    # No keep-alive: a connection fault must not poison the next request; no proxy from env.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=10, limits=limits, trust_env=False) as http:
        yield http


# the reporter -------------------------------------------------------------------------------


def test_the_exact_dropper_drops_floor_n_times_rate() -> None:
    dropper = ExactDropper(0.2)
    drops = [dropper.should_drop() for _ in range(1000)]
    assert sum(drops) == 200
    assert drops[:10] == [False, False, False, False, True] * 2  # spread out, not a burst
    quarter = ExactDropper(0.25)
    assert [quarter.should_drop() for _ in range(8)] == [False, False, False, True] * 2
    assert not any(ExactDropper(0.0).should_drop() for _ in range(100))
    assert all(ExactDropper(1.0).should_drop() for _ in range(100))
    for rate in (0.07, 0.1, 0.3, 0.7, 0.9):
        dropper = ExactDropper(rate)
        assert sum(dropper.should_drop() for _ in range(1000)) == round(rate * 1000), rate


def test_a_new_drop_rate_restarts_the_count_and_the_same_rate_keeps_it() -> None:
    dropper = ExactDropper(0.5)
    assert [dropper.should_drop() for _ in range(3)] == [False, True, False]
    dropper.set_rate(0.5)  # unchanged (a PATCH of another key): the sequence goes on
    assert dropper.should_drop() is True
    dropper.set_rate(0.25)
    assert [dropper.should_drop() for _ in range(4)] == [False, False, False, True]


def test_the_dsn_names_the_targets_own_ingest() -> None:
    assert dsn_for("http://127.0.0.1:8787") == (
        f"http://{DEMO_PUBLIC_KEY}@127.0.0.1:8787/__sentry/1"
    )
    assert dsn_for("http://[::1]:9000/") == f"http://{DEMO_PUBLIC_KEY}@[::1]:9000/__sentry/1"
    assert TRANSPORT_QUEUE_SIZE >= 10_000


# over HTTP ----------------------------------------------------------------------------------


async def test_error_rate_1_gives_one_event_per_500(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    n = 30
    async with running_target(
        faults=parse_faults("error_rate=1"), db_path=tmp_path / "t.db"
    ) as url:
        window = Window()
        for i in range(n):
            if i % 2:
                response = await client.get(f"{url}/api/users/me")
            else:
                response = await client.post(f"{url}/api/auth/login", json={"email": "x"})
            assert response.status_code == 500
            assert response.json() == {"error": "injected fault"}  # as before: a 500, same body
        assert await settled_count(client, url, window, n) == n
        assert await sentry_counters(client, url) == (n, 0)
        assert await count(client, url, window, "event.type:error environment:demo") == n
        assert await count(client, url, window, "environment:production") == 0
        stats = (await client.get(f"{url}/__admin/stats")).json()
        assert stats["by_status"] == {"500": n} and stats["faults"] == {"error": n}


async def test_sentry_drop_0_2_of_50_errors_sends_exactly_40(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    faults = parse_faults("error_rate=1,sentry_drop=0.2")
    async with running_target(faults=faults, db_path=tmp_path / "t.db") as url:
        window = Window()
        responses = await asyncio.gather(*(client.get(f"{url}/api/users/me") for _ in range(50)))
        assert [r.status_code for r in responses] == [500] * 50
        assert await settled_count(client, url, window, 40) == 40
        assert await sentry_counters(client, url) == (40, 10)
        assert (await client.get(f"{url}/__admin/faults")).json()["sentry_drop"] == 0.2


async def test_the_example_route_raises_once_per_call_whatever_the_faults(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    # Every request fault at full strength: the drill's route must still fail the same way.
    faults = parse_faults("error_rate=1,drop_rate=1,latency=5s,slow=/api/*:5s")
    async with running_target(faults=faults, db_path=tmp_path / "t.db") as url:
        window = Window()
        started = time.monotonic()
        for _ in range(5):
            response = await client.get(f"{url}{SENTRY_EXAMPLE_PATH}")
            assert response.status_code == 500
            assert response.json() == {"error": "internal error"}
        assert time.monotonic() - started < 4.5, "the example route was delayed by a fault"
        assert await settled_count(client, url, window, 5) == 5
        assert await sentry_counters(client, url) == (5, 0)


async def test_health_and_handled_errors_are_not_reported(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    async with running_target(db_path=tmp_path / "t.db") as url:
        window = Window()
        assert (await client.get(f"{url}/api/health")).status_code == 200
        bad_login = await client.post(
            f"{url}/api/auth/login", json={"email": "x@example.com", "password": "wrong"}
        )
        assert bad_login.status_code == 401
        assert (await client.get(f"{url}/api/nowhere")).status_code == 404
        assert (await client.post(f"{url}/api/files", content=b"[1]")).status_code == 400
        # A marker: the SDK sends in order, so when it is in, nothing before it is pending.
        assert (await client.get(f"{url}{SENTRY_EXAMPLE_PATH}")).status_code == 500
        assert await settled_count(client, url, window, 1) == 1
        assert await sentry_counters(client, url) == (1, 0)
        health = await client.get(f"{url}/api/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"


async def test_connection_faults_are_not_server_errors_and_are_not_reported(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    faults = parse_faults("drop_rate=1,paths=/api/users/me")
    async with running_target(faults=faults, db_path=tmp_path / "t.db") as url:
        window = Window()
        for _ in range(5):
            with pytest.raises(httpx.TransportError):
                await client.post(f"{url}/api/users/me")
        for kind in ("reset_rate", "garbage_rate"):
            await client.put(f"{url}/__admin/faults", json={kind: 1, "paths": ["/api/users/me"]})
            with pytest.raises(httpx.TransportError):
                await client.post(f"{url}/api/users/me")
        assert (await client.get(f"{url}{SENTRY_EXAMPLE_PATH}")).status_code == 500
        assert await settled_count(client, url, window, 1) == 1
        assert await sentry_counters(client, url) == (1, 0)


async def test_the_admin_endpoint_sets_and_validates_sentry_drop(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    async with running_target(db_path=tmp_path / "t.db") as url:
        window = Window()
        assert (await client.get(f"{url}/__admin/faults")).json()["sentry_drop"] is None
        for bad in (1.5, -0.1, "lots", True):
            response = await client.patch(f"{url}/__admin/faults", json={"sentry_drop": bad})
            assert response.status_code == 400
            assert response.json()["error"].startswith(
                "sentry_drop: expected a number between 0 and 1"
            )
        response = await client.patch(f"{url}/__admin/faults", json={"sentry_drop": 0.5})
        assert response.status_code == 200
        assert response.json()["sentry_drop"] == 0.5 and response.json()["active"] is True
        for _ in range(4):
            await client.get(f"{url}{SENTRY_EXAMPLE_PATH}")
        assert await settled_count(client, url, window, 2) == 2
        assert await sentry_counters(client, url) == (2, 2)
        await client.delete(f"{url}/__admin/faults")
        await client.get(f"{url}{SENTRY_EXAMPLE_PATH}")
        assert await settled_count(client, url, window, 3) == 3
        assert await sentry_counters(client, url) == (3, 2)


async def test_the_event_is_an_unhandled_error_sent_with_the_demo_key(
    client: httpx.AsyncClient,
) -> None:
    """Served without running_target (no configure): the DSN comes from the request's socket."""
    app = build_app()
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        assert (await client.get(f"{url}{SENTRY_EXAMPLE_PATH}?from=test")).status_code == 500
        store = app[SENTRY_INGEST_KEY]

        async def probe() -> int:
            return len(store.events)

        await wait_until(probe, lambda n: n == 1, "events stored")
    finally:
        await runner.cleanup()
    received = store.envelopes[-1]
    assert received.project_id == "1" and received.public_key == DEMO_PUBLIC_KEY
    assert received.auth_from == "header"
    assert received.user_agent.startswith("sentry.python/")
    (stored,) = store.events.values()
    event = stored.event
    assert event["environment"] == "demo" and event["level"] == "error"
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "SentryExampleAPIError"
    assert exception["mechanism"] == {"type": "aiohttp", "handled": False}
    assert event["transaction"] == f"GET {SENTRY_EXAMPLE_PATH}"
    assert event["request"] == {"method": "GET", "url": f"{url}{SENTRY_EXAMPLE_PATH}?from=test"}
    assert stored.title.startswith("SentryExampleAPIError: This error is raised on the backend")


async def test_leaving_the_target_flushes_the_queued_events(
    client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    apps: list[web.Application] = []

    def keep(*args: Any, **kwargs: Any) -> web.Application:
        apps.append(build_app(*args, **kwargs))
        return apps[-1]

    monkeypatch.setattr(target_server, "build_app", keep)
    n = 200
    async with running_target(
        faults=parse_faults("error_rate=1"), db_path=tmp_path / "t.db"
    ) as url:
        responses = await asyncio.gather(*(client.get(f"{url}/api/users/me") for _ in range(n)))
        assert {r.status_code for r in responses} == {500}
        # Leave at once: whatever the SDK still holds goes out before the listener closes.
    assert apps[0][SENTRY_INGEST_KEY].tally.size == n


# the CLI path -------------------------------------------------------------------------------


def test_parse_faults_reads_sentry_drop_and_round_trips() -> None:
    faults = parse_faults("error_rate=1,sentry_drop=0.2")
    assert faults.sentry_drop == 0.2 and faults.active
    assert "sentry_drop=0.2" in faults.to_text()
    assert parse_faults(faults.to_text()) == faults
    assert faults_from_mapping(faults.to_mapping()) == faults
    assert parse_faults("sentry_drop=0.3").active  # on its own it is a fault too
    for bad in ("sentry_drop=1.01", "sentry_drop=-1", "sentry_drop=nan", "sentry_drop=x"):
        with pytest.raises(ValueError, match=r"^sentry_drop: expected a number between 0 and 1"):
            parse_faults(bad)


def test_the_cli_refuses_a_bad_sentry_drop_with_exit_2() -> None:
    with pytest.raises(RuntimeError, match=r"exit code 2.*sentry_drop: expected a number"):
        start_target_process(faults="sentry_drop=2")


def test_a_target_process_reports_through_its_own_loop(tmp_path: Path) -> None:
    """As `ccplate-tui target --faults …` runs it: its own process, uvloop when installed."""
    proc, url = start_target_process(
        faults="error_rate=1,sentry_drop=0.2", db_path=tmp_path / "t.db"
    )
    try:
        window = Window()
        with httpx.Client(timeout=10, trust_env=False) as http:
            for _ in range(20):
                assert http.get(f"{url}/api/users/me").status_code == 500
            deadline = time.monotonic() + DEADLINE_S
            while True:
                answer = http.get(f"{url}{COUNT_PATH}", params=window.params(), headers=AUTH)
                got = answer.json()["data"][0]["count()"]
                if got >= 16 or time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            assert got == 16
            text = http.get(f"{url}/metrics").text
            assert "ccplate_sentry_events_sent_total 16.0" in text
            assert "ccplate_sentry_events_dropped_total 4.0" in text
    finally:
        assert stop_target_process(proc) == 0
