"""The checklist report for the change record and the stakeholders, as Markdown or JSON.

Every step with its result, who and when, approvals and evidence excerpts; every override and
every revocation with its reason; and the timeline of all events (a revoked tick or sign-off stays
in it). A step passed only as a rehearsal reads `passed (rehearsal ×0.01)`. Built from the same ChecklistView the CLI and the tab
show, so the report never says something the screen does not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ccplate_tui.checklist.progress import (
    ChecklistView,
    PhaseState,
    StepState,
    rehearsal_scale,
    revoked_what,
)
from ccplate_tui.checklist.state import Event
from ccplate_tui.masking import mask_secrets

STATUS_LABEL: dict[str, str] = {
    "pending": "pending",
    "running": "running",
    "passed": "passed",
    "failed": "FAILED",
    "cancelled": "cancelled",
    "interrupted": "INTERRUPTED",
    "awaiting_approval": "awaiting approval",
    "changed": "CHANGED since done",
    "revoked": "REVOKED",
}
OUTPUT_LINES = 20
"""Lines of command output quoted per step in the Markdown report (the JSON keeps all 200)."""


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if moment else ""


def _label(state: StepState) -> str:
    """The status column: `passed (rehearsal ×0.01)` for a step passed only as a rehearsal."""
    word = STATUS_LABEL.get(state.status, state.status)
    scale = rehearsal_scale(state)
    return f"{word} (rehearsal ×{scale:g})" if scale is not None else word


def _revocation(event: Event) -> str:
    """`bob revoked the tick by alice at …: reason`."""
    return (
        f"{event.who} revoked {revoked_what(event)} at {_when(event.at)}: "
        f"{mask_secrets(event.reason or '')}"
    )


def _plain(value: Any) -> Any:
    """Evidence as JSON-able data (datetimes as ISO text), masked."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, str):
        return mask_secrets(value)
    return value


def _event_json(event: Event) -> dict[str, Any]:
    data: dict[str, Any] = {
        "seq": event.seq,
        "at": _plain(event.at),
        "who": event.who,
        "action": event.action,
    }
    for key in ("phase", "step", "note", "reason"):
        value = getattr(event, key)
        if value:
            data[key] = mask_secrets(str(value))
    if event.evidence:
        data["evidence"] = _plain(event.evidence)
    return data


def _step_json(state: StepState) -> dict[str, Any]:
    step = state.step
    return {
        "id": step.id,
        "title": step.title,
        "kind": step.kind,
        "required": step.required,
        "status": state.status,
        "label": _label(state),
        "rehearsal_time_scale": rehearsal_scale(state),
        "done": state.done,
        "by": state.by,
        "at": _plain(state.at),
        "approvers": list(step.approvers),
        "approved_by": state.approved_by,
        "approved_at": _plain(state.approved_at),
        "note": mask_secrets(state.note) if state.note else None,
        "changed": state.changed,
        "revoked": None if state.revoked is None else _event_json(state.revoked),
        "evidence": _plain(state.evidence),
    }


def _phase_json(phase: PhaseState) -> dict[str, Any]:
    override = phase.override
    return {
        "id": phase.phase.id,
        "title": phase.phase.title,
        "gate": phase.phase.gate,
        "locked": phase.locked,
        "blocked_by": list(phase.blocked_by),
        "done": phase.done,
        "total": phase.total,
        "override": None
        if override is None
        else {"who": override.who, "at": _plain(override.at), "reason": override.reason},
        "steps": [_step_json(s) for s in phase.steps],
    }


def report_json(
    view: ChecklistView, events: Sequence[Event], *, generated_by: str, config_path: str
) -> dict[str, Any]:
    """The report as one JSON document."""
    done, total = view.progress()
    return {
        "title": view.checklist.title,
        "generated_at": _plain(datetime.now(UTC)),
        "generated_by": generated_by,
        "config": config_path,
        "checklist_digest": view.checklist.digest,
        "progress": {"done": done, "total": total},
        "complete": total > 0 and done >= total,
        "state_problem": view.problem,
        "changed_steps": list(view.changed_steps),
        "orphans": list(view.orphans),
        "phases": [_phase_json(p) for p in view.phases],
        "overrides": [_event_json(e) for e in events if e.action == "overridden"],
        "revocations": [_event_json(e) for e in events if e.action == "revoked"],
        "timeline": [_event_json(e) for e in events],
    }


def _evidence_lines(state: StepState) -> list[str]:
    evidence = _plain(state.evidence)
    if not evidence:
        return []
    lines: list[str] = []
    output = evidence.pop("output", None)
    simple = [
        f"{key}: {value}"
        for key, value in evidence.items()
        if not isinstance(value, dict | list) and value not in ("", None)
    ]
    if simple:
        lines.append("  - evidence: " + "; ".join(simple))
    for key, value in evidence.items():
        if isinstance(value, dict | list):
            lines.append(f"  - {key}: `{json.dumps(value, ensure_ascii=False)[:300]}`")
    if isinstance(output, str) and output.strip():
        tail = output.rstrip("\n").splitlines()[-OUTPUT_LINES:]
        lines.append(f"  - output (last {len(tail)} lines):")
        lines.append("")
        lines.append("    ```")
        lines += [f"    {line}" for line in tail]
        lines.append("    ```")
        lines.append("")
    return lines


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def report_markdown(
    view: ChecklistView, events: Sequence[Event], *, generated_by: str, config_path: str
) -> str:
    """The report as Markdown: summary, phases with steps and evidence, overrides, timeline."""
    done, total = view.progress()
    out = [
        f"# {view.checklist.title}",
        "",
        f"Generated {_when(datetime.now(UTC))} by {generated_by} from `{config_path}` "
        f"(checklist {view.checklist.digest[:12]}).",
        "",
        f"**Progress: {done} of {total} required steps done"
        + (" — complete.**" if total and done >= total else ".**"),
        "",
    ]
    if view.problem:
        out += [f"> State file: {view.problem}", ""]
    if view.changed_steps:
        out += [
            "> Changed in scenarios.toml after they were done (must be re-done): "
            + ", ".join(f"`{s}`" for s in view.changed_steps),
            "",
        ]
    if view.orphans:
        out += [
            "> Recorded steps no longer in scenarios.toml: "
            + ", ".join(f"`{s}`" for s in view.orphans),
            "",
        ]
    for phase in view.phases:
        gate = phase.phase.gate
        status = "locked" if phase.locked else "open"
        out += [f"## {phase.phase.title}", ""]
        out.append(f"Gate: {gate} · {status} · {phase.done}/{phase.total} required steps done")
        if phase.locked and phase.blocked_by:
            out.append(f"(waiting for: {', '.join(phase.blocked_by)})")
        if phase.override is not None:
            o = phase.override
            out.append(
                f"**Overridden** by {o.who} at {_when(o.at)}: {mask_secrets(o.reason or '')}"
            )
        out += [
            "",
            "| step | kind | status | by | when | approved by |",
            "|---|---|---|---|---|---|",
        ]
        for s in phase.steps:
            approved = f"{s.approved_by} ({_when(s.approved_at)})" if s.approved_by else ""
            if s.step.approvers and not s.approved_by:
                approved = "needed"
            out.append(
                f"| {_md_cell(s.step.title)} (`{s.step.id}`) | {s.step.kind} | "
                f"{_label(s)} | {s.by or ''} | {_when(s.at)} | "
                f"{approved} |"
            )
        out.append("")
        for s in phase.steps:
            details = _evidence_lines(s)
            if s.note:
                details.insert(0, f"  - note: {mask_secrets(s.note)}")
            if s.revoked is not None:
                details.insert(0, f"  - **revoked**: {_md_cell(_revocation(s.revoked))}")
            if details:
                out.append(f"- `{s.step.id}`")
                out += details
        out.append("")
    overrides = [e for e in events if e.action == "overridden"]
    out += ["## Overrides", ""]
    if overrides:
        out += [
            f"- {_when(e.at)} {e.who} opened `{e.phase}`: {mask_secrets(e.reason or '')}"
            for e in overrides
        ]
    else:
        out.append("None.")
    revocations = [e for e in events if e.action == "revoked"]
    out += ["", "## Revocations", ""]
    if revocations:
        out += [f"- `{e.step}`: {_md_cell(_revocation(e))}" for e in revocations]
    else:
        out.append("None.")
    out += ["", "## Timeline", "", "| # | when (UTC) | who | what | step / phase | note |"]
    out.append("|---|---|---|---|---|---|")
    for e in events:
        what = e.step or e.phase or ""
        text = mask_secrets(e.reason or e.note or "")
        out.append(
            f"| {e.seq} | {_when(e.at)} | {e.who} | {e.action} | {what} | {_md_cell(text)} |"
        )
    return "\n".join(out) + "\n"
