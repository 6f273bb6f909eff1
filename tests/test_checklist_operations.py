"""The checklist operations against a real ChecklistStore: gates, overrides, sign-off, resets."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from ccplate_tui.checklist import operations as ops
from ccplate_tui.checklist.model import Checklist, CommandSpec, HttpProbe, Phase, Step
from ccplate_tui.checklist.operations import Refused
from ccplate_tui.checklist.outcome import StepOutcome
from ccplate_tui.checklist.progress import StepState, build_view
from ccplate_tui.checklist.state import ChecklistStore, EventDraft

ROOT = Path(__file__).resolve().parents[1]

AUDIT = Step(id="audit", title="Audit", kind="manual", phase="pre", approvers=("*",))
TESTS = Step(id="tests", title="Tests", kind="command", phase="pre", command=CommandSpec(("true",)))
ROLLBACK = Step(
    id="rollback", title="Rollback tagged", kind="manual", phase="pre", approvers=("bob", "carol")
)
DEPLOY = Step(id="deploy", title="Deploy", kind="manual", phase="stage")
WATCH = Step(
    id="watch",
    title="Watch",
    kind="timer",
    phase="stage",
    duration=60.0,
    probes=(HttpProbe("http://127.0.0.1:1/"),),
)
ADVICE = Step(id="advice", title="Advice", kind="manual", phase="notes")
FINAL = Step(id="final", title="Final", kind="manual", phase="post")

CHECKLIST = Checklist(
    "Deploy",
    (
        Phase("pre", "Pre-deploy", "blocking", (AUDIT, TESTS, ROLLBACK)),
        Phase("stage", "Staging", "blocking", (DEPLOY, WATCH)),
        Phase("notes", "Notes", "advisory", (ADVICE,)),
        Phase("post", "Post-deploy", "blocking", (FINAL,)),
    ),
)
PASSED = StepOutcome("passed", "exit 0 in 0.1 s", {"exit_code": 0, "duration_s": 0.1})


@pytest.fixture
def store(tmp_path: Path) -> ChecklistStore:
    return ChecklistStore(tmp_path / "state")


def run_step(
    store: ChecklistStore, step: Step, who: str = "alice", outcome: StepOutcome = PASSED
) -> StepState:
    ops.begin_step(store, CHECKLIST, step.id, who)
    return ops.finish_step(store, CHECKLIST, step.id, who, outcome)


def finish_pre(store: ChecklistStore) -> None:
    ops.tick(store, CHECKLIST, "audit", "alice")
    ops.approve(store, CHECKLIST, "audit", "bob")
    run_step(store, TESTS)
    ops.tick(store, CHECKLIST, "rollback", "alice")
    ops.approve(store, CHECKLIST, "rollback", "carol")


def actions(store: ChecklistStore) -> list[str]:
    return [e.action for e in store.events()]


# --- gates ---------------------------------------------------------------------------------------


def test_a_step_in_a_locked_phase_is_refused_naming_the_gate_and_the_override(
    store: ChecklistStore,
) -> None:
    ops.tick(store, CHECKLIST, "audit", "alice")
    with pytest.raises(Refused) as caught:
        ops.tick(store, CHECKLIST, "deploy", "alice")
    message = str(caught.value)
    assert "phase stage is locked" in message
    assert "pre: audit, tests, rollback" in message  # audit still awaits its sign-off
    assert "ccplate-tui checklist override stage --reason TEXT" in message
    with pytest.raises(Refused, match="phase stage is locked"):
        ops.begin_step(store, CHECKLIST, "watch", "alice")
    assert actions(store) == ["ticked"]  # nothing recorded for the refusals


def test_the_next_phase_opens_once_the_blocking_steps_passed(store: ChecklistStore) -> None:
    finish_pre(store)
    state = ops.tick(store, CHECKLIST, "deploy", "alice", note="v1.4.2")
    assert (state.status, state.note) == ("passed", "v1.4.2")


def test_override_needs_a_reason_is_recorded_and_opens_the_phase(store: ChecklistStore) -> None:
    with pytest.raises(Refused, match="an override needs a reason"):
        ops.override(store, CHECKLIST, "stage", "alice", "   ")
    with pytest.raises(Refused, match="not locked"):
        ops.override(store, CHECKLIST, "pre", "alice", "why not")
    with pytest.raises(Refused, match="no checklist phase 'prod'"):
        ops.override(store, CHECKLIST, "prod", "alice", "typo")
    assert store.events() == ()
    phase = ops.override(store, CHECKLIST, "stage", "alice", "  npm test needs CI  ")
    assert not phase.locked and phase.override is not None
    (event,) = store.events()
    assert (event.action, event.phase, event.step, event.who, event.reason) == (
        "overridden",
        "stage",
        None,
        "alice",
        "npm test needs CI",
    )
    assert event.evidence["blocked_by"] == ["audit", "tests", "rollback"]
    assert ops.tick(store, CHECKLIST, "deploy", "alice").status == "passed"


def test_advisory_phases_never_lock_later_phases(store: ChecklistStore) -> None:
    finish_pre(store)
    ops.tick(store, CHECKLIST, "deploy", "alice")
    run_step(store, WATCH)
    view = ops.current_view(store, CHECKLIST)
    assert view.step("advice").status == "pending"
    assert not view.phase("post").locked
    assert ops.tick(store, CHECKLIST, "final", "alice").status == "passed"


# --- sign-off ------------------------------------------------------------------------------------


def test_self_approval_is_refused(store: ChecklistStore) -> None:
    ops.tick(store, CHECKLIST, "audit", "alice")
    with pytest.raises(Refused, match="alice ran or ticked step audit; the sign-off must come"):
        ops.approve(store, CHECKLIST, "audit", "alice")
    assert ops.current_view(store, CHECKLIST).step("audit").status == "awaiting_approval"


def test_a_non_approver_is_refused(store: ChecklistStore) -> None:
    ops.tick(store, CHECKLIST, "rollback", "alice")
    with pytest.raises(Refused, match=r"dave is not an approver .*approvers: bob, carol"):
        ops.approve(store, CHECKLIST, "rollback", "dave")
    state = ops.approve(store, CHECKLIST, "rollback", "carol")
    assert (state.status, state.approved_by) == ("passed", "carol")


def test_star_lets_anyone_but_the_operator_approve(store: ChecklistStore) -> None:
    ops.tick(store, CHECKLIST, "audit", "alice")
    state = ops.approve(store, CHECKLIST, "audit", "someone-new")
    assert (state.status, state.approved_by, state.done) == ("passed", "someone-new", True)
    with pytest.raises(Refused, match="already signed off by someone-new"):
        ops.approve(store, CHECKLIST, "audit", "bob")


def test_approval_needs_a_passed_step_with_approvers(store: ChecklistStore) -> None:
    with pytest.raises(Refused, match="step audit is pending: only a passed step"):
        ops.approve(store, CHECKLIST, "audit", "bob")
    run_step(store, TESTS, outcome=StepOutcome("failed", "exit 1", {"exit_code": 1}))
    with pytest.raises(Refused, match="step tests needs no sign-off"):
        ops.approve(store, CHECKLIST, "tests", "bob")


# --- kinds, running, finishing -------------------------------------------------------------------


def test_tick_on_an_automated_step_is_refused(store: ChecklistStore) -> None:
    with pytest.raises(
        Refused, match=r"a command step: run it \(ccplate-tui checklist run tests\)"
    ):
        ops.tick(store, CHECKLIST, "tests", "alice")
    with pytest.raises(Refused, match="manual step: tick it"):
        ops.begin_step(store, CHECKLIST, "audit", "alice")
    with pytest.raises(Refused, match="no checklist step 'test'"):
        ops.tick(store, CHECKLIST, "test", "alice")
    assert store.events() == ()


def test_a_second_tick_is_refused_naming_the_revoke(store: ChecklistStore) -> None:
    ops.tick(store, CHECKLIST, "audit", "alice")
    with pytest.raises(Refused, match=r"already ticked .*checklist revoke audit --reason TEXT"):
        ops.tick(store, CHECKLIST, "audit", "bob")


def test_begin_and_finish_record_pid_and_evidence(store: ChecklistStore) -> None:
    started = ops.begin_step(store, CHECKLIST, "tests", "alice")
    assert (started.action, started.pid) == ("started", os.getpid())
    assert started.pid_started is not None and started.fingerprint
    assert ops.current_view(store, CHECKLIST).step("tests").status == "running"
    with pytest.raises(Refused, match=r"step tests is already running .*pid"):
        ops.begin_step(store, CHECKLIST, "tests", "bob")
    state = ops.finish_step(store, CHECKLIST, "tests", "alice", PASSED)
    assert state.status == "passed"
    assert state.evidence == {"exit_code": 0, "duration_s": 0.1, "summary": "exit 0 in 0.1 s"}
    with pytest.raises(Refused, match="step tests is not running"):
        ops.finish_step(store, CHECKLIST, "tests", "alice", PASSED)


def test_only_one_of_two_processes_starts_a_step(store: ChecklistStore) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from tests.test_checklist_operations import CHECKLIST
        from ccplate_tui.checklist import operations as ops
        from ccplate_tui.checklist.state import ChecklistStore, EventDraft
        try:
            ops.begin_step(ChecklistStore(Path({str(store.state_dir)!r})), CHECKLIST, "tests", "p")
            print("started", flush=True)
        except ops.Refused as exc:
            print("refused", exc, flush=True)
        time.sleep(60)
        """
    )
    children = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        lines = [child.stdout.readline() for child in children]  # type: ignore[union-attr]
    finally:
        for child in children:
            child.kill()
            child.wait(timeout=10)
    assert sorted(line.split()[0] for line in lines) == ["refused", "started"], lines
    assert actions(store) == ["started"]
    # Both processes are gone now: the step reads as interrupted, never as passed.
    assert ops.current_view(store, CHECKLIST).step("tests").status == "interrupted"


def test_record_watch_is_for_timers_only(store: ChecklistStore) -> None:
    with pytest.raises(Refused, match="only timers record watch progress"):
        ops.record_watch(store, CHECKLIST, "tests", "alice", {"rounds": 1})
    ops.override(store, CHECKLIST, "stage", "alice", "rehearsal")
    ops.begin_step(store, CHECKLIST, "watch", "alice")
    ops.record_watch(store, CHECKLIST, "watch", "alice", {"rounds": 2, "left_s": 30})
    state = ops.current_view(store, CHECKLIST).step("watch")
    assert state.status == "running" and state.timer_started is not None
    assert state.history[-1].evidence == {"rounds": 2, "left_s": 30}


def test_notes(store: ChecklistStore) -> None:
    with pytest.raises(Refused, match="a note needs some text"):
        ops.add_note(store, CHECKLIST, "final", "alice", "  ")
    # A note is allowed even in a locked phase: it changes no status.
    state = ops.add_note(store, CHECKLIST, "final", "alice", "on call: bob")
    assert (state.status, state.note) == ("pending", "on call: bob")


def test_secrets_in_notes_and_reasons_are_masked_before_they_are_stored(
    store: ChecklistStore,
) -> None:
    ops.add_note(store, CHECKLIST, "final", "alice", "db password=hunter2")
    ops.override(store, CHECKLIST, "stage", "alice", "CI token=abc123 expired")
    text = store.path.read_text()
    assert "hunter2" not in text and "abc123" not in text
    note, override = store.events()
    assert note.note == "db password=***" and override.reason == "CI token=*** expired"


# --- reset and changes ---------------------------------------------------------------------------


def test_reset_keeps_the_history(store: ChecklistStore) -> None:
    finish_pre(store)
    ops.tick(store, CHECKLIST, "deploy", "alice")
    before = len(store.events())
    ops.reset(store, CHECKLIST, "alice", phase_id="stage", reason="redeploy")
    view = ops.current_view(store, CHECKLIST)
    assert view.step("deploy").status == "pending"
    assert view.step("tests").status == "passed"
    events = store.events()
    assert len(events) == before + 1  # nothing deleted: one reset event appended
    assert (events[-1].action, events[-1].phase, events[-1].reason) == (
        "reset",
        "stage",
        "redeploy",
    )
    ops.reset(store, CHECKLIST, "alice")
    view = ops.current_view(store, CHECKLIST)
    assert view.progress() == (0, 7)
    assert [e.action for e in store.events()].count("ticked") == 3


def test_reset_refuses_while_a_step_runs(store: ChecklistStore) -> None:
    ops.begin_step(store, CHECKLIST, "tests", "alice")
    with pytest.raises(Refused, match=r"step tests is running .*cancel it before resetting"):
        ops.reset(store, CHECKLIST, "bob", phase_id="pre")
    ops.reset(store, CHECKLIST, "bob", phase_id="post")  # another phase is fine
    with pytest.raises(Refused, match="no checklist phase 'nope'"):
        ops.reset(store, CHECKLIST, "bob", phase_id="nope")


def test_a_config_change_after_a_tick_shows_the_step_as_changed(store: ChecklistStore) -> None:
    ops.tick(store, CHECKLIST, "audit", "alice")
    ops.approve(store, CHECKLIST, "audit", "bob")
    run_step(store, TESTS)
    new_tests = replace(TESTS, command=CommandSpec(("npm", "test"), timeout=900.0))
    edited = Checklist(
        "Deploy", (replace(CHECKLIST.phases[0], steps=(AUDIT, new_tests, ROLLBACK)),)
    )
    view = build_view(edited, store.events())
    assert view.changed_steps == ("tests",)
    assert view.step("tests").status == "changed" and not view.step("tests").done
    assert view.step("audit").status == "passed"
    # Running it again under the new definition clears the change.
    ops.begin_step(store, edited, "tests", "alice")
    state = ops.finish_step(store, edited, "tests", "alice", PASSED)
    assert (state.status, state.changed) == ("passed", False)


def test_a_changed_manual_step_can_be_ticked_again(store: ChecklistStore) -> None:
    ops.tick(store, CHECKLIST, "audit", "alice")
    edited = Checklist(
        "Deploy",
        (replace(CHECKLIST.phases[0], steps=(replace(AUDIT, help="new wording"), TESTS)),),
    )
    assert ops.current_view(store, edited).step("audit").status == "changed"
    assert ops.tick(store, edited, "audit", "alice").status == "awaiting_approval"


# --- who -----------------------------------------------------------------------------------------


def test_operator_name() -> None:
    assert ops.operator_name(" bob ") == "bob"
    assert ops.operator_name() == getpass.getuser()
    with pytest.raises(Refused, match="--as needs a name"):
        ops.operator_name("  ")


def test_a_blank_who_is_refused(store: ChecklistStore) -> None:
    with pytest.raises(Refused, match="must have a name"):
        ops.tick(store, CHECKLIST, "audit", " ")
    assert store.events() == ()


# --- revoke --------------------------------------------------------------------------------------


def test_revoking_a_tick_records_who_when_why_and_keeps_the_tick(store: ChecklistStore) -> None:
    ticked = ops.tick(store, CHECKLIST, "audit", "alice", note="SOC2 ok")
    assert ticked.status == "awaiting_approval"
    state = ops.revoke(store, CHECKLIST, "audit", "alice", "ticked the wrong step")
    assert (state.status, state.done, state.by) == ("revoked", False, "alice")
    events = store.events()
    assert [e.action for e in events] == ["ticked", "revoked"]  # nothing erased
    revoked = events[-1]
    assert state.revoked == revoked
    assert (revoked.who, revoked.step, revoked.phase, revoked.reason) == (
        "alice",
        "audit",
        "pre",
        "ticked the wrong step",
    )
    assert revoked.evidence["revoked"] == "ticked"
    assert revoked.evidence["revoked_seq"] == events[0].seq
    assert revoked.evidence["revoked_who"] == "alice"
    assert revoked.evidence["revoked_at"] == events[0].at
    # Revoked is not done: a tick is allowed again, and it stands on its own.
    again = ops.tick(store, CHECKLIST, "audit", "alice")
    assert again.status == "awaiting_approval" and again.revoked is None


def test_revoking_a_sign_off_leaves_the_step_passed_but_awaiting_one(
    store: ChecklistStore,
) -> None:
    ops.tick(store, CHECKLIST, "rollback", "alice")
    assert ops.approve(store, CHECKLIST, "rollback", "bob").status == "passed"
    state = ops.revoke(store, CHECKLIST, "rollback", "carol", "bob was on leave; not checked")
    assert (state.status, state.approved_by, state.by) == ("awaiting_approval", None, "alice")
    assert state.revoked is not None and state.revoked.evidence["revoked"] == "approved"
    # The next revoke undoes the tick itself, and then there is nothing left.
    state = ops.revoke(store, CHECKLIST, "rollback", "carol", "and the tag was wrong")
    assert state.status == "revoked"
    assert state.revoked is not None and state.revoked.evidence["revoked"] == "ticked"
    with pytest.raises(
        Refused, match=r"step rollback is revoked: it has no tick, pass or sign-off"
    ):
        ops.revoke(store, CHECKLIST, "rollback", "carol", "again")


def test_a_sign_off_given_again_after_a_revoke_stands(store: ChecklistStore) -> None:
    ops.tick(store, CHECKLIST, "rollback", "alice")
    ops.approve(store, CHECKLIST, "rollback", "bob")
    ops.revoke(store, CHECKLIST, "rollback", "carol", "not checked")
    state = ops.approve(store, CHECKLIST, "rollback", "carol")
    assert (state.status, state.approved_by, state.revoked) == ("passed", "carol", None)


def test_revoking_a_pass_reopens_the_gate_it_opened(store: ChecklistStore) -> None:
    finish_pre(store)
    assert not ops.current_view(store, CHECKLIST).phase("stage").locked
    state = ops.revoke(store, CHECKLIST, "tests", "bob", "ran against the wrong branch")
    assert state.status == "revoked" and state.evidence["exit_code"] == 0  # what was revoked
    view = ops.current_view(store, CHECKLIST)
    assert view.phase("stage").locked and view.phase("stage").blocked_by == ("tests",)
    assert view.progress() == (2, 7)
    assert run_step(store, TESTS).status == "passed"  # a rerun stands again
    assert ops.current_view(store, CHECKLIST).step("tests").revoked is None


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_revoke_needs_a_reason(store: ChecklistStore, reason: str | None) -> None:
    ops.tick(store, CHECKLIST, "audit", "alice")
    with pytest.raises(Refused, match=r"a revoke needs a reason: .*revoke audit --reason TEXT"):
        ops.revoke(store, CHECKLIST, "audit", "alice", reason)  # type: ignore[arg-type]
    assert actions(store) == ["ticked"]


def test_a_revoke_with_nothing_to_revoke_is_refused(store: ChecklistStore) -> None:
    with pytest.raises(Refused, match=r"step audit is pending: it has no tick, pass or sign-off"):
        ops.revoke(store, CHECKLIST, "audit", "alice", "oops")
    run_step(store, TESTS, outcome=StepOutcome("failed", "exit 1", {"exit_code": 1}))
    with pytest.raises(Refused, match=r"step tests is failed: it has no tick"):
        ops.revoke(store, CHECKLIST, "tests", "alice", "oops")
    with pytest.raises(Refused, match="no checklist step 'nope'"):
        ops.revoke(store, CHECKLIST, "nope", "alice", "oops")
    assert actions(store) == ["started", "failed"]


def test_a_running_step_cannot_be_revoked(store: ChecklistStore) -> None:
    run_step(store, TESTS)
    ops.begin_step(store, CHECKLIST, "tests", "alice")  # a rerun of the passed step
    with pytest.raises(Refused, match=r"step tests is running .*cancel it first"):
        ops.revoke(store, CHECKLIST, "tests", "bob", "wrong branch")
    assert actions(store)[-1] == "started"


def test_a_stale_revoke_changes_nothing(store: ChecklistStore) -> None:
    """A revoke names the event it undoes: one naming another (e.g. replayed after a newer
    tick) leaves the newer result standing."""
    ops.tick(store, CHECKLIST, "advice", "alice")
    draft = EventDraft(
        who="bob",
        action="revoked",
        phase="notes",
        step="advice",
        reason="stale",
        evidence={"revoked": "ticked", "revoked_seq": 99},
    )
    store.append(draft)
    state = ops.current_view(store, CHECKLIST).step("advice")
    assert (state.status, state.revoked) == ("passed", None)
