"""Go / no-go for the release from the hardening plan's success criteria.

The plan's five rows (response time p99 < 500 ms, error rate < 0.1 %, availability 99.9 %,
database load < 50 % CPU at peak, 100 % of errors captured), then the latest load run's own
thresholds, the Sentry test error and wiring, and the deploy checklist. Each criterion names its
evidence (run id, start, duration, time scale). GO only when every criterion passes on full-scale
evidence; GO (REHEARSAL) when all pass but a run was time-scaled or a checklist timer rehearsed;
NO-GO otherwise, including while a plan row is NOT MEASURED (the plan holds the release on them).
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
from ccplate_tui.release import plan_rows
from ccplate_tui.release.evidence import NO_EVIDENCE, Criterion, Evidence, Status, run_evidence
from ccplate_tui.release.plan_rows import PlanMeasures, SentryWiring

__all__ = [
    "ChecklistProgress",
    "Criterion",
    "Evidence",
    "PlanMeasures",
    "SentryCapture",
    "SentryWiring",
    "Status",
    "Verdict",
    "evaluate_release",
    "format_ms",
]

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

Word = Literal["GO", "GO (REHEARSAL)", "NO-GO"]


@dataclass(frozen=True)
class Verdict:
    """The release decision with every reason it is not a plain go, most important first."""

    go: bool
    """Plain GO: every criterion passes on full-scale evidence."""
    headline: str
    """One short line: why (not) go, or that a run is still in progress."""
    reasons: tuple[str, ...]
    """Empty exactly when `go`; for a rehearsal, what was rehearsed."""
    criteria: tuple[Criterion, ...]
    rehearsal: bool = False
    """Every criterion passes, but some evidence is a rehearsal: GO (REHEARSAL), never GO."""
    latest: Evidence | None = None
    """A run still going or cut short, shown beside the complete run the criteria judge."""

    @property
    def word(self) -> Word:
        if self.go:
            return "GO"
        return "GO (REHEARSAL)" if self.rehearsal else "NO-GO"

    @property
    def not_measured(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.status == "not_measured")


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
    evidence: Evidence = NO_EVIDENCE
    """When the capture check ran."""


@dataclass(frozen=True)
class ChecklistProgress:
    """Steps of the deploy checklist that passed, out of all of them."""

    passed: int
    total: int
    rehearsed: tuple[str, ...] = ()
    """Done steps that ran as a rehearsal (a timer or load step at a time scale below 1),
    as `monitor_errors at 0.01`."""
    evidence: Evidence = NO_EVIDENCE
    """The checklist's state: when it last changed."""
    state_problem: str | None = None
    """What was wrong with the checklist's state files and what was done (a recovery)."""


def evaluate_release(
    load: LiveView | RunResult | RunRecord | None,
    *,
    sentry: SentryCapture | None = None,
    checklist: ChecklistProgress | None = None,
    running: bool | None = None,
    run_id: str | None = None,
    time_scale: float | None = None,
    last_complete: RunResult | RunRecord | None = None,
    wiring: SentryWiring | None = None,
    measures: PlanMeasures | None = None,
) -> Verdict:
    """The verdict for the latest load run (live or finished) and the other checks.

    `running` overrides whether `load` is still in progress; by default a LiveView is running
    until every scenario reports `done`, and a RunResult or RunRecord is finished. `run_id` and
    `time_scale` name a run of this process (a record knows its own). When `load` is running or
    was cut short and `last_complete` (the newest run that finished as planned) is given, the
    load criteria judge `last_complete` and `load` is shown beside it as `Verdict.latest`.
    """
    if running is None:
        running = isinstance(load, LiveView) and not _all_done(load)
    latest: Evidence | None = None
    judged_load = load
    evidence = NO_EVIDENCE
    if load is not None:
        evidence = run_evidence(load, run_id=run_id, time_scale=time_scale, running=running)
        cut_short = running or _stopped(load) is not None
        if cut_short and last_complete is not None and last_complete is not load:
            latest = evidence
            judged_load = last_complete
            # A RunResult of this process carries this process's scale and no id of its own.
            evidence = run_evidence(last_complete, run_id=run_id, time_scale=time_scale)
    if judged_load is None:
        load_rows = [
            _no_run(RESPONSE_TIME, "p99 < 500 ms", plan=True),
            _no_run(ERROR_RATE, "< 0.1%", plan=True),
        ]
        threshold_rows = [_no_run(LOAD_THRESHOLDS, "all pass")]
    else:
        load_rows = [
            _response_time(_p99(judged_load), evidence),
            _error_rate(_error_fraction(judged_load), evidence),
        ]
        threshold_rows = [
            _load_thresholds(
                judged_load.thresholds, _stopped(judged_load), evidence.time_scale or 1.0, evidence
            )
        ]
    m = measures or PlanMeasures()
    criteria = (
        *load_rows,
        plan_rows.availability(m.availability),
        plan_rows.database_load(m.database_load),
        plan_rows.error_capture(m.error_capture, m.capture_problem),
        *threshold_rows,
        _error_tracking(sentry),
        plan_rows.sentry_wiring(wiring),
        _checklist(checklist),
    )
    return _decide(criteria, load, judged_load, running and latest is None, latest, evidence)


def _decide(
    criteria: tuple[Criterion, ...],
    load: LiveView | RunResult | RunRecord | None,
    judged_load: LiveView | RunResult | RunRecord | None,
    running: bool,
    latest: Evidence | None,
    evidence: Evidence,
) -> Verdict:
    lead: list[str] = []
    headline = ""
    judged = list(criteria)
    if judged_load is None:
        lead.append(NO_RUN)
        headline = "No load run yet"
        judged = [c for c in judged if c.reason != NO_RUN]  # the missing run is the reason
    elif running:
        clock = _clock(judged_load)
        lead.append(f"Load run still in progress ({clock}): the verdict is final when it ends")
        headline = f"Load run in progress ({clock})"
    if latest is not None and latest.state == "running":
        which = f"Load run {latest.run_id}" if latest.run_id else "A load run"
        lead.append(f"{which} still in progress: the criteria are from the last complete run")
        headline = headline or "Load run in progress; judged on the last complete run"
    failing = [c.reason for c in judged if c.status == "fail" and c.reason]
    unknown = [c.reason for c in judged if c.status == "unknown" and c.reason]
    missing = [c.reason for c in judged if c.status == "not_measured" and c.reason]
    reasons = tuple(lead + failing + unknown + missing)
    if not reasons:
        rehearsed = _rehearsals(criteria)
        if rehearsed:
            head = "Rehearsal only: " + "; ".join(rehearsed)
            return Verdict(False, head, tuple(rehearsed), criteria, True, latest)
        count = len(criteria)
        return Verdict(True, f"All {count} criteria pass", (), criteria, False, latest)
    if not headline:
        if failing or unknown:
            headline = reasons[len(lead)]
        else:
            headline = f"Incomplete: {len(missing)} plan criteria not measured"
    return Verdict(False, headline, reasons, criteria, False, latest)


def _rehearsals(criteria: tuple[Criterion, ...]) -> list[str]:
    """What was rehearsed rather than run for real, each once."""
    out: list[str] = []
    for c in criteria:
        ev = c.evidence
        if not ev.rehearsal:
            continue
        if ev.run_id or ev.source == "load run":
            scale = ev.time_scale if ev.time_scale is not None else 1.0
            text = f"load run {ev.run_id or '(this dashboard)'} ran at time scale {scale:g}"
            if ev.duration is not None and ev.planned is not None:
                text += (
                    f" ({go_duration(round(ev.duration))} of a "
                    f"{go_duration(round(ev.planned))} plan)"
                )
        else:
            text = f"{c.name.lower()}: {ev.detail or 'rehearsed'}"
        if text not in out:
            out.append(text)
    return out


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


def _no_run(name: str, target: str, *, plan: bool = False) -> Criterion:
    return Criterion(name, target, "no run yet", "unknown", NO_EVIDENCE, NO_RUN, plan)


def format_ms(ms: float) -> str:
    """Milliseconds truncated (never rounded up), so `499.9` shows `499 ms` and reads as < 500."""
    if ms < 10:
        return f"{math.floor(ms * 10) / 10:.1f} ms"
    return f"{math.floor(ms):,d} ms"


def _response_time(p99: float | None, evidence: Evidence) -> Criterion:
    name, target = RESPONSE_TIME, "p99 < 500 ms"
    if p99 is None:
        reason = "Response time unknown: the load run has no requests yet"
        return Criterion(name, target, "no requests", "unknown", evidence, reason, True)
    value = f"p99 {format_ms(p99)}"
    if p99 < P99_LIMIT_MS:
        return Criterion(name, target, value, "pass", evidence, None, True)
    reason = f"Response time too slow: {value}, target < 500 ms"
    return Criterion(name, target, value, "fail", evidence, reason, True)


def _error_rate(fraction: float | None, evidence: Evidence) -> Criterion:
    name, target = ERROR_RATE, "< 0.1%"
    if fraction is None:
        reason = "Error rate unknown: the load run has no requests yet"
        return Criterion(name, target, "no requests", "unknown", evidence, reason, True)
    # Truncated like k6's summary, so 0.0999% shows 0.09% and is consistent with the limit.
    value = humanize_rate_percent(fraction)
    if fraction < ERROR_RATE_LIMIT:
        return Criterion(name, target, value, "pass", evidence, None, True)
    reason = f"Error rate too high: {value} of requests failed, target < 0.1%"
    return Criterion(name, target, value, "fail", evidence, reason, True)


def _load_thresholds(
    results: Sequence[ThresholdResult] | Sequence[ThresholdRecord],
    stopped: str | None,
    time_scale: float = 1.0,
    evidence: Evidence = NO_EVIDENCE,
) -> Criterion:
    name, target = LOAD_THRESHOLDS, "all pass"
    passed = sum(1 for r in results if r.ok is True)
    value = f"{passed} of {len(results)} pass" if results else "none defined"
    if stopped is not None:
        value += f", run {stopped}"
    if time_scale != 1.0:
        # Judged as a rehearsal by the verdict: the banner reads GO (REHEARSAL) at best.
        value += f", time scale {time_scale:g}"
    bad = [r for r in results if r.ok is not True]
    if bad:
        names = [_threshold_name(r) for r in bad]
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        reason = f"{len(bad)} of {len(results)} load thresholds failed: {shown}"
        return Criterion(name, target, value, "fail", evidence, reason)
    if stopped is not None:
        # A run cut short passed its thresholds (if any) over only part of its planned load.
        reason = f"Load run {stopped} before its planned end: its thresholds cover only part of it"
        return Criterion(name, target, value, "fail", evidence, reason)
    if not results:
        reason = "Load thresholds unknown: the load run defines no thresholds"
        return Criterion(name, target, value, "unknown", evidence, reason)
    return Criterion(name, target, value, "pass", evidence, None)


def _threshold_name(result: ThresholdResult | ThresholdRecord) -> str:
    if isinstance(result, ThresholdRecord):
        text = f"{result.metric} {result.expression}"
    else:
        text = f"{result.spec.key} {result.spec.expr.source}"
    return f"{text} (no data)" if result.ok is None else text


def _error_tracking(sentry: SentryCapture | None) -> Criterion:
    name, target = ERROR_TRACKING, "Sentry receives errors"
    if sentry is None:
        return Criterion(name, target, "not checked", "unknown", NO_EVIDENCE, SENTRY_NOT_RUN)
    ev = sentry.evidence
    if not sentry.delivered:
        reason = "Sentry did not receive the test error" + (
            f": {sentry.detail}" if sentry.detail else ""
        )
        return Criterion(name, target, "not received", "fail", ev, reason)
    if sentry.app == "problem":
        reason = "Sentry is not active in the app" + (
            f": {sentry.app_detail}" if sentry.app_detail else ""
        )
        return Criterion(name, target, "app not wired", "fail", ev, reason)
    if sentry.app == "unknown":
        reason = sentry.app_detail or SENTRY_APP_UNKNOWN
        return Criterion(name, target, "app not checked", "unknown", ev, reason)
    return Criterion(name, target, "test error received", "pass", ev, None)


def _checklist(progress: ChecklistProgress | None) -> Criterion:
    name, target = CHECKLIST, "all steps done"
    if progress is None:
        return Criterion(name, target, "not set up", "unknown", NO_EVIDENCE, CHECKLIST_MISSING)
    ev = progress.evidence
    details = []
    if progress.rehearsed:
        details.append("rehearsed: " + ", ".join(progress.rehearsed))
    if progress.state_problem:
        details.append(f"state_problem: {progress.state_problem}")
    if details:
        ev = Evidence(ev.source if ev.source != "none" else "checklist", started_at=ev.started_at,
                      rehearsal=bool(progress.rehearsed), detail="; ".join(details))  # fmt: skip
    if progress.total <= 0:
        reason = "Deploy checklist unknown: it has no steps"
        return Criterion(name, target, "no steps", "unknown", ev, reason)
    value = f"{progress.passed} of {progress.total} steps"
    if progress.passed >= progress.total:
        return Criterion(name, target, value, "pass", ev, None)
    reason = f"Deploy checklist incomplete: {value} done"
    return Criterion(name, target, value, "fail", ev, reason)
