"""The `ccplate-tui target` sub-command: serve the demo API with optional faults."""

from __future__ import annotations

import argparse
import errno
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

from ccplate_tui.loopback import is_loopback_host
from ccplate_tui.target.faults import Faults, parse_faults
from ccplate_tui.target.server import serve

DEFAULT_PORT = 8787
_FAULTS_HELP = (
    "faults to inject, e.g. error_rate=0.05,latency=200ms,jitter=50ms,"
    "slow=/api/files:500ms,drop_rate=0.01,reset_rate=0.01,garbage_rate=0.01,"
    "paths=/api/auth/*,seed=42 (default scope: /api/* except /api/health); db_slow=2ms adds "
    "that much CPU to every database statement (at most 100ms; /metrics shows the load); "
    "sentry_drop=0.2 drops exactly that share of the target's Sentry events before sending"
)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port between 0 and 65535, got {port}")
    return port


def configure_target_parser(parser: argparse.ArgumentParser) -> None:
    """Add the target's options to `parser` (shared by the sub-command and `-m ccplate_tui.target`)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"port to listen on; 0 picks a free one (default {DEFAULT_PORT})",
    )
    parser.add_argument("--faults", default="", help=_FAULTS_HELP)
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        help="SQLite file to use (default: a temporary database deleted on exit)",
    )
    parser.add_argument(
        "--allow-remote-bind",
        action="store_true",
        help="allow binding a non-loopback address (the demo API has a known password)",
    )


def add_target_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `target` on the main CLI's sub-parsers, with func=run_target_command."""
    parser = subparsers.add_parser(
        "target",
        help="serve the demo CCPLATE API (with optional fault injection)",
        description="Serve the embedded demo CCPLATE API that load scenarios aim at. Faults can "
        "be changed while it runs: GET/PUT/PATCH/DELETE /__admin/faults; counts at "
        "/__admin/stats.",
    )
    configure_target_parser(parser)
    parser.set_defaults(func=run_target_command)


def _error(message: str) -> None:
    print(f"ccplate-tui target: error: {message}", file=sys.stderr, flush=True)


def run_target(args: argparse.Namespace, announce: Callable[[str, Faults], None]) -> int:
    """Validate the options and serve until interrupted; the exit code follows the design."""
    try:
        faults = parse_faults(args.faults or "")
    except ValueError as exc:
        _error(f"--faults: {exc}")
        return 2
    if not args.allow_remote_bind and not is_loopback_host(args.host):
        _error(
            f"--host: refusing to bind {args.host!r}, which is not a loopback address; the demo "
            "API accepts a published password. Pass --allow-remote-bind if you mean it."
        )
        return 2
    db: Path | None = args.db
    if db is not None and not db.parent.is_dir():
        _error(f"--db: the directory {str(db.parent)!r} does not exist")
        return 2
    try:
        serve(args.host, args.port, faults, db, on_ready=lambda url: announce(url, faults))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            _error(
                f"port {args.port} on {args.host} is already in use; stop the other process "
                "or pick another port with --port"
            )
        else:
            _error(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
        return 1
    except sqlite3.Error as exc:
        _error(f"cannot use the database {str(db) if db else '(temporary)'}: {exc}")
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def _announce(base_url: str, faults: Faults) -> None:
    print(f"ccplate demo target listening on {base_url}")
    print(f"admin: {base_url}/__admin/faults (GET/PUT/PATCH/DELETE), {base_url}/__admin/stats")
    print(f"metrics: {base_url}/metrics (database load: ccplate_db_cpu_percent)")
    print(
        f"sentry: unhandled API errors go to this target's ingest, {base_url}/__sentry "
        f"(project 1; a drill: {base_url}/api/sentry-example-api)"
    )
    if faults.active:
        print(f"faults: {faults.to_text()}")
    print("press Ctrl-C to stop", flush=True)


def run_target_command(args: argparse.Namespace) -> int:
    """The `target` sub-command's entry point."""
    return run_target(args, _announce)
