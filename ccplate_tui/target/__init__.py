"""The embedded demo CCPLATE API (aiohttp.web + SQLite) with fault injection, for load tests."""

from ccplate_tui.target.app import build_app
from ccplate_tui.target.faults import Faults, parse_faults
from ccplate_tui.target.server import (
    running_target,
    serve,
    start_target_process,
    stop_target_process,
)

__all__ = [
    "Faults",
    "build_app",
    "parse_faults",
    "running_target",
    "serve",
    "start_target_process",
    "stop_target_process",
]
