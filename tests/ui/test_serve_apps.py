"""How `serve` ends a tab's app: quit (and stdin closed), then SIGTERM, then SIGKILL, by group.

Real processes stand in for the dashboard: one that leaves when its stdin closes, and one that
ignores SIGTERM and has a child of its own, so only the SIGKILL of its group can end them.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap

import psutil
import pytest
from textual_serve.download_manager import DownloadManager

from ccplate_tui.ui import serve_apps
from ccplate_tui.ui.serve_apps import DashboardAppService

_POLITE = textwrap.dedent(
    """
    import sys
    print("__GANGLION__", flush=True)
    sys.stdin.buffer.read()  # returns at end-of-file: serve closed our stdin
    """
)

_STUBBORN = textwrap.dedent(
    """
    import signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    print("__GANGLION__", flush=True)
    print(child.pid, file=sys.stderr, flush=True)
    while True:
        time.sleep(1)
    """
)


async def _discard(_data: object) -> None:
    pass


async def _nothing() -> None:
    pass


def _service(code: str) -> DashboardAppService:
    return DashboardAppService(
        [sys.executable, "-c", code],
        write_bytes=_discard,
        write_str=_discard,
        close=_nothing,
        download_manager=DownloadManager(),
    )


async def test_an_app_that_leaves_on_quit_is_not_signalled() -> None:
    service = _service(_POLITE)
    await service.start(80, 24)
    await service.stop()
    assert service._process is not None
    assert service._process.returncode == 0


async def test_an_app_that_ignores_sigterm_is_killed_with_its_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(serve_apps, "QUIT_GRACE", 0.5)
    monkeypatch.setattr(serve_apps, "TERM_GRACE", 0.5)
    service = _service(_STUBBORN)
    await service.start(80, 24)
    process = service._process
    assert process is not None
    app = psutil.Process(process.pid)
    children = []
    for _ in range(600):  # the app starts its child before it prints the prelude
        children = app.children()
        if children:
            break
        await asyncio.sleep(0.05)
    assert children, "the stand-in app never started its child"
    await service.stop()
    assert process.returncode == -9, "only SIGKILL ends an app that ignores quit and SIGTERM"
    _gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, "the app's child outlived the kill of its group"
