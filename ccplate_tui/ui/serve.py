"""`ccplate-tui serve`: the dashboard in a browser, through textual-serve.

textual-serve starts one dashboard process per browser tab. They share one run registry (the
state folder beside the config), so a tab opened during a run watches that run instead of
starting a second load generator. Anyone who can reach the page can start load, hence loopback
by default and an explicit flag for anything else.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import shlex
import signal
import sys
from pathlib import Path
from typing import Any

from ccplate_tui.config.errors import ConfigError
from ccplate_tui.config.loader import load_config
from ccplate_tui.exit_codes import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from ccplate_tui.loopback import is_loopback_host

DEFAULT_PORT = 8000


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    # Not 0: textual-serve writes the port into the page's websocket URL before it binds.
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port between 1 and 65535, got {port}")
    return port


def add_serve_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `serve` on the main CLI's sub-parsers, with func=serve_command."""
    parser = subparsers.add_parser(
        "serve",
        help="serve the dashboard in a browser (textual-serve), on 127.0.0.1 by default",
        description="Serve the dashboard for browsers: each tab runs its own dashboard, and all "
        "of them share one load run (a run started in any tab or terminal is shown, never "
        "duplicated).",
    )
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--config",
        default="scenarios.toml",
        metavar="FILE",
        help="scenarios file (default: scenarios.toml)",
    )
    parser.add_argument("--theme", metavar="NAME", help="dashboard theme for every tab")
    parser.add_argument(
        "--state",
        metavar="DIR",
        help="state folder shared by the tabs (default: .ccplate/ beside the config)",
    )
    parser.add_argument(
        "--allow-remote-bind",
        action="store_true",
        help="allow a non-loopback --host: whoever reaches the page can start load runs",
    )
    parser.set_defaults(func=serve_command)


def dashboard_argv(config: Path, theme: str | None = None, state: Path | None = None) -> list[str]:
    """The argv each tab's dashboard is exec'd with: this Python, this package, the options."""
    argv = [sys.executable, "-m", "ccplate_tui", "--config", str(config)]
    if theme:
        argv += ["--theme", theme]
    if state is not None:
        argv += ["--state", str(state)]
    return argv


def _error(message: str) -> int:
    print(f"ccplate-tui serve: error: {message}", file=sys.stderr, flush=True)
    return EXIT_USAGE


def serve_command(args: argparse.Namespace) -> int:
    """The `serve` sub-command: validate, then serve until Ctrl+C or SIGTERM."""
    if not args.allow_remote_bind and not is_loopback_host(args.host):
        return _error(
            f"--host: refusing to bind {args.host!r}, which is not a loopback address: anyone "
            "who reaches the page can start a load run. Pass --allow-remote-bind if you mean it."
        )
    # Check the config once here, so a bad file is one clear message, not a crash per tab.
    try:
        target = load_config(args.config).target.base_url
    except ConfigError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        return EXIT_USAGE
    config = Path(args.config).resolve()  # tabs must not depend on the server's cwd
    state = Path(args.state).resolve() if args.state else None
    argv = dashboard_argv(config, args.theme, state)
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{args.port}"
    try:
        _serve(argv, args.host, args.port, url, target)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(
                f"ccplate-tui serve: error: port {args.port} on {args.host} is already in use; "
                "stop the other process or pick another port with --port",
                file=sys.stderr,
                flush=True,
            )
        else:
            print(
                f"ccplate-tui serve: error: cannot listen on {args.host}:{args.port}: "
                f"{exc.strerror or exc}",
                file=sys.stderr,
                flush=True,
            )
        return EXIT_ERROR
    return EXIT_OK


def _serve(argv: list[str], host: str, port: int, url: str, target: str | None = None) -> None:
    """Run textual-serve's server, announcing the URL only once the socket is bound."""
    from aiohttp import web
    from textual_serve.server import Server

    from ccplate_tui.ui import serve_page
    from ccplate_tui.ui.serve_apps import AppProcesses

    class DashboardServer(Server):
        async def handle_index(self, request: web.Request) -> web.Response:
            return await serve_page.render_index(request, self.title)

        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            serve_page.add_page_routes(app)
            return app

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.apps = AppProcesses(argv, self.download_manager)

        async def on_startup(self, app: web.Application) -> None:
            pass  # textual-serve prints a banner here, before binding; we announce after

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            return await self.apps.handle_websocket(request, self._process_messages)

        async def on_shutdown(self, app: web.Application) -> None:
            await self.apps.stop_all()

    server = DashboardServer(
        shlex.join(argv),
        host=host,
        port=port,
        title=serve_page.page_title(target),
        public_url=url,
        templates_path=serve_page.TEMPLATES,
    )
    server.initialize_logging()

    def announce(*_: object) -> None:
        # aiohttp calls this once every site is listening.
        print(f"ccplate-tui dashboard: {url}", flush=True)
        print(
            "each browser tab runs its own dashboard; a load run started anywhere is shared, "
            "not duplicated. Press Ctrl+C to stop.",
            flush=True,
        )

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.add_signal_handler(signal.SIGINT, server.request_exit)
    loop.add_signal_handler(signal.SIGTERM, server.request_exit)
    loop.add_signal_handler(signal.SIGHUP, server.request_exit)  # its terminal closed
    try:
        web.run_app(
            server._make_app(),
            host=host,
            port=port,
            handle_signals=False,
            loop=loop,
            print=announce,
        )
    finally:
        if not loop.is_closed():
            loop.close()
