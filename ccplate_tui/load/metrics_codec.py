"""MetricSet <-> JSON, lossless: what the run history stores for every interval and run.

A Trend keeps its HDR histogram as hdrh's own encoding (zlib + base64 text) beside the exact
count, sum, min and max, so any percentile can be recomputed later exactly as the engine would.
Counters, rates and gauges keep their raw values; tags stay ordered pairs, as the engine keys them.

Core module: no Textual here.
"""

from __future__ import annotations

import math
from typing import Any

from ccplate_tui.load.metrics import Counter, Gauge, MetricSet, Rate, Sink, Tags, Trend

FORMAT = 1


class MetricsCodecError(ValueError):
    """JSON that is not an encoded MetricSet; the message gives the key path and what was wanted."""


def metric_set_to_json(ms: MetricSet) -> dict[str, Any]:
    """A JSON-safe dict (no inf/NaN) holding every series of `ms`."""
    return {"format": FORMAT, "series": [_series(m, t, s) for (m, t), s in ms.series.items()]}


def _series(metric: str, tags: Tags, sink: Sink) -> dict[str, Any]:
    out: dict[str, Any] = {"metric": metric, "tags": [[k, v] for k, v in tags]}
    if isinstance(sink, Trend):
        out.update(
            type="trend",
            count=sink.count,
            sum=sink.total,
            # An empty trend's min/max are +-inf, which JSON cannot hold.
            min=sink.min if sink.count else None,
            max=sink.max if sink.count else None,
            hdr=sink.hdr.encode().decode("ascii") if sink.count else "",
        )
    elif isinstance(sink, Counter):
        out.update(type="counter", value=sink.value)
    elif isinstance(sink, Rate):
        out.update(type="rate", passes=sink.passes, total=sink.total)
    elif isinstance(sink, Gauge):
        out.update(type="gauge", value=sink.value, min=sink.min, max=sink.max)
    else:  # pragma: no cover - the Sink union is closed
        raise TypeError(f"cannot encode a {type(sink).__name__}")
    return out


def metric_set_from_json(d: Any) -> MetricSet:
    """The MetricSet encoded in `d`; MetricsCodecError naming the bad key path otherwise."""
    if not isinstance(d, dict):
        raise MetricsCodecError(f"expected an object, got {_kind(d)}")
    if d.get("format") != FORMAT:
        raise MetricsCodecError(f"format: expected {FORMAT}, got {_kind(d.get('format'))}")
    series = d.get("series")
    if not isinstance(series, list):
        raise MetricsCodecError(f"series: expected a list, got {_kind(series)}")
    out = MetricSet()
    for index, item in enumerate(series):
        where = f"series[{index}]"
        if not isinstance(item, dict):
            raise MetricsCodecError(f"{where}: expected an object, got {_kind(item)}")
        metric = _field(item, "metric", str, where)
        tags = _tags(item.get("tags"), f"{where}.tags")
        key = (metric, tags)
        if key in out.series:
            raise MetricsCodecError(f"{where}: series {metric}{dict(tags)} appears twice")
        out.series[key] = _sink(item, where)
    return out


def _sink(item: dict[str, Any], where: str) -> Sink:
    kind = item.get("type")
    if kind == "trend":
        return _trend(item, where)
    if kind == "counter":
        return Counter(_number(item, "value", where))
    if kind == "rate":
        passes = _count(item, "passes", where)
        total = _count(item, "total", where)
        if passes > total:
            raise MetricsCodecError(f"{where}.passes: {passes} is more than total {total}")
        return Rate(passes, total)
    if kind == "gauge":
        gauge = Gauge()
        gauge.__setstate__(
            (
                _number(item, "value", where),
                _number(item, "min", where),
                _number(item, "max", where),
            )
        )
        return gauge
    raise MetricsCodecError(
        f"{where}.type: expected trend, counter, rate or gauge, got {_kind(kind)}"
    )


def _trend(item: dict[str, Any], where: str) -> Trend:
    trend = Trend()
    count = _count(item, "count", where)
    total = _number(item, "sum", where)
    if not count:
        trend.total = total
        return trend
    blob = _field(item, "hdr", str, where)
    low, high = _number(item, "min", where), _number(item, "max", where)
    try:
        trend.__setstate__((blob.encode("ascii"), count, total, low, high))
    except Exception as exc:  # hdrh raises assorted errors on a bad blob
        raise MetricsCodecError(f"{where}.hdr: not an encoded HDR histogram ({exc})") from exc
    if trend.hdr.get_total_count() != count:
        raise MetricsCodecError(
            f"{where}.hdr: holds {trend.hdr.get_total_count()} values, count says {count}"
        )
    return trend


def _tags(value: Any, where: str) -> Tags:
    if not isinstance(value, list):
        raise MetricsCodecError(
            f"{where}: expected a list of [key, value] pairs, got {_kind(value)}"
        )
    pairs = []
    for index, pair in enumerate(value):
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(part, str) for part in pair)
        ):
            raise MetricsCodecError(
                f"{where}[{index}]: expected a [key, value] pair of strings, got {_kind(pair)}"
            )
        pairs.append((pair[0], pair[1]))
    return tuple(pairs)


def _field(item: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in item:
        raise MetricsCodecError(f"{where}: missing {key!r}")
    value = item[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise MetricsCodecError(f"{where}.{key}: expected {kind.__name__}, got {_kind(value)}")
    return value


def _number(item: dict[str, Any], key: str, where: str) -> float:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MetricsCodecError(f"{where}.{key}: expected a finite number, got {_kind(value)}")
    return float(value)


def _count(item: dict[str, Any], key: str, where: str) -> int:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MetricsCodecError(
            f"{where}.{key}: expected a count (integer >= 0), got {_kind(value)}"
        )
    return value


def _kind(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"
