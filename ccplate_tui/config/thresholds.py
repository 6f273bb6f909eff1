"""k6 threshold grammar: parse `p(99)<200` and `http_req_duration{name:login}` once, at load time.

The scanner reproduces k6's `metrics/thresholds_parser.go` quirks (operator search order, first
token with a non-empty right-hand side wins), so an expression means here what it means in k6.
Two extensions: a sliding window right after the method, `p(99)[30s]<200`, and thresholds
relative to the scenario's baseline run, `p(95) < baseline * 1.10`, `rate < baseline + 0.005`.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ccplate_tui.config.units import parse_duration, shown
from ccplate_tui.load.metrics import BUILTIN_METRICS, MetricType

Tags = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ThresholdExpr:
    """One parsed assertion, e.g. `p(99)<200` or the sliding-window form `p(99)[30s]<200`."""

    source: str
    aggregation: str
    """One of count, rate, value, avg, min, max, med, p."""
    percentile: float | None
    """For `p(N)`: N, in 0..100."""
    operator: str
    """One of <, <=, >, >=, ==, != (`===` is normalised to `==`)."""
    value: float
    """The number compared with; for a relative threshold, the operand of `baseline`."""
    window: float | None = None
    """Seconds: evaluate on the last `window` seconds only."""
    baseline: str | None = None
    """None for a plain number; for a relative threshold the operation (`*`, `/`, `+`, `-`)
    that turns the baseline run's same aggregate into the limit, with `value` as its operand
    (`avg <= baseline` is `*` 1)."""

    @property
    def relative(self) -> bool:
        """True for a threshold compared with the baseline run rather than a fixed number."""
        return self.baseline is not None

    def limit(self, baseline: float | None = None) -> float | None:
        """The number the aggregate is compared with: `value`, or the baseline operation's
        result (None when a relative threshold has no baseline value)."""
        if self.baseline is None:
            return self.value
        if baseline is None:
            return None
        return _BASELINE_OPS[self.baseline](baseline, self.value)


@dataclass(frozen=True)
class ThresholdSpec:
    """A threshold on a metric, optionally filtered by tags, as k6's `thresholds` option holds it."""

    key: str
    """The metric key as k6 would print it, e.g. `http_req_duration{scenario:auth_burst}`."""
    metric: str
    tags: Tags
    expr: ThresholdExpr
    abort_on_fail: bool = False
    delay_abort_eval: float | None = None


class ThresholdSyntaxError(ValueError):
    """A threshold key or expression that does not parse, with the offending character's index."""

    def __init__(self, message: str, source: str, position: int) -> None:
        # All three go to args so the exception survives pickling (e.g. across processes).
        super().__init__(message, source, position)
        self.message = message
        self.source = source
        self.position = position

    def __str__(self) -> str:
        return self.message

    def pointer(self) -> str:
        """The source and, under it, a caret at `position`."""
        return f"{self.source}\n{' ' * self.position}^"


# k6 tries the operators in exactly this order and cuts at the first occurrence of each.
_OPERATOR_SCAN_ORDER = ("<=", "<", ">=", ">", "===", "==", "!=")
_OPERATORS_HUMAN = "<, <=, >, >=, ==, ===, !="
_KEYWORD_METHODS = ("count", "rate", "value", "avg", "min", "max", "med")
_METHODS_HUMAN = "count, rate, value, avg, min, max, med, p(N)"

# What strconv.ParseFloat accepts in decimal form; hex floats (`0x1p-2`) are not supported.
# ASCII digits only: Python's float() also reads full-width and other Unicode digits.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INFINITY = re.compile(r"[+-]?(?:inf|infinity)", re.IGNORECASE)
_NAN = re.compile(r"[+-]?nan", re.IGNORECASE)
_METRIC_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Used only to place the caret when the operator is missing.
_METHOD_PREFIX = re.compile(r"\s*(?:count|rate|value|avg|min|max|med|p\([^)]*\))(?:\[[^\]]*\])?\s*")

_ALLOWED_METHODS: dict[MetricType, tuple[str, ...]] = {
    MetricType.COUNTER: ("count", "rate"),
    MetricType.GAUGE: ("value",),
    MetricType.RATE: ("rate",),
    MetricType.TREND: ("avg", "min", "max", "med", "p"),
}

_ENTRY_KEYS = ("threshold", "abortOnFail", "delayAbortEval")

BASELINE_WORD = "baseline"
_BASELINE_OPS: dict[str, Callable[[float, float], float]] = {
    "*": lambda base, x: base * x,
    "/": lambda base, x: base / x,
    "+": lambda base, x: base + x,
    "-": lambda base, x: base - x,
}
_BASELINE_HUMAN = "'baseline', or 'baseline' then one of * / + - and a number"
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def _parse_float(text: str) -> float | None:
    """A float as Go's strconv.ParseFloat reads it (decimal or ±Inf), or None.

    NaN is refused although ParseFloat takes it: every comparison with NaN is false, so a
    threshold on NaN could never mean what its author wanted. A literal that overflows to
    infinity is refused too, as ParseFloat reports it as out of range.
    """
    if _INFINITY.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    if not _DECIMAL.fullmatch(text):
        return None
    value = float(text)
    return None if math.isinf(value) else value


def _leading_spaces(text: str) -> int:
    return len(text) - len(text.lstrip())


def _did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?"


def parse_threshold_key(key: str) -> tuple[str, Tags]:
    """Metric name and tag filter of a thresholds key such as `http_req_duration{scenario:x}`.

    Tag pairs split at the first `:` (so `{group:::g1}` filters group `::g1`) and are trimmed
    of spaces and quotes, as k6 does. Tags come back sorted by key.
    """
    if not isinstance(key, str):
        raise ThresholdSyntaxError(f"expected a metric name string, got {key!r}", str(key), 0)
    opening = key.find("{")
    closing = key.rfind("}")
    if opening == -1 and closing == -1:
        _check_metric_name(key, key)
        return key, ()
    if closing == -1:
        raise ThresholdSyntaxError("expected '}' to close the tag filter opened here", key, opening)
    if opening == -1 or closing < opening:
        raise ThresholdSyntaxError(
            "unexpected '}' without an opening '{' before it", key, key.find("}")
        )
    if closing != len(key) - 1:
        raise ThresholdSyntaxError(
            "expected the tag filter's closing '}' to be the last character of the key",
            key,
            closing + 1,
        )
    metric = key[:opening]
    _check_metric_name(metric, key)
    tags: dict[str, str] = {}
    offset = opening + 1
    for part in key[opening + 1 : closing].split(","):
        name, value = _parse_tag_pair(part, key, offset)
        if name in tags:
            raise ThresholdSyntaxError(
                f"tag {name!r} appears twice in the tag filter", key, offset + _leading_spaces(part)
            )
        tags[name] = value
        offset += len(part) + 1
    return metric, tuple(sorted(tags.items()))


def _check_metric_name(metric: str, key: str) -> None:
    if not metric:
        raise ThresholdSyntaxError("expected a metric name, e.g. 'http_req_duration'", key, 0)
    match = _METRIC_NAME.match(metric)
    end = match.end() if match else 0
    if end != len(metric):
        raise ThresholdSyntaxError(
            f"expected a metric name of letters, digits and '_', got {metric[end]!r} in {metric!r}",
            key,
            end,
        )


def _parse_tag_pair(part: str, key: str, offset: int) -> tuple[str, str]:
    """One `name:value` of a tag filter; `offset` is where `part` starts within `key`."""
    colon = part.find(":")
    if colon == -1:
        got = repr(part.strip()) if part.strip() else "nothing"
        raise ThresholdSyntaxError(
            f"expected name:value in the tag filter, got {got}",
            key,
            offset + (_leading_spaces(part) if part.strip() else 0),
        )
    name = part[:colon].strip().strip("\"'")
    if not name:
        raise ThresholdSyntaxError("expected a tag name before ':'", key, offset + colon)
    raw_value = part[colon + 1 :]
    if raw_value == "":  # k6 rejects a bare `name:`; a quoted empty value (`name:""`) is fine
        raise ThresholdSyntaxError(
            f"expected a value after '{name}:' (write {name}:\"\" for an empty value)",
            key,
            offset + colon + 1,
        )
    return name, raw_value.strip().strip("\"'")


def parse_threshold_expr(source: str) -> ThresholdExpr:
    """Parse one k6 threshold expression (`p(95)<500`, `rate<0.01`, `avg[1m]<100`).

    Raises ThresholdSyntaxError pointing at the offending character.
    """
    if not isinstance(source, str):
        raise ThresholdSyntaxError(
            f"expected a threshold expression string like 'p(95)<500', got {source!r}",
            str(source),
            0,
        )
    if not source.strip():
        raise ThresholdSyntaxError(
            "expected a threshold expression like 'p(95)<500', got an empty string", source, 0
        )
    operator, cut = _scan_operator(source)
    lhs_raw = source[:cut]
    rhs_raw = source[cut + len(operator) :]
    lhs_start = _leading_spaces(lhs_raw)
    rhs_start = cut + len(operator) + _leading_spaces(rhs_raw)
    aggregation, percentile, window = _parse_method(lhs_raw.strip(), source, lhs_start)
    rhs = rhs_raw.strip()
    baseline: str | None = None
    if rhs.startswith(BASELINE_WORD):
        baseline, value = _parse_relative(rhs, operator, source, rhs_start)
    else:
        parsed = _parse_float(rhs)
        if parsed is not None and math.isinf(parsed):
            # Go's ParseFloat takes it, but a limit at infinity holds always or never.
            raise ThresholdSyntaxError(
                f"expected a finite number after {operator!r}, got {rhs!r} (a limit at "
                "infinity always or never holds)",
                source,
                rhs_start,
            )
        if parsed is None:
            got = f", got {shown(rhs)}" if rhs else ""
            why = " (NaN never compares true)" if _NAN.fullmatch(rhs) else ""
            word = _IDENTIFIER.match(rhs)
            hint = _did_you_mean(word.group(), (BASELINE_WORD,)) if word else ""
            raise ThresholdSyntaxError(
                f"expected a number after {operator!r}{got}{why}{hint}", source, rhs_start
            )
        value = parsed
    return ThresholdExpr(
        source=source,
        aggregation=aggregation,
        percentile=percentile,
        operator="==" if operator == "===" else operator,
        value=value,
        window=window,
        baseline=baseline,
    )


def _parse_relative(rhs: str, operator: str, source: str, start: int) -> tuple[str, float]:
    """The (operation, operand) of a right-hand side starting with `baseline` at `start`."""
    rest = rhs[len(BASELINE_WORD) :]
    if not rest:
        return "*", 1.0
    if _IDENTIFIER.match(rest[0]) or rest[0].isdigit():
        raise ThresholdSyntaxError(
            f"expected a number or {_BASELINE_HUMAN} after {operator!r}, got {rhs!r}",
            source,
            start,
        )
    op_at = start + len(BASELINE_WORD) + _leading_spaces(rest)
    rest = rest.lstrip()
    op = rest[0]
    if op not in _BASELINE_OPS:
        raise ThresholdSyntaxError(
            f"expected one of * / + - after 'baseline', got {rest!r} "
            "(e.g. 'p(95) < baseline * 1.10')",
            source,
            op_at,
        )
    operand_raw = rest[1:]
    operand_at = op_at + 1 + _leading_spaces(operand_raw)
    operand_text = operand_raw.strip()
    operand = _parse_float(operand_text)
    if operand is None or math.isinf(operand):
        got = f", got {operand_text!r}" if operand_text else ""
        raise ThresholdSyntaxError(
            f"expected a finite number after 'baseline {op}'{got}", source, operand_at
        )
    if op == "/" and operand == 0:
        raise ThresholdSyntaxError("expected a divisor other than 0", source, operand_at)
    return op, operand


def _scan_operator(source: str) -> tuple[str, int]:
    """k6's scan: the first operator, in k6's order, whose right-hand side is non-empty."""
    for operator in _OPERATOR_SCAN_ORDER:
        cut = source.find(operator)
        if cut != -1 and source[cut + len(operator) :] != "":
            return operator, cut
    dangling = next((op for op in _OPERATOR_SCAN_ORDER if op in source), None)
    if dangling is not None:
        raise ThresholdSyntaxError(f"expected a number after {dangling!r}", source, len(source))
    prefix = _METHOD_PREFIX.match(source)
    raise ThresholdSyntaxError(
        f"expected an operator ({_OPERATORS_HUMAN}) and a number, e.g. 'p(95)<500'",
        source,
        prefix.end() if prefix else len(source),
    )


def _parse_method(lhs: str, source: str, start: int) -> tuple[str, float | None, float | None]:
    """Aggregation, percentile and window of the left-hand side, which starts at `start`."""
    bracket = lhs.find("[")
    method = lhs if bracket == -1 else lhs[:bracket]
    aggregation, percentile = _parse_aggregation(method.rstrip(), source, start)
    if bracket == -1:
        return aggregation, percentile, None
    if method != method.rstrip():
        raise ThresholdSyntaxError(
            "expected the [window] right after the aggregation method, without a space",
            source,
            start + len(method.rstrip()),
        )
    return aggregation, percentile, _parse_window(lhs[bracket:], source, start + bracket)


def _parse_aggregation(method: str, source: str, start: int) -> tuple[str, float | None]:
    if method in _KEYWORD_METHODS:
        return method, None
    if not method.startswith("p("):
        got = repr(method) if method else "nothing"
        hint = _did_you_mean(method, _KEYWORD_METHODS) if method else ""
        raise ThresholdSyntaxError(
            f"expected one of {_METHODS_HUMAN} before the operator, got {got}{hint}",
            source,
            start,
        )
    if not method.endswith(")"):
        raise ThresholdSyntaxError(
            "expected ')' to close 'p(' (a percentile looks like p(95))",
            source,
            start + len(method),
        )
    inner = method[2:-1]
    percentile = _parse_float(inner)
    if percentile is None or not 0 <= percentile <= 100:
        got = repr(inner) if inner else "nothing"
        raise ThresholdSyntaxError(
            f"expected a percentile from 0 to 100 in p(N), got {got}", source, start + 2
        )
    return "p", percentile


def _parse_window(text: str, source: str, start: int) -> float:
    """Seconds of a `[duration]` window; `text` starts with `[` at `start` in `source`."""
    closing = text.find("]")
    if closing == -1:
        raise ThresholdSyntaxError(
            "expected ']' to close the window, e.g. p(99)[30s]<200", source, start
        )
    if closing != len(text) - 1:
        raise ThresholdSyntaxError(
            "expected the operator right after the window's ']'", source, start + closing + 1
        )
    inner = text[1:closing]
    try:
        window = parse_duration(inner)
    except ValueError:
        raise ThresholdSyntaxError(
            f"expected a window duration like [30s] or [1m], got [{inner}]", source, start + 1
        ) from None
    if window <= 0:
        raise ThresholdSyntaxError(
            f"expected a window longer than 0s, got [{inner}]", source, start + 1
        )
    return window


def method_label(expr: ThresholdExpr) -> str:
    """The aggregation as k6 prints it: `avg`, `p(95)`, `p(99.9)`."""
    if expr.aggregation == "p":
        return f"p({expr.percentile:g})"
    return expr.aggregation


def validate_threshold(metric: str, expr: ThresholdExpr) -> None:
    """Refuse an unknown metric, or a method the metric's type does not have (k6 exit 104)."""
    info = BUILTIN_METRICS.get(metric)
    if info is None:
        names = sorted(BUILTIN_METRICS)
        hint = _did_you_mean(metric, names) or f"; expected one of {', '.join(names)}"
        raise ThresholdSyntaxError(f"unknown metric {metric!r}{hint}", metric, 0)
    allowed = _ALLOWED_METHODS[info.type]
    if expr.aggregation in allowed:
        return
    human = [("p(N)" if m == "p" else m) for m in allowed]
    use = human[0] if len(human) == 1 else ", ".join(human[:-1]) + " or " + human[-1]
    raise ThresholdSyntaxError(
        f"{method_label(expr)!r} is not valid for {metric} (a {info.type.value}); use {use}",
        expr.source,
        _leading_spaces(expr.source),
    )


def format_threshold_key(metric: str, tags: Tags) -> str:
    """`metric{k:v,k2:v2}` with tags sorted, or just `metric` without tags."""
    if not tags:
        return metric
    return metric + "{" + ",".join(f"{k}:{v}" for k, v in sorted(tags)) + "}"


def parse_threshold_entry(
    key: str, entry: str | Mapping[str, object], *, scope: Tags = ()
) -> ThresholdSpec:
    """One entry of k6's `thresholds` option: a string, or {threshold, abortOnFail, delayAbortEval}.

    `scope` tags (e.g. `scenario:<name>` for a scenario's own thresholds) join the key's filter;
    an explicit tag that contradicts the scope is an error rather than a silent override.
    """
    metric, tags = parse_threshold_key(key)
    abort_on_fail = False
    delay: float | None = None
    if isinstance(entry, str):
        source = entry
    elif isinstance(entry, Mapping):
        unknown = [k for k in entry if k not in _ENTRY_KEYS]
        if unknown:
            name = str(unknown[0])
            raise ValueError(
                f"unknown key {name!r} in threshold of {key!r}{_did_you_mean(name, _ENTRY_KEYS)}; "
                f"expected {', '.join(_ENTRY_KEYS)}"
            )
        if "threshold" not in entry:
            raise ValueError(
                f"missing 'threshold' in threshold of {key!r}, e.g. {{threshold = 'p(95)<500'}}"
            )
        raw = entry["threshold"]
        if not isinstance(raw, str):
            raise ValueError(
                f"threshold of {key!r}: expected an expression string like 'p(95)<500', got {raw!r}"
            )
        source = raw
        flag = entry.get("abortOnFail", False)
        if not isinstance(flag, bool):
            raise ValueError(f"abortOnFail of {key!r}: expected true or false, got {flag!r}")
        abort_on_fail = flag
        if "delayAbortEval" in entry:
            try:
                delay = parse_duration(entry["delayAbortEval"])  # type: ignore[arg-type]
            except ValueError as exc:
                raise ValueError(f"delayAbortEval of {key!r}: {exc}") from None
    else:
        raise ValueError(
            f"threshold of {key!r}: expected an expression string like 'p(95)<500' or a table "
            f"{{threshold, abortOnFail, delayAbortEval}}, got {entry!r}"
        )
    expr = parse_threshold_expr(source)
    validate_threshold(metric, expr)
    merged = dict(tags)
    for name, value in scope:
        explicit = merged.get(name)
        if explicit is not None and explicit != value:
            raise ValueError(
                f"threshold key {key!r} filters {name}:{explicit} but it is scoped to "
                f"{name}:{value}; remove the explicit tag"
            )
        merged[name] = value
    all_tags = tuple(sorted(merged.items()))
    return ThresholdSpec(
        key=format_threshold_key(metric, all_tags),
        metric=metric,
        tags=all_tags,
        expr=expr,
        abort_on_fail=abort_on_fail,
        delay_abort_eval=delay,
    )
