"""`ccplate-tui` without a sub-command: open the dashboard.

Textual is imported only when the dashboard really opens, so `ccplate-tui run` stays headless.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ccplate_tui.config.errors import ConfigError
from ccplate_tui.config.loader import load_config
from ccplate_tui.config.timescale import with_time_scale
from ccplate_tui.exit_codes import EXIT_USAGE

if TYPE_CHECKING:
    from ccplate_tui.ui.app import CcplateApp


def add_dashboard_options(parser: argparse.ArgumentParser) -> None:
    """The root options, used when no sub-command is given (own dests: sub-commands keep theirs)."""
    group = parser.add_argument_group("dashboard (no sub-command)")
    group.add_argument(
        "--config",
        dest="dashboard_config",
        default="scenarios.toml",
        metavar="FILE",
        help="scenarios file (default: scenarios.toml)",
    )
    group.add_argument(
        "--theme",
        dest="dashboard_theme",
        metavar="NAME",
        help="dashboard theme, e.g. ccplate-dark, ccplate-light, ccplate-high-contrast",
    )
    group.add_argument(
        "--run",
        dest="dashboard_run",
        action="append",
        default=[],
        metavar="SCENARIO",
        help="open on the Load tab with this scenario or suite already started (repeatable)",
    )
    group.add_argument(
        "--engine",
        dest="dashboard_engine",
        choices=("built-in", "k6"),
        default="built-in",
        help="run scenarios with the built-in engine or the local k6 binary",
    )
    group.add_argument(
        "--workers",
        dest="dashboard_workers",
        type=int,
        metavar="N",
        help="engine worker processes per run (default: one per core)",
    )
    group.add_argument(
        "--state",
        dest="dashboard_state",
        metavar="DIR",
        help="state folder for the shared run, screenshots and summaries "
        "(default: .ccplate/ beside the config)",
    )
    group.add_argument(
        "--as",
        dest="dashboard_as",
        metavar="NAME",
        help="act on the checklist as NAME (default: the OS user); sign-offs need another name",
    )
    group.add_argument(
        "--time-scale",
        dest="dashboard_time_scale",
        type=float,
        default=1.0,
        metavar="F",
        help="multiply every scheduling duration by F, e.g. 0.05 for a rehearsal",
    )


def _usage_error(message: str) -> int:
    print(f"ccplate-tui: {message}", file=sys.stderr)
    return EXIT_USAGE


def build_dashboard_app(args: argparse.Namespace) -> CcplateApp | int:
    """The app the options describe, or an exit code after printing why it cannot start."""
    try:
        config = load_config(args.dashboard_config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    if args.dashboard_workers is not None and args.dashboard_workers < 1:
        return _usage_error(f"--workers must be at least 1, got {args.dashboard_workers}")
    if args.dashboard_time_scale <= 0:
        return _usage_error(f"--time-scale must be greater than 0, got {args.dashboard_time_scale}")
    if args.dashboard_time_scale != 1.0:
        config = with_time_scale(config, args.dashboard_time_scale)
    as_name = getattr(args, "dashboard_as", None)
    if as_name is not None and not as_name.strip():
        return _usage_error("--as needs a name")
    from ccplate_tui.ui.app import CcplateApp

    return CcplateApp(
        config,
        theme=args.dashboard_theme,
        run=tuple(args.dashboard_run),
        workers=args.dashboard_workers,
        engine=args.dashboard_engine,
        state_dir=Path(args.dashboard_state) if args.dashboard_state else None,
        time_scale=args.dashboard_time_scale,
        operator=as_name,
    )


def dashboard_command(args: argparse.Namespace) -> int:
    """Run the dashboard until the user quits; the exit code of the app."""
    app = build_dashboard_app(args)
    if isinstance(app, int):
        return app
    try:
        code = app.run()
    finally:
        app.stop_demo_target()  # the app stops it on unmount; this covers a crash before that
    return int(code or 0)
