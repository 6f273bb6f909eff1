"""`ccplate-tui verdict`: one go / no-go for the release, with every reason, from the state folder.

The same judgement as the Overview tab: the latest load run's record, the Sentry checks' stored
results and the checklist's state file. Exit 0 for go, 1 for no-go, 2 for a bad config.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ccplate_tui.config.errors import ConfigError
from ccplate_tui.config.loader import load_config
from ccplate_tui.exit_codes import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from ccplate_tui.load.run_registry import default_state_dir

MARK = {"pass": "✓", "fail": "✗", "unknown": "?"}


def add_verdict_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verdict",
        help="go / no-go for the release, with every reason (exit 0 go, 1 no-go)",
        description="Combine the latest load run, the Sentry checks and the deploy checklist "
        "into one release verdict.",
    )
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON")
    parser.add_argument(
        "--config", default="scenarios.toml", metavar="FILE", help="default: scenarios.toml"
    )
    parser.add_argument(
        "--state", metavar="DIR", help="state folder (default: .ccplate/ beside the config)"
    )
    parser.set_defaults(func=verdict_command)


def verdict_command(args: argparse.Namespace) -> int:
    from ccplate_tui.load.run_records import latest_run
    from ccplate_tui.release.criteria import evaluate_release
    from ccplate_tui.release.inputs import checklist_progress, sentry_status

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    state = Path(args.state) if args.state else default_state_dir(args.config)
    record = latest_run(state)
    verdict = evaluate_release(
        record,
        sentry=sentry_status(state),
        checklist=checklist_progress(config.checklist, state),
    )
    if args.json:
        document = {
            "go": verdict.go,
            "headline": verdict.headline,
            "reasons": list(verdict.reasons),
            "criteria": [
                {"name": c.name, "target": c.target, "value": c.value, "status": c.status}
                for c in verdict.criteria
            ],
            "load_run": None
            if record is None
            else {"run_id": record.run_id, "scenarios": list(record.scenarios)},
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print(f"{'GO' if verdict.go else 'NO-GO'}: {verdict.headline}")
        for criterion in verdict.criteria:
            print(
                f"  {MARK[criterion.status]} {criterion.name:<17} {criterion.value:<24} "
                f"(target {criterion.target})"
            )
        if verdict.reasons:
            print("Why not go:")
            for reason in verdict.reasons:
                print(f"  - {reason}")
    return EXIT_OK if verdict.go else EXIT_ERROR
