"""The ingest's Discover `count()` route: events in [start, end) by their own timestamps.

Envelopes with chosen timestamps, environments and types are POSTed over real HTTP to a real
target's ingest and counted back through `GET /api/0/organizations/{org}/events/`; the compact
tally behind it (bounded, not capped by the events kept whole) is also driven directly.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ccplate_tui.target import running_target
from ccplate_tui.target.error_reporting import DEMO_PUBLIC_KEY
from ccplate_tui.target.sentry_counts import EventTally, parse_iso, timestamp_micros
from ccplate_tui.target.sentry_ingest import (
    MAX_EVENTS,
    Envelope,
    EnvelopeItem,
    ReceivedEnvelope,
    SentryIngestStore,
)

COUNT_PATH = "/__sentry/api/0/organizations/acme/events/"
AUTH = {"Authorization": "Bearer demo-token"}
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def event(
    timestamp: object, environment: str | None = "production", error: bool = True
) -> dict[str, Any]:
    body: dict[str, Any] = {"platform": "python", "level": "error"}
    if timestamp is not None:
        body["timestamp"] = timestamp
    if environment is not None:
        body["environment"] = environment
    if error:
        body["exception"] = {"values": [{"type": "ValueError", "value": "boom"}]}
    else:
        body["message"] = "a message"
    return body


async def post_event(
    client: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    project: int = 1,
    event_id: str | None = None,
) -> None:
    event_id = event_id or uuid.uuid4().hex
    payload = json.dumps(body).encode()
    envelope = b"\n".join(
        [
            json.dumps({"event_id": event_id}).encode(),
            json.dumps({"type": "event", "length": len(payload)}).encode(),
            payload,
        ]
    )
    response = await client.post(
        f"{url}/__sentry/api/{project}/envelope/",
        content=envelope,
        headers={"X-Sentry-Auth": f"Sentry sentry_key={DEMO_PUBLIC_KEY}, sentry_version=7"},
    )
    assert response.status_code == 200 and response.json() == {"id": event_id}, response.text


async def count(
    client: httpx.AsyncClient, url: str, start: str, end: str, query: str = "", **extra: Any
) -> int:
    params: dict[str, Any] = {
        "field": "count()",
        "project": "1",
        "start": start,
        "end": end,
        "query": query,
        **extra,
    }
    response = await client.get(f"{url}{COUNT_PATH}", params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meta"]["fields"] == {"count()": "integer"}
    (row,) = body["data"]
    return int(row["count()"])


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
        yield http


@pytest.fixture
async def target(tmp_path: Path) -> AsyncIterator[str]:
    async with running_target(db_path=tmp_path / "t.db") as url:
        yield url


async def test_the_window_is_start_inclusive_end_exclusive_by_event_timestamp(
    client: httpx.AsyncClient, target: str
) -> None:
    µs = timedelta(microseconds=1)
    for moment in (T0 - µs, T0, T0 + timedelta(seconds=30), T0 + timedelta(minutes=1) - µs):
        await post_event(client, target, event(iso(moment)))
    await post_event(client, target, event(iso(T0 + timedelta(minutes=1))))
    start, end = iso(T0), iso(T0 + timedelta(minutes=1))
    assert await count(client, target, start, end) == 3
    assert await count(client, target, iso(T0 - µs), end) == 4
    assert await count(client, target, start, iso(T0 + timedelta(minutes=1) + µs)) == 4
    assert await count(client, target, start, start) == 0  # an empty window
    # The same instants written with an offset, and without one (UTC, as Sentry reads it).
    assert await count(client, target, "2026-03-01T13:00:00+01:00", "2026-03-01T12:01:00") == 3


async def test_epoch_seconds_and_missing_timestamps_count_too(
    client: httpx.AsyncClient, target: str
) -> None:
    await post_event(client, target, event(T0.timestamp() + 0.25))
    before = datetime.now(UTC) - timedelta(seconds=1)
    await post_event(client, target, event(None))  # stamped on arrival, as Relay does
    after = datetime.now(UTC) + timedelta(seconds=1)
    assert await count(client, target, iso(T0), iso(T0 + timedelta(seconds=1))) == 1
    assert await count(client, target, iso(before), iso(after)) == 1


async def test_queries_filter_by_type_environment_and_project(
    client: httpx.AsyncClient, target: str
) -> None:
    ts = iso(T0 + timedelta(seconds=1))
    await post_event(client, target, event(ts, "production"))
    await post_event(client, target, event(ts, "production"))
    await post_event(client, target, event(ts, "staging"))
    await post_event(client, target, event(ts, "production", error=False))
    await post_event(client, target, event(ts, None))
    await post_event(client, target, event(ts, "production"), project=2)
    start, end = iso(T0), iso(T0 + timedelta(hours=1))
    assert await count(client, target, start, end) == 5
    assert await count(client, target, start, end, "event.type:error") == 4
    assert await count(client, target, start, end, "environment:production") == 3
    assert await count(client, target, start, end, "event.type:error environment:production") == 2
    assert await count(client, target, start, end, "  environment:staging   ") == 1
    assert await count(client, target, start, end, 'environment:"staging"') == 1
    assert await count(client, target, start, end, "environment:a environment:b") == 0
    assert await count(client, target, start, end, "event.type:default") == 1
    # Sentry's separate environment parameter: any of those named.
    got = await count(client, target, start, end, environment=["production", "staging"])
    assert got == 4
    assert await count(client, target, start, end, project="2") == 1
    assert await count(client, target, start, end, project=["1", "2"]) == 6
    assert await count(client, target, start, end, project="-1") == 6
    assert await count(client, target, start, end, project="3") == 0


async def test_a_repeated_event_id_counts_once(client: httpx.AsyncClient, target: str) -> None:
    event_id = uuid.uuid4().hex
    for _ in range(3):
        await post_event(client, target, event(iso(T0)), event_id=event_id)
    assert await count(client, target, iso(T0), iso(T0 + timedelta(seconds=1))) == 1


async def test_the_count_is_not_capped_by_the_events_kept_whole(
    client: httpx.AsyncClient, target: str
) -> None:
    n = MAX_EVENTS + 50
    semaphore = asyncio.Semaphore(20)

    async def one(i: int) -> None:
        async with semaphore:
            await post_event(client, target, event(iso(T0 + timedelta(milliseconds=i))))

    await asyncio.gather(*(one(i) for i in range(n)))
    assert await count(client, target, iso(T0), iso(T0 + timedelta(hours=1))) == n
    assert await count(client, target, iso(T0), iso(T0 + timedelta(milliseconds=100))) == 100


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"field": None}, "No columns selected"),
        ({"field": "count_unique(user)"}, "Invalid field 'count_unique(user)'"),
        ({"field": ["count()", "title"]}, "Invalid field 'title'"),
        ({"start": None}, "start and end are required"),
        ({"end": None}, "start and end are required"),
        ({"start": None, "end": None, "statsPeriod": "24h"}, "start and end are required"),
        ({"start": "yesterday"}, "start: 'yesterday' is not an ISO 8601 date"),
        ({"end": "2026-13-01T00:00:00Z"}, "end: '2026-13-01T00:00:00Z' is not an ISO 8601 date"),
        ({"start": "2026-03-01T14:00:00Z"}, "start must be before end"),
        ({"project": "frontend"}, "Invalid project parameter. Values must be numbers."),
        ({"query": "level:error"}, "Invalid query. 'level:error' is not supported"),
        ({"query": "event.type:transaction"}, "Invalid query. 'event.type:transaction'"),
        ({"query": "!environment:demo"}, "Invalid query. '!environment:demo'"),
        ({"query": "boom"}, "Invalid query. 'boom'"),
        ({"query": "environment:"}, "Invalid query. 'environment:'"),
    ],
)
async def test_bad_parameters_answer_400_with_a_detail(
    client: httpx.AsyncClient, target: str, params: dict[str, Any], detail: str
) -> None:
    base: dict[str, Any] = {
        "field": "count()",
        "project": "1",
        "start": "2026-03-01T12:00:00Z",
        "end": "2026-03-01T13:00:00Z",
    }
    merged = {k: v for k, v in {**base, **params}.items() if v is not None}  # None: left out
    response = await client.get(f"{target}{COUNT_PATH}", params=merged, headers=AUTH)
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"detail"} and body["detail"].startswith(detail), body


async def test_the_count_asks_for_a_bearer_token_like_the_event_api(
    client: httpx.AsyncClient, target: str
) -> None:
    params = {"field": "count()", "start": iso(T0), "end": iso(T0 + timedelta(hours=1))}
    response = await client.get(f"{target}{COUNT_PATH}", params=params)
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    basic = await client.get(
        f"{target}{COUNT_PATH}", params=params, headers={"Authorization": "Basic eDp5"}
    )
    assert basic.status_code == 401


# the tally ----------------------------------------------------------------------------------


def test_the_tally_keeps_the_newest_events_past_its_capacity() -> None:
    tally = EventTally(capacity=1000)  # trims by 1 % slack: up to 1010, then back to 1000
    base = parse_iso("2026-03-01T12:00:00Z")
    for i in range(3000):
        environment = "production" if i % 2 else "staging"
        tally.record("1", "error", environment, base + i)
    assert 1000 <= tally.size <= 1010
    newest = tally.count(base + 2000, base + 3000)
    assert newest == 1000, "the most recent events are all still counted"
    assert tally.count(base, base + 1990) == 0, "the oldest are gone"
    kept = range(3000 - tally.size, 3000)
    production = tally.count(base, base + 3000, environments={"production"})
    assert production == sum(1 for i in kept if i % 2)


def test_the_tally_counts_out_of_order_arrivals_and_bounds_its_series() -> None:
    tally = EventTally(capacity=100, max_series=2)
    for micros in (50, 10, 30, 20, 40):  # events arrive out of timestamp order
        tally.record("1", "error", "a", micros)
    assert tally.count(20, 41) == 3
    tally.record("1", "error", "b", 60)
    tally.record("1", "error", "c", 70)  # a third environment: counted, under no name
    assert tally.count(0, 100) == 7
    assert tally.count(0, 100, environments={"c"}) == 0
    assert tally.count(0, 100, environments={"a", "b"}) == 6


def test_the_store_counts_more_than_it_keeps_and_clear_forgets_both() -> None:
    store = SentryIngestStore(max_events=5)
    for i in range(20):
        payload = json.dumps(event(iso(T0 + timedelta(seconds=i)))).encode()
        envelope = Envelope(
            {"event_id": uuid.uuid4().hex}, (EnvelopeItem({"type": "event"}, payload),)
        )
        store.add(ReceivedEnvelope("1", "key", "header", None, False, "test", envelope))
    assert len(store.events) == 5
    assert store.tally.count(parse_iso(iso(T0)), parse_iso(iso(T0 + timedelta(minutes=1)))) == 20
    store.clear()
    assert store.tally.size == 0 and not store.events


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-01T12:00:00Z", parse_iso("2026-03-01T12:00:00+00:00")),
        ("2026-03-01T12:00:00.000001Z", parse_iso("2026-03-01T12:00:00Z") + 1),
        (1_772_366_400.5, 1_772_366_400_500_000),
        (1_772_366_400, 1_772_366_400_000_000),
        ("not a date", None),
        ("", None),
        (True, None),
        (float("nan"), None),
        (None, None),
    ],
)
def test_event_timestamps_read_as_sentry_reads_them(value: object, expected: int | None) -> None:
    assert timestamp_micros(value) == expected
