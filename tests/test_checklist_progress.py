"""build_view: the replay of stored events over the current checklist definition."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psutil
import pytest

from ccplate_tui.checklist.model import (
    Checklist,
    CommandSpec,
    HttpProbe,
    Phase,
    Step,
    step_fingerprint,
)
from ccplate_tui.checklist.progress import ChecklistView, build_view, process_alive
from ccplate_tui.checklist.state import Event, EventAction

T0 = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)

MANUAL = Step(id="audit", title="Audit", kind="manual", phase="pre", approvers=("*",))
COMMAND = Step(
    id="tests", title="Tests", kind="command", phase="pre", command=CommandSpec(("true",))
)
OPTIONAL = Step(id="extra", title="Extra", kind="manual", phase="pre", required=False)
DEPLOY = Step(
    id="deploy", title="Deploy", kind="command", phase="stage", command=CommandSpec(("true",))
)
WATCH = Step(
    id="watch",
    title="Watch",
    kind="timer",
    phase="stage",
    duration=600.0,
    every=30.0,
    probes=(HttpProbe("http://127.0.0.1:1/api/health"),),
)
ADVICE = Step(id="advice", title="Advice", kind="manual", phase="notes")
FINAL = Step(id="final", title="Final", kind="manual", phase="post")

CHECKLIST = Checklist(
    "Deploy",
    (
        Phase("pre", "Pre-deploy", "blocking", (MANUAL, COMMAND, OPTIONAL)),
        Phase("stage", "Staging", "blocking", (DEPLOY, WATCH)),
        Phase("notes", "Notes", "advisory", (ADVICE,)),
        Phase("post", "Post-deploy", "blocking", (FINAL,)),
    ),
)


class Log:
    """Builds a well-formed event sequence, one minute apart."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(
        self,
        action: EventAction,
        step: Step | str | None = None,
        who: str = "alice",
        *,
        phase: str | None = None,
        fingerprint: str | None = None,
        **fields: Any,
    ) -> Event:
        if isinstance(step, Step):
            phase = phase or step.phase
            fingerprint = fingerprint or step_fingerprint(step)
            step_id: str | None = step.id
        else:
            step_id = step
        event = Event(
            seq=len(self.events) + 1,
            at=T0 + timedelta(minutes=len(self.events)),
            who=who,
            action=action,
            phase=phase,
            step=step_id,
            fingerprint=fingerprint,
            checklist=CHECKLIST.digest,
            **fields,
        )
        self.events.append(event)
        return event

    def pass_step(self, step: Step, who: str = "alice") -> None:
        if step.kind == "manual":
            self.add("ticked", step, who)
        else:
            self.add("started", step, who, pid=os.getpid(), pid_started=1.0)
            self.add("passed", step, who, evidence={"exit_code": 0})

    def view(self, **kwargs: Any) -> ChecklistView:
        kwargs.setdefault("alive", lambda pid, started: False)
        return build_view(CHECKLIST, self.events, **kwargs)


def dead_process() -> tuple[int, float]:
    """The pid and start time of a real subprocess that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    started = psutil.Process(child.pid).create_time()
    child.kill()
    child.wait(timeout=10)
    return child.pid, started


def own_process() -> tuple[int, float]:
    return os.getpid(), psutil.Process().create_time()


# --- process_alive -------------------------------------------------------------------------------


def test_process_alive_needs_the_same_pid_and_start_time() -> None:
    pid, started = own_process()
    assert process_alive(pid, started)
    assert not process_alive(pid, started - 3600)  # the pid was reused by another process
    assert not process_alive(*dead_process())


# --- statuses ------------------------------------------------------------------------------------


def test_no_events_everything_pending_and_the_first_phase_open() -> None:
    view = Log().view()
    assert [s.status for s in view.phases[0].steps] == ["pending"] * 3
    assert not view.phases[0].locked
    assert view.phases[1].locked and view.phases[1].blocked_by == ("audit", "tests")
    assert view.progress() == (0, 6)  # the optional step does not count
    assert (view.orphans, view.changed_steps, view.problem) == ((), (), None)


def test_tick_with_note_then_approval_by_someone_else() -> None:
    log = Log()
    log.add("ticked", MANUAL, "alice", note="grade A")
    state = log.view().step("audit")
    assert (state.status, state.by, state.at, state.note) == (
        "awaiting_approval",
        "alice",
        T0,
        "grade A",
    )
    assert not state.done
    log.add("approved", MANUAL, "bob")
    state = log.view().step("audit")
    assert state.status == "passed" and state.done
    assert (state.approved_by, state.approved_at) == ("bob", T0 + timedelta(minutes=1))
    assert [e.action for e in state.history] == ["ticked", "approved"]


def test_a_new_result_needs_a_new_approval() -> None:
    log = Log()
    log.add("ticked", MANUAL, "alice")
    log.add("approved", MANUAL, "bob")
    log.add("ticked", MANUAL, "carol")
    state = log.view().step("audit")
    assert state.status == "awaiting_approval" and state.approved_by is None
    assert state.by == "carol"


@pytest.mark.parametrize("result", ["passed", "failed", "cancelled"])
def test_run_results_with_evidence(result: EventAction) -> None:
    log = Log()
    log.add("started", COMMAND, "alice", pid=1, pid_started=1.0)
    log.add(result, COMMAND, "alice", evidence={"exit_code": 0 if result == "passed" else 1})
    state = log.view().step("tests")
    assert state.status == result
    assert state.evidence["exit_code"] == (0 if result == "passed" else 1)
    assert state.done is (result == "passed")
    assert state.at == T0 + timedelta(minutes=1)


def test_a_running_step_whose_process_lives() -> None:
    pid, started = own_process()
    log = Log()
    log.add("started", COMMAND, "alice", pid=pid, pid_started=started)
    state = build_view(CHECKLIST, log.events).step("tests")  # the real process_alive
    assert (state.status, state.by) == ("running", "alice")
    assert not state.done
    assert build_view(CHECKLIST, log.events).running() == (state,)


def test_a_started_step_whose_process_died_is_interrupted_never_passed() -> None:
    pid, started = dead_process()
    log = Log()
    log.pass_step(COMMAND)  # an earlier pass...
    log.add("started", COMMAND, "alice", pid=pid, pid_started=started)  # ...then a re-run died
    state = build_view(CHECKLIST, log.events).step("tests")
    assert state.status == "interrupted" and not state.done
    assert build_view(CHECKLIST, log.events).phases[1].locked


def test_a_started_event_without_a_pid_reads_as_interrupted() -> None:
    log = Log()
    log.add("started", COMMAND)
    assert log.view(alive=lambda pid, started: True).step("tests").status == "interrupted"


def test_an_explicit_interrupted_event() -> None:
    log = Log()
    log.add("started", COMMAND, pid=1, pid_started=1.0)
    log.add("interrupted", COMMAND, reason="the machine rebooted")
    assert log.view(alive=lambda pid, started: True).step("tests").status == "interrupted"


def test_notes_and_watch_events_change_no_status() -> None:
    log = Log()
    log.add("noted", COMMAND, note="waiting for CI")
    log.add("noted", COMMAND, note="CI is green")
    state = log.view().step("tests")
    assert (state.status, state.note) == ("pending", "CI is green")
    assert len(state.history) == 2


# --- changed definitions and orphans -------------------------------------------------------------


def test_a_result_for_an_older_definition_reads_as_changed() -> None:
    log = Log()
    log.pass_step(COMMAND)
    log.pass_step(DEPLOY)
    new_tests = replace(COMMAND, command=CommandSpec(("npm", "test")))
    changed = Checklist(
        "Deploy",
        (replace(CHECKLIST.phases[0], steps=(MANUAL, new_tests, OPTIONAL)), *CHECKLIST.phases[1:]),
    )
    view = build_view(changed, log.events, alive=lambda pid, started: False)
    state = view.step("tests")
    assert (state.status, state.changed, state.done) == ("changed", True, False)
    assert view.changed_steps == ("tests",)
    assert view.step("deploy").status == "passed"  # untouched step keeps its result
    assert "tests" in view.phases[1].blocked_by


def test_events_of_steps_no_longer_in_the_config_are_orphans() -> None:
    log = Log()
    log.add("ticked", "smoke_test", phase="pre", fingerprint="0" * 16)
    log.pass_step(COMMAND)
    view = log.view()
    assert view.orphans == ("smoke_test",)
    assert view.step("tests").status == "passed"


# --- resets --------------------------------------------------------------------------------------


def test_a_phase_reset_clears_its_steps_and_override_only() -> None:
    log = Log()
    log.pass_step(COMMAND)
    log.add("overridden", phase="stage", reason="audit later")
    log.pass_step(DEPLOY)
    log.add("reset", phase="stage", reason="redeploy")
    view = log.view()
    assert view.step("tests").status == "passed"
    deploy = view.step("deploy")
    assert (deploy.status, deploy.history) == ("pending", ())
    assert view.phases[1].override is None and view.phases[1].locked


def test_a_full_reset_clears_everything_including_orphans() -> None:
    log = Log()
    log.add("ticked", "gone", phase="pre")
    log.pass_step(COMMAND)
    log.add("overridden", phase="stage", reason="x")
    log.add("reset", reason="new release")
    log.add("noted", COMMAND, note="after the reset")
    view = log.view()
    assert view.orphans == ()
    state = view.step("tests")
    assert state.status == "pending" and [e.action for e in state.history] == ["noted"]
    assert view.phases[1].locked and view.phases[1].override is None


def test_a_step_reset() -> None:
    log = Log()
    log.pass_step(COMMAND)
    log.add("reset", COMMAND)
    assert log.view().step("tests").status == "pending"


# --- gates and overrides -------------------------------------------------------------------------


def test_a_phase_opens_when_the_required_steps_before_it_are_done() -> None:
    log = Log()
    log.add("ticked", MANUAL, "alice")
    log.pass_step(COMMAND)
    view = log.view()
    assert view.phases[1].blocked_by == ("audit",)  # awaiting approval is not done
    log.add("approved", MANUAL, "bob")
    view = log.view()
    assert not view.phases[1].locked and view.phases[1].blocked_by == ()
    assert (view.phases[0].done, view.phases[0].total) == (2, 2)
    assert view.progress() == (2, 6)


def test_an_override_opens_the_phase_and_is_shown() -> None:
    log = Log()
    override = log.add("overridden", phase="stage", who="carol", reason="tests flaky; run later")
    view = log.view()
    stage = view.phases[1]
    assert not stage.locked and stage.blocked_by == ()
    assert stage.override == override and stage.override.reason == "tests flaky; run later"
    # What came before the override is accepted; the next gate waits for staging's own steps.
    assert view.phases[3].blocked_by == ("deploy", "watch")


def test_advisory_phases_never_lock_later_phases() -> None:
    log = Log()
    for step in (MANUAL, COMMAND, DEPLOY, WATCH):
        log.pass_step(step)
    log.add("approved", MANUAL, "bob")
    view = log.view()
    notes, post = view.phases[2], view.phases[3]
    assert not notes.locked and notes.done == 0
    assert not post.locked and post.blocked_by == ()


def test_an_advisory_phase_is_never_behind_a_gate() -> None:
    view = Log().view()
    assert view.phases[1].locked, "a blocking phase behind undone steps is locked"
    assert not view.phases[2].locked and view.phases[2].blocked_by == ()
    assert view.phases[3].locked
    assert view.phases[3].blocked_by == ("audit", "tests", "deploy", "watch")


# --- timers --------------------------------------------------------------------------------------


def test_timer_window_survives_an_interruption_and_closes_on_a_result() -> None:
    log = Log()
    first = log.add("started", WATCH, pid=1, pid_started=1.0)
    now = T0 + timedelta(minutes=4)
    state = log.view(now=now).step("watch")
    assert state.status == "interrupted" and state.timer_started == first.at
    assert state.timer_remaining == 600.0 - 240.0
    log.add("watch", WATCH, evidence={"rounds": 3})
    log.add("started", WATCH, pid=2, pid_started=2.0)  # resumed after a restart
    state = log.view(now=now, alive=lambda pid, started: pid == 2).step("watch")
    assert state.status == "running"
    assert state.timer_started == first.at  # the same window, not a new one
    assert log.view(now=T0 + timedelta(hours=1)).step("watch").timer_remaining == 0.0
    log.add("failed", WATCH, evidence={"status": 503})
    state = log.view().step("watch")
    assert (state.status, state.timer_started, state.timer_remaining) == ("failed", None, None)
    again = log.add("started", WATCH, pid=3, pid_started=3.0)
    assert log.view().step("watch").timer_started == again.at  # a fresh window


def test_non_timer_steps_have_no_window() -> None:
    log = Log()
    log.add("started", COMMAND, pid=1, pid_started=1.0)
    assert log.view().step("tests").timer_started is None


def test_view_lookups_name_the_known_ids() -> None:
    view = Log().view(problem="checklist.toml was damaged")
    assert view.problem == "checklist.toml was damaged"
    assert view.phase_of("deploy").phase.id == "stage"
    with pytest.raises(KeyError, match="no checklist step 'nope'"):
        view.step("nope")
    with pytest.raises(KeyError, match="no checklist phase 'nope'"):
        view.phase("nope")
