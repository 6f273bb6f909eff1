"""What the Checklist tab says about a step or a phase, as styled Content (no widgets here).

Pure functions of the replayed `ChecklistView`, so the rows, the detail panel and the prompts word
things the same way, and tests can read them without an app. Times are UTC, as in the CLI and the
report. Everything shown from evidence is masked again (masking is idempotent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import PurePath
from typing import Any

from textual.content import Content

from ccplate_tui.checklist.command import SYMBOL
from ccplate_tui.checklist.model import CommandSpec, HttpProbe, Step
from ccplate_tui.checklist.progress import ChecklistView, PhaseState, StepState, rehearsal_scale
from ccplate_tui.checklist.runners.common import seconds
from ccplate_tui.checklist.runners.http import expectation
from ccplate_tui.checklist.runners.timer import clock, describe_probe
from ccplate_tui.checklist.state import Event
from ccplate_tui.masking import mask_argv, mask_secrets

OK = "$text-success"
BAD = "$text-error"
WARN = "$text-warning"
BUSY = "$text-primary"
MUTED = "$text-muted"

STATUS_LOOK: dict[str, tuple[str, str]] = {
    "pending": ("pending", MUTED),
    "running": ("running", f"bold {BUSY}"),
    "passed": ("passed", OK),
    "failed": ("FAILED", f"bold {BAD}"),
    "cancelled": ("cancelled", WARN),
    "interrupted": ("INTERRUPTED", f"bold {WARN}"),
    "awaiting_approval": ("needs sign-off", f"bold {WARN}"),
    "changed": ("CHANGED", f"bold {WARN}"),
    "revoked": ("revoked", f"bold {WARN}"),
}
"""Each status as a word and a theme colour; the word and the CLI's symbol carry the meaning for
colour-blind eyes too."""

KIND_WIDTH = 7
STATUS_WIDTH = 17
WHO_WIDTH = 11
"""Characters of a name shown under a step's status (the time follows it)."""
OUTPUT_TAIL = 40
"""Lines of command output shown in the detail panel (the state keeps the last 200)."""
LOCK = "⊘"


def when(moment: datetime | None) -> str:
    """`2026-11-27 04:10:00Z`: the full UTC time, as the CLI and the report write it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if moment else ""


def when_short(moment: datetime | None, now: datetime) -> str:
    """`04:10` today (UTC), `26 Nov` before: short enough for a row."""
    if moment is None:
        return ""
    moment = moment.astimezone(UTC)
    if moment.date() == now.astimezone(UTC).date():
        return moment.strftime("%H:%M")
    return moment.strftime("%d %b")


def timer_left(state: StepState, now: datetime) -> float | None:
    """Seconds left of a timer's open watch window at `now`; None when no window is open."""
    if state.timer_started is None or state.step.duration is None:
        return None
    return max(0.0, state.step.duration - (now - state.timer_started).total_seconds())


def light(status: str) -> Content:
    """The status light: the CLI's symbol in the status colour."""
    return Content.styled(SYMBOL.get(status, "?"), STATUS_LOOK.get(status, ("", MUTED))[1])


def status_text(state: StepState, now: datetime) -> Content:
    """The status column: the word, a timer's countdown, or who signed off."""
    word, style = STATUS_LOOK.get(state.status, (state.status, MUTED))
    left = timer_left(state, now)
    if state.status == "running" and left is not None:
        return Content.styled(f"{clock(left)} left", style)
    if state.status == "passed" and (scale := rehearsal_scale(state)) is not None:
        # The column is narrow; the detail panel and `checklist status` say "(rehearsal ×0.01)".
        return Content.styled(f"passed ×{scale:g}", WARN)
    if state.status == "passed" and state.approved_by:
        return Content.assemble((word, style), (f" ✓ {state.approved_by}", MUTED))
    return Content.styled(word, style)


def _cell(content: Content, width: int) -> list[Content]:
    """`content` wrapped to `width` cells, each line padded to it."""
    return [line.truncate(width, pad=True) for line in content.wrap(width)] or [
        Content(" " * width)
    ]


def step_row(state: StepState, width: int, now: datetime) -> Content:
    """A step's row, fitted to `width` cells: light, title, kind, then the status with who and
    when under it. A title or status longer than its column wraps instead of being cut."""
    fixed = 2 + KIND_WIDTH + 1 + STATUS_WIDTH
    title_width = max(8, width - fixed - 2)
    title = Content(state.step.title)
    if not state.step.required:
        title = Content.assemble(title, (" (optional)", MUTED))
    status = _cell(status_text(state, now), STATUS_WIDTH)
    if state.by:
        who = f"{state.by[:WHO_WIDTH]} {when_short(state.at, now)}"
        status += _cell(Content.styled(who, MUTED), STATUS_WIDTH)
    cells = [
        _cell(title, title_width),
        _cell(Content.styled(state.step.kind, MUTED), KIND_WIDTH),
        status,
    ]
    blank = [Content(" " * len(column[0].plain)) for column in cells]
    lines = []
    for index in range(max(len(column) for column in cells)):
        parts: list[Content] = [light(state.status) if index == 0 else Content(" "), Content(" ")]
        for number, column in enumerate(cells):
            parts += [column[index] if index < len(column) else blank[number], Content(" ")]
        lines.append(Content.assemble(*parts[:-1]))
    return Content("\n").join(lines)


def progress_bar(done: int, total: int, width: int = 10) -> Content:
    """`━━━━━━────`: done in the success colour, the rest muted."""
    filled = round(width * done / total) if total else 0
    return Content.assemble(("━" * filled, OK), ("─" * (width - filled), MUTED))


def phase_label(phase: PhaseState, number: int) -> Content:
    """The phase's collapsible title: number, title, progress, gate, and a lock when closed."""
    complete = phase.total > 0 and phase.done >= phase.total
    title = f"{number}  {phase.phase.title}"
    parts: list[Content | tuple[str, str] | str] = [
        Content.styled(title, "bold").truncate(34, ellipsis=True, pad=True),
        "  ",
        progress_bar(phase.done, phase.total),
        (f" {phase.done}/{phase.total}", OK if complete else ""),
        "  ",
    ]
    if phase.locked:
        parts.append((f"{LOCK} locked", f"bold {WARN}"))
    elif phase.override is not None:
        parts.append((f"⚑ opened by {phase.override.who}", WARN))
    elif complete:
        parts.append(("✓ done", f"bold {OK}"))
    else:
        parts.append((phase.phase.gate, MUTED))
    return Content.assemble(*parts)


def blockers(phase: PhaseState, limit: int = 6) -> str:
    """The steps holding the gate, shortened after `limit` of them."""
    held = list(phase.blocked_by)
    text = ", ".join(held[:limit])
    return text + (f" and {len(held) - limit} more" if len(held) > limit else "")


def blockers_by_phase(phase: PhaseState, view: ChecklistView, limit: int = 3) -> str:
    """What holds the gate, per phase: the step ids when few, else how many of which phase."""
    groups: dict[str, list[str]] = {}
    for step_id in phase.blocked_by:
        groups.setdefault(view.checklist.step(step_id).phase, []).append(step_id)
    parts = []
    for phase_id, ids in groups.items():
        if len(ids) <= limit:
            parts.append(", ".join(ids))
        else:
            parts.append(f"{view.checklist.phase(phase_id).title} ({len(ids)} steps)")
    return ", ".join(parts)


def gate_line(phase: PhaseState, view: ChecklistView | None = None) -> Content | None:
    """Under the phase title: what holds a locked gate, or who opened it and why.

    With `view`, the holders are summed up per phase (one line in the list); without, every
    holder is named (the detail panel).
    """
    if phase.locked:
        held = blockers_by_phase(phase, view) if view is not None else blockers(phase, 50)
        return Content.assemble(
            (f"{LOCK} Waiting for ", WARN),
            (held, "bold"),
            ("  ·  o overrides (with a reason)", MUTED),
        )
    if phase.override is not None:
        o = phase.override
        return Content.assemble(
            (f"⚑ Overridden by {o.who} at {when(o.at)}: ", WARN),
            mask_secrets(o.reason or ""),
        )
    return None


# -- what a step does


def command_line(spec: CommandSpec) -> str:
    """The command as the operator would type it, secrets masked."""
    return spec.argv[0] if spec.shell else " ".join(mask_argv(spec.argv))


def command_folder(spec: CommandSpec, config_path: str | PurePath) -> str:
    """Where the command runs, relative to the config's folder when inside it."""
    base = PurePath(config_path).parent
    if not spec.cwd:
        return str(base) if str(base) not in ("", ".") else "the config's folder"
    folder = PurePath(spec.cwd)
    if folder.is_absolute() and folder.is_relative_to(base) and folder != base:
        return str(folder.relative_to(base))
    return str(folder)


def run_question(step: Step, config_path: str | PurePath) -> str:
    """The confirmation asked before a command runs."""
    spec = step.command
    if spec is None:
        return f"Run {step.title}?"
    line = mask_secrets(command_line(spec))
    return f"Run `{line}` in {command_folder(spec, config_path)}?"


def describe_action(step: Step, config_path: str | PurePath = "") -> list[str]:
    """What running the step does, one line each (shown before it runs and in the panel)."""
    if step.kind == "command" and step.command is not None:
        spec = step.command
        lines = [f"$ {mask_secrets(command_line(spec))}"]
        extras = [f"timeout {seconds(spec.timeout)}"]
        if spec.shell:
            extras.append("through the shell")
        if spec.cwd:
            extras.append(f"in {command_folder(spec, config_path)}")
        if spec.env:
            extras.append("env " + ", ".join(name for name, _ in spec.env))
        return [*lines, " · ".join(extras)]
    if step.kind == "http" and step.probe is not None:
        return _probe_lines(step.probe)
    if step.kind == "timer":
        window = clock(step.duration or 0)
        lines = [f"watch {window}, a round every {seconds(step.every)}; any failure fails it"]
        return lines + [describe_probe(p) for p in step.probes]
    if step.kind == "load":
        age = f" within {seconds(step.max_age)}" if step.max_age else ""
        return [
            f"scenario {step.scenario}: its latest recorded run{age} if it passed,",
            f"else runs it now (time scale {step.time_scale:g})",
        ]
    if step.kind == "sentry":
        if step.sentry_check == "compatibility":
            return ["the Sentry compatibility check (stored result, else runs it)"]
        return ["the Sentry capture check: sends a test error to the DSN"]
    return ["a person does it and ticks it (t), with an optional note"]


def _probe_lines(probe: HttpProbe) -> list[str]:
    return [
        mask_secrets(f"{probe.method} {probe.url}"),
        mask_secrets(f"expects {expectation(probe)} · timeout {seconds(probe.timeout)}"),
    ]


# -- evidence

_LABELS: dict[str, str] = {
    "summary": "summary",
    "reason": "why",
    "exit_code": "exit code",
    "duration_s": "duration",
    "argv": "command",
    "cwd": "folder",
    "status": "HTTP status",
    "elapsed_ms": "elapsed",
    "url": "URL",
    "expected": "expected",
    "body_excerpt": "body",
    "event_id": "event id",
    "p99_ms": "p99",
    "error_fraction": "errors",
    "run_id": "run",
    "rounds": "rounds ok",
    "probes_run": "probes run",
    "window_s": "window",
    "unwatched_s": "unwatched",
    "left_s": "left",
    "failed_after_s": "failed after",
}
_FIRST = ("summary", "reason", "exit_code", "duration_s", "status", "elapsed_ms", "event_id")
_SKIP = frozenset({"output", "lines", "truncated", "shell", "argv"})
"""Shown elsewhere (the output block, "What it does") or of no use to the operator."""


def _scalar(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key.endswith("_s") and isinstance(value, int | float):
        return seconds(float(value))
    if key.endswith("_ms") and isinstance(value, int | float):
        return f"{value:.0f} ms"
    if key == "error_fraction" and isinstance(value, int | float):
        return f"{value:.2%}"
    if isinstance(value, list):
        return " ".join(str(v) for v in value) if key == "argv" else ", ".join(map(str, value))
    return " ".join(str(value).split())


def evidence_rows(evidence: Mapping[str, Any]) -> list[tuple[str, Content]]:
    """The evidence as label / value rows: the summary first, output and nested tables apart."""
    keys = [k for k in _FIRST if k in evidence]
    keys += [k for k in evidence if k not in keys and k not in _SKIP]
    if evidence.get("reason") == evidence.get("summary"):
        keys = [k for k in keys if k != "reason"]
    rows: list[tuple[str, Content]] = []
    for key in keys:
        value = evidence[key]
        if value in ("", None, [], {}):
            continue
        label = _LABELS.get(key, key.replace("_", " "))
        if isinstance(value, Mapping):
            for sub, inner in value.items():
                if inner not in ("", None, [], {}) and not isinstance(inner, Mapping | list):
                    text = mask_secrets(_scalar(str(sub), inner))
                    rows.append((f"{label}.{sub}", Content(text)))
            continue
        if key == "thresholds" and isinstance(value, list):
            for item in value:
                text = str(item)
                style = BAD if "fail" in text.lower() or "✗" in text else ""
                rows.append(("threshold", Content.styled(mask_secrets(text), style)))
            continue
        text = mask_secrets(_scalar(key, value))
        style = "bold" if key == "summary" else ""
        if key == "exit_code":
            style = OK if value == 0 else f"bold {BAD}"
        elif key == "status" and isinstance(value, int):
            style = OK if 200 <= value < 400 else f"bold {BAD}"
        elif key == "reason":
            style = BAD
        rows.append((label, Content.styled(text, style)))
    return rows


def output_tail(evidence: Mapping[str, Any], lines: int = OUTPUT_TAIL) -> tuple[str, str] | None:
    """A command's output tail and its heading (`output: last 12 of 340 lines`), or None."""
    output = evidence.get("output")
    if not isinstance(output, str) or not output.strip():
        return None
    shown = output.rstrip("\n").splitlines()[-lines:]
    total = evidence.get("lines")
    of = f" of {total}" if isinstance(total, int) and total > len(shown) else ""
    return f"output: last {len(shown)}{of} lines", mask_secrets("\n".join(shown))


def timer_line(state: StepState, now: datetime) -> str | None:
    """An open watch window: its span, the time left, and the rounds of its last watch event."""
    left = timer_left(state, now)
    if left is None or state.timer_started is None or state.step.duration is None:
        return None
    start = state.timer_started.astimezone(UTC)
    end = start + timedelta(seconds=state.step.duration)
    text = f"window {start:%H:%M}–{end:%H:%M}Z · {clock(left)} left"
    watches = [e for e in state.history if e.action == "watch"]
    if watches:
        rounds = watches[-1].evidence.get("rounds")
        if isinstance(rounds, int):
            text += f" · {rounds} rounds ok ({watches[-1].at.astimezone(UTC):%H:%M})"
    return text


def status_warning(state: StepState) -> str | None:
    """Why an interrupted or changed step must be done again."""
    if state.status == "interrupted":
        started = next((e for e in reversed(state.history) if e.action == "started"), None)
        pid = f" (pid {started.pid})" if started and started.pid else ""
        resume = " Its watch window resumes where it was." if state.timer_started else ""
        return f"The process running it{pid} ended before it finished: run it again (r).{resume}"
    if state.status == "changed":
        return "Its definition in scenarios.toml changed since this result: do it again."
    return None


def notes(state: StepState) -> list[str]:
    """Every note on the step since its last reset, oldest first, with who and when."""
    return [
        f"{when(e.at)} {e.who}: {mask_secrets(e.note)}" for e in state.history if e.note is not None
    ]


def history_line(event: Event) -> Content:
    """One event of a step's history: when, who, what (and the summary of a result)."""
    look = STATUS_LOOK.get(event.action, (event.action, ""))[1]
    if event.action in ("ticked", "approved"):
        look = OK
    extra = ""
    if event.action == "watch":
        rounds = event.evidence.get("rounds")
        extra = f" {rounds} rounds ok" if isinstance(rounds, int) else ""
    elif isinstance(event.evidence.get("summary"), str):
        extra = f" {event.evidence['summary']}"
    elif event.reason:
        extra = f" {event.reason}"
    return Content.assemble(
        (when(event.at), MUTED),
        f" {event.who} ",
        (event.action, look),
        mask_secrets(extra),
    )


def approval_text(state: StepState, operator: str) -> Content | None:
    """Who may sign off, who did, or why this operator cannot; None when no sign-off is needed."""
    approvers = state.step.approvers
    if not approvers:
        return None
    allowed = "anyone but the operator" if "*" in approvers else ", ".join(approvers)
    if state.approved_by:
        return Content.assemble(
            (f"✓ signed off by {state.approved_by}", OK), (f" at {when(state.approved_at)}", MUTED)
        )
    if state.status == "awaiting_approval":
        if state.by == operator:
            return Content.styled(
                f"needs sign-off by {allowed} — not by {operator}, who did it", WARN
            )
        return Content.styled(f"needs sign-off by {allowed}: press a to approve", f"bold {WARN}")
    return Content.styled(f"sign-off by {allowed} once it passed", MUTED)


def header_text(view: ChecklistView, operator: str) -> Content:
    """The first line of the tab: title, overall progress, and who is acting."""
    done, total = view.progress()
    complete = total > 0 and done >= total
    return Content.assemble(
        (view.checklist.title, "bold"),
        "   ",
        progress_bar(done, total, 20),
        (f" {done} of {total} required steps done", f"bold {OK}" if complete else "bold"),
        ("   acting as ", MUTED),
        (operator, "bold"),
    )


def warnings_text(view: ChecklistView) -> Content | None:
    """Steps changed in scenarios.toml since they were done, and steps no longer there."""
    parts: list[str] = []
    if view.changed_steps:
        parts.append(
            "△ Changed in scenarios.toml since they were done (redo them): "
            + ", ".join(view.changed_steps)
        )
    if view.orphans:
        parts.append("Recorded steps no longer in scenarios.toml: " + ", ".join(view.orphans))
    return Content("\n".join(parts)) if parts else None


def running_elsewhere(state: StepState, own: Sequence[str]) -> bool:
    """True when the step runs in another process (this app cannot cancel it)."""
    return state.status == "running" and state.step.id not in own
