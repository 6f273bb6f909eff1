"""`ccplate-tui verdict`: one go / no-go for the release, with every reason, from the state folder.

The same judgement as the Overview tab: the run history, the Sentry checks' stored results and the
checklist's state file. Exit 0 for GO (and for GO (REHEARSAL) only with `--accept-rehearsal`),
1 for anything else, 2 for a bad config.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from ccplate_tui.config.errors import ConfigError
from ccplate_tui.config.loader import load_config
from ccplate_tui.exit_codes import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from ccplate_tui.load.run_registry import default_state_dir
from ccplate_tui.release.criteria import Verdict
from ccplate_tui.release.evidence import Evidence

MARK = {"pass": "✓", "fail": "✗", "unknown": "?", "not_measured": "–"}
WORDS = {"pass": "PASS", "fail": "FAIL", "unknown": "UNKNOWN", "not_measured": "NOT MEASURED"}

REHEARSAL_REFUSED = (
    "GO (REHEARSAL) is not a release GO: the evidence includes a rehearsal "
    "(pass --accept-rehearsal to exit 0 for it)"
)


def add_verdict_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verdict",
        help="go / no-go for the release, with every reason (exit 0 go, 1 no-go)",
        description="Combine the run history, the Sentry checks and the deploy checklist "
        "into one release verdict; every criterion names its evidence.",
    )
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON")
    parser.add_argument(
        "--accept-rehearsal",
        action="store_true",
        help="exit 0 for GO (REHEARSAL): all pass, but on a time-scaled run or rehearsed timer",
    )
    parser.add_argument(
        "--config", default="scenarios.toml", metavar="FILE", help="default: scenarios.toml"
    )
    parser.add_argument(
        "--state", metavar="DIR", help="state folder (default: .ccplate/ beside the config)"
    )
    parser.set_defaults(func=verdict_command)


def verdict_command(args: argparse.Namespace) -> int:
    from ccplate_tui.release.criteria import evaluate_release
    from ccplate_tui.release.inputs import (
        checklist_progress,
        runs_on_record,
        sentry_status,
        sentry_wiring,
    )
    from ccplate_tui.release.plan_measures import plan_measures

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    state = Path(args.state) if args.state else default_state_dir(args.config)
    runs = runs_on_record(state)
    verdict = evaluate_release(
        runs.latest,
        sentry=sentry_status(state),
        checklist=checklist_progress(config.checklist, state),
        last_complete=runs.last_complete,
        wiring=sentry_wiring(state),
        measures=plan_measures(state, runs.last_complete or runs.latest, config.checklist),
    )
    if runs.running is not None and verdict.latest is None:
        verdict = _with_running(verdict, runs.running)
    accept = bool(getattr(args, "accept_rehearsal", False))
    code = EXIT_OK if verdict.go or (verdict.rehearsal and accept) else EXIT_ERROR
    if args.json:
        document = verdict_json(verdict, accepted=accept)
        judged = runs.latest if verdict.latest is None else runs.last_complete
        document["load_run"] = (
            None
            if judged is None
            else {"run_id": judged.run_id, "scenarios": list(judged.scenarios)}
        )
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print("\n".join(verdict_lines(verdict, accepted=accept)))
    return code


def _with_running(verdict: Verdict, running: Evidence) -> Verdict:
    """A run still recording in another process, shown beside the run the criteria judge."""
    which = f"Load run {running.run_id}" if running.run_id else "A load run"
    lead = f"{which} still in progress: the criteria are from the last complete run"
    return replace(
        verdict,
        go=False,
        rehearsal=False,
        headline=lead if verdict.go or verdict.rehearsal else verdict.headline,
        reasons=(lead, *verdict.reasons),
        latest=running,
    )


def verdict_json(verdict: Verdict, *, accepted: bool = False) -> dict[str, Any]:
    """The verdict as `verdict --json` prints it."""
    return {
        "verdict": verdict.word,
        "go": verdict.go,
        "rehearsal": verdict.rehearsal,
        "rehearsal_accepted": verdict.rehearsal and accepted,
        "headline": verdict.headline,
        "reasons": list(verdict.reasons),
        "not_measured": [c.name for c in verdict.not_measured],
        "criteria": [c.to_json() for c in verdict.criteria],
        "latest_run": verdict.latest.to_json() if verdict.latest else None,
    }


def verdict_lines(verdict: Verdict, *, accepted: bool = False) -> list[str]:
    """The verdict as `verdict` prints it: banner, one row per criterion with its evidence."""
    lines = [f"{verdict.word}: {verdict.headline}"]
    for c in verdict.criteria:
        lines.append(f"  {MARK[c.status]} {c.name:<17} {c.value:<26} (target {c.target})")
        if c.evidence.source != "none":
            lines.append(f"      from {c.evidence.text()}")
    if verdict.latest is not None:
        lines.append(f"Latest run, not judged: {verdict.latest.text()}")
    if verdict.rehearsal:
        lines.append("Rehearsal:")
        lines += [f"  - {reason}" for reason in verdict.reasons]
        if not accepted:
            lines.append(REHEARSAL_REFUSED)
    elif verdict.reasons:
        lines.append("Why not go:")
        lines += [f"  - {reason}" for reason in verdict.reasons]
    return lines
