"""Go / no-go for the release from the hardening plan's success criteria.

The plan's table: response time p99 < 500 ms (k6 load tests), error rate < 0.1 %, error tracking
active (Sentry), plus the deploy checklist's progress and the latest load run's own thresholds.
Go only when every criterion passes; anything unknown or still running is no-go, with the reason.
Pure functions over the engine's LiveView / RunResult, or a recorded run (RunRecord, what the
`verdict` command reads from the state folder): the Overview tab and the command show the same answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ccplate_tui.load.live import LiveView
from ccplate_tui.load.metrics import Rate, Trend
from ccplate_tui.load.results import RunResult
from ccplate_tui.load.run_records import RunRecord, ThresholdRecord
from ccplate_tui.load.thresholds import ThresholdResult
from ccplate_tui.load.units_format import go_duration, humanize_rate_percent

Status = Literal["pass", "fail", "unknown"]

P99_LIMIT_MS = 500.0
"""Plan: "Response Time: p99 < 500ms"."""

ERROR_RATE_LIMIT = 0.001
"""Plan: "Error Rate: < 0.1%", as a fraction of requests."""

RESPONSE_TIME = "Response time"
ERROR_RATE = "Error rate"
LOAD_THRESHOLDS = "Load thresholds"
ERROR_TRACKING = "Error tracking"
CHECKLIST = "Deploy checklist"

SENTRY_NOT_RUN = "Sentry capture check not run (ccplate-tui sentry verify)"
SENTRY_APP_UNKNOWN = "Sentry compatibility with the app not checked (ccplate-tui sentry check)"
CHECKLIST_MISSING = (
    "Deploy checklist not set up yet: its steps come from [checklist] in scenarios.toml"
)
NO_RUN = "No load run yet: start one on the Load tab"


@dataclass(frozen=True)
class Criterion:
    """One success criterion: what is required, what was measured, and whether it holds."""

    name: str
    target: str
    value: str
    """The measured value as shown ("312 ms", "0.05%", "not run")."""
    status: Status


@dataclass(frozen=True)
class Verdict:
    """The release decision with every reason it is not a go, most important first."""

    go: bool
    headline: str
    """One short line: why (not) go, or that a run is still in progress."""
    reasons: tuple[str, ...]
    """Empty exactly when `go`."""
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True)
class SentryCapture:
    """What the two Sentry checks found: is the test error received, and is the app wired to it.

    A delivered test error proves the DSN works; error tracking is only active when the app
    itself can report (a compatible @sentry/nextjs, the init not disabled).
    """

    delivered: bool
    """True only when Sentry's ingest answered 200 naming the event id (and, with an API token,
    the event was found in the project)."""
    detail: str = ""
    """Evidence or the failure's explanation, e.g. `event 3f2a... received (HTTP 200)`."""
    app: Literal["ok", "problem", "unknown"] = "ok"
    """The compatibility check's view of the app; "unknown" when it has not run."""
    app_detail: str = ""
    """Why the app is not ready, e.g. the compatibility headline or the disabled init."""


@dataclass(frozen=True)
class ChecklistProgress:
    """Steps of the deploy checklist that passed, out of all of them.

    A stand-in for what the checklist will report; it may grow phases and gates there.
    """

    passed: int
    total: int


@dataclass(frozen=True)
class _Judged:
    criterion: Criterion
    reason: str | None
    """Why it is not a pass; None for a pass."""


def evaluate_release(
    load: LiveView | RunResult | RunRecord | None,
    *,
    sentry: SentryCapture | None = None,
    checklist: ChecklistProgress | None = None,
    running: bool | None = None,
) -> Verdict:
    """The verdict for the latest load run (live or finished) and the other checks.

    `running` overrides whether `load` is still in progress; by default a LiveView is running
    until every scenario reports `done`, and a RunResult or RunRecord is finished.
    """
    if load is None:
        judged = [
            _no_run(RESPONSE_TIME, "p99 < 500 ms"),
            _no_run(ERROR_RATE, "< 0.1%"),
            _no_run(LOAD_THRESHOLDS, "all pass"),
        ]
    else:
        judged = [
            _response_time(_p99(load)),
            _error_rate(_error_fraction(load)),
            _load_thresholds(load.thresholds, _stopped(load), _time_scale(load)),
        ]
    judged += [_error_tracking(sentry), _checklist(checklist)]
    criteria = tuple(j.criterion for j in judged)
    if running is None:
        running = isinstance(load, LiveView) and not _all_done(load)

    lead: list[str] = []
    headline = ""
    if load is None:
        lead.append(NO_RUN)
        headline = "No load run yet"
        judged = judged[3:]  # the load criteria's reason is the missing run itself
    elif running:
        clock = _clock(load)
        lead.append(f"Load run still in progress ({clock}): the verdict is final when it ends")
        headline = f"Load run in progress ({clock})"
    failing = [j.reason for j in judged if j.criterion.status == "fail" and j.reason]
    unknown = [j.reason for j in judged if j.criterion.status == "unknown" and j.reason]
    reasons = tuple(lead + failing + unknown)
    if not reasons:
        count = len(criteria)
        return Verdict(True, f"All {count} success criteria pass", (), criteria)
    if not lead:
        headline = reasons[0]
    return Verdict(False, headline, reasons, criteria)


# -- reading the run


def _p99(load: LiveView | RunResult | RunRecord) -> float | None:
    if isinstance(load, RunRecord):
        return load.p99_ms
    if isinstance(load, LiveView):
        stats = load.total_latency
        return stats.p99 if stats.count else None
    trend = load.totals.select("http_req_duration")
    if not isinstance(trend, Trend) or not trend.count:
        return None
    return trend.percentile(99.0)


def _error_fraction(load: LiveView | RunResult | RunRecord) -> float | None:
    if isinstance(load, RunRecord):
        return load.error_fraction
    if isinstance(load, LiveView):
        return load.total_error_rate
    failed = load.totals.select("http_req_failed")
    return failed.rate if isinstance(failed, Rate) else None


def _stopped(load: LiveView | RunResult | RunRecord) -> str | None:
    return load.stopped if isinstance(load, RunResult | RunRecord) else None


def _time_scale(load: LiveView | RunResult | RunRecord) -> float:
    # Only a record knows it; a live run or RunResult in this process shows its own scale.
    return load.time_scale if isinstance(load, RunRecord) else 1.0


def _all_done(view: LiveView) -> bool:
    return bool(view.progress) and all(p.state == "done" for p in view.progress)


def _clock(load: LiveView | RunResult | RunRecord) -> str:
    if isinstance(load, RunResult):
        return f"{go_duration(round(load.duration))} elapsed"
    if isinstance(load, RunRecord):
        return f"{go_duration(round(max(0.0, load.ended_at - load.started_at)))} elapsed"
    elapsed = go_duration(round(load.elapsed))
    return f"{elapsed} of {go_duration(round(load.planned))}" if load.planned else elapsed


# -- the criteria


def _no_run(name: str, target: str) -> _Judged:
    return _Judged(Criterion(name, target, "no run yet", "unknown"), NO_RUN)


def format_ms(ms: float) -> str:
    """Milliseconds truncated (never rounded up), so `499.9` shows `499 ms` and reads as < 500."""
    if ms < 10:
        return f"{math.floor(ms * 10) / 10:.1f} ms"
    return f"{math.floor(ms):,d} ms"


def _response_time(p99: float | None) -> _Judged:
    target = "p99 < 500 ms"
    if p99 is None:
        reason = "Response time unknown: the load run has no requests yet"
        return _Judged(Criterion(RESPONSE_TIME, target, "no requests", "unknown"), reason)
    value = f"p99 {format_ms(p99)}"
    if p99 < P99_LIMIT_MS:
        return _Judged(Criterion(RESPONSE_TIME, target, value, "pass"), None)
    reason = f"Response time too slow: {value}, target < 500 ms"
    return _Judged(Criterion(RESPONSE_TIME, target, value, "fail"), reason)


def _error_rate(fraction: float | None) -> _Judged:
    target = "< 0.1%"
    if fraction is None:
        reason = "Error rate unknown: the load run has no requests yet"
        return _Judged(Criterion(ERROR_RATE, target, "no requests", "unknown"), reason)
    # Truncated like k6's summary, so 0.0999% shows 0.09% and is consistent with the limit.
    value = humanize_rate_percent(fraction)
    if fraction < ERROR_RATE_LIMIT:
        return _Judged(Criterion(ERROR_RATE, target, value, "pass"), None)
    reason = f"Error rate too high: {value} of requests failed, target < 0.1%"
    return _Judged(Criterion(ERROR_RATE, target, value, "fail"), reason)


def _load_thresholds(
    results: Sequence[ThresholdResult] | Sequence[ThresholdRecord],
    stopped: str | None,
    time_scale: float = 1.0,
) -> _Judged:
    target = "all pass"
    passed = sum(1 for r in results if r.ok is True)
    value = f"{passed} of {len(results)} pass" if results else "none defined"
    if stopped is not None:
        value += f", run {stopped}"
    if time_scale != 1.0:
        # Shown, not judged: a shortened rehearsal is what the checklist's load step runs.
        value += f", time scale {time_scale:g}"
    bad = [r for r in results if r.ok is not True]
    if bad:
        names = [_threshold_name(r) for r in bad]
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        reason = f"{len(bad)} of {len(results)} load thresholds failed: {shown}"
        return _Judged(Criterion(LOAD_THRESHOLDS, target, value, "fail"), reason)
    if stopped is not None:
        # A run cut short passed its thresholds (if any) over only part of its planned load.
        reason = f"Load run {stopped} before its planned end: its thresholds cover only part of it"
        return _Judged(Criterion(LOAD_THRESHOLDS, target, value, "fail"), reason)
    if not results:
        reason = "Load thresholds unknown: the load run defines no thresholds"
        return _Judged(Criterion(LOAD_THRESHOLDS, target, value, "unknown"), reason)
    return _Judged(Criterion(LOAD_THRESHOLDS, target, value, "pass"), None)


def _threshold_name(result: ThresholdResult | ThresholdRecord) -> str:
    if isinstance(result, ThresholdRecord):
        text = f"{result.metric} {result.expression}"
    else:
        text = f"{result.spec.key} {result.spec.expr.source}"
    return f"{text} (no data)" if result.ok is None else text


def _error_tracking(sentry: SentryCapture | None) -> _Judged:
    target = "Sentry receives errors"
    if sentry is None:
        return _Judged(Criterion(ERROR_TRACKING, target, "not checked", "unknown"), SENTRY_NOT_RUN)
    if not sentry.delivered:
        reason = "Sentry did not receive the test error" + (
            f": {sentry.detail}" if sentry.detail else ""
        )
        return _Judged(Criterion(ERROR_TRACKING, target, "not received", "fail"), reason)
    if sentry.app == "problem":
        reason = "Sentry is not active in the app" + (
            f": {sentry.app_detail}" if sentry.app_detail else ""
        )
        return _Judged(Criterion(ERROR_TRACKING, target, "app not wired", "fail"), reason)
    if sentry.app == "unknown":
        reason = sentry.app_detail or SENTRY_APP_UNKNOWN
        return _Judged(Criterion(ERROR_TRACKING, target, "app not checked", "unknown"), reason)
    return _Judged(Criterion(ERROR_TRACKING, target, "test error received", "pass"), None)


def _checklist(progress: ChecklistProgress | None) -> _Judged:
    target = "all steps done"
    if progress is None:
        return _Judged(Criterion(CHECKLIST, target, "not set up", "unknown"), CHECKLIST_MISSING)
    if progress.total <= 0:
        reason = "Deploy checklist unknown: it has no steps"
        return _Judged(Criterion(CHECKLIST, target, "no steps", "unknown"), reason)
    value = f"{progress.passed} of {progress.total} steps"
    if progress.passed >= progress.total:
        return _Judged(Criterion(CHECKLIST, target, value, "pass"), None)
    reason = f"Deploy checklist incomplete: {value} done"
    return _Judged(Criterion(CHECKLIST, target, value, "fail"), reason)
