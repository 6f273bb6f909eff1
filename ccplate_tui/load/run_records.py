"""Finished load runs as small records, for the checklist and the release verdict.

The records live in the run history (`<state>/history.sqlite3`, see ccplate_tui.history): a run
recorded there with its intervals by a HistoryRecorder reads back as a record like any other, and
`record_run` adds a run known only by its outcome. Records kept as JSON files in
`<state>/load-results/` before the history existed are imported into it once (the files stay).
Reading never fails: a history that cannot be read is logged and reads as no runs; these records
are evidence, and a broken file must not take the checklist or the verdict down.

Core module: no Textual here.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ccplate_tui.history.headline import finite, headline
from ccplate_tui.history.legacy import (
    RECORDS_DIR,
    RecordError,
    open_history,
    read_legacy_record,
    records_dir,
)
from ccplate_tui.history.rows import FinishedRun, StoredRun, StoredThreshold, status_of
from ccplate_tui.load.results import RunResult

__all__ = [
    "RECORDS_DIR",
    "RecordError",
    "RunRecord",
    "ThresholdRecord",
    "latest_run",
    "list_runs",
    "read_record",
    "record_from_result",
    "record_run",
    "records_dir",
    "safe_url",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ThresholdRecord:
    """One threshold's final state in a run."""

    metric: str
    """The written key, e.g. `http_req_duration{scenario:auth_burst}`."""
    expression: str
    """As written, e.g. `p(99)<200`."""
    ok: bool | None
    """None means NO DATA, which is not a pass."""
    observed: float | None


@dataclass(frozen=True)
class RunRecord:
    """What a finished run proved: its scenarios, headline numbers and thresholds."""

    run_id: str
    scenarios: tuple[str, ...]
    """The names asked for (scenarios or suites), then the scenarios that ran, no duplicates."""
    started_at: float
    """Unix time."""
    ended_at: float
    stopped: str | None
    """None when the run finished as planned; else `interrupted`, `aborted` or `error`."""
    requests: int
    p99_ms: float | None
    error_fraction: float | None
    """Failed requests over all requests (http_req_failed); None without requests."""
    thresholds: tuple[ThresholdRecord, ...]
    engine: str = "built-in"
    time_scale: float = 1.0
    """The `--time-scale` the run used: below 1 it was a shortened rehearsal of the plan."""
    target: str = ""
    """The base URL the run loaded, without credentials, query or fragment."""

    @property
    def passed(self) -> bool:
        """Finished as planned and every threshold held; a run without thresholds proves nothing."""
        return (
            self.stopped is None
            and bool(self.thresholds)
            and all(t.ok is True for t in self.thresholds)
        )

    @property
    def failed_thresholds(self) -> tuple[ThresholdRecord, ...]:
        """The thresholds that failed or had no data."""
        return tuple(t for t in self.thresholds if t.ok is not True)

    def covers(self, name: str) -> bool:
        """True when `name` (a scenario or suite) was asked for or ran in this run."""
        return name in self.scenarios


# --- from a run ---------------------------------------------------------------------------------


def record_from_result(
    result: RunResult,
    names: Sequence[str],
    *,
    run_id: str | None = None,
    time_scale: float = 1.0,
    ended_at: float | None = None,
) -> RunRecord:
    """The record of `result`, run for `names` (what the user asked for; empty means all).

    `run_id` defaults to a new one (UTC start stamp plus random hex); pass the history's (a
    HistoryRecorder's `run_id`) or the run registry's id to tie the record to that run.
    `ended_at` defaults to start plus duration.
    """
    scenarios = tuple(dict.fromkeys([*names, *result.scenario_names]))
    started = float(result.started_at)
    head = headline(result.totals)
    return RunRecord(
        run_id=run_id or _new_run_id(started),
        scenarios=scenarios,
        started_at=started,
        ended_at=float(ended_at) if ended_at is not None else started + float(result.duration),
        stopped=result.stopped,
        requests=head.requests,
        p99_ms=head.p99_ms,
        error_fraction=head.error_fraction,
        thresholds=tuple(
            ThresholdRecord(r.spec.key, r.spec.expr.source, r.ok, finite(r.observed))
            for r in result.thresholds
        ),
        time_scale=float(time_scale),
        target=safe_url(result.config.target.base_url),
    )


def _new_run_id(started: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started)) + "-" + uuid.uuid4().hex[:8]


def safe_url(url: str) -> str:
    """`url` without user:password, query or fragment: a record is shown to anyone."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


# --- the history --------------------------------------------------------------------------------


def record_run(state_dir: Path | str, record: RunRecord) -> Path:
    """Record `record` in the state folder's run history; returns the history's file.

    A run the history already holds as ended (recorded with its intervals) is left as it is.
    Raises OSError (HistoryError is one) when the history cannot be written; the caller decides
    how loud that is.
    """
    store = open_history(state_dir)
    assert store is not None  # create=True
    with store:
        store.record_finished(_finished(record))
    return store.path


def list_runs(state_dir: Path | str) -> tuple[RunRecord, ...]:
    """Every ended run, newest (by end time) first; a history that cannot be read is logged and
    reads as none. Runs still going are left out: they have proved nothing yet."""
    try:
        store = open_history(state_dir, create=False)
        if store is None:
            return ()
        with store:
            runs = [r for r in store.runs() if r.status != "running"]
    except OSError as exc:
        log.warning("could not read the run history of %s: %s", state_dir, exc)
        return ()
    runs.sort(key=lambda r: (r.ended_at or r.started_at, r.seq), reverse=True)
    return tuple(_from_stored(r) for r in runs)


def latest_run(state_dir: Path | str, scenario: str | None = None) -> RunRecord | None:
    """The newest run (by end time) that asked for or ran `scenario`; any run when None."""
    for record in list_runs(state_dir):
        if scenario is None or record.covers(scenario):
            return record
    return None


def read_record(path: Path) -> RunRecord:
    """The record in an old JSON record file; RecordError naming the file and the problem."""
    run = read_legacy_record(path)
    return RunRecord(
        run_id=run.id,
        scenarios=run.names,
        started_at=run.started_at,
        ended_at=run.ended_at,
        stopped=None if run.status == "finished" else run.status,
        requests=run.requests,
        p99_ms=run.p99_ms,
        error_fraction=run.error_fraction,
        thresholds=tuple(
            ThresholdRecord(t.key, t.expression, t.ok, t.observed) for t in run.thresholds
        ),
        engine=run.engine,
        time_scale=run.time_scale,
        target=run.target,
    )


def _finished(record: RunRecord) -> FinishedRun:
    return FinishedRun(
        id=record.run_id,
        names=record.scenarios,
        started_at=record.started_at,
        ended_at=record.ended_at,
        status=status_of(record.stopped),
        requests=record.requests,
        p99_ms=record.p99_ms,
        error_fraction=record.error_fraction,
        thresholds=tuple(
            StoredThreshold(t.metric, t.expression, t.ok, t.observed) for t in record.thresholds
        ),
        engine=record.engine,
        target=record.target,
        time_scale=record.time_scale,
    )


def _from_stored(run: StoredRun) -> RunRecord:
    summary = run.summary or {}
    requests = summary.get("requests")
    return RunRecord(
        run_id=run.id,
        scenarios=run.all_names,
        started_at=run.started_at,
        ended_at=run.ended_at if run.ended_at is not None else run.started_at,
        stopped=run.stopped,
        requests=requests if isinstance(requests, int) else 0,
        p99_ms=_number(summary.get("p99_ms")),
        error_fraction=_number(summary.get("error_fraction")),
        thresholds=tuple(
            ThresholdRecord(t.key, t.expression, t.ok, t.observed) for t in run.thresholds or ()
        ),
        engine=run.engine,
        time_scale=run.time_scale,
        target=run.target,
    )


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
