"""The `ccplate-tui` command line: one entry point, one sub-command per job."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ccplate_tui import __version__
from ccplate_tui.suggest import did_you_mean


class _Parser(argparse.ArgumentParser):
    """argparse with `did you mean …?` for a mistyped choice (`histroy`, `checklist stauts`).

    Sub-parsers are made with the class of their parent, so every level gets it.
    """

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        # argparse's one place for "invalid choice"; overriding it keeps argparse's own wording
        # and adds the hint (its error() only gets the finished text).
        try:
            super()._check_value(action, value)
        except argparse.ArgumentError as exc:
            choices = action.choices or ()
            hint = did_you_mean(value, choices) if isinstance(value, str) else ""
            if not hint:
                raise
            raise argparse.ArgumentError(action, f"{exc.message}{hint}") from None


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Epilogs (exit codes, examples) keep their lines; a one-paragraph description is wrapped."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text.strip("\n"):
            return super()._fill_text(text, width, indent)
        return argparse.HelpFormatter._fill_text(self, text, width, indent)


# Each top-level command's exit codes and one example, in its --help. `init` keeps its own
# (init_command.EPILOG); the sub-commands of checklist, history and sentry share their parent's.
EPILOGS = {
    None: """\
exit codes (the dashboard, without a command):
  0  closed
  2  bad usage or a bad config (the message names the file, line and key)

new here? write a starter scenarios.toml, then rehearse a scenario against the demo target:
  ccplate-tui init
  ccplate-tui run auth_burst --time-scale 0.05 --start-target
""",
    "run": """\
exit codes:
  0   every threshold passed
  99  a threshold was crossed (or an abortOnFail threshold stopped the run)
  2   bad usage or a bad config (an unknown scenario, a bad flag: the message says which)
  1   anything else: interrupted (Ctrl+C, SIGTERM), the engine or the demo target failed

example:
  ccplate-tui run auth_burst --time-scale 0.05 --start-target --summary-export out.json
""",
    "target": """\
exit codes:
  0  stopped (Ctrl+C)
  2  bad --faults, a non-loopback --host without --allow-remote-bind, no folder for --db
  1  the port is in use, or the database cannot be used

example:
  ccplate-tui target --port 8787 --faults error_rate=0.05,latency=200ms
""",
    "sentry": """\
exit codes:
  check          0 supported, 3 upgrade or partial support, 4 unsupported,
                 2 bad project or config, 1 no answer from the registry
  verify         0 delivered (and confirmed, with a token), 1 not, 2 bad DSN or missing inputs
  capture-drill  0 every error caused arrived, 1 some lost or not counted, 2 bad input
  setup          0 done or nothing to do, 1 a file left alone or a failed write, 2 bad usage

example:
  ccplate-tui sentry check --project ../ccplate
""",
    "checklist": """\
exit codes:
  0  done / passed
  1  a step failed or was cancelled; for `status`, the checklist is not complete
  2  bad usage or config, or an action the checklist refuses (a locked phase,
     self-approval, …): the message says why and what to do instead

example:
  ccplate-tui checklist status && ccplate-tui checklist run health_check --yes
""",
    "verdict": """\
exit codes:
  0  GO (and GO (REHEARSAL) with --accept-rehearsal)
  1  NO-GO, or GO (REHEARSAL) without --accept-rehearsal
  2  a bad config

example:
  ccplate-tui verdict --json
""",
    "history": """\
exit codes:
  0   ok
  1   `compare` flagged a regression, or the history cannot be read (a damaged database)
  2   bad usage, an unknown run or a bad config
  99  `recheck` found a threshold crossed

example:
  ccplate-tui history baseline r1 --scenario auth_burst && ccplate-tui history compare r2
""",
    "export": """\
exit codes:
  0  written
  2  bad usage or config (an unknown scenario, one k6 cannot express)
  1  the files could not be written

example:
  ccplate-tui export k6 auth_burst --out tests/load/ --parallelism 4
""",
    "watch": """\
exit codes:
  0  the dashboard was closed
  2  bad usage or a bad config (an unknown scenario, a file that is not k6 NDJSON)

example:
  k6 run --out json=run.ndjson script.js & ccplate-tui watch k6 run.ndjson
""",
    "serve": """\
exit codes:
  0  stopped (Ctrl+C or SIGTERM)
  2  a bad config, or a non-loopback --host without --allow-remote-bind
  1  the port is in use or cannot be bound

example:
  ccplate-tui serve --port 8000    # then open http://127.0.0.1:8000
""",
}


def _add_epilogs(parser: argparse.ArgumentParser, commands: dict[str, Any]) -> None:
    for name, text in EPILOGS.items():
        target = parser if name is None else commands.get(name)
        if target is None:
            continue
        if not target.epilog:
            target.epilog = text
        target.formatter_class = _HelpFormatter
    init = commands.get("init")
    if init is not None:
        init.formatter_class = _HelpFormatter


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
    from ccplate_tui.init_command import add_init_parser
    from ccplate_tui.k6.command import add_export_parser
    from ccplate_tui.release.verdict_command import add_verdict_parser
    from ccplate_tui.sentry.command import add_sentry_parser
    from ccplate_tui.target.command import add_target_parser
    from ccplate_tui.ui.serve import add_serve_parser
    from ccplate_tui.ui.watch_command import add_watch_parser

    add_init_parser(subparsers)
    add_run_parser(subparsers)
    add_target_parser(subparsers)
    add_sentry_parser(subparsers)
    add_checklist_parser(subparsers)
    add_verdict_parser(subparsers)
    add_history_parser(subparsers)
    add_export_parser(subparsers)
    add_watch_parser(subparsers)
    add_serve_parser(subparsers)
    _add_epilogs(parser, subparsers.choices)
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
