"""Helpers for the app-shell tests: a demo target on a free loopback port, configs, waiting.

Import the fixtures into a test module (`from tests.ui.app_fixtures import demo_target`); the
project keeps no conftest.py.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from textual.command import Command, CommandList, CommandPalette
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets import Input

from ccplate_tui.config.loader import load_config
from ccplate_tui.target.server import start_target_process, stop_target_process
from ccplate_tui.ui.app import CcplateApp

SIZE = (140, 45)
"""Terminal size of every app test."""

QUICK_RUN = """
[options]
interval = "500ms"

[scenarios.quick]
description = "two VUs for two seconds"
executor = "constant-vus"
vus = 2
duration = "2s"
gracefulStop = "1s"
think_time = "20ms"
thresholds = { http_req_duration = ["p(95)<5000"], http_req_failed = ["rate<0.5"] }

[[scenarios.quick.requests]]
name = "health"
path = "/api/health"

[scenarios.long]
description = "keeps running until stopped (bounded at 60s)"
executor = "constant-vus"
vus = 1
duration = "60s"
gracefulStop = "1s"
think_time = "50ms"

[[scenarios.long.requests]]
name = "health"
path = "/api/health"

[suites.both]
scenarios = ["quick"]
"""
"""Scenarios against the demo target: `quick` ends by itself in ~2 s, `long` needs a stop."""


@pytest.fixture(scope="module")
def demo_target() -> Iterator[str]:
    """The demo target on a free loopback port, for the whole module; yields its base URL."""
    proc, url = start_target_process(port=0)
    try:
        yield url
    finally:
        stop_target_process(proc)


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(folder: Path, base_url: str, body: str = QUICK_RUN) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scenarios.toml"
    path.write_text(f'[target]\nbase_url = "{base_url}"\n{body}', encoding="utf-8")
    return path


def make_app(config_path: Path, **options: object) -> CcplateApp:
    """A dashboard on `config_path` with its state folder beside it and one engine worker."""
    options.setdefault("workers", 1)
    options.setdefault("state_dir", config_path.parent / "state")
    return CcplateApp(load_config(config_path), **options)  # type: ignore[arg-type]


async def wait_for(
    pilot: Pilot, condition: Callable[[], object], timeout: float = 20.0, what: str = ""
) -> None:
    """Let the app run until `condition()` is true; fail after `timeout` seconds (generous)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what or condition}")
        await pilot.pause(0.05)


async def choose_in_palette(pilot: Pilot, command: str, timeout: float = 20.0) -> None:
    """Type `command` into the open command palette, then press enter once the palette's search
    (asynchronous) has it highlighted: not after a guessed pause; fails after `timeout` s."""
    await pilot.press(*command)

    def offered() -> bool:
        palette = pilot.app.screen
        if not isinstance(palette, CommandPalette) or palette.query_one(Input).value != command:
            return False
        commands = palette.query_one(CommandList)
        if commands.highlighted is None:
            return False
        option = commands.get_option_at_index(commands.highlighted)
        return isinstance(option, Command) and option.hit.text == command

    await wait_for(pilot, offered, timeout, what=f"the palette to highlight {command!r}")
    await pilot.press("enter")


class MessageLog:
    """A `message_hook` that records every message's class name, in order."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def __call__(self, message: Message) -> None:
        self.messages.append(message)

    def names(self) -> list[str]:
        return [type(m).__name__ for m in self.messages]

    def of(self, kind: type) -> list:
        return [m for m in self.messages if isinstance(m, kind)]

    def notices(self) -> list[str]:
        """The texts of every notification the app posted."""
        return [m.notification.message for m in self.messages if isinstance(m, Notify)]


def child_pids() -> set[int]:
    """Every live (non-zombie) descendant process of this test process."""
    pids = set()
    for child in psutil.Process(os.getpid()).children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                pids.add(child.pid)
        except psutil.NoSuchProcess:
            pass
    return pids


async def no_new_children(before: set[int], timeout: float = 10.0) -> set[int]:
    """Wait until no process beyond `before` is alive; returns the leftovers (empty when clean)."""
    deadline = time.monotonic() + timeout
    while (extra := child_pids() - before) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return extra
