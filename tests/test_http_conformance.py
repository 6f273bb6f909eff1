"""The engine on the wire, against misbehaving loopback servers, held to what k6 1.1 does there.

Every expectation here was measured by running the real k6 v1.1.0 binary (Go 1.24's net/http)
against the same servers (tests/conformance_servers.py); each test's docstring says what k6 did.
The k6 scripts used `per-vu-iterations` with `sleep(0.05)` after each request where a think time
is stated, the same shape as the scenarios below. Counts that depend on a race (how many
non-replayable requests lose to a server's close) are not asserted exactly: k6's own vary from run
to run. What does not vary is asserted: which requests fail at all, with which error tag, and
what reached the server how many times.

Error tags are k6's: `error` and `error_code` on http_reqs, status "0" for a transport failure.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import pytest

from ccplate_tui.load.metrics import Counter as CounterSink
from ccplate_tui.load.metrics import Rate, Trend
from tests import conformance_servers as cs
from tests.engine_helpers import run_toml

OK = ("200", "", "")
EOF = ("0", "EOF", "1000")
RESET = ("0", "read: connection reset by peer", "1220")
TIMEOUT = ("0", "request timeout", "1050")
REFUSED = ("0", "dial: connection refused", "1212")
UNEXPECTED_EOF = ("0", "unexpected EOF", "1000")
LOST_RACE = {EOF, RESET}
"""What k6 reports for a non-replayable request sent on a keep-alive connection the server was
closing: `EOF` (1000) or `read: connection reset by peer` (1220), by timing."""


@dataclass
class Outcome:
    """What a run reported, in k6's terms."""

    requests: Counter[tuple[str, str, str, str]]
    """(method, status, error, error_code) -> http_reqs count."""
    failed: int
    """http_req_failed non-zero samples."""
    checks: dict[str, tuple[int, int]]
    """check name -> (passes, fails)."""
    data_received: int
    duration_max: float

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def classes(self, method: str | None = None) -> Counter[tuple[str, str, str]]:
        """(status, error, error_code) -> count, for one method or all."""
        out: Counter[tuple[str, str, str]] = Counter()
        for (m, *rest), n in self.requests.items():
            if method is None or m == method:
                out[tuple(rest)] += n  # type: ignore[index]
        return out

    def ok(self, method: str | None = None) -> int:
        return self.classes(method)[OK]


def outcome(result) -> Outcome:  # type: ignore[no-untyped-def]
    requests: Counter[tuple[str, str, str, str]] = Counter()
    checks: dict[str, tuple[int, int]] = {}
    for (metric, tags), sink in result.totals.series.items():
        tag = dict(tags)
        if metric == "http_reqs":
            key = (
                tag.get("method", ""),
                tag.get("status", ""),
                tag.get("error", ""),
                tag.get("error_code", ""),
            )
            requests[key] += int(sink.value)
        elif metric == "checks":
            passes, fails = checks.get(tag["check"], (0, 0))
            checks[tag["check"]] = (passes + sink.passes, fails + sink.total - sink.passes)
    failed = result.totals.select("http_req_failed")
    received = result.totals.select("data_received")
    duration = result.totals.select("http_req_duration")
    return Outcome(
        requests,
        failed.passes if isinstance(failed, Rate) else 0,
        checks,
        int(received.value) if isinstance(received, CounterSink) else 0,
        duration.max if isinstance(duration, Trend) and duration.count else 0.0,
    )


def request(
    method: str = "GET",
    path: str = "/x",
    *,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    checks: dict[str, str] | None = None,
    timeout: str | None = None,
    query: dict[str, str] | None = None,
    name: str | None = None,
) -> str:
    """One `[[scenarios.c.requests]]` table."""

    def inline(table: dict[str, str]) -> str:
        return "{ " + ", ".join(f"{_quote(k)} = {_quote(v)}" for k, v in table.items()) + " }"

    lines = ["[[scenarios.c.requests]]", f'method = "{method}"', f"path = {_quote(path)}"]
    if name:
        lines.append(f"name = {_quote(name)}")
    if body is not None:
        lines.append(f"body = {_quote(body)}")
    if headers:
        lines.append(f"headers = {inline(headers)}")
    if query:
        lines.append(f"query = {inline(query)}")
    if checks:
        lines.append(f"checks = {inline(checks)}")
    if timeout:
        lines.append(f'timeout = "{timeout}"')
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    """A TOML literal string when it can be one (no escapes to think about), else a basic one."""
    if "'" not in text and "\n" not in text:
        return f"'{text}'"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def run(
    url: str,
    *requests: str,
    vus: int = 1,
    iterations: int = 3,
    think: str | None = None,
) -> Outcome:
    """Run `requests` (each iteration sends them in order, then thinks) through the engine."""
    text = f"""
[target]
base_url = "{url}"
[scenarios.c]
executor = "per-vu-iterations"
vus = {vus}
iterations = {iterations}
{f'think_time = "{think}"' if think else ""}
{"".join(requests)}
"""
    return outcome(run_toml(text, workers=1))


UNIQUE_BODY = "body-${vu}-${iteration}"
"""A request body no other request of the run has, so a body the server got twice was re-sent."""

STATUS_200 = {"status 200": "status == 200"}

METHODS = {
    "GET": ("GET", None, None),
    "POST": ("POST", UNIQUE_BODY, None),
    "PUT": ("PUT", UNIQUE_BODY, None),
    "DELETE": ("DELETE", UNIQUE_BODY, None),
    "POST+Idempotency-Key": ("POST", UNIQUE_BODY, {"Idempotency-Key": "k-${vu}-${iteration}"}),
    "PUT+Idempotency-Key": ("PUT", UNIQUE_BODY, {"Idempotency-Key": "k-${vu}-${iteration}"}),
}


def _method_request(variant: str, **extra) -> str:  # type: ignore[no-untyped-def]
    method, body, headers = METHODS[variant]
    return request(method, body=body, headers=headers, checks=STATUS_200, **extra)


def _assert_never_resent(server: cs.ConformanceServer, result: Outcome, method: str) -> None:
    """Nothing re-sent: every body reached the server at most once, and the server got exactly
    the requests that succeeded (a request lost to a close never reached the application)."""
    assert server.duplicate_bodies(method) == []
    assert server.count(method) == result.ok(method)


# ---------------------------------------------------------------------------------------------
# a. keep-alive connections closed by the server
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", list(METHODS))
def test_a_connection_closed_after_every_response_is_never_reused_after_think_time(
    variant: str,
) -> None:
    """k6 1.1: the server answers with Content-Length and no `Connection: close`, then closes
    (FIN). With sleep(0.05) after each request, 2 VUs x 10: every method (GET, POST, PUT, DELETE,
    with or without Idempotency-Key) 20/20 OK, http_req_failed 0, and the server got exactly 20
    requests on 20 connections: k6 saw each close while the connection was idle."""
    with cs.KeepAliveClose(after=1) as server:
        result = run(server.url, _method_request(variant), vus=2, iterations=10, think="50ms")
    method = METHODS[variant][0]
    assert result.requests == {(method, *OK): 20}
    assert result.failed == 0
    assert result.checks == {"status 200": (20, 0)}
    assert server.count(method) == 20
    assert server.connections == 20
    assert server.duplicate_bodies() == []


@pytest.mark.parametrize("variant", ["GET", "POST", "PUT", "DELETE"])
def test_a_connection_closed_after_three_responses_is_reused_until_then(variant: str) -> None:
    """k6 1.1: the server closes silently after every 3rd response on a connection. 2 VUs x 10
    with sleep(0.05): 20/20 OK for every method, failed 0, on 8 connections (4 per VU: k6 keeps
    a pool per VU); no request received twice."""
    with cs.KeepAliveClose(after=3) as server:
        result = run(server.url, _method_request(variant), vus=2, iterations=10, think="50ms")
    method = METHODS[variant][0]
    assert result.requests == {(method, *OK): 20}
    assert result.failed == 0
    assert server.count(method) == 20
    assert 7 <= server.connections <= 8, "each connection carries up to 3 requests"
    assert server.duplicate_bodies() == []


@pytest.mark.parametrize("variant", ["GET", "POST+Idempotency-Key", "PUT+Idempotency-Key"])
def test_replayable_requests_survive_the_keep_alive_race(variant: str) -> None:
    """k6 1.1: the server closes after every response and the script does not think, so the next
    request often goes out on a connection the server is closing. 2 VUs x 100: GET, and POST or
    PUT carrying an Idempotency-Key header, are all 200/200 OK, failed 0: Go's Transport re-sends
    a replayable request that lost the race on a reused connection, and http_reqs counts it once.
    The server got exactly 200 (the raced attempts never reached the application)."""
    with cs.KeepAliveClose(after=1) as server:
        result = run(server.url, _method_request(variant), vus=2, iterations=100)
    method = METHODS[variant][0]
    assert result.requests == {(method, *OK): 200}
    assert result.failed == 0
    assert server.count(method) == 200
    assert server.duplicate_bodies() == []


@pytest.mark.parametrize("variant", ["POST", "PUT", "DELETE"])
def test_non_replayable_requests_are_never_resent_after_the_keep_alive_race(variant: str) -> None:
    """k6 1.1: same server and script, POST, PUT and DELETE without an Idempotency-Key. k6 loses
    some to the race and does NOT re-send them (Go's isReplayable): 2 VUs x 100 gave failed 56
    (POST), 40 (PUT), 43 (DELETE) of 200, as `read: connection reset by peer` (1220) or `EOF`
    (1000), status 0. The server got exactly the successful ones, none twice."""
    with cs.KeepAliveClose(after=1) as server:
        result = run(server.url, _method_request(variant), vus=2, iterations=100)
    method = METHODS[variant][0]
    assert result.total == 200
    assert set(result.classes()) <= {OK} | LOST_RACE
    assert result.failed == 200 - result.ok()
    _assert_never_resent(server, result, method)


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_a_50ms_keep_alive_timeout_with_50ms_think_time_reports_no_errors(reset: bool) -> None:
    """k6 1.1: the server closes any connection idle for 50 ms (FIN, or RST with SO_LINGER 0),
    the script sleeps 50 ms after each GET. 5 VUs x 40: 200/200 OK, failed 0 (server: 200 GETs
    on 130-155 connections). Requests that met a closing connection were re-sent (GET is
    replayable) and counted once. (For POST the same server gives k6 errors: see the next test.)"""
    with cs.IdleTimeout(idle=0.05, reset=reset) as server:
        result = run(server.url, _method_request("GET"), vus=5, iterations=40, think="50ms")
    assert result.requests == {("GET", *OK): 200}
    assert result.failed == 0
    assert result.checks == {"status 200": (200, 0)}
    assert server.count("GET") == 200


@pytest.mark.parametrize("variant", ["POST", "PUT", "DELETE"])
def test_no_post_reaches_the_server_twice(variant: str) -> None:
    """k6 1.1: the 50 ms keep-alive timeout server, 50 ms think time, non-replayable methods.
    The server's close and the request cross on the wire, and k6 does not re-send: 5 VUs x 40
    POST gave failed 41/200 (35 `EOF` 1000, 6 `read: connection reset by peer` 1220); 2 x 10
    PUT 2/20, DELETE 4/20. The server got exactly the successful ones and no body twice."""
    with cs.IdleTimeout(idle=0.05) as server:
        result = run(server.url, _method_request(variant), vus=5, iterations=40, think="50ms")
    method = METHODS[variant][0]
    assert result.total == 200
    assert set(result.classes()) <= {OK} | LOST_RACE
    _assert_never_resent(server, result, method)


@pytest.mark.parametrize("variant", ["GET", "POST", "PUT", "DELETE", "POST+Idempotency-Key"])
def test_an_idle_connection_reset_by_the_server_is_not_an_error(variant: str) -> None:
    """k6 1.1: the server answers, then 10 ms later resets the idle connection (SO_LINGER 0).
    With sleep(0.05), 2 VUs x 10: 20/20 OK for every method, failed 0, 20 connections; k6 saw
    the RST while idle and dialled anew."""
    with cs.IdleReset(delay=0.01) as server:
        result = run(server.url, _method_request(variant), vus=2, iterations=10, think="50ms")
    method = METHODS[variant][0]
    assert result.requests == {(method, *OK): 20}
    assert result.failed == 0
    assert server.count(method) == 20
    assert server.duplicate_bodies() == []


# ---------------------------------------------------------------------------------------------
# b. a request read in full, then the connection closed without an answer
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
@pytest.mark.parametrize("variant", ["GET", "POST", "PUT"])
def test_a_request_dropped_on_a_fresh_connection_fails_and_is_not_resent(
    variant: str, reset: bool
) -> None:
    """k6 1.1: the server reads each request in full and closes without answering, on every
    fresh connection. 1 VU x 4: 4/4 failed, status 0, `EOF` (1000) after a FIN or
    `read: connection reset by peer` (1220) after an RST, for GET as for POST and PUT: Go never
    re-sends the first request of a new connection. The server got exactly 4; data_received 0."""
    with cs.ReadThenClose(drop_at=1, reset=reset) as server:
        result = run(server.url, _method_request(variant), iterations=4, think="50ms")
    method = METHODS[variant][0]
    assert result.requests == {(method, *(RESET if reset else EOF)): 4}
    assert result.failed == 4
    assert result.checks == {"status 200": (0, 4)}
    assert server.count(method) == 4
    assert server.connections == 4


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_a_get_dropped_on_a_reused_connection_is_sent_again(reset: bool) -> None:
    """k6 1.1: the server answers the first request of each connection and reads the second in
    full, then closes without answering. 1 VU x 4 GET, sleep(0.05): 4/4 OK, failed 0; the server
    got 7 GETs on 4 connections: each dropped GET went again on a new connection (a GET is
    replayable even after the server read it)."""
    with cs.ReadThenClose(drop_at=2, reset=reset) as server:
        result = run(server.url, _method_request("GET"), iterations=4, think="50ms")
    assert result.requests == {("GET", *OK): 4}
    assert result.failed == 0
    assert server.count("GET") == 7
    assert server.connections == 4


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
@pytest.mark.parametrize("variant", ["POST", "PUT"])
def test_a_post_dropped_on_a_reused_connection_fails_and_is_not_resent(
    variant: str, reset: bool
) -> None:
    """k6 1.1: same server, 1 VU x 4 POST (or PUT), sleep(0.05): 2 OK, 2 failed with `EOF`
    (1000) after a FIN or `read: connection reset by peer` (1220) after an RST; the server got 4
    on 2 connections, no body twice."""
    with cs.ReadThenClose(drop_at=2, reset=reset) as server:
        result = run(server.url, _method_request(variant), iterations=4, think="50ms")
    method = METHODS[variant][0]
    assert result.requests == {(method, *OK): 2, (method, *(RESET if reset else EOF)): 2}
    assert result.failed == 2
    assert server.count(method) == 4
    assert server.connections == 2
    assert server.duplicate_bodies() == []


# ---------------------------------------------------------------------------------------------
# c. bodies delimited by the close
# ---------------------------------------------------------------------------------------------

WHOLE_BODY = {"body complete": 'body matches "^hello conformance\\n$"'}


@pytest.mark.parametrize("close_header", [False, True], ids=["no-header", "connection-close"])
@pytest.mark.parametrize("variant", ["GET", "POST"])
def test_a_body_ended_by_the_close_is_complete(variant: str, close_header: bool) -> None:
    """k6 1.1: 200 with neither Content-Length nor chunking, the body ended by the server's
    close (with or without a `Connection: close` header). 1 VU x 3, GET and POST: 3/3 OK,
    failed 0, res.body === 'hello conformance\\n' (the whole body, seen by checks), 3
    connections; data_received is the exact wire bytes (63 per response without the header)."""
    with cs.BodyToEof(connection_close_header=close_header) as server:
        method, body, _ = METHODS[variant]
        result = run(
            server.url,
            request(method, body=body, checks={**STATUS_200, **WHOLE_BODY}),
            iterations=3,
            think="50ms",
        )
    assert result.requests == {(method, *OK): 3}
    assert result.failed == 0
    assert result.checks == {"status 200": (3, 0), "body complete": (3, 0)}
    assert server.count(method) == 3
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
    if close_header:
        head += b"Connection: close\r\n"
    assert result.data_received == 3 * (len(head) + 2 + len(cs.BODY))


def test_a_megabyte_body_ended_by_the_close_arrives_whole() -> None:
    """k6 1.1: 1 MB + "END" with no framing, ended by the close: 2/2 OK, body length 1048579,
    ends with END."""
    body = b"z" * (1 << 20) + b"END"
    with cs.BodyToEof(body=body) as server:
        result = run(server.url, request(checks={"ends END": 'body matches "zEND$"'}), iterations=2)
    assert result.requests == {("GET", *OK): 2}
    assert result.checks == {"ends END": (2, 0)}
    assert result.data_received == 2 * (len(body) + 45)


# ---------------------------------------------------------------------------------------------
# d. interim (1xx) responses; a response nobody asked for
# ---------------------------------------------------------------------------------------------

FINAL = {
    **STATUS_200,
    "final body": 'body matches "^hello conformance\\n$"',
    "final headers": 'header "X-Final" exists and not header "Link" exists',
}


@pytest.mark.parametrize(
    ("interim", "methods"),
    [
        pytest.param(cs.CONTINUE, ["GET", "POST"], id="100"),
        pytest.param(cs.EARLY_HINTS, ["GET", "POST"], id="103-with-links"),
        pytest.param(cs.SIX_INTERIM, ["GET", "POST"], id="6x100"),
        pytest.param([(103, [("Link", "</a>; rel=preload")])] * 1000, ["GET"], id="1000x103"),
    ],
)
def test_interim_responses_are_skipped(interim, methods: list[str]) -> None:  # type: ignore[no-untyped-def]
    """k6 1.1: 1xx responses before the final 200 are skipped: res.status 200, res.body and
    res.headers the final response's (the 103's Link headers are not in res.headers), failed 0,
    the connection kept alive (2 requests on 1 connection). Measured for 100 Continue (no
    Expect sent), 103 Early Hints with two Link headers, 5, 6, 50, 1000 and 20000 interim
    responses: k6 1.1 is built with Go 1.24, whose Transport has no 5-response limit any more (it
    bounds the bytes of all heads by MaxResponseHeaderBytes, 10 MB), so 6 x 100 is NOT an error.
    data_received includes the interim heads."""
    with cs.Interim(interim) as server:
        result = run(
            server.url,
            *(request(m, body=METHODS[m][1], checks=FINAL) for m in methods),
            iterations=2,
        )
    assert result.requests == {(m, *OK): 2 for m in methods}
    assert result.failed == 0
    assert result.checks == {name: (2 * len(methods), 0) for name in FINAL}
    assert server.connections == 1
    interim_bytes = sum(len(cs.response(s, b"", h, length=False)) for s, h in interim)
    final_bytes = len(cs.response(200, cs.BODY, [("X-Final", "yes")]))
    assert result.data_received == 2 * len(methods) * (interim_bytes + final_bytes)


@pytest.mark.parametrize("second", ["GET", "POST"])
def test_an_unsolicited_response_never_answers_the_next_request(second: str) -> None:
    """k6 1.1: each answer is followed, in the same write, by a second complete response nobody
    asked for (`STALE`). Two requests per iteration (GET /first, then GET or POST /second), 1 VU
    x 3: 6/6 OK, failed 0, every /second got its own answer (no check saw STALE). k6 logs
    "Unsolicited response received on idle HTTP channel" and drops the connection: the server saw
    6 connections for 6 requests, nothing re-sent."""
    with cs.Unsolicited() as server:
        result = run(
            server.url,
            request("GET", "/first", checks={"first is its own": 'body contains "real /first"'}),
            request(
                second,
                "/second",
                body=METHODS[second][1],
                checks={
                    "second is its own": 'body contains "real /second"',
                    "second not stale": 'not body contains "STALE"',
                },
            ),
            iterations=3,
        )
    expected = Counter({("GET", *OK): 3})
    expected[(second, *OK)] += 3
    assert result.requests == expected
    assert result.checks == {
        "first is its own": (3, 0),
        "second is its own": (3, 0),
        "second not stale": (3, 0),
    }
    assert server.count() == 6
    assert server.connections == 6


# ---------------------------------------------------------------------------------------------
# e. content codings
# ---------------------------------------------------------------------------------------------

DECODED = 'body matches "^(hello conformance, decoded ){40}$"'


def test_coded_bodies_are_decoded_before_checks_and_counted_on_the_wire() -> None:
    """k6 1.1: Content-Encoding gzip, deflate (zlib-wrapped) and br bodies are decoded before
    checks see them (res.body === the 1080-byte plain text), identity is left alone; all on one
    keep-alive connection. A raw deflate stream labelled `deflate` fails the request: status 0,
    `error` = `error decompressing response body (error decompressing response body (zlib:
    invalid header))` (sic), `error_code` 1701. data_received counts the bytes on the wire
    (compressed), the failed response's included: 1681 for these five."""
    paths = ["gzip", "deflate", "br", "identity", "deflate-raw"]
    with cs.Coded() as server:
        result = run(
            server.url,
            *(request("GET", f"/{p}", name=p, checks={f"{p} decoded": DECODED}) for p in paths),
            iterations=1,
        )
    assert result.classes() == {
        OK: 4,
        (
            "0",
            "error decompressing response body (error decompressing response body (zlib: invalid header))",
            "1701",
        ): 1,
    }
    assert result.checks == {
        "gzip decoded": (1, 0),
        "deflate decoded": (1, 0),
        "br decoded": (1, 0),
        "identity decoded": (1, 0),
        "deflate-raw decoded": (0, 1),
    }
    assert server.connections == 1
    assert result.data_received == sum(len(cs.Coded.wire(p)) for p in paths) == 1681


def test_no_accept_encoding_is_sent_by_default() -> None:
    """k6 1.1 sends `Host` first, then `User-Agent` (`Grafana k6/1.1.0`), and nothing else on a
    plain GET: no Accept-Encoding (k6 disables Go's transparent gzip), no Connection, no Accept."""
    with cs.Recording() as server:
        run(server.url, request("GET", "/plain"), iterations=1)
    (received,) = server.requests
    names = [name.lower() for name, _ in received.headers]
    assert names[0] == "host"
    assert names.count("host") == 1 and names.count("user-agent") == 1
    assert "accept-encoding" not in names
    assert "connection" not in names


# ---------------------------------------------------------------------------------------------
# f. repeated response headers; g. request headers
# ---------------------------------------------------------------------------------------------


def test_repeated_response_headers_are_joined_as_k6_shows_them() -> None:
    """k6 1.1: two Set-Cookie and two X-Multi headers reach checks joined with ", " in wire
    order: res.headers['Set-Cookie'] === 'a=1; Path=/, b=2; Path=/', res.headers['X-Multi'] ===
    'one, two'; a header sent as `x-lower` is presented as `X-Lower`."""
    checks = {
        "cookies joined": 'header "Set-Cookie" contains "a=1; Path=/, b=2; Path=/"',
        "multi joined": 'header "X-Multi" contains "one, two"',
        "lower canonical": 'header "X-Lower" contains "lower"',
    }
    with cs.RepeatedHeaders() as server:
        result = run(server.url, request(checks=checks), iterations=2)
    assert result.requests == {("GET", *OK): 2}
    assert result.checks == {name: (2, 0) for name in checks}


def test_a_content_type_set_by_the_scenario_goes_on_the_wire_once() -> None:
    """k6 1.1: `http.post(url, '{"a": 1}', {headers: {'content-type': 'text/plain'}})` puts
    exactly one Content-Type on the wire, `text/plain`; so does a form body with a user
    content-type (the user's wins). Content-Length is the body's."""
    with cs.Recording() as server:
        run(
            server.url,
            request("POST", "/raw", body='{"a": 1}', headers={"content-type": "text/plain"}),
            request("POST", "/json-body", body='{"a": 1}', headers={"Content-Type": "text/plain"}),
            iterations=1,
        )
        run(
            server.url,
            '[[scenarios.c.requests]]\nmethod = "POST"\npath = "/json"\njson = { a = 1 }\n'
            'headers = { "content-type" = "text/plain" }\n',
            iterations=1,
        )
    assert [r.path for r in server.requests] == ["/raw", "/json-body", "/json"]
    for received in server.requests:
        assert received.header("Content-Type") == ["text/plain"], received.headers
        assert received.header("Content-Length") == [str(len(received.body))]


def test_request_header_names_go_out_in_canonical_form() -> None:
    """k6 1.1 (Go) writes header names canonicalised: a script's `content-type` and `x-custom`
    go on the wire as `Content-Type` and `X-Custom`."""
    with cs.Recording() as server:
        run(
            server.url,
            request(
                "POST", "/canon", body="x", headers={"content-type": "text/plain", "x-custom": "v"}
            ),
            iterations=1,
        )
    (received,) = server.requests
    names = [name for name, _ in received.headers]
    assert "Content-Type" in names and "X-Custom" in names, names


def test_content_length_follows_the_method_and_body() -> None:
    """k6 1.1: POST without a body sends `Content-Length: 0`; DELETE and OPTIONS without a body
    send no Content-Length; PUT 'x' sends 1."""
    with cs.Recording() as server:
        run(
            server.url,
            request("POST", "/post"),
            request("DELETE", "/delete"),
            request("OPTIONS", "/options"),
            request("PUT", "/put", body="x"),
            iterations=1,
        )
    lengths = {r.path: r.header("Content-Length") for r in server.requests}
    assert lengths == {"/post": ["0"], "/delete": [], "/options": [], "/put": ["1"]}


# ---------------------------------------------------------------------------------------------
# h. the rest
# ---------------------------------------------------------------------------------------------


def test_chunked_with_extensions_and_trailers() -> None:
    """k6 1.1: a chunked body with chunk extensions (`6;ext=1`) and a trailer field: 2/2 OK on
    one keep-alive connection, body exact. res.headers is {}: Go takes Transfer-Encoding and
    Trailer out of the header map, and the trailer field is not a header."""
    checks = {
        **WHOLE_BODY,
        "no framing headers": 'not header "Transfer-Encoding" exists and not header "Trailer" exists',
        "trailer is not a header": 'not header "X-Trailer" exists',
    }
    with cs.Chunked() as server:
        result = run(server.url, request(checks=checks), iterations=2)
    assert result.requests == {("GET", *OK): 2}
    assert result.checks == {name: (2, 0) for name in checks}
    assert server.connections == 1


def test_a_connection_close_response_is_complete_and_the_next_request_dials() -> None:
    """k6 1.1: `Connection: close` with Content-Length, then FIN: 3/3 OK, 3 connections, nothing
    re-sent; res.headers is {"Content-Length": "18"} (Go drops `Connection: close`)."""
    checks = {**WHOLE_BODY, "no connection header": 'not header "Connection" exists'}
    with cs.ConnectionCloseHeader() as server:
        result = run(server.url, request(checks=checks), iterations=3)
    assert result.requests == {("GET", *OK): 3}
    assert result.checks == {name: (3, 0) for name in checks}
    assert server.count() == 3
    assert server.connections == 3


def test_204_and_304_with_a_stray_content_length_have_no_body() -> None:
    """k6 1.1: 204 and 304 carrying `Content-Length: 5` and no body bytes: OK (304 is an
    expected response), failed 0, res.headers shows the Content-Length, no body is read, and the
    connection stays alive: 6 requests on 1 connection."""
    with cs.NoContent() as server:
        result = run(
            server.url,
            request("GET", "/204", checks={"204": "status == 204"}),
            request("GET", "/304", checks={"304": "status == 304"}),
            request("GET", "/204", name="again"),
            iterations=2,
        )
    assert result.classes() == {("204", "", ""): 4, ("304", "", ""): 2}
    assert result.failed == 0
    assert result.checks == {"204": (2, 0), "304": (2, 0)}
    assert server.connections == 1


def test_a_ten_megabyte_body() -> None:
    """k6 1.1: a 10 MB Content-Length body: 2/2 OK, body length exact, one connection;
    data_received 20971610 (2 x (10485760 + 45))."""
    with cs.BigBody() as server:
        result = run(
            server.url,
            request(checks={"tail": 'body matches "xhello conformance\\n$"'}),
            iterations=2,
        )
    assert result.requests == {("GET", *OK): 2}
    assert result.checks == {"tail": (2, 0)}
    assert result.data_received == 2 * (10 * 1024 * 1024 + 45)
    assert server.connections == 1


def test_a_body_dribbled_past_the_timeout_times_out() -> None:
    """k6 1.1: headers at once, then one body byte every 50 ms, `timeout: '500ms'`: 2/2 failed,
    status 0, `request timeout` (1050), duration about 500 ms: the timeout covers the whole
    request, body included. data_received counts the bytes that came (2 x (39 + 9) = 96)."""
    with cs.Dribble() as server:
        result = run(server.url, request(timeout="500ms"), iterations=2)
    assert result.requests == {("GET", *TIMEOUT): 2}
    assert 400 <= result.duration_max < 900
    assert 2 * 39 < result.data_received <= 2 * (39 + 11)
    assert server.count() == 2


def test_a_reset_in_the_middle_of_a_body() -> None:
    """k6 1.1: Content-Length 1000, 100 bytes, then RST: 2/2 failed, status 0,
    `read: connection reset by peer` (1220), not "unexpected EOF"; not re-sent."""
    with cs.ResetMidBody() as server:
        result = run(server.url, request(), iterations=2)
    assert result.requests == {("GET", *RESET): 2}
    assert server.count() == 2


def test_a_close_in_the_middle_of_a_body() -> None:
    """k6 1.1: Content-Length 1000, 100 bytes, then FIN: 2/2 failed, status 0, `unexpected EOF`
    (1000); not re-sent."""
    with cs.TruncatedBody() as server:
        result = run(server.url, request(), iterations=2)
    assert result.requests == {("GET", *UNEXPECTED_EOF): 2}
    assert server.count() == 2


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_server_that_never_answers_times_out_once(method: str) -> None:
    """k6 1.1: the server reads the request and never answers; `timeout: '300ms'`: 2/2 failed,
    status 0, `request timeout` (1050), duration about 300 ms; the server got 2 (no re-send)."""
    with cs.Silent() as server:
        result = run(
            server.url, request(method, body=METHODS[method][1], timeout="300ms"), iterations=2
        )
    assert result.requests == {(method, *TIMEOUT): 2}
    assert 250 <= result.duration_max < 700
    assert server.count(method) == 2


def test_garbage_instead_of_http() -> None:
    """k6 1.1: `\\x00\\x01this is not HTTP at all` then FIN: 2/2 failed, status 0, `error` =
    `malformed HTTP status code "is"` (Go's parse error for that status line), `error_code`
    1000; not re-sent."""
    with cs.Garbage() as server:
        result = run(server.url, request(), iterations=2)
    assert result.requests == {("GET", "0", 'malformed HTTP status code "is"', "1000"): 2}
    assert server.count() == 2


def test_seventy_kilobytes_of_response_headers() -> None:
    """k6 1.1: 716 headers (about 70 KB) plus Content-Length: 2/2 OK, every header in res.headers, body exact, one
    keep-alive connection (Go's limit is 10 MB)."""
    checks = {**WHOLE_BODY, "last header": 'header "X-Filler-00715" exists'}
    with cs.HugeHeaders() as server:
        result = run(server.url, request(checks=checks), iterations=2)
    assert result.requests == {("GET", *OK): 2}
    assert result.checks == {name: (2, 0) for name in checks}
    assert server.connections == 1


def test_connection_refused() -> None:
    """k6 1.1: a closed loopback port: 2/2 failed, status 0, `dial: connection refused` (1212),
    data_received 0."""
    result = run(f"http://127.0.0.1:{cs.closed_port()}", request(), iterations=2)
    assert result.requests == {("GET", *REFUSED): 2}
    assert result.data_received == 0


def test_a_flapping_target_counts_refusals_and_never_resends() -> None:
    """k6 1.1: a server listening 100 ms, then not listening 100 ms, alternately (answers carry
    `Connection: close`). 2 VUs x 30, sleep(0.02): 32 OK + 28 `dial: connection refused`
    (1212); the server got exactly the 32 that succeeded."""
    with cs.Flapping(period=0.1) as server:
        result = run(server.url, request(), vus=2, iterations=30, think="20ms")
    assert result.total == 60
    assert set(result.classes()) <= {OK, REFUSED}
    assert result.ok() > 0 and result.classes()[REFUSED] > 0
    assert server.count() == result.ok()


def test_http_error_statuses_carry_k6_error_codes() -> None:
    """k6 1.1 tags a response with status >= 400 with `error_code` 1000 + status (404 -> 1404,
    503 -> 1503, 999 -> 1999) and no `error` tag; 200 and 301 carry no error_code."""
    with cs.StatusEcho() as server:
        result = run(
            server.url,
            *(request("GET", f"/{code}", name=str(code)) for code in (200, 301, 404, 503, 999)),
            iterations=1,
        )
    assert result.classes() == {
        ("200", "", ""): 1,
        ("301", "", ""): 1,
        ("404", "", "1404"): 1,
        ("503", "", "1503"): 1,
        ("999", "", "1999"): 1,
    }


# ---------------------------------------------------------------------------------------------
# many VUs: every response reaches the request that asked for it
# ---------------------------------------------------------------------------------------------


def test_fifty_vus_each_get_their_own_responses() -> None:
    """k6 1.1: 50 VUs x 10 iterations of GET /id/a, /id/b, /id/c, then POST /id/p (each with
    `?id=VU-ITER`), sleep(0.05), against a server that echoes path and id, closes a keep-alive
    connection after every 3rd response and any connection idle 50 ms, and follows every 2nd
    response with an unsolicited `/id/stale` one: 2000/2000 OK, every check passed (each
    response was the one for its own path; no stale response ever answered a request). Without
    the stale responses, the POST (4th request, on a connection the server is closing) lost the
    race 91-110 times in 500, never re-sent; GETs never failed.

    Checks cannot hold `${vu}` templates, so the path goes in the checks and the id is checked
    on the server's side: every VU-ITER id reached every path, no POST body twice."""
    id_query = {"id": "${vu}-${iteration}"}
    steps = [
        request(
            "GET",
            f"/id/{step}",
            query=id_query,
            checks={f"step {step}": f'status == 200 and body contains "path=/id/{step} id="'},
        )
        for step in "abc"
    ]
    post = request(
        "POST",
        "/id/p",
        query=id_query,
        body="post-${vu}-${iteration}",
        checks={"post own": 'status != 200 or body contains "path=/id/p id="'},
    )
    with cs.EchoId(close_every=3, idle=0.05, stale_every=2) as server:
        result = run(server.url, *steps, post, vus=50, iterations=10, think="50ms")
    assert result.total == 2000
    assert result.classes("GET") == {OK: 1500}
    assert set(result.classes("POST")) <= {OK} | LOST_RACE
    assert result.checks == {
        "step a": (500, 0),
        "step b": (500, 0),
        "step c": (500, 0),
        "post own": (500, 0),
    }
    _assert_never_resent(server, result, "POST")
    seen: dict[str, set[str]] = {}
    for received in server.requests:
        ident = received.query.get("id", "")
        assert re.fullmatch(r"\d+-\d+", ident), received.target
        seen.setdefault(received.path, set()).add(ident)
    assert len(seen["/id/a"]) == len(seen["/id/b"]) == len(seen["/id/c"]) == 500
