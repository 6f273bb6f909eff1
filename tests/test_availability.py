"""The availability probe (`[availability]`): config checks, the loopback guard, single probes
and the prober against a real loopback health endpoint told to fail, hang or hang up, tallies and
the summary. Every wait is a poll with a deadline, never a bet on the machine's speed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from ccplate_tui.config.errors import ConfigError
from ccplate_tui.config.loader import load_config
from ccplate_tui.config.model import AvailabilitySpec, Config
from ccplate_tui.config.timescale import with_time_scale
from ccplate_tui.k6.runner import K6Run
from ccplate_tui.load.availability import AvailabilityProber, probe_once
from ccplate_tui.load.engine import LoadRun, resolve_plan
from ccplate_tui.load.metrics import MetricSet
from ccplate_tui.load.probe_tally import (
    OTHER_REASONS,
    PROBES_FOR_999,
    ProbeTally,
    capped_reasons,
    total_tally,
    truncated_percent,
)
from ccplate_tui.load.results import RunResult
from ccplate_tui.load.side_loop import SideLoop
from ccplate_tui.load.summary import render_summary
from ccplate_tui.load.summary_export import summary_export
from ccplate_tui.loopback import RemoteTargetRefused
from ccplate_tui.release.plan_rows import MIN_PROBES
from tests.availability_fixtures import (
    SCENARIO,
    HealthServer,
    health,
    health_server,
    parse_with,
    server,
    wait_for,
)
from tests.http_fixtures import FixtureServer, free_port

__all__ = ["health", "health_server", "server"]  # fixtures, imported for pytest


# --- config -------------------------------------------------------------------------------------


def test_defaults_and_the_urls_a_probe_may_name() -> None:
    base = '[target]\nbase_url = "http://127.0.0.1:9000/app/"\n'
    spec = parse_with('[availability]\nurl = "/api/health"\n', base).availability
    assert spec == AvailabilitySpec("http://127.0.0.1:9000/app/api/health", 0.25, 2.0, "GET", ())
    same = parse_with('[availability]\nurl = "${base_url}/api/health"\n', base).availability
    assert same == spec
    full = parse_with(
        '[availability]\nurl = "http://localhost:81/up"\nevery = "10ms"\ntimeout = "500ms"\n'
        'method = "head"\nexpect_status = [200, 204]\n'
    ).availability
    assert full == AvailabilitySpec("http://localhost:81/up", 0.01, 0.5, "HEAD", (200, 204))
    assert parse_with('[availability]\nurl = "/h"\nexpect_status = 204\n').availability == (
        AvailabilitySpec("http://127.0.0.1:8787/h", expect_status=(204,))
    )
    assert parse_with("").availability is None


def test_what_counts_as_up() -> None:
    anything_2xx = AvailabilitySpec("http://127.0.0.1/h")
    assert anything_2xx.accepts(200) and anything_2xx.accepts(299)
    assert not anything_2xx.accepts(301) and not anything_2xx.accepts(503)
    only = AvailabilitySpec("http://127.0.0.1/h", expect_status=(204, 301))
    assert only.accepts(301) and not only.accepts(200)


def test_the_time_scale_leaves_the_probe_on_the_wall_clock() -> None:
    config = parse_with('[availability]\nurl = "/h"\nevery = "250ms"\n')
    assert with_time_scale(config, 0.1).availability == config.availability


@pytest.mark.parametrize(
    ("block", "key_path", "words"),
    [
        ('[availability]\nevery = "1s"\n', "availability.url", "missing required key 'url'"),
        ('[availability]\nurl = "ftp://127.0.0.1/h"\n', "availability.url", "http://"),
        ('[availability]\nurl = "api/health"\n', "availability.url", "a path like"),
        ('[availability]\nurl = "${host}/h"\n', "availability.url", "unknown variable"),
        ('[availability]\nurl = "http://127.0.0.1:99999/h"\n', "availability.url", "http://"),
        ('[availability]\nurl = 8787\n', "availability.url", "expected a string"),
        ('[availability]\nurl = "/h"\nevery = "5ms"\n', "availability.every", "at least 10ms"),
        ('[availability]\nurl = "/h"\nevery = 1\n', "availability.every", "with a unit"),
        ('[availability]\nurl = "/h"\ntimeout = "0s"\n', "availability.timeout", "> 0"),
        ('[availability]\nurl = "/h"\ntimeout = "soon"\n', "availability.timeout", "duration"),
        ('[availability]\nurl = "/h"\nmethod = "POST"\n', "availability.method", "GET, HEAD"),
        ('[availability]\nurl = "/h"\nexpect_status = [700]\n', "availability.expect_status[0]", "100-599"),
        ('[availability]\nurl = "/h"\nexpect_status = "200"\n', "availability.expect_status", "HTTP status"),
        ('[availability]\nurl = "/h"\ninterval = "1s"\n', "availability.interval", "unknown key"),
        ('availability = "/api/health"\n', "availability", "expected a table"),
    ],
)  # fmt: skip
def test_bad_availability_names_the_key_and_line(block: str, key_path: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_with(block)
    assert caught.value.key_path == key_path
    assert words in caught.value.message, caught.value.message
    assert caught.value.line is not None and caught.value.line <= block.count("\n")


def _cli(*args: str, cwd: Path, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ccplate_tui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def test_a_bad_probe_exits_2_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.toml"
    path.write_text('[availability]\nurl = "/h"\nevery = "1ms"\n' + SCENARIO)
    done = _cli("run", "--config", str(path), "--state", "s", cwd=tmp_path)
    assert done.returncode == 2
    assert f"{path}:3:" in done.stderr and "availability.every" in done.stderr
    assert "at least 10ms" in done.stderr


# --- the loopback guard -------------------------------------------------------------------------


REMOTE = '[availability]\nurl = "http://192.0.2.1/health"\n'
"""192.0.2.1 is TEST-NET-1: were it contacted, a test would hang rather than fail fast."""


def test_a_remote_probe_is_refused_unless_remote_targets_are_allowed(tmp_path: Path) -> None:
    config = parse_with(REMOTE)
    plan = resolve_plan(config, ["a"])
    with pytest.raises(RemoteTargetRefused) as caught:
        LoadRun(config, plan, workers=1)
    assert "refusing to probe http://192.0.2.1/health" in str(caught.value)
    assert "--allow-remote" in str(caught.value)
    assert LoadRun(config, plan, workers=1, allow_remote=True).prober is not None
    allowed = parse_with(REMOTE, "[target]\nallow_remote = true\n")
    assert LoadRun(allowed, resolve_plan(allowed, ["a"]), workers=1).prober is not None

    path = tmp_path / "scenarios.toml"
    path.write_text(REMOTE + SCENARIO)
    done = _cli("run", "--config", str(path), "--state", "s", cwd=tmp_path)
    assert done.returncode == 2
    assert "refusing to probe http://192.0.2.1/health" in done.stderr


def test_the_k6_engine_refuses_a_remote_probe_too() -> None:
    config = parse_with(REMOTE)
    with pytest.raises(RemoteTargetRefused, match="refusing to probe"):
        K6Run(config, resolve_plan(config, ["a"]), k6_binary=sys.executable)


# --- one probe ----------------------------------------------------------------------------------


def _probe(url: str, timeout: float = 2.0, **kwargs: object) -> str | None:
    async def go() -> str | None:
        async with httpx.AsyncClient(trust_env=False) as client:
            return await probe_once(client, AvailabilitySpec(url, timeout=timeout, **kwargs))  # type: ignore[arg-type]

    return asyncio.run(go())


def test_each_way_a_probe_fails_has_its_reason(health: HealthServer, server: FixtureServer) -> None:
    assert _probe(health.url) is None
    assert _probe(health.url, method="HEAD") is None
    health.fail_next = 1
    assert _probe(health.url) == "HTTP 503"
    assert _probe(server.url + "/status/204", expect_status=(200,)) == "HTTP 204"
    assert _probe(server.url + "/status/302") == "HTTP 302"  # redirects are not followed
    assert _probe(f"http://127.0.0.1:{free_port()}/health") == "cannot connect: Connection refused"
    health.hold = True
    started = time.monotonic()
    assert _probe(health.url, timeout=0.2) == "no answer within 200ms"
    assert time.monotonic() - started < 30  # bounded by the timeout, not by the server
    health.reset()
    health.hang_up = True
    reason = _probe(health.url)
    assert reason is not None and reason.startswith("broken answer: ")


# --- the prober ---------------------------------------------------------------------------------


def _collect(prober: AvailabilityProber, until: Callable[[ProbeTally], bool]) -> ProbeTally:
    """Take tallies as a run would, until their sum satisfies `until`."""
    total = ProbeTally()

    def more() -> bool:
        nonlocal total
        total = total.merge(prober.take())
        return until(total)

    wait_for("the probes", more)
    return total


def test_the_prober_counts_each_failed_probe_once(health: HealthServer) -> None:
    health.fail_next = 3
    prober = AvailabilityProber(AvailabilitySpec(health.url, every=0.02))
    before = time.time()
    prober.start(time.perf_counter(), time.time())
    try:
        total = _collect(prober, lambda t: t.sent >= 12)
    finally:
        prober.close()
    assert not prober.running
    assert total.failures == {"HTTP 503": 3}
    assert total.ok == total.sent - 3 and total.failed == 3
    assert total.first_at is not None and total.last_at is not None
    assert before - 1 <= total.first_at < total.last_at <= time.time()
    assert health.hits >= total.sent  # at most one probe in flight was abandoned, uncounted


def test_a_probe_in_flight_belongs_to_a_later_interval(health: HealthServer) -> None:
    health.hold = True
    prober = AvailabilityProber(AvailabilitySpec(health.url, every=0.02, timeout=30))
    prober.start(time.perf_counter(), time.time())
    try:
        wait_for("the first probe to reach the server", lambda: health.hits == 1)
        assert prober.take() == ProbeTally()  # in flight: not counted yet
        health.release.set()
        later = _collect(prober, lambda t: t.sent >= 1)
        assert later.ok >= 1 and later.failed == 0
    finally:
        prober.close()


def test_a_probe_slower_than_every_skips_ticks_and_times_out(health: HealthServer) -> None:
    health.hold = True
    prober = AvailabilityProber(AvailabilitySpec(health.url, every=0.05, timeout=0.2))
    prober.start(time.perf_counter(), time.time())
    try:
        total = _collect(prober, lambda t: t.sent >= 2)
    finally:
        prober.close()
    assert total.ok == 0 and total.failures == {"no answer within 200ms": total.sent}
    assert total.skipped >= total.sent  # each 200ms wait overran at least one 50ms tick
    assert health.hits <= total.sent + 1  # never stacked: one probe in flight at most


def test_a_refused_connection_is_a_failed_probe() -> None:
    url = f"http://127.0.0.1:{free_port()}/health"
    prober = AvailabilityProber(AvailabilitySpec(url, every=0.02))
    prober.start(time.perf_counter(), time.time())
    try:
        total = _collect(prober, lambda t: t.sent >= 3)
    finally:
        prober.close()
    assert total.ok == 0 and total.failures == {"cannot connect: Connection refused": total.sent}


def test_closing_abandons_a_probe_in_flight_at_once(health: HealthServer) -> None:
    health.hold = True
    prober = AvailabilityProber(AvailabilitySpec(health.url, every=0.02, timeout=60))
    prober.start(time.perf_counter(), time.time())
    wait_for("a probe in flight", lambda: health.hits == 1)
    started = time.monotonic()
    prober.close()
    assert not prober.running
    assert time.monotonic() - started < 5  # the 60s timeout is not waited out
    assert prober.take() == ProbeTally()


# --- tallies and the summary --------------------------------------------------------------------


def test_tallies_merge_and_cap_their_reasons() -> None:
    a = ProbeTally(4, 3, {"HTTP 503": 1}, first_at=10.0, last_at=11.0)
    b = ProbeTally(5, 2, {"HTTP 503": 2, "no answer within 2s": 1}, 11.5, 12.0, skipped=7)
    assert a.merge(b) == ProbeTally(
        9, 5, {"HTTP 503": 3, "no answer within 2s": 1}, 10.0, 12.0, skipped=7
    )
    assert total_tally([None, a, None, b]) == a.merge(b) and total_tally([None]) is None
    many = {f"HTTP 5{i:02d}": 10 - i for i in range(8)}
    capped = capped_reasons(many)
    assert list(capped) == ["HTTP 500", "HTTP 501", "HTTP 502", "HTTP 503", OTHER_REASONS]
    assert capped[OTHER_REASONS] == sum(range(3, 7)) and sum(capped.values()) == sum(many.values())
    assert ProbeTally.from_json(json.loads(json.dumps(b.to_json()))) == b
    for bad in ({"sent": 1, "ok": 2}, {"sent": -1}, {"sent": 1, "failures": []}, []):
        with pytest.raises(ValueError):
            ProbeTally.from_json(bad)


def test_percentages_are_truncated_never_rounded_up() -> None:
    assert truncated_percent(99_899, 100_000) == "99.89%"
    assert truncated_percent(999, 1000) == "99.90%"
    assert truncated_percent(1, 3) == "33.33%" and truncated_percent(2, 3) == "66.66%"
    assert truncated_percent(1200, 1200) == "100.00%" and truncated_percent(0, 5) == "0.00%"
    assert PROBES_FOR_999 == MIN_PROBES  # the summary's note and the verdict's rule agree


def _result(config: Config, probes: ProbeTally | None) -> RunResult:
    return RunResult(config, ("a",), MetricSet(), 300.0, [], (), 1e9, probes=probes)


def test_the_summary_shows_availability_with_its_window_and_count() -> None:
    config = load_config(Path(__file__).resolve().parent.parent / "scenarios.toml")
    start = 1_764_000_000.0
    full = ProbeTally(1200, 1200, {}, start, start + 299.75)
    text = render_summary(_result(config, full))
    assert "█ AVAILABILITY" in text
    assert (
        "100.00% of 1,200 probes ok (GET http://127.0.0.1:8787/api/health every 250ms, 5m0s)"
    ) in text
    assert "not enough probes" not in text

    failing = ProbeTally(
        900, 896, {"HTTP 503": 3, "no answer within 2s": 1}, start, start + 224.75, skipped=7
    )
    text = render_summary(_result(config, failing))
    assert "99.55% of 900 probes ok (GET http://127.0.0.1:8787/api/health every 250ms, 3m45s)" in (
        text
    )
    assert "failed: HTTP 503 ×3, no answer within 2s ×1" in text
    assert "7 ticks skipped while a slower probe was waiting (timeout 2s)" in text
    assert "not enough probes to support 99.9% (900 of the 1,000 it needs)" in text
    assert "no probe finished" in render_summary(_result(config, ProbeTally()))
    assert "AVAILABILITY" not in render_summary(_result(config, None))
    exported = summary_export(_result(config, failing))["ccplate"]["availability"]
    assert exported["sent"] == 900 and exported["failures"] == {
        "HTTP 503": 3,
        "no answer within 2s": 1,
    }


def test_a_side_loop_stops_even_when_a_cancellation_is_swallowed() -> None:
    """Python 3.11's `asyncio.wait_for` can swallow a cancellation that lands as its inner
    await completes; a probe loop must still end on `stop`, or it probes on after its run
    (and, in one process, eats another run's answers)."""
    side = SideLoop("test-side")
    turns = 0

    async def main() -> None:
        nonlocal turns
        while not side.stopping.is_set():
            turns += 1
            # What the 3.11 race looks like from the loop's side: the cancellation is lost.
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0.01)

    side.start(main)
    deadline = time.monotonic() + 30
    while turns < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    side.stop(5.0)
    assert not side.running and turns >= 3
