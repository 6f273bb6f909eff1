"""Plain values the history store hands out: runs, thresholds, annotations, baselines.

Core module: no Textual here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

STATUSES = ("running", "finished", "interrupted", "aborted", "error")
"""A run's life: running, then finished as planned or stopped (interrupted, aborted, error)."""

ANNOTATION_KINDS = ("stop", "abort", "fault", "note")


def status_of(stopped: str | None) -> str:
    """The status of a run that ended with RunResult.stopped `stopped`."""
    status = "finished" if stopped is None else stopped
    if status not in STATUSES[1:]:
        raise ValueError(f"unknown stop reason {stopped!r}")
    return status


def stopped_of(status: str) -> str | None:
    """RunResult.stopped of an ended run's status (None for finished)."""
    return None if status == "finished" else status


@dataclass(frozen=True)
class StoredThreshold:
    """One threshold's final state in a run."""

    key: str
    """The metric key as written, e.g. `http_req_duration{scenario:auth_burst}`."""
    expression: str
    """As written, e.g. `p(99)<200`."""
    ok: bool | None
    """None means NO DATA, which is not a pass."""
    observed: float | None
    abort_on_fail: bool = False
    first_failed_at: float | None = None
    """Seconds into the run when it first failed."""
    baseline: float | None = None
    """For a relative threshold: the baseline run's value it was judged against."""
    limit: float | None = None
    reason: str | None = None
    """Why a NO DATA threshold on a metric source had no value."""

    def to_json(self) -> dict[str, Any]:
        reason = {"reason": self.reason} if self.reason else {}
        return {
            "key": self.key,
            "expression": self.expression,
            "ok": self.ok,
            "observed": _finite(self.observed),
            "abort_on_fail": self.abort_on_fail,
            "first_failed_at": _finite(self.first_failed_at),
            "baseline": _finite(self.baseline),
            "limit": _finite(self.limit),
            **reason,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoredThreshold:
        ok = data.get("ok")
        if ok not in (True, False, None):
            raise ValueError(f"ok: expected true, false or null, got {ok!r}")
        return cls(
            key=_text(data, "key"),
            expression=_text(data, "expression"),
            ok=ok,
            observed=_number(data, "observed"),
            abort_on_fail=bool(data.get("abort_on_fail", False)),
            first_failed_at=_number(data, "first_failed_at"),
            baseline=_number(data, "baseline"),
            limit=_number(data, "limit"),
            reason=data.get("reason") if isinstance(data.get("reason"), str) else None,
        )


@dataclass(frozen=True)
class StoredRun:
    """One run as the history holds it (its intervals and totals are fetched separately)."""

    id: str
    """Short and typable: `r12` for runs the history numbered itself."""
    seq: int
    """The run's number: `history show 12` finds it."""
    started_at: float
    """Unix time."""
    ended_at: float | None
    """None while running."""
    status: str
    """One of STATUSES."""
    engine: str
    names: tuple[str, ...]
    """The scenarios or suites asked for."""
    scenarios: tuple[str, ...]
    """The scenarios that ran."""
    target: str
    """The base URL loaded, without credentials, query or fragment."""
    time_scale: float
    config: Any
    """The resolved scenarios and thresholds as JSON (secrets masked); {} when unknown."""
    config_hash: str | None
    """sha256 of the config file when it could be read."""
    git_commit: str | None
    """HEAD of the config's folder when it is a git checkout."""
    pid: int | None
    summary: Mapping[str, Any] | None
    """duration, requests, p99_ms, error_fraction, notes, progress; None while running."""
    thresholds: tuple[StoredThreshold, ...] | None
    """None while running."""
    baseline_for: Mapping[str, str] | None
    """The baseline run ids (by scenario or suite) its relative thresholds were judged against."""
    interval_count: int = 0
    elapsed: float = 0.0
    """The end of its last interval, in seconds since it started."""

    @property
    def all_names(self) -> tuple[str, ...]:
        """The names asked for, then the scenarios that ran, without duplicates."""
        return tuple(dict.fromkeys([*self.names, *self.scenarios]))

    def covers(self, name: str) -> bool:
        """True when `name` (a scenario or suite) was asked for or ran in this run."""
        return name in self.names or name in self.scenarios

    @property
    def stopped(self) -> str | None:
        return None if self.status in ("finished", "running") else self.status

    @property
    def duration(self) -> float:
        """Seconds the run lasted (so far, while running)."""
        if self.summary and isinstance(self.summary.get("duration"), int | float):
            return float(self.summary["duration"])
        return self.elapsed


@dataclass(frozen=True)
class FinishedRun:
    """A run known only by its outcome, without intervals: what a run record holds."""

    id: str
    names: tuple[str, ...]
    started_at: float
    ended_at: float
    status: str
    requests: int
    p99_ms: float | None
    error_fraction: float | None
    thresholds: tuple[StoredThreshold, ...]
    engine: str = "built-in"
    target: str = ""
    time_scale: float = 1.0


@dataclass(frozen=True)
class Annotation:
    """Something that happened during a run: an operator's stop or abort, a fault change, a note."""

    run_id: str
    at: float
    """Unix time."""
    kind: str
    """One of ANNOTATION_KINDS."""
    text: str


@dataclass(frozen=True)
class Baseline:
    """The run a scenario (or suite) is compared with."""

    scenario: str
    run_id: str
    set_at: float
    set_by: str


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key}: expected a string, got {value!r}")
    return value


def _number(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key}: expected a number or null, got {value!r}")
    return float(value)
