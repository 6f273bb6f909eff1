"""`sentry capture-drill`: cause N known errors on the app's throwing route, then check that N
error events reached Sentry in that window.

A load run only measures capture when it happens to see server errors; the drill measures it on
purpose, with a count known in advance. The route is the user's (`[sentry] drill_path`, like the
`/api/sentry-example-api` route @sentry/wizard creates); nothing else is called.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ccplate_tui.masking import mask_secrets
from ccplate_tui.sentry.capture_count import CaptureCount, count_capture
from ccplate_tui.sentry.last_results import load_result, save_result
from ccplate_tui.sentry.settings import SentrySettings

DRILL_FILE = "capture_drill.json"
MAX_DRILL_ERRORS = 10_000
"""Enough for any ratio worth stating; more is a load test, not a drill."""


@dataclass(frozen=True)
class DrillCalls:
    """What the drill's requests got: server errors caused, and everything else."""

    url: str
    sent: int
    errors: int
    """Answers with a 5xx status: the errors that should become events."""
    statuses: dict[int, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    """Requests with no answer, by reason."""
    started: float = 0.0
    ended: float = 0.0


def call_route(
    url: str,
    count: int,
    *,
    timeout: float = 10.0,
    on_call: Callable[[int], None] | None = None,
    client: httpx.Client | None = None,
) -> DrillCalls:
    """GET `url` `count` times, one after the other (a drill, not a load), tallying answers."""
    statuses: Counter[int] = Counter()
    failures: Counter[str] = Counter()
    own = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)
    started = time.time()
    try:
        for done in range(count):
            try:
                response = http.get(url, headers={"Cache-Control": "no-store"})
                statuses[response.status_code] += 1
            except httpx.HTTPError as exc:
                failures[type(exc).__name__] += 1
            if on_call is not None:
                on_call(done + 1)
    finally:
        if own:
            http.close()
    errors = sum(n for status, n in statuses.items() if 500 <= status <= 599)
    return DrillCalls(
        mask_secrets(url),
        count,
        errors,
        dict(sorted(statuses.items())),
        dict(failures.most_common()),
        started,
        time.time(),
    )


def describe_calls(calls: DrillCalls) -> str:
    """`GET http://…/api/sentry-example-api × 20: 20 × HTTP 500`."""
    answers = [f"{n} × HTTP {status}" for status, n in calls.statuses.items()]
    answers += [f"{n} × no answer ({why})" for why, n in calls.failures.items()]
    return f"GET {calls.url} × {calls.sent}: " + (", ".join(answers) or "nothing sent")


def run_drill(
    settings: SentrySettings,
    url: str,
    count: int,
    state_dir: Path,
    *,
    timeout: float = 10.0,
    on_call: Callable[[int], None] | None = None,
    on_wait: Callable[[int], None] | None = None,
) -> tuple[DrillCalls, CaptureCount]:
    """Cause the errors, count their events, and keep the count as the latest drill."""
    calls = call_route(url, count, timeout=timeout, on_call=on_call)
    result = count_capture(
        settings,
        "capture drill",
        calls.errors,
        calls.started,
        calls.ended,
        detail=describe_calls(calls),
        on_wait=on_wait,
    )
    save_result(state_dir, DRILL_FILE, result.to_json())
    return calls, result


def last_drill(state_dir: Path) -> CaptureCount | None:
    """The latest drill's count, None when no drill ran (or its file is damaged)."""
    document = load_result(state_dir, DRILL_FILE)
    return CaptureCount.from_json(document) if document is not None else None


def drill_passed(result: CaptureCount) -> bool:
    """Every error caused arrived as an event (and at least one error was caused)."""
    return result.events is not None and result.errors > 0 and result.events >= result.errors
