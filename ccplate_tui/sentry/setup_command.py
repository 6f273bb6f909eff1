"""`ccplate-tui sentry setup`: the plan's Sentry tasks 4.1.2 and 4.1.3 done for the user.

Prints a unified diff of every change (package.json to the proven @sentry/nextjs, the disabled
Sentry code re-enabled, onRequestError, client init, global-error, .env.example, the error
boundary) and, with `--apply`, writes it: each file atomically, its mode kept, and only when it
still holds what the diff was computed from. Exit 0 done or nothing to do, 2 bad usage or an
unreadable project, 1 anything else (a file left alone, a write that failed, no supporting SDK).
"""

from __future__ import annotations

import argparse
import json
import shlex
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccplate_tui.exit_codes import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from ccplate_tui.sentry.dsn import mask_dsns
from ccplate_tui.sentry.setup_plan import SetupPlan
from ccplate_tui.sentry.wiring_render import LAYOUTS

CHECK = "ccplate-tui sentry check"
SETUP = "ccplate-tui sentry setup"


def add_setup_parser(checks: argparse._SubParsersAction) -> None:
    """Register `setup` under `ccplate-tui sentry`."""
    setup = checks.add_parser(
        "setup",
        help="do the plan's Sentry tasks 4.1.2 and 4.1.3: print the diff, --apply writes it",
        description="Upgrade @sentry/nextjs to the proven version, re-enable the disabled Sentry "
        "code, wire every error path (onRequestError, client init, global-error, the error "
        "boundary) and add the Sentry keys to .env.example. Prints a unified diff; writes "
        "nothing without --apply.",
    )
    setup.add_argument("--project", metavar="PATH", help="the Next.js project folder")
    setup.add_argument("--apply", action="store_true", help="write the changes")
    setup.add_argument(
        "--offline", action="store_true", help="prove the version from the cache only"
    )
    setup.add_argument(
        "--timeout", type=float, default=20.0, metavar="S", help="registry timeout (default 20)"
    )
    setup.add_argument("--json", action="store_true", help="print the result as JSON")
    setup.add_argument(
        "--config",
        metavar="FILE",
        help="scenarios file with a [sentry] table (default: scenarios.toml when present)",
    )
    setup.add_argument(
        "--state", metavar="DIR", help="state folder (default: .ccplate/ beside the config)"
    )
    setup.set_defaults(func=setup_command)


class SetupError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Written:
    file: str
    error: str | None = None
    """Why it was not written (it changed since it was read, or the write failed)."""


def _error(message: str, code: int, *, as_json: bool) -> int:
    message = mask_dsns(message)
    print(f"ccplate-tui sentry setup: {message}", file=sys.stderr)
    if as_json:
        print(json.dumps({"error": message, "exit": code}, ensure_ascii=False))
    return code


def build_plan(args: argparse.Namespace) -> SetupPlan:
    """Check compatibility (proving the version), scan the wiring, plan every change."""
    from ccplate_tui.config.errors import ConfigError
    from ccplate_tui.config.loader import load_config
    from ccplate_tui.config.model import SentrySpec
    from ccplate_tui.load.run_registry import default_state_dir
    from ccplate_tui.sentry.checks import compatibility_check
    from ccplate_tui.sentry.packument import PackumentError
    from ccplate_tui.sentry.project_scan import ProjectError, scan_project
    from ccplate_tui.sentry.settings import resolve_settings
    from ccplate_tui.sentry.setup_plan import plan_setup

    config = Path(args.config or "scenarios.toml")
    try:
        spec = load_config(config).sentry if args.config or config.is_file() else SentrySpec()
    except ConfigError as exc:
        raise SetupError(str(exc), EXIT_USAGE) from exc
    if args.timeout <= 0:
        raise SetupError(f"--timeout must be greater than 0, got {args.timeout}", EXIT_USAGE)
    state = Path(args.state) if args.state else default_state_dir(config)
    settings = resolve_settings(spec, project=args.project)
    report = problem = None
    try:
        report = compatibility_check(settings, state, offline=args.offline, timeout=args.timeout)
        scan = report.scan
    except ProjectError as exc:
        raise SetupError(str(exc), EXIT_USAGE) from exc
    except PackumentError as exc:
        problem = str(exc)
        try:
            scan = scan_project(settings.project)
        except ProjectError as inner:
            raise SetupError(str(inner), EXIT_USAGE) from inner
    if report is not None and report.verdict == "unsupported":
        raise SetupError(
            f"{report.headline}. Setup changes nothing; `{CHECK}` lists the alternatives",
            EXIT_ERROR,
        )
    return plan_setup(scan, report, problem=problem)


def apply_plan(plan: SetupPlan) -> list[Written]:
    """Write every change atomically, keeping each file's mode; a file that changed since the
    plan read it is not written."""
    from ccplate_tui.atomic_file import write_atomic
    from ccplate_tui.sentry.setup_plan import default_mode

    done = []
    for change in plan.changes:
        path = plan.root / change.file
        try:
            if change.before is None:
                if path.exists():
                    raise ValueError("it appeared since setup looked: not overwritten")
                mode = default_mode()
            else:
                if path.read_bytes().decode("utf-8") != change.before:
                    raise ValueError("it changed since setup read it: not overwritten")
                mode = stat.S_IMODE(path.stat().st_mode)
            write_atomic(path, change.after.encode("utf-8"), mode=mode)
            done.append(Written(change.file))
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            done.append(Written(change.file, reason))
    return done


def _commands(plan: SetupPlan, args: argparse.Namespace) -> tuple[str | None, str]:
    project = f" --project {shlex.quote(args.project)}" if args.project else ""
    return plan.version.install_command, f"{CHECK}{project}"


def exit_code(plan: SetupPlan, written: list[Written]) -> int:
    if plan.left_alone or any(w.error for w in written):
        return EXIT_ERROR
    return EXIT_OK


def to_json(
    plan: SetupPlan, args: argparse.Namespace, written: list[Written], code: int
) -> dict[str, Any]:
    install, check = _commands(plan, args)
    errors = {w.file: w.error for w in written if w.error}
    v = plan.version
    return {
        "project": str(plan.root),
        "applied": bool(args.apply),
        "nothing_to_do": plan.nothing_to_do,
        "layout": plan.layout,
        "next_version": plan.next_version,
        "sdk_version": plan.sdk_version,
        "changes": [
            {
                "file": c.file,
                "action": c.action,
                "diff": mask_dsns(c.diff),
                "reasons": list(c.reasons),
                "written": bool(args.apply) and c.file not in errors,
                "error": errors.get(c.file),
            }
            for c in plan.changes
        ],
        "left_alone": [
            {
                "file": x.file,
                "reason": x.reason,
                "fix": [{"file": f.file, "place": f.place, "code": f.code} for f in x.fix],
            }
            for x in plan.left_alone
        ],
        "version": {
            "package": "@sentry/nextjs",
            "declared": v.declared,
            "target": v.target,
            "spec": v.spec,
            "proven": v.proven,
            "note": mask_dsns(v.note),
        },
        "feature_flag": {
            "name": plan.flag,
            "reasons": list(plan.flag_reasons),
            "note": _flag_note(plan),
        }
        if plan.flag
        else None,
        "notes": list(plan.notes),
        "install_command": install,
        "check_command": check,
        "exit": code,
    }


def _flag_note(plan: SetupPlan) -> str:
    return (
        f'the plan\'s decision matrix says "partial support: implement with feature flags" '
        f"without naming one, so setup chose {plan.flag}: Sentry starts only where "
        f'{plan.flag}="true" (NEXT_PUBLIC_{plan.flag} for the browser)'
    )


def render(plan: SetupPlan, args: argparse.Namespace, written: list[Written]) -> str:
    """The text report: the diffs, what changes and why, what was left alone, what to run."""
    install, check = _commands(plan, args)
    project = f" --project {shlex.quote(args.project)} " if args.project else " "
    v = plan.version
    sdk = plan.sdk_version or "not installed"
    if v.spec and v.spec != v.declared:
        sdk = f"{v.declared or '(not declared)'} -> {v.spec}"
    out = [
        f"Sentry setup: {plan.root}",
        f"Next.js {plan.next_version or 'unknown'}, @sentry/nextjs {sdk}; "
        f"{LAYOUTS.get(plan.layout, plan.layout)}",
        "",
    ]
    for change in plan.changes:
        out.append(change.diff.rstrip("\n"))
    if plan.changes:
        out.append("")
    errors = {w.file: w.error for w in written if w.error}
    if not plan.changes and plan.left_alone:
        out.append("Nothing setup can change is left to do; the files below need a hand.")
    elif not plan.changes:
        out.append("Nothing to do: every change setup makes is already in place.")
    else:
        if not args.apply:
            state = "dry run, nothing written: run again with --apply to write them"
        elif errors:
            state = f"{len(plan.changes) - len(errors)} written, {len(errors)} not"
        else:
            state = "written"
        files = f"{len(plan.changes)} file{'s' if len(plan.changes) != 1 else ''}"
        out.append(f"Changes ({files}, {state}):")
        width = max(len(c.file) for c in plan.changes) + 2
        for c in plan.changes:
            out.append(f"  {c.action:<7} {c.file:<{width}}{'; '.join(c.reasons)}")
            if c.file in errors:
                out.append(f"          not written: {errors[c.file]}")
    if plan.left_alone:
        out += ["", "Left alone (setup does not recognise their content):"]
        for x in plan.left_alone:
            out.append(f"  {x.file}: {x.reason}")
            out += [f"      add ({f.place or 'in it'}): {f.code}" for f in x.fix]
    out += ["", f"@sentry/nextjs: {v.note}"]
    if plan.flag:
        out.append(f"Feature flag: {_flag_note(plan)}")
        out += [f"  partial because: {reason}" for reason in plan.flag_reasons]
    if plan.notes:
        out += ["Notes:", *(f"  - {note}" for note in plan.notes)]
    out.append("")
    apply_first = "run this again with --apply, then " if plan.changes and not args.apply else ""
    if install:
        out.append(f"Next: {apply_first}`{install}` in the project, and `{check}` to confirm")
    else:
        out.append(
            f"Next: with the registry reachable, `{SETUP}{project}--apply` (it also declares "
            "the proven @sentry/nextjs in package.json), then `npm install` in the project, and "
            f"`{check}` to confirm"
        )
    return mask_dsns("\n".join(out)) + "\n"


def setup_command(args: argparse.Namespace) -> int:
    try:
        plan = build_plan(args)
    except SetupError as exc:
        return _error(str(exc), exc.code, as_json=args.json)
    written = apply_plan(plan) if args.apply else []
    code = exit_code(plan, written)
    if args.json:
        print(json.dumps(to_json(plan, args, written, code), indent=2, ensure_ascii=False))
    else:
        print(render(plan, args, written), end="")
    return code
