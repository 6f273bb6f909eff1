"""Kind `http`: one request (e.g. the health check) judged by status and an optional body match.

Redirects are not followed: a health check that answers 301 is not healthy, and the status the
step expects is the one the URL itself gives.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
from typing import Any

import httpx

from ccplate_tui.checklist.model import HttpProbe, Step
from ccplate_tui.checklist.outcome import StepOutcome
from ccplate_tui.checklist.runners import Progress, RunContext
from ccplate_tui.checklist.runners.common import (
    Cancelled,
    call_cancellable,
    clean_evidence,
    seconds,
    secrets_of,
)
from ccplate_tui.masking import mask_secrets

EXCERPT_CHARS = 500
BODY_LIMIT = 1024 * 1024
"""Bytes of the body read for matching; a health answer is small, a runaway one is cut."""
_SECRET_HEADERS = re.compile(r"authorization|cookie|token|secret|key|auth|password", re.I)


def run_http(
    step: Step,
    ctx: RunContext,
    cancel: threading.Event,
    progress: Progress | None = None,
) -> StepOutcome:
    """Probe the step's URL; passes when status and body are as expected."""
    if step.probe is None:
        return StepOutcome("failed", "the step has no probe", {"reason": "no probe"})
    if progress is not None:
        progress(mask_secrets(f"{step.probe.method} {step.probe.url}"))
    return probe_http(step.probe, cancel)


def expectation(probe: HttpProbe) -> str:
    """What the probe expects, in words: `status 200; body contains 'ok'`."""
    parts = [f"status {' or '.join(str(s) for s in probe.expect_status)}"]
    if probe.body_contains is not None:
        parts.append(f"body contains {probe.body_contains!r}")
    if probe.body_matches is not None:
        parts.append(f"body matches /{probe.body_matches}/")
    return "; ".join(parts)


def probe_http(probe: HttpProbe, cancel: threading.Event) -> StepOutcome:
    """Send the probe's request and judge the answer; never raises for a network failure."""
    secret_values = [v for name, v in probe.headers if _SECRET_HEADERS.search(name)]
    # `Bearer abc`: the credential alone may show up too (an echoing server, an error page).
    extra = (
        *secrets_of(probe.headers),
        *secret_values,
        *(v.split()[-1] for v in secret_values if len(v.split()) > 1),
    )
    evidence: dict[str, Any] = {
        "method": probe.method,
        "url": mask_secrets(probe.url, extra),
        "expected": mask_secrets(expectation(probe), extra),
    }
    started = time.monotonic()
    try:
        status, body, request_s = call_cancellable(
            lambda: asyncio.run(_send(probe, cancel)), cancel, name="http-probe"
        )
    except Cancelled:
        return StepOutcome("cancelled", "cancelled", clean_evidence(evidence))
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        elapsed = time.monotonic() - started
        reason = mask_secrets(_describe_error(exc, probe), extra)
        evidence.update(
            elapsed_ms=round(elapsed * 1000, 1), reason=reason, error=type(exc).__name__
        )
        return StepOutcome("failed", reason, clean_evidence(evidence))
    # The request alone: the probe's thread, event loop and client set-up are not the server's.
    elapsed_ms = round(request_s * 1000, 1)
    evidence.update(
        status=status,
        elapsed_ms=elapsed_ms,
        body_excerpt=mask_secrets(body[:EXCERPT_CHARS], extra),
    )
    why = _mismatch(probe, status, body)
    took = f"in {elapsed_ms:.0f} ms" if elapsed_ms < 10_000 else f"in {seconds(elapsed_ms / 1000)}"
    if why is not None:
        evidence["reason"] = mask_secrets(why, extra)
        return StepOutcome(
            "failed", mask_secrets(f"HTTP {status} {took}: {why}", extra), clean_evidence(evidence)
        )
    matched = ""
    if probe.body_contains is not None:
        matched = f", body has {probe.body_contains!r}"
    elif probe.body_matches is not None:
        matched = f", body matches /{probe.body_matches}/"
    summary = mask_secrets(f"HTTP {status} {took}{matched}", extra)
    return StepOutcome("passed", summary, clean_evidence(evidence))


async def _send(probe: HttpProbe, cancel: threading.Event) -> tuple[int, str, float]:
    """The request on an event loop of its own (in the caller's helper thread), so a cancel
    aborts the connection at once instead of waiting for the probe's timeout."""
    async with httpx.AsyncClient(timeout=probe.timeout, follow_redirects=False) as client:
        task = asyncio.ensure_future(_fetch(client, probe))
        while not task.done():
            if cancel.is_set():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                raise Cancelled
            await asyncio.wait({task}, timeout=0.05)
        return task.result()


async def _fetch(client: httpx.AsyncClient, probe: HttpProbe) -> tuple[int, str, float]:
    """Status, body text and the seconds from sending the request to the body's last byte."""
    started = time.perf_counter()
    async with client.stream(probe.method, probe.url, headers=list(probe.headers)) as response:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= BODY_LIMIT:
                break
        raw = b"".join(chunks)[:BODY_LIMIT]
        took = time.perf_counter() - started
        encoding = response.encoding or "utf-8"
        try:
            text = raw.decode(encoding, "replace")
        except LookupError:
            text = raw.decode("utf-8", "replace")
        return response.status_code, text, took


def _mismatch(probe: HttpProbe, status: int, body: str) -> str | None:
    """Why the answer does not pass, or None when it does."""
    if status not in probe.expect_status:
        return f"expected status {' or '.join(str(s) for s in probe.expect_status)}"
    if probe.body_contains is not None and probe.body_contains not in body:
        return f"the body does not contain {probe.body_contains!r}"
    if probe.body_matches is not None:
        try:
            found = re.search(probe.body_matches, body)
        except re.error as exc:
            return f"the pattern /{probe.body_matches}/ is invalid: {exc}"
        if found is None:
            return f"the body does not match /{probe.body_matches}/"
    return None


def _describe_error(exc: Exception, probe: HttpProbe) -> str:
    url = probe.url
    if isinstance(exc, httpx.TimeoutException):
        what = {
            httpx.ConnectTimeout: "connecting",
            httpx.ReadTimeout: "waiting for the answer",
            httpx.WriteTimeout: "sending the request",
            httpx.PoolTimeout: "waiting for a connection",
        }.get(type(exc), "waiting")
        return f"timed out after {seconds(probe.timeout)} {what}: {url}"
    if isinstance(exc, httpx.ConnectError):
        cause = _root_cause(exc)
        if isinstance(cause, ConnectionRefusedError) or "refused" in str(exc).lower():
            return f"connection refused: {url}"
        return f"could not connect to {url}: {cause or exc}"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return f"bad URL {url}: {exc}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the server broke the HTTP exchange: {exc}"
    return f"request failed ({type(exc).__name__}): {exc}"


def _root_cause(exc: BaseException) -> BaseException | None:
    seen = exc.__cause__ or exc.__context__
    while seen is not None and (seen.__cause__ or seen.__context__) is not None:
        seen = seen.__cause__ or seen.__context__
    return seen
