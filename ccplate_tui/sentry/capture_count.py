"""Count the error events Sentry received in a time window, against the server errors that should
have become events: the plan's "Error tracking: 100% of errors captured".

Asked through Sentry's Discover table API (`GET /api/0/organizations/{org}/events/?field=count()`),
which sentry.io, self-hosted Sentry and the demo target's ingest all serve. Ingestion is
asynchronous, so the count is polled until it reaches the errors seen or stops moving. The token
is never shown.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

import httpx

from ccplate_tui.load.probe_tally import truncated_percent
from ccplate_tui.sentry.dsn import DsnError, mask_dsns, parse_dsn
from ccplate_tui.sentry.event_lookup import api_base_for
from ccplate_tui.sentry.settings import SentrySettings

EVENTS_QUERY = "event.type:error"
"""Errors only: transactions and other event types are not the errors the run caused."""
WINDOW_AFTER = 2.0
"""Seconds the window stays open after the last error: an event is stamped when the app
captures it, which may be a little after the answer we saw. The window opens exactly at the
start, so a previous drill's or run's last events are never counted as this one's."""
SETTLE = 3.0
"""Seconds the count must stay unchanged, short of the errors seen, before it is taken as final."""
WAIT_LIMIT = 30.0
"""Seconds to wait at most for the events to arrive."""

CaptureKind = Literal["load run", "capture drill"]


class CountError(Exception):
    """Sentry could not be asked, or answered something else than a count; says which."""


@dataclass(frozen=True)
class CountTarget:
    """Where and how to ask for the count: the API base, the organization and the project id."""

    api_base: str
    token: str
    org: str
    project_id: str

    def describe(self) -> str:
        """`the Sentry API at http://…/__sentry (organization ccplate, project 1)`; no token."""
        return (
            f"the Sentry API at {mask_dsns(self.api_base)} "
            f"(organization {self.org}, project {self.project_id})"
        )


@dataclass(frozen=True)
class CaptureCount:
    """Server errors seen against events Sentry counted for the same window."""

    kind: CaptureKind
    errors: int
    """Server errors (HTTP 5xx) the tool saw: the events there should be."""
    events: int | None
    """Error events Sentry counted in the window; None when it could not be asked."""
    window_start: float
    """Unix time the window opens: the run's or drill's start."""
    window_end: float
    counted_at: float
    api: str = ""
    """Who was asked (CountTarget.describe), empty when nobody could be."""
    problem: str | None = None
    """Why `events` is None (no token, no answer, …)."""
    run_id: str | None = None
    time_scale: float = 1.0
    detail: str = ""
    """What caused the errors, e.g. `GET http://…/api/sentry-example-api × 20`."""

    @property
    def ratio(self) -> float | None:
        """Events per error, at most 1 (more events than errors: others erred in the window)."""
        if self.events is None or self.errors <= 0:
            return None
        return min(1.0, self.events / self.errors)

    @property
    def lost(self) -> int:
        return max(0, self.errors - (self.events or 0)) if self.events is not None else 0

    def text(self) -> str:
        """`80 of 100 errors reached Sentry (80.00%, 20 lost)`, or why it was not counted."""
        if self.events is None:
            return f"{self.errors:,d} server errors, events not counted: {self.problem}"
        if self.errors <= 0:
            return f"no server errors to count ({self.events:,d} events in the window)"
        arrived = min(self.events, self.errors)
        text = (
            f"{arrived:,d} of {self.errors:,d} errors reached Sentry "
            f"({truncated_percent(arrived, self.errors)}"
        )
        if self.lost:
            text += f", {self.lost:,d} lost"
        if self.events > self.errors:
            text += f"; {self.events - self.errors:,d} more events than errors in the window"
        return text + ")"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CaptureCount | None:
        """The count stored by `to_json`; None for anything else (a damaged or older record)."""
        try:
            events = data.get("events")
            return cls(
                kind=data["kind"] if data.get("kind") == "capture drill" else "load run",
                errors=int(data["errors"]),
                events=int(events) if events is not None else None,
                window_start=float(data["window_start"]),
                window_end=float(data["window_end"]),
                counted_at=float(data.get("counted_at") or data["window_end"]),
                api=str(data.get("api") or ""),
                problem=str(data["problem"]) if data.get("problem") else None,
                run_id=str(data["run_id"]) if data.get("run_id") else None,
                time_scale=float(data.get("time_scale") or 1.0),
                detail=str(data.get("detail") or ""),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


def count_target(settings: SentrySettings) -> CountTarget | str:
    """Where to ask, from the resolved Sentry settings; or, as a string, what is missing."""
    missing = [
        what
        for what, setting in (
            ("DSN (SENTRY_DSN, [sentry] dsn or the app's .env.local)", settings.dsn),
            ("API token (SENTRY_AUTH_TOKEN or --api-token)", settings.token),
            ("organization (SENTRY_ORG, [sentry] org or the app's .env.local)", settings.org),
        )
        if setting is None
    ]
    if missing:
        return "no " + ", no ".join(missing)
    assert settings.dsn is not None and settings.token is not None and settings.org is not None
    try:
        dsn = parse_dsn(settings.dsn.value)
    except DsnError as exc:
        return f"the DSN from {settings.dsn.origin} is not usable: {exc}"
    base = settings.api_url.value if settings.api_url is not None else api_base_for(dsn)
    return CountTarget(base.rstrip("/"), settings.token.value, settings.org.value, dsn.project_id)


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def count_events(
    target: CountTarget,
    start: float,
    end: float,
    *,
    query: str = EVENTS_QUERY,
    timeout: float = 10.0,
    client: httpx.Client | None = None,
) -> int:
    """The number of events of the project in [start, end) (Unix times); raises CountError."""
    url = f"{target.api_base}/api/0/organizations/{quote(target.org, safe='')}/events/"
    params = {
        "field": "count()",
        "project": target.project_id,
        "start": _iso(start),
        "end": _iso(end),
        "query": query,
    }
    headers = {"Authorization": f"Bearer {target.token}", "Accept": "application/json"}
    own = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)
    try:
        response = http.get(url, params=params, headers=headers)
    except httpx.HTTPError as exc:
        raise CountError(_scrub(f"cannot reach {target.describe()}: {exc}", target)) from None
    finally:
        if own:
            http.close()
    if response.status_code in (401, 403):
        raise CountError(
            f"{target.describe()} refused the token ({response.status_code}): it needs the "
            "org:read scope"
        )
    if response.status_code != 200:
        body = _scrub(response.text[:200].strip(), target)
        raise CountError(f"{target.describe()} answered {response.status_code}: {body}")
    try:
        value = response.json()["data"][0]["count()"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise CountError(f"{target.describe()} did not answer with a count()") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise CountError(f"{target.describe()} answered count() = {value!r}")
    return int(value)


def _scrub(text: str, target: CountTarget) -> str:
    return mask_dsns(text.replace(target.token, "***") if target.token else text)


def await_count(
    target: CountTarget,
    expected: int,
    start: float,
    end: float,
    *,
    settle: float = SETTLE,
    limit: float = WAIT_LIMIT,
    on_wait: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Poll the count until it reaches `expected`, or has not moved for `settle` seconds, or
    `limit` passes; the last count. Raises CountError when Sentry cannot be asked."""
    deadline = clock() + limit
    with httpx.Client(timeout=10.0, follow_redirects=False, trust_env=False) as http:
        count = count_events(target, start, end, client=http)
        changed = clock()
        while count < expected and clock() < deadline and clock() - changed < settle:
            if on_wait is not None:
                on_wait(count)
            sleep(0.5)
            latest = count_events(target, start, end, client=http)
            if latest != count:
                count, changed = latest, clock()
    return count


def count_capture(
    settings: SentrySettings,
    kind: CaptureKind,
    errors: int,
    started: float,
    ended: float,
    *,
    run_id: str | None = None,
    time_scale: float = 1.0,
    detail: str = "",
    on_wait: Callable[[int], None] | None = None,
    limit: float = WAIT_LIMIT,
) -> CaptureCount:
    """Count the events for `errors` server errors seen between `started` and `ended`."""
    window = (started, ended + WINDOW_AFTER)
    base = {
        "kind": kind,
        "errors": errors,
        "window_start": window[0],
        "window_end": window[1],
        "run_id": run_id,
        "time_scale": time_scale,
        "detail": detail,
    }
    target = count_target(settings)
    if isinstance(target, str):
        return CaptureCount(events=None, counted_at=time.time(), problem=target, **base)
    try:
        events = await_count(target, errors, *window, on_wait=on_wait, limit=limit)
    except CountError as exc:
        return CaptureCount(
            events=None, counted_at=time.time(), api=target.describe(), problem=str(exc), **base
        )
    return CaptureCount(events=events, counted_at=time.time(), api=target.describe(), **base)
