"""Target faults are counted by error class in http_req_failed; the run never crashes."""

from __future__ import annotations

import pytest

from ccplate_tui.config.loader import parse_config
from ccplate_tui.load.engine import LoadRun, resolve_plan
from ccplate_tui.load.metrics import Rate
from ccplate_tui.loopback import RemoteTargetRefused, check_target, is_loopback_url
from tests.engine_helpers import run_toml
from tests.http_fixtures import FixtureServer, fixture_server, free_port


def _one_path(url: str, path: str, extra: str = "") -> str:
    return f"""
[target]
base_url = "{url}"
[scenarios.fault]
executor = "per-vu-iterations"
vus = 2
iterations = 3
{extra}
[[scenarios.fault.requests]]
path = "{path}"
"""


def _errors(result) -> dict[str, int]:
    out: dict[str, int] = {}
    for (metric, tags), sink in result.totals.series.items():
        if metric == "http_reqs":
            error = dict(tags).get("error") or f"status {dict(tags)['status']}"
            out[error] = out.get(error, 0) + int(sink.value)
    return out


def _failed(result) -> Rate:
    sink = result.totals.select("http_req_failed")
    assert isinstance(sink, Rate)
    return sink


@pytest.fixture(scope="module")
def server():
    with fixture_server() as srv:
        yield srv


def test_connection_refused_is_counted_not_raised() -> None:
    result = run_toml(_one_path(f"http://127.0.0.1:{free_port()}", "/ok"))
    assert _errors(result) == {"dial: connection refused": 6}
    assert _failed(result).passes == 6 and _failed(result).total == 6
    assert result.stopped is None
    codes = result.totals.tag_values("http_reqs", "error_code")
    assert codes == ["1212"]


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/reset", "unexpected EOF"),
        ("/garbage", 'malformed HTTP status code "is"'),  # Go's words, as k6 reports them
        ("/drop", "EOF"),
    ],
)
def test_broken_responses_are_counted_by_class(server, path: str, error: str) -> None:
    result = run_toml(_one_path(server.url, path))
    assert _errors(result) == {error: 6}
    assert _failed(result).rate == 1.0


def test_a_timeout_is_its_own_class(server) -> None:
    result = run_toml(_one_path(server.url, "/sleep/3000", 'timeout = "200ms"'))
    assert _errors(result) == {"request timeout": 6}


def test_server_errors_fail_requests_by_status(server) -> None:
    result = run_toml(_one_path(server.url, "/status/503"))
    assert _errors(result) == {"status 503": 6}
    assert _failed(result).rate == 1.0


def test_expected_statuses_decide_what_counts_as_failed(server) -> None:
    result = run_toml(_one_path(server.url, "/status/423", "expected_statuses = [200, 423]"))
    assert _failed(result).passes == 0


STOP_AFTER = 20
"""Answers the server gives before it stops: more than the 10 the test wants to see succeed."""


def test_a_server_that_stops_mid_run_leaves_a_clean_result() -> None:
    server = FixtureServer()
    url = server.start()
    # Stopped by what the run did, not by a clock: the 20th answer takes it down however slowly
    # the workers start; 2 x 100 iterations leave far more than 10 to meet it gone.
    server.stop_after(STOP_AFTER)
    try:
        result = run_toml(
            f"""
[target]
base_url = "{url}"
[scenarios.steady]
executor = "per-vu-iterations"
vus = 2
iterations = 100
[[scenarios.steady.requests]]
path = "/sleep/10"
"""
        )
    finally:
        server.__exit__()
    assert server.answered >= STOP_AFTER, (
        f"the server answered only {server.answered} of the run's requests, so it never stopped"
    )
    errors = _errors(result)
    assert errors.get("status 200", 0) > 10
    assert errors.get("dial: connection refused", 0) > 10
    assert result.stopped is None


def test_a_remote_target_is_refused_before_any_connection() -> None:
    config = parse_config(_one_path("http://10.255.255.1:8787", "/ok"), "remote.toml")
    with pytest.raises(RemoteTargetRefused, match="allow_remote"):
        LoadRun(config, resolve_plan(config, []))


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8787", True),
        ("http://127.8.9.10/", True),
        ("http://localhost:3000", True),
        ("http://[::1]:80", True),
        ("http://10.0.0.1", False),
        ("https://ccplate.example.com", False),
        ("http://0.0.0.0:80", False),
    ],
)
def test_loopback_detection(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback
    if not loopback:
        with pytest.raises(RemoteTargetRefused):
            check_target(url, allow_remote=False)
    check_target(url, allow_remote=True)
