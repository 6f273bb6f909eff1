"""Typed model of the deploy checklist defined in scenarios.toml's `[checklist]`.

Values are already validated and converted (durations in seconds, `${base_url}` expanded), so the
runners, the state replay and the UI never see raw TOML.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any, Literal

from ccplate_tui.suggest import did_you_mean

StepKind = Literal["manual", "command", "http", "sentry", "load", "timer"]
Gate = Literal["blocking", "advisory"]

STEP_KINDS: tuple[str, ...] = ("manual", "command", "http", "sentry", "load", "timer")
AUTOMATED_KINDS = frozenset({"command", "http", "sentry", "load", "timer"})
GATES: tuple[str, ...] = ("blocking", "advisory")
ANYONE = "*"
"""In `approvers`: anyone may sign off, except the operator who ran or ticked the step."""


@dataclass(frozen=True)
class HttpProbe:
    """One HTTP request and what its answer must look like to pass."""

    url: str
    method: str = "GET"
    expect_status: tuple[int, ...] = (200,)
    body_contains: str | None = None
    body_matches: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    timeout: float = 10.0


@dataclass(frozen=True)
class CommandSpec:
    """A command to run; `argv` is one shell string when `shell` is true."""

    argv: tuple[str, ...]
    shell: bool = False
    cwd: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    timeout: float = 600.0


@dataclass(frozen=True)
class Step:
    """One checklist item; the fields a kind does not use keep their defaults."""

    id: str
    title: str
    kind: StepKind
    phase: str
    help: str = ""
    required: bool = True
    approvers: tuple[str, ...] = ()
    command: CommandSpec | None = None
    probe: HttpProbe | None = None
    sentry_check: Literal["capture", "compatibility"] = "capture"
    scenario: str | None = None
    max_age: float | None = None
    time_scale: float = 1.0
    duration: float | None = None
    every: float = 30.0
    probes: tuple[HttpProbe | CommandSpec, ...] = ()

    @property
    def automated(self) -> bool:
        """True for kinds a runner executes; manual steps are ticked instead."""
        return self.kind in AUTOMATED_KINDS

    @property
    def needs_approval(self) -> bool:
        return bool(self.approvers)


@dataclass(frozen=True)
class Phase:
    """A group of steps behind one gate."""

    id: str
    title: str
    gate: Gate = "blocking"
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class Checklist:
    """The whole checklist, phases in the order they are walked."""

    title: str
    phases: tuple[Phase, ...]

    def step(self, step_id: str) -> Step:
        """The step with this id; KeyError naming the known ids otherwise."""
        for phase in self.phases:
            for step in phase.steps:
                if step.id == step_id:
                    return step
        ids = [s.id for s in self.steps()]
        hint = did_you_mean(step_id, ids)
        raise KeyError(f"no checklist step {step_id!r}{hint} (steps: {', '.join(ids) or 'none'})")

    def phase(self, phase_id: str) -> Phase:
        """The phase with this id; KeyError naming the known ids otherwise."""
        for phase in self.phases:
            if phase.id == phase_id:
                return phase
        ids = [p.id for p in self.phases]
        hint = did_you_mean(phase_id, ids)
        raise KeyError(
            f"no checklist phase {phase_id!r}{hint} (phases: {', '.join(ids) or 'none'})"
        )

    def steps(self) -> tuple[Step, ...]:
        """Every step, in walking order."""
        return tuple(step for phase in self.phases for step in phase.steps)

    @property
    def digest(self) -> str:
        """sha256 of the canonical definition; any change of the checklist changes it."""
        return _sha256(canonical(self))


def step_fingerprint(step: Step) -> str:
    """A short hash of the step's whole definition, recorded with each event.

    Any field change (even help wording) changes it, so a result is never carried over silently.
    """
    return _sha256(canonical(step))[:16]


def canonical(value: Any) -> Any:
    """A JSON-ready form of a model value; dataclasses carry their type name (probes are mixed)."""
    if is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"__type__": type(value).__name__}
        for f in fields(value):
            out[f.name] = canonical(getattr(value, f.name))
        return out
    if isinstance(value, tuple | list):
        return [canonical(item) for item in value]
    return value


def _sha256(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rehearsal(step: Step, factor: float) -> Step:
    """`step` shortened for a rehearsal: a timer's window and rounds, a load step's schedule.

    The stored step (and its fingerprint) never changes; the evidence records the factor.
    """
    if factor == 1.0:
        return step
    if step.kind == "timer" and step.duration is not None:
        return replace(step, duration=step.duration * factor, every=max(step.every * factor, 0.2))
    if step.kind == "load":
        return replace(step, time_scale=step.time_scale * factor)
    return step
