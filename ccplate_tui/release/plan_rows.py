"""The plan's criteria beyond the load run's own numbers, and the Sentry wiring row.

Availability (99.9 % uptime), database load (< 50 % CPU at peak) and error capture (100 % of
errors captured) are judged from measurements handed in by whatever records them (health probes,
a `[sources.db_cpu]` source, a capture count); without one a row is NOT MEASURED with what would
measure it, never a pass. Core module: no Textual here.
"""

from __future__ import annotations

from dataclasses import dataclass

from ccplate_tui.release.evidence import NO_EVIDENCE, Criterion, Evidence

AVAILABILITY = "Availability"
DATABASE_LOAD = "Database load"
ERROR_CAPTURE = "Error capture"
SENTRY_WIRING = "Sentry wiring"

AVAILABILITY_TARGET = 0.999
"""Plan: "Availability: 99.9% uptime"."""
MIN_PROBES = 1000
"""99.9 % cannot be told from fewer probes: one failure in 999 is already below it."""
DB_CPU_LIMIT = 50.0
"""Plan: "Database Load: < 50% CPU at peak", in percent."""

AVAILABILITY_UNMEASURED = (
    "Availability not measured: no availability probes recorded "
    "(add an [availability] probe that runs during load runs, or run the checklist's health steps)"
)
DATABASE_UNMEASURED = (
    "Database load not measured: add a [sources.db_cpu] source sampling the database's CPU "
    "(judged db_cpu max < 50)"
)
CAPTURE_UNMEASURED = (
    "Error capture not measured: no count of server errors against the events Sentry received "
    "(ccplate-tui sentry capture-drill, or a load run that saw server errors, with "
    "SENTRY_AUTH_TOKEN set)"
)
WIRING_UNCHECKED = "Sentry wiring not checked (ccplate-tui sentry check)"


@dataclass(frozen=True)
class Measurement:
    """One measured plan value and what it rests on."""

    value: float
    """Availability and capture as a fraction (0.9995), database load as percent CPU (42.0)."""
    evidence: Evidence
    count: int = 0
    """Probes (availability) or errors seen (capture) the value is computed over."""
    detail: str = ""
    """How it was computed, e.g. `1,204 of 1,205 probes ok`."""


@dataclass(frozen=True)
class PlanMeasures:
    """What measures the three plan rows a load run alone cannot; None means not measured."""

    availability: Measurement | None = None
    database_load: Measurement | None = None
    error_capture: Measurement | None = None
    capture_problem: str | None = None
    """Why the latest attempt to count Sentry's events failed, when none succeeded."""


@dataclass(frozen=True)
class SentryWiring:
    """The wiring part of the stored compatibility check: the app's error paths to Sentry."""

    paths_ok: int
    paths_total: int
    missing: tuple[str, ...]
    """Labels of the paths that are missing or disabled."""
    cap: str | None
    """Why the verdict is capped at partial (`verdict_cap`), e.g. no onRequestError."""
    evidence: Evidence = NO_EVIDENCE


def _not_measured(name: str, target: str, reason: str) -> Criterion:
    """A plan row nothing measures yet: never a pass, with what would measure it."""
    return Criterion(name, target, "not measured", "not_measured", NO_EVIDENCE, reason, plan=True)


def availability(measure: Measurement | None) -> Criterion:
    name, target = AVAILABILITY, "≥ 99.9% uptime"
    if measure is None:
        return _not_measured(name, target, AVAILABILITY_UNMEASURED)
    probes = f"{measure.count:,d} probe{'s' if measure.count != 1 else ''}"
    value = f"{_percent(measure.value)} of {probes}"
    if measure.count < MIN_PROBES:
        reason = f"Availability: not enough data ({probes}; 99.9% needs at least {MIN_PROBES:,d})"
        return Criterion(name, target, value, "unknown", measure.evidence, reason, plan=True)
    if measure.value >= AVAILABILITY_TARGET:
        return Criterion(name, target, value, "pass", measure.evidence, None, plan=True)
    reason = f"Availability too low: {value}, target 99.9%"
    return Criterion(name, target, value, "fail", measure.evidence, reason, plan=True)


def database_load(measure: Measurement | None) -> Criterion:
    name, target = DATABASE_LOAD, "< 50% CPU at peak"
    if measure is None:
        return _not_measured(name, target, DATABASE_UNMEASURED)
    value = f"peak {measure.value:.1f}% CPU"
    if measure.value < DB_CPU_LIMIT:
        return Criterion(name, target, value, "pass", measure.evidence, None, plan=True)
    reason = f"Database load too high: {value}, target < 50%"
    return Criterion(name, target, value, "fail", measure.evidence, reason, plan=True)


def error_capture(measure: Measurement | None, problem: str | None = None) -> Criterion:
    name, target = ERROR_CAPTURE, "100% of errors captured"
    if measure is None:
        reason = f"Error capture not measured: {problem}" if problem else CAPTURE_UNMEASURED
        return _not_measured(name, target, reason)
    value = measure.detail or f"{_percent(measure.value)} of {measure.count:,d} errors"
    if measure.count <= 0:
        reason = "Error capture unknown: no errors to count in the window"
        return Criterion(name, target, value, "unknown", measure.evidence, reason, plan=True)
    if measure.value >= 1.0:
        return Criterion(name, target, value, "pass", measure.evidence, None, plan=True)
    reason = f"Errors lost on the way to Sentry: {value}, target 100%"
    return Criterion(name, target, value, "fail", measure.evidence, reason, plan=True)


def sentry_wiring(wiring: SentryWiring | None) -> Criterion:
    name, target = SENTRY_WIRING, "every error path reports"
    if wiring is None:
        return Criterion(name, target, "not checked", "unknown", NO_EVIDENCE, WIRING_UNCHECKED)
    value = f"{wiring.paths_ok} of {wiring.paths_total} paths"
    if wiring.cap:
        value += ", capped at partial"
        reason = f"Sentry wiring capped at partial: {wiring.cap}"
        return Criterion(name, target, value, "fail", wiring.evidence, reason)
    if wiring.missing:
        reason = "Sentry wiring incomplete: " + ", ".join(wiring.missing) + " not reporting"
        return Criterion(name, target, value, "fail", wiring.evidence, reason)
    return Criterion(name, target, value, "pass", wiring.evidence, None)


def _percent(fraction: float) -> str:
    """Truncated to 2 decimals, so 99.899 % never shows as 99.90 %."""
    return f"{int(fraction * 10000) / 100:.2f}%"
