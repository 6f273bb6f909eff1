"""The capture check end to end: the real sentry-sdk, real httpx, the demo ingest on loopback."""

from __future__ import annotations

import gzip
import json
import uuid

import brotli
import httpx
import pytest
import sentry_sdk

from ccplate_tui.sentry.capture import (
    CaptureResult,
    _connection_problem,
    capture_to_json,
    describe_rate_limits,
    render_capture,
    send_test_error,
)
from ccplate_tui.sentry.dsn import DsnError, parse_dsn
from ccplate_tui.sentry.event_lookup import EventConfirmation
from ccplate_tui.target.sentry_ingest import (
    EnvelopeError,
    EnvelopeTooLarge,
    event_title,
    parse_envelope,
)
from tests.sentry_ingest_fixture import (
    DEMO_KEY,
    RATE_LIMITS,
    SentryIngestFixture,
    free_port,
)


@pytest.fixture
def ingest():
    with SentryIngestFixture() as fixture:
        yield fixture


def _outputs(result: CaptureResult) -> str:
    """Everything a user or a file could ever see of a result."""
    return "\n".join(
        (
            json.dumps(capture_to_json(result)),
            render_capture(result),
            result.explanation,
            repr(result),
        )
    )


def _envelope(event_id: str, event: dict[str, object], *, length: bool = True) -> bytes:
    payload = json.dumps(event).encode()
    item = {"type": "event", "content_type": "application/json"}
    if length:
        item["length"] = len(payload)
    header = {"event_id": event_id, "sent_at": "2026-11-26T18:25:04Z"}
    return b"\n".join((json.dumps(header).encode(), json.dumps(item).encode(), payload)) + b"\n"


# --- delivered: the ingest really decoded what the SDK built ---------------------------------


@pytest.mark.parametrize("auto_decompress", [True, False], ids=["server-decodes", "ingest-decodes"])
@pytest.mark.parametrize("compression", ["gzip", "br", "none"])
def test_test_error_is_delivered_and_decoded(compression: str, auto_decompress: bool) -> None:
    with SentryIngestFixture(auto_decompress=auto_decompress) as ingest:
        result = send_test_error(ingest.dsn(), compression=compression)  # type: ignore[arg-type]

        assert result.delivered is True
        assert result.answer.status == 200
        assert json.loads(result.answer.body) == {"id": result.event_id}
        assert result.answer.error is None
        assert "delivered" in result.explanation
        stored = ingest.store.get(result.event_id)
        assert stored is not None
        (exception,) = stored.event["exception"]["values"]
        assert exception["type"] == "CcplateSentryCheck"
        assert exception["value"] == f"ccplate-tui capture check {result.sent_at}"
        assert stored.event["tags"]["ccplate_check"] == result.event_id
        assert stored.event["environment"] == "ccplate-tui-check"
        assert stored.event["release"].startswith("ccplate-tui@")
        assert stored.event["level"] == "error"
        assert stored.title.startswith("CcplateSentryCheck: ccplate-tui capture check")

        received = ingest.store.envelopes[-1]
        assert received.project_id == "1"
        assert received.public_key == DEMO_KEY
        assert received.auth_from == "header"
        assert received.content_encoding == (None if compression == "none" else compression)
        (request,) = ingest.envelope_requests()
        assert request.path == "/__sentry/api/1/envelope/"
        assert request.headers["Content-Type"] == "application/x-sentry-envelope"
        assert request.headers.get("Content-Encoding") == (
            None if compression == "none" else compression
        )
        assert request.headers["User-Agent"] == f"sentry.python/{sentry_sdk.VERSION}"
        assert request.headers["X-Sentry-Auth"] == (
            f"Sentry sentry_key={DEMO_KEY}, sentry_version=7, "
            f"sentry_client=sentry.python/{sentry_sdk.VERSION}"
        )
        assert result.sdk == f"sentry.python/{sentry_sdk.VERSION}"


def test_environment_and_release_are_set_as_asked(ingest: SentryIngestFixture) -> None:
    result = send_test_error(ingest.dsn(), environment="staging", release="ccplate@1.2.3")
    stored = ingest.store.get(result.event_id)
    assert stored is not None
    assert (stored.event["environment"], stored.event["release"]) == ("staging", "ccplate@1.2.3")
    # The locals of the sending code hold the DSN; they must not travel with the event.
    assert DEMO_KEY not in json.dumps(stored.event)


def test_a_parsed_dsn_is_accepted_too(ingest: SentryIngestFixture) -> None:
    result = send_test_error(parse_dsn(ingest.dsn(project=7)))
    assert result.delivered
    assert ingest.store.get(result.event_id).project_id == "7"  # type: ignore[union-attr]


def test_each_check_is_a_new_event_in_one_issue(ingest: SentryIngestFixture) -> None:
    first, second = send_test_error(ingest.dsn()), send_test_error(ingest.dsn())
    assert first.event_id != second.event_id
    a, b = ingest.store.get(first.event_id), ingest.store.get(second.event_id)
    assert a is not None and b is not None
    assert a.group_id == b.group_id  # the fingerprint keeps the checks in one issue


def test_no_global_sdk_state_is_left_behind(ingest: SentryIngestFixture) -> None:
    assert send_test_error(ingest.dsn()).delivered
    assert not sentry_sdk.get_client().is_active()
    assert sentry_sdk.get_isolation_scope()._tags.get("ccplate_check") is None


# --- what real SDKs send, straight to the ingest route ---------------------------------------


def test_the_sdks_own_http_transport_is_accepted(ingest: SentryIngestFixture) -> None:
    client = sentry_sdk.Client(
        dsn=ingest.dsn(project=42),
        default_integrations=False,
        auto_enabling_integrations=False,
        environment="staging",
        release="dashboard-test@0.0.1",
    )
    try:
        with sentry_sdk.isolation_scope() as scope:
            scope.set_client(client)
            try:
                1 / 0  # noqa: B018 - the error the SDK reports
            except ZeroDivisionError as exc:
                event_id = scope.capture_exception(exc)
        client.flush(timeout=10)
    finally:
        client.close(timeout=2)

    assert event_id is not None
    stored = ingest.store.get(event_id)
    assert stored is not None, "the SDK's HttpTransport envelope did not reach the store"
    assert stored.event["exception"]["values"][0]["type"] == "ZeroDivisionError"
    assert stored.project_id == "42"
    received = next(e for e in ingest.store.envelopes if e.envelope.event_id == event_id)
    assert received.auth_from == "header"
    assert received.content_encoding == "br"  # the SDK's default once brotli is importable
    assert received.user_agent.startswith("sentry.python/")


def test_the_js_sdk_shape_is_accepted(ingest: SentryIngestFixture) -> None:
    event_id = uuid.uuid4().hex
    header = {
        "event_id": event_id,
        "sent_at": "2026-11-26T18:25:04.383Z",
        "sdk": {"name": "sentry.javascript.node", "version": "10.78.0"},
        "trace": {"environment": "staging", "public_key": DEMO_KEY},
    }
    event = {
        "exception": {"values": [{"type": "Error", "value": "sentry-check test error from node"}]},
        "platform": "node",
        "environment": "staging",
        "release": "nextapp@1.2.3",
    }
    lines = [json.dumps(header), json.dumps({"type": "event"}), json.dumps(event)]
    chunks = [(line + "\n").encode() for line in lines]
    url = (
        f"{ingest.url}/__sentry/api/42/envelope/?sentry_version=7&sentry_key={DEMO_KEY}"
        "&sentry_client=sentry.javascript.node%2F10.78.0"
    )

    response = httpx.post(
        url,
        content=iter(chunks),  # an iterator: httpx sends Transfer-Encoding: chunked
        headers={"user-agent": "sentry.javascript.node/10.78.0"},
    )

    assert response.status_code == 200
    assert response.json() == {"id": event_id}
    (request,) = ingest.envelope_requests()
    assert request.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in request.headers and "X-Sentry-Auth" not in request.headers
    received = ingest.store.envelopes[-1]
    assert (received.auth_from, received.chunked) == ("query", True)
    stored = ingest.store.get(event_id)
    assert stored is not None and stored.title == "Error: sentry-check test error from node"

    session = b'{"sent_at":"2026-11-26T18:25:04Z"}\n{"type":"session"}\n{"sid":"abc","init":true}\n'
    answer = httpx.post(url, content=session)
    assert (answer.status_code, answer.json()) == (200, {})  # Relay omits the id without an event
    assert ingest.store.envelopes[-1].envelope.items[0].type == "session"


def test_auth_from_the_envelopes_dsn_header(ingest: SentryIngestFixture) -> None:
    event_id = uuid.uuid4().hex
    body = json.dumps({"event_id": event_id, "dsn": ingest.dsn()}).encode() + b"\n"
    body += b'{"type":"event"}\n{"message":"via a tunnel"}\n'
    response = httpx.post(f"{ingest.url}/__sentry/api/1/envelope/", content=body)
    assert response.json() == {"id": event_id}
    assert ingest.store.envelopes[-1].auth_from == "envelope"
    assert ingest.store.get(event_id).title == "via a tunnel"  # type: ignore[union-attr]


def test_the_ingest_refuses_what_relay_refuses(ingest: SentryIngestFixture) -> None:
    url = f"{ingest.url}/__sentry/api/1/envelope/"
    auth = {"X-Sentry-Auth": f"Sentry sentry_key={DEMO_KEY}, sentry_version=7"}
    good = _envelope(uuid.uuid4().hex, {"message": "x"})

    no_key = httpx.post(url, content=good)
    assert no_key.status_code == 401
    assert no_key.json()["detail"] == "bad x-sentry-auth header"

    not_an_object = b'{"event_id":"' + b"b" * 32 + b'"}\n{"type":"event"}\n[1]\n'
    for bad in (b"not json\n", b"", b'{"event_id":"1"}\n{"length":3}\nabc\n', not_an_object):
        answer = httpx.post(url, content=bad, headers=auth)
        assert answer.status_code == 400, bad
        assert answer.json()["detail"] == "invalid event envelope"

    broken_gzip = httpx.post(
        url, content=b"\x1f\x8b garbage", headers={**auth, "Content-Encoding": "gzip"}
    )
    assert broken_gzip.status_code == 400

    wrong_route = httpx.post(f"{ingest.url}/__sentry/api/abc/envelope/", content=good, headers=auth)
    assert wrong_route.status_code == 404
    assert ingest.store.events == {}


def test_an_unknown_key_gets_relays_403() -> None:
    with SentryIngestFixture(keys=("someotherkey0123456789",)) as ingest:
        result = send_test_error(ingest.dsn())
    assert (result.delivered, result.answer.status) == (False, 403)
    assert "ProjectId" in result.answer.body
    assert "region" in result.explanation


# --- failure answers: each explained, none delivered -----------------------------------------


@pytest.mark.parametrize(
    ("mode", "status", "phrases"),
    [
        ("401", 401, ("wrong or disabled", "de.sentry.io", "invalid public key")),
        ("403", 403, ("wrong or disabled", "region", "with_reason: ProjectId")),
        ("404", 404, ("older than 20.6", "path prefix", "/__sentry/api/1/envelope/")),
        ("413", 413, ("too large", "body limit")),
        ("429", 429, ("rate-limited", "retry after 60 s", "error, default", "organization")),
        ("500", 500, ("(500)", "server-side", "Internal Server Error")),
        ("no_id", 200, ("without the event id", "not a Sentry ingest")),
        ("wrong_id", 200, ("not the", "that was sent")),
    ],
)
def test_failure_answers_are_explained(
    ingest: SentryIngestFixture, mode: str, status: int, phrases: tuple[str, ...]
) -> None:
    ingest.ingest_mode = mode
    result = send_test_error(ingest.dsn())
    assert result.delivered is False
    assert result.answer.status == status
    assert result.answer.error is None
    for phrase in phrases:
        assert phrase in result.explanation, (phrase, result.explanation)
    if mode == "wrong_id":
        assert result.event_id in result.explanation
    assert "NOT DELIVERED" in render_capture(result)
    assert DEMO_KEY not in _outputs(result)


def test_rate_limit_headers_are_kept(ingest: SentryIngestFixture) -> None:
    ingest.ingest_mode = "429"
    result = send_test_error(ingest.dsn())
    assert result.answer.retry_after == 60.0
    assert result.answer.rate_limits == RATE_LIMITS
    document = capture_to_json(result)
    assert document["answer"]["retry_after"] == 60.0
    assert document["answer"]["rate_limits"] == RATE_LIMITS
    assert "Retry-After 60 s" in render_capture(result)


def test_describe_rate_limits() -> None:
    assert describe_rate_limits(RATE_LIMITS) == (
        "error, default for 60 s (organization, quota exceeded)"
    )
    assert describe_rate_limits("30::key, 5:transaction:project") == (
        "all categories for 30 s (key); transaction for 5 s (project)"
    )
    assert describe_rate_limits("garbage") == "all categories for garbage s"


def test_connection_refused() -> None:
    result = send_test_error(f"http://{DEMO_KEY}@127.0.0.1:{free_port()}/1", timeout=5)
    assert result.delivered is False
    assert result.answer.status is None
    assert result.answer.error is not None and result.answer.error.startswith("ConnectError")
    assert "connection refused" in result.explanation
    assert "nothing listens" in result.explanation
    assert capture_to_json(result)["status"] is None
    assert "no HTTP answer (ConnectError" in render_capture(result)


@pytest.mark.parametrize(
    ("error", "phrase"),
    [
        (httpx.ConnectError("[Errno -2] Name or service not known"), "does not resolve (DNS)"),
        (
            httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
            "TLS handshake",
        ),
        (httpx.ConnectError("[Errno 111] Connection refused"), "connection refused"),
        (httpx.ConnectTimeout("timed out"), "did not answer within 10 s"),
        (httpx.RemoteProtocolError("Server disconnected"), "RemoteProtocolError"),
    ],
)
def test_connection_problems_are_told_apart(error: Exception, phrase: str) -> None:
    # DNS and TLS failures need a real remote host to happen, so they are classified here.
    text = _connection_problem(error, "https://o1.ingest.de.sentry.io/api/42/envelope/", 10)
    assert phrase in text
    assert "o1.ingest.de.sentry.io" in text


def test_timeout_against_a_hanging_ingest(ingest: SentryIngestFixture) -> None:
    ingest.ingest_mode = "hang"
    result = send_test_error(ingest.dsn(), timeout=0.3)
    assert result.delivered is False
    assert result.answer.status is None
    assert result.answer.error is not None and "Timeout" in result.answer.error
    assert "did not answer within 0.3 s" in result.explanation


# --- DSN edge cases ---------------------------------------------------------------------------


def test_dsn_path_prefix_and_port() -> None:
    with SentryIngestFixture(prefixes=("/sentry",)) as ingest:
        result = send_test_error(ingest.dsn(project=42, prefix="/sentry"))
        (request,) = ingest.envelope_requests()
        assert request.path == "/sentry/api/42/envelope/"
        port = ingest.port
    assert result.delivered
    assert result.envelope_url == f"http://127.0.0.1:{port}/sentry/api/42/envelope/"
    assert result.dsn == f"http://cc…cd@127.0.0.1:{port}/sentry/42"


def test_a_wrong_prefix_is_a_404_explained(ingest: SentryIngestFixture) -> None:
    result = send_test_error(ingest.dsn(prefix="/wrong"))
    assert (result.delivered, result.answer.status) == (False, 404)
    assert "/wrong/api/1/envelope/" in result.explanation


def test_legacy_dsn_secret_is_sent_but_never_shown(ingest: SentryIngestFixture) -> None:
    secret = "legacysecret9876543210"
    dsn = ingest.dsn().replace(f"{DEMO_KEY}@", f"{DEMO_KEY}:{secret}@")
    ingest.ingest_mode = "echo_auth"
    result = send_test_error(dsn)
    (request,) = ingest.envelope_requests()
    assert f"sentry_secret={secret}" in request.headers["X-Sentry-Auth"]
    assert result.answer.status == 400
    assert "the ingest rejected the envelope (400)" in result.explanation
    assert "sentry_key=cc…cd" in result.answer.body  # the echoed header, masked
    outputs = _outputs(result)
    assert DEMO_KEY not in outputs and secret not in outputs


def test_the_key_never_appears_in_any_output(ingest: SentryIngestFixture) -> None:
    results = [send_test_error(ingest.dsn())]
    for mode in ("echo_auth", "401", "404", "429", "hang"):
        ingest.ingest_mode = mode
        results.append(send_test_error(ingest.dsn(), timeout=0.3))
    results.append(send_test_error(f"http://{DEMO_KEY}@127.0.0.1:{free_port()}/1"))
    assert DEMO_KEY in ingest.requests[0].headers["X-Sentry-Auth"]  # it was really sent
    for result in results:
        assert DEMO_KEY not in _outputs(result), result.answer.status


def test_bad_inputs_are_refused_before_sending() -> None:
    with pytest.raises(DsnError):
        send_test_error("not a dsn")
    with pytest.raises(DsnError):
        send_test_error("https://o1.ingest.de.sentry.io/42")  # no key
    with pytest.raises(ValueError, match="compression"):
        send_test_error(f"http://{DEMO_KEY}@127.0.0.1:9/1", compression="zstd")  # type: ignore[arg-type]


# --- reports ----------------------------------------------------------------------------------


def test_json_and_text_reports(ingest: SentryIngestFixture) -> None:
    result = send_test_error(ingest.dsn())
    document = capture_to_json(result)
    assert json.loads(json.dumps(document)) == document
    assert document["delivered"] is True and document["status"] == 200
    assert document["event_id"] == result.event_id
    assert document["tag"] == f"ccplate_check:{result.event_id}"
    assert document["confirmation"] is None
    assert document["dsn"] == result.dsn and "cc…cd" in result.dsn

    confirmation = EventConfirmation(
        confirmed=True,
        attempts=3,
        last_status=200,
        group_id="123",
        issue_url="https://sentry.io/organizations/acme/issues/123/",
        date_received="2026-11-26T18:25:05Z",
        title="CcplateSentryCheck: ccplate-tui capture check",
        explanation="Sentry has the event (3 lookups)",
    )
    confirmed = CaptureResult(**{**result.__dict__, "confirmation": confirmation})
    assert capture_to_json(confirmed)["confirmation"]["issue_url"] == confirmation.issue_url
    text = render_capture(confirmed)
    assert "DELIVERED" in text and "In Sentry   yes after 3 lookups" in text
    assert "https://sentry.io/organizations/acme/issues/123/" in text
    assert "\x1b[" not in text


def test_the_demo_issue_page(ingest: SentryIngestFixture) -> None:
    result = send_test_error(ingest.dsn())
    stored = ingest.store.get(result.event_id)
    assert stored is not None
    page = httpx.get(f"{ingest.url}/__sentry/organizations/acme/issues/{stored.group_id}/")
    assert page.status_code == 200 and result.event_id in page.text
    assert "CcplateSentryCheck" in page.text
    assert httpx.get(f"{ingest.url}/__sentry/organizations/acme/issues/1/").status_code == 404


# --- parse_envelope ---------------------------------------------------------------------------


def test_parse_envelope_with_and_without_lengths() -> None:
    event_id = uuid.uuid4().hex
    payload = b'{"message":"line\\nbreak inside a string is escaped"}'
    body = (
        json.dumps({"event_id": event_id}).encode()
        + b"\n"
        + json.dumps({"type": "attachment", "length": 5}).encode()
        + b"\na\nb\nc\n"  # a length-delimited payload may contain newlines
        + b'{"type":"event"}\n'
        + payload
    )  # no trailing newline after the last item
    envelope = parse_envelope(body)
    assert envelope.event_id == event_id
    assert [item.type for item in envelope.items] == ["attachment", "event"]
    assert envelope.items[0].payload == b"a\nb\nc"
    assert envelope.event() == json.loads(payload)
    assert parse_envelope(gzip.compress(body), "gzip") == envelope
    assert parse_envelope(brotli.compress(body), "br") == envelope
    assert parse_envelope(body, "identity") == envelope
    assert parse_envelope(gzip.compress(brotli.compress(body)), "br, gzip") == envelope


@pytest.mark.parametrize(
    ("body", "encoding", "message"),
    [
        (b"", None, "empty"),
        (b"[1]\n", None, "envelope header is not a JSON object"),
        (b'{}\n{"length":1}\nx\n', None, "no type"),
        (b'{}\n{"type":"event","length":10}\nabc\n', None, "declares 10 bytes"),
        (b'{}\n{"type":"event","length":-1}\nabc\n', None, "invalid length"),
        (b'{}\n{"type":"event","length":1}\nabc\n', None, "longer than its length"),
        (b'{}\n{"type":"event"\n', None, "item 1 is not JSON"),
        (b"{}\n", "zstd", "unsupported Content-Encoding"),
        (b"{}\n", "gzip", "not valid gzip"),
        (gzip.compress(b"{}\n", mtime=0)[:-6], "gzip", "truncated"),
        (b"this is not brotli at all", "br", "not valid br"),
        (brotli.compress(b"{}\n" * 50)[:-3], "br", "br body is truncated"),
    ],
)
def test_parse_envelope_rejects(body: bytes, encoding: str | None, message: str) -> None:
    with pytest.raises(EnvelopeError, match=message):
        parse_envelope(body, encoding)


def test_a_decompression_bomb_is_stopped() -> None:
    bomb = gzip.compress(b"{}\n" + b" " * 6_000_000)
    assert len(bomb) < 20_000
    with pytest.raises(EnvelopeTooLarge):
        parse_envelope(bomb, "gzip")
    with pytest.raises(EnvelopeTooLarge):
        parse_envelope(brotli.compress(b"{}\n" + b" " * 6_000_000), "br")


def test_an_event_item_that_is_not_an_object_is_refused() -> None:
    envelope = parse_envelope(b'{"event_id":"' + b"a" * 32 + b'"}\n{"type":"event"}\n[1,2]\n')
    with pytest.raises(EnvelopeError, match="not a JSON object"):
        envelope.event()


def test_event_titles() -> None:
    assert event_title({"exception": {"values": [{"type": "A"}, {"type": "B", "value": "v"}]}}) == (
        "B: v"
    )
    assert event_title({"message": "hello"}) == "hello"
    assert event_title({"logentry": {"formatted": "from logentry"}}) == "from logentry"
    assert event_title({}) == "<unlabeled event>"
