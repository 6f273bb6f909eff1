"""`ccplate-tui history list | show | baseline | compare | recheck` on real recorded runs.

Two real `ccplate-tui run`s against the demo target: a fast one, then one with the target's
injected latency (200 ms a request), so the second must be flagged as a regression.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from ccplate_tui.history.command import add_history_parser
from ccplate_tui.history.rows import FinishedRun, StoredThreshold
from ccplate_tui.history.store import HistoryStore, history_path
from ccplate_tui.target.server import start_target_process, stop_target_process

LATENCY_MS = 200
"""Far above any p99 of the fast run, even on a machine busy with other work."""

CONFIG = """
[target]
base_url = "{url}"

[options]
interval = "250ms"

[scenarios.quick]
executor = "per-vu-iterations"
vus = 2
iterations = 15
thresholds = {{ http_req_duration = ["p(95)<5000"], http_req_failed = ["rate<0.01"] }}

[[scenarios.quick.requests]]
name = "health"
path = "/api/health"
checks = {{ "is 200" = "status == 200" }}

[[scenarios.quick.requests]]
name = "login"
method = "POST"
path = "/api/auth/login"
json = {{ email = "load-test@example.com", password = "test-password" }}
checks = {{ "logged in" = "status == 200" }}
"""

REQUESTS = 2 * 15 * 2
"""VUs x iterations x requests per iteration: what each run sends."""


@dataclass(frozen=True)
class Recorded:
    url: str
    root: Path
    config: Path
    state: Path


def _faults(url: str, method: str, body: bytes | None = None) -> None:
    request = urllib.request.Request(f"{url}/__admin/faults", data=body, method=method)
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def _target_total(url: str) -> int:
    with urllib.request.urlopen(f"{url}/__admin/stats", timeout=10) as answer:
        return json.loads(answer.read())["total"]


def _run(config: Path, state: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "ccplate_tui", "run", "quick", "--config", str(config)),
            *("--state", str(state), "--workers", "1", "--quiet"),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    assert "run recorded: r" in done.stderr
    return done


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory):
    proc, url = start_target_process(port=0)
    try:
        root = tmp_path_factory.mktemp("history")
        config = root / "scenarios.toml"
        config.write_text(CONFIG.format(url=url))
        state = root / "state"
        _run(config, state)  # r1: fast
        _faults(url, "PATCH", json.dumps({"latency": f"{LATENCY_MS}ms"}).encode())
        try:
            _run(config, state)  # r2: every request 200 ms slower
        finally:
            _faults(url, "DELETE")
        yield Recorded(url, root, config, state)
    finally:
        stop_target_process(proc)


def clone_state(recorded: Recorded, dest: Path) -> Path:
    """A private copy of the recorded history (SQLite's backup API: consistent under WAL)."""
    dest.mkdir()
    source = sqlite3.connect(history_path(recorded.state))
    target = sqlite3.connect(history_path(dest))
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return dest


def history(
    capsys: pytest.CaptureFixture[str], *argv: str, state: Path, config: Path
) -> tuple[int, str, str]:
    """Run `ccplate-tui history ARGV` in this process; (exit code, stdout, stderr)."""
    parser = argparse.ArgumentParser(prog="ccplate-tui")
    add_history_parser(parser.add_subparsers())
    args = parser.parse_args(["history", *argv, "--state", str(state), "--config", str(config)])
    capsys.readouterr()
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def history_json(capsys, *argv: str, state: Path, config: Path, code: int | None = 0) -> dict:
    """The command's JSON answer; `code` None accepts any exit code."""
    got, out, err = history(capsys, *argv, "--json", state=state, config=config)
    assert code is None or got == code, err
    return json.loads(out)


# --- list and show ------------------------------------------------------------------------------


def test_list_shows_both_runs_newest_first(recorded: Recorded, capsys) -> None:
    data = history_json(capsys, "list", state=recorded.state, config=recorded.config)
    runs = data["runs"]
    assert [r["id"] for r in runs] == ["r2", "r1"]
    for run in runs:
        assert run["status"] == "finished"
        assert run["names"] == ["quick"] and run["scenarios"] == ["quick"]
        assert run["requests"] == REQUESTS
        assert run["thresholds_passed"] == run["thresholds_total"] == 2
        assert run["intervals"] >= 1 and run["engine"] == "built-in"
        assert run["target"] == recorded.url
    # The slow run's p99 carries the injected latency; the fast one's does not.
    assert runs[0]["p99_ms"] >= LATENCY_MS > runs[1]["p99_ms"]

    code, out, _ = history(capsys, "list", state=recorded.state, config=recorded.config)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["run", "started", "(UTC)"]
    assert lines[1].startswith("r2 ") and lines[2].startswith("r1 ")
    assert "2/2 ✓" in lines[1] and str(REQUESTS) in lines[1]


def test_list_limit_and_scenario_filter(recorded: Recorded, capsys) -> None:
    data = history_json(
        capsys, "list", "--limit", "1", state=recorded.state, config=recorded.config
    )
    assert [r["id"] for r in data["runs"]] == ["r2"]
    data = history_json(
        capsys, "list", "--scenario", "other", state=recorded.state, config=recorded.config
    )
    assert data["runs"] == []


def test_show_recomputes_figures_from_the_stored_intervals(recorded: Recorded, capsys) -> None:
    data = history_json(capsys, "show", "2", state=recorded.state, config=recorded.config)
    assert data["id"] == "r2" and data["number"] == 2
    figures = data["figures"]
    assert figures["http_reqs"]["count"] == REQUESTS
    assert figures["http_req_failed"]["rate"] == 0.0
    assert figures["checks"] == {"rate": 1.0, "passes": REQUESTS, "total": REQUESTS}
    assert figures["iterations"] == REQUESTS / 2
    # The target delays /api/auth/login (half the requests), never /api/health.
    assert figures["http_req_duration"]["p95"] >= LATENCY_MS
    by_name = {r["name"]: r for r in data["requests"]}
    assert set(by_name) == {"health", "login"}
    assert all(r["count"] == REQUESTS / 2 and r["error_rate"] == 0.0 for r in by_name.values())
    assert by_name["login"]["http_req_duration"]["p50"] >= LATENCY_MS
    # The run's own record: the resolved config (from the file) and its judged thresholds.
    assert data["config"]["file"].endswith("scenarios.toml")
    assert data["config_hash"] and len(data["config_hash"]) == 64
    assert {t["expression"] for t in data["thresholds"]} == {"p(95)<5000", "rate<0.01"}
    assert all(t["ok"] is True for t in data["thresholds"])
    # The demo target ran with injected latency: the run's history says so.
    assert [(a["kind"], a["text"]) for a in data["annotations"]] == [
        ("fault", f"faults at start: latency={LATENCY_MS}ms")
    ]

    code, out, _ = history(capsys, "show", "r2", state=recorded.state, config=recorded.config)
    assert code == 0
    assert out.startswith("run r2  finished")
    assert "http_reqs" in out and "login" in out and "health" in out
    assert "✓  http_req_duration{scenario:quick}  p(95)<5000" in out


def test_show_accepts_latest_and_rejects_an_unknown_run(recorded: Recorded, capsys) -> None:
    data = history_json(capsys, "show", "latest", state=recorded.state, config=recorded.config)
    assert data["id"] == "r2"
    code, out, err = history(capsys, "show", "r99", state=recorded.state, config=recorded.config)
    assert code == 2 and out == ""
    assert "no run 'r99'" in err and "latest runs: r2, r1" in err


# --- baseline -----------------------------------------------------------------------------------


def test_baseline_sets_lists_and_replaces(recorded: Recorded, capsys, tmp_path: Path) -> None:
    state = clone_state(recorded, tmp_path / "state")
    config = recorded.config
    code, out, _ = history(capsys, "baseline", state=state, config=config)
    assert (code, out.strip()) == (
        0,
        "no baselines set yet (set one: ccplate-tui history baseline RUN)",
    )

    code, out, _ = history(capsys, "baseline", "1", "--as", "alice", state=state, config=config)
    assert (code, out.strip()) == (0, "baseline of quick: r1")
    data = history_json(capsys, "baseline", "r2", state=state, config=config)
    assert data["run"] == "r2"
    (entry,) = data["baselines"]
    assert (entry["scenario"], entry["run"], entry["previous_run"]) == ("quick", "r2", "r1")
    assert entry["set_by"]  # the OS user

    listed = history_json(capsys, "baseline", state=state, config=config)["baselines"]
    assert [(b["scenario"], b["run"]) for b in listed] == [("quick", "r2")]
    runs = history_json(capsys, "list", state=state, config=config)["runs"]
    assert {r["id"]: r["baseline_of"] for r in runs} == {"r2": ["quick"], "r1": []}


def test_baseline_refuses_a_scenario_the_run_did_not_run(recorded: Recorded, capsys, tmp_path):
    state = clone_state(recorded, tmp_path / "state")
    code, _, err = history(
        capsys, "baseline", "r1", "--scenario", "nope", state=state, config=recorded.config
    )
    assert code == 2
    assert "run r1 did not run 'nope' (it ran quick)" in err
    with HistoryStore(history_path(state)) as store:
        assert store.baselines() == []


def test_baseline_refuses_an_interrupted_run_unless_forced(recorded, capsys, tmp_path) -> None:
    state = clone_state(recorded, tmp_path / "state")
    # A process that begins a run and dies without finishing it: the next open marks it.
    code = (
        "import sys\n"
        "from ccplate_tui.history.store import HistoryStore\n"
        "store = HistoryStore(sys.argv[1])\n"
        "print(store.begin_run(names=['quick'], scenarios=['quick']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(history_path(state))],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    run_id = done.stdout.strip()
    got, _, err = history(capsys, "baseline", run_id, state=state, config=recorded.config)
    assert got == 2
    assert f"run {run_id} was interrupted before its planned end" in err and "--force" in err
    got, out, _ = history(
        capsys, "baseline", run_id, "--force", state=state, config=recorded.config
    )
    assert (got, out.strip()) == (0, f"baseline of quick: {run_id}")


# --- compare ------------------------------------------------------------------------------------


def _row(rows: list[dict], label: str, request: str | None = None) -> dict:
    return next(r for r in rows if r["label"] == label and r.get("request") == request)


def test_compare_flags_the_slower_run_against_the_baseline(recorded, capsys, tmp_path) -> None:
    state = clone_state(recorded, tmp_path / "state")
    history(capsys, "baseline", "r1", state=state, config=recorded.config)
    data = history_json(capsys, "compare", "r2", state=state, config=recorded.config, code=1)
    assert data["run"]["id"] == "r2"
    assert (data["base"]["id"], data["base"]["why"]) == ("r1", "the baseline of quick")
    assert data["flags"] == {
        "latency_pct": 10.0,
        "error_pp": 0.5,
        "throughput_pct": 10.0,
        "min_latency_ms": 1.0,
        "min_rate_pp": 0.1,
    }

    p95 = _row(data["metrics"], "http_req_duration p(95)")
    assert p95["kind"] == "latency" and p95["regression"] is True
    assert p95["new"] >= LATENCY_MS > p95["base"]
    assert p95["change"] == pytest.approx(p95["new"] - p95["base"])
    assert p95["change_pct"] == pytest.approx((p95["new"] - p95["base"]) / p95["base"] * 100)
    failed = _row(data["metrics"], "http_req_failed rate")
    assert (failed["base"], failed["new"], failed["regression"]) == (0.0, 0.0, False)
    iterations = _row(data["metrics"], "iterations")
    assert (iterations["base"], iterations["new"], iterations["regression"]) == (30, 30, False)
    checks = _row(data["metrics"], "checks rate")
    assert (checks["base"], checks["new"], checks["regression"]) == (1.0, 1.0, False)
    # Fewer requests per second with 200 ms added to each one of two sequential VUs.
    assert _row(data["metrics"], "http_reqs rate")["regression"] is True

    # Only login is delayed (the demo target never faults /api/health).
    assert _row(data["requests"], "p(95)", "login")["regression"] is True
    for name in ("health", "login"):
        count = _row(data["requests"], "count", name)
        assert (count["base"], count["new"], count["change"]) == (30, 30, 0)
        assert _row(data["requests"], "error rate", name)["regression"] is False
    assert "http_req_duration p(95)" in " ".join(data["regressions"])
    assert any(label.startswith("login p(99)") for label in data["regressions"])

    code, out, _ = history(capsys, "compare", "r2", state=state, config=recorded.config)
    assert code == 1
    assert out.startswith("r2 (quick, ") and "against r1 (the baseline of quick" in out
    assert "✗ regression" in out and "regressions (latency +10 %" in out


def test_compare_the_other_way_finds_no_regression(recorded: Recorded, capsys) -> None:
    data = history_json(
        capsys, "compare", "r1", "r2", state=recorded.state, config=recorded.config, code=None
    )
    assert data["base"]["why"] == "given"
    # The faster run against the slower: nothing run-wide and nothing of login is worse. (The
    # undelayed health request is left out: its sub-millisecond latency moves by chance.)
    assert [r["label"] for r in data["metrics"] if r["regression"]] == []
    assert [
        r["label"] for r in data["requests"] if r["request"] == "login" and r["regression"]
    ] == []
    assert _row(data["metrics"], "http_req_duration p(95)")["change"] < 0
    flagged = [r for r in data["requests"] if r["regression"]]
    code, out, _ = history(
        capsys, "compare", "1", "2", state=recorded.state, config=recorded.config
    )
    assert code == (1 if flagged else 0)
    assert ("no regressions (latency +10 %" in out) is not bool(flagged)


def test_compare_flags_are_configurable(recorded: Recorded, capsys) -> None:
    data = history_json(
        capsys,
        "compare",
        "r2",
        "r1",
        "--latency-pct",
        "1000000",
        "--throughput-pct",
        "100",
        state=recorded.state,
        config=recorded.config,
    )
    assert data["regressions"] == []
    assert data["flags"]["latency_pct"] == 1000000.0
    with pytest.raises(SystemExit) as exited:  # argparse refuses it: exit 2
        history(
            capsys,
            "compare",
            "r2",
            "--error-pp",
            "-1",
            state=recorded.state,
            config=recorded.config,
        )
    assert exited.value.code == 2
    assert "expected a number >= 0, got '-1'" in capsys.readouterr().err


def test_compare_defaults_to_the_previous_run_without_a_baseline(recorded, capsys) -> None:
    data = history_json(
        capsys, "compare", "r2", state=recorded.state, config=recorded.config, code=1
    )
    assert (data["base"]["id"], data["base"]["why"]) == (
        "r1",
        "the previous finished run of the same scenarios",
    )
    code, _, err = history(capsys, "compare", "r1", state=recorded.state, config=recorded.config)
    assert code == 2 and "nothing to compare r1 with" in err
    code, _, err = history(
        capsys, "compare", "r1", "r1", state=recorded.state, config=recorded.config
    )
    assert code == 2 and "not with itself" in err


def test_compare_and_recheck_refuse_a_run_without_intervals(recorded, capsys, tmp_path) -> None:
    state = clone_state(recorded, tmp_path / "state")
    with HistoryStore(history_path(state)) as store:
        store.import_finished(
            [
                FinishedRun(
                    id="20261127T000000Z-abc",
                    names=("quick",),
                    started_at=1.0,
                    ended_at=2.0,
                    status="finished",
                    requests=10,
                    p99_ms=1.0,
                    error_fraction=0.0,
                    thresholds=(StoredThreshold("http_reqs", "count>1", True, 10.0),),
                )
            ]
        )
    for argv in (("compare", "r2", "20261127T000000Z-abc"), ("recheck", "20261127T000000Z-abc")):
        code, _, err = history(capsys, *argv, state=state, config=recorded.config)
        assert code == 2
        assert "has no recorded intervals" in err


# --- recheck ------------------------------------------------------------------------------------

STRICT = """
[scenarios.quick.thresholds]
http_req_duration = ["p(95)<{limit}", "p(95) < baseline * 1.10"]
"http_req_failed{{name:login}}" = [{{ threshold = "rate<0.01", abortOnFail = true }}]
http_reqs = ["count>=60"]
"""


def _strict_config(recorded: Recorded, path: Path, limit: int = LATENCY_MS - 5) -> Path:
    """The same scenario, judged today by tighter thresholds, one relative to the baseline."""
    text = recorded.config.read_text().replace(
        'thresholds = { http_req_duration = ["p(95)<5000"], http_req_failed = ["rate<0.01"] }\n',
        "",
    )
    path.write_text(text + STRICT.format(limit=limit))
    return path


def test_recheck_judges_a_recorded_run_by_todays_thresholds(recorded, capsys, tmp_path) -> None:
    state = clone_state(recorded, tmp_path / "state")
    config = _strict_config(recorded, tmp_path / "scenarios.toml")
    history(capsys, "baseline", "r1", state=state, config=config)
    before = _target_total(recorded.url)

    data = history_json(capsys, "recheck", "r2", state=state, config=config, code=99)
    assert data["run"] == "r2" and data["passed"] is False
    assert data["config"] == str(config)
    by_expr = {t["expression"]: t for t in data["thresholds"]}
    assert set(by_expr) == {
        f"p(95)<{LATENCY_MS - 5}",
        "p(95) < baseline * 1.10",
        "rate<0.01",
        "count>=60",
    }
    absolute = by_expr[f"p(95)<{LATENCY_MS - 5}"]
    assert absolute["ok"] is False and absolute["observed"] >= LATENCY_MS
    assert absolute["in_recorded_run"] is False  # the run was judged by p(95)<5000
    relative = by_expr["p(95) < baseline * 1.10"]
    assert relative["ok"] is False and relative["relative"] is True
    assert (relative["baseline_run"], relative["baseline_of"]) == ("r1", "quick")
    assert relative["limit"] == pytest.approx(relative["baseline"] * 1.10)
    assert relative["baseline"] < LATENCY_MS <= relative["observed"]
    assert by_expr["rate<0.01"]["ok"] is True and by_expr["rate<0.01"]["abort_on_fail"] is True
    assert by_expr["count>=60"] == {**by_expr["count>=60"], "ok": True, "observed": REQUESTS}
    assert data["would_abort_at"] is None

    # The baseline run itself passes today's thresholds (it is within 10 % of itself).
    assert history_json(capsys, "recheck", "r1", state=state, config=config)["passed"] is True
    # No traffic was sent by either recheck.
    assert _target_total(recorded.url) == before

    code, out, _ = history(capsys, "recheck", "r2", state=state, config=config)
    assert code == 99
    assert out.startswith("recheck of r2 (quick, finished, ")
    assert "no traffic sent" in out
    assert "(not in the run)" in out and "(baseline r1 " in out
    assert out.rstrip().endswith("FAILED: 2 crossed of 4 thresholds")


def test_recheck_without_a_baseline_is_no_data(recorded, capsys, tmp_path) -> None:
    config = _strict_config(recorded, tmp_path / "scenarios.toml", limit=5000)
    data = history_json(capsys, "recheck", "r1", state=recorded.state, config=config, code=99)
    relative = next(t for t in data["thresholds"] if t["relative"])
    assert (relative["ok"], relative["baseline"], relative["baseline_run"]) == (None, None, None)
    assert relative["observed"] is not None
    assert [t["ok"] for t in data["thresholds"] if not t["relative"]] == [True, True, True]
    code, out, _ = history(capsys, "recheck", "r1", state=recorded.state, config=config)
    assert code == 99
    assert "NO DATA: no baseline for quick (set one: ccplate-tui history baseline RUN)" in out
    assert out.rstrip().endswith("FAILED: 1 NO DATA of 4 thresholds")


def test_recheck_reports_when_abort_on_fail_would_have_stopped_the_run(
    recorded, capsys, tmp_path
) -> None:
    config = tmp_path / "scenarios.toml"
    config.write_text(
        recorded.config.read_text().replace(
            'http_req_duration = ["p(95)<5000"]',
            f'http_req_duration = [{{ threshold = "p(95)<{LATENCY_MS - 5}", abortOnFail = true }}]',
        )
    )
    data = history_json(capsys, "recheck", "r2", state=recorded.state, config=config, code=99)
    assert data["would_abort_at"] is not None and data["would_abort_at"] > 0
    failed = next(t for t in data["thresholds"] if t["ok"] is False)
    assert failed["first_failed_at"] == data["would_abort_at"]
    _, out, _ = history(capsys, "recheck", "r2", state=recorded.state, config=config)
    assert "abortOnFail would have stopped the run at" in out


def test_recheck_errors_bad_config_and_vanished_scenario(recorded, capsys, tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(recorded.config.read_text().replace('"p(95)<5000"', '"p(95) < baseline ^ 2"'))
    code, out, err = history(capsys, "recheck", "r1", state=recorded.state, config=bad)
    assert code == 2 and out == ""
    line = 1 + bad.read_text().splitlines().index(
        next(x for x in bad.read_text().splitlines() if "baseline ^ 2" in x)
    )
    assert err.startswith(f"{bad}:{line}:")
    assert "scenarios.quick.thresholds.http_req_duration[0]" in err
    assert "expected one of * / + - after 'baseline'" in err

    renamed = tmp_path / "renamed.toml"
    renamed.write_text(recorded.config.read_text().replace("scenarios.quick", "scenarios.other"))
    code, _, err = history(capsys, "recheck", "r1", state=recorded.state, config=renamed)
    assert code == 2
    assert "run r1 ran quick, but no scenario or suite named 'quick'" in err


# --- no history, damaged history ----------------------------------------------------------------


def test_without_a_history_reads_answer_and_create_nothing(recorded, capsys, tmp_path) -> None:
    state = tmp_path / "empty"
    code, out, _ = history(capsys, "list", state=state, config=recorded.config)
    assert code == 0 and out.startswith("no runs recorded yet")
    assert history_json(capsys, "list", state=state, config=recorded.config) == {"runs": []}
    code, _, err = history(capsys, "show", "1", state=state, config=recorded.config)
    assert code == 2 and "no run history at" in err
    assert not state.exists()


def test_a_damaged_history_is_reported_and_left_untouched(recorded, capsys, tmp_path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    damaged = history_path(state)
    damaged.write_bytes(b"this is not a database\n" * 100)
    before = damaged.read_bytes()
    for argv in (("list",), ("show", "1"), ("compare", "2", "1"), ("baseline", "1")):
        code, out, err = history(capsys, *argv, state=state, config=recorded.config)
        assert code == 1, argv
        assert str(damaged) in err and "runs still work without the history" in err
        assert out == ""
    assert damaged.read_bytes() == before
    assert sorted(p.name for p in state.iterdir()) == [damaged.name]


def test_the_cli_entry_point_runs_history(recorded: Recorded) -> None:
    from ccplate_tui.cli import build_parser

    registered = any(
        "history" in (getattr(action, "choices", None) or {}) for action in build_parser()._actions
    )
    if not registered:
        pytest.skip("`history` is not registered in ccplate_tui/cli.py yet (the lead wires it)")
    done = subprocess.run(
        [
            *(sys.executable, "-m", "ccplate_tui", "history", "list", "--json"),
            *("--state", str(recorded.state), "--config", str(recorded.config)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert [r["id"] for r in json.loads(done.stdout)["runs"]] == ["r2", "r1"]
