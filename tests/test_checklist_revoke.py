"""`ccplate-tui checklist revoke`, the rehearsal label and the report's file mode, end to end:
the real CLI, a real state file in tmp_path, real local commands and a loopback HTTP server."""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccplate_tui.checklist import operations as ops
from ccplate_tui.checklist.state import ChecklistStore
from ccplate_tui.config.loader import load_config
from tests.test_checklist_command import cli, config_text, server, walk_pre

__all__ = ["server"]

WATCH_PHASE = """
[[checklist.phases]]
id = "after"
title = "After the deploy"
gate = "advisory"

[[checklist.phases.steps]]
id = "watch"
title = "Watch error rates for 30 min"
kind = "timer"
required = false
duration = "2s"
every = "1s"
probes = [{ url = "${base_url}/ok", timeout = "5s" }]
"""
"""An advisory phase (never locked) with a timer to rehearse."""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: str) -> Path:
    config = tmp_path / "scenarios.toml"
    config.write_text(config_text(server) + WATCH_PHASE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CCPLATE_TUI_STATE_DIR", raising=False)
    return tmp_path


def store(env: Path) -> ChecklistStore:
    return ChecklistStore(env / ".ccplate")


def status_json(capsys) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return json.loads(cli(capsys, "checklist", "status", "--json")[1])


def step_json(capsys, step_id: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    for phase in status_json(capsys)["phases"]:
        for step in phase["steps"]:
            if step["id"] == step_id:
                return step
    raise AssertionError(step_id)


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def test_revoke_a_wrong_tick_then_tick_again(env, capsys) -> None:
    assert cli(capsys, "checklist", "tick", "audit", "--as", "alice")[0] == 0
    code, out, err = cli(
        capsys, "checklist", "revoke", "audit", "--reason", "ticked the wrong step", "--as", "alice"
    )
    assert (code, err) == (0, "")
    assert "audit: alice revoked the tick by alice; now revoked" in out
    assert "ticked the wrong step" in out
    step = step_json(capsys, "audit")
    assert (step["status"], step["done"], step["by"]) == ("revoked", False, "alice")
    assert step["revoked"]["reason"] == "ticked the wrong step"
    assert step["revoked"]["evidence"]["revoked"] == "ticked"
    code, out, _ = cli(capsys, "checklist", "status")
    assert "↺ audit" in out and "revoked" in out
    assert "alice revoked the tick by alice at " in out and ": ticked the wrong step" in out
    # The history keeps both, and a new tick is accepted.
    assert [e.action for e in store(env).events()] == ["ticked", "revoked"]
    assert cli(capsys, "checklist", "tick", "audit", "--as", "alice")[0] == 0
    assert step_json(capsys, "audit")["status"] == "awaiting_approval"


def test_revoking_a_sign_off_leaves_the_step_awaiting_one(env, capsys) -> None:
    walk_pre(capsys)  # audit ticked by alice, signed off by bob; unit and health passed
    assert status_json(capsys)["phases"][1]["locked"] is False
    code, out, _ = cli(
        capsys, "checklist", "revoke", "audit", "--reason", "bob did not read it", "--as", "carol"
    )
    assert code == 0 and "revoked the sign-off by bob; now awaiting approval" in out
    step = step_json(capsys, "audit")
    assert (step["status"], step["approved_by"], step["by"]) == ("awaiting_approval", None, "alice")
    assert status_json(capsys)["phases"][1]["locked"] is True, "the gate closes again"

    # A pass is revoked the same way; the run's evidence stays in the record.
    code, out, _ = cli(capsys, "checklist", "revoke", "unit", "--reason", "wrong branch")
    assert code == 0 and "revoked the pass by alice; now revoked" in out
    assert step_json(capsys, "unit")["evidence"]["exit_code"] == 0


def test_the_report_shows_the_revocation_and_keeps_the_timeline(env, capsys) -> None:
    walk_pre(capsys)
    reason = "bob did not read it, token=sk_live_abcdef0123456789"
    assert cli(capsys, "checklist", "revoke", "audit", "--reason", reason, "--as", "carol")[0] == 0

    code, md, _ = cli(capsys, "checklist", "report")
    assert code == 0
    assert "| Security audit (`audit`) | manual | awaiting approval | alice |" in md
    assert "  - **revoked**: carol revoked the sign-off by bob at " in md
    assert "## Revocations" in md
    assert "- `audit`: carol revoked the sign-off by bob at " in md
    assert "sk_live_abcdef0123456789" not in md and "token=***" in md
    timeline = md.split("## Timeline", 1)[1]
    assert "| bob | approved | audit |" in timeline, "the revoked sign-off stays in the timeline"
    assert "| carol | revoked | audit | bob did not read it, token=*** |" in timeline

    report = json.loads(cli(capsys, "checklist", "report", "--format", "json")[1])
    audit = report["phases"][0]["steps"][0]
    assert audit["status"] == "awaiting_approval"
    assert audit["revoked"]["who"] == "carol"
    assert audit["revoked"]["evidence"]["revoked"] == "approved"
    assert audit["revoked"]["evidence"]["revoked_who"] == "bob"
    assert [r["step"] for r in report["revocations"]] == ["audit"]
    actions = [e["action"] for e in report["timeline"]]
    assert actions[:2] == ["ticked", "approved"] and actions[-1] == "revoked"
    assert "sk_live_abcdef0123456789" not in json.dumps(report)


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_revoke_without_a_reason_exits_2(env, capsys, reason: str | None) -> None:
    assert cli(capsys, "checklist", "tick", "audit")[0] == 0
    argv = ["checklist", "revoke", "audit"] + ([] if reason is None else ["--reason", reason])
    code, out, err = cli(capsys, *argv)
    assert (code, out) == (2, "")
    assert "refused: a revoke needs a reason" in err and "--reason TEXT" in err
    assert [e.action for e in store(env).events()] == ["ticked"]


def test_revoke_with_nothing_to_revoke_exits_2_saying_so(env, capsys) -> None:
    code, out, err = cli(capsys, "checklist", "revoke", "audit", "--reason", "oops")
    assert (code, out) == (2, "")
    assert "refused: step audit is pending: it has no tick, pass or sign-off to revoke" in err
    code, _, err = cli(capsys, "checklist", "revoke", "nope", "--reason", "oops")
    assert code == 2 and "no checklist step 'nope'" in err
    assert store(env).events() == ()


def test_a_running_step_cannot_be_revoked(env, capsys) -> None:
    walk_pre(capsys)
    checklist = load_config("scenarios.toml").checklist
    assert checklist is not None
    # This test process starts a rerun of unit and stays alive: the step reads as running.
    ops.begin_step(store(env), checklist, "unit", "alice")
    code, _, err = cli(capsys, "checklist", "revoke", "unit", "--reason", "wrong branch")
    assert code == 2 and "step unit is running" in err and "cancel it first" in err
    assert store(env).events()[-1].action == "started"


def test_a_rehearsed_timer_reads_passed_rehearsal_in_the_list(env, capsys) -> None:
    code, out, _ = cli(capsys, "checklist", "run", "watch", "--yes", "--time-scale", "0.25")
    assert code == 0 and "rehearsal at time scale 0.25" in out
    code, out, _ = cli(capsys, "checklist", "status")
    line = next(line for line in out.splitlines() if " watch " in line)
    assert "passed (rehearsal ×0.25)" in line
    step = step_json(capsys, "watch")
    assert (step["status"], step["label"]) == ("passed", "passed (rehearsal ×0.25)")
    assert step["rehearsal_time_scale"] == 0.25
    report = cli(capsys, "checklist", "report")[1]
    assert "| timer | passed (rehearsal ×0.25) |" in report
    # A full-scale run is plain "passed".
    assert cli(capsys, "checklist", "run", "unit", "--yes")[0] == 0
    assert step_json(capsys, "unit")["label"] == "passed"


def test_the_report_file_is_shared_and_the_state_stays_private(env, capsys) -> None:
    walk_pre(capsys)
    target = env / "out" / "deploy-report.md"
    with umask(0o022):
        assert cli(capsys, "checklist", "report", "-o", str(target))[0] == 0
        code, _, _ = cli(capsys, "checklist", "report", "--format", "json", "-o", "r.json")
        assert code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert stat.S_IMODE((env / "r.json").stat().st_mode) == 0o644
    assert "sk_live" not in target.read_text() and "token=***" in target.read_text()
    assert stat.S_IMODE(store(env).path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store(env).backup.stat().st_mode) == 0o600
