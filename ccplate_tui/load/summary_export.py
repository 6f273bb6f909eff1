"""k6's legacy `--summary-export` JSON, plus the aggregates the text summary shares with it.

The shape is what k6's `oldJSONSummary` writes: `root_group` with groups and checks keyed by name
(ids are md5 of the k6 path), and `metrics` flat per metric key, where a threshold's boolean is
inverted (`true` means it FAILED). Our own facts go under a top-level `ccplate` key, which k6
tools ignore.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccplate_tui.config.model import Config
from ccplate_tui.load.metrics import (
    BUILTIN_METRICS,
    Counter,
    Gauge,
    MetricSet,
    MetricType,
    Rate,
    Sink,
    Tags,
    Trend,
)
from ccplate_tui.load.results import RunResult
from ccplate_tui.load.thresholds import ThresholdResult

GROUP_SEPARATOR = "::"
EXPECTED_SUBMETRIC = "http_req_duration{expected_response:true}"
_PERCENTILE = re.compile(r"^p\((\d+(?:\.\d+)?)\)$")


def json_number(value: float) -> float | int:
    """Whole floats as ints, so counts read `3013` as in k6's JSON, not `3013.0`."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def k6_id(path: str) -> str:
    """k6's group/check id: the md5 hex of its path (`""` for the root group)."""
    return hashlib.md5(path.encode()).hexdigest()


def trend_stat(trend: Trend, stat: str) -> float:
    """One `summaryTrendStats` column of a trend, in ms (0 for an empty trend, as k6)."""
    if stat == "count":
        return float(trend.count)
    if not trend.count:
        return 0.0
    if stat == "avg":
        return trend.avg
    if stat == "min":
        return trend.min
    if stat == "max":
        return trend.max
    if stat == "med":
        return trend.percentile(50)
    match = _PERCENTILE.match(stat)
    if match and 0 <= float(match.group(1)) <= 100:
        return trend.percentile(float(match.group(1)))
    raise ValueError(
        f"options.summary_trend_stats: unknown stat {stat!r}; expected avg, min, med, max, count "
        f"or p(N) with N in 0..100"
    )


def submetric_tags(key: str) -> Tags:
    """The tag filter of a metric key like `http_req_duration{scenario:a,name:b}`."""
    if "{" not in key:
        return ()
    inner = key[key.index("{") + 1 : key.rindex("}")]
    pairs = []
    for part in inner.split(","):
        if not part.strip():
            continue
        name, _, value = part.partition(":")
        pairs.append((name.strip().strip("'\""), value.strip().strip("'\"")))
    return tuple(sorted(pairs))


@dataclass(frozen=True)
class MetricRow:
    """One metric or submetric as the summaries show it: its key and the combined sink."""

    key: str
    metric: str
    tags: Tags
    sink: Sink | None
    """None when nothing was recorded (a threshold on a metric without samples)."""

    @property
    def type(self) -> MetricType:
        return BUILTIN_METRICS[self.metric].type

    @property
    def contains(self) -> str:
        return BUILTIN_METRICS[self.metric].contains


def _sort_key(key: str) -> tuple[str, str]:
    # k6's sortMetricsByName: by parent name, then the submetric suffix, so subs follow parents.
    parent = key.split("{", 1)[0]
    return parent, key[len(parent) :]


def metric_rows(totals: MetricSet, thresholds: list[ThresholdResult]) -> list[MetricRow]:
    """Every metric with data, k6's automatic `{expected_response:true}` submetric, and every
    threshold key (submetrics included, with or without data), sorted as k6 sorts them."""
    rows: dict[str, MetricRow] = {}
    for name in totals.metric_names():
        rows[name] = MetricRow(name, name, (), totals.select(name))
    if "http_req_duration" in rows:
        tags = (("expected_response", "true"),)
        sink = totals.select("http_req_duration", tags)
        rows[EXPECTED_SUBMETRIC] = MetricRow(EXPECTED_SUBMETRIC, "http_req_duration", tags, sink)
    for result in thresholds:
        spec = result.spec
        if spec.metric not in BUILTIN_METRICS:
            continue  # a metric source's: the summaries show sources on their own lines
        if spec.key not in rows:
            rows[spec.key] = MetricRow(
                spec.key, spec.metric, spec.tags, totals.select(spec.metric, spec.tags)
            )
    return [rows[key] for key in sorted(rows, key=_sort_key)]


def metric_values(
    row: MetricRow, duration: float, trend_stats: tuple[str, ...]
) -> dict[str, float]:
    """k6's flat values for one metric: trend stats, {count, rate}, {passes, fails, value} or
    {value, min, max}; zeros when the metric has no samples."""
    sink = row.sink
    match row.type:
        case MetricType.TREND:
            trend = sink if isinstance(sink, Trend) else Trend()
            return {stat: trend_stat(trend, stat) for stat in trend_stats}
        case MetricType.COUNTER:
            count = sink.value if isinstance(sink, Counter) else 0.0
            return {"count": count, "rate": count / duration if duration > 0 else 0.0}
        case MetricType.RATE:
            rate = sink if isinstance(sink, Rate) else Rate()
            return {"passes": rate.passes, "fails": rate.fails, "value": rate.rate or 0.0}
        case MetricType.GAUGE:
            gauge = sink if isinstance(sink, Gauge) else Gauge()
            return {"value": gauge.value, "min": gauge.min, "max": gauge.max}
    raise AssertionError(row.type)


@dataclass(frozen=True)
class CheckNode:
    name: str
    path: str
    passes: int
    fails: int

    @property
    def id(self) -> str:
        return k6_id(self.path)


@dataclass(frozen=True)
class GroupNode:
    name: str
    path: str
    groups: tuple[GroupNode, ...]
    checks: tuple[CheckNode, ...]

    @property
    def id(self) -> str:
        return k6_id(self.path)


def _config_order(config: Config) -> dict[str, int]:
    """Position of each group path and check path in scenarios.toml, to list them as written."""
    order: dict[str, int] = {}
    for scenario in config.scenarios.values():
        for request in scenario.requests:
            group = ""
            if request.group:
                group = request.group if request.group.startswith("::") else "::" + request.group
                # Every ancestor of a nested group comes before it.
                parts = group.split(GROUP_SEPARATOR)[1:]
                for depth in range(1, len(parts) + 1):
                    order.setdefault(
                        GROUP_SEPARATOR + GROUP_SEPARATOR.join(parts[:depth]), len(order)
                    )
            for check in request.checks:
                order.setdefault(group + GROUP_SEPARATOR + check.name, len(order))
    return order


def check_tree(totals: MetricSet, config: Config) -> GroupNode:
    """k6's root group: groups (from `group_duration` and `checks` tags) and their checks, with
    passes and fails summed over scenarios; ordered as in the config, then by name."""
    checks: dict[tuple[str, str], list[int]] = {}
    groups: set[str] = set()
    for (metric, tags), sink in totals.series.items():
        if metric not in ("checks", "group_duration"):
            continue
        tag = dict(tags)
        group = tag.get("group", "")
        parts = group.split(GROUP_SEPARATOR)[1:]
        for depth in range(1, len(parts) + 1):
            groups.add(GROUP_SEPARATOR + GROUP_SEPARATOR.join(parts[:depth]))
        if metric == "checks" and "check" in tag and isinstance(sink, Rate):
            counts = checks.setdefault((group, tag["check"]), [0, 0])
            counts[0] += sink.passes
            counts[1] += sink.fails
    order = _config_order(config)

    def position(path: str) -> tuple[int, str]:
        return order.get(path, len(order)), path

    def build(path: str, name: str) -> GroupNode:
        child_groups = sorted(
            (g for g in groups if g.rpartition(GROUP_SEPARATOR)[0] == path), key=position
        )
        child_checks = sorted(
            (name for group, name in checks if group == path),
            key=lambda check: position(path + GROUP_SEPARATOR + check),
        )
        return GroupNode(
            name=name,
            path=path,
            groups=tuple(build(g, g.rpartition(GROUP_SEPARATOR)[2]) for g in child_groups),
            checks=tuple(
                CheckNode(c, path + GROUP_SEPARATOR + c, *checks[(path, c)]) for c in child_checks
            ),
        )

    return build("", "")


def _group_json(group: GroupNode) -> dict[str, Any]:
    return {
        "name": group.name,
        "path": group.path,
        "id": group.id,
        "groups": {g.name: _group_json(g) for g in group.groups},
        "checks": {
            c.name: {
                "name": c.name,
                "path": c.path,
                "id": c.id,
                "passes": c.passes,
                "fails": c.fails,
            }
            for c in group.checks
        },
    }


def _uncorrected(totals: MetricSet, trend_stats: tuple[str, ...]) -> dict[str, Any]:
    """Per open-model scenario, the corrected and uncorrected latency side by side."""
    out: dict[str, Any] = {}
    for name in totals.tag_values("http_req_duration_uncorrected", "scenario"):
        wanted = (("scenario", name),)
        pair = {}
        for metric in ("http_req_duration", "http_req_duration_uncorrected"):
            sink = totals.select(metric, wanted)
            trend = sink if isinstance(sink, Trend) else Trend()
            pair[metric] = {stat: json_number(trend_stat(trend, stat)) for stat in trend_stats}
        out[name] = pair
    return out


def summary_export(result: RunResult) -> dict[str, Any]:
    """The legacy `--summary-export` document of a run (json.dumps-able)."""
    trend_stats = result.config.options.summary_trend_stats
    by_key: dict[str, list[ThresholdResult]] = {}
    for threshold in result.thresholds:
        by_key.setdefault(threshold.spec.key, []).append(threshold)
    metrics: dict[str, dict[str, Any]] = {}
    for row in metric_rows(result.totals, result.thresholds):
        values: dict[str, Any] = metric_values(row, result.duration, trend_stats)
        if row.key in by_key:
            # k6 inserts `thresholds` before moving a rate's `rate` to `value`, so it lands there.
            value = values.pop("value") if row.type is MetricType.RATE else None
            values["thresholds"] = {t.spec.expr.source: t.failed for t in by_key[row.key]}
            if value is not None:
                values["value"] = value
        metrics[row.key] = {
            k: json_number(v) if k != "thresholds" else v for k, v in values.items()
        }
    return {
        "root_group": _group_json(check_tree(result.totals, result.config)),
        "metrics": metrics,
        "ccplate": {
            "thresholds_no_data": [
                {"metric": t.spec.key, "threshold": t.spec.expr.source}
                for t in result.thresholds
                if t.ok is None
            ],
            "thresholds": [
                {
                    "metric": t.spec.key,
                    "threshold": t.spec.expr.source,
                    "ok": t.ok,
                    "observed": t.observed,
                    "first_failed_at": t.first_failed_at,
                    "abort_on_fail": t.spec.abort_on_fail,
                }
                for t in result.thresholds
            ],
            "stopped": result.stopped,
            "duration_s": result.duration,
            "started_at": result.started_at,
            "scenarios": list(result.scenario_names),
            "uncorrected": _uncorrected(result.totals, trend_stats),
            "notes": list(result.notes),
            **_availability(result),
        },
    }


def _availability(result: RunResult) -> dict[str, Any]:
    """The health probe's run total (`[availability]`), when the run had one."""
    spec, tally = result.config.availability, result.probes
    if spec is None or tally is None:
        return {}
    probe = {"url": spec.url, "method": spec.method, "every_s": spec.every}
    return {"availability": {**probe, **tally.to_json()}}


def write_summary_export(result: RunResult, path: str | Path) -> None:
    """Write the export as k6 does (4-space indented JSON), naming the file on failure."""
    text = json.dumps(summary_export(result), indent=4, ensure_ascii=False)
    try:
        Path(path).write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise OSError(
            exc.errno, f"cannot write --summary-export file {path}: {exc.strerror}"
        ) from exc
