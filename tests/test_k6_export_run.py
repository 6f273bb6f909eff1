"""Exported scripts under the real k6: every shipped scenario passes `k6 inspect`, and an exported
run against the demo target matches our own engine's run of the same config (request and
iteration counts, every check's passes and fails, every threshold's outcome, the exit code)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccplate_tui.config.loader import load_config
from ccplate_tui.k6.export import export_names, render_script
from ccplate_tui.load.engine import resolve_plan
from ccplate_tui.target.server import start_target_process, stop_target_process
from tests.k6_export_helpers import (
    check_counts,
    go_duration,
    inspect,
    k6,
    requires_k6,
    threshold_outcomes,
)

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = load_config(ROOT / "scenarios.toml")


@requires_k6
@pytest.mark.parametrize("name", sorted({*export_names(SHIPPED), *SHIPPED.scenarios}))
def test_each_shipped_scenario_exports_a_script_k6_inspect_accepts(
    tmp_path: Path, name: str
) -> None:
    script = tmp_path / f"{name}.js"
    script.write_text(render_script(SHIPPED, name))
    seen = inspect(script)
    plan = resolve_plan(SHIPPED, [name])
    assert set(seen["scenarios"]) == {s.name for s in plan.scenarios}
    for scenario in plan.scenarios:
        theirs = seen["scenarios"][scenario.name]
        assert theirs["executor"] == scenario.executor.executor
        assert go_duration(theirs["gracefulStop"]) == scenario.executor.graceful_stop
    # Thresholds on metric sources (db_cpu) are judged by ccplate-tui, not given to k6.
    exported = [t for t in plan.thresholds if t.metric not in SHIPPED.sources]
    assert set(seen["thresholds"] or {}) == {t.key for t in exported}
    assert sum(len(v) for v in (seen["thresholds"] or {}).values()) == len(exported)


@pytest.fixture(scope="module")
def demo_target() -> Iterator[str]:
    proc, url = start_target_process(port=0)
    try:
        yield url
    finally:
        stop_target_process(proc)


def _engine_run(config: Path, name: str, export: Path, state: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable, "-m", "ccplate_tui", "run", name, "--config", str(config),
            "--summary-export", str(export), "--quiet", "--workers", "1", "--state", str(state),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )  # fmt: skip


def _k6_run(config: Path, name: str, export: Path, base_url: str) -> subprocess.CompletedProcess:
    script = export.with_suffix(".js")
    script.write_text(render_script(load_config(config), name))
    return k6("run", "--quiet", "--summary-export", str(export), "-e", f"BASE_URL={base_url}",
              str(script), timeout=180)  # fmt: skip


def _same_results(ours: dict, theirs: dict) -> None:  # type: ignore[type-arg]
    for metric in ("http_reqs", "iterations"):
        assert theirs["metrics"][metric]["count"] == ours["metrics"][metric]["count"], metric
    assert check_counts(theirs["root_group"]) == check_counts(ours["root_group"])
    assert threshold_outcomes(theirs) == threshold_outcomes(ours)


MIXED = """
[target]
base_url = "{url}"

[scenarios.per_vu]
executor = "per-vu-iterations"
vus = 2
iterations = 3

[scenarios.per_vu.thresholds]
"http_req_duration{{name:login}}" = ["p(95)<5000"]
checks = ["rate==1"]
# Crossed only if the request's own tags reach its check samples (k6 passes an empty one).
"checks{{kind:auth}}" = ["rate<1"]

[[scenarios.per_vu.requests]]
name = "login"
method = "POST"
path = "/api/auth/login"
tags = {{ kind = "auth" }}
json = {{ email = "load-test@example.com", password = "test-password" }}
checks = {{ "logged in" = 'status == 200 and json .token_type == "Bearer"' }}

[[scenarios.per_vu.requests]]
name = "me"
path = "/api/users/me"
group = "reads"
checks = {{ "me is 200" = "status == 200", "has an email" = "json .email != null" }}

[[scenarios.per_vu.requests]]
name = "upload"
method = "POST"
path = "/api/files"
group = "writes"
multipart = {{ file = {{ size = "20KB", filename = "vu-${{vu}}.bin" }} }}
checks = {{ "stored" = "status == 201" }}
think_time = "10ms"

[scenarios.shared]
executor = "shared-iterations"
vus = 3
iterations = 7
expected_statuses = [200, 423]

[scenarios.shared.thresholds]
http_reqs = ["count>1000"]

[[scenarios.shared.requests]]
name = "schema"
method = "POST"
path = "/api/schema-builder/apply"
json = {{ model = "LoadTest${{vu}}" }}
checks = {{ "applied or locked" = "status in [200, 423]" }}

[[scenarios.shared.requests]]
name = "bad login"
method = "POST"
path = "/api/auth/login"
json = {{ email = "nobody@example.com", password = "x" }}
expected_statuses = [401]
checks = {{ "rejected" = "status == 401", "says 200" = "status == 200" }}

[suites.both]
scenarios = ["per_vu", "shared"]
thresholds = {{ http_req_failed = ["rate==0"] }}
"""


@requires_k6
@pytest.mark.slow
def test_an_exported_suite_runs_under_k6_with_the_engines_results(
    tmp_path: Path, demo_target: str
) -> None:
    config = tmp_path / "scenarios.toml"
    config.write_text(MIXED.format(url=demo_target))
    ours = _engine_run(config, "both", tmp_path / "ours.json", tmp_path / "state")
    theirs = _k6_run(config, "both", tmp_path / "k6.json", demo_target)
    # `http_reqs{scenario:shared}` count>1000 fails in both (14 requests): exit 99 in both.
    assert (ours.returncode, theirs.returncode) == (99, 99), (
        ours.stderr[-2000:] + theirs.stderr[-2000:]
    )
    ours_export = json.loads((tmp_path / "ours.json").read_text())
    k6_export = json.loads((tmp_path / "k6.json").read_text())
    _same_results(ours_export, k6_export)
    assert k6_export["metrics"]["http_reqs"]["count"] == 2 * 3 * 3 + 7 * 2
    checks = check_counts(k6_export["root_group"])
    assert checks["::says 200"] == (0, 7) and checks["::rejected"] == (7, 0)
    assert checks["::writes::stored"] == (6, 0) and checks["::reads::me is 200"] == (6, 0)
    outcomes = threshold_outcomes(k6_export)
    assert outcomes[("http_reqs{scenario:shared}", "count>1000")] is True
    assert outcomes[("http_req_failed", "rate==0")] is False
    assert outcomes[("checks{kind:auth,scenario:per_vu}", "rate<1")] is True


@requires_k6
@pytest.mark.slow
def test_the_shipped_schema_lock_runs_under_k6_as_under_the_engine(
    tmp_path: Path, demo_target: str
) -> None:
    text = (ROOT / "scenarios.toml").read_text()
    config = tmp_path / "scenarios.toml"
    config.write_text(text.replace("http://127.0.0.1:8787", demo_target))
    ours = _engine_run(config, "schema_lock", tmp_path / "ours.json", tmp_path / "state")
    theirs = _k6_run(config, "schema_lock", tmp_path / "k6.json", demo_target)
    assert (ours.returncode, theirs.returncode) == (0, 0), (
        ours.stderr[-2000:] + theirs.stderr[-2000:]
    )
    k6_export = json.loads((tmp_path / "k6.json").read_text())
    _same_results(json.loads((tmp_path / "ours.json").read_text()), k6_export)
    assert k6_export["metrics"]["http_reqs"]["count"] == 100
    assert set(check_counts(k6_export["root_group"]).values()) == {(100, 0)}
