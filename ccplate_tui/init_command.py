"""`ccplate-tui init [DIR] [--url URL] [--force] [--allow-remote]`: a starter scenarios.toml.

The starter is the scenarios file the tool ships (the plan's load scenarios, metric source,
availability probe and deploy checklist, with their comments), re-aimed at the URL given and at
the folder it is written into. It is derived from the packaged copy of the repository's own
scenarios.toml (a test keeps the two identical), so it never falls behind the plan.

Exit codes: 0 written; 2 bad usage (the file exists and --force was not given, a URL that is not
http(s), a non-loopback URL without --allow-remote); 1 the file could not be written.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from ccplate_tui.atomic_file import write_atomic
from ccplate_tui.config.errors import ConfigError
from ccplate_tui.config.loader import parse_config
from ccplate_tui.exit_codes import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from ccplate_tui.loopback import is_loopback_url

CONFIG_NAME = "scenarios.toml"
DEFAULT_URL = "http://127.0.0.1:8787"
"""The demo target's address (`ccplate-tui target`, `run --start-target`)."""
SHIPPED_URL = "http://127.0.0.1:8787"
"""The base URL written in the shipped file: every occurrence is re-aimed at --url."""
STARTER_SCENARIO = "auth_burst"
"""The scenario the printed next steps rehearse (the plan's first, 15 s at --time-scale 0.05)."""

EPILOG = """\
exit codes:
  0  scenarios.toml written
  1  the file could not be written
  2  bad usage: the file exists (pass --force), a URL that is not http(s)://HOST[:PORT],
     a non-loopback URL without --allow-remote

examples:
  ccplate-tui init && ccplate-tui run auth_burst --time-scale 0.05 --start-target
  ccplate-tui init ../ccplate --url http://127.0.0.1:3000
"""

_HEADER = """\
# ccplate-tui scenarios: a starter written by `ccplate-tui init` from the scenarios the tool
# ships, the production hardening plan's Phase 4.2 load tests and Phase 4.3 deploy checklist.
# Edit it freely: every command reads it (or the file given with --config FILE).
#
#   {run}
#   ccplate-tui                                                   # the dashboard
#   ccplate-tui checklist status                                  # the deploy checklist
#
"""

# The shipped file's [sentry] block points at examples/ccplate-app, a folder of the tool's own
# repository; in a starter it would not exist. The starter's app is the folder it sits in.
_SENTRY_BLOCK = re.compile(
    r"^# Phase 4\.1: the Sentry checks[^\n]*\n(?:#[^\n]*\n)*\[sentry\]\nproject = \"[^\"]*\"\n",
    re.MULTILINE,
)
_SENTRY_STARTER = """\
# Phase 4.1: the Sentry checks (`ccplate-tui sentry check` and `sentry verify`, the Sentry tab).
# project is the Next.js app's folder, relative to this file: "." when this file sits in the
# app's root, as `ccplate-tui init` run there puts it; otherwise its path, e.g. "../ccplate".
# The npm registry comes from npm's own configuration and the DSN from SENTRY_DSN or the app's
# .env.local. The checklist's command steps below run in the same folder (their `cwd`).
[sentry]
project = "."
"""
_APP_CWD = re.compile(r'^cwd = "examples/ccplate-app"[^\n]*$', re.MULTILINE)
_APP_CWD_STARTER = 'cwd = "." # the app\'s folder, relative to this file (as [sentry] project)'
_ALLOW_REMOTE = re.compile(r"^allow_remote = false[^\n]*$", re.MULTILINE)
_SOURCE_HEADER = re.compile(r"^\[sources\.db_cpu\]\n", re.MULTILINE)


class InitError(Exception):
    """Bad usage of `init`: printed as is, exit 2."""


def add_init_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "init",
        help="write a commented starter scenarios.toml (the plan's scenarios and checklist)",
        description="Write a starter scenarios.toml into DIR: the plan's load scenarios, its "
        "metric source and availability probe, and the deploy checklist, aimed at --url.",
        epilog=EPILOG,
    )
    parser.add_argument(
        "dir", nargs="?", default=".", metavar="DIR", help="where to write it (default: here)"
    )
    parser.add_argument(
        "--url",
        default=DEFAULT_URL,
        help=f"the target's base URL (default: {DEFAULT_URL}, the demo target)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="accept a URL that is not a loopback address (writes allow_remote = true)",
    )
    parser.set_defaults(func=init_command)
    return parser


def shipped_text() -> str:
    """The scenarios file the tool ships (the packaged copy of the repository's own)."""
    return (resources.files("ccplate_tui") / "data" / CONFIG_NAME).read_text(encoding="utf-8")


def check_url(url: str, *, allow_remote: bool) -> str:
    """The base URL to write (no trailing slash); InitError for a URL that cannot be one."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise InitError(f"--url: bad port in {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InitError(f"--url: expected http(s)://HOST[:PORT], got {url!r}")
    if parts.query or parts.fragment:
        raise InitError(f"--url: a base URL has no query or fragment, got {url!r}")
    if not allow_remote and not is_loopback_url(url):
        raise InitError(
            f"--url: {url} is not a loopback address; load runs send real traffic to it. "
            "Pass --allow-remote if you own that server and mean it (the file then says "
            "allow_remote = true)"
        )
    return url.rstrip("/")


def starter_text(url: str = DEFAULT_URL, *, allow_remote: bool = False) -> str:
    """The starter file for `url`: the shipped text with its own header, its app folder made
    the file's folder, and every URL of the demo target re-aimed at `url`."""
    text = shipped_text()
    head, _, body = text.partition("\n\n")
    # Keep the shipped header's notes on the grammar (from "# Executor options" on).
    notes = head[head.find("# Executor options") :] if "# Executor options" in head else "#"
    if _demo_url(url):
        run = "ccplate-tui run auth_burst --time-scale 0.05 --start-target   # 15 s, demo target"
    else:
        run = "ccplate-tui run auth_burst --time-scale 0.05   # a 15 s rehearsal against base_url"
    text = f"{_HEADER.format(run=run)}{notes}\n\n{body}"
    text = _SENTRY_BLOCK.sub(lambda _: _SENTRY_STARTER, text, count=1)
    text = _APP_CWD.sub(lambda _: _APP_CWD_STARTER, text)
    text = text.replace(SHIPPED_URL, url)
    if allow_remote and not is_loopback_url(url):
        remote = "allow_remote = true # written by `ccplate-tui init --allow-remote`"
        text = _ALLOW_REMOTE.sub(lambda _: remote, text, count=1)
        # The source now reads the same server, which its own allow_remote must accept too.
        text = _SOURCE_HEADER.sub(lambda match: f"{match.group()}{remote}\n", text, count=1)
    return text


def _demo_url(url: str) -> bool:
    """Whether `run --start-target` can start the demo target there (loopback http, a port)."""
    parts = urlsplit(url)
    return is_loopback_url(url) and parts.scheme == "http" and parts.port is not None


def _next_steps(path: Path, url: str) -> list[str]:
    """What to run next, from the folder the user is in."""
    lines = ["next:"]
    try:
        here = path.parent.resolve() == Path.cwd().resolve()
    except OSError:
        here = False
    if not here:
        lines.append(f"  cd {shlex.quote(str(path.parent))}   # or pass --config {path} to each")
    if _demo_url(url):
        lines += [
            f"  ccplate-tui run {STARTER_SCENARIO} --time-scale 0.05 --start-target"
            "   # 15 s against the demo target",
            f"  ccplate-tui target --port {urlsplit(url).port} &   # keeps it up between runs "
            "(then leave out --start-target)",
        ]
    else:
        lines.append(
            f"  ccplate-tui run {STARTER_SCENARIO} --time-scale 0.05   # 15 s against {url}"
        )
    lines += [
        "  ccplate-tui                    # the dashboard",
        "  ccplate-tui checklist status   # the deploy checklist",
    ]
    if not is_loopback_url(url):
        lines.append(
            "note: [sources.db_cpu] reads the demo target's /metrics at that URL; point it at "
            "your database's metrics (see its comment), or its db_cpu thresholds read NO DATA"
        )
    return lines


def init_command(args: argparse.Namespace) -> int:
    folder = Path(args.dir).expanduser()
    path = folder / CONFIG_NAME
    try:
        url = check_url(args.url, allow_remote=args.allow_remote)
        if folder.exists() and not folder.is_dir():
            raise InitError(f"{folder} is not a folder")
        if (path.exists() or path.is_symlink()) and not args.force:
            raise InitError(
                f"{path.absolute()} already exists; pass --force to overwrite it (or edit it)"
            )
    except InitError as exc:
        print(f"ccplate-tui init: {exc}", file=sys.stderr)
        return EXIT_USAGE
    text = starter_text(url, allow_remote=args.allow_remote)
    try:
        config = parse_config(text, str(path))  # never write a file the tool would refuse
    except ConfigError as exc:  # pragma: no cover - the shipped file is tested
        print(f"ccplate-tui init: the starter does not parse: {exc}", file=sys.stderr)
        return EXIT_ERROR
    try:
        write_atomic(path, text.encode("utf-8"), mode=0o644)
    except OSError as exc:
        print(
            f"ccplate-tui init: cannot write {path.absolute()}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return EXIT_ERROR
    scenarios = len(config.scenarios)
    suites = len(config.suites)
    checklist = (
        f", the deploy checklist ({len(config.checklist.steps())} steps)"
        if config.checklist is not None
        else ""
    )
    print(
        f"wrote {path.absolute()}: {scenarios} scenarios, {suites} "
        f"suite{'s' if suites != 1 else ''}{checklist}; target {url}"
    )
    print("\n".join(_next_steps(path, url)))
    return EXIT_OK
