"""`ccplate-tui sentry check`, `verify` and `capture-drill`: the Sentry checks headless.

check: 0 supported, 3 upgrade or partial, 4 unsupported, 2 bad project or config, 1 no answer.
verify: 0 delivered (and confirmed when a token is given), 1 not, 2 bad DSN or missing inputs.
capture-drill: 0 every error caused arrived, 1 some lost or not counted, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ccplate_tui.config.errors import ConfigError
from ccplate_tui.config.loader import load_config
from ccplate_tui.config.model import SentrySpec
from ccplate_tui.exit_codes import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from ccplate_tui.load.run_registry import default_state_dir
from ccplate_tui.sentry.dsn import DsnError, mask_dsns

DEFAULT_CONFIG = "scenarios.toml"


def add_sentry_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sentry",
        help="Sentry checks: is @sentry/nextjs compatible, does Sentry receive our errors",
        description="The two Sentry checks of the hardening plan (phase 4.1).",
    )
    checks = parser.add_subparsers(dest="sentry_command", metavar="CHECK", required=True)

    check = checks.add_parser(
        "check",
        help="does @sentry/nextjs support the app's Next.js? (exit 0 / 3 / 4)",
        description="Read the Next.js project, ask npm's configured registry for "
        "@sentry/nextjs, and decide: supported (0), upgrade or partial (3), unsupported (4).",
    )
    check.add_argument("--project", metavar="PATH", help="the Next.js project folder")
    check.add_argument("--offline", action="store_true", help="answer from the cache only")
    check.add_argument(
        "--timeout", type=float, default=20.0, metavar="S", help="registry timeout (default 20)"
    )
    _common(check)
    check.set_defaults(func=check_command)

    verify = checks.add_parser(
        "verify",
        help="send a test error and report whether Sentry really received it",
        description="Send a test error through sentry-sdk to the DSN and report delivered only "
        "when Sentry's ingest answers 200 naming the event id; with an API token, also wait "
        "until the event is visible in the project.",
    )
    verify.add_argument("--dsn", help="the DSN (default: SENTRY_DSN, [sentry] dsn, .env.local)")
    verify.add_argument(
        "--api-token",
        metavar="T",
        help="Sentry auth token with project:read (prefer SENTRY_AUTH_TOKEN: argv is visible)",
    )
    verify.add_argument("--org", metavar="O", help="organization slug (or SENTRY_ORG)")
    verify.add_argument("--project", metavar="P", help="project slug (or SENTRY_PROJECT)")
    verify.add_argument("--api-url", metavar="URL", help="web API base (default: from the DSN)")
    verify.add_argument(
        "--timeout", type=float, default=10.0, metavar="S", help="ingest timeout (default 10)"
    )
    verify.add_argument(
        "--confirm-timeout",
        type=float,
        default=120.0,
        metavar="S",
        help="how long to wait for the event to be visible (default 120)",
    )
    _common(verify)
    verify.set_defaults(func=verify_command)

    drill = checks.add_parser(
        "capture-drill",
        help="cause N errors on the app's throwing route; check that N events reach Sentry",
        description="Call [sentry] drill_path (a route that always throws, like @sentry/wizard's "
        "/api/sentry-example-api) under [target] base_url N times, then count the error events "
        "Sentry received in that window through its API. Exit 0 when every error arrived, 1 "
        "when some were lost or could not be counted, 2 for bad input.",
    )
    drill.add_argument(
        "--count", type=int, default=20, metavar="N", help="errors to cause (default 20)"
    )
    drill.add_argument("--path", metavar="ROUTE", help="the throwing route (default: drill_path)")
    drill.add_argument("--api-token", metavar="T", help="Sentry auth token (or SENTRY_AUTH_TOKEN)")
    drill.add_argument("--org", metavar="O", help="organization slug (or SENTRY_ORG)")
    drill.add_argument("--api-url", metavar="URL", help="web API base (default: from the DSN)")
    drill.add_argument("--dsn", help="the app's DSN, for its project id (default: as verify)")
    drill.add_argument(
        "--allow-remote", action="store_true", help="allow a target that is not loopback"
    )
    _common(drill)
    drill.set_defaults(func=drill_command)

    from ccplate_tui.sentry.setup_command import add_setup_parser

    add_setup_parser(checks)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="scenarios file with a [sentry] table (default: scenarios.toml when present)",
    )
    parser.add_argument(
        "--state", metavar="DIR", help="state folder (default: .ccplate/ beside the config)"
    )


def _error(command: str, message: str, code: int, *, as_json: bool = False) -> int:
    """Say what went wrong on stderr; with `--json` also as `{"error": …, "exit": …}` on stdout,
    so a script reading stdout always gets a JSON object."""
    message = mask_dsns(message)
    print(f"ccplate-tui sentry {command}: {message}", file=sys.stderr)
    if as_json:
        print(json.dumps({"error": message, "exit": code}, ensure_ascii=False))
    return code


def _load_spec(args: argparse.Namespace) -> tuple[SentrySpec, Path]:
    """The [sentry] table (empty without a config) and the state folder."""
    path = Path(args.config or DEFAULT_CONFIG)
    spec = SentrySpec()
    if args.config or path.is_file():
        spec = load_config(path).sentry
    state = Path(args.state) if args.state else default_state_dir(path)
    return spec, state


def check_command(args: argparse.Namespace) -> int:
    from ccplate_tui.sentry.checks import compatibility_check
    from ccplate_tui.sentry.compat_report import render_report, report_to_json
    from ccplate_tui.sentry.compatibility import EXIT_FOR_VERDICT
    from ccplate_tui.sentry.packument import PackumentError
    from ccplate_tui.sentry.project_scan import ProjectError
    from ccplate_tui.sentry.settings import resolve_settings

    try:
        spec, state = _load_spec(args)
    except ConfigError as exc:
        return _error("check", str(exc), EXIT_USAGE, as_json=args.json)
    if args.timeout <= 0:
        message = f"--timeout must be greater than 0, got {args.timeout}"
        return _error("check", message, EXIT_USAGE, as_json=args.json)
    settings = resolve_settings(spec, project=args.project)
    try:
        report = compatibility_check(settings, state, offline=args.offline, timeout=args.timeout)
    except ProjectError as exc:
        return _error("check", str(exc), EXIT_USAGE, as_json=args.json)
    except PackumentError as exc:
        return _error("check", str(exc), EXIT_ERROR, as_json=args.json)
    if args.json:
        print(json.dumps(report_to_json(report), indent=2, ensure_ascii=False))
    else:
        print(render_report(report))
    return EXIT_FOR_VERDICT[report.verdict]


def verify_command(args: argparse.Namespace) -> int:
    from ccplate_tui.sentry.capture import capture_to_json, render_capture
    from ccplate_tui.sentry.checks import MissingSetting, capture_check, capture_passed
    from ccplate_tui.sentry.settings import resolve_settings

    try:
        spec, state = _load_spec(args)
    except ConfigError as exc:
        return _error("verify", str(exc), EXIT_USAGE, as_json=args.json)
    for flag, value in (("--timeout", args.timeout), ("--confirm-timeout", args.confirm_timeout)):
        if value <= 0:
            message = f"{flag} must be greater than 0, got {value}"
            return _error("verify", message, EXIT_USAGE, as_json=args.json)
    settings = resolve_settings(
        spec,
        dsn=args.dsn,
        token=args.api_token,
        org=args.org,
        project_slug=args.project,
        api_url=args.api_url,
    )
    try:
        result = capture_check(
            settings, state, timeout=args.timeout, confirm_timeout=args.confirm_timeout
        )
    except (MissingSetting, DsnError) as exc:
        return _error("verify", str(exc), EXIT_USAGE, as_json=args.json)
    if args.json:
        print(json.dumps(capture_to_json(result), indent=2, ensure_ascii=False))
    else:
        if settings.dsn is not None:
            print(f"DSN from {settings.dsn.origin}")
        print(render_capture(result))
    passed = capture_passed(result, token_given=settings.token is not None)
    return EXIT_OK if passed else EXIT_ERROR


def drill_command(args: argparse.Namespace) -> int:
    from ccplate_tui.loopback import RemoteTargetRefused, check_target
    from ccplate_tui.sentry.capture_count import count_target
    from ccplate_tui.sentry.capture_drill import MAX_DRILL_ERRORS, drill_passed, run_drill
    from ccplate_tui.sentry.settings import resolve_settings

    path = Path(args.config or DEFAULT_CONFIG)
    try:
        config = load_config(path)
    except ConfigError as exc:
        return _error("capture-drill", str(exc), EXIT_USAGE, as_json=args.json)
    if not 1 <= args.count <= MAX_DRILL_ERRORS:
        message = f"--count must be between 1 and {MAX_DRILL_ERRORS:,d}, got {args.count}"
        return _error("capture-drill", message, EXIT_USAGE, as_json=args.json)
    route = args.path or config.sentry.drill_path
    if not route or not route.startswith("/"):
        message = (
            "no route to call: set drill_path under [sentry] (a route that always throws, like "
            "/api/sentry-example-api) or pass --path /ROUTE"
        )
        return _error("capture-drill", message, EXIT_USAGE, as_json=args.json)
    url = config.target.base_url.rstrip("/") + route
    try:
        check_target(url, allow_remote=args.allow_remote or config.target.allow_remote)
    except RemoteTargetRefused as exc:
        return _error("capture-drill", str(exc), EXIT_USAGE, as_json=args.json)
    settings = resolve_settings(
        config.sentry, dsn=args.dsn, token=args.api_token, org=args.org, api_url=args.api_url
    )
    target = count_target(settings)
    if isinstance(target, str):  # never cause errors that cannot be counted
        message = f"cannot count Sentry's events: {target}"
        return _error("capture-drill", message, EXIT_USAGE, as_json=args.json)
    state = Path(args.state) if args.state else default_state_dir(path)
    if not args.json:
        print(f"causing {args.count} errors: GET {url} …", flush=True)
    calls, result = run_drill(settings, url, args.count, state, timeout=config.target.timeout)
    passed = drill_passed(result)
    if args.json:
        document = {**result.to_json(), "passed": passed, "ratio": result.ratio}
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print(result.detail)
        print(f"asked {result.api}")
        if calls.errors == 0:
            print("no server error was caused: is drill_path a route that throws?")
        print(("PASS " if passed else "FAIL ") + result.text())
    return EXIT_OK if passed else EXIT_ERROR
