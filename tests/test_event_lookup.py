"""Confirming a sent event through the (demo) Sentry web API, with a fake clock for the waits."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from ccplate_tui.sentry.capture import send_test_error
from ccplate_tui.sentry.dsn import parse_dsn
from ccplate_tui.sentry.event_lookup import (
    EventConfirmation,
    api_base_for,
    confirm_event,
    confirmation_to_json,
)
from tests.sentry_ingest_fixture import API_TOKEN, SentryIngestFixture, free_port


class FakeTime:
    """A clock that only moves when the poller sleeps, so no test waits for real."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def ingest():
    with SentryIngestFixture() as fixture:
        yield fixture


@pytest.fixture
def sent(ingest: SentryIngestFixture) -> str:
    """The id of a test error the demo ingest really received."""
    result = send_test_error(ingest.dsn())
    assert result.delivered
    return result.event_id


def _confirm(ingest: SentryIngestFixture, event_id: str, fake: FakeTime, **kwargs):  # type: ignore[no-untyped-def]
    options = {"token": API_TOKEN, "org": "acme", "project": "1", **kwargs}
    return confirm_event(
        api_base_for(parse_dsn(ingest.dsn())),
        options.pop("token"),
        options.pop("org"),
        options.pop("project"),
        event_id,
        sleep=fake.sleep,
        clock=fake.clock,
        **options,
    )


def _shown(confirmation: EventConfirmation) -> str:
    return json.dumps(confirmation_to_json(confirmation)) + repr(confirmation)


def test_not_yet_then_found(ingest: SentryIngestFixture, sent: str) -> None:
    ingest.api_script = [404, 404, 404]
    fake = FakeTime()
    confirmation = _confirm(ingest, sent, fake)

    assert confirmation.confirmed is True
    assert confirmation.attempts == 4
    assert confirmation.last_status == 200
    assert fake.sleeps == [2.0, 3.0, 4.5]  # first_delay, ×1.5 each time
    stored = ingest.store.get(sent)
    assert stored is not None
    assert confirmation.group_id == stored.group_id
    assert confirmation.issue_url == (
        f"{ingest.url}/__sentry/organizations/acme/issues/{stored.group_id}/"
    )
    assert confirmation.title is not None
    assert confirmation.title.startswith("CcplateSentryCheck: ccplate-tui capture check")
    assert confirmation.date_received == stored.received_at
    assert ingest.api_polls == 4
    polls = [r for r in ingest.requests if "/api/0/projects/" in r.path]
    assert polls[0].path == f"/__sentry/api/0/projects/acme/1/events/{sent}/"
    assert all(r.headers["Authorization"] == f"Bearer {API_TOKEN}" for r in polls)
    assert API_TOKEN not in _shown(confirmation)
    # The issue URL the check prints is a page the demo target really serves.
    assert httpx.get(confirmation.issue_url).status_code == 200


def test_found_at_once_needs_no_sleep(ingest: SentryIngestFixture, sent: str) -> None:
    fake = FakeTime()
    confirmation = _confirm(ingest, sent, fake, project="ccplate-web")  # a slug works too
    assert (confirmation.confirmed, confirmation.attempts, fake.sleeps) == (True, 1, [])
    assert "1 lookup" in confirmation.explanation


def test_backoff_is_capped(ingest: SentryIngestFixture, sent: str) -> None:
    ingest.api_script = [404] * 6
    fake = FakeTime()
    confirmation = _confirm(ingest, sent, fake, first_delay=2, factor=2, max_delay=5)
    assert confirmation.confirmed
    assert fake.sleeps == [2, 4, 5, 5, 5, 5]


def test_server_errors_are_retried(ingest: SentryIngestFixture, sent: str) -> None:
    ingest.api_script = [500, 503, 404]
    fake = FakeTime()
    confirmation = _confirm(ingest, sent, fake)
    assert (confirmation.confirmed, confirmation.attempts) == (True, 4)


def test_a_rejected_token_stops_at_once(ingest: SentryIngestFixture, sent: str) -> None:
    wrong = "sntrys_wrong_token_abcdef0123456789"
    fake = FakeTime()
    confirmation = _confirm(ingest, sent, fake, token=wrong)  # the real handler says 401
    assert confirmation.confirmed is False
    assert (confirmation.attempts, confirmation.last_status) == (1, 401)
    assert "project:read" in confirmation.explanation
    assert "Invalid token" in confirmation.explanation
    assert fake.sleeps == []
    assert wrong not in _shown(confirmation)


def test_a_token_without_access_stops_at_once(ingest: SentryIngestFixture, sent: str) -> None:
    ingest.api_always = 403
    confirmation = _confirm(ingest, sent, FakeTime())
    assert (confirmation.confirmed, confirmation.attempts, confirmation.last_status) == (
        False,
        1,
        403,
    )
    assert "project:read" in confirmation.explanation and "403" in confirmation.explanation
    assert API_TOKEN not in _shown(confirmation)


def test_the_demo_api_requires_a_bearer_token(ingest: SentryIngestFixture, sent: str) -> None:
    url = f"{ingest.url}/__sentry/api/0/projects/acme/1/events/{sent}/"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer"}).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Basic {API_TOKEN}"}).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Bearer {API_TOKEN}"}).status_code == 200
    other_project = url.replace("/acme/1/", "/acme/2/")
    answer = httpx.get(other_project, headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert answer.status_code == 404


def test_any_token_is_accepted_when_the_demo_sets_none() -> None:
    with SentryIngestFixture(api_token=None) as ingest:
        event_id = send_test_error(ingest.dsn()).event_id
        confirmation = _confirm(ingest, event_id, FakeTime(), token="anything-non-empty")
    assert confirmation.confirmed


def test_retry_after_is_honoured(ingest: SentryIngestFixture, sent: str) -> None:
    ingest.api_script = [429]
    ingest.api_retry_after = "7"
    fake = FakeTime()
    confirmation = _confirm(ingest, sent, fake)
    assert (confirmation.confirmed, confirmation.attempts) == (True, 2)
    assert fake.sleeps == [7.0]


def test_retry_after_beyond_the_timeout_stops(ingest: SentryIngestFixture, sent: str) -> None:
    ingest.api_script = [429]
    ingest.api_retry_after = "500"
    fake = FakeTime()
    confirmation = _confirm(ingest, sent, fake, timeout=120)
    assert (confirmation.confirmed, confirmation.attempts, confirmation.last_status) == (
        False,
        1,
        429,
    )
    assert "Retry-After 500 s" in confirmation.explanation
    assert fake.sleeps == []


def test_never_found_is_bounded_by_the_timeout(ingest: SentryIngestFixture) -> None:
    missing = uuid.uuid4().hex
    fake = FakeTime()
    confirmation = _confirm(ingest, missing, fake, timeout=30)
    assert confirmation.confirmed is False
    assert confirmation.last_status == 404
    assert sum(fake.sleeps) == pytest.approx(30)
    assert fake.sleeps[:5] == [2.0, 3.0, 4.5, 6.75, 10.125]
    assert confirmation.attempts == len(fake.sleeps) + 1 == ingest.api_polls
    assert "not found after" in confirmation.explanation
    assert "answers 404" in confirmation.explanation  # a wrong project slug looks the same


def test_connection_refused_stops() -> None:
    fake = FakeTime()
    confirmation = confirm_event(
        f"http://127.0.0.1:{free_port()}",
        API_TOKEN,
        "acme",
        "1",
        uuid.uuid4().hex,
        sleep=fake.sleep,
        clock=fake.clock,
    )
    assert confirmation.confirmed is False
    assert (confirmation.attempts, confirmation.last_status) == (1, None)
    assert "cannot reach the Sentry API" in confirmation.explanation
    assert "ConnectError" in confirmation.explanation
    assert API_TOKEN not in _shown(confirmation)


@pytest.mark.parametrize(
    ("token", "org", "project", "event_id", "phrase"),
    [
        ("", "acme", "1", "a" * 32, "no API token"),
        (API_TOKEN, " ", "1", "a" * 32, "no organization"),
        (API_TOKEN, "acme", "", "a" * 32, "no project"),
        (API_TOKEN, "acme", "1", "not-an-id", "not a Sentry event id"),
    ],
)
def test_bad_inputs_are_not_sent(
    ingest: SentryIngestFixture, token: str, org: str, project: str, event_id: str, phrase: str
) -> None:
    confirmation = confirm_event(ingest.url, token, org, project, event_id)
    assert (confirmation.confirmed, confirmation.attempts) == (False, 0)
    assert phrase in confirmation.explanation
    assert ingest.api_polls == 0
    assert API_TOKEN not in _shown(confirmation)


def test_dashed_event_ids_are_normalised(ingest: SentryIngestFixture, sent: str) -> None:
    dashed = str(uuid.UUID(sent)).upper()
    confirmation = _confirm(ingest, dashed, FakeTime())
    assert confirmation.confirmed


@pytest.mark.parametrize(
    ("dsn", "base"),
    [
        ("https://abcdef0123456789@o123.ingest.sentry.io/4509", "https://sentry.io"),
        ("https://abcdef0123456789@o123.ingest.us.sentry.io/4509", "https://us.sentry.io"),
        ("https://abcdef0123456789@o123.ingest.de.sentry.io/4509", "https://de.sentry.io"),
        ("https://abcdef0123456789@sentry.io/42", "https://sentry.io"),
        (
            "https://abcdef0123456789@sentry.example.com/sentry/7",
            "https://sentry.example.com/sentry",
        ),
        ("https://abcdef0123456789@sentry.example.com:9000/7", "https://sentry.example.com:9000"),
        ("http://abcdef0123456789@127.0.0.1:8787/__sentry/1", "http://127.0.0.1:8787/__sentry"),
        # Look-alikes are not sentry.io: their own host answers.
        (
            "https://abcdef0123456789@o1.ingest.sentry.io.evil.test/1",
            "https://o1.ingest.sentry.io.evil.test",
        ),
        ("https://abcdef0123456789@ingest-sentry.io.example/1", "https://ingest-sentry.io.example"),
    ],
)
def test_api_base_for(dsn: str, base: str) -> None:
    assert api_base_for(parse_dsn(dsn)) == base
