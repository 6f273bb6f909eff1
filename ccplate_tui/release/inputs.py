"""The verdict's inputs that other commands leave in the state folder: the Sentry checks'
results, the checklist's state file and the run history.

Read, never computed here: the Overview tab and the `verdict` command judge the same files.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ccplate_tui.checklist.model import Checklist
from ccplate_tui.checklist.progress import ChecklistView, build_view
from ccplate_tui.checklist.state import ChecklistStore
from ccplate_tui.history.legacy import open_history
from ccplate_tui.load.run_records import RunRecord, list_runs
from ccplate_tui.release.criteria import ChecklistProgress, SentryCapture
from ccplate_tui.release.evidence import Evidence
from ccplate_tui.release.plan_rows import SentryWiring
from ccplate_tui.sentry.last_results import (
    CAPTURE_FILE,
    COMPATIBILITY_FILE,
    load_result,
    results_dir,
)

log = logging.getLogger(__name__)

WIRED = ("ok", "not_needed")
"""Wiring path statuses that count as reporting."""


@dataclass(frozen=True)
class RunsOnRecord:
    """What the history says about load runs: the newest, the newest complete, one still going."""

    latest: RunRecord | None
    """The newest ended run, complete or cut short."""
    last_complete: RunRecord | None
    """The newest run that finished as planned."""
    running: Evidence | None
    """A run still recording (its process alive), shown beside the last complete one."""


def runs_on_record(state_dir: Path) -> RunsOnRecord:
    """The history's runs as the verdict sees them; a history that cannot be read has none."""
    records = list_runs(state_dir)
    latest = records[0] if records else None
    complete = next((r for r in records if r.stopped is None), None)
    running: Evidence | None = None
    try:
        store = open_history(state_dir, create=False)
        if store is not None:
            with store:
                going = [r for r in store.runs() if r.status == "running"]
            if going:
                run = going[0]
                running = Evidence(
                    "load run",
                    run_id=run.id,
                    started_at=run.started_at,
                    duration=run.elapsed,
                    time_scale=run.time_scale,
                    state="running",
                    rehearsal=run.time_scale < 1.0,
                )
    except OSError as exc:
        log.warning("could not read the run history of %s: %s", state_dir, exc)
    return RunsOnRecord(latest, complete, running)


def sentry_status(state_dir: Path) -> SentryCapture | None:
    """The latest Sentry checks as the verdict sees them; None when the capture check never ran."""
    capture = load_result(state_dir, CAPTURE_FILE)
    if capture is None:
        return None
    delivered = bool(capture.get("delivered"))
    detail = str(capture.get("explanation") or "")
    confirmation = capture.get("confirmation")
    if delivered and isinstance(confirmation, dict) and not confirmation.get("confirmed"):
        delivered = False
        detail = str(confirmation.get("explanation") or "the event was not found in Sentry")
    app, app_detail = _app_status(load_result(state_dir, COMPATIBILITY_FILE))
    event = str(capture.get("event_id") or "")[:12]
    evidence = Evidence(
        "Sentry capture check",
        started_at=_iso_time(capture.get("sent_at")) or _mtime(state_dir, CAPTURE_FILE),
        detail=f"event {event}" if event else "",
    )
    return SentryCapture(delivered, detail, app, app_detail, evidence)  # type: ignore[arg-type]


def _app_status(report: dict[str, Any] | None) -> tuple[str, str]:
    if report is None:
        return "unknown", ""
    verdict = report.get("verdict")
    if verdict in ("upgrade", "unsupported"):
        return "problem", str(report.get("headline") or f"compatibility verdict: {verdict}")
    if report.get("instrumentation_calls_init") is False:
        return "problem", "src/instrumentation.ts does not call the Sentry init"
    if verdict not in ("supported", "partial"):
        return "unknown", ""
    return "ok", ""


def sentry_wiring(state_dir: Path) -> SentryWiring | None:
    """The wiring of the stored compatibility check (`wiring` in its JSON); None when absent."""
    report = load_result(state_dir, COMPATIBILITY_FILE)
    wiring = report.get("wiring") if report else None
    if not isinstance(wiring, Mapping):
        return None
    paths = [p for p in wiring.get("paths") or () if isinstance(p, Mapping)]
    missing = tuple(
        str(p.get("label") or p.get("key")) for p in paths if p.get("status") not in WIRED
    )
    cap = wiring.get("verdict_cap")
    layout = str(wiring.get("layout") or "")
    evidence = Evidence(
        "Sentry compatibility check",
        started_at=_mtime(state_dir, COMPATIBILITY_FILE),
        detail=f"{layout} layout" if layout else "",
    )
    return SentryWiring(
        paths_ok=len(paths) - len(missing),
        paths_total=len(paths),
        missing=missing,
        cap=str(cap) if cap else None,
        evidence=evidence,
    )


def checklist_progress(checklist: Checklist | None, state_dir: Path) -> ChecklistProgress | None:
    """Required steps done out of all of them, from the checklist's state file."""
    if checklist is None:
        return None
    loaded = ChecklistStore(state_dir).load()
    return progress_of(build_view(checklist, loaded.events, problem=loaded.problem))


def progress_of(view: ChecklistView) -> ChecklistProgress:
    """The verdict's view of a checklist: done steps, and the ones done only as a rehearsal."""
    done, total = view.progress()
    rehearsed: list[str] = []
    last: datetime | None = None
    for phase in view.phases:
        for state in phase.steps:
            if state.at is not None and (last is None or state.at > last):
                last = state.at
            scale = _scale(state.evidence)
            if state.status == "passed" and scale is not None and scale < 1.0:
                rehearsed.append(f"{state.step.id} at time scale {scale:g}")
    evidence = Evidence("checklist", started_at=last.timestamp() if last else None)
    return ChecklistProgress(done, total, tuple(rehearsed), evidence, view.problem)


def _scale(evidence: Mapping[str, Any] | None) -> float | None:
    value = evidence.get("time_scale") if isinstance(evidence, Mapping) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _iso_time(value: object) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _mtime(state_dir: Path, name: str) -> float | None:
    try:
        return (results_dir(state_dir) / name).stat().st_mtime
    except OSError:
        return None
