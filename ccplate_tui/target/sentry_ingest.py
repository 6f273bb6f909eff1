"""A small Relay-like Sentry ingest and event API for the demo target and the tests.

It accepts envelopes the way Relay does (auth in the X-Sentry-Auth header, the query string or
the envelope's `dsn` header; identity, gzip, deflate or br bodies; items with or without
`length`), keeps the events in memory and serves them back through the web API's
"retrieve an event for a project" route, so the capture check can be shown end to end offline.

It also counts events in a time window through the `count()` subset of the Discover API
(`GET /api/0/organizations/{org}/events/?field=count()&project=1&start=…&end=…&query=…`), by
the events' own timestamps and well past the events it keeps whole (see sentry_counts).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import zlib
from collections import OrderedDict, deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from aiohttp import web

from ccplate_tui.target.json_body import loads_bounded
from ccplate_tui.target.request_guard import MAX_ID_DIGITS, forget_broken_body, parse_path_id
from ccplate_tui.target.sentry_counts import (
    CountQueryError,
    EventTally,
    count_answer,
    event_type,
    parse_count_query,
    timestamp_micros,
)

MAX_ENVELOPE_BYTES = 5 * 1000 * 1000
"""Decoded size limit: far above a test error, far below what could hurt the demo target."""
MAX_EVENTS = 1000
MAX_ENVELOPES = 200


class EnvelopeError(ValueError):
    """The body is not a valid envelope; the message says where it breaks."""


class EnvelopeTooLarge(EnvelopeError):
    """The decoded envelope is above MAX_ENVELOPE_BYTES (Relay answers 413)."""


@dataclass(frozen=True)
class EnvelopeItem:
    headers: Mapping[str, Any]
    payload: bytes

    @property
    def type(self) -> str:
        return str(self.headers.get("type", ""))

    def json(self) -> Any:
        """The payload as JSON (raises EnvelopeError when it is not)."""
        try:
            return loads_bounded(self.payload, allow_constants=True)
        except ValueError as exc:
            raise EnvelopeError(f"the {self.type} item is not JSON: {exc}") from None


@dataclass(frozen=True)
class Envelope:
    headers: Mapping[str, Any]
    items: tuple[EnvelopeItem, ...]

    @property
    def event_id(self) -> str | None:
        value = self.headers.get("event_id")
        return _normalise_id(value) if isinstance(value, str) and value else None

    def event(self) -> dict[str, Any] | None:
        """The payload of the first `event` item (None when the envelope carries no event)."""
        for item in self.items:
            if item.type == "event":
                data = item.json()
                if not isinstance(data, dict):
                    raise EnvelopeError("the event item is not a JSON object")
                return data
        return None


def _normalise_id(value: str) -> str:
    return value.strip().replace("-", "").lower()


def _decompress_zlib(body: bytes, wbits: int, limit: int) -> bytes:
    decoder = zlib.decompressobj(wbits=wbits)
    out = decoder.decompress(body, limit + 1)
    if len(out) > limit:
        raise EnvelopeTooLarge(f"the envelope decodes to more than {limit} bytes")
    if not decoder.eof:
        raise EnvelopeError("the compressed body is truncated")
    return out


def decode_body(body: bytes, encoding: str | None, limit: int = MAX_ENVELOPE_BYTES) -> bytes:
    """Undo a Content-Encoding (identity, gzip, deflate, br; comma lists in order)."""
    codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip()]
    for coding in reversed(codings):  # the last coding applied is the first to undo
        try:
            if coding == "identity":
                continue
            if coding in ("gzip", "x-gzip"):
                body = _decompress_zlib(body, 16 + zlib.MAX_WBITS, limit)
            elif coding == "deflate":
                try:
                    body = _decompress_zlib(body, zlib.MAX_WBITS, limit)
                except zlib.error:  # some clients send raw deflate without the zlib wrapper
                    body = _decompress_zlib(body, -zlib.MAX_WBITS, limit)
            elif coding == "br":
                import brotli

                decoder = brotli.Decompressor()
                out = decoder.process(body, output_buffer_limit=limit + 1)
                if len(out) > limit:
                    raise EnvelopeTooLarge(f"the envelope decodes to more than {limit} bytes")
                if not decoder.is_finished():
                    raise EnvelopeError("the br body is truncated")
                body = out
            else:
                raise EnvelopeError(f"unsupported Content-Encoding {coding!r}")
        except EnvelopeError:
            raise
        except Exception as exc:  # zlib.error, brotli.error: the body is not what it claims
            raise EnvelopeError(f"the body is not valid {coding}: {exc}") from None
    if len(body) > limit:
        raise EnvelopeTooLarge(f"the envelope is larger than {limit} bytes")
    return body


def _json_line(line: bytes, what: str) -> dict[str, Any]:
    try:
        value = loads_bounded(line, allow_constants=True)
    except ValueError as exc:
        raise EnvelopeError(f"the {what} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise EnvelopeError(f"the {what} is not a JSON object")
    return value


def parse_envelope(body: bytes, encoding: str | None = None) -> Envelope:
    """Decode and split an envelope: a header line, then item header + payload pairs.

    An item with `length` takes exactly that many bytes (then an optional newline); without it
    the payload runs to the next newline, as the JavaScript SDKs send it.
    """
    data = decode_body(body, encoding)
    if not data.strip():
        raise EnvelopeError("the envelope is empty")
    end = data.find(b"\n")
    end = len(data) if end < 0 else end
    headers = _json_line(data[:end], "envelope header")
    pos = end + 1
    items: list[EnvelopeItem] = []
    while pos < len(data):
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        line = data[pos:end]
        if not line.strip():  # blank lines (trailing newlines) between or after items
            pos = end + 1
            continue
        item_headers = _json_line(line, f"header of item {len(items) + 1}")
        if not isinstance(item_headers.get("type"), str) or not item_headers["type"]:
            raise EnvelopeError(f"item {len(items) + 1} has no type")
        pos = end + 1
        length = item_headers.get("length")
        if length is not None:
            if not isinstance(length, int) or isinstance(length, bool) or length < 0:
                raise EnvelopeError(f"item {len(items) + 1} has an invalid length {length!r}")
            payload = data[pos : pos + length]
            if len(payload) < length:
                raise EnvelopeError(
                    f"item {len(items) + 1} declares {length} bytes but only {len(payload)} follow"
                )
            pos += length
            if pos < len(data) and data[pos : pos + 1] != b"\n":
                raise EnvelopeError(f"item {len(items) + 1} is longer than its length")
            pos += 1
        else:
            end = data.find(b"\n", pos)
            end = len(data) if end < 0 else end
            payload = data[pos:end]
            pos = end + 1
        items.append(EnvelopeItem(item_headers, payload))
    return Envelope(headers, tuple(items))


@dataclass(frozen=True)
class StoredEvent:
    project_id: str
    event_id: str
    event: Mapping[str, Any]
    received_at: str
    group_id: str
    title: str


@dataclass(frozen=True)
class ReceivedEnvelope:
    """One accepted POST, as the tests want to see it (what the SDK really sent)."""

    project_id: str
    public_key: str
    auth_from: Literal["header", "query", "envelope"]
    content_encoding: str | None
    chunked: bool
    user_agent: str
    envelope: Envelope


def event_title(event: Mapping[str, Any]) -> str:
    """Sentry's issue title: `Type: value` of the outermost exception, else the message."""
    exception = event.get("exception")
    values = exception.get("values") if isinstance(exception, dict) else exception
    if isinstance(values, list) and values and isinstance(values[-1], dict):
        kind, value = values[-1].get("type") or "Error", values[-1].get("value")
        title = f"{kind}: {value}" if value else str(kind)
    else:
        message = event.get("message") or event.get("logentry")
        if isinstance(message, dict):
            message = message.get("formatted") or message.get("message")
        title = str(message) if message else "<unlabeled event>"
    title = " ".join(title.split())
    return title[:200]


def _group_id(project_id: str, event: Mapping[str, Any], title: str) -> str:
    fingerprint = event.get("fingerprint")
    if isinstance(fingerprint, list) and fingerprint and fingerprint != ["{{ default }}"]:
        basis = json.dumps(fingerprint)
    else:
        exception = event.get("exception")
        values = exception.get("values") if isinstance(exception, dict) else None
        basis = (
            str(values[-1].get("type"))
            if isinstance(values, list) and values and isinstance(values[-1], dict)
            else title
        )
    digest = hashlib.sha256(f"{project_id}\0{basis}".encode()).hexdigest()
    return str(int(digest[:12], 16) % 10**10)


class SentryIngestStore:
    """The received envelopes and events, bounded so a load test cannot grow memory.

    `events` keeps the last `max_events` whole; `tally` counts many more, compactly.
    """

    def __init__(
        self,
        max_events: int = MAX_EVENTS,
        max_envelopes: int = MAX_ENVELOPES,
        tally: EventTally | None = None,
    ) -> None:
        self.max_events = max_events
        self.events: OrderedDict[str, StoredEvent] = OrderedDict()
        self.envelopes: deque[ReceivedEnvelope] = deque(maxlen=max_envelopes)
        self.tally = tally or EventTally()

    def add(self, received: ReceivedEnvelope) -> StoredEvent | None:
        """Keep the envelope; store its event (if any) under the envelope's event id."""
        event = received.envelope.event()  # may raise EnvelopeError: nothing is kept then
        self.envelopes.append(received)
        event_id = received.envelope.event_id
        if event is None or event_id is None:
            return None
        title = event_title(event)
        received_at = datetime.now(UTC)
        stored = StoredEvent(
            project_id=received.project_id,
            event_id=event_id,
            event=event,
            received_at=received_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            group_id=_group_id(received.project_id, event, title),
            title=title,
        )
        # Sentry drops a repeated event id; the recent whole events are where one would show.
        if event_id not in self.events:
            environment = event.get("environment")
            micros = timestamp_micros(event.get("timestamp"))
            if micros is None:  # Relay stamps an event without a usable timestamp on arrival
                micros = int(received_at.timestamp() * 1_000_000)
            self.tally.record(
                str(int(received.project_id)),
                event_type(event),
                environment if isinstance(environment, str) else "",
                micros,
            )
        self.events[event_id] = stored
        self.events.move_to_end(event_id)
        while len(self.events) > self.max_events:
            self.events.popitem(last=False)
        return stored

    def get(self, event_id: str) -> StoredEvent | None:
        return self.events.get(_normalise_id(event_id))

    def clear(self) -> None:
        self.events.clear()
        self.envelopes.clear()
        self.tally.clear()


SENTRY_INGEST_KEY = web.AppKey("ccplate_sentry_ingest", SentryIngestStore)


def _relay_error(status: int, detail: str, *causes: str) -> web.Response:
    body: dict[str, Any] = {"detail": detail}
    if causes:
        body["causes"] = list(causes)
    return web.json_response(body, status=status)


def _auth_fields(value: str) -> dict[str, str]:
    """`Sentry sentry_key=abc, sentry_version=7` -> {"sentry_key": "abc", …}."""
    text = value.strip()
    if text.lower().startswith("sentry "):
        text = text[7:]
    fields = {}
    for part in text.split(","):
        key, sep, val = part.strip().partition("=")
        if sep:
            fields[key.strip().lower()] = val.strip()
    return fields


def _key_from_request(request: web.Request) -> tuple[str | None, Literal["header", "query"]]:
    for header in ("X-Sentry-Auth", "Authorization"):
        value = request.headers.get(header, "")
        if value.lower().startswith("sentry "):
            key = _auth_fields(value).get("sentry_key")
            if key:
                return key, "header"
    key = request.query.get("sentry_key", "").strip()
    return (key or None), "query"


def _key_from_envelope(envelope: Envelope) -> str | None:
    dsn = envelope.headers.get("dsn")
    if not isinstance(dsn, str):
        return None
    try:
        return urlsplit(dsn).username or None
    except ValueError:
        return None


def _body_for_parse(body: bytes, encoding: str | None) -> Envelope:
    # aiohttp already decodes gzip/deflate/br request bodies (auto_decompress) but keeps the
    # header; a decoded envelope starts with its JSON header, which no gzip stream does.
    if encoding and encoding.strip().lower() != "identity" and body[:1] == b"{":
        try:
            return parse_envelope(body, None)
        except EnvelopeTooLarge:
            raise
        except EnvelopeError:
            pass
    return parse_envelope(body, encoding)


def add_sentry_routes(
    app: web.Application,
    prefix: str = "/__sentry",
    *,
    store: SentryIngestStore | None = None,
    api_token: str | None = None,
    keys: Collection[str] | None = None,
) -> SentryIngestStore:
    """Add `POST {prefix}/api/{project}/envelope/` and the event API; return the store.

    `api_token`: the one Bearer token the API accepts (None: any non-empty token, for the demo).
    `keys`: the DSN public keys the ingest accepts (None: any non-empty key).
    """
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
    store = store or SentryIngestStore()
    if SENTRY_INGEST_KEY not in app:
        app[SENTRY_INGEST_KEY] = store
    allowed = frozenset(keys) if keys is not None else None

    async def envelope(request: web.Request) -> web.Response:
        project_id = request.match_info["project"]
        if parse_path_id(project_id) is None:  # Relay's answer to a project that cannot exist
            return _relay_error(
                404, f"no project {project_id[:20]!r}: ids are 1 to {MAX_ID_DIGITS} digits"
            )
        key, auth_from = _key_from_request(request)
        try:
            body = await request.read()
        except web.RequestPayloadError as exc:  # aiohttp could not undo the Content-Encoding
            forget_broken_body(request)
            if key is None:
                return _relay_error(
                    401, "bad x-sentry-auth header", "missing authorization information"
                )
            return _relay_error(400, "invalid event envelope", str(exc).strip())
        encoding = request.headers.get("Content-Encoding")
        try:
            parsed = _body_for_parse(body, encoding)
        except EnvelopeTooLarge as exc:
            return _relay_error(413, "envelope exceeded size limits", str(exc))
        except EnvelopeError as exc:
            if key is None:
                return _relay_error(
                    401, "bad x-sentry-auth header", "missing authorization information"
                )
            return _relay_error(400, "invalid event envelope", str(exc))
        source: Literal["header", "query", "envelope"] = auth_from
        if key is None:
            key, source = _key_from_envelope(parsed), "envelope"
        if not key:
            return _relay_error(
                401, "bad x-sentry-auth header", "missing authorization information"
            )
        if allowed is not None and key not in allowed:
            return _relay_error(403, "event submission rejected with_reason: ProjectId")
        received = ReceivedEnvelope(
            project_id=project_id,
            public_key=key,
            auth_from=source,
            content_encoding=encoding,
            chunked="chunked" in request.headers.get("Transfer-Encoding", "").lower(),
            user_agent=request.headers.get("User-Agent", ""),
            envelope=parsed,
        )
        try:
            stored = store.add(received)
        except EnvelopeError as exc:  # the event item itself is not a JSON object
            return _relay_error(400, "invalid event envelope", str(exc))
        # Relay's StoreResponse: the id of the envelope's event, omitted when there is none.
        return web.json_response({"id": stored.event_id} if stored else {})

    def api_auth_error(request: web.Request) -> web.Response | None:
        """401 unless a Bearer token is given (the one `api_token`, when set)."""
        auth = request.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return web.json_response(
                {"detail": "Authentication credentials were not provided."}, status=401
            )
        if api_token is not None and not hmac.compare_digest(
            token.strip().encode(), api_token.encode()
        ):
            return web.json_response({"detail": "Invalid token"}, status=401)
        return None

    async def event_api(request: web.Request) -> web.Response:
        if (refused := api_auth_error(request)) is not None:
            return refused
        stored = store.get(request.match_info["event_id"])
        project = request.match_info["project"]
        if stored is None or (project.isdigit() and project != stored.project_id):
            return web.json_response({"detail": "Event not found"}, status=404)
        return web.json_response(event_document(stored))

    async def count_api(request: web.Request) -> web.Response:
        """Discover's `count()` of the events whose timestamp is in [start, end)."""
        if (refused := api_auth_error(request)) is not None:
            return refused
        params = {key: request.query.getall(key) for key in request.query}
        try:
            query = parse_count_query(params)
        except CountQueryError as exc:
            return web.json_response({"detail": str(exc)}, status=400)
        return web.json_response(count_answer(query.run(store.tally)))

    async def issue_page(request: web.Request) -> web.Response:
        group_id = request.match_info["group_id"]
        events = [e for e in store.events.values() if e.group_id == group_id]
        if not events:
            return web.Response(status=404, text="No such issue in the demo ingest.\n")
        return web.Response(text=_issue_html(events), content_type="text/html")

    app.router.add_post(prefix + r"/api/{project:\d+}/envelope/", envelope)
    app.router.add_get(prefix + r"/organizations/{org}/issues/{group_id:\d+}/", issue_page)
    app.router.add_get(prefix + "/api/0/projects/{org}/{project}/events/{event_id}/", event_api)
    app.router.add_get(prefix + "/api/0/organizations/{org}/events/", count_api)
    return store


def _issue_html(events: list[StoredEvent]) -> str:
    """A bare page for the issue link the capture check prints (the demo has no Sentry UI)."""
    rows = "".join(
        f"<tr><td>{html.escape(e.event_id)}</td><td>{html.escape(e.received_at)}</td>"
        f"<td>{html.escape(str(e.event.get('environment', '')))}</td>"
        f"<td>{html.escape(str(e.event.get('release', '')))}</td></tr>"
        for e in reversed(events)
    )
    return (
        f"<!doctype html><title>{html.escape(events[-1].title)}</title>"
        f"<h1>{html.escape(events[-1].title)}</h1>"
        f"<p>Demo ingest issue {html.escape(events[-1].group_id)}: {len(events)} event(s).</p>"
        "<table><tr><th>event id</th><th>received</th><th>environment</th><th>release</th></tr>"
        f"{rows}</table>\n"
    )


def _iso_timestamp(value: object) -> str | None:
    """An event's `timestamp` (ISO string or epoch seconds) as ISO-8601 UTC, None if unusable."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), UTC).isoformat().replace("+00:00", "Z")
        except (OverflowError, OSError, ValueError):
            return None
    return None


def event_document(stored: StoredEvent) -> dict[str, Any]:
    """The subset of Sentry's event API answer the checks read (and a person would)."""
    event = stored.event
    tags = event.get("tags") if isinstance(event.get("tags"), dict) else {}
    pairs = {str(k): str(v) for k, v in tags.items()}
    for name in ("environment", "release", "level"):
        if event.get(name):
            pairs.setdefault(name, str(event[name]))
    created = _iso_timestamp(event.get("timestamp")) or stored.received_at
    return {
        "id": stored.event_id,
        "eventID": stored.event_id,
        "groupID": stored.group_id,
        "projectID": stored.project_id,
        "title": stored.title,
        "message": stored.title,
        "platform": event.get("platform", "other"),
        "type": "error" if event.get("exception") else "default",
        "dateCreated": created,
        "dateReceived": stored.received_at,
        "tags": [{"key": k, "value": v} for k, v in sorted(pairs.items())],
    }
