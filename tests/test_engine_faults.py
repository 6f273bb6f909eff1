"""Target faults are counted by error class in http_req_failed; the run never crashes."""

from __future__ import annotations

import threading

import pytest

from ccplate_tui.config.loader import parse_config
from ccplate_tui.load.engine import LoadRun, resolve_plan
from ccplate_tui.load.metrics import Rate
from ccplate_tui.load.safety import RemoteTargetRefused, check_target, is_loopback_url
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


class _StopServerOnceAnswered(list):  # type: ignore[type-arg]
    """Run updates, as run_toml collects them; stops the server after the first interval in
    which it answered, so the run sees it go away however slowly the machine starts workers."""

    def __init__(self, server: FixtureServer) -> None:
        super().__init__()
        self.server = server
        self.stopper: threading.Thread | None = None

    def append(self, update) -> None:  # type: ignore[no-untyped-def,override]
        super().append(update)
        if self.stopper is None and update.totals.select("http_reqs") is not None:
            self.stopper = threading.Thread(target=self.server.stop)
            self.stopper.start()


def test_a_server_that_stops_mid_run_leaves_a_clean_result() -> None:
    server = FixtureServer()
    url = server.start()
    updates = _StopServerOnceAnswered(server)
    try:
        result = run_toml(
            f"""
[target]
base_url = "{url}"
[options]
interval = "0.5s"
[scenarios.steady]
executor = "constant-vus"
vus = 2
duration = "3s"
[[scenarios.steady.requests]]
path = "/sleep/10"
""",
            updates=updates,
        )
    finally:
        if updates.stopper is not None:
            updates.stopper.join(10)
        server.__exit__()
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
