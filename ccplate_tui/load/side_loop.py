"""An asyncio loop on a thread of its own beside a run, for the coordinator's side work (metric
sources, availability probes): never in the workers, so the traffic's hot path pays nothing."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any


class SideLoop:
    """Runs one coroutine on a daemon thread with its own event loop until it ends or is stopped."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._ready = threading.Event()
        self.stopping = threading.Event()
        """Set by `stop`: the coroutine's loops end at their next turn. Cancelling alone is not
        enough on Python 3.11, where `asyncio.wait_for` can swallow a cancellation that
        arrives as its inner await completes, leaving a probe loop running for good."""

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, main: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """Run `main()` on the thread; returns once it is scheduled (at most 5 s)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, args=(main,), name=self.name, daemon=True)
        self._thread.start()
        self._ready.wait(5.0)

    def stop(self, grace: float) -> None:
        """Cancel the coroutine (what it awaits is abandoned) and wait up to `grace` seconds."""
        self.stopping.set()
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        if self._thread is not None:
            self._thread.join(grace)

    def _run(self, main: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._task = loop.create_task(main())
            self._ready.set()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(self._task)
        finally:
            self._ready.set()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
