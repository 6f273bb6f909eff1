"""Property-based fuzzing of the config (Hypothesis): mutations of the shipped scenarios.toml
(deleted keys, swapped types, extreme numbers, bad durations, unicode, deep nesting, broken
TOML) load into a Config or raise ConfigError, never another exception and never a hang; the
same for threshold and check expressions (their own syntax errors).

The `@example`s are cases found by hand or by Hypothesis that once failed (issue 15): they run
every time, whatever Hypothesis draws.
"""

from __future__ import annotations

import math
import time
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ccplate_tui.config.checks import CheckSyntaxError, parse_check
from ccplate_tui.config.errors import ConfigError
from ccplate_tui.config.loader import parse_config
from ccplate_tui.config.model import Config
from ccplate_tui.config.thresholds import ThresholdSyntaxError, parse_threshold_expr

SHIPPED = (Path(__file__).resolve().parent.parent / "scenarios.toml").read_text(encoding="utf-8")
BASE = tomllib.loads(SHIPPED)
BOUND_S = 20.0
"""Generous: a parse takes milliseconds; only a hang or a runaway loop comes near this."""

NASTY = [
    "9" * 400 + "s",
    "1e309",
    "-1s",
    "",
    "１s",
    "p(99)<inf",
    "p(99)<２００",
    "~nouser_ccplate/x",
    "/a b",
    "/ok\r\nX: 1",
    "http://127.0.0.1:0",
    "http://[::1",
    "\x00",
    "(" * 400 + "status == 200" + ")" * 400,
    "ｓｔａｔｕｓ == 200",
]
scalars = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**63 - 1, 10**15, 2**64]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(NASTY),
    st.booleans(),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in the parsed TOML, tables and arrays alike."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, child in node.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _paths(child, (*prefix, index))
    return found


PATHS = _paths(BASE)


def _copy(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_copy(v) for v in node]
    return node


def _mutate(data: Any, path: tuple[Any, ...], how: str, value: Any) -> None:
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if how == "delete":
        del parent[last]
    elif how == "nest":
        nested = parent[last]
        for _ in range(value):
            nested = [nested]
        parent[last] = nested
    else:
        parent[last] = value


def _loads_or_config_error(text: str) -> None:
    started = time.monotonic()
    try:
        result = parse_config(text, "fuzz.toml")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.toml"), str(exc)
    else:
        assert isinstance(result, Config)
    assert time.monotonic() - started < BOUND_S


FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)


@FUZZ
@given(
    mutations=st.lists(
        st.tuples(
            st.sampled_from(PATHS),
            st.sampled_from(["delete", "replace", "replace", "nest"]),
            values,
            st.integers(min_value=1, max_value=200),
        ),
        min_size=1,
        max_size=4,
    )
)
@example(
    mutations=[
        (("scenarios", "auth_burst", "stages", 0, "duration"), "replace", "9" * 400 + "s", 1)
    ]
)
@example(mutations=[(("scenarios", "auth_burst", "gracefulStop"), "replace", "9" * 400 + "s", 1)])
@example(mutations=[(("scenarios", "auth_burst", "startVUs"), "replace", 2**63 - 1, 1)])
@example(mutations=[(("target", "base_url"), "replace", "http://127.0.0.1:0", 1)])
@example(mutations=[(("sentry", "project"), "replace", "~nouser_ccplate/x", 1)])
@example(
    mutations=[(("scenarios", "auth_burst", "requests", 0, "path"), "replace", "/ok\r\nX: 1", 1)]
)
@example(
    mutations=[
        (
            ("scenarios", "auth_burst", "thresholds", "http_req_duration", 0),
            "replace",
            "p(99)<２００",
            1,
        )
    ]
)
@example(mutations=[(("scenarios", "auth_burst", "requests"), "nest", None, 200)])
@example(mutations=[(("scenarios", "auth_burst"), "replace", [], 1)])
@example(mutations=[(("scenarios",), "replace", {"": {}}, 1)])
def test_a_mutated_shipped_config_loads_or_is_a_config_error(
    mutations: list[tuple[tuple[Any, ...], str, Any, int]],
) -> None:
    data = _copy(BASE)
    for path, how, value, depth in mutations:
        try:
            _mutate(data, path, how, depth if how == "nest" else value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    try:
        text = tomli_w.dumps(data)
    except (TypeError, ValueError):
        return  # not expressible as TOML (a list of mixed tables), so no file could hold it
    _loads_or_config_error(text)


@FUZZ
@given(
    cut=st.integers(min_value=0, max_value=len(SHIPPED)),
    length=st.integers(min_value=0, max_value=40),
    insert=st.text(max_size=20) | st.sampled_from(["[", "]]", '"', "=", "\n[[", "{", "\\u", "'''"]),
)
@example(cut=0, length=0, insert="[" * 500)
@example(cut=len(SHIPPED), length=0, insert="\nx = " + "[" * 500 + "]" * 500)
def test_broken_toml_text_is_a_config_error_with_a_position(
    cut: int, length: int, insert: str
) -> None:
    _loads_or_config_error(SHIPPED[:cut] + insert + SHIPPED[cut + length :])


EXPRESSION_PARTS = st.sampled_from(
    ["p(", "99", ")", "<", "<=", "==", ">", "avg", "med", "count", "rate", "[", "30s", "]",
     "baseline", "*", "/", "1e999", "inf", "nan", "２", " ", "-", ".", "e", "(", "0x10"]
)  # fmt: skip


@FUZZ
@given(st.text(max_size=60) | st.lists(EXPRESSION_PARTS, max_size=12).map("".join))
@example("p(99)<inf")
@example("p(99)<" + "9" * 400)
@example("avg[" + "9" * 400 + "s]<1")
def test_threshold_expressions_parse_or_are_a_syntax_error(source: str) -> None:
    try:
        expr = parse_threshold_expr(source)
    except ThresholdSyntaxError as exc:
        assert str(exc)
    else:  # what parses is a limit that can hold or fail: finite, written in ASCII digits
        assert math.isfinite(expr.value)
        assert not any(char.isdigit() and not char.isascii() for char in source)


CHECK_PARTS = st.sampled_from(
    ["status", "==", "200", "body", "contains", '"x"', "and", "or", "not", "(", ")", "duration",
     "<", "500", "ms", "header", "json", ".a", "[0]", "matches", '"\\\\d+"', " ", "１"]
)  # fmt: skip


@FUZZ
@given(st.text(max_size=60) | st.lists(CHECK_PARTS, max_size=16).map(" ".join))
@example("(" * 400 + "status == 200" + ")" * 400)
@example("not " * 500 + "status == 200")
def test_check_expressions_parse_or_are_a_syntax_error(source: str) -> None:
    try:
        predicate = parse_check(source)
    except CheckSyntaxError as exc:
        assert str(exc)
    else:
        assert predicate(200, b"x", 1.0, ()) in (True, False)
