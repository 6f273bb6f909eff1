"""Done-when for issue 5: the shipped checklist walked end to end from the CLI against the demo
target (its API, its local npm registry and Sentry ingest), then the report and the verdict.

A copy of the repo's scenarios.toml and examples/ccplate-app, re-aimed at a demo target on a free
loopback port. `vercel` is not on this machine, so its two deploy steps fail honestly and the
walk goes on through recorded overrides, as an on-call engineer would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ccplate_tui.target.server import start_target_process, stop_target_process

ROOT = Path(__file__).resolve().parents[1]
EXE = str(Path(sys.executable).with_name("ccplate-tui"))


@pytest.fixture
def walk(tmp_path: Path):
    proc, url = start_target_process(port=0)
    try:
        port = url.rsplit(":", 1)[1]
        text = (ROOT / "scenarios.toml").read_text().replace("127.0.0.1:8787", f"127.0.0.1:{port}")
        (tmp_path / "scenarios.toml").write_text(text)
        app = tmp_path / "examples" / "ccplate-app"
        shutil.copytree(ROOT / "examples" / "ccplate-app", app)
        for name in (".npmrc", ".env.local"):
            path = app / name
            path.write_text(path.read_text().replace("127.0.0.1:8787", f"127.0.0.1:{port}"))
        yield tmp_path
    finally:
        stop_target_process(proc)


def ck(folder: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(folder), "LANG": "C.UTF-8"}
    return subprocess.run(
        [EXE, *argv], cwd=folder, capture_output=True, text=True, timeout=300, env=env
    )


@pytest.mark.slow
def test_the_shipped_checklist_walks_end_to_end(walk: Path) -> None:
    def ok(*argv: str) -> str:
        done = ck(walk, *argv)
        assert done.returncode == 0, f"{argv}: {done.stdout}\n{done.stderr}"
        return done.stdout

    def fails(*argv: str) -> str:
        done = ck(walk, *argv)
        assert done.returncode == 1, f"{argv}: {done.stdout}\n{done.stderr}"
        return done.stdout

    # Pre-deploy verification.
    ok("checklist", "tick", "security_audit", "--as", "alice", "--note", "0 findings")
    refused = ck(walk, "checklist", "approve", "security_audit", "--as", "alice")
    assert refused.returncode == 2 and "someone else" in refused.stderr
    ok("checklist", "approve", "security_audit", "--as", "bob")
    if shutil.which("npm", path="/usr/bin:/bin"):
        assert "exit 0" in ok("checklist", "run", "tests", "--yes", "--as", "alice")
    else:
        pytest.skip("npm is not installed: the example app's `npm test` cannot run")
    ok("checklist", "tick", "coverage", "--as", "alice", "--note", "84% lines")
    assert "delivered" in ok("checklist", "run", "sentry_capture", "--yes", "--as", "alice")
    ok("checklist", "tick", "database", "--as", "alice")
    ok("checklist", "tick", "environment", "--as", "alice")
    assert "HTTP 200" in ok("checklist", "run", "health_check", "--yes", "--as", "alice")
    ok("checklist", "tick", "rollback_tagged", "--as", "alice", "--note", "tag v1.4.2")
    ok("checklist", "approve", "rollback_tagged", "--as", "bob")

    # Staging: no vercel CLI here, so the deploy fails and the next phase needs an override.
    assert "could not start vercel" in fails(
        "checklist", "run", "staging_deploy", "--yes", "--as", "alice"
    )
    ok("checklist", "tick", "staging_e2e", "--as", "alice")
    ok("checklist", "run", "staging_sentry", "--yes", "--as", "alice")
    assert "passed" in ok("checklist", "run", "load_baseline", "--yes", "--as", "alice")
    locked = ck(walk, "checklist", "run", "response_times", "--yes")
    assert locked.returncode == 2 and "staging_deploy" in locked.stderr
    ok("checklist", "override", "production", "--reason", "deployed from the dashboard")

    # Production, with the 30-minute watch rehearsed at 1/100 (18 s).
    fails("checklist", "run", "production_deploy", "--yes", "--as", "alice")
    timer = ok(
        "checklist", "run", "monitor_errors", "--yes", "--as", "alice", "--time-scale", "0.01"
    )
    assert "rehearsal at time scale 0.01" in timer
    ok("checklist", "run", "response_times", "--yes", "--as", "alice")
    ok("checklist", "run", "db_connections", "--yes", "--as", "alice")
    ok("checklist", "override", "post_deploy", "--reason", "production deployed by hand")

    # Post-deploy validation and the rollback plan.
    ok("checklist", "run", "post_health", "--yes", "--as", "alice")
    ok("checklist", "run", "first_sentry_event", "--yes", "--as", "alice")
    ok("checklist", "tick", "analytics", "--as", "alice")
    ok("checklist", "tick", "rollback_script", "--as", "alice")

    status = json.loads(ck(walk, "checklist", "status", "--json").stdout)
    undone = [
        s["id"] for p in status["phases"] for s in p["steps"] if s["status"] not in ("passed",)
    ]
    assert set(undone) >= {"staging_deploy", "production_deploy"}
    assert status["progress"]["done"] == status["progress"]["total"] - 2

    report = ok("checklist", "report")
    assert "deployed from the dashboard" in report and "## Timeline" in report
    assert "bob (" in report, "who signed off, and when"
    assert "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d" not in report, "the demo DSN key is masked"

    verdict = json.loads(ck(walk, "verdict", "--json").stdout)
    assert verdict["go"] is False
    assert any("Deploy checklist incomplete" in r for r in verdict["reasons"])
    assert {c["name"]: c["status"] for c in verdict["criteria"]}["Load thresholds"] == "pass"
