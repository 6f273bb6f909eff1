"""The check expression language: every construct, precedence, pickling and error positions."""

from __future__ import annotations

import json
import multiprocessing
import pickle

import pytest

from ccplate_tui.config.checks import (
    And,
    BodyContains,
    BodyMatches,
    CheckSyntaxError,
    JsonCompare,
    Not,
    Or,
    Predicate,
    StatusIn,
    parse_check,
)

HEADERS = {"Content-Type": "application/json; charset=utf-8", "X-Request-Id": "abc123"}


def run(source: str, status: int = 200, body: bytes = b"", duration: float = 10.0) -> bool:
    return parse_check(source)(status, body, duration, HEADERS)


# --- status --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "status", "expected"),
    [
        ("status == 200", 200, True),
        ("status == 200", 201, False),
        ("status != 200", 500, True),
        ("status != 200", 200, False),
        ("status < 300", 299, True),
        ("status < 300", 300, False),
        ("status <= 300", 300, True),
        ("status > 399", 400, True),
        ("status > 399", 399, False),
        ("status >= 500", 500, True),
        ("status >= 500", 499, False),
        ("status==0", 0, True),  # k6 reports transport errors as status 0
    ],
)
def test_status_comparisons(source: str, status: int, expected: bool) -> None:
    assert run(source, status=status) is expected


def test_status_in_and_not_in() -> None:
    assert run("status in [200, 401]", status=401)
    assert not run("status in [200, 401]", status=500)
    assert run("status in [200]", status=200)
    assert run("status not in [500, 502]", status=200)
    assert not run("status not in [500, 502]", status=502)
    assert parse_check("status in [200, 401]") == StatusIn(frozenset({200, 401}))


# --- duration ------------------------------------------------------------------------------------


def test_duration_is_milliseconds_with_optional_unit() -> None:
    assert run("duration < 200", duration=199.9)
    assert not run("duration < 200", duration=200.0)
    assert run("duration < 200ms", duration=150)
    assert run("duration < 1.5s", duration=1499)
    assert not run("duration < 1.5s", duration=1501)
    assert run("duration >= 0.5", duration=0.5)


# --- body ----------------------------------------------------------------------------------------


def test_body_contains_not_contains_and_matches() -> None:
    body = b'{"error": "concurrent modification detected"}'
    assert run('body contains "concurrent"', body=body)
    assert not run('body contains "locked"', body=body)
    assert run("body not contains 'locked'", body=body)
    assert not run('body not contains "modification"', body=body)
    assert run(r'body matches "concurrent\\s+mod"', body=body)
    assert run("body matches '^\\{'", body=body)
    assert not run('body matches "^error"', body=body)
    # Undecodable bytes do not make a regex check crash.
    assert run('body matches "ok"', body=b"\xff\xfe ok")
    assert run('body contains "caf\u00e9"', body="un café".encode())
    # Escapes: \" \' \\ \n \t are unescaped; any other keeps its backslash for regexes.
    assert run(r'body matches "\d{3}-\d+"', body=b"call 555-1234")
    assert run(r'body contains "say \"hi\""', body=b'they say "hi"')
    assert run(r"body contains 'it\'s'", body=b"it's")
    assert run(r'body contains "a\\b"', body=b"a\\b")


# --- headers -------------------------------------------------------------------------------------


def test_header_contains_and_exists_case_insensitively() -> None:
    assert run('header "content-type" contains "json"')
    assert run('header "Content-Type" contains "json"')
    assert not run('header "Content-Type" contains "xml"')
    assert run('header "Content-Type" not contains "xml"')
    assert run('header "x-request-id" exists')
    assert not run('header "X-Missing" exists')
    # A missing header contains nothing.
    assert not run('header "X-Missing" contains "a"')
    assert run('header "X-Missing" not contains "a"')


# --- json ----------------------------------------------------------------------------------------

DOC = json.dumps(
    {
        "user": {"id": 42, "email": "a@example.com", "admin": False, "manager": None},
        "items": [{"name": "first"}, {"name": "second"}],
        "score": 2.5,
        "a key": "spaced",
        "one": 1,
    }
).encode()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("json .user.id == 42", True),
        ("json .user.id != 42", False),
        ("json .user.id > 41.5", True),
        ("json .user.id <= 41", False),
        ('json .user.email == "a@example.com"', True),
        ("json .user.email == 'b@example.com'", False),
        ("json .user.admin == false", True),
        ("json .user.admin == true", False),
        ("json .user.manager == null", True),
        ('json .items[0].name == "first"', True),
        ('json .items[1].name == "second"', True),
        ('json .items[-1].name == "second"', True),
        ("json .items[2].name == null", False),  # out of range: false, not an error
        ("json .score >= 2.5", True),
        ("json .score < 2", False),
        ('json ["a key"] == "spaced"', False),  # a path must start with '.', see the error test
        ('json .["a key"] == "spaced"', True),
        ("json .missing == null", False),  # a missing path is false whatever the operator
        ("json .missing != 1", False),
        ("json .user.admin == 0", False),  # JSON false is not the number 0
        ("json .one == true", False),  # and 1 is not true
        ('json .user.id < "z"', False),  # ordering a number against a string is false
        ('json .user.email > "a"', True),
    ],
)
def test_json_paths_and_literals(source: str, expected: bool) -> None:
    if source.startswith("json ["):
        with pytest.raises(CheckSyntaxError):
            parse_check(source)
        return
    assert run(source, body=DOC) is expected


def test_json_on_a_non_json_body_is_false() -> None:
    assert not run("json .user.id == 42", body=b"<html>not json</html>")
    assert not run("json .user.id != 42", body=b"")
    assert not run("json . == 1", body=b"\xff")
    assert run("json . == 1", body=b"1")


def test_json_checks_on_one_body_parse_consistently() -> None:
    # The parsed body is cached by identity; a different body must not reuse it.
    first, second = b'{"n": 1}', b'{"n": 2}'
    check = parse_check("json .n == 1")
    assert check(200, first, 1.0, {})
    assert not check(200, second, 1.0, {})
    assert check(200, first, 1.0, {})


# --- combinations --------------------------------------------------------------------------------


def test_and_binds_tighter_than_or() -> None:
    # status == 500 or (status == 200 and duration < 100)
    source = "status == 500 or status == 200 and duration < 100"
    assert run(source, status=500, duration=1000)
    assert run(source, status=200, duration=50)
    assert not run(source, status=200, duration=500)
    assert isinstance(parse_check(source), Or)


def test_parentheses_override_precedence() -> None:
    source = "(status == 500 or status == 200) and duration < 100"
    assert not run(source, status=500, duration=1000)
    assert run(source, status=500, duration=50)
    assert isinstance(parse_check(source), And)


def test_not_applies_to_the_next_term_only() -> None:
    source = "not status == 200 and duration < 100"
    assert run(source, status=404, duration=50)
    assert not run(source, status=200, duration=50)
    assert not run(source, status=404, duration=500)
    assert run("not not status == 200")
    assert run("not (status == 500 or status == 502)")
    assert isinstance(parse_check("not status == 200"), Not)


def test_chains_flatten() -> None:
    check = parse_check("status >= 200 and status < 300 and duration < 100")
    assert isinstance(check, And) and len(check.items) == 3


def test_needs_body_only_for_body_and_json_checks() -> None:
    assert not parse_check("status == 200 and duration < 100").needs_body
    assert not parse_check('header "a" exists').needs_body
    assert parse_check('body contains "x"').needs_body
    assert parse_check('body matches "x"').needs_body
    assert parse_check("json .a == 1").needs_body
    assert parse_check('status == 200 or not body contains "x"').needs_body
    assert parse_check("not (status == 200 and json .a == 1)").needs_body


# --- pickling ------------------------------------------------------------------------------------

ALL = (
    'status in [200, 401] and duration < 200 or not body contains "x" or body matches "a+b" '
    'or header "Content-Type" not contains "xml" or header "X" exists or json .items[0].n >= 2'
)


def test_predicates_pickle_and_still_work() -> None:
    check = parse_check(ALL)
    copy = pickle.loads(pickle.dumps(check))
    assert copy == check
    assert copy(200, b"", 10.0, {}) is True
    assert copy(500, b"x", 999.0, {"Content-Type": "text/xml"}) is False
    assert copy(500, b"x aab", 999.0, {"Content-Type": "text/xml"}) is True
    assert isinstance(copy, Predicate)


def _evaluate_in_child(check: Predicate, queue: multiprocessing.Queue) -> None:
    queue.put(
        [
            check(200, b"", 10.0, {}),
            check(500, b'{"items": [{"n": 3}]}', 999.0, {"Content-Type": "text/xml"}),
            check(500, b"x", 999.0, {"Content-Type": "text/xml"}),
        ]
    )


def test_predicates_survive_a_spawned_worker_process() -> None:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_evaluate_in_child, args=(parse_check(ALL), queue))
    process.start()
    try:
        assert queue.get(timeout=60) == [True, True, False]
    finally:
        process.join(timeout=60)
    assert process.exitcode == 0


def test_body_matches_compiles_once() -> None:
    check = parse_check('body matches "a+"')
    assert isinstance(check, BodyMatches) and check.compiled is not None
    assert parse_check('body contains "x"') == BodyContains(b"x")
    assert parse_check("json .a[0] == 1") == JsonCompare(("a", 0), "==", 1)


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "position", "fragment"),
    [
        ("status = 200", 7, "use == for equality"),
        ("status is 200", 7, "comparison operator"),
        ("status == ", 10, "HTTP status code"),
        ("status == 2.5", 10, "HTTP status code"),
        ("status == 1000", 10, "0-999"),
        ("status in [200, 401", 19, "']'"),
        ("status in 200", 10, "'['"),
        ("status not == 200", 11, "'in'"),
        ("status == 200 and", 17, "end of the expression"),
        ("status == 200 status == 201", 14, "'and', 'or'"),
        ("(status == 200", 14, "')'"),
        ("status == 200)", 13, "'and', 'or' or the end"),
        ("stat == 200", 0, "status, duration, body, header or json"),
        ("", 0, "a check expression"),
        ("duration < fast", 11, "number of milliseconds"),
        ("duration < 200xs", 14, "unit of ms or s"),
        ("body has 'x'", 5, "'contains'"),
        ("body contains x", 14, "in quotes"),
        ("body contains 'x", 14, "unterminated string"),
        ('body matches "("', 13, "invalid regular expression"),
        ("header Content-Type exists", 7, "header name in quotes"),
        ('header "A" is "b"', 11, "'exists', 'contains'"),
        ("json user.id == 1", 5, "JSON path"),
        ("json .user. == 1", 11, "key name after '.'"),
        ("json .items[x] == 1", 12, "array index"),
        ("json .items[0 == 1", 13, "']'"),
        ("json .a == maybe", 11, "a number, a quoted string, true, false or null"),
        ("json .a 1", 8, "comparison operator"),
        ("status == 200 & duration < 1", 14, "got '&'"),
        ("status == 200 && duration < 1", 14, "'and', 'or' or the end"),
    ],
)
def test_syntax_errors_point_at_the_offending_character(
    source: str, position: int, fragment: str
) -> None:
    with pytest.raises(CheckSyntaxError) as caught:
        parse_check(source)
    error = caught.value
    assert fragment in error.message
    assert error.position == position
    assert error.source == source
    assert error.pointer() == f"{source}\n{' ' * position}^"
    assert isinstance(error, ValueError)
