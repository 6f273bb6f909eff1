"""`ccplate-tui checklist …`: walk the deploy checklist from a terminal.

Exit codes: 0 done / passed, 1 a step failed, was cancelled or the checklist is incomplete
(`status`), 2 bad usage, a bad config, or an action the checklist refuses (locked phase,
self-approval, …) — the message says why and what to do instead.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ccplate_tui.config.errors import ConfigError
from ccplate_tui.config.loader import load_config
from ccplate_tui.config.model import Config
from ccplate_tui.exit_codes import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from ccplate_tui.load.run_registry import default_state_dir

SYMBOL = {
    "pending": "○",
    "running": "◐",
    "passed": "●",
    "failed": "✗",
    "cancelled": "⊘",
    "interrupted": "!",
    "awaiting_approval": "◑",
    "changed": "△",
    "revoked": "↺",
}


def add_checklist_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "checklist",
        help="walk the deploy checklist: status, run, tick, approve, revoke, override, reset, "
        "report",
        description="The deploy checklist of scenarios.toml, with gates, evidence and a "
        "crash-safe state file in the state folder.",
    )
    actions = parser.add_subparsers(dest="checklist_command", metavar="ACTION", required=True)

    status = actions.add_parser("status", help="phases, steps, gates and who did what")
    status.add_argument("--json", action="store_true", help="print the state as JSON")
    _common(status)
    status.set_defaults(func=status_command)

    run = actions.add_parser("run", help="run an automated step (shown before it runs)")
    run.add_argument("step", metavar="STEP")
    run.add_argument("--yes", "-y", action="store_true", help="do not ask before running")
    run.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        metavar="F",
        help="rehearsal: multiply a timer's window and a load step's schedule by F "
        "(recorded in the evidence)",
    )
    _common(run)
    run.set_defaults(func=run_command)

    tick = actions.add_parser("tick", help="mark a manual step done")
    tick.add_argument("step", metavar="STEP")
    tick.add_argument("--note", metavar="TEXT", help="what was done, a link, a ticket")
    _common(tick)
    tick.set_defaults(func=tick_command)

    note = actions.add_parser("note", help="add a note to a step")
    note.add_argument("step", metavar="STEP")
    note.add_argument("text", metavar="TEXT")
    _common(note)
    note.set_defaults(func=note_command)

    approve = actions.add_parser("approve", help="sign off a step someone else did")
    approve.add_argument("step", metavar="STEP")
    _common(approve)
    approve.set_defaults(func=approve_command)

    revoke = actions.add_parser(
        "revoke", help="undo a step's latest tick, pass or sign-off (recorded, with a reason)"
    )
    revoke.add_argument("step", metavar="STEP")
    # Not `required=True`: a missing reason is refused like an empty one, saying how to give it.
    revoke.add_argument("--reason", metavar="TEXT", help="why (required; goes into the report)")
    _common(revoke)
    revoke.set_defaults(func=revoke_command)

    override = actions.add_parser("override", help="open a locked phase (recorded, with a reason)")
    override.add_argument("phase", metavar="PHASE")
    override.add_argument("--reason", required=True, metavar="TEXT", help="why (required)")
    _common(override)
    override.set_defaults(func=override_command)

    reset = actions.add_parser("reset", help="start over (asks first; the history is kept)")
    reset.add_argument("--phase", metavar="PHASE", help="only this phase")
    reset.add_argument("--reason", metavar="TEXT", help="why, for the record")
    reset.add_argument("--yes", "-y", action="store_true", help="do not ask")
    _common(reset)
    reset.set_defaults(func=reset_command)

    report = actions.add_parser("report", help="the report for the change record")
    report.add_argument("--format", choices=("md", "json"), default="md")
    report.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    _common(report)
    report.set_defaults(func=report_command)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", default="scenarios.toml", metavar="FILE", help="default: scenarios.toml"
    )
    parser.add_argument(
        "--state", metavar="DIR", help="state folder (default: .ccplate/ beside the config)"
    )
    parser.add_argument(
        "--as", dest="as_name", metavar="NAME", help="act as NAME (default: the OS user)"
    )


class _Usage(Exception):
    """Bad usage: printed as is, exit 2."""


class _Session:
    """What every action needs: the config, its checklist, the store and who is acting."""

    def __init__(self, args: argparse.Namespace) -> None:
        from ccplate_tui.checklist.operations import operator_name
        from ccplate_tui.checklist.state import ChecklistStore

        try:
            self.config: Config = load_config(args.config)
        except ConfigError as exc:
            raise _Usage(str(exc)) from None
        if self.config.checklist is None:
            raise _Usage(f"{args.config}: no [checklist] table: nothing to walk")
        self.checklist = self.config.checklist
        self.state_dir = Path(args.state) if args.state else default_state_dir(args.config)
        self.store = ChecklistStore(self.state_dir)
        self.who = operator_name(args.as_name)
        self.config_path = args.config
        self.warned: str | None = None
        """The state problem already printed (a recovery is reported once per command)."""

    def view(self):  # type: ignore[no-untyped-def]
        """The view with the state problem in it (`state_problem`), which is also printed."""
        from ccplate_tui.checklist.progress import build_view

        loaded = self.store.load()
        view = build_view(self.checklist, loaded.events, problem=loaded.problem)
        self.warn()
        return view, loaded.events

    def warn(self) -> None:
        """Print the store's latest state problem (a recovery, or an earlier one) once."""
        problem = self.store.last_problem
        if problem and problem != self.warned:
            print(f"warning: {problem}", file=sys.stderr)
            self.warned = problem


def _guarded(action):  # type: ignore[no-untyped-def]
    """Run an action: bad usage and refusals print one line and exit 2."""

    def run(args: argparse.Namespace) -> int:
        from ccplate_tui.checklist.operations import Refused
        from ccplate_tui.checklist.state import StateError

        session: _Session | None = None
        try:
            session = _Session(args)
            return int(action(args, session))
        except _Usage as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_USAGE
        except Refused as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except StateError as exc:
            print(f"ccplate-tui checklist: {exc}", file=sys.stderr)
            return EXIT_ERROR
        finally:
            if session is not None:
                session.warn()  # an append may have recovered a damaged copy: say so

    return run


def _signers(step: Any, who: str) -> str:
    """Who may still sign off, in words."""
    if "*" in step.approvers:
        return f"anyone but {who}"
    return f"{', '.join(step.approvers)} (not {who})"


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if moment else ""


def _status_lines(view: Any) -> list[str]:
    from ccplate_tui.checklist.progress import revoked_what, status_label

    done, total = view.progress()
    lines = [f"{view.checklist.title}: {done} of {total} required steps done"]
    if view.changed_steps:
        lines.append(
            "changed in scenarios.toml since done (re-do them): " + ", ".join(view.changed_steps)
        )
    if view.orphans:
        lines.append("recorded steps no longer in scenarios.toml: " + ", ".join(view.orphans))
    for phase in view.phases:
        lock = " [LOCKED: waiting for " + ", ".join(phase.blocked_by) + "]" if phase.locked else ""
        lines.append("")
        lines.append(
            f"{phase.phase.title} ({phase.phase.id}, {phase.phase.gate}) "
            f"{phase.done}/{phase.total}{lock}"
        )
        if phase.override is not None:
            o = phase.override
            lines.append(f"  overridden by {o.who} at {_when(o.at)}: {o.reason}")
        for s in phase.steps:
            who = f"  {s.by} {_when(s.at)}" if s.by else ""
            approval = ""
            if s.step.approvers:
                approval = f"  approved by {s.approved_by}" if s.approved_by else "  needs approval"
            optional = "" if s.step.required else " (optional)"
            lines.append(
                f"  {SYMBOL.get(s.status, '?')} {s.step.id:<24} {status_label(s):<17} "
                f"{s.step.kind:<8}{optional}{who}{approval}"
            )
            if s.revoked is not None:
                r = s.revoked
                lines.append(
                    f"      {r.who} revoked {revoked_what(r)} at {_when(r.at)}: {r.reason}"
                )
    return lines


@_guarded
def status_command(args: argparse.Namespace, session: _Session) -> int:
    from ccplate_tui.checklist.report import report_json

    view, events = session.view()
    if args.json:
        document = report_json(
            view, events, generated_by=session.who, config_path=session.config_path
        )
        document.pop("timeline")
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print("\n".join(_status_lines(view)))
    done, total = view.progress()
    return EXIT_OK if total and done >= total else EXIT_ERROR


def _describe(step: Any) -> str:
    """What will run, shown before it runs."""
    from ccplate_tui.masking import mask_secrets

    if step.kind == "command" and step.command is not None:
        spec = step.command
        shown = spec.argv[0] if spec.shell else " ".join(spec.argv)
        where = f" (in {spec.cwd})" if spec.cwd else ""
        return mask_secrets(f"command{where}: {shown}  [timeout {spec.timeout:g}s]")
    if step.kind == "http" and step.probe is not None:
        p = step.probe
        return mask_secrets(
            f"probe: {p.method} {p.url} expecting {'/'.join(map(str, p.expect_status))}"
        )
    if step.kind == "timer":
        return f"watch for {step.duration:g}s, probing every {step.every:g}s"
    if step.kind == "load":
        return f"load: scenario {step.scenario} (time scale {step.time_scale:g})"
    if step.kind == "sentry":
        return f"sentry: the {step.sentry_check} check"
    return step.kind


@_guarded
def run_command(args: argparse.Namespace, session: _Session) -> int:
    from ccplate_tui.checklist.model import rehearsal
    from ccplate_tui.checklist.operations import begin_step, finish_step, record_watch
    from ccplate_tui.checklist.outcome import StepOutcome
    from ccplate_tui.checklist.runners import RunContext, run_step

    view, _ = session.view()
    try:
        state = view.step(args.step)
    except KeyError as exc:
        raise _Usage(str(exc.args[0] if exc.args else exc)) from None
    step = state.step
    if step.kind == "manual":
        raise _Usage(f"{step.id} is a manual step: tick it (ccplate-tui checklist tick {step.id})")
    if not 0 < args.time_scale <= 1:
        raise _Usage(f"--time-scale must be in (0, 1], got {args.time_scale}")
    step = rehearsal(step, args.time_scale)
    print(f"{step.id}: {step.title}")
    print(f"  {_describe(step)}")
    if not args.yes and sys.stdin.isatty():
        answer = input("run it? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("not run")
            return EXIT_USAGE

    def on_watch(evidence: Mapping[str, Any]) -> None:
        record_watch(session.store, session.checklist, step.id, session.who, evidence)

    ctx = RunContext.for_step(state, session.config, session.state_dir, on_watch=on_watch)
    begin_step(session.store, session.checklist, step.id, session.who)
    cancel = threading.Event()

    shown = _ProgressLine(sys.stdout)
    progress = shown.show

    previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())
    try:
        outcome = run_step(step, ctx, cancel, progress)
    finally:
        signal.signal(signal.SIGINT, previous)
    if args.time_scale != 1.0 and step.kind in ("timer", "load"):
        outcome = StepOutcome(
            outcome.result,
            f"{outcome.summary} (rehearsal at time scale {args.time_scale:g})",
            {**outcome.evidence, "time_scale": args.time_scale},
        )
    shown.close()
    after = finish_step(session.store, session.checklist, step.id, session.who, outcome)
    print(f"{SYMBOL.get(after.status, '?')} {step.id}: {outcome.result} — {outcome.summary}")
    output = outcome.evidence.get("output") if isinstance(outcome.evidence, Mapping) else None
    if outcome.result != "passed" and isinstance(output, str) and output.strip():
        print("  last lines of output:")
        for line in output.rstrip("\n").splitlines()[-10:]:
            print(f"    {line}")
    if after.status == "awaiting_approval":
        print(f"  needs sign-off by {_signers(step, session.who)}")
    return EXIT_OK if outcome.result == "passed" else EXIT_ERROR


class _ProgressLine:
    """A runner's progress: redrawn in place on a terminal, else a line every few seconds."""

    EVERY = 5.0

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last = float("-inf")
        self.open = False

    def show(self, line: str) -> None:
        if self.tty:
            self.stream.write(f"\r\x1b[2K  … {line}")
            self.stream.flush()
            self.open = True
            return
        now = time.monotonic()
        if now - self.last >= self.EVERY:
            self.last = now
            print(f"  … {line}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.open:
            self.stream.write("\n")
            self.open = False


@_guarded
def tick_command(args: argparse.Namespace, session: _Session) -> int:
    from ccplate_tui.checklist.operations import tick

    state = tick(session.store, session.checklist, args.step, session.who, note=args.note)
    print(f"{SYMBOL.get(state.status, '?')} {args.step}: ticked by {session.who}")
    if state.status == "awaiting_approval":
        print(f"  needs sign-off by {_signers(state.step, session.who)}")
    return EXIT_OK


@_guarded
def note_command(args: argparse.Namespace, session: _Session) -> int:
    from ccplate_tui.checklist.operations import add_note

    if not args.text.strip():
        raise _Usage("the note is empty")
    add_note(session.store, session.checklist, args.step, session.who, args.text)
    print(f"noted on {args.step}")
    return EXIT_OK


@_guarded
def approve_command(args: argparse.Namespace, session: _Session) -> int:
    from ccplate_tui.checklist.operations import approve

    state = approve(session.store, session.checklist, args.step, session.who)
    print(f"{SYMBOL.get(state.status, '?')} {args.step}: approved by {session.who}")
    return EXIT_OK


@_guarded
def revoke_command(args: argparse.Namespace, session: _Session) -> int:
    from ccplate_tui.checklist.operations import revoke
    from ccplate_tui.checklist.progress import revoked_what

    state = revoke(session.store, session.checklist, args.step, session.who, args.reason or "")
    revoked = state.revoked
    assert revoked is not None
    print(
        f"{SYMBOL.get(state.status, '?')} {args.step}: {session.who} revoked "
        f"{revoked_what(revoked)}; now {state.status.replace('_', ' ')} "
        f"(reason recorded: {revoked.reason})"
    )
    return EXIT_OK


@_guarded
def override_command(args: argparse.Namespace, session: _Session) -> int:
    from ccplate_tui.checklist.operations import override

    phase = override(session.store, session.checklist, args.phase, session.who, args.reason)
    print(f"{phase.phase.id}: opened by {session.who} — reason recorded: {args.reason}")
    return EXIT_OK


@_guarded
def reset_command(args: argparse.Namespace, session: _Session) -> int:
    from ccplate_tui.checklist.operations import reset

    what = f"phase {args.phase}" if args.phase else "the whole checklist"
    if not args.yes:
        if not sys.stdin.isatty():
            raise _Usage(f"reset {what}: pass --yes to confirm (nothing was reset)")
        answer = input(f"reset {what}? The history is kept. [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("nothing was reset")
            return EXIT_USAGE
    reset(session.store, session.checklist, session.who, args.phase, args.reason)
    print(f"reset {what} (history kept in {session.store.path})")
    return EXIT_OK


@_guarded
def report_command(args: argparse.Namespace, session: _Session) -> int:
    from ccplate_tui.atomic_file import write_atomic
    from ccplate_tui.checklist.report import report_json, report_markdown

    view, events = session.view()
    options = {"generated_by": session.who, "config_path": session.config_path}
    if args.format == "json":
        text = json.dumps(report_json(view, events, **options), indent=2, ensure_ascii=False)
        text += "\n"
    else:
        text = report_markdown(view, events, **options)
    if args.output:
        try:
            # For the change record: readable as the user's umask allows, not private.
            write_atomic(Path(args.output), text.encode("utf-8"), shared=True)
        except OSError as exc:
            raise _Usage(f"cannot write {args.output}: {exc.strerror or exc}") from None
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK
