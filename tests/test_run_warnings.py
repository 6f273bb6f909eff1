"""The run's warnings as the coordinator gives them: the generator's health with its cause, the
host's figures read on the coordinator, and k6's `Insufficient VUs` once per scenario."""

from __future__ import annotations

import os
from collections import namedtuple

import psutil
import pytest

from ccplate_tui.config.loader import parse_config
from ccplate_tui.load import pool as pool_module
from ccplate_tui.load.engine import RunUpdate, resolve_plan
from ccplate_tui.load.metrics import MetricSet
from ccplate_tui.load.pool import HostSampler, WorkerPool
from ccplate_tui.load.scenario_runner import insufficient_vus_note, insufficient_vus_scenario
from tests.engine_helpers import run_toml
from tests.recording_server import RecordingServer

CAPPED = """
[target]
base_url = "{url}"
[options]
interval = "250ms"
[scenarios.checkout]
executor = "constant-arrival-rate"
rate = 40
duration = "1500ms"
preAllocatedVUs = 2
maxVUs = 6
gracefulStop = "0s"
[[scenarios.checkout.requests]]
path = "/slow"
"""

QUICK = """
[target]
base_url = "{url}"
[options]
interval = "250ms"
[scenarios.quick]
executor = "constant-vus"
vus = 1
duration = "600ms"
gracefulStop = "0s"
think_time = "20ms"
[[scenarios.quick.requests]]
path = "/ok"
"""


def _pool(text: str, workers: int = 2) -> WorkerPool:
    config = parse_config(text, "test.toml")
    plan = resolve_plan(config, [])
    pool = WorkerPool(plan.scenarios, config.target, workers=workers)
    pool.run_start = pool.wall_start = 0.0
    return pool


def _interval(index: int, notes: list[str], *extra: object) -> tuple:
    return ("interval", index, 0, 0.0, 0.25, MetricSet(), [], 3.0, 1.0, notes, *extra)


def test_the_vus_warning_is_given_once_with_the_scenarios_total_however_many_workers() -> None:
    with RecordingServer(delay=1.0) as server:
        updates: list[RunUpdate] = []
        result = run_toml(CAPPED.format(url=server.url), workers=2, updates=updates)
    warnings = [n for n in result.notes if "Insufficient VUs" in n]
    assert warnings == [
        "checkout: Insufficient VUs, reached 6 active VUs and cannot initialize more"
    ]
    live = [n for u in updates for n in u.snapshot.notes if "Insufficient VUs" in n]
    assert live == warnings


def test_the_coordinator_merges_the_workers_vus_warnings() -> None:
    pool = _pool(CAPPED.format(url="http://127.0.0.1:1"))
    share = insufficient_vus_note("checkout", 3)
    assert insufficient_vus_scenario(share) == "checkout"
    assert insufficient_vus_scenario("worker 1 exited unexpectedly") is None
    first = pool._merge(0, [_interval(0, [share, "something else"]), _interval(1, [share])])
    assert first.notes == (insufficient_vus_note("checkout", 6), "something else")
    assert pool._merge(1, [_interval(0, []), _interval(1, [share])]).notes == ()


def test_a_worker_may_or_may_not_report_the_demo_target() -> None:
    pool = _pool(QUICK.format(url="http://127.0.0.1:1"))
    assert pool._merge(0, [_interval(0, []), _interval(1, [])]).target_demo is None
    assert pool._merge(1, [_interval(0, [], None), _interval(1, [], "0.1.0")]).target_demo == (
        "0.1.0"
    )
    assert pool._merge(2, [_interval(0, []), _interval(1, [], None)]).target_demo == "0.1.0"


def test_the_coordinator_reads_the_hosts_figures_into_each_snapshot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(psutil, "getloadavg", lambda: (3.1, 2.0, 1.0))
    with RecordingServer() as server:
        updates: list[RunUpdate] = []
        run_toml(QUICK.format(url=server.url), updates=updates)
    assert updates
    for update in updates:
        health = update.snapshot.health
        assert health is not None
        assert health.host_load_1m == 3.1
        assert health.host_cores == os.cpu_count()
        assert health.host_cpu_percent is not None and 0.0 <= health.host_cpu_percent <= 100.0
        assert health.cpu_total_percent is not None
        assert health.cpu_total_percent >= health.cpu_percent


def test_host_cpu_is_the_busy_share_of_the_time_since_the_last_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    Times = namedtuple("Times", "user system idle iowait")
    readings = iter([Times(100, 0, 100, 0), Times(190, 7, 100, 3), Times(190, 7, 200, 3)])
    monkeypatch.setattr(psutil, "cpu_times", lambda: next(readings))
    monkeypatch.setattr(psutil, "getloadavg", lambda: (0.5, 0.5, 0.5))
    sampler = HostSampler()
    assert sampler.read() == (97.0, 0.5)  # 97 busy of 100 s: iowait counts as idle
    assert sampler.read() == (0.0, 0.5)


def test_a_host_without_figures_leaves_them_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable() -> object:
        raise OSError("not on this platform")

    monkeypatch.setattr(psutil, "cpu_times", unavailable)
    monkeypatch.setattr(psutil, "getloadavg", unavailable)
    assert pool_module.HostSampler().read() == (None, None)
