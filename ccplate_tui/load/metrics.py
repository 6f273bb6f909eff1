"""Per-interval metric series: HDR-histogram trends, counters, rates and gauges, keyed by tags.

Everything here merges: worker snapshots of one interval `combine` into the run's interval, and
intervals `accumulate` into run totals, in constant memory however long the run.
"""

from __future__ import annotations

import math
import weakref
from collections import Counter as _Tally
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import reduce
from operator import add

from hdrh.histogram import HdrHistogram

Tags = tuple[tuple[str, str], ...]
SeriesKey = tuple[str, Tags]

_HDR_LOWEST_US = 1
"""The histogram's resolution (1 µs); below it a value is recorded as 0, which HDR holds in its
first bucket, so a trend of zeros (a reused connection's connecting time) reads 0, as in k6."""
_HDR_HIGHEST_US = 3_600_000_000
_HDR_DIGITS = 3


class MetricType(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    RATE = "rate"
    TREND = "trend"


@dataclass(frozen=True)
class MetricInfo:
    name: str
    type: MetricType
    contains: str = "default"
    """k6's unit marker: `time` (milliseconds), `data` (bytes) or `default`."""


def _info(name: str, type_: MetricType, contains: str = "default") -> tuple[str, MetricInfo]:
    return name, MetricInfo(name, type_, contains)


BUILTIN_METRICS: dict[str, MetricInfo] = dict(
    [
        _info("http_reqs", MetricType.COUNTER),
        _info("http_req_duration", MetricType.TREND, "time"),
        _info("http_req_duration_uncorrected", MetricType.TREND, "time"),
        _info("http_req_blocked", MetricType.TREND, "time"),
        _info("http_req_connecting", MetricType.TREND, "time"),
        _info("http_req_tls_handshaking", MetricType.TREND, "time"),
        _info("http_req_sending", MetricType.TREND, "time"),
        _info("http_req_waiting", MetricType.TREND, "time"),
        _info("http_req_receiving", MetricType.TREND, "time"),
        _info("http_req_failed", MetricType.RATE),
        _info("checks", MetricType.RATE),
        _info("iterations", MetricType.COUNTER),
        _info("iteration_duration", MetricType.TREND, "time"),
        _info("group_duration", MetricType.TREND, "time"),
        _info("dropped_iterations", MetricType.COUNTER),
        _info("vus", MetricType.GAUGE),
        _info("vus_max", MetricType.GAUGE),
        _info("data_sent", MetricType.COUNTER, "data"),
        _info("data_received", MetricType.COUNTER, "data"),
    ]
)
"""k6's built-in metric names (plus the uncorrected latency of open-model scenarios)."""


def _acyclic(hdr: HdrHistogram) -> HdrHistogram:
    """Break hdrh's histogram <-> encoder reference cycle so a dropped histogram is freed at once.

    With the cycle, every interval's ~200 KB count arrays wait for Python's cyclic collector and
    the process grows between collections.
    """
    hdr.encoder.histogram = weakref.proxy(hdr)
    return hdr


def _new_hdr() -> HdrHistogram:
    return _acyclic(HdrHistogram(_HDR_LOWEST_US, _HDR_HIGHEST_US, _HDR_DIGITS))


class Trend:
    """Milliseconds in an HDR histogram (µs resolution) plus exact count, sum, min and max."""

    __slots__ = ("count", "hdr", "max", "min", "total")

    def __init__(self) -> None:
        self.hdr = _new_hdr()
        self.count = 0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf

    def add(self, ms: float) -> None:
        us = int(ms * 1000.0)
        self.hdr.record_value(0 if us < 0 else (_HDR_HIGHEST_US if us > _HDR_HIGHEST_US else us))
        self.count += 1
        self.total += ms
        if ms < self.min:
            self.min = ms
        if ms > self.max:
            self.max = ms

    def merge(self, other: Trend) -> None:
        if not other.count:
            return
        self.hdr.add(other.hdr)
        self.count += other.count
        self.total += other.total
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    @property
    def avg(self) -> float:
        return self.total / self.count if self.count else 0.0

    def percentile(self, p: float) -> float:
        """The p-th percentile in ms (0 with no data, as k6 reports an empty trend)."""
        if not self.count:
            return 0.0
        if p <= 0:
            return self.min
        if p >= 100:
            return self.max
        value = self.hdr.get_value_at_percentile(p) / 1000.0
        return min(max(value, self.min), self.max)

    def percentiles(self, ps: list[float]) -> dict[float, float]:
        """Several percentiles in one pass over the histogram."""
        if not self.count:
            return dict.fromkeys(ps, 0.0)
        inner = [p for p in ps if 0 < p < 100]
        raw = self.hdr.get_percentile_to_value_dict(inner) if inner else {}
        out = {}
        for p in ps:
            if p <= 0:
                out[p] = self.min
            elif p >= 100:
                out[p] = self.max
            else:
                out[p] = min(max(raw[p] / 1000.0, self.min), self.max)
        return out

    def __getstate__(self) -> tuple:
        return (
            self.hdr.encode() if self.count else b"",
            self.count,
            self.total,
            self.min,
            self.max,
        )

    def __setstate__(self, state: tuple) -> None:
        blob, self.count, self.total, self.min, self.max = state
        self.hdr = _acyclic(HdrHistogram.decode(blob)) if blob else _new_hdr()


def _hdr_layout() -> tuple[bool, int, int]:
    """hdrh's bucket layout for our histograms, and whether TrendBuilder may index it itself:
    only when the arithmetic below matches hdrh's own on every bucket boundary."""
    probe = _new_hdr()
    half = probe.sub_bucket_half_count_magnitude
    usable = probe.unit_magnitude == 0
    if usable:
        for value in (0, 1, 2047, 2048, 2049, 4095, 4096, 65_537, 1_000_003, _HDR_HIGHEST_US):
            bucket = max(0, value.bit_length() - half - 1)
            index = ((bucket + 1) << half) + (value >> bucket) - (1 << half)
            usable = usable and index == probe._counts_index_for(value)
    return usable, half, probe.sub_bucket_count


_INLINE_HDR_INDEX, _HALF_MAGNITUDE, _SUB_BUCKETS = _hdr_layout()
_HALF_COUNT = 1 << _HALF_MAGNITUDE

_TO_US = (1000.0).__mul__
"""`ms * 1000.0` as a C callable for `map` (IEEE multiplication commutes: the same float)."""


class TrendBuilder:
    """Builds a Trend from batches of values for a fraction of `Trend.add`'s cost per value.

    The result is exactly what adding the values one by one gives: the same count, the same sum
    (added in the same order), min, max and HDR counts. Only the histogram is recorded
    differently: values are tallied by whole microsecond in C (`collections.Counter`) and each
    distinct microsecond gets one `record_value(us, count)`, at `build` or when the tally holds
    `max_bins` of them (so memory stays bounded however many values come). A batch of zeros,
    as a reused connection's connecting and TLS phases are, is just counted.
    """

    __slots__ = ("bins", "max_bins", "trend")

    def __init__(self, max_bins: int = 4096) -> None:
        self.trend = Trend()
        self.bins: _Tally[int] = _Tally()
        self.max_bins = max_bins

    def add_many(self, values: Sequence[float]) -> None:
        n = len(values)
        if not n:
            return
        trend = self.trend
        trend.count += n
        if values.count(0.0) == n:
            # Adding zeros leaves the sum as it is; all equal, so min and max are the first.
            self.bins[0] += n
            low = high = values[0]
        else:
            trend.total = reduce(add, values, trend.total)
            low = min(values)
            high = max(values)
            self.bins.update(map(int, map(_TO_US, values)))
            if len(self.bins) > self.max_bins:
                self._drain()
        if low < trend.min:
            trend.min = low
        if high > trend.max:
            trend.max = high

    def _drain(self) -> None:
        """Each distinct microsecond into the histogram with its count: what hdrh's
        `record_value(us, count)` does, with its bucket arithmetic inlined (4x cheaper)."""
        bins = self.bins
        hdr = self.trend.hdr
        if not _INLINE_HDR_INDEX:
            record = hdr.record_value
            for us, count in bins.items():
                record(0 if us < 0 else (_HDR_HIGHEST_US if us > _HDR_HIGHEST_US else us), count)
            self.bins = _Tally()
            return
        counts = hdr.counts
        for us, count in bins.items():
            if us < _SUB_BUCKETS:
                counts[0 if us < 0 else us] += count
            else:
                # hdrh's _counts_index_for (unit magnitude 0): bucket b holds 2^b-wide steps.
                value = _HDR_HIGHEST_US if us > _HDR_HIGHEST_US else us
                bucket = value.bit_length() - _HALF_MAGNITUDE - 1
                counts[((bucket + 1) << _HALF_MAGNITUDE) + (value >> bucket) - _HALF_COUNT] += count
        low, high = min(bins), max(bins)
        hdr.total_count += bins.total()
        hdr.min_value = min(hdr.min_value, 0 if low < 0 else min(low, _HDR_HIGHEST_US))
        hdr.max_value = max(hdr.max_value, 0 if high < 0 else min(high, _HDR_HIGHEST_US))
        self.bins = _Tally()

    def build(self) -> Trend:
        """The Trend of every value added so far (later batches keep adding to it)."""
        if self.bins:
            self._drain()
        return self.trend


class Counter:
    __slots__ = ("value",)

    def __init__(self, value: float = 0.0) -> None:
        self.value = value

    def merge(self, other: Counter) -> None:
        self.value += other.value

    def __getstate__(self) -> float:
        return self.value

    def __setstate__(self, state: float) -> None:
        self.value = state


class Rate:
    """k6 Rate: `passes` counts non-zero samples (so failed requests are http_req_failed passes)."""

    __slots__ = ("passes", "total")

    def __init__(self, passes: int = 0, total: int = 0) -> None:
        self.passes = passes
        self.total = total

    def add(self, nonzero: bool) -> None:
        self.total += 1
        if nonzero:
            self.passes += 1

    def merge(self, other: Rate) -> None:
        self.passes += other.passes
        self.total += other.total

    @property
    def fails(self) -> int:
        return self.total - self.passes

    @property
    def rate(self) -> float | None:
        return self.passes / self.total if self.total else None

    def __getstate__(self) -> tuple[int, int]:
        return self.passes, self.total

    def __setstate__(self, state: tuple[int, int]) -> None:
        self.passes, self.total = state


class Gauge:
    """Last value, with the min and max seen."""

    __slots__ = ("max", "min", "value")

    def __init__(self, value: float = 0.0) -> None:
        self.value = value
        self.min = value
        self.max = value

    def set(self, value: float) -> None:
        self.value = value
        self.min = min(self.min, value)
        self.max = max(self.max, value)

    def combine(self, other: Gauge) -> None:
        """Same instant, another source (e.g. another worker's VUs): the values add up."""
        self.value += other.value
        self.min += other.min
        self.max += other.max

    def merge(self, other: Gauge) -> None:
        """A later reading: it replaces the value and widens the range."""
        self.value = other.value
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    def __getstate__(self) -> tuple[float, float, float]:
        return self.value, self.min, self.max

    def __setstate__(self, state: tuple[float, float, float]) -> None:
        self.value, self.min, self.max = state


Sink = Trend | Counter | Rate | Gauge

_SINK_FOR_TYPE: dict[MetricType, type] = {
    MetricType.TREND: Trend,
    MetricType.COUNTER: Counter,
    MetricType.RATE: Rate,
    MetricType.GAUGE: Gauge,
}


def metric_type(name: str) -> MetricType:
    info = BUILTIN_METRICS.get(name)
    if info is None:
        raise KeyError(f"unknown metric {name!r}")
    return info.type


def new_sink(metric: str) -> Sink:
    return _SINK_FOR_TYPE[metric_type(metric)]()


def _copy_sink(sink: Sink) -> Sink:
    clone = type(sink).__new__(type(sink))
    clone.__setstate__(sink.__getstate__())
    return clone


def tags_match(tags: Tags, wanted: Tags) -> bool:
    """True when every wanted pair is among `tags` (k6 submetric selection)."""
    if not wanted:
        return True
    have = dict(tags)
    return all(have.get(k) == v for k, v in wanted)


@dataclass
class MetricSet:
    """Series keyed by (metric, tags); merging is per key."""

    series: dict[SeriesKey, Sink] = field(default_factory=dict)

    def sink(self, metric: str, tags: Tags = ()) -> Sink:
        key = (metric, tags)
        found = self.series.get(key)
        if found is None:
            found = self.series[key] = new_sink(metric)
        return found

    def combine(self, other: MetricSet) -> None:
        """Add another source's series for the same time span (gauges add up)."""
        for key, sink in other.series.items():
            mine = self.series.get(key)
            if mine is None:
                self.series[key] = _copy_sink(sink)
            elif isinstance(mine, Gauge):
                mine.combine(sink)  # type: ignore[arg-type]
            else:
                mine.merge(sink)  # type: ignore[arg-type]

    def accumulate(self, later: MetricSet) -> None:
        """Add a later time span's series (gauges take the later value)."""
        for key, sink in later.series.items():
            mine = self.series.get(key)
            if mine is None:
                self.series[key] = _copy_sink(sink)
            else:
                mine.merge(sink)  # type: ignore[arg-type]

    def select(self, metric: str, wanted: Tags = ()) -> Sink | None:
        """All series of `metric` whose tags include `wanted`, combined; None when there are none."""
        out: Sink | None = None
        for (name, tags), sink in self.series.items():
            if name != metric or not tags_match(tags, wanted):
                continue
            if out is None:
                out = _copy_sink(sink)
            elif isinstance(out, Gauge):
                out.combine(sink)  # type: ignore[arg-type]
            else:
                out.merge(sink)  # type: ignore[arg-type]
        return out

    def server_errors(self) -> int:
        """Responses with a 5xx status (`http_reqs` tagged `status`): the errors a server
        should have reported to its error tracker."""
        total = 0.0
        for (name, tags), sink in self.series.items():
            status = dict(tags).get("status", "") if name == "http_reqs" else ""
            if len(status) == 3 and status.startswith("5") and isinstance(sink, Counter):
                total += sink.value
        return int(total)

    def metric_names(self) -> list[str]:
        return sorted({name for name, _ in self.series})

    def tag_values(self, metric: str, key: str) -> list[str]:
        """Distinct values of one tag across a metric's series, e.g. every request `name`."""
        found = {dict(tags).get(key) for name, tags in self.series if name == metric}
        return sorted(v for v in found if v is not None)

    def tag_groups(self, metric: str, keys: Sequence[str]) -> list[tuple[str, ...]]:
        """Distinct combinations of several tags across a metric's series, sorted; a series
        without one of the tags has "" in its place."""
        found = {
            tuple(dict(tags).get(key, "") for key in keys)
            for name, tags in self.series
            if name == metric
        }
        return sorted(found)
