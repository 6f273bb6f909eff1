"""The checklist's health probes as availability data: how many its http and timer steps sent,
and how many of those the app answered as expected.

Read from the step events since each step's last reset (the state file records every attempt),
so a failed check that was simply run again still counts as the failure it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ccplate_tui.checklist.progress import ChecklistView
from ccplate_tui.checklist.state import Event

PROBE_KINDS = ("http", "timer")


@dataclass(frozen=True)
class ChecklistProbes:
    """Probes the checklist's http and timer steps sent, over the window they span."""

    sent: int
    ok: int
    first_at: float
    """Unix time of the earliest probe (a timer's window start)."""
    last_at: float
    steps: tuple[str, ...]
    """Ids of the steps whose probes are counted."""
    rehearsed: tuple[str, ...] = ()
    """`monitor_errors at 0.01`: timers watched at a time scale below 1."""


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _started(evidence: Mapping[str, Any], fallback: datetime) -> float:
    value = evidence.get("started_at")
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return fallback.timestamp()


def _probes_of(kind: str, event: Event) -> tuple[int, int] | None:
    """(sent, ok) of one result event; None when it says nothing about probes."""
    if kind == "http":
        if event.action in ("passed", "failed"):
            return 1, int(event.action == "passed")
        return None
    sent = _int(event.evidence.get("probes_run"))
    if sent is None or event.action not in ("passed", "failed", "cancelled", "interrupted"):
        return None
    # A timer stops at its first failing probe, which `probes_run` already counts.
    return sent, sent - 1 if event.action == "failed" and sent else sent


def checklist_probes(view: ChecklistView) -> ChecklistProbes | None:
    """The http and timer steps' probes since their last reset; None when none was sent."""
    sent = ok = 0
    first: float | None = None
    last: float | None = None
    steps: list[str] = []
    rehearsed: list[str] = []
    for phase in view.phases:
        for state in phase.steps:
            kind = state.step.kind
            if kind not in PROBE_KINDS:
                continue
            for event in state.history:
                counted = _probes_of(kind, event)
                if counted is None or counted[0] == 0:
                    continue
                sent += counted[0]
                ok += counted[1]
                begin = _started(event.evidence, event.at) if kind == "timer" else None
                end = event.at.timestamp()
                first = min(x for x in (first, begin, end) if x is not None)
                last = end if last is None else max(last, end)
                if state.step.id not in steps:
                    steps.append(state.step.id)
                scale = event.evidence.get("time_scale")
                if kind == "timer" and isinstance(scale, int | float) and 0 < scale < 1:
                    rehearsed.append(f"{state.step.id} at {scale:g}")
    if sent == 0 or first is None or last is None:
        return None
    return ChecklistProbes(sent, ok, first, last, tuple(steps), tuple(dict.fromkeys(rehearsed)))
