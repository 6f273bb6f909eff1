"""What the availability probe (`[availability]`) counted over an interval, or over a run.

A plain value with no I/O (the prober itself is load/availability.py), so snapshots, the history
and the summaries can carry it without importing an HTTP client.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_REASONS = 5
"""Failure reasons kept per tally; the rarest beyond these are counted under OTHER_REASONS."""
OTHER_REASONS = "other reasons"
PROBES_FOR_999 = 1000
"""Probes below which 99.9 % cannot be told (one failure in 999 is already below it); the
verdict's own rule is release/plan_rows.py MIN_PROBES, which a test keeps equal to this."""


def capped_reasons(counts: Mapping[str, int]) -> dict[str, int]:
    """`counts` most frequent first (ties in their first-seen order), at most MAX_REASONS
    entries: the rest are summed under OTHER_REASONS, so a failing target with ever-changing
    messages cannot grow a row without bound."""
    ordered = sorted(
        ((reason, n) for reason, n in counts.items() if n > 0 and reason != OTHER_REASONS),
        key=lambda item: -item[1],
    )
    other = counts.get(OTHER_REASONS, 0)
    if len(ordered) + (1 if other else 0) > MAX_REASONS:
        kept = ordered[: MAX_REASONS - 1]
        other += sum(n for _, n in ordered[MAX_REASONS - 1 :])
        ordered = kept
    out = dict(ordered)
    if other:
        out[OTHER_REASONS] = other
    return out


@dataclass(frozen=True)
class ProbeTally:
    """Probes finished in a span of time: how many, how many answered as expected, and why the
    others failed. Availability is `ok / sent`."""

    sent: int = 0
    """Probes that finished (answered, failed or timed out); one in flight is not counted yet."""
    ok: int = 0
    """Probes answered with an expected status (any 2xx unless `expect_status` says)."""
    failures: Mapping[str, int] = field(default_factory=dict)
    """Failed probes by reason (`HTTP 503`, `no answer within 2s`, `cannot connect: Connection
    refused`), most frequent first, capped (capped_reasons). Read it; never change it."""
    first_at: float | None = None
    """Unix time the first of these probes was sent; None when none was."""
    last_at: float | None = None
    """Unix time the last of these probes was sent."""
    skipped: int = 0
    """Ticks of the probe's grid passed over while an earlier probe was still waiting (a probe
    slower than `every`): probes are never stacked on a target that is not answering."""

    @property
    def failed(self) -> int:
        return self.sent - self.ok

    @property
    def availability(self) -> float | None:
        """ok / sent, None before any probe finished."""
        return self.ok / self.sent if self.sent else None

    def merge(self, other: ProbeTally | None) -> ProbeTally:
        """Both tallies as one (e.g. a run's total over its intervals)."""
        if other is None:
            return self
        reasons = dict(self.failures)
        for reason, count in other.failures.items():
            reasons[reason] = reasons.get(reason, 0) + count
        starts = [t for t in (self.first_at, other.first_at) if t is not None]
        ends = [t for t in (self.last_at, other.last_at) if t is not None]
        return ProbeTally(
            sent=self.sent + other.sent,
            ok=self.ok + other.ok,
            failures=capped_reasons(reasons),
            first_at=min(starts) if starts else None,
            last_at=max(ends) if ends else None,
            skipped=self.skipped + other.skipped,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "ok": self.ok,
            "failures": dict(self.failures),
            "first_at": self.first_at,
            "last_at": self.last_at,
            "skipped": self.skipped,
        }

    @classmethod
    def from_json(cls, data: Any) -> ProbeTally:
        """The tally `to_json` wrote; ValueError for anything else."""
        if not isinstance(data, dict):
            raise ValueError(f"expected a probe tally object, got {type(data).__name__}")
        counts = {k: data.get(k, 0) for k in ("sent", "ok", "skipped")}
        if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in counts.values()):
            raise ValueError(f"probe counts must be non-negative integers, got {counts}")
        if counts["ok"] > counts["sent"]:
            raise ValueError(f"more probes ok ({counts['ok']}) than sent ({counts['sent']})")
        failures = data.get("failures", {})
        if not isinstance(failures, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
            for k, v in failures.items()
        ):
            raise ValueError("probe failures must map reasons to counts")
        times = {k: data.get(k) for k in ("first_at", "last_at")}
        for key, value in times.items():
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise ValueError(f"{key} must be a Unix time or null, got {value!r}")
        return cls(
            sent=counts["sent"],
            ok=counts["ok"],
            failures=dict(failures),
            first_at=float(times["first_at"]) if times["first_at"] is not None else None,
            last_at=float(times["last_at"]) if times["last_at"] is not None else None,
            skipped=counts["skipped"],
        )


def total_tally(tallies: Iterable[ProbeTally | None]) -> ProbeTally | None:
    """The tallies merged; None when there is none (no probe configured, or an older run)."""
    total: ProbeTally | None = None
    for tally in tallies:
        if tally is not None:
            total = tally if total is None else total.merge(tally)
    return total


def truncated_percent(ok: int, sent: int) -> str:
    """ok / sent as a percentage with two decimals, truncated, never rounded up: 999 of 1,000
    is `99.90%`, 99,899 of 100,000 `99.89%` (rounding would claim a 99.9 % it did not reach)."""
    if sent <= 0:
        return "-"
    hundredths = ok * 10_000 // sent  # exact integer arithmetic: no float rounds 99.899 up
    return f"{hundredths // 100}.{hundredths % 100:02d}%"


def probe_window(tally: ProbeTally, every: float) -> float:
    """Seconds the probes cover: first sent to last sent, plus the last probe's own slot."""
    if tally.first_at is None or tally.last_at is None:
        return 0.0
    return max(0.0, tally.last_at - tally.first_at) + every
