"""k6's threshold grammar: keys with tag filters, expressions, validation per metric type, entries."""

from __future__ import annotations

import math
import pickle

import pytest

from ccplate_tui.config.thresholds import (
    ThresholdExpr,
    ThresholdSyntaxError,
    parse_threshold_entry,
    parse_threshold_expr,
    parse_threshold_key,
    validate_threshold,
)

# ---------------------------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    ("key", "metric", "tags"),
    [
        ("http_req_duration{scen:steady}", "http_req_duration", (("scen", "steady"),)),
        ("group_duration{group:::g1}", "group_duration", (("group", "::g1"),)),
        ("http_req_duration{name:errp}", "http_req_duration", (("name", "errp"),)),
        ("http_req_failed", "http_req_failed", ()),
        # sorted by key; spaces and both kinds of quotes trimmed
        (
            "http_req_duration{ status : '200' , \"name\":login}",
            "http_req_duration",
            (("name", "login"), ("status", "200")),
        ),
        # split at the FIRST colon only
        (
            "http_req_duration{url:http://127.0.0.1:8787/x}",
            "http_req_duration",
            (("url", "http://127.0.0.1:8787/x"),),
        ),
        # a quoted empty value selects the root group
        ("checks{group:''}", "checks", (("group", ""),)),
    ],
)
def test_parse_threshold_key(key: str, metric: str, tags: tuple) -> None:
    assert parse_threshold_key(key) == (metric, tags)


@pytest.mark.parametrize(
    ("key", "position", "fragment"),
    [
        ("http_req_duration{scen:steady", 17, "expected '}'"),
        ("http_req_duration}", 17, "without an opening '{'"),
        ("http_req_duration}x{a:b", 17, "without an opening '{'"),
        ("http_req_duration{a:b}x", 22, "last character"),
        ("{scen:steady}", 0, "expected a metric name"),
        ("", 0, "expected a metric name"),
        ("http req_duration", 4, "letters, digits and '_'"),
        ("http_req_duration {a:b}", 17, "letters, digits and '_'"),
        ("http_req_duration{scen}", 18, "expected name:value"),
        ("http_req_duration{a:b, scen}", 23, "expected name:value"),
        ("http_req_duration{}", 18, "got nothing"),
        ("http_req_duration{a:b,}", 22, "got nothing"),
        ("http_req_duration{:x}", 18, "expected a tag name"),
        ("http_req_duration{ '' :x}", 22, "expected a tag name"),
        ("http_req_duration{scen:}", 23, "expected a value after 'scen:'"),
        ("http_req_duration{a:1,a:2}", 22, "appears twice"),
    ],
)
def test_parse_threshold_key_errors(key: str, position: int, fragment: str) -> None:
    with pytest.raises(ThresholdSyntaxError) as info:
        parse_threshold_key(key)
    assert fragment in str(info.value)
    assert info.value.position == position
    assert info.value.source == key


# --------------------------------------------------------------------------------- expressions

EXAMPLES = [
    # from the reference notes and its JSON samples
    ("p(95)<500", "p", 95.0, "<", 500.0),
    ("p(99)<1000", "p", 99.0, "<", 1000.0),
    ("avg<200", "avg", None, "<", 200.0),
    ("med<100", "med", None, "<", 100.0),
    ("max<2000", "max", None, "<", 2000.0),
    ("min<100", "min", None, "<", 100.0),
    ("rate<0.05", "rate", None, "<", 0.05),
    ("p(90)<300", "p", 90.0, "<", 300.0),
    ("rate<0.01", "rate", None, "<", 0.01),
    # every operator and keyword
    ("count<=5", "count", None, "<=", 5.0),
    ("count>=5", "count", None, ">=", 5.0),
    ("count>5", "count", None, ">", 5.0),
    ("value==3", "value", None, "==", 3.0),
    ("value===3", "value", None, "==", 3.0),
    ("value!=3", "value", None, "!=", 3.0),
    ("rate>0.9", "rate", None, ">", 0.9),
    # spaces around tokens
    ("p(95) < 500", "p", 95.0, "<", 500.0),
    ("  avg   >=   1.5  ", "avg", None, ">=", 1.5),
    # number forms strconv.ParseFloat takes
    ("avg<1e1", "avg", None, "<", 10.0),
    ("avg<1E+1", "avg", None, "<", 10.0),
    ("avg<.5", "avg", None, "<", 0.5),
    ("avg<5.", "avg", None, "<", 5.0),
    ("avg>-1", "avg", None, ">", -1.0),
    ("p(0)<1", "p", 0.0, "<", 1.0),
    ("p(100)<1", "p", 100.0, "<", 1.0),
    ("p(99.9)<1", "p", 99.9, "<", 1.0),
    ("p(1e1)<1", "p", 10.0, "<", 1.0),
]


@pytest.mark.parametrize(("source", "aggregation", "percentile", "operator", "value"), EXAMPLES)
def test_parse_threshold_expr(
    source: str, aggregation: str, percentile: float | None, operator: str, value: float
) -> None:
    assert parse_threshold_expr(source) == ThresholdExpr(
        source=source,
        aggregation=aggregation,
        percentile=percentile,
        operator=operator,
        value=value,
        window=None,
    )


def test_scan_order_quirks_match_k6() -> None:
    # `<=` is tried before `<`, so it is not read as `<` followed by `=5`.
    assert parse_threshold_expr("count<=5").operator == "<="
    # `===` is tried before `==`, so the third `=` is not left on the right-hand side.
    assert parse_threshold_expr("count===5").value == 5.0
    # `<=` with nothing after it is skipped (empty right-hand side); `<` then wins with RHS "=".
    with pytest.raises(ThresholdSyntaxError) as info:
        parse_threshold_expr("avg<=")
    assert str(info.value) == "expected a number after '<', got '='"
    assert info.value.position == 4
    # The cut is at the first occurrence: the rest becomes the right-hand side.
    with pytest.raises(ThresholdSyntaxError) as info:
        parse_threshold_expr("avg<5<6")
    assert "got '5<6'" in str(info.value)
    assert info.value.position == 4
    # `=>` is not an operator: `>` is found, leaving `count=` as an unknown method.
    with pytest.raises(ThresholdSyntaxError) as info:
        parse_threshold_expr("count=>5")
    assert info.value.position == 0
    assert "got 'count='" in str(info.value)


@pytest.mark.parametrize(
    ("source", "aggregation", "percentile", "window", "value"),
    [
        ("p(99)[30s]<200", "p", 99.0, 30.0, 200.0),
        ("avg[1m]<100", "avg", None, 60.0, 100.0),
        ("rate[10s]<0.01", "rate", None, 10.0, 0.01),
        ("count[1m30s] < 5", "count", None, 90.0, 5.0),
        ("p(99.9)[500ms]<=1", "p", 99.9, 0.5, 1.0),
    ],
)
def test_windowed_forms(
    source: str, aggregation: str, percentile: float | None, window: float, value: float
) -> None:
    expr = parse_threshold_expr(source)
    assert (expr.aggregation, expr.percentile, expr.window, expr.value) == (
        aggregation,
        percentile,
        window,
        value,
    )


@pytest.mark.parametrize(
    ("source", "position", "fragment"),
    [
        ("", 0, "got an empty string"),
        ("   ", 0, "got an empty string"),
        # missing operator: the caret goes where the operator was expected
        ("p(95)", 5, "expected an operator"),
        ("p(95) 500", 6, "expected an operator"),
        ("avg=5", 3, "expected an operator"),
        ("nonsense", 8, "expected an operator"),
        ("avg<", 4, "expected a number after '<'"),
        ("avg!=", 5, "expected a number after '!='"),
        # unknown aggregation method: the caret at its start
        (
            "mean<5",
            0,
            "expected one of count, rate, value, avg, min, max, med, p(N) before the operator",
        ),
        ("  avgg < 5", 2, "did you mean 'avg'?"),
        ("<5", 0, "got nothing"),
        ("P(95)<5", 0, "expected one of"),
        ("p (95)<5", 0, "expected one of"),
        # missing / invalid number: the caret at the start of the right-hand side
        ("avg<abc", 4, "expected a number after '<', got 'abc'"),
        ("avg <  abc", 7, "got 'abc'"),
        ("avg<   ", 7, "expected a number after '<'"),
        ("avg<1_000", 4, "got '1_000'"),
        ("avg<0x10", 4, "got '0x10'"),
        ("avg<1e999", 4, "got '1e999'"),
        ("avg<NaN", 4, "NaN never compares true"),
        ("avg<+Inf", 4, "expected a finite number after '<', got '+Inf'"),
        ("p(99)<inf", 6, "a limit at infinity always or never holds"),
        ("p(99)<２００", 6, "got '２００'"),  # full-width digits: float() reads them, k6 not
        ("p(99)<" + "9" * 400, 6, "(400 chars)"),
        ("avg<5 ms", 4, "got '5 ms'"),
        # percentiles: the caret inside `p(`
        ("p(101)<5", 2, "expected a percentile from 0 to 100"),
        ("p(-1)<5", 2, "expected a percentile from 0 to 100"),
        ("p(abc)<5", 2, "got 'abc'"),
        ("p()<5", 2, "got nothing"),
        ("p( 95 )<5", 2, "got ' 95 '"),
        ("p(nan)<5", 2, "expected a percentile"),
        ("p(inf)<5", 2, "expected a percentile"),
        (" p(95<5", 5, "expected ')' to close 'p('"),
        # windows
        ("avg[30s<1", 3, "expected ']' to close the window"),
        ("avg[30s]x<1", 8, "right after the window's ']'"),
        ("avg [30s]<1", 3, "without a space"),
        ("avg[abc]<1", 4, "expected a window duration like [30s]"),
        ("avg[]<1", 4, "expected a window duration"),
        ("p(99)[0s]<1", 6, "longer than 0s"),
        ("p(99)[30]<1", 6, "expected a window duration"),
        ("mean[30s]<1", 0, "expected one of"),
    ],
)
def test_parse_threshold_expr_errors(source: str, position: int, fragment: str) -> None:
    with pytest.raises(ThresholdSyntaxError) as info:
        parse_threshold_expr(source)
    error = info.value
    assert fragment in str(error)
    assert error.position == position
    assert error.source == source
    assert error.message == str(error)


def test_pointer_puts_a_caret_under_the_offending_character() -> None:
    with pytest.raises(ThresholdSyntaxError) as info:
        parse_threshold_expr("p(95) < lots")
    assert info.value.pointer() == "p(95) < lots\n        ^"


def test_syntax_error_is_a_value_error_and_pickles() -> None:
    with pytest.raises(ValueError) as info:
        parse_threshold_expr("p(200)<5")
    copy = pickle.loads(pickle.dumps(info.value))
    assert isinstance(copy, ThresholdSyntaxError)
    assert (copy.message, copy.source, copy.position) == (
        info.value.message,
        "p(200)<5",
        2,
    )


def test_non_string_expression_is_refused() -> None:
    with pytest.raises(ThresholdSyntaxError, match="expected a threshold expression string"):
        parse_threshold_expr(500)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("metric", "source"),
    [
        ("http_reqs", "count>10"),
        ("http_reqs", "rate>10"),
        ("dropped_iterations", "count<1"),
        ("vus", "value<=10"),
        ("http_req_failed", "rate<0.01"),
        ("checks", "rate>0.9"),
        ("http_req_duration", "avg<1"),
        ("http_req_duration", "min<1"),
        ("http_req_duration", "max<1"),
        ("http_req_duration", "med<1"),
        ("group_duration", "p(99.9)<1"),
        ("http_req_duration", "p(99)[30s]<1"),
        ("http_req_failed", "rate[10s]<0.01"),
    ],
)
def test_validate_accepts_methods_of_the_metric_type(metric: str, source: str) -> None:
    validate_threshold(metric, parse_threshold_expr(source))


@pytest.mark.parametrize(
    ("metric", "source", "message"),
    [
        (
            "http_req_failed",
            "p(95)<1",
            "'p(95)' is not valid for http_req_failed (a rate); use rate",
        ),
        ("checks", "count>1", "'count' is not valid for checks (a rate); use rate"),
        ("http_reqs", "avg<1", "'avg' is not valid for http_reqs (a counter); use count or rate"),
        (
            "data_sent",
            "value<1",
            "'value' is not valid for data_sent (a counter); use count or rate",
        ),
        ("vus", "rate<1", "'rate' is not valid for vus (a gauge); use value"),
        ("vus_max", "max<1", "'max' is not valid for vus_max (a gauge); use value"),
        (
            "http_req_duration",
            "rate<1",
            "'rate' is not valid for http_req_duration (a trend); use avg, min, max, med or p(N)",
        ),
        (
            "iteration_duration",
            "count<1",
            "'count' is not valid for iteration_duration (a trend); use avg, min, max, med or p(N)",
        ),
        ("http_req_failed", "p(99.9)[30s]<1", "'p(99.9)' is not valid for http_req_failed"),
    ],
)
def test_validate_refuses_methods_of_other_types(metric: str, source: str, message: str) -> None:
    with pytest.raises(ThresholdSyntaxError) as info:
        validate_threshold(metric, parse_threshold_expr(source))
    assert str(info.value).startswith(message)
    assert info.value.position == 0


def test_validate_unknown_metric_suggests_close_matches() -> None:
    with pytest.raises(ThresholdSyntaxError) as info:
        validate_threshold("http_req_duraton", parse_threshold_expr("p(95)<1"))
    assert "unknown metric 'http_req_duraton'" in str(info.value)
    assert "did you mean 'http_req_duration'" in str(info.value)


def test_validate_unknown_metric_without_close_match_lists_the_builtins() -> None:
    with pytest.raises(ThresholdSyntaxError) as info:
        validate_threshold("zzz", parse_threshold_expr("avg<1"))
    assert "unknown metric 'zzz'; expected one of checks, data_received" in str(info.value)


# ------------------------------------------------------------------------------------- entries


def test_entry_string() -> None:
    spec = parse_threshold_entry("http_req_duration{name:errp}", "p(95)<500")
    assert spec.key == "http_req_duration{name:errp}"
    assert spec.metric == "http_req_duration"
    assert spec.tags == (("name", "errp"),)
    assert spec.expr.percentile == 95.0
    assert (spec.abort_on_fail, spec.delay_abort_eval) == (False, None)


def test_entry_table_as_in_the_k6_json_sample() -> None:
    spec = parse_threshold_entry(
        "http_req_failed",
        {"threshold": "rate<0.05", "abortOnFail": True, "delayAbortEval": "1s"},
    )
    assert spec.key == "http_req_failed"
    assert spec.expr.value == 0.05
    assert (spec.abort_on_fail, spec.delay_abort_eval) == (True, 1.0)


def test_entry_scope_merges_and_sorts_tags() -> None:
    spec = parse_threshold_entry(
        "http_req_duration{status:200}",
        "avg<1",
        scope=(("scenario", "auth_burst"),),
    )
    assert spec.tags == (("scenario", "auth_burst"), ("status", "200"))
    assert spec.key == "http_req_duration{scenario:auth_burst,status:200}"
    same = parse_threshold_entry(
        "http_req_duration{scenario:auth_burst}", "avg<1", scope=(("scenario", "auth_burst"),)
    )
    assert same.key == "http_req_duration{scenario:auth_burst}"


def test_entry_scope_conflict_is_an_error() -> None:
    with pytest.raises(
        ValueError, match="filters scenario:other but it is scoped to scenario:mine"
    ):
        parse_threshold_entry(
            "http_req_duration{scenario:other}", "avg<1", scope=(("scenario", "mine"),)
        )


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"threshold": "avg<1", "abortonfail": True}, "unknown key 'abortonfail'"),
        ({"threshold": "avg<1", "abortonfail": True}, "did you mean 'abortOnFail'"),
        ({"abortOnFail": True}, "missing 'threshold'"),
        ({"threshold": 5}, "expected an expression string"),
        (
            {"threshold": "avg<1", "abortOnFail": "yes"},
            "abortOnFail of 'http_req_duration': expected true or false",
        ),
        ({"threshold": "avg<1", "delayAbortEval": "soon"}, "delayAbortEval of 'http_req_duration'"),
        ({"threshold": "avg<1", "delayAbortEval": 10}, "delayAbortEval of 'http_req_duration'"),
        (42, "expected an expression string like 'p(95)<500' or a table"),
        (["avg<1"], "or a table"),
    ],
)
def test_entry_errors(entry: object, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_threshold_entry("http_req_duration", entry)  # type: ignore[arg-type]
    assert fragment in str(info.value)


def test_entry_propagates_syntax_and_validation_errors() -> None:
    with pytest.raises(ThresholdSyntaxError) as info:
        parse_threshold_entry("http_req_duration{a:b", "avg<1")
    assert info.value.position == 17
    with pytest.raises(ThresholdSyntaxError) as info:
        parse_threshold_entry("http_req_duration", {"threshold": "avg<oops"})
    assert info.value.position == 4
    with pytest.raises(ThresholdSyntaxError, match="is not valid for http_req_failed"):
        parse_threshold_entry("http_req_failed", "avg<1")
    with pytest.raises(ThresholdSyntaxError, match="unknown metric"):
        parse_threshold_entry("my_custom_metric", "count<1")
