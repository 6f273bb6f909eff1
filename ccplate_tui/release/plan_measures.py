"""The measurements behind the plan rows a load run's own numbers cannot give: availability from
health probes, database load from the `db_cpu` source, error capture from Sentry counts.

Read from what runs, drills and the checklist left in the state folder, never measured here: the
Overview tab and the `verdict` command judge the same files. Core module: no Textual here.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ccplate_tui.checklist.model import Checklist
from ccplate_tui.checklist.probe_counts import ChecklistProbes, checklist_probes
from ccplate_tui.checklist.progress import build_view
from ccplate_tui.checklist.state import ChecklistStore, StateError
from ccplate_tui.history.legacy import open_history
from ccplate_tui.history.store import HistoryStore
from ccplate_tui.load.probe_tally import truncated_percent
from ccplate_tui.load.run_records import RunRecord
from ccplate_tui.load.units_format import go_duration
from ccplate_tui.release.evidence import Evidence
from ccplate_tui.release.plan_rows import Measurement, PlanMeasures
from ccplate_tui.sentry.capture_count import CaptureCount
from ccplate_tui.sentry.capture_drill import last_drill

log = logging.getLogger(__name__)

DB_CPU_SOURCE = "db_cpu"
"""The metric source (`[sources.db_cpu]`) whose peak over a run is the plan's database load."""


def plan_measures(
    state_dir: Path, run: RunRecord | None, checklist: Checklist | None = None
) -> PlanMeasures:
    """Availability, database load and error capture for `run` (and the checklist's probes),
    where something recorded them; a row nothing measured stays None."""
    probes = _checklist_probes(checklist, state_dir)
    run_capture: CaptureCount | None = None
    database = availability = None
    probe_total: tuple[int, int] | None = None
    if run is not None:
        try:
            store = open_history(state_dir, create=False)
            if store is not None:
                with store:
                    database = _db_cpu(store, run)
                    probe_total = _run_probes(store, run)
                    run_capture = _run_capture(store, run)
        except OSError as exc:
            log.warning("could not read run %s from the history: %s", run.run_id, exc)
    availability = _availability(run, probe_total, probes)
    capture, problem = _error_capture(run_capture, last_drill(state_dir))
    return PlanMeasures(
        availability=availability,
        database_load=database,
        error_capture=capture,
        capture_problem=problem,
    )


def _run_evidence(run: RunRecord, source: str, detail: str) -> Evidence:
    return Evidence(
        source,
        run_id=run.run_id,
        started_at=run.started_at,
        duration=max(0.0, run.ended_at - run.started_at),
        time_scale=run.time_scale,
        state=run.stopped or "finished",
        rehearsal=run.time_scale < 1.0,
        detail=detail,
    )


# --- database load --------------------------------------------------------------------------


def _db_cpu(store: HistoryStore, run: RunRecord) -> Measurement | None:
    samples = store.source_samples(run.run_id).get(DB_CPU_SOURCE, [])
    values = [s.value for s in samples if s.value is not None]
    if not values:
        return None
    detail = f"{len(values)} of {len(samples)} samples answered"
    return Measurement(
        max(values), _run_evidence(run, f"source {DB_CPU_SOURCE}", detail), count=len(values)
    )


# --- availability ---------------------------------------------------------------------------


def _run_probes(store: HistoryStore, run: RunRecord) -> tuple[int, int] | None:
    """(sent, ok) of the run's `[availability]` probes; None when it had none."""
    tally = store.availability(run.run_id)
    if tally is None or tally.sent <= 0:
        return None
    return tally.sent, tally.ok


def _checklist_probes(checklist: Checklist | None, state_dir: Path) -> ChecklistProbes | None:
    if checklist is None:
        return None
    try:
        loaded = ChecklistStore(state_dir).load()
    except (OSError, StateError) as exc:
        log.warning("could not read the checklist state in %s: %s", state_dir, exc)
        return None
    return checklist_probes(build_view(checklist, loaded.events))


def _checklist_text(probes: ChecklistProbes) -> str:
    steps = ", ".join(probes.steps[:3]) + ("…" if len(probes.steps) > 3 else "")
    return f"{probes.ok:,d} of {probes.sent:,d} by checklist steps ({steps})"


def _availability(
    run: RunRecord | None, run_probes: tuple[int, int] | None, probes: ChecklistProbes | None
) -> Measurement | None:
    """Successful probes over all probes: the run's `[availability]` probe plus the checklist's
    health steps, over the window they span."""
    if run_probes is None and probes is None:
        return None
    sent = (run_probes[0] if run_probes else 0) + (probes.sent if probes else 0)
    ok = (run_probes[1] if run_probes else 0) + (probes.ok if probes else 0)
    # The run's own probes need no words (the row's value counts them); the checklist's do.
    detail = _checklist_text(probes) if probes is not None else ""
    if probes is not None and run_probes is not None:
        detail = f"{run_probes[1]:,d} of {run_probes[0]:,d} in the run + {detail}"
    rehearsed = probes.rehearsed if probes is not None else ()
    if rehearsed:
        detail += " · rehearsed " + ", ".join(rehearsed)
    if run_probes is not None and run is not None:
        evidence = _run_evidence(run, "availability probes", detail)
        if rehearsed and not evidence.rehearsal:
            evidence = Evidence(**{**evidence.__dict__, "rehearsal": True})
    else:
        assert probes is not None
        evidence = Evidence(
            "checklist probes",
            started_at=probes.first_at,
            duration=max(0.0, probes.last_at - probes.first_at),
            rehearsal=bool(rehearsed),
            detail=detail,
        )
    return Measurement(ok / sent, evidence, count=sent, detail=f"{ok:,d} of {sent:,d} probes ok")


# --- error capture --------------------------------------------------------------------------


def _run_capture(store: HistoryStore, run: RunRecord) -> CaptureCount | None:
    data = store.capture(run.run_id)
    return CaptureCount.from_json(data) if data else None


def _capture_evidence(count: CaptureCount) -> Evidence:
    started = count.window_start
    duration = max(0.0, count.window_end - count.window_start)
    if count.kind == "capture drill":
        return Evidence("capture drill", started_at=started, duration=duration, detail=count.detail)
    return Evidence(
        "Sentry count",
        run_id=count.run_id,
        started_at=started,
        duration=duration,
        time_scale=count.time_scale,
        rehearsal=count.time_scale < 1.0,
        detail=count.detail,
    )


def _error_capture(
    run_count: CaptureCount | None, drill: CaptureCount | None
) -> tuple[Measurement | None, str | None]:
    """The newest count that was taken (run or drill), or why none was."""
    candidates = [c for c in (run_count, drill) if c is not None]
    counted = [c for c in candidates if c.events is not None and c.errors > 0]
    if counted:
        best = max(counted, key=lambda c: c.counted_at)
        ratio = best.ratio if best.ratio is not None else 0.0
        arrived = min(best.events or 0, best.errors)
        value = (
            f"{arrived:,d} of {best.errors:,d} errors ({truncated_percent(arrived, best.errors)})"
        )
        return Measurement(ratio, _capture_evidence(best), count=best.errors, detail=value), None
    failed = [c for c in candidates if c.events is None]
    if failed:
        latest = max(failed, key=lambda c: c.counted_at)
        when = "the capture drill" if latest.kind == "capture drill" else f"run {latest.run_id}"
        span = go_duration(round(latest.window_end - latest.window_start))
        return None, f"{when} ({span}) saw {latest.errors:,d} server errors, but {latest.problem}"
    return None, None
