"""`--out jsonl=FILE`: k6's NDJSON stream (`--out json`), one line per record, `.gz` gzipped.

Records have k6's shapes and key orders: a `Metric` record (`type, data, metric`) once per
metric just before its first `Point` (`metric, type, data`). The Metric record carries the
metric's own thresholds (strings, or `{threshold, abortOnFail, delayAbortEval}` objects when
abortOnFail is set) and its submetrics; as in k6, thresholds set on a submetric appear nowhere.

Unlike k6 we never write one Point per request: the engine aggregates per interval, so each
series (metric + tag set) gets at most one Point per interval snapshot, stamped with the
interval's end (`snapshot.wall_time`, RFC 3339 with nanoseconds, UTC):

* counter: `value` is the interval's sum; `metadata = {"aggregation": "interval"}`. Summing a
  series' Points gives its run total.
* trend: `value` is the interval mean; `metadata = {"aggregation": "interval", "count", "min",
  "max", "p50", "p90", "p95", "p99"}` (milliseconds for time trends).
* rate: `value` is passes / total over the interval; `metadata = {"aggregation": "interval",
  "passes", "total"}` (for http_req_failed, passes are failed requests, as in k6).
* gauge: `value` is the reading at the interval's end; no metadata.
* a metric source (`[sources.NAME]`): a gauge named after the source, one Point per reading
  that gave a value, stamped with the reading's own time; failed readings write nothing.
* the availability probe (`[availability]`): counters stamped with the interval's end, one
  Point each per interval while the probe runs (zeros included, so the series has no holes):
  `availability_probes` (probes finished), `availability_ok` (answered as expected), and
  `availability_failures` per reason (tag `reason`, e.g. `HTTP 503`) when some failed.

Note: k6 types `metadata` as string-to-string; our metadata values are JSON numbers.
The file is flushed after every snapshot so a reader can tail it live.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from ccplate_tui.config.thresholds import ThresholdSpec
from ccplate_tui.load.metrics import (
    BUILTIN_METRICS,
    Counter,
    Gauge,
    MetricInfo,
    MetricType,
    Rate,
    Sink,
    Trend,
)
from ccplate_tui.load.probe_tally import ProbeTally
from ccplate_tui.load.snapshot import IntervalSnapshot
from ccplate_tui.load.units_format import go_duration

_EXPECTED = ("expected_response:true", {"expected_response": "true"})
PROBES_METRIC = "availability_probes"
PROBES_OK_METRIC = "availability_ok"
PROBE_FAILURES_METRIC = "availability_failures"


def rfc3339_nano(unix_time: float) -> str:
    """Go's RFC3339Nano in UTC: `2026-11-26T18:24:08.10750956Z` (trailing zeros trimmed)."""
    seconds = int(unix_time // 1)
    # A float Unix time holds about microseconds; finer digits would only be noise.
    micros = round((unix_time - seconds) * 1_000_000)
    if micros == 1_000_000:
        seconds, micros = seconds + 1, 0
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if micros:
        stamp += "." + f"{micros * 1000:09d}".rstrip("0")
    return stamp + "Z"


def _dumps(record: dict[str, Any]) -> str:
    # Compact and without HTML escaping, like k6's encoder.
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def _threshold_json(spec: ThresholdSpec) -> str | dict[str, Any]:
    if not spec.abort_on_fail:
        return spec.expr.source
    delay = go_duration(spec.delay_abort_eval) if spec.delay_abort_eval is not None else None
    return {"threshold": spec.expr.source, "abortOnFail": True, "delayAbortEval": delay}


def _number(value: float) -> float | int:
    return int(value) if isinstance(value, float) and value.is_integer() else value


class NdjsonWriter:
    """Writes interval snapshots as k6 NDJSON records; use as a context manager."""

    def __init__(self, path: str | Path, thresholds: Sequence[ThresholdSpec]) -> None:
        self.path = Path(path)
        self._announced: set[str] = set()
        self._thresholds: dict[str, list[ThresholdSpec]] = {}
        self._submetrics: dict[str, list[tuple[str, str, dict[str, str]]]] = {}
        for spec in thresholds:
            if spec.key == spec.metric:
                self._thresholds.setdefault(spec.metric, []).append(spec)
            else:
                suffix = spec.key[spec.key.index("{") + 1 : -1]
                self._add_submetric(spec.metric, suffix, dict(spec.tags))
        # k6 creates this submetric for every run, after the thresholds' own.
        self._add_submetric("http_req_duration", *_EXPECTED)
        try:
            raw = self.path.open("wb")
        except OSError as exc:
            raise OSError(
                exc.errno, f"cannot open --out jsonl file {self.path}: {exc.strerror}"
            ) from exc
        self._raw: IO[bytes] = raw
        self._gzip = gzip.GzipFile(fileobj=raw, mode="wb") if self.path.suffix == ".gz" else None
        stream: IO[bytes] = self._gzip if self._gzip is not None else raw
        self._text = io.TextIOWrapper(stream, encoding="utf-8", newline="\n", write_through=True)
        self._closed = False

    def _add_submetric(self, metric: str, suffix: str, tags: dict[str, str]) -> None:
        subs = self._submetrics.setdefault(metric, [])
        if all(existing[1] != suffix for existing in subs):
            subs.append((f"{metric}{{{suffix}}}", suffix, tags))

    def _metric_record(self, metric: str, kind: MetricType = MetricType.GAUGE) -> dict[str, Any]:
        info = BUILTIN_METRICS.get(metric) or MetricInfo(metric, kind)
        subs = self._submetrics.get(metric)
        return {
            "type": "Metric",
            "data": {
                "name": metric,
                "type": info.type.value,
                "contains": info.contains,
                "thresholds": [_threshold_json(s) for s in self._thresholds.get(metric, [])],
                "submetrics": (
                    [{"name": n, "suffix": s, "tags": t} for n, s, t in subs] if subs else None
                ),
            },
            "metric": metric,
        }

    @staticmethod
    def _point_data(sink: Sink) -> tuple[float, dict[str, Any] | None] | None:
        """(value, metadata) of one interval series; None when it holds no samples."""
        if isinstance(sink, Counter):
            return _number(sink.value), {"aggregation": "interval"}
        if isinstance(sink, Gauge):
            return _number(sink.value), None
        if isinstance(sink, Rate):
            if not sink.total:
                return None
            meta = {"aggregation": "interval", "passes": sink.passes, "total": sink.total}
            return _number(sink.passes / sink.total), meta
        if isinstance(sink, Trend):
            if not sink.count:
                return None
            pct = sink.percentiles([50, 90, 95, 99])
            meta = {
                "aggregation": "interval",
                "count": sink.count,
                "min": _number(sink.min),
                "max": _number(sink.max),
                "p50": _number(pct[50]),
                "p90": _number(pct[90]),
                "p95": _number(pct[95]),
                "p99": _number(pct[99]),
            }
            return _number(sink.avg), meta
        raise TypeError(f"unknown sink type {type(sink).__name__}")

    def write_snapshot(self, snapshot: IntervalSnapshot) -> None:
        """Append one interval's Points (and any first-seen Metric records), then flush."""
        if self._closed:
            raise ValueError(f"NDJSON output {self.path} is already closed")
        stamp = rfc3339_nano(snapshot.wall_time)
        lines: list[str] = []
        for (metric, tags), sink in sorted(snapshot.metrics.series.items(), key=lambda kv: kv[0]):
            point = self._point_data(sink)
            if point is None:
                continue
            if metric not in self._announced:
                self._announced.add(metric)
                lines.append(_dumps(self._metric_record(metric)))
            value, meta = point
            data: dict[str, Any] = {"time": stamp, "value": value, "tags": dict(tags)}
            if meta is not None:
                data["metadata"] = meta
            lines.append(_dumps({"metric": metric, "type": "Point", "data": data}))
        for sample in snapshot.sources:
            if sample.value is None:
                continue
            if sample.name not in self._announced:
                self._announced.add(sample.name)
                lines.append(_dumps(self._metric_record(sample.name)))
            data = {"time": rfc3339_nano(sample.wall_time), "value": _number(sample.value)}
            point = {"metric": sample.name, "type": "Point", "data": {**data, "tags": {}}}
            lines.append(_dumps(point))
        if snapshot.probes is not None:
            lines.extend(self._probe_lines(snapshot.probes, stamp))
        if lines:
            self._text.write("\n".join(lines) + "\n")
        self.flush()

    def _probe_lines(self, tally: ProbeTally, stamp: str) -> list[str]:
        """The availability probe's counters for one interval (see the module's docstring)."""
        lines: list[str] = []
        points: list[tuple[str, int, dict[str, str]]] = [
            (PROBES_METRIC, tally.sent, {}),
            (PROBES_OK_METRIC, tally.ok, {}),
            *((PROBE_FAILURES_METRIC, n, {"reason": r}) for r, n in tally.failures.items()),
        ]
        for metric, value, tags in points:
            if metric not in self._announced:
                self._announced.add(metric)
                lines.append(_dumps(self._metric_record(metric, MetricType.COUNTER)))
            meta = {"aggregation": "interval"}
            data = {"time": stamp, "value": value, "tags": tags, "metadata": meta}
            lines.append(_dumps({"metric": metric, "type": "Point", "data": data}))
        return lines

    def flush(self) -> None:
        self._text.flush()
        if self._gzip is not None:
            # A sync flush ends the deflate block, so a reader can decompress what is written.
            self._gzip.flush()
        self._raw.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._text.flush()
        self._text.detach()
        if self._gzip is not None:
            self._gzip.close()
        self._raw.close()

    def __enter__(self) -> NdjsonWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
