"""Property-based fuzzing of the demo target's JSON routes: whatever a client sends, the answer is
a 4xx or a success, never a 500 (faults stay off; the capture drill's route, whose purpose is to
fail, is not fuzzed).

The target runs in this process, on its own event loop in a thread, so a synchronous Hypothesis
test can send it thousands of bodies over real loopback HTTP without starting it for each one.
Examples Hypothesis found are kept below as `@example` regression cases.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ccplate_tui.target import running_target
from ccplate_tui.target.faults import FAULT_KEYS
from ccplate_tui.target.json_body import MAX_JSON_DEPTH

JSON_ROUTES = [
    ("POST", "/api/auth/login"),
    ("POST", "/api/files"),
    ("POST", "/api/component-builder/generate"),
    ("POST", "/api/schema-builder/apply"),
    ("PATCH", "/__admin/faults"),
    ("PUT", "/__admin/faults"),
    ("POST", "/__sentry/api/1/envelope/?sentry_key=fuzz"),
]
GENERATE = "/api/component-builder/generate"
KNOWN_KEYS = (
    "email",
    "password",
    "filename",
    "content",
    "content_type",
    "description",
    "preferences",
    "mock",
    "model",
    "type",
    "event_id",
    *FAULT_KEYS,
)
CONTENT_TYPES = (
    "application/json",
    "application/problem+json",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=no-such-charset",
    "multipart/form-data",
    "multipart/form-data; boundary=x",
    "text/plain",
    None,
)
FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,  # the found examples live below as @example, not in a .hypothesis folder
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)


def _deep(depth: int, opener: str, closed: bool) -> bytes:
    closer = {"[": "]", '{"a":': "}"}[opener]
    return (opener * depth + ("1" + closer * depth if closed else "")).encode()


deep_bodies = st.builds(
    _deep,
    st.integers(min_value=MAX_JSON_DEPTH - 2, max_value=100_000),
    st.sampled_from(["[", '{"a":']),
    st.booleans(),
)
multipart_pieces = st.sampled_from(
    [
        b"--x\r\n",
        b"--x--\r\n",
        b"\r\n",
        b'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n',
        b'Content-Disposition: form-data; name="email"\r\n',
        b"Content-Type: text/plain; charset=no-such-charset\r\n",
        b"Content-Type: multipart/mixed; boundary=y\r\n",
        b"a" * 9000,
    ]
)
multipart_bodies = st.lists(multipart_pieces | st.binary(max_size=20), max_size=12).map(b"".join)
bodies = (
    json_values.map(lambda value: json.dumps(value).encode())
    | deep_bodies
    | multipart_bodies
    | st.binary(max_size=200)
    | st.text(max_size=200).map(str.encode)
)


class ThreadedTarget:
    """The demo target on its own event loop in a daemon thread; `url` while inside `with`."""

    def __init__(self, db_path: Path) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._target = running_target(db_path=db_path)
        self.url = ""

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(30)

    def __enter__(self) -> ThreadedTarget:
        self._thread.start()
        self.url = self._call(self._target.__aenter__())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._call(self._target.__aexit__(None, None, None))
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    db_path = tmp_path_factory.mktemp("fuzz") / "target.db"
    with ThreadedTarget(db_path) as target, httpx.Client(base_url=target.url, timeout=30) as http:
        yield http


def _for_route(path: str, body: bytes) -> bytes:
    """A generation that would pass is made a mock one: a real one sleeps 1 to 4 s."""
    if path != GENERATE:
        return body
    with contextlib.suppress(ValueError, RecursionError):
        value = json.loads(body)
        if isinstance(value, dict):
            return json.dumps({**value, "mock": True}).encode()
    return body


def _send(
    client: httpx.Client,
    method: str,
    path: str,
    body: bytes,
    content_type: str | None,
    encoding: str | None = None,
) -> httpx.Response:
    headers = {} if content_type is None else {"Content-Type": content_type}
    if encoding is not None:
        headers["Content-Encoding"] = encoding
    try:
        return client.request(method, path, content=_for_route(path, body), headers=headers)
    finally:
        if path.startswith("/__admin/"):  # whatever the body switched on, switch it off again
            client.delete("/__admin/faults")


def _assert_answered(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text[:500]
    if response.headers.get("Content-Type", "").startswith("application/json"):
        assert isinstance(response.json(), dict)


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
@FUZZ
@given(
    body=bodies,
    content_type=st.sampled_from(CONTENT_TYPES),
    encoding=st.sampled_from([None, None, None, "gzip", "deflate", "br", "zstd", "bogus"]),
)
@example(body=b"[" * 100_000, content_type="application/json", encoding=None)
@example(body=b'{"a":' * 100_000, content_type=None, encoding=None)
@example(body=b"\xff\xfe{", content_type="application/json", encoding=None)
@example(body=b'{"latency": 1e300}', content_type="application/json", encoding=None)
@example(body=b'{"latency": "100000h"}', content_type="application/json", encoding=None)
@example(body=b'{"latency": ' + b"9" * 400 + b"}", content_type="application/json", encoding=None)
@example(body=b'{"seed": ' + b"9" * 400 + b"}", content_type="application/json", encoding=None)
@example(body=b'{"error_rate": NaN}', content_type="application/json", encoding=None)
@example(
    body=b"preferences=" + b"[" * 5000,
    content_type="application/x-www-form-urlencoded",
    encoding=None,
)
# Found by Hypothesis: aiohttp's LookupError for an unknown charset, and its LineTooLong and
# InvalidHeader while reading multipart part headers, were 500s.
@example(body=b"email=a", content_type=CONTENT_TYPES[3], encoding=None)
@example(body=b"--x\r\n" + b"a" * 9000 + b"\r\n\r\n", content_type=CONTENT_TYPES[5], encoding=None)
@example(body=b"--x\r\n" + b"a" * 100, content_type=CONTENT_TYPES[5], encoding=None)
@example(body=b"\x00not gzip", content_type="application/json", encoding="gzip")
# Found by Hypothesis: a body aiohttp could not decompress reset the connection before the answer,
# and a truncated deflate body (b"{}") left the request waiting until the client gave up.
@example(body=b"{}", content_type="application/json", encoding="deflate")
@example(body=b"{}", content_type="text/plain", encoding="deflate")
def test_json_routes_answer_any_body_below_500(
    client: httpx.Client,
    method: str,
    path: str,
    body: bytes,
    content_type: str | None,
    encoding: str | None,
) -> None:
    _assert_answered(_send(client, method, path, body, content_type, encoding))


@FUZZ
@given(value=json_values)
@example(value={"description": "x", "preferences": "[" * 5000})
@example(value={"latency": 10**400, "error_rate": 10**400})
def test_form_fields_from_any_json_object_answer_below_500(
    client: httpx.Client, value: Any
) -> None:
    """The same values as form fields (k6 posts a plain object so): nested ones arrive as text."""
    if not isinstance(value, dict):
        value = {"description": value}
    fields = {key: v if isinstance(v, str) else json.dumps(v) for key, v in value.items()}
    fields["mock"] = "true"
    for path in ("/api/auth/login", "/api/files", GENERATE, "/api/schema-builder/apply"):
        _assert_answered(client.post(path, data=fields))


@FUZZ
@given(file_id=st.text(st.characters(categories=["Nd"]), min_size=1, max_size=600))
@example(file_id="9" * 5000)
@example(file_id="9" * 19)
@example(file_id="٣")
def test_file_ids_of_any_digits_answer_below_500(client: httpx.Client, file_id: str) -> None:
    for suffix in ("", "/content"):
        response = client.get(f"/api/files/{file_id}{suffix}")
        assert response.status_code in (200, 404), response.text[:500]
