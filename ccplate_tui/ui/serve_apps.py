"""The dashboard processes `serve` starts, one per browser tab, and how each one ends.

textual-serve runs each tab's app through a shell it never ends; here each app is exec'd (no
shell) in its own process group, told to quit when its websocket closes, then SIGTERMed and
SIGKILLed by group if it does not go, and every one is ended when `serve` shuts down. The app
also ends itself if `serve` dies (`ui/web_driver.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Sequence

from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager
from textual_serve.server import to_int

from ccplate_tui.process_lifetime import OWNER_ENV, parent_death_hook

log = logging.getLogger("ccplate-tui.serve")

DRIVER = "ccplate_tui.ui.web_driver:DashboardWebDriver"
QUIT_GRACE = 5.0
"""Seconds an app gets to quit by itself (abort its run, record it) before SIGTERM."""
TERM_GRACE = 3.0
"""Seconds between SIGTERM and SIGKILL of an app's process group."""


class DashboardAppService(AppService):
    """One tab's dashboard process: exec'd, in its own process group, always ended."""

    def __init__(self, argv: Sequence[str], **kwargs: object) -> None:
        super().__init__(" ".join(argv), **kwargs)  # type: ignore[arg-type]
        self.argv = tuple(argv)
        self._stopping: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width, height)
        environment["TEXTUAL_DRIVER"] = DRIVER
        environment[OWNER_ENV] = str(os.getpid())
        return environment

    async def _open_app_process(
        self, width: int = 80, height: int = 24
    ) -> asyncio.subprocess.Process:
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width, height),
            process_group=0,
            # SIGTERM, not SIGKILL: the app then records its interrupted run before it goes.
            preexec_fn=parent_death_hook(signal.SIGTERM),  # serve's main thread outlives it
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def stop(self) -> None:
        """Quit the app; SIGTERM, then SIGKILL, its process group if it does not go in time."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop())
        await asyncio.shield(self._stopping)

    async def _stop(self) -> None:
        process = self._process
        if process is None:
            return
        with contextlib.suppress(Exception):
            await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
        if process.returncode is None:
            await self.send_meta({"type": "quit"})
            with contextlib.suppress(Exception):
                self.stdin.close()  # end-of-file: a second way for the app to learn it must go
        for sig, grace in (
            (None, QUIT_GRACE),
            (signal.SIGTERM, TERM_GRACE),
            (signal.SIGKILL, None),
        ):
            if sig is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, sig)
            try:
                await asyncio.wait_for(process.wait(), grace)
                break
            except TimeoutError:
                log.warning("dashboard pid %s did not end within %.0f s", process.pid, grace)
        # The app's group may outlive its leader (a worker it started): end the rest now.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        if self._task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._task, TERM_GRACE)
            self._task = None
        with contextlib.suppress(Exception):
            await self.remote_close()


class AppProcesses:
    """Every tab's app, so `serve` can end them all when it shuts down."""

    def __init__(self, argv: Sequence[str], download_manager: DownloadManager) -> None:
        self.argv = tuple(argv)
        self.download_manager = download_manager
        self.services: set[DashboardAppService] = set()

    async def handle_websocket(
        self, request: web.Request, process_messages
    ) -> web.WebSocketResponse:  # type: ignore[no-untyped-def]
        """A tab's websocket: start its app, relay until either side goes, then end the app."""
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        service: DashboardAppService | None = None
        try:
            await websocket.prepare(request)
            service = DashboardAppService(
                self.argv,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
            )
            self.services.add(service)
            await service.start(width, height)
            await process_messages(websocket, service)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await websocket.close()
        except Exception as error:
            log.exception(error)
        finally:
            if service is not None:
                await service.stop()
                self.services.discard(service)
        return websocket

    async def stop_all(self) -> None:
        """End every app (quit, SIGTERM, SIGKILL), all at once."""
        await asyncio.gather(*(s.stop() for s in list(self.services)), return_exceptions=True)
