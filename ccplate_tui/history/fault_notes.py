"""Note changes of the demo target's injected faults in the run's history, as they happen.

Faults are changed from outside the run (`curl -X PATCH …/__admin/faults`, another terminal), so
the run cannot know of them unless it looks: once per interval this observer reads the demo
target's fault settings and annotates the run when they differ from the last reading. Targets
that are not the demo target (no `/__admin/faults`) are asked once, then left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from ccplate_tui.history.recorder import HistoryRecorder
from ccplate_tui.load.safety import is_loopback_url

ADMIN_PATH = "/__admin/faults"
_QUIET = {"error_rate": 0.0, "drop_rate": 0.0, "reset_rate": 0.0, "garbage_rate": 0.0}


def describe_faults(faults: Mapping[str, Any]) -> str:
    """`latency=20ms, error_rate=0.1`, or `none` — only what is switched on."""
    parts = []
    for key, value in faults.items():
        if key in ("active",) or value in (None, [], "0s") or _QUIET.get(key) == value:
            continue
        parts.append(f"{key}={value}")
    return ", ".join(parts) or "none"


class FaultNotes:
    """An engine observer: annotates the run when the demo target's faults change."""

    def __init__(self, recorder: HistoryRecorder, base_url: str, timeout: float = 0.5) -> None:
        self.recorder = recorder
        self.url = base_url.rstrip("/") + ADMIN_PATH
        self.timeout = timeout
        self.enabled = is_loopback_url(base_url)  # never ask a remote target's admin path
        self.last: dict[str, Any] | None = None

    def __call__(self, update: object) -> None:
        if not self.enabled:
            return
        current = self._read()
        if current is None:
            if self.last is None:
                self.enabled = False  # not the demo target: do not ask again
            return
        if self.last is None:
            if describe_faults(current) != "none":
                self.recorder.annotate("fault", f"faults at start: {describe_faults(current)}")
        elif current != self.last:
            self.recorder.annotate(
                "fault",
                f"faults changed: {describe_faults(self.last)} -> {describe_faults(current)}",
            )
        self.last = current

    def _read(self) -> dict[str, Any] | None:
        try:
            response = httpx.get(self.url, timeout=self.timeout)
            data = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None
        return data if isinstance(data, dict) else None
