"""Every change to the checklist's state: validate against the replayed view, then append events.

The CLI and the Checklist tab both call these, so a rule (the gate, no self-approval, no tick on an
automated step) holds wherever the operator acts. Checks and appends happen under the store's lock
(`ChecklistStore.update`), so two processes never both start the same step.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from ccplate_tui.checklist.model import ANYONE, Checklist, Phase, Step, step_fingerprint
from ccplate_tui.checklist.outcome import StepOutcome
from ccplate_tui.checklist.progress import ChecklistView, PhaseState, StepState, build_view
from ccplate_tui.checklist.state import ChecklistStore, Event, EventAction, EventDraft
from ccplate_tui.masking import mask_secrets
from ccplate_tui.process_identity import process_started

__all__ = [
    "Refused",
    "add_note",
    "approve",
    "begin_step",
    "current_view",
    "finish_step",
    "operator_name",
    "override",
    "record_watch",
    "reset",
    "revocable",
    "revoke",
    "tick",
]

CLI = "ccplate-tui checklist"


class Refused(Exception):
    """An operation the rules do not allow; the message says why and what to do instead."""


def operator_name(as_name: str | None = None) -> str:
    """Who acts: `--as NAME` when given, else the OS user."""
    if as_name is not None:
        name = as_name.strip()
        if not name:
            raise Refused("--as needs a name")
        return name
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return f"uid-{os.getuid()}"


def current_view(store: ChecklistStore, checklist: Checklist) -> ChecklistView:
    """The checklist as the stored events leave it, with any state-file problem."""
    state = store.load()
    return build_view(checklist, state.events, problem=state.problem)


def tick(
    store: ChecklistStore, checklist: Checklist, step_id: str, who: str, note: str | None = None
) -> StepState:
    """Mark a manual step done, with an optional note."""
    step = _step(checklist, step_id)
    if step.automated:
        raise Refused(
            f"step {step.id} is a {step.kind} step: run it ({CLI} run {step.id}); "
            "only manual steps are ticked"
        )

    def decide(view: ChecklistView) -> list[EventDraft]:
        _check_gate(view, step)
        state = view.step(step.id)
        if state.status in ("passed", "awaiting_approval"):
            raise Refused(
                f"step {step.id} is already ticked (by {state.by} at {_when(state.at)}); "
                f"to undo it: {CLI} revoke {step.id} --reason TEXT"
            )
        return [_draft(checklist, step, who, "ticked", note=_optional(note))]

    return _commit(store, checklist, decide).step(step.id)


def add_note(
    store: ChecklistStore, checklist: Checklist, step_id: str, who: str, note: str
) -> StepState:
    """Attach a note to a step, in any state and any phase (a note changes no status)."""
    step = _step(checklist, step_id)
    text = _optional(note)
    if text is None:
        raise Refused("a note needs some text")
    view = _commit(
        store, checklist, lambda _view: [_draft(checklist, step, who, "noted", note=text)]
    )
    return view.step(step.id)


def approve(store: ChecklistStore, checklist: Checklist, step_id: str, who: str) -> StepState:
    """Sign off a passed step; never by the operator who ran or ticked it."""
    step = _step(checklist, step_id)
    if not step.approvers:
        raise Refused(f"step {step.id} needs no sign-off (it has no approvers)")

    def decide(view: ChecklistView) -> list[EventDraft]:
        state = view.step(step.id)
        if state.status == "passed":
            raise Refused(
                f"step {step.id} is already signed off by {state.approved_by} "
                f"at {_when(state.approved_at)}"
            )
        if state.status != "awaiting_approval":
            raise Refused(
                f"step {step.id} is {state.status.replace('_', ' ')}: only a passed step can be "
                "signed off"
            )
        if who == state.by:
            raise Refused(
                f"{who} ran or ticked step {step.id}; the sign-off must come from someone else"
            )
        if ANYONE not in step.approvers and who not in step.approvers:
            raise Refused(
                f"{who} is not an approver of step {step.id} "
                f"(approvers: {', '.join(step.approvers)})"
            )
        return [_draft(checklist, step, who, "approved")]

    return _commit(store, checklist, decide).step(step.id)


def override(
    store: ChecklistStore, checklist: Checklist, phase_id: str, who: str, reason: str
) -> PhaseState:
    """Open a locked phase anyway; the reason and what held the gate are recorded."""
    phase = _phase(checklist, phase_id)
    text = _optional(reason)
    if text is None:
        raise Refused(
            f"an override needs a reason: {CLI} override {phase.id} --reason TEXT "
            "(it goes into the report)"
        )

    def decide(view: ChecklistView) -> list[EventDraft]:
        state = view.phase(phase.id)
        if not state.locked:
            raise Refused(f"phase {phase.id} is not locked; there is nothing to override")
        return [
            EventDraft(
                who=_who(who),
                action="overridden",
                phase=phase.id,
                checklist=checklist.digest,
                reason=text,
                evidence={"blocked_by": list(state.blocked_by)},
            )
        ]

    return _commit(store, checklist, decide).phase(phase.id)


def reset(
    store: ChecklistStore,
    checklist: Checklist,
    who: str,
    phase_id: str | None = None,
    reason: str | None = None,
) -> None:
    """Start a phase (or the whole checklist) over; earlier events stay in the history."""
    phase = _phase(checklist, phase_id) if phase_id is not None else None

    def decide(view: ChecklistView) -> list[EventDraft]:
        for state in view.running():
            if phase is None or state.step.phase == phase.id:
                raise Refused(
                    f"step {state.step.id} is running (started by {state.by} at "
                    f"{_when(state.at)}); cancel it before resetting"
                )
        return [
            EventDraft(
                who=_who(who),
                action="reset",
                phase=phase.id if phase else None,
                checklist=checklist.digest,
                reason=_optional(reason),
            )
        ]

    _commit(store, checklist, decide)


def revocable(state: StepState) -> Event:
    """The event a revoke of this step would undo: its sign-off when it has one, else its tick
    or pass. Refused (saying why) when nothing stands to be revoked or the step is running."""
    step = state.step
    if state.status == "running":
        raise Refused(
            f"step {step.id} is running (started by {state.by} at {_when(state.at)}); cancel it "
            "first, then revoke its result"
        )
    result = state.result
    if state.status in ("passed", "awaiting_approval") and result is not None:
        approval = _standing_approval(state)
        if approval is not None:
            return approval
        if result.action in ("passed", "ticked"):
            return result
    raise Refused(
        f"step {step.id} is {state.status.replace('_', ' ')}: it has no tick, pass or sign-off "
        "to revoke"
    )


def revoke(
    store: ChecklistStore, checklist: Checklist, step_id: str, who: str, reason: str
) -> StepState:
    """Undo a step's latest tick, pass or sign-off as a recorded event (who, when, why).

    The undone event stays in the log and the report; the step reads as not done again, or,
    for a sign-off, as passed and awaiting one.
    """
    step = _step(checklist, step_id)
    text = _optional(reason)
    if text is None:
        raise Refused(
            f"a revoke needs a reason: {CLI} revoke {step.id} --reason TEXT "
            "(it goes into the report)"
        )

    def decide(view: ChecklistView) -> list[EventDraft]:
        target = revocable(view.step(step.id))
        draft = _draft(
            checklist,
            step,
            who,
            "revoked",
            evidence={
                "revoked": target.action,
                "revoked_seq": target.seq,
                "revoked_who": target.who,
                "revoked_at": target.at,
            },
        )
        return [replace(draft, reason=text)]

    return _commit(store, checklist, decide).step(step.id)


def begin_step(store: ChecklistStore, checklist: Checklist, step_id: str, who: str) -> Event:
    """Record that this process starts running an automated step (pid kept for crash detection).

    The caller runs the step next and ends with finish_step; if the process dies first, the
    step reads as interrupted.
    """
    step = _step(checklist, step_id)
    if not step.automated:
        raise Refused(
            f"step {step.id} is a manual step: tick it ({CLI} tick {step.id}); it has nothing "
            "to run"
        )
    pid = os.getpid()
    pid_started = process_started(pid)

    def decide(view: ChecklistView) -> list[EventDraft]:
        _check_gate(view, step)
        state = view.step(step.id)
        if state.status == "running":
            started = state.history[-1] if state.history else None
            pid_text = f", pid {started.pid}" if started and started.pid else ""
            raise Refused(
                f"step {step.id} is already running (started by {state.by} at "
                f"{_when(state.at)}{pid_text})"
            )
        return [_draft(checklist, step, who, "started", pid=pid, pid_started=pid_started)]

    return _commit_events(store, checklist, decide)[1][0]


def finish_step(
    store: ChecklistStore, checklist: Checklist, step_id: str, who: str, outcome: StepOutcome
) -> StepState:
    """Record how a started step ended, with its evidence (the summary is kept in it)."""
    step = _step(checklist, step_id)
    evidence: dict[str, Any] = dict(outcome.evidence)
    evidence.setdefault("summary", outcome.summary)

    def decide(view: ChecklistView) -> list[EventDraft]:
        state = view.step(step.id)
        if state.status not in ("running", "interrupted") or not _open_start(state):
            raise Refused(f"step {step.id} is not running; nothing to finish")
        return [_draft(checklist, step, who, outcome.result, evidence=evidence)]

    return _commit(store, checklist, decide).step(step.id)


def record_watch(
    store: ChecklistStore,
    checklist: Checklist,
    step_id: str,
    who: str,
    evidence: Mapping[str, Any],
) -> None:
    """Record a timer's progress (rounds run so far), so the report shows the watch."""
    step = _step(checklist, step_id)
    if step.kind != "timer":
        raise Refused(f"step {step.id} is a {step.kind} step; only timers record watch progress")
    store.append(_draft(checklist, step, who, "watch", evidence=dict(evidence)))


# --- helpers ------------------------------------------------------------------------------------


def _commit(
    store: ChecklistStore,
    checklist: Checklist,
    decide: Callable[[ChecklistView], Sequence[EventDraft]],
) -> ChecklistView:
    """Run `decide` on the latest events under the store's lock, append, return the new view."""
    return _commit_events(store, checklist, decide)[0]


def _commit_events(
    store: ChecklistStore,
    checklist: Checklist,
    decide: Callable[[ChecklistView], Sequence[EventDraft]],
) -> tuple[ChecklistView, tuple[Event, ...]]:
    """`_commit`, also returning the events just stored."""
    seen: list[tuple[Event, ...]] = []

    def wrapped(events: tuple[Event, ...]) -> Sequence[EventDraft]:
        seen.append(events)
        return decide(build_view(checklist, events))

    new = store.update(wrapped)
    return build_view(checklist, seen[-1] + new, problem=store.last_problem), new


def _check_gate(view: ChecklistView, step: Step) -> None:
    state = view.phase(step.phase)
    if not state.locked:
        return
    by_phase: dict[str, list[str]] = {}
    for holder in state.blocked_by:
        by_phase.setdefault(view.checklist.step(holder).phase, []).append(holder)
    waiting = "; ".join(f"{phase}: {', '.join(ids)}" for phase, ids in by_phase.items())
    raise Refused(
        f"phase {step.phase} is locked until the blocking steps before it are done "
        f"(waiting for {waiting}). To go on anyway: "
        f"{CLI} override {step.phase} --reason TEXT"
    )


def _standing_approval(state: StepState) -> Event | None:
    """The sign-off the step's status rests on (the latest approval after its result)."""
    if state.status != "passed" or state.approved_by is None:
        return None
    for event in reversed(state.history):
        if event.action == "approved":
            return event
        if event.action in ("passed", "ticked"):
            return None
    return None


def _open_start(state: StepState) -> bool:
    for event in reversed(state.history):
        if event.action == "started":
            return True
        if event.action in ("passed", "failed", "cancelled", "interrupted", "ticked"):
            return False
    return False


def _draft(
    checklist: Checklist,
    step: Step,
    who: str,
    action: EventAction,
    *,
    note: str | None = None,
    pid: int | None = None,
    pid_started: float | None = None,
    evidence: Mapping[str, Any] | None = None,
) -> EventDraft:
    return EventDraft(
        who=_who(who),
        action=action,
        phase=step.phase,
        step=step.id,
        fingerprint=step_fingerprint(step),
        checklist=checklist.digest,
        note=note,
        pid=pid,
        pid_started=pid_started,
        evidence=evidence or {},
    )


def _step(checklist: Checklist, step_id: str) -> Step:
    try:
        return checklist.step(step_id)
    except KeyError as exc:
        raise Refused(exc.args[0]) from None


def _phase(checklist: Checklist, phase_id: str) -> Phase:
    try:
        return checklist.phase(phase_id)
    except KeyError as exc:
        raise Refused(exc.args[0]) from None


def _who(who: str) -> str:
    name = who.strip()
    if not name:
        raise Refused("who acts must have a name")
    return name


def _optional(text: str | None) -> str | None:
    """Stripped text, None when blank; secrets masked since notes end up in reports."""
    if text is None or not text.strip():
        return None
    return mask_secrets(text.strip())


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "an unknown time"
