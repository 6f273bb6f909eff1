"""`ccplate-tui watch k6 FILE [SCENARIO...] [--config F]`: the dashboard on a k6 NDJSON file.

Attaches the Load tab to a `k6 run --out json=FILE` stream another k6 (e.g. one pod of a
distributed run) is writing; it reads the file and sends no traffic, so starting and stopping
runs is disabled. Textual is imported only when the dashboard opens.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ccplate_tui.config.errors import ConfigError
from ccplate_tui.config.loader import load_config
from ccplate_tui.exit_codes import EXIT_USAGE
from ccplate_tui.k6.watch import bare_config
from ccplate_tui.load.engine import RunPlan, UnknownScenario, resolve_plan
from ccplate_tui.load.run_registry import default_state_dir

if TYPE_CHECKING:
    from ccplate_tui.ui.app import CcplateApp


def add_watch_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `watch k6 FILE` (cli.py calls this)."""
    parser = subparsers.add_parser(
        "watch",
        help="attach the dashboard to a load run written elsewhere (k6 NDJSON)",
        description="Open the dashboard on a run another tool is writing.",
    )
    kinds = parser.add_subparsers(dest="watch_kind", required=True, metavar="KIND")
    k6 = kinds.add_parser(
        "k6",
        help="follow a `k6 run --out json=FILE` stream as it is written",
        description="Follow a k6 NDJSON file as it grows and show it on the Load tab. Without "
        "--config the run is judged by the thresholds the stream declares; with it, by the "
        "config's thresholds for SCENARIO (default: all of its scenarios).",
    )
    k6.add_argument("file", metavar="FILE", help="the NDJSON file k6 writes (--out json=FILE)")
    k6.add_argument(
        "scenarios", nargs="*", metavar="SCENARIO", help="scenarios or suites of --config"
    )
    k6.add_argument("--config", metavar="FILE", help="scenarios.toml judging the stream")
    k6.add_argument("--theme", metavar="NAME", help="dashboard theme")
    k6.add_argument(
        "--state",
        metavar="DIR",
        help="state folder (default: .ccplate/ beside the config, else beside FILE)",
    )
    k6.set_defaults(func=watch_command)


def _usage_error(message: str) -> int:
    print(f"ccplate-tui watch k6: {message}", file=sys.stderr)
    return EXIT_USAGE


def build_watch_app(args: argparse.Namespace) -> CcplateApp | int:
    """The dashboard watching `args.file`, or an exit code after printing why it cannot."""
    path = Path(args.file)
    if not path.parent.is_dir():
        return _usage_error(f"{path}: the folder {path.parent} does not exist")
    if path.exists() and not path.is_file():
        return _usage_error(f"{path}: not a file")
    plan: RunPlan | None = None
    if args.config:
        try:
            config = load_config(args.config)
        except ConfigError as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_USAGE
        try:
            plan = resolve_plan(config, tuple(args.scenarios))
        except UnknownScenario as exc:
            return _usage_error(str(exc))
    elif args.scenarios:
        return _usage_error("SCENARIO names need --config (the file that defines them)")
    else:
        config = bare_config(path)
    from ccplate_tui.ui.app import CcplateApp

    state = Path(args.state) if args.state else default_state_dir(config.path)
    return CcplateApp(
        config,
        theme=args.theme,
        state_dir=state,
        auto_start_target=False,  # nothing is loaded from here
        watch=path,
        watch_plan=plan,
    )


def watch_command(args: argparse.Namespace) -> int:
    """Run the watching dashboard until the user quits."""
    app = build_watch_app(args)
    if isinstance(app, int):
        return app
    return int(app.run() or 0)
