"""Text and JSON forms of the history commands' answers (runs, figures, comparisons, rechecks).

Kept apart from command.py so the dashboard can reuse the same wording and JSON shapes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ccplate_tui.config.thresholds import ThresholdSyntaxError, parse_threshold_expr
from ccplate_tui.history.compare import Comparison, Row, format_change, format_value
from ccplate_tui.history.recheck import Recheck, RecheckedThreshold
from ccplate_tui.history.rows import Annotation, Baseline, StoredRun, StoredThreshold
from ccplate_tui.load.metrics import BUILTIN_METRICS, Counter, MetricSet, MetricType, Rate, Trend
from ccplate_tui.load.units_format import (
    humanize_bytes,
    humanize_ms,
    humanize_rate_percent,
    js_number,
)

PASS, FAIL, NO_DATA = "✓", "✗", "○"
NO_BASELINES = "no baselines set yet (set one: ccplate-tui history baseline RUN)"


def timestamp(unix: float | None) -> str:
    """`2026-11-27 04:22:14Z` (UTC), `-` for None."""
    if unix is None:
        return "-"
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def iso(unix: float | None) -> str | None:
    if unix is None:
        return None
    return datetime.fromtimestamp(unix, UTC).isoformat().replace("+00:00", "Z")


def seconds(value: float) -> str:
    if value >= 3600:
        return time.strftime("%Hh%Mm%Ss", time.gmtime(value))
    if value >= 60:
        return f"{int(value // 60)}m{value % 60:04.1f}s"
    return f"{value:.1f}s"


def _mark(ok: bool | None) -> str:
    return PASS if ok is True else FAIL if ok is False else NO_DATA


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def format_observed(key: str, expression: str, value: float | None) -> str:
    """A threshold's value in its metric's unit (ms, %, /s, bytes), `-` for None."""
    if value is None:
        return "-"
    info = BUILTIN_METRICS.get(key.split("{", 1)[0])
    try:
        aggregation = parse_threshold_expr(expression).aggregation
    except ThresholdSyntaxError:
        aggregation = ""
    if info is None:
        return js_number(round(value, 6))
    if info.type is MetricType.RATE:
        return humanize_rate_percent(value)
    if info.type is MetricType.COUNTER and aggregation == "rate":
        return (humanize_bytes(value) if info.contains == "data" else f"{value:.2f}") + "/s"
    if info.contains == "time" and aggregation != "count":
        return humanize_ms(value)
    if info.contains == "data":
        return humanize_bytes(value)
    return js_number(round(value, 6))


# --- runs ---------------------------------------------------------------------------------------


def _threshold_counts(run: StoredRun) -> tuple[int, int] | None:
    if run.thresholds is None:
        return None
    return sum(t.ok is True for t in run.thresholds), len(run.thresholds)


def threshold_to_json(t: StoredThreshold) -> dict[str, Any]:
    return t.to_json()


def run_to_json(run: StoredRun, baseline_of: Sequence[str]) -> dict[str, Any]:
    summary = dict(run.summary or {})
    counts = _threshold_counts(run)
    return {
        "id": run.id,
        "number": run.seq,
        "status": run.status,
        "names": list(run.names),
        "scenarios": list(run.scenarios),
        "engine": run.engine,
        "target": run.target,
        "time_scale": run.time_scale,
        "started_at": iso(run.started_at),
        "ended_at": iso(run.ended_at),
        "duration": run.duration,
        "intervals": run.interval_count,
        "requests": summary.get("requests"),
        "p99_ms": summary.get("p99_ms"),
        "error_fraction": summary.get("error_fraction"),
        "thresholds_passed": None if counts is None else counts[0],
        "thresholds_total": None if counts is None else counts[1],
        "thresholds": None
        if run.thresholds is None
        else [threshold_to_json(t) for t in run.thresholds],
        "config_hash": run.config_hash,
        "git_commit": run.git_commit,
        "baseline_of": list(baseline_of),
        "judged_against": dict(run.baseline_for or {}),
    }


def _columns(rows: list[list[str]], right: Iterable[int] = ()) -> list[str]:
    """Rows padded into aligned columns (the columns in `right` right-aligned)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    aligned = set(right)
    out = []
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in aligned else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        out.append("  ".join(cells).rstrip())
    return out


def run_table(
    runs: Sequence[StoredRun], baselines: Mapping[str, Sequence[str]], path: Path
) -> list[str]:
    if not runs:
        return [f"no runs recorded yet ({path})"]
    rows = [
        [
            "run",
            "started (UTC)",
            "status",
            "duration",
            "scenarios",
            "requests",
            "p99",
            "errors",
            "thresholds",
            "baseline of",
        ]
    ]
    for run in runs:
        summary = run.summary or {}
        p99 = summary.get("p99_ms")
        errors = summary.get("error_fraction")
        counts = _threshold_counts(run)
        if counts is None:
            judged = "-"  # still running
        elif counts[1] == 0:
            judged = "none"
        else:
            passed, total = counts
            judged = f"{passed}/{total} {PASS if passed == total and total else FAIL}"
        requests = summary.get("requests")
        rows.append(
            [
                run.id,
                timestamp(run.started_at)[:-1],
                run.status,
                seconds(run.duration),
                ", ".join(run.names),
                "-" if requests is None else str(requests),
                "-" if p99 is None else humanize_ms(p99),
                "-" if errors is None else humanize_rate_percent(errors),
                judged,
                ", ".join(baselines.get(run.id, ())),
            ]
        )
    return _columns(rows, right=(3, 5, 6, 7))


def annotation_to_json(a: Annotation) -> dict[str, Any]:
    return {"at": iso(a.at), "kind": a.kind, "text": a.text}


def baseline_to_json(b: Baseline) -> dict[str, Any]:
    return {"scenario": b.scenario, "run": b.run_id, "set_at": iso(b.set_at), "set_by": b.set_by}


def baseline_lines(baselines: Sequence[Baseline]) -> list[str]:
    if not baselines:
        return [NO_BASELINES]
    rows = [["scenario", "run", "set at (UTC)", "set by"]]
    rows += [[b.scenario, b.run_id, timestamp(b.set_at)[:-1], b.set_by] for b in baselines]
    return _columns(rows)


# --- figures ------------------------------------------------------------------------------------


def _trend_json(sink: object) -> dict[str, Any] | None:
    if not isinstance(sink, Trend) or not sink.count:
        return None
    p = sink.percentiles([50, 90, 95, 99])
    return {
        "count": sink.count,
        "avg": sink.avg,
        "min": sink.min,
        "p50": p[50],
        "p90": p[90],
        "p95": p[95],
        "p99": p[99],
        "max": sink.max,
    }


def _rate_json(sink: object) -> dict[str, Any] | None:
    if not isinstance(sink, Rate) or not sink.total:
        return None
    return {"rate": sink.rate, "passes": sink.passes, "total": sink.total}


def _count(sink: object) -> float | None:
    return sink.value if isinstance(sink, Counter) else None


def figures_to_json(totals: MetricSet, duration: float) -> dict[str, Any]:
    """`figures` (run-wide) and `requests` (per request name), recomputed from the totals."""
    reqs = _count(totals.select("http_reqs"))
    figures = {
        "http_reqs": None
        if reqs is None
        else {"count": reqs, "rate": reqs / duration if duration > 0 else None},
        "http_req_duration": _trend_json(totals.select("http_req_duration")),
        "http_req_failed": _rate_json(totals.select("http_req_failed")),
        "iterations": _count(totals.select("iterations")),
        "checks": _rate_json(totals.select("checks")),
    }
    requests = []
    for name in totals.tag_values("http_reqs", "name"):
        tags = (("name", name),)
        failed = totals.select("http_req_failed", tags)
        requests.append(
            {
                "name": name,
                "count": _count(totals.select("http_reqs", tags)),
                "error_rate": failed.rate if isinstance(failed, Rate) else None,
                "http_req_duration": _trend_json(totals.select("http_req_duration", tags)),
            }
        )
    return {"figures": figures, "requests": requests}


def _figure_lines(totals: MetricSet, duration: float) -> list[str]:
    data = figures_to_json(totals, duration)
    figures = data["figures"]
    if figures["http_reqs"] is None and figures["iterations"] is None:
        return ["figures", "  no requests recorded"]
    rows = []
    reqs = figures["http_reqs"]
    if reqs is not None:
        rate = f"  {reqs['rate']:.2f}/s" if reqs["rate"] is not None else ""
        rows.append(["http_reqs", js_number(reqs["count"]) + rate])
    trend = figures["http_req_duration"]
    if trend is not None:
        rows.append(
            [
                "http_req_duration",
                "  ".join(
                    f"{label}={humanize_ms(trend[key])}"
                    for label, key in (
                        ("avg", "avg"),
                        ("med", "p50"),
                        ("p(95)", "p95"),
                        ("p(99)", "p99"),
                        ("max", "max"),
                    )
                ),
            ]
        )
    for name in ("http_req_failed", "checks"):
        rate = figures[name]
        if rate is not None:
            rows.append(
                [
                    name,
                    f"{humanize_rate_percent(rate['rate'])}  {rate['passes']} of {rate['total']}",
                ]
            )
    if figures["iterations"] is not None:
        rows.append(["iterations", js_number(figures["iterations"])])
    lines = ["figures", *("  " + line for line in _columns(rows))]
    if data["requests"]:
        table = [["request", "count", "errors", "p(50)", "p(95)", "p(99)"]]
        for request in data["requests"]:
            trend = request["http_req_duration"] or {}
            table.append(
                [
                    request["name"],
                    "-" if request["count"] is None else js_number(request["count"]),
                    "-"
                    if request["error_rate"] is None
                    else humanize_rate_percent(request["error_rate"]),
                    *(humanize_ms(trend[k]) if k in trend else "-" for k in ("p50", "p95", "p99")),
                ]
            )
        lines += ["", *("  " + line for line in _columns(table, right=(1, 2, 3, 4, 5)))]
    return lines


def show_lines(
    run: StoredRun,
    totals: MetricSet,
    annotations: Sequence[Annotation],
    baseline_of: Sequence[str],
) -> list[str]:
    head = f"run {run.id}  {run.status}"
    if baseline_of:
        head += f"  (baseline of {', '.join(baseline_of)})"
    asked = ", ".join(run.names)
    ran = ", ".join(run.scenarios)
    info = [
        ["scenarios", asked + (f" (ran {ran})" if ran and ran != asked else "")],
        ["engine", f"{run.engine}, time scale {run.time_scale:g}"],
        ["target", run.target or "-"],
        [
            "when",
            f"{timestamp(run.started_at)} to {timestamp(run.ended_at)}, "
            f"{seconds(run.duration)}, {run.interval_count} intervals",
        ],
    ]
    config_file = run.config.get("file") if isinstance(run.config, dict) else None
    if config_file or run.config_hash or run.git_commit:
        parts = [config_file or "?"]
        if run.config_hash:
            parts.append(f"sha256 {run.config_hash[:12]}")
        if run.git_commit:
            parts.append(f"git {run.git_commit[:12]}")
        info.append(["config", ", ".join(parts)])
    if run.baseline_for:
        info.append(
            [
                "judged against",
                ", ".join(f"{name} {rid}" for name, rid in sorted(run.baseline_for.items())),
            ]
        )
    lines = [head, *("  " + line for line in _columns(info)), ""]
    lines += _figure_lines(totals, run.elapsed or run.duration)
    lines.append("")
    if run.thresholds is None:
        lines.append("thresholds: not judged yet (the run is still running)")
    elif not run.thresholds:
        lines.append("thresholds: none recorded")
    else:
        rows = [
            [
                _mark(t.ok),
                t.key,
                t.expression,
                "NO DATA"
                if t.ok is None and t.observed is None
                else format_observed(t.key, t.expression, t.observed),
                _limit_text(t.key, t.expression, t.limit, t.baseline),
            ]
            for t in run.thresholds
        ]
        lines += ["thresholds", *("  " + line for line in _columns(rows))]
    if annotations:
        lines += ["", "annotations"]
        lines += [f"  {timestamp(a.at)}  {a.kind:<5}  {a.text}" for a in annotations]
    notes = (run.summary or {}).get("notes") or []
    if notes:
        lines += ["", "notes", *(f"  {note}" for note in notes)]
    return lines


def _limit_text(key: str, expression: str, limit: float | None, baseline: float | None) -> str:
    if baseline is None:
        return ""
    return (
        f"limit {format_observed(key, expression, limit)} "
        f"(baseline {format_observed(key, expression, baseline)})"
    )


# --- compare ------------------------------------------------------------------------------------


def context_notes(run: StoredRun, base: StoredRun) -> list[str]:
    """Differences between the two runs that make their figures less comparable."""
    notes = []
    if run.time_scale != base.time_scale:
        notes.append(
            f"time scale differs: {base.id} ran at {base.time_scale:g}, {run.id} at "
            f"{run.time_scale:g} (counts and rates are not comparable)"
        )
    if run.engine != base.engine:
        notes.append(f"engine differs: {base.id} {base.engine}, {run.id} {run.engine}")
    if run.target != base.target:
        notes.append(f"target differs: {base.id} {base.target}, {run.id} {run.target}")
    if run.config_hash and base.config_hash and run.config_hash != base.config_hash:
        notes.append("the config file changed between the two runs")
    if set(run.scenarios) != set(base.scenarios) and run.scenarios and base.scenarios:
        notes.append(
            f"scenarios differ: {base.id} ran {', '.join(base.scenarios)}, "
            f"{run.id} ran {', '.join(run.scenarios)}"
        )
    for side in (base, run):
        if side.status != "finished":
            notes.append(f"{side.id} did not finish as planned ({side.status})")
    return notes


def _compare_row(row: Row, first: str) -> list[str]:
    return [
        first,
        row.label,
        format_value(row.kind, row.base),
        format_value(row.kind, row.new),
        format_change(row),
        f"{FAIL} regression" if row.regression else "",
    ]


def comparison_lines(
    run: StoredRun, base: StoredRun, why: str, comparison: Comparison
) -> list[str]:
    lines = [
        f"{run.id} ({', '.join(run.names)}, {timestamp(run.started_at)}, {run.status}) against "
        f"{base.id} ({why}, {timestamp(base.started_at)})",
        "",
    ]
    header = ["", "metric", f"{base.id} (base)", run.id, "change", ""]
    metric_rows = [_compare_row(r, "") for r in comparison.metrics]
    lines += [line[2:] for line in _columns([header, *metric_rows], right=(2, 3))]
    if comparison.requests:
        header = ["request", "", f"{base.id} (base)", run.id, "change", ""]
        rows = []
        previous = None
        for row in comparison.requests:
            rows.append(_compare_row(row, row.request if row.request != previous else ""))
            previous = row.request
        lines += ["", *_columns([header, *rows], right=(2, 3))]
    flags = comparison.flags
    rule = (
        f"latency +{flags.latency_pct:g} %, error rate +{flags.error_pp:g} pp, "
        f"throughput -{flags.throughput_pct:g} %"
    )
    lines.append("")
    regressions = comparison.regressions
    if regressions:
        lines.append(
            f"{len(regressions)} regression{'s' if len(regressions) > 1 else ''} ({rule}):"
        )
        lines += [f"  {FAIL} {_regression_text(r)}" for r in regressions]
    else:
        lines.append(f"no regressions ({rule})")
    if comparison.notes:
        lines += ["notes:", *(f"  - {note}" for note in comparison.notes)]
    return lines


def _regression_text(row: Row) -> str:
    what = row.label if row.request is None else f"{row.request} {row.label}"
    return (
        f"{what}: {format_value(row.kind, row.base)} -> {format_value(row.kind, row.new)}, "
        f"{format_change(row)}"
    )


# --- recheck ------------------------------------------------------------------------------------


def _recheck_value(item: RecheckedThreshold) -> str:
    result = item.result
    spec = result.spec
    observed = format_observed(spec.key, spec.expr.source, _finite(result.observed))
    if result.ok is None:
        if result.observed is None:
            return "NO DATA (no samples)"
        if spec.expr.relative:
            return f"{observed}, NO DATA: {_why_no_baseline(item)}"
    text = observed
    if spec.expr.relative and result.limit is not None:
        source = item.baseline
        run = f" {source.run_id}" if source and source.run_id else ""
        text += (
            f"  limit {format_observed(spec.key, spec.expr.source, result.limit)} "
            f"(baseline{run} {format_observed(spec.key, spec.expr.source, result.baseline)})"
        )
    return text


def _why_no_baseline(item: RecheckedThreshold) -> str:
    source = item.baseline
    if source is None or source.run_id is None:
        owner = dict(item.result.spec.tags).get("scenario")
        whose = f" for {owner}" if owner else ""
        return f"no baseline{whose} (set one: ccplate-tui history baseline RUN)"
    return f"the baseline run {source.run_id} has no data for it"


def _recorded(item: RecheckedThreshold) -> str:
    if item.recorded is None:
        return "(not in the run)"
    return f"(run: {_mark(item.recorded.ok)})"


def recheck_lines(recheck: Recheck, config_path: str) -> list[str]:
    run = recheck.run
    lines = [
        f"recheck of {run.id} ({', '.join(run.names)}, {run.status}, {recheck.intervals} "
        f"intervals over {seconds(recheck.elapsed)}) against the current thresholds of "
        f"{config_path}; no traffic sent",
        "",
    ]
    if not recheck.thresholds:
        return [*lines, "no thresholds for these scenarios: nothing to judge"]
    rows = [
        [
            _mark(t.result.ok),
            t.result.spec.key,
            t.result.spec.expr.source,
            _recheck_value(t),
            _recorded(t),
        ]
        for t in recheck.thresholds
    ]
    lines += _columns(rows)
    lines.append("")
    if recheck.would_abort_at is not None and run.status != "aborted":
        lines.append(f"abortOnFail would have stopped the run at {seconds(recheck.would_abort_at)}")
    failed = recheck.failed
    total = len(recheck.thresholds)
    if failed:
        no_data = sum(t.result.ok is None for t in failed)
        crossed = len(failed) - no_data
        parts = [f"{crossed} crossed"] if crossed else []
        if no_data:
            parts.append(f"{no_data} NO DATA")
        lines.append(f"FAILED: {' and '.join(parts)} of {total} thresholds")
    else:
        lines.append(f"PASSED: all {total} thresholds hold")
    return lines


def recheck_to_json(recheck: Recheck, config_path: str) -> dict[str, Any]:
    run = recheck.run
    thresholds = []
    for item in recheck.thresholds:
        result = item.result
        source = item.baseline
        thresholds.append(
            {
                "key": result.spec.key,
                "expression": result.spec.expr.source,
                "ok": result.ok,
                "observed": _finite(result.observed),
                "limit": _finite(result.limit),
                "relative": result.spec.expr.relative,
                "baseline": _finite(result.baseline),
                "baseline_run": source.run_id if source else None,
                "baseline_of": source.owner if source else None,
                "abort_on_fail": result.spec.abort_on_fail,
                "first_failed_at": result.first_failed_at,
                "recorded_ok": item.recorded.ok if item.recorded else None,
                "in_recorded_run": item.recorded is not None,
            }
        )
    return {
        "run": run.id,
        "status": run.status,
        "names": list(run.names),
        "config": config_path,
        "intervals": recheck.intervals,
        "elapsed": recheck.elapsed,
        "passed": recheck.passed,
        "would_abort_at": recheck.would_abort_at,
        "thresholds": thresholds,
    }
