"""The plan's five success criteria measured end to end against the real demo target: a run
with its `db_cpu` source and `[availability]` probe (time-scaled, so the verdict is GO
(REHEARSAL) and exits 1 unless accepted), a capture drill through the real sentry-sdk into the
target's own ingest, and `ccplate-tui verdict` judging all of it; then the faults that make
Error capture and Database load fail, each with its numbers, and the counts in `history show`."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from ccplate_tui.checklist.operations import tick
from ccplate_tui.checklist.state import ChecklistStore
from ccplate_tui.cli import main
from ccplate_tui.config.loader import load_config
from ccplate_tui.history.store import HistoryStore, history_path
from ccplate_tui.sentry.last_results import CAPTURE_FILE, COMPATIBILITY_FILE, save_result
from ccplate_tui.target.server import start_target_process, stop_target_process
from tests.test_release_evidence import WIRING_DOC

KEY = "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d"

CONFIG = """
[target]
base_url = "{url}"

[sentry]
dsn = "http://{key}@127.0.0.1:{port}/__sentry/1"
org = "ccplate"
drill_path = "/api/sentry-example-api"

[sources.db_cpu]
metrics = "{url}/metrics"
metric = "ccplate_db_cpu_percent"
unit = "%"

[availability]
url = "/api/health"
every = "10ms"

[scenarios.steady]
executor = "constant-vus"
vus = 1
duration = "1m"
think_time = "50ms"
requests = [{{ path = "/api/users/me" }}]

[scenarios.steady.thresholds]
http_req_duration = ["p(99)<500"]
db_cpu = ["max<50"]

[scenarios.hammer]
executor = "constant-vus"
vus = 4
duration = "4s"
requests = [
  {{ path = "/api/users/me" }},
  {{ method = "POST", path = "/api/files", json = {{ filename = "t.txt", content = "x" }} }},
]

[checklist]
title = "Deploy"

[[checklist.phases]]
id = "go"
title = "Go"

[[checklist.phases.steps]]
id = "signoff"
title = "Sign-off"
kind = "manual"
"""


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    proc, url = start_target_process(port=0)
    port = int(url.rsplit(":", 1)[1])
    config = tmp_path / "scenarios.toml"
    config.write_text(CONFIG.format(url=url, port=port, key=KEY), "utf-8")
    monkeypatch.chdir(tmp_path)
    for name in ("CCPLATE_TUI_STATE_DIR", "SENTRY_DSN", "SENTRY_ORG", "SENTRY_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SENTRY_AUTH_TOKEN", "demo-token")
    state = tmp_path / ".ccplate"
    save_result(state, CAPTURE_FILE, {"delivered": True, "event_id": "e1" * 16})
    save_result(state, COMPATIBILITY_FILE, WIRING_DOC)
    tick(ChecklistStore(state), load_config(config).checklist, "signoff", "alice")
    try:
        yield url, state
    finally:
        stop_target_process(proc)


def faults(url: str, **values: object) -> None:
    httpx.patch(f"{url}/__admin/faults", json=values, timeout=10).raise_for_status()


def verdict(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict, dict]:
    capsys.readouterr()
    code = main(["verdict", "--json"])
    document = json.loads(capsys.readouterr().out)
    return code, document, {c["name"]: c for c in document["criteria"]}


@pytest.mark.slow
@pytest.mark.exclusive  # the database CPU a fault drives past 50 %
def test_all_five_plan_criteria_measured_then_failing_under_faults(
    demo, capsys: pytest.CaptureFixture[str]
) -> None:
    url, state = demo
    # A rehearsal: 30 s of the planned minute. The probes keep their real 10 ms pace: 3,000 on
    # an idle machine, and still the 1,000 that 99.9 % needs when each takes 30 ms on a busy one.
    assert main(["run", "steady", "--time-scale", "0.5"]) == 0
    assert main(["sentry", "capture-drill", "--count", "20"]) == 0
    assert "PASS 20 of 20 errors reached Sentry (100.00%)" in capsys.readouterr().out

    code, document, rows = verdict(capsys)
    assert (code, document["verdict"]) == (1, "GO (REHEARSAL)"), document["reasons"]
    assert main(["verdict", "--accept-rehearsal"]) == 0
    plan = [c for c in document["criteria"] if c["kind"] == "plan"]
    assert [c["status"] for c in plan] == ["pass"] * 5
    assert rows["Database load"]["evidence"]["rehearsal"] is True
    availability = rows["Availability"]
    probes = int(availability["value"].split(" of ")[1].split()[0].replace(",", ""))
    assert probes >= 1000 and availability["value"].startswith("100.00% of ")
    assert availability["evidence"]["run_id"] == document["load_run"]["run_id"]
    assert rows["Database load"]["value"].startswith("peak ")
    assert rows["Error capture"]["value"] == "20 of 20 errors (100.00%)"
    assert rows["Error capture"]["evidence"]["source"] == "capture drill"

    # Errors dropped on the way to Sentry on purpose: exactly 1 in 5, so 40 of 50 arrive.
    faults(url, sentry_drop=0.2)
    assert main(["sentry", "capture-drill", "--count", "50"]) == 1
    assert "FAIL 40 of 50 errors reached Sentry (80.00%, 10 lost)" in capsys.readouterr().out
    code, document, rows = verdict(capsys)
    assert code == 1 and rows["Error capture"]["status"] == "fail"
    assert rows["Error capture"]["value"] == "40 of 50 errors (80.00%)"
    assert "Errors lost on the way to Sentry: 40 of 50" in rows["Error capture"]["reason"]

    # A run that meets server errors counts them against the events Sentry received.
    faults(url, sentry_drop=0.2, error_rate=0.3)
    assert main(["run", "hammer"]) == 0  # no thresholds of its own
    with HistoryStore(history_path(state)) as store:
        run = store.runs(1)[0]
        count = store.capture(run.id)
    assert count is not None and count["kind"] == "load run" and count["run_id"] == run.id
    errors = count["errors"]
    assert errors > 0 and count["events"] == errors - errors // 5
    code, document, rows = verdict(capsys)
    assert rows["Error capture"]["status"] == "fail"
    assert rows["Error capture"]["evidence"]["run_id"] == run.id
    capsys.readouterr()
    assert main(["history", "show", run.id]) == 0
    shown = capsys.readouterr().out
    lost = errors // 5
    assert f"error capture: {errors - lost:,d} of {errors:,d} errors reached Sentry" in shown
    assert "availability: 100.00% of " in shown and "db_cpu: max " in shown
    assert main(["history", "show", run.id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["capture"]["events"] == errors - lost and shown["availability"]["sent"] > 0

    # The database's CPU driven past the plan's 50 %.
    faults(url, sentry_drop=0, error_rate=0, db_slow="5ms")
    main(["run", "hammer"])
    code, document, rows = verdict(capsys)
    database = rows["Database load"]
    assert code == 1 and database["status"] == "fail", database["value"]
    peak = float(database["value"].split()[1].rstrip("%"))
    assert peak >= 50 and f"Database load too high: peak {peak:.1f}% CPU" in database["reason"]
