"""Helpers for the Checklist tab tests: small checklists, fixed events, a host app with a footer.

The snapshot state is a list of events with fixed timestamps, stored and read back through the
state file's own `render` / `parse`, so the tab draws exactly what a real state file would give.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import Footer

from ccplate_tui.checklist.model import Checklist, step_fingerprint
from ccplate_tui.checklist.progress import ChecklistView, build_view
from ccplate_tui.checklist.state import Event, parse, render
from ccplate_tui.config.loader import parse_config
from ccplate_tui.config.model import Config
from ccplate_tui.ui.app import CcplateApp
from ccplate_tui.ui.checklist_pane import ChecklistPane
from ccplate_tui.ui.themes import DEFAULT_THEME, PACKAGED_THEMES_DIR, load_theme_file

SCENARIO = """
[scenarios.smoke]
executor = "constant-vus"
vus = 1
duration = "1s"

[[scenarios.smoke.requests]]
name = "health"
path = "/api/health"
"""
"""The loader wants one scenario; the checklist's load step names it."""

SNAPSHOT_CHECKLIST = """
[checklist]
title = "Release 2.4 production deploy"

[[checklist.phases]]
id = "pre"
title = "Pre-deploy verification"

[[checklist.phases.steps]]
id = "audit"
title = "Security audit reviewed (audit-compliance --full)"
kind = "manual"
approvers = ["*"]
help = "Run the audit and note the grade (target A, 95%+). A second person signs off."

[[checklist.phases.steps]]
id = "unit_tests"
title = "All tests passing (npm test)"
kind = "command"
argv = ["npm", "test"]
cwd = "examples/ccplate-app"
timeout = "10m"
help = "The app's whole test suite; exit 0 passes."

[[checklist.phases.steps]]
id = "health"
title = "Health check endpoint responding"
kind = "http"
url = "${base_url}/api/health"
body_contains = "ok"
timeout = "5s"

[[checklist.phases.steps]]
id = "sentry"
title = "Sentry DSN configured, test error captured"
kind = "sentry"

[[checklist.phases.steps]]
id = "rollback_tag"
title = "Previous deployment tagged for rollback"
kind = "manual"
approvers = ["bob", "carol"]

[[checklist.phases]]
id = "staging"
title = "Staging deploy"

[[checklist.phases.steps]]
id = "deploy_staging"
title = "Deploy to staging"
kind = "command"
argv = ["vercel", "deploy", "--target=staging"]

[[checklist.phases.steps]]
id = "watch"
title = "Monitor error rates for 30 min"
kind = "timer"
duration = "30m"
every = "30s"
probes = [{ url = "${base_url}/api/health", expect_status = [200], timeout = "5s" }]

[[checklist.phases.steps]]
id = "baseline"
title = "Load test baseline checked"
kind = "load"
scenario = "smoke"
max_age = "168h"

[[checklist.phases]]
id = "post"
title = "Post-deploy validation"

[[checklist.phases.steps]]
id = "post_health"
title = "Production health check"
kind = "http"
url = "${base_url}/api/health"

[[checklist.phases.steps]]
id = "analytics"
title = "Analytics: builder events logging"
kind = "manual"

[[checklist.phases]]
id = "rollback"
title = "Rollback plan"
gate = "advisory"

[[checklist.phases.steps]]
id = "rollback_script"
title = "Rollback script rehearsed (< 5 min)"
kind = "manual"
required = false
"""

BASE_URL = "http://127.0.0.1:8787"
NOW = datetime(2026, 11, 27, 4, 40, tzinfo=UTC)
"""The snapshots' clock: every event is before it, a timer window is open at it."""


def snapshot_config(path: str = "/srv/ccplate/scenarios.toml") -> Config:
    return parse_config(f'[target]\nbase_url = "{BASE_URL}"\n{SCENARIO}{SNAPSHOT_CHECKLIST}', path)


def at(minute: int, second: int = 0) -> datetime:
    """04:MM:SS on the snapshots' day."""
    return NOW.replace(minute=minute, second=second)


class Events:
    """Builds stored events for a checklist with fixed times (as the store would write them)."""

    def __init__(self, checklist: Checklist) -> None:
        self.checklist = checklist
        self.events: list[Event] = []

    def add(
        self, minute: int, who: str, action: str, step: str | None = None, **fields: Any
    ) -> Events:
        phase = fields.pop("phase", None)
        if step is not None:
            definition = self.checklist.step(step)
            phase = definition.phase
            fields.setdefault("fingerprint", step_fingerprint(definition))
        self.events.append(
            Event(
                seq=len(self.events) + 1,
                at=at(minute, fields.pop("second", 0)),
                who=who,
                action=action,  # type: ignore[arg-type]
                phase=phase,
                step=step,
                checklist=self.checklist.digest,
                **fields,
            )
        )
        return self

    def redefine(self, step: str) -> Events:
        """Make `step`'s events look recorded for an older definition (edited in the config)."""
        self.events = [
            replace(e, fingerprint="0123456789abcdef") if e.step == step else e for e in self.events
        ]
        return self

    def stored(self) -> tuple[Event, ...]:
        """The events as written to and read back from a state file."""
        return parse(render(self.events))

    def view(
        self, *, alive: Callable[[int, float], bool] = lambda pid, started: True, **kw: Any
    ) -> ChecklistView:
        return build_view(self.checklist, self.stored(), now=NOW, alive=alive, **kw)


FAILED_OUTPUT = "\n".join(
    [
        "> ccplate-app@2.4.0 test",
        "> vitest run",
        "",
        " ✓ src/lib/auth.test.ts (12 tests) 41ms",
        " ✓ src/lib/billing.test.ts (9 tests) 63ms",
        " ✓ src/app/api/health/route.test.ts (2 tests) 8ms",
        " ✗ src/app/builder/save.test.ts (6 tests | 1 failed) 118ms",
        "   × saves a draft with a token=*** header",
        "     AssertionError: expected 500 to be 201",
        "       at src/app/builder/save.test.ts:48:23",
        "",
        " Test Files  1 failed | 3 passed (4)",
        "      Tests  1 failed | 28 passed (29)",
        "   Duration  2.31s",
    ]
)


def walked_events(checklist: Checklist) -> Events:
    """Half-way through the walk: a failed command, an override, a watch window running."""
    e = Events(checklist)
    e.add(2, "alice", "ticked", "audit", note="graded A (96%), report in SEC-112")
    e.add(5, "bob", "approved", "audit")
    e.add(6, "alice", "started", "unit_tests", pid=4242, pid_started=1.0)
    output = FAILED_OUTPUT
    e.add(
        7,
        "alice",
        "failed",
        "unit_tests",
        evidence={
            "summary": "exit 1 in 48 s",
            "reason": "exit 1 in 48 s",
            "argv": ["npm", "test"],
            "shell": False,
            "cwd": "/srv/ccplate/examples/ccplate-app",
            "exit_code": 1,
            "duration_s": 48.2,
            "output": output,
            "lines": 14,
            "truncated": False,
        },
    )
    e.add(8, "alice", "noted", "unit_tests", note="flaky save test, INC-88; green on CI rerun")
    e.add(9, "alice", "started", "health", pid=4242, pid_started=1.0)
    e.add(
        9,
        "alice",
        "passed",
        "health",
        second=1,
        evidence={
            "summary": "HTTP 200 in 12 ms, body has 'ok'",
            "method": "GET",
            "url": f"{BASE_URL}/api/health",
            "expected": "status 200; body contains 'ok'",
            "status": 200,
            "elapsed_ms": 12.4,
            "body_excerpt": '{"status":"ok","uptime_s":8113}',
        },
    )
    e.add(10, "alice", "started", "sentry", pid=4242, pid_started=1.0)
    e.add(
        10,
        "alice",
        "passed",
        "sentry",
        second=2,
        evidence={
            "summary": "delivered: event 4f2c9a1e (HTTP 200)",
            "check": "capture",
            "event_id": "4f2c9a1e0b7d4c2a9e3f5a6b7c8d9e0f",
            "status": 200,
            "delivered": True,
        },
    )
    e.add(12, "alice", "ticked", "rollback_tag", note="tag v2.3.9 on 7c1e2d0")
    e.add(
        15,
        "alice",
        "overridden",
        phase="staging",
        reason="save test is flaky (INC-88); CI rerun green, build #4821",
        evidence={"blocked_by": ["unit_tests", "rollback_tag"]},
    )
    e.add(16, "alice", "started", "deploy_staging", pid=4242, pid_started=1.0)
    e.add(
        19,
        "alice",
        "passed",
        "deploy_staging",
        evidence={
            "summary": "exit 0 in 2 min 41 s",
            "argv": ["vercel", "deploy", "--target=staging"],
            "exit_code": 0,
            "duration_s": 161.0,
            "output": "Deploying ccplate-app to staging\nReady: https://ccplate-staging.vercel.app",
            "lines": 2,
        },
    )
    e.add(30, "alice", "started", "watch", pid=4242, pid_started=1.0)
    e.add(
        31,
        "alice",
        "watch",
        "watch",
        evidence={"rounds": 3, "probes_run": 3, "left_s": 1740.0, "window_s": 1800.0},
    )
    return e


class ChecklistHost(App[None]):
    """The Checklist pane full screen with the footer (its keys), themed like the dashboard,
    with the dashboard's size classes (`Screen.-narrow` stacks the detail under the steps)."""

    HORIZONTAL_BREAKPOINTS = CcplateApp.HORIZONTAL_BREAKPOINTS
    VERTICAL_BREAKPOINTS = CcplateApp.VERTICAL_BREAKPOINTS

    def __init__(self, pane: ChecklistPane, theme: str = DEFAULT_THEME) -> None:
        super().__init__()
        self.pane = pane
        self.register_theme(load_theme_file(PACKAGED_THEMES_DIR / f"{theme}.toml"))
        self.theme = theme

    def compose(self) -> ComposeResult:
        yield self.pane
        yield Footer()

    def on_mount(self) -> None:
        self.pane.focus()


# -- live app tests


def write_checklist_config(folder: Path, base_url: str, checklist: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scenarios.toml"
    path.write_text(f'[target]\nbase_url = "{base_url}"\n{SCENARIO}{checklist}', encoding="utf-8")
    return path
