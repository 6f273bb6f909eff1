"""Send one identifiable test error through the real sentry-sdk and read the ingest's answer.

The SDK's own transport sends in a background thread and swallows the answer (its returned event
id proves nothing), so the event goes through a transport of ours that POSTs the envelope the SDK
built, exactly as the SDK would, and keeps the HTTP status, body and rate-limit headers.
"""

from __future__ import annotations

import gzip
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
import sentry_sdk
from sentry_sdk.consts import VERSION as SDK_VERSION
from sentry_sdk.envelope import Envelope as SdkEnvelope
from sentry_sdk.scope import Scope
from sentry_sdk.transport import Transport
from sentry_sdk.utils import event_from_exception, exc_info_from_error

from ccplate_tui import __version__
from ccplate_tui.sentry.dsn import Dsn, mask_dsns, mask_key, parse_dsn
from ccplate_tui.sentry.event_lookup import (
    EventConfirmation,
    confirmation_to_json,
    normalise_event_id,
    retry_after_seconds,
)

Compression = Literal["gzip", "br", "none"]
SDK_NAME = f"sentry.python/{SDK_VERSION}"
CHECK_TAG = "ccplate_check"
_BODY_LIMIT = 2000
_DETAIL_LIMIT = 240


class CcplateSentryCheck(Exception):
    """The test error: its type names the tool, so nobody mistakes it for a real failure."""


@dataclass(frozen=True)
class IngestAnswer:
    status: int | None
    body: str
    retry_after: float | None
    rate_limits: str | None
    error: str | None


@dataclass(frozen=True)
class CaptureResult:
    dsn: str
    envelope_url: str
    event_id: str
    delivered: bool
    answer: IngestAnswer
    explanation: str
    sent_at: str
    sdk: str
    confirmation: EventConfirmation | None = None


@dataclass
class _Exchange:
    """What our transport saw for the first envelope (the SDK calls it synchronously)."""

    status: int | None = None
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    error: Exception | None = None
    sent: bool = False


class _AnswerKeepingTransport(Transport):
    """A sentry-sdk transport that sends synchronously with httpx and keeps the answer."""

    def __init__(
        self, url: str, headers: dict[str, str], timeout: float, compression: Compression
    ) -> None:
        super().__init__(None)
        self.url = url
        self.headers = headers
        self.timeout = timeout
        self.compression = compression
        self.exchange = _Exchange()

    def capture_envelope(self, envelope: SdkEnvelope) -> None:
        if self.exchange.sent:  # only the test event's envelope matters; nothing else is sent
            return
        self.exchange.sent = True
        headers = {"Content-Type": "application/x-sentry-envelope", **self.headers}
        body = envelope.serialize()
        if self.compression == "gzip":
            body = gzip.compress(body, compresslevel=9)  # the SDK's default level
            headers["Content-Encoding"] = "gzip"
        elif self.compression == "br":
            import brotli

            body = brotli.compress(body, quality=4)  # the SDK's default quality
            headers["Content-Encoding"] = "br"
        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as http:
                response = http.post(self.url, content=body, headers=headers)
                self.exchange.status = response.status_code
                self.exchange.body = response.text[:_BODY_LIMIT]
                self.exchange.headers = {k.lower(): v for k, v in response.headers.items()}
        except Exception as exc:  # a send failure is the answer we report, never a crash
            self.exchange.error = exc


def _sdk_dsn(dsn: Dsn) -> str:
    secret = f":{dsn.secret_key}" if dsn.secret_key else ""
    return f"{dsn.scheme}://{dsn.public_key}{secret}@{dsn.netloc}{dsn.path_prefix}/{dsn.project_id}"


def _auth_header(dsn: Dsn) -> str:
    # Same fields and order as sentry_sdk.utils.Auth.to_header().
    parts = [f"sentry_key={dsn.public_key}", "sentry_version=7", f"sentry_client={SDK_NAME}"]
    if dsn.secret_key:
        parts.append(f"sentry_secret={dsn.secret_key}")
    return "Sentry " + ", ".join(parts)


def _scrubber(dsn: Dsn) -> Callable[[str], str]:
    def scrub(text: str) -> str:
        for key in (dsn.public_key, dsn.secret_key):
            if key:
                text = text.replace(key, mask_key(key))
        return mask_dsns(text)

    return scrub


def _rate_limit_seconds(header: str | None) -> float | None:
    """The longest wait named by X-Sentry-Rate-Limits (`secs:categories:scope[:reason]`, …)."""
    waits = []
    for quota in (header or "").split(","):
        head = quota.strip().split(":", 1)[0]
        try:
            waits.append(float(head))
        except ValueError:
            continue
    return max(waits) if waits else None


def describe_rate_limits(header: str) -> str:
    """`error, transaction for 60 s (organization, quota exceeded)`; `all` for no categories."""
    described = []
    for quota in header.split(","):
        fields = quota.strip().split(":")
        if not fields or not fields[0]:
            continue
        seconds, categories = fields[0], fields[1] if len(fields) > 1 else ""
        scope = fields[2] if len(fields) > 2 and fields[2] else ""
        reason = fields[3].replace("_", " ") if len(fields) > 3 and fields[3] else ""
        names = ", ".join(c for c in categories.split(";") if c) or "all categories"
        extra = ", ".join(x for x in (scope, reason) if x)
        described.append(f"{names} for {seconds} s" + (f" ({extra})" if extra else ""))
    return "; ".join(described) or header


def _detail(body: str) -> str:
    """Relay's `detail` (plus `causes`) when the body is its JSON, else the body's start."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("detail"), str):
        causes = data.get("causes")
        text = data["detail"]
        if isinstance(causes, list) and causes:
            text += " (" + "; ".join(str(c) for c in causes) + ")"
    else:
        text = re.sub(r"<[^>]+>", " ", body)  # an HTML error page: keep its words
    text = " ".join(text.split())
    return text[:_DETAIL_LIMIT] + ("…" if len(text) > _DETAIL_LIMIT else "") or "(empty body)"


def _connection_problem(exc: Exception, url: str, timeout: float) -> str:
    text = str(exc).lower()
    where = httpx.URL(url)
    host = where.netloc.decode("ascii", "replace")
    if isinstance(exc, httpx.TimeoutException):
        return (
            f"the ingest at {host} did not answer within {timeout:g} s "
            f"({type(exc).__name__}): a firewall dropping packets, a proxy, or an overloaded "
            "self-hosted Relay; check the DSN host and try again"
        )
    if any(
        s in text
        for s in (
            "name or service not known",
            "nodename nor servname",
            "getaddrinfo",
            "name resolution",
            "no address associated",
        )
    ):
        return (
            f"the DSN host {where.host} does not resolve (DNS): copy the DSN again from "
            "Sentry (Project Settings → Client Keys)"
        )
    if any(s in text for s in ("ssl", "certificate", "tls")):
        return (
            f"the TLS handshake with {host} failed: the server's certificate is not trusted "
            "here (self-signed, expired, or a TLS-intercepting proxy)"
        )
    if "refused" in text:
        return (
            f"cannot reach the ingest at {host}: connection refused — nothing listens there "
            "(wrong port in the DSN, or the self-hosted Sentry/demo target is not running)"
        )
    return f"cannot reach the ingest at {host}: {type(exc).__name__}: {exc}"


def _explain(
    status: int, body: str, event_id: str, answer: IngestAnswer, url: str
) -> tuple[bool, str]:
    """Whether the event was delivered, and one line on what happened and what to do."""
    if status == 200:
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        got = data.get("id") if isinstance(data, dict) else None
        if isinstance(got, str) and normalise_event_id(got) == event_id:
            return True, (
                f"delivered: the ingest accepted event {event_id} (200); look for the issue "
                f"with tag {CHECK_TAG}:{event_id} in Sentry, or confirm it through the API"
            )
        if got:
            return False, (
                f"the ingest answered 200 but with event id {got}, not the {event_id} that was "
                "sent: whatever answers at this URL is not the Sentry ingest the DSN should "
                "name (a proxy or a mock?)"
            )
        return False, (
            "the ingest answered 200 without the event id: Relay always returns the id of an "
            "accepted event, so this is probably not a Sentry ingest (a tunnel route, a proxy, "
            f"or a web page at {url}); check the DSN host and path"
        )
    detail = _detail(body)
    if status in (401, 403):
        return False, (
            f"the ingest rejected the DSN key ({status}): the key is wrong or disabled, the "
            "project was deleted, or the region is wrong (EU organisations must send to their "
            f"region ingest host, o<id>.ingest.de.sentry.io); Sentry said: {detail}"
        )
    if status == 404:
        return False, (
            f"no envelope endpoint at {url} (404): the Sentry server is older than 20.6 "
            "(no Relay, no envelopes) or the DSN's path prefix is wrong; copy the DSN again "
            "from Project Settings → Client Keys"
        )
    if status == 413:
        return False, (
            "the ingest refused the envelope as too large (413), though a test error is a few "
            "kB: a proxy in front of Sentry has a tiny body limit; raise it"
        )
    if status == 429:
        wait = (
            f"retry after {answer.retry_after:g} s"
            if answer.retry_after is not None
            else "no Retry-After given"
        )
        limits = (
            f"; limited: {describe_rate_limits(answer.rate_limits)}" if answer.rate_limits else ""
        )
        return False, (
            f"rate-limited by the ingest (429): {wait}{limits}; the SDK drops events for that "
            "long, so check the project's quota and spike protection, then re-run the check"
        )
    if 300 <= status < 400:
        return False, (
            f"the ingest redirected ({status}) instead of accepting the envelope; SDKs do not "
            f"follow redirects: use the final URL in the DSN (https?); body: {detail}"
        )
    if status >= 500:
        return False, (
            f"the ingest failed ({status}): a server-side problem (Sentry outage, or a broken "
            f"self-hosted Relay/proxy); retry later; body: {detail}"
        )
    return False, f"the ingest rejected the envelope ({status}): {detail}"


def send_test_error(
    dsn: str | Dsn,
    *,
    environment: str = "ccplate-tui-check",
    release: str | None = None,
    timeout: float = 10.0,
    compression: Compression = "gzip",
) -> CaptureResult:
    """Capture one `CcplateSentryCheck` error with sentry-sdk and POST its envelope to the DSN.

    The event carries the tag `ccplate_check=<event id>` so it can be found in Sentry. No global
    SDK state is touched: no `sentry_sdk.init()`, no integrations, a scope of its own.
    """
    if compression not in ("gzip", "br", "none"):
        raise ValueError(f"compression must be gzip, br or none, not {compression!r}")
    parsed = dsn if isinstance(dsn, Dsn) else parse_dsn(dsn)
    scrub = _scrubber(parsed)
    url = parsed.envelope_url
    sent_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    event_id = uuid.uuid4().hex
    transport = _AnswerKeepingTransport(
        url,
        {
            "User-Agent": SDK_NAME,
            "X-Sentry-Auth": _auth_header(parsed),
            "Accept-Encoding": "identity",  # as the SDK's urllib3 pool sends it
        },
        timeout,
        compression,
    )
    client = sentry_sdk.Client(
        dsn=_sdk_dsn(parsed),
        transport=transport,
        environment=environment,
        release=release or f"ccplate-tui@{__version__}",
        default_integrations=False,
        auto_enabling_integrations=False,
        integrations=[],
        include_local_variables=False,  # locals of this module hold the DSN
        send_client_reports=False,
        enable_backpressure_handling=False,
        max_breadcrumbs=0,
    )
    try:
        try:
            raise CcplateSentryCheck(f"ccplate-tui capture check {sent_at}")
        except CcplateSentryCheck as exc:
            error = exc
        event, hint = event_from_exception(
            exc_info_from_error(error), client_options=client.options
        )
        event["event_id"] = event_id
        event["fingerprint"] = ["ccplate-tui-capture-check"]  # one issue for every check
        scope = Scope()  # not the global/isolation scopes: nothing of the host app leaks in
        scope.set_tag(CHECK_TAG, event_id)
        scope.set_level("error")
        client.capture_event(event, hint=hint, scope=scope)
    finally:
        client.close(timeout=0)

    exchange = transport.exchange
    headers = exchange.headers
    if not exchange.sent:
        answer = IngestAnswer(None, "", None, None, "sentry-sdk did not hand over an envelope")
        explanation = "the SDK dropped the test event before sending it (nothing was sent)"
        return CaptureResult(
            parsed.masked(), url, event_id, False, answer, explanation, sent_at, SDK_NAME
        )
    if exchange.error is not None:
        error_text = scrub(f"{type(exchange.error).__name__}: {exchange.error}")
        answer = IngestAnswer(None, "", None, None, error_text)
        explanation = scrub(_connection_problem(exchange.error, url, timeout))
        return CaptureResult(
            parsed.masked(), url, event_id, False, answer, explanation, sent_at, SDK_NAME
        )
    rate_limits = headers.get("x-sentry-rate-limits")
    retry_after = retry_after_seconds(headers.get("retry-after"))
    if retry_after is None and exchange.status == 429:
        retry_after = _rate_limit_seconds(rate_limits)
    answer = IngestAnswer(
        status=exchange.status,
        body=scrub(exchange.body),
        retry_after=retry_after,
        rate_limits=scrub(rate_limits) if rate_limits else None,
        error=None,
    )
    assert exchange.status is not None
    delivered, explanation = _explain(exchange.status, answer.body, event_id, answer, url)
    return CaptureResult(
        dsn=parsed.masked(),
        envelope_url=url,
        event_id=event_id,
        delivered=delivered,
        answer=answer,
        explanation=scrub(explanation),
        sent_at=sent_at,
        sdk=SDK_NAME,
    )


def capture_to_json(result: CaptureResult) -> dict[str, Any]:
    """A JSON-ready document of the check (DSN masked, no key anywhere)."""
    return {
        "dsn": result.dsn,
        "envelope_url": result.envelope_url,
        "event_id": result.event_id,
        "tag": f"{CHECK_TAG}:{result.event_id}",
        "delivered": result.delivered,
        "status": result.answer.status,
        "answer": {
            "status": result.answer.status,
            "body": result.answer.body,
            "retry_after": result.answer.retry_after,
            "rate_limits": result.answer.rate_limits,
            "error": result.answer.error,
        },
        "explanation": result.explanation,
        "sent_at": result.sent_at,
        "sdk": result.sdk,
        "confirmation": (
            confirmation_to_json(result.confirmation) if result.confirmation is not None else None
        ),
    }


def render_capture(result: CaptureResult) -> str:
    """A readable plain-text report of the check (no colour codes, DSN masked)."""
    answer = result.answer
    if answer.status is None:
        got = f"no HTTP answer ({answer.error})" if answer.error else "no HTTP answer"
    else:
        body = " ".join(answer.body.split())
        got = f"{answer.status} {body[:160]}{'…' if len(body) > 160 else ''}".rstrip()
    lines = [
        f"Sentry capture check: {'DELIVERED' if result.delivered else 'NOT DELIVERED'}",
        f"  DSN         {result.dsn}",
        f"  Envelope    POST {result.envelope_url}",
        f"  Event id    {result.event_id}  (tag {CHECK_TAG}:{result.event_id})",
        f"  Sent at     {result.sent_at} with {result.sdk}",
        f"  Answer      {got}",
    ]
    if answer.retry_after is not None:
        lines.append(f"  Retry-After {answer.retry_after:g} s")
    if answer.rate_limits:
        lines.append(f"  Rate limits {answer.rate_limits}")
    lines.append(f"  → {result.explanation}")
    confirmation = result.confirmation
    if confirmation is not None:
        state = "yes" if confirmation.confirmed else "no"
        lines.append(
            f"  In Sentry   {state} after {confirmation.attempts} lookup"
            f"{'s' if confirmation.attempts != 1 else ''}"
            + (f" (last answer {confirmation.last_status})" if confirmation.last_status else "")
        )
        if confirmation.issue_url:
            lines.append(f"  Issue       {confirmation.issue_url}")
        if confirmation.title:
            lines.append(f"  Title       {confirmation.title}")
        if confirmation.date_received:
            lines.append(f"  Received    {confirmation.date_received}")
        lines.append(f"  → {confirmation.explanation}")
    # Every field is already masked; masking again would blur the masked DSN to `***`.
    return "\n".join(lines)
