"""The dashboard's driver under `serve`: Textual's web driver that always ends when told to.

Three things end a served dashboard: textual-serve's "quit" (its tab closed), its stdin reaching
end-of-file, and its parent (`serve`) changing; plus SIGTERM/SIGINT/SIGHUP, and output nobody
reads any more (`serve` died: the write fails with EPIPE). Each asks the app to
exit once it has mounted, because an exit requested before mount leaves Textual 8.2 repainting
forever (see the README's notes), and a last-resort timer ends the process if the app cannot.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from typing import Any

from textual import messages
from textual.drivers.web_driver import WebDriver

from ccplate_tui.process_lifetime import EXIT_ORPHANED, owner_from_env, watch_owner

EXIT_DEADLINE = 8.0
"""Seconds from an exit request to a hard exit: a run is aborted and recorded well within it."""

_READY_POLL = 0.05


class DashboardWebDriver(WebDriver):
    """WebDriver whose every way of ending reaches the app, mounted or not."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._exit_requested = threading.Lock()
        self.exit_reason: str | None = None
        self._write = self._write_or_exit  # every frame and meta packet goes through _write
        owner = owner_from_env()
        if owner is not None:
            watch_owner(owner, lambda: self.request_exit("serve is gone"))

    def _write_or_exit(self, data: bytes) -> None:
        """Write to `serve`; once nobody reads (serve died: EPIPE), drop the output and exit.

        Raised into Textual, the BrokenPipeError of a screen refresh is a fatal error whose
        shutdown skips the app's unmount: its load run would go on until the hard deadline.
        """
        try:
            os.write(self.fileno, data)
        except OSError:
            self.request_exit("serve is gone (its end of the output closed)")

    def start_application_mode(self) -> None:
        super().start_application_mode()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, self.request_exit, signal.Signals(sig).name)

    def run_input_thread(self) -> None:
        super().run_input_thread()
        if not self.exit_event.is_set():
            self.request_exit("stdin closed")

    def on_meta(self, packet_type: str, payload: dict[str, object]) -> None:
        if packet_type == "quit":
            self.request_exit("the browser tab closed")
        else:
            super().on_meta(packet_type, payload)

    def request_exit(self, reason: str) -> None:
        """Exit the app as soon as it has mounted; exit the process after EXIT_DEADLINE."""
        if not self._exit_requested.acquire(blocking=False):
            return
        self.exit_reason = reason
        threading.Thread(target=self._exit_when_ready, name="exit-when-ready", daemon=True).start()

    def _exit_when_ready(self) -> None:
        deadline = time.monotonic() + EXIT_DEADLINE
        # `_dom_ready` is set with the first layout (Textual pinned at 8.2.8).
        while not getattr(self._app, "_dom_ready", True) and time.monotonic() < deadline:
            time.sleep(_READY_POLL)
        self._app.post_message(messages.ExitApp())
        time.sleep(max(0.0, deadline - time.monotonic()))
        os._exit(EXIT_ORPHANED)
