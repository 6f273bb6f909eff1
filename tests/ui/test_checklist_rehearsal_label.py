"""A rehearsed timer says so in the checklist tab's status column, not plain "passed"."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ccplate_tui.checklist.operations import begin_step, finish_step
from ccplate_tui.checklist.outcome import StepOutcome
from ccplate_tui.checklist.progress import build_view
from ccplate_tui.checklist.state import ChecklistStore
from ccplate_tui.config.loader import load_config
from ccplate_tui.ui.widgets.checklist_text import status_text

CONFIG = """
[target]
base_url = "http://127.0.0.1:9"

[scenarios.smoke]
executor = "shared-iterations"
requests = [{ path = "/api/health" }]

[[checklist.phases]]
id = "watch"
title = "Watch"

[[checklist.phases.steps]]
id = "monitor"
title = "Monitor 30 min"
kind = "timer"
duration = "30m"
probes = [{ url = "http://127.0.0.1:9/api/health" }]

[[checklist.phases.steps]]
id = "again"
title = "Monitor again"
kind = "timer"
duration = "30m"
probes = [{ url = "http://127.0.0.1:9/api/health" }]
"""


def test_a_rehearsed_pass_shows_its_time_scale(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.toml"
    path.write_text(CONFIG, "utf-8")
    checklist = load_config(path).checklist
    store = ChecklistStore(tmp_path)
    rehearsed = StepOutcome("passed", "60 rounds ok", {"probes_run": 60, "time_scale": 0.01})
    for step, outcome in (("monitor", rehearsed), ("again", StepOutcome("passed", "ok", {}))):
        begin_step(store, checklist, step, "alice")
        finish_step(store, checklist, step, "alice", outcome)
    view = build_view(checklist, store.load().events)
    now = datetime.now(UTC)
    assert status_text(view.step("monitor"), now).plain == "passed ×0.01"
    assert status_text(view.step("again"), now).plain == "passed"
