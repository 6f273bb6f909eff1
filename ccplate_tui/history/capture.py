"""After a load run: count the Sentry events for the run's server errors and keep the count with
the run, for the verdict's "Error capture" row.

A run without server errors has nothing to count and records nothing; a run whose count could
not be taken records why, so the verdict can say so instead of "not measured".
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ccplate_tui.history.schema import HistoryError
from ccplate_tui.history.store import HistoryStore
from ccplate_tui.load.results import RunResult
from ccplate_tui.sentry.capture_count import WAIT_LIMIT, CaptureCount, count_capture
from ccplate_tui.sentry.settings import resolve_settings

log = logging.getLogger(__name__)


def count_run_capture(
    result: RunResult,
    *,
    run_id: str | None,
    time_scale: float = 1.0,
    on_wait: Callable[[int], None] | None = None,
    limit: float = WAIT_LIMIT,
) -> CaptureCount | None:
    """The capture count of a finished run; None when it saw no server errors."""
    errors = result.totals.server_errors()
    if errors <= 0:
        return None
    settings = resolve_settings(result.config.sentry)
    where = f"run {run_id}" if run_id else "the run"
    return count_capture(
        settings,
        "load run",
        errors,
        result.started_at,
        result.started_at + result.duration,
        run_id=run_id,
        time_scale=time_scale,
        detail=f"HTTP 5xx answers in {where}",
        on_wait=on_wait,
        limit=limit,
    )


def record_run_capture(
    store: HistoryStore,
    run_id: str,
    result: RunResult,
    *,
    time_scale: float = 1.0,
    on_wait: Callable[[int], None] | None = None,
) -> CaptureCount | None:
    """Count the run's capture and store it with the run; never raises (the run is done)."""
    try:
        count = count_run_capture(result, run_id=run_id, time_scale=time_scale, on_wait=on_wait)
    except Exception as exc:  # a count must never cost the run its record
        log.warning("could not count the Sentry events of run %s: %s", run_id, exc)
        return None
    if count is None:
        return None
    try:
        store.set_capture(run_id, count.to_json())
    except (HistoryError, KeyError) as exc:
        log.warning("could not record the Sentry count of run %s: %s", run_id, exc)
    return count
