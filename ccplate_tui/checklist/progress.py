"""Where the checklist stands: a pure replay of the stored events over the current definition.

Nothing here writes. The replay is what makes a crash harmless: a step that was running when its
process died reads as interrupted (never passed), and a result recorded for an older definition of
a step reads as changed instead of being carried over silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from ccplate_tui.checklist.model import Checklist, Phase, Step, step_fingerprint
from ccplate_tui.checklist.state import Event
from ccplate_tui.process_identity import process_alive

__all__ = [
    "RESULT_ACTIONS",
    "ChecklistView",
    "PhaseState",
    "StepState",
    "StepStatus",
    "build_view",
    "process_alive",
    "rehearsal_scale",
    "revoked_what",
    "status_label",
]

StepStatus = Literal[
    "pending",
    "running",
    "passed",
    "failed",
    "cancelled",
    "interrupted",
    "awaiting_approval",
    "changed",
    "revoked",
]
"""`revoked`: its latest tick or pass was revoked (a recorded undo), so it reads as not done."""

RESULT_ACTIONS = frozenset({"passed", "failed", "cancelled", "interrupted", "ticked"})
"""Events that record how a step ended (a tick is a manual step's pass)."""
_WINDOW_ENDS = frozenset({"passed", "failed", "cancelled", "ticked"})
"""Results that close a timer's watch window; an interruption leaves it open to resume."""


@dataclass(frozen=True)
class StepState:
    """One step as the events leave it."""

    step: Step
    status: StepStatus
    by: str | None
    """Who ran or ticked it last."""
    at: datetime | None
    approved_by: str | None
    approved_at: datetime | None
    evidence: Mapping[str, Any]
    """Of the latest result event."""
    note: str | None
    """The latest note."""
    history: tuple[Event, ...]
    """This step's events since its last reset."""
    changed: bool
    """The step's definition changed since its result was recorded."""
    timer_started: datetime | None
    """Kind timer, while its window is open (running or interrupted): when the window began."""
    timer_remaining: float | None = None
    """Kind timer, while its window is open: seconds left at the view's `now` (>= 0)."""
    revoked: Event | None = None
    """The revocation standing on this step (who, when, `reason`; its evidence names what it
    undid): its result (status `revoked`) or its sign-off (status `awaiting_approval` again).
    None once a later result or sign-off replaces it."""

    @property
    def done(self) -> bool:
        """Passed, signed off when it needs it, and for the current definition."""
        return self.status == "passed"

    @property
    def watched_until(self) -> datetime | None:
        """When an open timer window was last seen watched (its latest start or watch event);
        a resumed watch counts the time since as unwatched."""
        if self.timer_started is None:
            return None
        seen = [e.at for e in self.history if e.action in ("started", "watch")]
        return max(seen) if seen else None

    @property
    def result(self) -> Event | None:
        """The latest result event (passed, failed, cancelled, interrupted, ticked)."""
        for event in reversed(self.history):
            if event.action in RESULT_ACTIONS:
                return event
        return None


@dataclass(frozen=True)
class PhaseState:
    """One phase: its steps and its gate."""

    phase: Phase
    steps: tuple[StepState, ...]
    locked: bool
    """A blocking phase before it has required steps not done, and no override opened it."""
    blocked_by: tuple[str, ...]
    """The ids of the steps holding the gate."""
    override: Event | None
    """The override that opened this phase (who, when, reason), if any."""
    done: int
    """Required steps done."""
    total: int
    """Required steps."""


@dataclass(frozen=True)
class ChecklistView:
    """The whole checklist as the events leave it."""

    checklist: Checklist
    phases: tuple[PhaseState, ...]
    orphans: tuple[str, ...]
    """Ids of steps with events that no longer exist in the config."""
    changed_steps: tuple[str, ...]
    """Steps whose definition changed after they were ticked or run."""
    problem: str | None
    """What was wrong with the state file and what was done about it (LoadedState.problem)."""

    def step(self, step_id: str) -> StepState:
        """The state of a step; KeyError naming the known ids otherwise."""
        for phase in self.phases:
            for state in phase.steps:
                if state.step.id == step_id:
                    return state
        self.checklist.step(step_id)  # raises the KeyError naming the known steps
        raise AssertionError("unreachable")  # pragma: no cover

    def phase(self, phase_id: str) -> PhaseState:
        """The state of a phase; KeyError naming the known ids otherwise."""
        for state in self.phases:
            if state.phase.id == phase_id:
                return state
        self.checklist.phase(phase_id)
        raise AssertionError("unreachable")  # pragma: no cover

    def phase_of(self, step_id: str) -> PhaseState:
        """The state of the phase that holds `step_id`."""
        return self.phase(self.checklist.step(step_id).phase)

    def progress(self) -> tuple[int, int]:
        """(done, total) over the required steps of all phases."""
        return sum(p.done for p in self.phases), sum(p.total for p in self.phases)

    def running(self) -> tuple[StepState, ...]:
        """Steps whose process is still at work."""
        return tuple(s for p in self.phases for s in p.steps if s.status == "running")


def rehearsal_scale(state: StepState) -> float | None:
    """The time scale (< 1) a passed step was rehearsed at, from its evidence; else None."""
    scale = state.evidence.get("time_scale") if isinstance(state.evidence, Mapping) else None
    if state.status != "passed" or isinstance(scale, bool) or not isinstance(scale, int | float):
        return None
    return float(scale) if 0 < scale < 1 else None


def status_label(state: StepState) -> str:
    """The status in words for lists: `passed (rehearsal ×0.01)` when a timer or load step
    passed only at a shortened time scale, which the verdict does not count as full evidence."""
    word = state.status.replace("_", " ")
    scale = rehearsal_scale(state)
    return f"{word} (rehearsal ×{scale:g})" if scale is not None else word


REVOKED_NOUN = {"ticked": "tick", "passed": "pass", "approved": "sign-off"}


def revoked_what(event: Event) -> str:
    """What a `revoked` event undid, in words: `the tick by alice`."""
    action = event.evidence.get("revoked")
    noun = (
        REVOKED_NOUN.get(action, str(action or "result")) if isinstance(action, str) else "result"
    )
    by = event.evidence.get("revoked_who")
    return f"the {noun} by {by}" if isinstance(by, str) and by else f"the {noun}"


def build_view(
    checklist: Checklist,
    events: Sequence[Event],
    *,
    now: datetime | None = None,
    alive: Callable[[int, float], bool] = process_alive,
    problem: str | None = None,
) -> ChecklistView:
    """Replay `events` over `checklist`; `alive` decides whether a started step still runs.

    A `reset` with no phase clears everything before it; one with a phase clears that phase's
    steps and override; one with a step clears that step.
    """
    now = now or datetime.now(UTC)
    known = {step.id for step in checklist.steps()}
    per_step: dict[str, list[Event]] = {}
    overrides: dict[str, Event] = {}
    orphans: dict[str, None] = {}
    phase_of = {step.id: step.phase for step in checklist.steps()}
    for event in events:
        if event.action == "reset":
            _apply_reset(event, per_step, overrides, orphans, phase_of)
        elif event.action == "overridden" and event.phase is not None and event.step is None:
            overrides[event.phase] = event
        elif event.step is not None:
            per_step.setdefault(event.step, []).append(event)
            if event.step not in known:
                orphans[event.step] = None
    phases: list[PhaseState] = []
    # The gate before each phase: required steps of blocking phases since the latest override,
    # since an override accepts the state of everything before the phase it opens.
    holding: list[str] = []
    for phase in checklist.phases:
        override = overrides.get(phase.id)
        if override is not None:
            holding = []
        steps = tuple(
            _step_state(step, tuple(per_step.get(step.id, ())), now, alive) for step in phase.steps
        )
        required = [s for s in steps if s.step.required]
        # Advisory phases (the rollback plan) are guidance: they neither hold nor wait at a gate,
        # so a rollback is never one override away at 2 a.m.
        gated = phase.gate == "blocking"
        phases.append(
            PhaseState(
                phase=phase,
                steps=steps,
                locked=gated and bool(holding),
                blocked_by=tuple(holding) if gated else (),
                override=override,
                done=sum(1 for s in required if s.done),
                total=len(required),
            )
        )
        if phase.gate == "blocking":
            holding = holding + [s.step.id for s in required if not s.done]
    changed = tuple(s.step.id for p in phases for s in p.steps if s.changed)
    return ChecklistView(checklist, tuple(phases), tuple(orphans), changed, problem)


def _apply_reset(
    event: Event,
    per_step: dict[str, list[Event]],
    overrides: dict[str, Event],
    orphans: dict[str, None],
    phase_of: Mapping[str, str],
) -> None:
    if event.step is not None:
        per_step.pop(event.step, None)
        orphans.pop(event.step, None)
        return
    if event.phase is None:
        per_step.clear()
        overrides.clear()
        orphans.clear()
        return
    overrides.pop(event.phase, None)
    for step_id in list(per_step):
        # A step's own events name its phase; one moved since is still found by its id.
        events = per_step[step_id]
        if phase_of.get(step_id) == event.phase or any(e.phase == event.phase for e in events):
            per_step.pop(step_id)
            orphans.pop(step_id, None)


def _step_state(
    step: Step,
    history: tuple[Event, ...],
    now: datetime,
    alive: Callable[[int, float], bool],
) -> StepState:
    fingerprint = step_fingerprint(step)
    result: Event | None = None
    started: Event | None = None  # a start with no result after it
    approval: Event | None = None
    note: str | None = None
    window: datetime | None = None
    window_open = False
    # The revocations standing on the result and on the sign-off, if any.
    result_revoked: Event | None = None
    approval_revoked: Event | None = None
    for event in history:
        if event.note:
            note = event.note
        if event.action == "started":
            started = event
            if not window_open:
                window, window_open = event.at, True
        elif event.action in RESULT_ACTIONS:
            result, started, approval = event, None, None
            result_revoked = approval_revoked = None
            if event.action in _WINDOW_ENDS:
                window_open = False
        elif event.action == "approved":
            approval, approval_revoked = event, None
        elif event.action == "revoked":
            # It names the event it undoes; one naming anything else (stale) changes nothing.
            target = event.evidence.get("revoked_seq")
            if approval is not None and target == approval.seq:
                approval, approval_revoked = None, event
            elif result is not None and target == result.seq and result_revoked is None:
                result_revoked = event
    status: StepStatus
    by, at, evidence = None, None, {}
    changed = False
    if result is not None:
        by, at, evidence = result.who, result.at, result.evidence
        changed = result.fingerprint is not None and result.fingerprint != fingerprint
        if result_revoked is not None:
            by, at, changed = result_revoked.who, result_revoked.at, False
    if started is not None:
        by, at = started.who, started.at
        running = started.pid is not None and started.pid_started is not None
        running = running and alive(started.pid, started.pid_started)  # type: ignore[arg-type]
        status = "running" if running else "interrupted"
    elif result is None:
        status = "pending"
    elif result_revoked is not None:
        status = "revoked"
    elif changed:
        status = "changed"
    elif result.action in ("passed", "ticked"):
        approved = approval is not None or not step.approvers
        status = "passed" if approved else "awaiting_approval"
    else:
        status = result.action  # type: ignore[assignment]  # failed, cancelled, interrupted
    timer_started = window if step.kind == "timer" and window_open else None
    remaining = None
    if timer_started is not None and step.duration is not None:
        remaining = max(0.0, (timer_started - now).total_seconds() + step.duration)
    return StepState(
        step=step,
        status=status,
        by=by,
        at=at,
        approved_by=approval.who if approval else None,
        approved_at=approval.at if approval else None,
        evidence=evidence,
        note=note,
        history=history,
        changed=changed,
        timer_started=timer_started,
        timer_remaining=remaining,
        revoked=result_revoked or approval_revoked,
    )
