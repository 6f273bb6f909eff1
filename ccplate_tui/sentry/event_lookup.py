"""Confirm that a sent event really exists in Sentry by polling the web API for its id.

Ingestion is asynchronous and the ingest's 200 only says Relay queued the envelope; the event may
still be dropped by filters or quotas. Only the web API, asked with an auth token, proves it landed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import quote

import httpx

from ccplate_tui.sentry.dsn import Dsn, mask_dsns

# `o123.ingest.sentry.io` (US, legacy) and `o123.ingest.<region>.sentry.io` (us, de, …).
_SAAS_INGEST = re.compile(r"^(?:[^.]+\.)*ingest\.(?:(?P<region>[a-z0-9-]+)\.)?sentry\.io$")
_SAAS_API = re.compile(r"^https://(?:[a-z0-9-]+\.)?sentry\.io$")
_SAAS_WEB = "https://sentry.io"
_BODY_LIMIT = 300


@dataclass(frozen=True)
class EventConfirmation:
    confirmed: bool
    attempts: int
    last_status: int | None
    group_id: str | None
    issue_url: str | None
    date_received: str | None
    title: str | None
    explanation: str


def api_base_for(dsn: Dsn) -> str:
    """The web API base that holds the DSN's events (no trailing slash).

    sentry.io ingest hosts map to their region's API host; anything else (self-hosted, the demo
    target) serves the API on the DSN's own host under the same path prefix.
    """
    host = dsn.host.lower()
    match = _SAAS_INGEST.match(host)
    if match:
        region = match.group("region")
        return f"https://{region}.sentry.io" if region else _SAAS_WEB
    return f"{dsn.scheme}://{dsn.netloc}{dsn.path_prefix}"


def _web_base(api_base: str) -> str:
    # Region API hosts (us./de.sentry.io) serve data; the UI lives on sentry.io for every region.
    base = api_base.rstrip("/")
    return _SAAS_WEB if _SAAS_API.match(base) else base


def _scrub(text: str, token: str) -> str:
    if token:
        text = text.replace(token, "***")
    return mask_dsns(text)


def _detail(response: httpx.Response, token: str) -> str:
    """The API's `detail` message (or the start of the body), for an explanation."""
    text = response.text
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("detail"), str):
        text = data["detail"]
    text = " ".join(text.split())
    if len(text) > _BODY_LIMIT:
        text = text[:_BODY_LIMIT] + "…"
    return _scrub(text, token)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def normalise_event_id(event_id: str) -> str:
    """Event ids compare without dashes and case (Sentry prints both forms)."""
    return event_id.strip().replace("-", "").lower()


def _result(
    confirmed: bool,
    attempts: int,
    status: int | None,
    explanation: str,
    token: str,
    **found: str | None,
) -> EventConfirmation:
    return EventConfirmation(
        confirmed=confirmed,
        attempts=attempts,
        last_status=status,
        group_id=found.get("group_id"),
        issue_url=found.get("issue_url"),
        date_received=found.get("date_received"),
        title=found.get("title"),
        explanation=_scrub(explanation, token),
    )


def confirm_event(
    api_base: str,
    token: str,
    org: str,
    project: str,
    event_id: str,
    *,
    timeout: float = 120.0,
    first_delay: float = 2.0,
    factor: float = 1.5,
    max_delay: float = 15.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> EventConfirmation:
    """Poll `GET /api/0/projects/{org}/{project}/events/{event_id}/` until found or out of time.

    404 means "not ingested yet" (backoff `first_delay` × `factor` up to `max_delay`), 429 waits
    for Retry-After, 401/403 and connection failures stop at once. The token is never shown.
    """
    missing = [
        name
        for name, value in (("API token", token), ("organization", org), ("project", project))
        if not (value or "").strip()
    ]
    if missing:
        return _result(
            False,
            0,
            None,
            f"cannot look the event up: no {', no '.join(missing)} given "
            "(needs a token with project:read, the organization slug and the project slug)",
            token or "",
        )
    event = normalise_event_id(event_id)
    if not re.fullmatch(r"[0-9a-f]{32}", event):
        return _result(
            False, 0, None, f"{event_id!r} is not a Sentry event id (32 hex digits)", token
        )
    base = api_base.rstrip("/")
    url = (
        f"{base}/api/0/projects/{quote(org.strip(), safe='')}/"
        f"{quote(project.strip(), safe='')}/events/{event}/"
    )
    headers = {"Authorization": f"Bearer {token.strip()}", "Accept": "application/json"}
    deadline = clock() + max(0.0, timeout)
    delay = max(0.0, first_delay)
    attempts = 0
    status: int | None = None
    request_timeout = min(30.0, max(1.0, timeout))
    with httpx.Client(timeout=request_timeout, follow_redirects=False) as http:
        while True:
            attempts += 1
            try:
                response = http.get(url, headers=headers)
            except httpx.TimeoutException:
                return _result(
                    False,
                    attempts,
                    status,
                    f"the Sentry API at {base} did not answer within {request_timeout:g} s",
                    token,
                )
            except httpx.HTTPError as exc:
                return _result(
                    False,
                    attempts,
                    status,
                    f"cannot reach the Sentry API at {base}: {type(exc).__name__}: {exc}",
                    token,
                )
            status = response.status_code
            if status == 200:
                return _found(response, attempts, base, org.strip(), event, token)
            if status in (401, 403):
                what = (
                    "the API token was rejected (401: invalid, expired or revoked)"
                    if status == 401
                    else "the API token may not read this project (403)"
                )
                return _result(
                    False,
                    attempts,
                    status,
                    f"{what}: use an auth token with the project:read scope from an org member "
                    f"with access to {org}/{project}; Sentry said: {_detail(response, token)}",
                    token,
                )
            remaining = deadline - clock()
            if status == 429:
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                wait = delay if wait is None else wait
                if wait >= remaining:
                    return _result(
                        False,
                        attempts,
                        status,
                        f"the Sentry API rate-limited the lookup (429, Retry-After {wait:g} s) "
                        f"beyond the {timeout:g} s allowed: look the event up later",
                        token,
                    )
                sleep(wait)
                continue
            if status != 404 and status < 500:
                return _result(
                    False,
                    attempts,
                    status,
                    f"the Sentry API answered {status} for the event lookup: "
                    f"{_detail(response, token)}",
                    token,
                )
            if remaining <= 0:
                return _not_found(attempts, status, timeout, org, project, response, token)
            sleep(min(delay, remaining))
            delay = min(max_delay, delay * factor) if delay > 0 else min(max_delay, 1.0)


def _not_found(
    attempts: int,
    status: int,
    timeout: float,
    org: str,
    project: str,
    response: httpx.Response,
    token: str,
) -> EventConfirmation:
    if status == 404:
        text = (
            f"the event was not found after {attempts} lookups in {timeout:g} s: ingestion may "
            f"lag, the event may have been dropped (inbound filters, quota, rate limits), or "
            f"{org}/{project} is not the project the DSN belongs to (an unknown project also "
            "answers 404)"
        )
    else:
        text = (
            f"the Sentry API kept failing ({status}) for {timeout:g} s: {_detail(response, token)}"
        )
    return _result(False, attempts, status, text, token)


def _found(
    response: httpx.Response, attempts: int, base: str, org: str, event: str, token: str
) -> EventConfirmation:
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return _result(
            False,
            attempts,
            200,
            f"the Sentry API answered 200 but not with an event (not JSON): is {base} the "
            "Sentry web API?",
            token,
        )
    got = str(data.get("eventID") or data.get("id") or "")
    if got and normalise_event_id(got) != event:
        return _result(
            False,
            attempts,
            200,
            f"the Sentry API returned another event ({got}) for {event}",
            token,
        )
    group = data.get("groupID")
    group_id = str(group) if group not in (None, "") else None
    issue_url = (
        f"{_web_base(base)}/organizations/{quote(org, safe='')}/issues/{group_id}/"
        if group_id
        else None
    )
    title = data.get("title") if isinstance(data.get("title"), str) else None
    received = data.get("dateReceived") or data.get("dateCreated")
    text = f"Sentry has the event ({attempts} lookup{'s' if attempts != 1 else ''})"
    if issue_url:
        text += f": issue {issue_url}"
    return _result(
        True,
        attempts,
        200,
        text,
        token,
        group_id=group_id,
        issue_url=issue_url,
        date_received=str(received) if received else None,
        title=_scrub(title, token) if title else None,
    )


def confirmation_to_json(confirmation: EventConfirmation) -> dict[str, object]:
    """A JSON-ready dict of a confirmation (the token was never part of it)."""
    return {
        "confirmed": confirmation.confirmed,
        "attempts": confirmation.attempts,
        "last_status": confirmation.last_status,
        "group_id": confirmation.group_id,
        "issue_url": confirmation.issue_url,
        "date_received": confirmation.date_received,
        "title": confirmation.title,
        "explanation": confirmation.explanation,
    }
