"""Run a scenarios.toml text through the real engine (worker processes, real HTTP)."""

from __future__ import annotations

from ccplate_tui.config.loader import parse_config
from ccplate_tui.load.engine import LoadRun, RunUpdate, resolve_plan
from ccplate_tui.load.results import RunResult


def run_toml(
    text: str,
    names: list[str] | None = None,
    *,
    workers: int = 1,
    updates: list[RunUpdate] | None = None,
) -> RunResult:
    config = parse_config(text, "test.toml")
    run = LoadRun(config, resolve_plan(config, names or []), workers=workers)
    if updates is not None:
        run.observers.append(updates.append)
    return run.run()
