"""Compare two runs' totals: per metric and per request name, with regressions flagged.

Pure functions over MetricSets, so the command, the dashboard and tests share one judgement.
A row is a regression when it moved the wrong way by more than its flag allows: latency up by
more than `latency_pct` %, an error rate up (or the checks' pass rate down) by more than
`error_pp` percentage points, throughput down by more than `throughput_pct` %; and, so that
machine noise is not called a regression, by more than an absolute floor too: `min_latency_ms`
for latencies (a 1 ms p99 that reads 7.8 ms next time is +680 % of nothing), `min_rate_pp`
percentage points for rates. A short run is named in the notes: its percentiles are noisy.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ccplate_tui.load.metrics import Counter, MetricSet, Rate, Tags, Trend
from ccplate_tui.load.units_format import humanize_ms, js_number


class Kind(StrEnum):
    """What a row measures, which decides its unit and which way is worse."""

    LATENCY = "latency"
    """Milliseconds; up is worse."""
    ERROR_RATE = "error_rate"
    """A fraction of failures; up is worse (percentage points)."""
    PASS_RATE = "pass_rate"
    """A fraction of successes (checks); down is worse (percentage points)."""
    THROUGHPUT = "throughput"
    """Per second; down is worse."""
    COUNT = "count"
    """A plain count; never flagged (it depends on the run's length)."""


@dataclass(frozen=True)
class Flags:
    """How far a row may move the wrong way before it is flagged as a regression: past the
    relative flag of its kind and past the absolute floor of its unit, both."""

    latency_pct: float = 10.0
    error_pp: float = 0.5
    throughput_pct: float = 10.0
    min_latency_ms: float = 1.0
    """A latency must also rise by more than this many ms."""
    min_rate_pp: float = 0.1
    """An error or pass rate must also move by more than this many percentage points."""


SHORT_RUN_SECONDS = 30.0
FEW_REQUESTS = 1000
"""A run shorter than SHORT_RUN_SECONDS or with fewer than FEW_REQUESTS requests is short: its
p(95)/p(99) rest on a handful of samples (10 above the p99 of 1,000) and move by chance."""


@dataclass(frozen=True)
class Row:
    """One compared figure."""

    label: str
    """What is compared, e.g. `http_req_duration p(95)` or `p(95)` under a request name."""
    kind: Kind
    base: float | None
    new: float | None
    request: str | None = None
    """The request `name` tag for per-request rows, None for run-wide metrics."""
    regression: bool = False
    within_noise: bool = False
    """Past the relative flag but not past the absolute floor: not flagged, but noted."""

    @property
    def change(self) -> float | None:
        """new - base (ms, fraction or count), None when either side has no data."""
        if self.base is None or self.new is None:
            return None
        return self.new - self.base

    @property
    def change_pct(self) -> float | None:
        """The relative change in %, None without data or from a base of 0."""
        if self.change is None or not self.base:
            return None
        return self.change / abs(self.base) * 100.0


@dataclass(frozen=True)
class Comparison:
    metrics: tuple[Row, ...]
    requests: tuple[Row, ...]
    flags: Flags
    notes: tuple[str, ...] = ()

    @property
    def regressions(self) -> tuple[Row, ...]:
        return tuple(r for r in (*self.metrics, *self.requests) if r.regression)


@dataclass(frozen=True)
class RunFigures:
    """What a comparison needs of one run: its merged totals, how long it ran (s) and, for the
    notes, what to call it (e.g. its run id)."""

    totals: MetricSet
    duration: float
    name: str | None = None


def _trend(totals: MetricSet, metric: str, tags: Tags = ()) -> Trend | None:
    sink = totals.select(metric, tags)
    return sink if isinstance(sink, Trend) and sink.count else None


def _rate(totals: MetricSet, metric: str, tags: Tags = ()) -> float | None:
    sink = totals.select(metric, tags)
    return sink.rate if isinstance(sink, Rate) else None


def _count(totals: MetricSet, metric: str, tags: Tags = ()) -> float | None:
    sink = totals.select(metric, tags)
    return sink.value if isinstance(sink, Counter) else None


def _latency(trend: Trend | None, stat: str) -> float | None:
    if trend is None:
        return None
    if stat == "avg":
        return trend.avg
    return trend.percentile(float(stat[2:-1]))


def past_relative_flag(kind: Kind, base: float | None, new: float | None, flags: Flags) -> bool:
    """True when `new` is worse than `base` by more than the relative flag for `kind` allows."""
    if base is None or new is None:
        return False
    if kind is Kind.LATENCY:
        return new > base * (1 + flags.latency_pct / 100.0)
    if kind is Kind.ERROR_RATE:
        return (new - base) * 100.0 > flags.error_pp
    if kind is Kind.PASS_RATE:
        return (base - new) * 100.0 > flags.error_pp
    if kind is Kind.THROUGHPUT:
        return new < base * (1 - flags.throughput_pct / 100.0)
    return False


def past_floor(kind: Kind, base: float | None, new: float | None, flags: Flags) -> bool:
    """True when the move is larger than the absolute floor of the row's unit (throughput and
    counts have none: their relative flag stands alone)."""
    if base is None or new is None:
        return False
    if kind is Kind.LATENCY:
        return new - base > flags.min_latency_ms
    if kind in (Kind.ERROR_RATE, Kind.PASS_RATE):
        return abs(new - base) * 100.0 > flags.min_rate_pp
    return True


def is_regression(kind: Kind, base: float | None, new: float | None, flags: Flags) -> bool:
    """True when `new` is worse than `base` past both the relative flag and the floor."""
    return past_relative_flag(kind, base, new, flags) and past_floor(kind, base, new, flags)


def _row(
    label: str,
    kind: Kind,
    base: float | None,
    new: float | None,
    flags: Flags,
    request: str | None = None,
) -> Row:
    relative = past_relative_flag(kind, base, new, flags)
    floor = past_floor(kind, base, new, flags)
    return Row(label, kind, base, new, request, relative and floor, relative and not floor)


_LATENCY_STATS = ("avg", "p(50)", "p(95)", "p(99)")


def _metric_rows(base: RunFigures, new: RunFigures, flags: Flags) -> list[Row]:
    rows = []
    base_trend = _trend(base.totals, "http_req_duration")
    new_trend = _trend(new.totals, "http_req_duration")
    for stat in _LATENCY_STATS:
        rows.append(
            _row(
                f"http_req_duration {stat}",
                Kind.LATENCY,
                _latency(base_trend, stat),
                _latency(new_trend, stat),
                flags,
            )
        )
    rows.append(
        _row(
            "http_req_failed rate",
            Kind.ERROR_RATE,
            _rate(base.totals, "http_req_failed"),
            _rate(new.totals, "http_req_failed"),
            flags,
        )
    )
    rows.append(
        _row(
            "http_reqs rate",
            Kind.THROUGHPUT,
            _per_second(_count(base.totals, "http_reqs"), base.duration),
            _per_second(_count(new.totals, "http_reqs"), new.duration),
            flags,
        )
    )
    rows.append(
        _row(
            "iterations",
            Kind.COUNT,
            _count(base.totals, "iterations"),
            _count(new.totals, "iterations"),
            flags,
        )
    )
    rows.append(
        _row(
            "checks rate",
            Kind.PASS_RATE,
            _rate(base.totals, "checks"),
            _rate(new.totals, "checks"),
            flags,
        )
    )
    return rows


def _per_second(count: float | None, duration: float) -> float | None:
    if count is None or duration <= 0:
        return None
    return count / duration


def _request_rows(base: RunFigures, new: RunFigures, flags: Flags) -> list[Row]:
    names = sorted(
        {*base.totals.tag_values("http_reqs", "name"), *new.totals.tag_values("http_reqs", "name")}
    )
    rows = []
    for name in names:
        tags = (("name", name),)
        base_trend = _trend(base.totals, "http_req_duration", tags)
        new_trend = _trend(new.totals, "http_req_duration", tags)
        for stat in ("p(95)", "p(99)"):
            rows.append(
                _row(
                    stat,
                    Kind.LATENCY,
                    _latency(base_trend, stat),
                    _latency(new_trend, stat),
                    flags,
                    name,
                )
            )
        rows.append(
            _row(
                "error rate",
                Kind.ERROR_RATE,
                _rate(base.totals, "http_req_failed", tags),
                _rate(new.totals, "http_req_failed", tags),
                flags,
                name,
            )
        )
        rows.append(
            _row(
                "count",
                Kind.COUNT,
                _count(base.totals, "http_reqs", tags),
                _count(new.totals, "http_reqs", tags),
                flags,
                name,
            )
        )
    return rows


def compare_runs(
    base: RunFigures, new: RunFigures, flags: Flags | None = None, notes: tuple[str, ...] = ()
) -> Comparison:
    """Every compared row of `new` against `base`."""
    flags = flags or Flags()
    metrics = _metric_rows(base, new, flags)
    requests = _request_rows(base, new, flags)
    extra = list(notes)
    short = short_run_note(base, new)
    if short:
        extra.append(short)
    quiet = [r for r in (*metrics, *requests) if r.within_noise]
    if quiet:
        extra.append(
            f"within the noise floor ({_floor_text(flags)}), not flagged: "
            + ", ".join(regression_label(r) for r in quiet)
        )
    for counts in (r for r in requests if r.kind is Kind.COUNT):
        if counts.base is None:
            extra.append(f"request {counts.request!r} is new: the base run did not send it")
        elif counts.new is None:
            extra.append(f"request {counts.request!r} is gone: only the base run sent it")
    return Comparison(tuple(metrics), tuple(requests), flags, tuple(extra))


def _short(figures: RunFigures) -> str | None:
    """`15.6s, 1,238 requests` when the run is short, else None."""
    requests = _count(figures.totals, "http_reqs") or 0.0
    if figures.duration >= SHORT_RUN_SECONDS and requests >= FEW_REQUESTS:
        return None
    return f"{humanize_ms(figures.duration * 1000)}, {requests:,.0f} requests"


def short_run_note(base: RunFigures, new: RunFigures) -> str | None:
    """A note when the base (or the new run) is too short for its percentiles to mean much."""
    base_short, new_short = _short(base), _short(new)
    if base_short is None and new_short is None:
        return None
    why = (
        f"under {SHORT_RUN_SECONDS:g}s or {FEW_REQUESTS:,d} requests, percentiles move by chance "
        "from run to run"
    )
    if base_short is None:
        name = new.name or "the new run"
        return f"{name} is a short run ({new_short}): its figures are noisy ({why})"
    text = (
        f"the base{f' {base.name}' if base.name else ''} is a single short run ({base_short}): "
        f"its figures are noisy ({why}); make a longer run the baseline (e.g. at --time-scale 1) "
        "to trust small changes"
    )
    if new_short is not None:
        text += f"; {new.name or 'the new run'} is short too ({new_short})"
    return text


def _floor_text(flags: Flags) -> str:
    return f"latency {_ms(flags.min_latency_ms)}, rates {flags.min_rate_pp:g} pp"


def _ms(value: float) -> str:
    return "0ms" if value == 0 else humanize_ms(value)


# --- presentation -----------------------------------------------------------------------------


def format_value(kind: Kind, value: float | None) -> str:
    """A row's value in its unit: ms as k6 prints them, rates in %, throughput per second."""
    if value is None:
        return "-"
    if kind is Kind.LATENCY:
        return humanize_ms(value)
    if kind in (Kind.ERROR_RATE, Kind.PASS_RATE):
        return f"{value * 100:.2f}%"
    if kind is Kind.THROUGHPUT:
        return f"{value:.2f}/s"
    return js_number(value)


def format_change(row: Row) -> str:
    """The absolute change in the row's unit (pp for rates) and the relative one in %."""
    change = row.change
    if change is None:
        return "-"
    sign = "+" if change >= 0 else "-"
    if row.kind is Kind.LATENCY:
        absolute = sign + humanize_ms(abs(change))
    elif row.kind in (Kind.ERROR_RATE, Kind.PASS_RATE):
        absolute = f"{sign}{abs(change) * 100:.2f} pp"
    elif row.kind is Kind.THROUGHPUT:
        absolute = f"{sign}{abs(change):.2f}/s"
    else:
        absolute = sign + js_number(abs(change))
    pct = row.change_pct
    return absolute if pct is None else f"{absolute} ({pct:+.1f}%)"


def row_to_json(row: Row) -> dict[str, Any]:
    data: dict[str, Any] = {
        "label": row.label,
        "kind": row.kind.value,
        "base": row.base,
        "new": row.new,
        "change": row.change,
        "change_pct": row.change_pct,
        "regression": row.regression,
        "within_noise": row.within_noise,
    }
    if row.request is not None:
        data = {"request": row.request, **data}
    return data


def comparison_to_json(comparison: Comparison) -> dict[str, Any]:
    """Plain JSON data: flags, metric rows, request rows, regressions (labels) and notes."""
    return {
        "flags": {
            "latency_pct": comparison.flags.latency_pct,
            "error_pp": comparison.flags.error_pp,
            "throughput_pct": comparison.flags.throughput_pct,
            "min_latency_ms": comparison.flags.min_latency_ms,
            "min_rate_pp": comparison.flags.min_rate_pp,
        },
        "metrics": [row_to_json(r) for r in comparison.metrics],
        "requests": [row_to_json(r) for r in comparison.requests],
        "regressions": [regression_label(r) for r in comparison.regressions],
        "notes": list(comparison.notes),
    }


def regression_label(row: Row) -> str:
    """`http_req_duration p(95) +12.3ms (+25.0%)` or `login p(95) ...` for a request row."""
    what = row.label if row.request is None else f"{row.request} {row.label}"
    return f"{what} {format_change(row)}"
