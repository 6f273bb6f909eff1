"""Note changes of the demo target's injected faults in the run's history, as they happen.

Faults are changed from outside the run (`curl -X PATCH …/__admin/faults`, another terminal), so
the run cannot know of them unless it looks: once per interval this observer reads the demo
target's fault settings and annotates the run when they differ from the last reading.

It asks only a target that has named itself the demo: the demo's answers carry `DEMO_HEADER`
(load.reachability), which the workers see in the run's own traffic and the snapshot passes on as
`target_demo`. Until then, and for any other target (a user's own app), it sends nothing at all:
no request the user did not configure reaches a target that is not the embedded demo.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from ccplate_tui.history.recorder import HistoryRecorder
from ccplate_tui.loopback import is_loopback_url

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


def identified_demo(update: object) -> str | None:
    """The demo target's version if this run update says the target named itself the demo."""
    snapshot = getattr(update, "snapshot", None)
    version = getattr(snapshot, "target_demo", None)
    return version if isinstance(version, str) and version else None


class FaultNotes:
    """An engine observer: annotates the run when the demo target's faults change."""

    def __init__(
        self,
        recorder: HistoryRecorder,
        base_url: str,
        timeout: float = 0.5,
        started_demo: bool = False,
    ) -> None:
        """`started_demo`: the caller started the demo at `base_url` itself (the dashboard's
        auto-start, `run --start-target`), so it is known without its traffic (k6 runs too)."""
        self.recorder = recorder
        self.url = base_url.rstrip("/") + ADMIN_PATH
        self.timeout = timeout
        self.enabled = is_loopback_url(base_url)  # never ask a remote target's admin path
        """False for a remote target: its admin path is never asked, demo or not."""
        self.demo: str | None = "started here" if started_demo else None
        """The demo's version once the run's traffic identified it; nothing is asked before."""
        self.last: dict[str, Any] | None = None

    def __call__(self, update: object) -> None:
        if not self.enabled:
            return
        if self.demo is None:
            self.demo = identified_demo(update)
            if self.demo is None:
                return  # not (yet) known to be the demo: ask nothing
        current = self._read()
        if current is None:
            return  # the demo is busy or faulted: try again next interval
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
            # Loopback only, so never through a proxy from the environment.
            response = httpx.get(self.url, timeout=self.timeout, trust_env=False)
            data = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None
        return data if isinstance(data, dict) else None
