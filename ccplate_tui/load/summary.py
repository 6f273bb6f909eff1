"""The end-of-test text summary in k6's compact layout, plus the ERRORS and REQUESTS sections
k6 lacks, and the final per-scenario status lines.

The THRESHOLDS and TOTAL RESULTS sections follow k6's summary code (names, dotted alignment,
column padding, value formats) so a k6 user reads them without translating anything.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from http import HTTPStatus

from ccplate_tui.load.metrics import BUILTIN_METRICS, Counter, MetricSet, MetricType, Rate, Trend
from ccplate_tui.load.probe_tally import PROBES_FOR_999, probe_window, truncated_percent
from ccplate_tui.load.progress import (
    failed_scenarios,
    run_max_duration,
    run_max_vus,
    running_line,
    scenario_lines,
)
from ccplate_tui.load.results import RunResult
from ccplate_tui.load.run_records import safe_url
from ccplate_tui.load.source_samples import sample_aggregate
from ccplate_tui.load.summary_export import (
    GroupNode,
    MetricRow,
    check_tree,
    metric_rows,
    trend_stat,
)
from ccplate_tui.load.thresholds import ThresholdResult
from ccplate_tui.load.units_format import (
    fixed_no_trailing_zeros,
    go_duration,
    humanize_bytes,
    humanize_ms,
    humanize_rate_percent,
    humanize_value,
)

OK_MARK = "✓"
FAIL_MARK = "✗"
_GREEN = "\x1b[32m"
_RED = "\x1b[31m"
_RESET = "\x1b[0m"
_TITLE_INDENT = "  "
_BODY_INDENT = "    "

_EXECUTION = frozenset(
    {"dropped_iterations", "group_duration", "iteration_duration", "iterations", "vus", "vus_max"}
)
_AGGREGATION = re.compile(r"[=<>!]")


def _title(name: str) -> str:
    return f"{_TITLE_INDENT}█ {name}"


def _section_of(metric: str) -> str | None:
    if metric.startswith("http_"):
        return "HTTP"
    if metric in _EXECUTION:
        return "EXECUTION"
    if metric.startswith("data_"):
        return "NETWORK"
    return None  # `checks` has its own block


# --- THRESHOLDS -------------------------------------------------------------------------------


def _threshold_value(result: ThresholdResult, row_type: MetricType, contains: str) -> str:
    source = result.spec.expr.source
    aggregation = _AGGREGATION.split(source, maxsplit=1)[0].strip()
    if result.observed is None:
        return "NO DATA (no samples)"
    value = result.observed
    if row_type is MetricType.RATE:
        text = humanize_rate_percent(value)
    elif row_type is MetricType.COUNTER and result.spec.expr.aggregation == "rate":
        text = (
            humanize_bytes(value) if contains == "data" else fixed_no_trailing_zeros(value, 6)
        ) + "/s"
    else:
        text = humanize_value(value, contains)
    return f"{aggregation}={text}"


def _thresholds_section(result: RunResult) -> list[str]:
    if not result.thresholds:
        return []
    rows = {row.key: row for row in metric_rows(result.totals, result.thresholds)}
    by_key: dict[str, list[ThresholdResult]] = {}
    for threshold in result.thresholds:
        by_key.setdefault(threshold.spec.key, []).append(threshold)
    lines = [_title("THRESHOLDS"), ""]
    for key in (k for k in rows if k in by_key):
        parent = key.split("{", 1)[0]
        nested = key != parent and parent in by_key
        indent = _BODY_INDENT + ("  " if nested else "")
        lines.append(indent + (key[len(parent) :] if nested else key))
        row = rows[key]
        for threshold in by_key[key]:
            mark = OK_MARK if threshold.ok else FAIL_MARK
            value = _threshold_value(threshold, row.type, row.contains)
            lines.append(f"{indent}{mark} '{threshold.spec.expr.source}' {value}")
        lines.append("")
    for key in (k for k in by_key if by_key[k][0].spec.metric not in BUILTIN_METRICS):
        lines.append(_BODY_INDENT + key)
        unit = _source_unit(result, key)
        for threshold in by_key[key]:
            mark = OK_MARK if threshold.ok else FAIL_MARK
            aggregation = _AGGREGATION.split(threshold.spec.expr.source, maxsplit=1)[0].strip()
            if threshold.observed is None:
                value = f"NO DATA ({threshold.reason or 'no samples'})"
            else:
                value = f"{aggregation}={_source_number(threshold.observed, unit)}"
            lines.append(f"{_BODY_INDENT}{mark} '{threshold.spec.expr.source}' {value}")
        lines.append("")
    return lines


# --- SOURCES (ours) ---------------------------------------------------------------------------


def _source_unit(result: RunResult, name: str) -> str:
    spec = result.config.sources.get(name)
    return spec.unit if spec is not None else ""


def _source_number(value: float, unit: str) -> str:
    text = fixed_no_trailing_zeros(value, 2)
    return f"{text}{unit}" if unit in ("%", "") else f"{text} {unit}"


def _sources_section(result: RunResult) -> list[str]:
    """One line per metric source: last value and aggregates over the run, or why none."""
    if not result.sources:
        return []
    width = max(len(name) for name in result.sources) + 3
    lines = [_title("SOURCES"), ""]
    for name, samples in result.sources.items():
        unit = _source_unit(result, name)
        dots = "." * (width - len(name))
        failed = sum(1 for s in samples if s.value is None)
        count = f"{len(samples)} sample{'s' if len(samples) != 1 else ''}"
        if failed:
            count += f", {failed} failed"
        last, why = sample_aggregate(samples, "value")
        if last is None:
            lines.append(f"{_BODY_INDENT}{name}{dots}: NO DATA: {why} ({count})")
            continue
        cells = [f"value={_source_number(last, unit)}"]
        for stat in ("avg", "min", "max"):
            got, _ = sample_aggregate(samples, stat)
            cells.append(f"{stat}={_source_number(got or 0.0, unit)}")
        line = f"{_BODY_INDENT}{name}{dots}: {' '.join(cells)} ({count})"
        last_error = next((s.error for s in reversed(samples) if s.error), None)
        if last_error:
            line += f"; last error: {last_error}"
        lines.append(line)
    return [*lines, ""]


# --- AVAILABILITY (ours) ----------------------------------------------------------------------


def _availability_section(result: RunResult) -> list[str]:
    """The health probe's share answered as expected, over what, and why the others failed."""
    tally, spec = result.probes, result.config.availability
    if tally is None or spec is None:
        return []
    noun = "probe" if tally.sent == 1 else "probes"
    what = f"{spec.method} {safe_url(spec.url)} every {go_duration(spec.every)}"
    if tally.sent:
        window = go_duration(round(probe_window(tally, spec.every), 3))
        head = f"{truncated_percent(tally.ok, tally.sent)} of {tally.sent:,d} {noun} ok"
        lines = [f"{_BODY_INDENT}{head} ({what}, {window})"]
    else:
        lines = [f"{_BODY_INDENT}no probe finished ({what})"]
    if tally.failures:
        reasons = ", ".join(f"{reason} ×{count:,d}" for reason, count in tally.failures.items())
        lines.append(f"{_BODY_INDENT}failed: {reasons}")
    if tally.skipped:
        lines.append(
            f"{_BODY_INDENT}{tally.skipped:,d} tick{'s' if tally.skipped != 1 else ''} "
            "skipped while a slower probe was waiting "
            f"(timeout {go_duration(spec.timeout)})"
        )
    if tally.sent < PROBES_FOR_999:
        lines.append(
            f"{_BODY_INDENT}not enough probes to support 99.9% "
            f"({tally.sent:,d} of the {PROBES_FOR_999:,d} it needs)"
        )
    return [_title("AVAILABILITY"), "", *lines, ""]


# --- TOTAL RESULTS ----------------------------------------------------------------------------


def _display(row: MetricRow) -> tuple[str, str]:
    """(indent, name) as k6 shows a metric line: submetrics as `{ tag:value }`, nested."""
    if "{" in row.key:
        return _BODY_INDENT + "  ", "{ " + row.key[row.key.index("{") + 1 : -1] + " }"
    return _BODY_INDENT, row.key


def _non_trend_cells(row: MetricRow, duration: float) -> list[str]:
    sink = row.sink
    if isinstance(sink, Counter):
        count = humanize_value(sink.value, row.contains)
        per_second = sink.value / duration if duration > 0 else 0.0
        return [count, humanize_value(per_second, row.contains) + "/s"]
    if isinstance(sink, Rate):
        return [humanize_rate_percent(sink.rate or 0.0), f"{sink.passes} out of {sink.total}"]
    value = humanize_value(sink.value, row.contains)  # type: ignore[union-attr]
    low = humanize_value(sink.min, row.contains)  # type: ignore[union-attr]
    high = humanize_value(sink.max, row.contains)  # type: ignore[union-attr]
    return [value, f"min={low}", f"max={high}"]


def _trend_cells(row: MetricRow, stats: Sequence[str]) -> list[str]:
    trend = row.sink if isinstance(row.sink, Trend) else Trend()
    out = []
    for stat in stats:
        value = trend_stat(trend, stat)
        out.append(str(int(value)) if stat == "count" else humanize_value(value, row.contains))
    return out


def _aligned_block(
    entries: list[tuple[str, str, bool, list[str]]], stats: Sequence[str]
) -> list[str]:
    """k6's renderMetrics: dotted names to one column, then trend columns or value + extras,
    each padded to the widest cell of its column across the block."""
    name_width = max(len(indent + name) for indent, name, _, _ in entries)
    trend_widths = [0] * len(stats)
    value_width = 0
    extra_widths: list[int] = []
    for _, _, is_trend, cells in entries:
        if is_trend:
            trend_widths = [max(w, len(c)) for w, c in zip(trend_widths, cells, strict=True)]
            continue
        value_width = max(value_width, len(cells[0]))
        for i, extra in enumerate(cells[1:]):
            if i >= len(extra_widths):
                extra_widths.append(0)
            extra_widths[i] = max(extra_widths[i], len(extra))
    lines = []
    for indent, name, is_trend, cells in entries:
        dots = "." * (name_width - len(indent + name) + 3)
        if is_trend:
            data = " ".join(
                f"{stat}={cell}".ljust(len(stat) + 1 + trend_widths[i])
                for i, (stat, cell) in enumerate(zip(stats, cells, strict=True))
            )
        else:
            data = cells[0].ljust(value_width)
            extras = cells[1:]
            if len(extras) == 1:
                data += " " + extras[0]
            elif extras:
                data += " " + " ".join(e.ljust(extra_widths[i]) for i, e in enumerate(extras))
        lines.append(f"{indent}{name}{dots}: {data}".rstrip())
    return lines


def _check_lines(group: GroupNode, depth: int) -> list[str]:
    indent = _BODY_INDENT + "  " * depth
    lines = []
    for check in group.checks:
        total = check.passes + check.fails
        if not total:
            continue
        if not check.fails:
            lines.append(f"{indent}{OK_MARK} {check.name}")
            continue
        percent = math.floor(100 * check.passes / total)
        lines.append(f"{indent}{FAIL_MARK} {check.name}")
        lines.append(
            f"{indent}  ↳  {percent}% — {OK_MARK} {check.passes} / {FAIL_MARK} {check.fails}"
        )
    for child in group.groups:
        lines.append(f"{indent}↳ GROUP: {child.name}")
        lines.extend(_check_lines(child, depth + 1))
    return lines


def _checks_block(result: RunResult) -> list[str]:
    checks = result.totals.select("checks")
    if not isinstance(checks, Rate) or not checks.total:
        return []
    total = checks.total
    per_second = total / result.duration if result.duration > 0 else 0.0
    entries = [
        (
            _BODY_INDENT,
            "checks_total",
            False,
            [str(total), fixed_no_trailing_zeros(per_second, 6) + "/s"],
        ),
        (
            _BODY_INDENT,
            "checks_succeeded",
            False,
            [humanize_rate_percent(checks.passes / total), f"{checks.passes} out of {total}"],
        ),
        (
            _BODY_INDENT,
            "checks_failed",
            False,
            [humanize_rate_percent(checks.fails / total), f"{checks.fails} out of {total}"],
        ),
    ]
    tree = check_tree(result.totals, result.config)
    return [*_aligned_block(entries, ()), "", *_check_lines(tree, 0), ""]


def _total_results_section(result: RunResult) -> list[str]:
    stats = result.config.options.summary_trend_stats
    sections: dict[str, list[MetricRow]] = {"HTTP": [], "EXECUTION": [], "NETWORK": []}
    for row in metric_rows(result.totals, result.thresholds):
        section = _section_of(row.metric)
        if section is not None and row.sink is not None:
            sections[section].append(row)
    # One alignment for all metric sections, as k6 1.x prints them.
    entries = []
    for rows in sections.values():
        for row in rows:
            indent, name = _display(row)
            is_trend = row.type is MetricType.TREND
            cells = _trend_cells(row, stats) if is_trend else _non_trend_cells(row, result.duration)
            entries.append((indent, name, is_trend, cells))
    rendered = iter(_aligned_block(entries, stats) if entries else [])
    lines = [_title("TOTAL RESULTS"), "", *_checks_block(result)]
    for title, rows in sections.items():
        if rows:
            lines += [_BODY_INDENT + title, *(next(rendered) for _ in rows), ""]
    return lines


# --- ERRORS and REQUESTS (ours) ---------------------------------------------------------------


def _error_label(tags: dict[str, str]) -> tuple[str, str] | None:
    if "error" in tags:
        return tags["error"], tags.get("error_code", "")
    status = tags.get("status", "")
    if status == "0":
        return "transport error", tags.get("error_code", "")
    if tags.get("expected_response") == "false":
        try:
            phrase = HTTPStatus(int(status)).phrase
        except ValueError:
            phrase = ""
        return f"HTTP {status} {phrase}".rstrip(), tags.get("error_code", "")
    return None


def _table(header: list[str], rows: list[list[str]], left: int) -> list[str]:
    """Columns padded to their widest cell; the first `left` columns align left, others right."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = []
    for r in [header, *rows]:
        cells = [c.ljust(widths[i]) if i < left else c.rjust(widths[i]) for i, c in enumerate(r)]
        out.append((_BODY_INDENT + "  ".join(cells)).rstrip())
    return out


def _errors_section(totals: MetricSet) -> list[str]:
    counts: dict[tuple[str, str], float] = {}
    total = 0.0
    for (metric, tags), sink in totals.series.items():
        if metric != "http_reqs" or not isinstance(sink, Counter):
            continue
        total += sink.value
        label = _error_label(dict(tags))
        if label is not None and sink.value:
            counts[label] = counts.get(label, 0.0) + sink.value
    if not counts:
        return []
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    rows = [
        [label, code or "-", str(int(count)), f"{count / total * 100:.2f}%"]
        for (label, code), count in ordered
    ]
    table = _table(["ERROR", "CODE", "COUNT", "% OF REQUESTS"], rows, left=1)
    return [_title("ERRORS"), "", *table, ""]


def _request_order(result: RunResult) -> dict[tuple[str, str], int]:
    order: dict[tuple[str, str], int] = {}
    for scenario in result.config.scenarios.values():
        for request in scenario.requests:
            order.setdefault((scenario.name, request.name), len(order))
    return order


def _requests_section(result: RunResult) -> list[str]:
    totals = result.totals
    keys: set[tuple[str, str]] = set()
    for metric, tags in totals.series:
        tag = dict(tags)
        if metric == "http_reqs" and "name" in tag:
            keys.add((tag.get("scenario", ""), tag["name"]))
    if not keys:
        return []
    by_scenario = len({scenario for scenario, _ in keys}) > 1
    if not by_scenario:
        keys = {("", name) for _, name in keys}
    order = _request_order(result)
    scenario_rank = {name: i for i, name in enumerate(result.config.scenarios)}

    def position(key: tuple[str, str]) -> tuple[int, int, str, str]:
        # As written in the config; names it does not list go last, by scenario then name.
        if by_scenario:
            first = order.get(key, len(order))
        else:
            first = min((i for (_, n), i in order.items() if n == key[1]), default=len(order))
        return first, scenario_rank.get(key[0], len(scenario_rank)), *key

    rows = []
    for scenario, name in sorted(keys, key=position):
        wanted = tuple(sorted([("name", name), *([("scenario", scenario)] if by_scenario else [])]))
        reqs = totals.select("http_reqs", wanted)
        failed = totals.select("http_req_failed", wanted)
        duration = totals.select("http_req_duration", wanted)
        trend = duration if isinstance(duration, Trend) else Trend()
        error = (
            f"{failed.passes / failed.total * 100:.2f}%"
            if isinstance(failed, Rate) and failed.total
            else "-"
        )
        p50, p95, p99 = (
            humanize_ms(v) if trend.count else "-" for v in trend.percentiles([50, 95, 99]).values()
        )
        count = str(int(reqs.value)) if isinstance(reqs, Counter) else "0"
        rows.append([*([scenario] if by_scenario else []), name, count, error, p50, p95, p99])
    header = [*(["SCENARIO"] if by_scenario else []), "NAME", "REQS", "ERRORS", "P50", "P95", "P99"]
    return [_title("REQUESTS"), "", *_table(header, rows, left=2 if by_scenario else 1), ""]


# --- final status -----------------------------------------------------------------------------


def _stop_reason(result: RunResult) -> str | None:
    ran = humanize_ms(result.duration * 1000)
    match result.stopped:
        case None:
            return None
        case "interrupted":
            # Only the stopper knows who it was (Ctrl-C, a dashboard, SIGTERM): never guess.
            why = result.stop_cause or "interrupted"
            return f"run stopped early after {ran}: {why}; results cover only what ran"
        case "aborted":
            crossed = [t for t in result.thresholds if t.spec.abort_on_fail and t.failed]
            what = (
                ", ".join(f"'{t.spec.expr.source}' on {t.spec.key}" for t in crossed)
                or "a threshold"
            )
            times = [t.first_failed_at for t in crossed if t.first_failed_at is not None]
            when = f" (first crossed at {humanize_ms(min(times) * 1000)})" if times else ""
            return f"run stopped early after {ran}: abortOnFail threshold crossed: {what}{when}"
        case "error":
            return f"run stopped early after {ran}: the engine hit an error (see the message above)"
    return f"run stopped early after {ran}: {result.stopped}"


def _final_status(result: RunResult) -> list[str]:
    specs = [
        result.config.scenarios[n] for n in result.scenario_names if n in result.config.scenarios
    ]
    progress = result.progress
    # ✗ for a scenario that did not finish (as k6) and, unlike k6, for one whose thresholds failed.
    failed = failed_scenarios(
        (t.spec for t in result.thresholds if t.failed), specs, (p.name for p in progress)
    )
    marks = {}
    for p in progress:
        unfinished = p.state != "done" or (
            p.iterations_planned is not None and p.iterations < p.iterations_planned
        )
        marks[p.name] = FAIL_MARK if unfinished or p.name in failed else OK_MARK
    lines = [
        running_line(
            progress,
            result.duration,
            planned_vus=run_max_vus(specs) if specs else None,
            planned_duration_s=run_max_duration(specs) if specs else None,
        ),
        *scenario_lines(progress, specs, marks=marks),
    ]
    reason = _stop_reason(result)
    if reason:
        lines.append(reason)
    return lines


def _colorize(text: str) -> str:
    return text.replace(OK_MARK, f"{_GREEN}{OK_MARK}{_RESET}").replace(
        FAIL_MARK, f"{_RED}{FAIL_MARK}{_RESET}"
    )


def render_summary(result: RunResult, *, color: bool = False) -> str:
    """The whole end-of-test summary as one string (no trailing newline)."""
    blocks = [
        _thresholds_section(result),
        _total_results_section(result),
        _sources_section(result),
        _availability_section(result),
        _errors_section(result.totals),
        _requests_section(result),
    ]
    if result.notes:
        blocks.append([_title("NOTES"), "", *(f"{_BODY_INDENT}- {n}" for n in result.notes), ""])
    lines: list[str] = []
    for block in blocks:
        if block:
            lines += [*block, ""]
    lines += _final_status(result)
    text = "\n".join(lines)
    return _colorize(text) if color else text
