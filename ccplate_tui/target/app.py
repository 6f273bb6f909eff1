"""The demo CCPLATE API as an aiohttp application: endpoints, fault middleware, admin, stats,
`/metrics` (its database load, see db_meter) and its unhandled errors reported to its own Sentry
ingest (see error_reporting)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
import re
import shutil
import socket
import struct
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from prometheus_client import CollectorRegistry

from ccplate_tui import __version__
from ccplate_tui.load.reachability import DEMO_HEADER
from ccplate_tui.target import metrics
from ccplate_tui.target.component_builder import render_component
from ccplate_tui.target.db_meter import DbMeter
from ccplate_tui.target.error_reporting import ErrorReporter
from ccplate_tui.target.faults import (
    ADMIN_PREFIX,
    NO_FAULTS,
    SENTRY_EXAMPLE_PATH,
    FaultInjector,
    Faults,
    faults_from_mapping,
)
from ccplate_tui.target.json_body import JsonBodyError, JsonTooDeep, loads_bounded
from ccplate_tui.target.npm_demo import add_npm_routes
from ccplate_tui.target.request_guard import (
    MAX_ID_DIGITS,
    loopback_only,
    parse_path_id,
    plain_bodies_only,
    unreadable_body,
)
from ccplate_tui.target.sentry_ingest import add_sentry_routes
from ccplate_tui.target.store import DatabaseBusy, SchemaLocked, TargetStore

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 10 * 1000 * 1000  # "10 MB" in the project's units (config.units: MB = 10^6)
MAX_ADMIN_BODY_BYTES = 64 * 1024  # a faults object is well under 1 KB; 64 slow rules fit too
_MULTIPART_SLACK = 64 * 1024  # boundaries and part headers around the file bytes
_CHUNK = 256 * 1024
_MODEL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Starts like a TLS record, then noise: no HTTP client can parse it as a status line.
GARBAGE = b"\x16\x03\x01\x02\x00\x01\xff\xfe\x00garbage, not HTTP\x00\x13\x37\r\n\r\n"
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SENTRY_PREFIX = "/__sentry"
"""The demo Sentry ingest and API: DSN `http://<key>@127.0.0.1:8787/__sentry/1`."""
NPM_PREFIX = "/__npm/"
"""The demo npm registry serving @sentry/nextjs (examples/ccplate-app's .npmrc points here)."""
METRICS_PATH = "/metrics"
_SERVICE_PREFIXES = (ADMIN_PREFIX, SENTRY_PREFIX + "/", NPM_PREFIX, METRICS_PATH)
"""Paths outside the demo API: no injected faults, not counted in the API's request stats."""


class ApiError(Exception):
    """An error answer: `status` with `{"error": message, **extra}` as the JSON body."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


class InjectedServerError(Exception):
    """The error_rate fault: raised where the handler would run, so it fails like a real bug."""


class SentryExampleAPIError(Exception):
    """The error of the capture drill's route, named as `@sentry/wizard`'s example names it."""


@dataclass
class RequestStats:
    """Cheap per-path, per-outcome counters of what the target received (admin excluded)."""

    max_paths: int = 500  # paths are client input: cap the keys so a scan can't grow memory
    since: float = field(default_factory=time.time)
    total: int = 0
    by_path: dict[str, dict[str, int]] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)

    def record(self, path: str, outcome: str) -> None:
        self.total += 1
        counts = self.by_path.get(path)
        if counts is None:
            if len(self.by_path) >= self.max_paths:
                path = "(other)"
            counts = self.by_path.setdefault(path, {})
        counts[outcome] = counts.get(outcome, 0) + 1

    def record_fault(self, kind: str) -> None:
        self.faults[kind] = self.faults.get(kind, 0) + 1

    def by_status(self) -> dict[str, int]:
        """Counts by outcome (a status code, or drop / garbage / reset) over all paths."""
        by_status: dict[str, int] = {}
        for counts in self.by_path.values():
            for outcome, count in counts.items():
                by_status[outcome] = by_status.get(outcome, 0) + count
        return by_status

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "total": self.total,
            "by_path": {path: dict(counts) for path, counts in self.by_path.items()},
            "by_status": self.by_status(),
            "faults": dict(self.faults),
        }


@dataclass
class TargetState:
    """Everything a running target holds; the store opens on startup and closes on cleanup."""

    injector: FaultInjector
    stats: RequestStats
    db_path: Path | None
    started: float = field(default_factory=time.monotonic)
    store: TargetStore | None = None
    # Apart from the fault RNG, so generations don't shift a seeded fault sequence.
    generation_random: random.Random = field(default_factory=random.Random)
    db_meter: DbMeter = field(default_factory=DbMeter)
    reporter: ErrorReporter = field(default_factory=ErrorReporter)

    def set_faults(self, faults: Faults) -> None:
        """Switch the faults, db_slow (the store's meter) and sentry_drop (the reporter) included."""
        self.injector.set_faults(faults)
        self.db_meter.slow = faults.db_slow
        self.reporter.dropper.set_rate(faults.sentry_drop)

    def require_store(self) -> TargetStore:
        if self.store is None:
            raise RuntimeError("the target's database is not open (the app has not started)")
        return self.store


STATE_KEY = web.AppKey("ccplate_target_state", TargetState)
REGISTRY_KEY = web.AppKey("ccplate_target_metrics", CollectorRegistry)


def _state(request: web.Request) -> TargetState:
    return request.app[STATE_KEY]


def _json_error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


# request bodies -----------------------------------------------------------------------------


async def _read_json_object(request: web.Request, max_bytes: int | None = None) -> dict[str, Any]:
    """The body as a JSON object; ApiError 400 (bad or too deep JSON) or 413 (over max_bytes)."""
    length = request.content_length or 0
    raw = b"" if max_bytes is not None and length > max_bytes else await request.read()
    if max_bytes is not None and max(length, len(raw)) > max_bytes:
        raise ApiError(413, f"body too large: the limit is {max_bytes} bytes", limit=max_bytes)
    try:
        data = loads_bounded(raw)
    except JsonBodyError as exc:
        raise ApiError(400, f"malformed JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"expected a JSON object, got a JSON {type(data).__name__}")
    return data


async def _read_fields(request: web.Request) -> tuple[dict[str, Any], bool]:
    """(fields, came_from_a_form) from a JSON object body or form fields; ApiError(400) otherwise."""
    if request.content_type in _FORM_TYPES:
        try:
            form = await request.post()
        except (ValueError, AssertionError, LookupError) as exc:  # LookupError: a bad charset
            raise ApiError(400, f"malformed form body: {exc}") from None
        return {key: value for key, value in form.items() if isinstance(value, str)}, True
    if request.content_type == "application/json" or request.content_type.endswith("+json"):
        return await _read_json_object(request), False
    raw = await request.read()
    if raw.lstrip().startswith(b"{"):  # JSON sent without a Content-Type, as curl -d does
        return await _read_json_object(request), False
    raise ApiError(
        400,
        "expected a JSON object (Content-Type: application/json) or form fields "
        f"(application/x-www-form-urlencoded), got {request.content_type!r}",
    )


def _required_string(fields: dict[str, Any], key: str, *, max_length: int = 10_000) -> str:
    value = fields.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, f"expected a non-empty string field {key!r}")
    if len(value) > max_length:
        raise ApiError(400, f"{key}: expected at most {max_length} characters, got {len(value)}")
    return value


def _too_large(size: int | None = None) -> ApiError:
    extra: dict[str, Any] = {"limit_bytes": MAX_UPLOAD_BYTES}
    if size is not None:
        extra["size"] = size
    return ApiError(413, f"file too large: the limit is {MAX_UPLOAD_BYTES} bytes", **extra)


# tokens -------------------------------------------------------------------------------------


def issue_token(secret: bytes, user_id: int) -> str:
    """A stateless bearer token (`id.issued.signature`), so logins cost no database write."""
    payload = f"{user_id}.{int(time.time())}"
    signature = hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{payload}.{signature}"


def verify_token(secret: bytes, token: str) -> int | None:
    """The user id of a valid token, else None."""
    user_id, _, rest = token.partition(".")
    issued, _, signature = rest.partition(".")
    if not (user_id.isdigit() and issued.isdigit() and signature):
        return None
    expected = hmac.new(secret, f"{user_id}.{issued}".encode(), hashlib.sha256).hexdigest()[:32]
    return int(user_id) if hmac.compare_digest(expected, signature) else None


# endpoints ----------------------------------------------------------------------------------


DEMO_IDENTITY = {DEMO_HEADER: __version__}
"""The header by which the demo names itself to ccplate-tui (load.reachability.DEMO_HEADER), so
the tool asks `/__admin/faults` of this target and of no other."""


async def _identify(_request: web.Request, response: web.StreamResponse) -> None:
    """Every answer, injected errors included, names the demo: a run learns it from its own
    traffic, whatever paths its scenarios ask for."""
    response.headers.update(DEMO_IDENTITY)


async def health(request: web.Request) -> web.Response:
    state = _state(request)
    uptime = round(time.monotonic() - state.started, 3)
    try:
        state.require_store().ping()
    except Exception as exc:  # any failure here means "not healthy", and the probe says why
        return web.json_response(
            {"status": "degraded", "uptime_s": uptime, "db": f"error: {exc}"}, status=503
        )
    return web.json_response({"status": "ok", "uptime_s": uptime, "db": "ok"})


async def login(request: web.Request) -> web.Response:
    fields, _ = await _read_fields(request)
    email, password = fields.get("email"), fields.get("password")
    if not isinstance(email, str) or not email.strip() or not isinstance(password, str):
        raise ApiError(400, "expected string fields 'email' and 'password'")
    store = _state(request).require_store()
    user = store.find_user(email)
    if user is None or not store.verify_password(user, password):
        raise ApiError(401, "invalid credentials")
    token = issue_token(store.token_secret, user.id)
    return web.json_response({"token": token, "token_type": "Bearer", "user": user.public()})


async def current_user(request: web.Request) -> web.Response:
    store = _state(request).require_store()
    user = store.demo_user()
    auth = request.headers.get(hdrs.AUTHORIZATION, "")
    if auth[:7].lower() == "bearer ":
        user_id = verify_token(store.token_secret, auth[7:].strip())
        found = None if user_id is None else store.user_by_id(user_id)
        if found is None:
            raise ApiError(401, "invalid token")
        user = found
    return web.json_response({**user.public(), "created_at": user.created_at})


async def _read_multipart_file(request: web.Request) -> tuple[str, str, bytes, str]:
    """(filename, content type, bytes, sha256) of the `file` part, streamed in chunks."""
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError, KeyError) as exc:
        raise ApiError(400, f"malformed multipart body: {exc}") from None
    found: tuple[str, str, bytes, str] | None = None
    override: str | None = None
    try:
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise ApiError(400, "nested multipart bodies are not supported")
            if part.name == "file" and found is None:
                hasher = hashlib.sha256()
                buffer = bytearray()
                while chunk := await part.read_chunk(_CHUNK):
                    if len(buffer) + len(chunk) > MAX_UPLOAD_BYTES:
                        raise _too_large()
                    hasher.update(chunk)
                    buffer += chunk
                content_type = part.headers.get(hdrs.CONTENT_TYPE, "application/octet-stream")
                found = (
                    part.filename or "upload.bin",
                    content_type,
                    bytes(buffer),
                    hasher.hexdigest(),
                )
            elif part.name == "filename":
                override = (await part.text()).strip() or None
            else:
                await part.release()
    except (ValueError, AssertionError) as exc:
        raise ApiError(400, f"malformed multipart body: {exc}") from None
    if found is None:
        raise ApiError(400, "expected a multipart part named 'file'")
    if override:
        found = (override, *found[1:])
    return found


async def upload_file(request: web.Request) -> web.Response:
    length = request.content_length
    if length is not None and length > MAX_UPLOAD_BYTES + _MULTIPART_SLACK:
        raise _too_large(length)
    if request.content_type == "multipart/form-data":
        filename, content_type, content, digest = await _read_multipart_file(request)
    else:
        fields, _ = await _read_fields(request)
        filename = _required_string(fields, "filename", max_length=1000)
        text = fields.get("content")
        if not isinstance(text, str):
            raise ApiError(400, "expected a string field 'content'")
        content = text.encode()
        if len(content) > MAX_UPLOAD_BYTES:
            raise _too_large(len(content))
        content_type = str(fields.get("content_type") or "text/plain; charset=utf-8")
        digest = hashlib.sha256(content).hexdigest()
    filename = filename.replace("\\", "/").rsplit("/", 1)[-1][:255] or "upload.bin"
    stored = await _state(request).require_store().add_file(filename, content_type, content, digest)
    return web.json_response(stored.to_json(), status=201)


def _file_id(request: web.Request) -> int:
    file_id = parse_path_id(request.match_info["id"])
    if file_id is None:  # no row has it: too long for SQLite's integers, or not ASCII digits
        raise ApiError(404, "file not found", detail=f"ids are 1 to {MAX_ID_DIGITS} digits")
    return file_id


async def file_metadata(request: web.Request) -> web.Response:
    stored = _state(request).require_store().get_file(_file_id(request))
    if stored is None:
        raise ApiError(404, "file not found", id=_file_id(request))
    return web.json_response(stored.to_json())


async def file_content(request: web.Request) -> web.Response:
    store = _state(request).require_store()
    stored = store.get_file(_file_id(request))
    content = None if stored is None else store.get_file_content(stored.id)
    if stored is None or content is None:
        raise ApiError(404, "file not found", id=_file_id(request))
    return web.Response(body=content, content_type=stored.content_type.split(";")[0])


def _preferences(fields: dict[str, Any], from_form: bool) -> dict[str, Any]:
    value = fields.get("preferences")
    if value is None:
        return {}
    if from_form and isinstance(value, str):
        # k6 posts a plain object as form fields, so nested preferences arrive as text.
        try:
            value = loads_bounded(value)
        except JsonTooDeep as exc:
            raise ApiError(400, f"preferences: {exc}") from None
        except JsonBodyError:
            return {"text": value}
    if not isinstance(value, dict):
        raise ApiError(400, f"preferences: expected an object, got {type(value).__name__}")
    return value


def _mock_flag(fields: dict[str, Any], from_form: bool) -> bool:
    value = fields.get("mock", False)
    if from_form and isinstance(value, str) and value.lower() in ("true", "1", "false", "0", ""):
        return value.lower() in ("true", "1")
    if not isinstance(value, bool):
        raise ApiError(400, f"mock: expected true or false, got {value!r}")
    return value


async def generate_component(request: web.Request) -> web.Response:
    fields, from_form = await _read_fields(request)
    description = _required_string(fields, "description", max_length=5000)
    preferences = _preferences(fields, from_form)
    mock = _mock_flag(fields, from_form)
    state = _state(request)
    started = time.perf_counter()
    # Simulated model latency: the scenario's <5 s target must be met by a 1-4 s "model".
    rng = state.generation_random
    await asyncio.sleep(rng.uniform(0.01, 0.05) if mock else rng.uniform(1.0, 4.0))
    name, source = render_component(description, preferences)
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    await state.require_store().record_generation(name, description, preferences, mock, duration_ms)
    return web.json_response(
        {"component": source, "name": name, "duration_ms": duration_ms, "mock": mock}
    )


def _describe(value: object) -> str:
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    return "nothing" if value is None else f"a JSON {type(value).__name__}"


async def apply_schema(request: web.Request) -> web.Response:
    fields, _ = await _read_fields(request)
    model = fields.get("model")
    if not isinstance(model, str) or not _MODEL_NAME.match(model):
        raise ApiError(
            400,
            # The value is not echoed: clients grep these bodies for words like "lock".
            "model: expected an identifier like 'LoadTest1' (a letter, then letters, digits "
            f"or _; at most 64 characters), got {_describe(model)}",
        )
    try:
        applied = await _state(request).require_store().apply_schema(model)
    except SchemaLocked as exc:
        raise ApiError(423, "locked", holder=exc.holder.holder, since=exc.holder.since) from None
    return web.json_response({"applied": applied.model, "version": applied.version})


async def sentry_example_api(_request: web.Request) -> web.Response:
    """Always fails unhandled, like the route `@sentry/wizard` adds: one call, one Sentry event."""
    raise SentryExampleAPIError("This error is raised on the backend called by the example page.")


async def _raise_injected_fault(_request: web.Request) -> web.Response:
    raise InjectedServerError("injected fault")


# admin --------------------------------------------------------------------------------------


def _faults_response(state: TargetState) -> web.Response:
    faults = state.injector.faults
    return web.json_response({**faults.to_mapping(), "active": faults.active})


async def get_faults(request: web.Request) -> web.Response:
    return _faults_response(_state(request))


async def change_faults(request: web.Request) -> web.Response:
    """PUT replaces the faults, PATCH changes the keys given; 400 names a bad key or value."""
    state = _state(request)
    data = await _read_json_object(request, MAX_ADMIN_BODY_BYTES)
    base = state.injector.faults if request.method == "PATCH" else NO_FAULTS
    try:
        faults = faults_from_mapping(data, base)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    state.set_faults(faults)
    return _faults_response(state)


async def clear_faults(request: web.Request) -> web.Response:
    state = _state(request)
    state.set_faults(NO_FAULTS)
    return _faults_response(state)


async def get_metrics(request: web.Request) -> web.Response:
    body, headers = metrics.render(request.app[REGISTRY_KEY])
    return web.Response(body=body, headers=headers)


async def get_stats(request: web.Request) -> web.Response:
    return web.json_response(_state(request).stats.to_json())


async def reset_stats(request: web.Request) -> web.Response:
    state = _state(request)
    state.stats = RequestStats()
    return web.json_response(state.stats.to_json())


# faults and errors --------------------------------------------------------------------------


def _http_exception_json(exc: web.HTTPException, request: web.Request) -> web.Response:
    extra: dict[str, Any] = {}
    if exc.status == 404:
        extra["path"] = request.path
    if isinstance(exc, web.HTTPMethodNotAllowed):
        extra["allowed"] = sorted(exc.allowed_methods)
    response = _json_error(exc.status, (exc.reason or "error").lower(), **extra)
    if hdrs.ALLOW in exc.headers:
        response.headers[hdrs.ALLOW] = exc.headers[hdrs.ALLOW]
    return response


async def _answer(
    handler: _Handler, request: web.Request, reporter: ErrorReporter | None = None
) -> web.StreamResponse:
    """Run the handler and turn every failure into a JSON answer (never an HTML error page).

    Unhandled errors go to `reporter` (None for the service paths: an error in the ingest must
    not feed the ingest). Errors the API answers on purpose (ApiError, HTTP errors, a busy
    database's 503) are handled, as a route's own error answers are, so they are not reported.
    """
    try:
        return await handler(request)
    except ApiError as exc:
        return _json_error(exc.status, exc.message, **exc.extra)
    except web.HTTPException as exc:
        return _http_exception_json(exc, request)
    except (HttpProcessingError, web.RequestPayloadError) as exc:  # an unreadable body, not a bug
        return unreadable_body(request, exc)
    except DatabaseBusy:
        return _json_error(503, "database busy, retry later")
    except ConnectionError:
        raise  # the client went away: aiohttp drops the connection quietly
    except InjectedServerError as exc:  # expected by whoever set error_rate: not logged
        if reporter is not None:
            reporter.capture(exc, request)
        return _json_error(500, "injected fault")
    except Exception as exc:
        if not isinstance(exc, SentryExampleAPIError):
            log.exception("unhandled error on %s %s", request.method, request.path)
        if reporter is not None:
            reporter.capture(exc, request)
        return _json_error(500, "internal error")


def _set_linger_zero(transport: asyncio.BaseTransport) -> None:
    """Make the next close send a TCP RST instead of a FIN."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return
    # On failure the connection is still cut by abort(), just with a FIN.
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


async def _misbehave(request: web.Request, action: str) -> None:
    """Drop, garble or reset the connection underneath aiohttp."""
    transport = request.transport
    if transport is None or transport.is_closing():
        return
    if action == "drop":
        transport.abort()
    elif action == "garbage":
        transport.write(GARBAGE)
        transport.close()  # close() flushes what was written, unlike abort()
    else:  # reset: a whole head, half the promised body, then RST
        body = json.dumps({"status": "ok", "data": "x" * 512}).encode()
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        transport.write(head + body[: len(body) // 2])
        await asyncio.sleep(0.01)  # let the client read the head, so it fails mid-body
        if not transport.is_closing():
            _set_linger_zero(transport)
            transport.abort()


def _stats_key(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else request.path


def _make_middleware(state: TargetState) -> Any:
    @web.middleware
    async def target_middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
        if request.path.startswith(_SERVICE_PREFIXES):
            return await _answer(handler, request)
        key = _stats_key(request)
        plan = state.injector.plan(request.path)
        if plan is not None:
            if plan.delay > 0:
                state.stats.record_fault("delayed")
                await asyncio.sleep(plan.delay)
            if plan.action == "error":
                state.stats.record_fault("error")
                response = await _answer(_raise_injected_fault, request, state.reporter)
                state.stats.record(key, str(response.status))
                return response
            # Connection faults: the client sees no answer, so there is no error to report.
            if plan.action is not None:
                state.stats.record_fault(plan.action)
                state.stats.record(key, plan.action)
                await _misbehave(request, plan.action)
                # Never written: the transport is gone, and aiohttp treats that as a disconnect.
                return web.Response(status=500)
        response = await _answer(handler, request, state.reporter)
        state.stats.record(key, str(response.status))
        return response

    return target_middleware


def _store_context(state: TargetState) -> Callable[[web.Application], AsyncIterator[None]]:
    async def open_store(_app: web.Application) -> AsyncIterator[None]:
        temp_dir = None
        path = state.db_path
        if path is None:
            temp_dir = Path(tempfile.mkdtemp(prefix="ccplate-target-"))
            path = temp_dir / "target.db"
        state.store = TargetStore(path, state.db_meter)
        sampler = asyncio.create_task(state.db_meter.run_sampler())
        try:
            yield
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
            state.store.close()
            if temp_dir is not None:
                shutil.rmtree(temp_dir, ignore_errors=True)

    return open_store


def _reporter_context(state: TargetState) -> Callable[[web.Application], AsyncIterator[None]]:
    async def close_reporter(_app: web.Application) -> AsyncIterator[None]:
        yield
        # running_target flushes while the server still listens; this catches the rest.
        await state.reporter.close(timeout=0.5)

    return close_reporter


def build_app(faults: Faults | None = None, db_path: str | Path | None = None) -> web.Application:
    """The target application; the database opens on startup (a temporary one when db_path is None)."""
    state = TargetState(
        injector=FaultInjector(faults or NO_FAULTS),
        stats=RequestStats(),
        db_path=None if db_path is None else Path(db_path),
    )
    state.db_meter.slow = state.injector.faults.db_slow
    state.reporter.dropper.set_rate(state.injector.faults.sentry_drop)
    # Above the upload limit so JSON uploads reach the handler, which answers 413 itself.
    app = web.Application(
        client_max_size=2 * MAX_UPLOAD_BYTES,
        middlewares=[
            loopback_only(ADMIN_PREFIX),
            _make_middleware(state),
            plain_bodies_only(("/api/", ADMIN_PREFIX)),
        ],
    )
    app[STATE_KEY] = state
    # A lambda: DELETE /__admin/stats replaces state.stats, so it is looked up at each scrape.
    app[REGISTRY_KEY] = metrics.build_registry(
        state.db_meter, lambda: state.stats.by_status(), state.reporter.counts
    )
    app.cleanup_ctx.append(_store_context(state))
    app.cleanup_ctx.append(_reporter_context(state))
    app.on_response_prepare.append(_identify)
    app.router.add_get("/api/health", health)
    app.router.add_post("/api/auth/login", login)
    app.router.add_get("/api/users/me", current_user)
    app.router.add_post("/api/files", upload_file)
    app.router.add_get(r"/api/files/{id:\d+}", file_metadata)
    app.router.add_get(r"/api/files/{id:\d+}/content", file_content)
    app.router.add_post("/api/component-builder/generate", generate_component)
    app.router.add_post("/api/schema-builder/apply", apply_schema)
    app.router.add_get(SENTRY_EXAMPLE_PATH, sentry_example_api)
    app.router.add_get("/__admin/faults", get_faults)
    app.router.add_put("/__admin/faults", change_faults)
    app.router.add_patch("/__admin/faults", change_faults)
    app.router.add_delete("/__admin/faults", clear_faults)
    app.router.add_get("/__admin/stats", get_stats)
    app.router.add_delete("/__admin/stats", reset_stats)
    app.router.add_get(METRICS_PATH, get_metrics)
    add_sentry_routes(app, SENTRY_PREFIX)
    add_npm_routes(app, NPM_PREFIX)
    return app
