"""The `ccplate-tui` command line: one entry point, one sub-command per job."""

from __future__ import annotations

import argparse
import os
import sys

from ccplate_tui import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ccplate-tui",
        description="Production hardening console: load tests with live thresholds, "
        "the demo target, and more.",
    )
    parser.add_argument("--version", action="version", version=f"ccplate-tui {__version__}")
    from ccplate_tui.ui.dashboard_command import add_dashboard_options

    add_dashboard_options(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    from ccplate_tui.checklist.command import add_checklist_parser
    from ccplate_tui.headless import add_run_parser
    from ccplate_tui.history.command import add_history_parser
    from ccplate_tui.k6.command import add_export_parser
    from ccplate_tui.release.verdict_command import add_verdict_parser
    from ccplate_tui.sentry.command import add_sentry_parser
    from ccplate_tui.target.command import add_target_parser
    from ccplate_tui.ui.serve import add_serve_parser
    from ccplate_tui.ui.watch_command import add_watch_parser

    add_run_parser(subparsers)
    add_target_parser(subparsers)
    add_sentry_parser(subparsers)
    add_checklist_parser(subparsers)
    add_verdict_parser(subparsers)
    add_history_parser(subparsers)
    add_export_parser(subparsers)
    add_watch_parser(subparsers)
    add_serve_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code not in (None, 0) else 0
    if not getattr(args, "func", None):
        # No sub-command: the dashboard, with the root options.
        from ccplate_tui.ui.dashboard_command import dashboard_command

        return dashboard_command(args)
    try:
        return int(args.func(args))
    except BrokenPipeError:
        # `ccplate-tui … | head`: the reader left; say nothing more and do not trace back.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
