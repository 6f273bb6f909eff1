"""The check expression language: `status in [200, 401] and duration < 200`, compiled once.

Checks run on every response in worker processes, so a source string is parsed once at load time
into small frozen dataclasses (picklable, no eval, no lambdas) that are cheap to call.

Grammar::

    expr    := or_expr
    or_expr := and_expr ("or" and_expr)*
    and_expr:= not_expr ("and" not_expr)*
    not_expr:= "not" not_expr | "(" expr ")" | atom
    atom    := "status" CMP INT | "status" ["not"] "in" "[" INT ("," INT)* "]"
             | "duration" CMP NUMBER ["ms" | "s"]             (milliseconds by default)
             | "body" ["not"] "contains" STRING | "body" "matches" STRING
             | "header" STRING ["not"] "contains" STRING | "header" STRING "exists"
             | "json" PATH CMP LITERAL                         (PATH: . | .a.b[0]["c d"])
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "And",
    "BodyContains",
    "BodyMatches",
    "CheckSyntaxError",
    "DurationCompare",
    "HeaderContains",
    "HeaderExists",
    "JsonCompare",
    "Not",
    "Or",
    "Predicate",
    "StatusCompare",
    "StatusIn",
    "parse_check",
]

Headers = Mapping[str, str]

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class CheckSyntaxError(ValueError):
    """A check expression that does not parse; `position` is the 0-based offending character."""

    def __init__(self, message: str, source: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.position = position

    def pointer(self) -> str:
        """The expression and a caret under the offending character."""
        return f"{self.source}\n{' ' * self.position}^"

    def __str__(self) -> str:
        return f"{self.message} (at character {self.position + 1})\n{self.pointer()}"


# --- compiled predicates -----------------------------------------------------------------------


@dataclass(frozen=True)
class Predicate:
    """A compiled check; call it with a response's status, body, duration (ms) and headers."""

    needs_body: ClassVar[bool] = False
    """Whether the worker must read the body for this predicate (it may skip it otherwise)."""

    def __call__(self, status: int, body: bytes, duration_ms: float, headers: Headers) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class StatusCompare(Predicate):
    op: str
    value: int

    def __call__(self, status: int, body: bytes, duration_ms: float, headers: Headers) -> bool:
        return _OPS[self.op](status, self.value)


@dataclass(frozen=True)
class StatusIn(Predicate):
    values: frozenset[int]
    negate: bool = False

    def __call__(self, status: int, body: bytes, duration_ms: float, headers: Headers) -> bool:
        return (status in self.values) != self.negate


@dataclass(frozen=True)
class DurationCompare(Predicate):
    op: str
    value_ms: float

    def __call__(self, status: int, body: bytes, duration_ms: float, headers: Headers) -> bool:
        return _OPS[self.op](duration_ms, self.value_ms)


@dataclass(frozen=True)
class BodyContains(Predicate):
    needle: bytes
    negate: bool = False
    needs_body: ClassVar[bool] = True

    def __call__(self, status: int, body: bytes, duration_ms: float, headers: Headers) -> bool:
        return (self.needle in body) != self.negate


@dataclass(frozen=True)
class BodyMatches(Predicate):
    """`re.search` on the body decoded as UTF-8 (undecodable bytes replaced)."""

    pattern: str
    compiled: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    needs_body: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if self.compiled is None:
            object.__setattr__(self, "compiled", re.compile(self.pattern))

    def __call__(self, status: int, body: bytes, duration_ms: float, headers: Headers) -> bool:
        compiled = self.compiled
        if compiled is None:  # pragma: no cover - set in __post_init__ and kept by pickle
            compiled = re.compile(self.pattern)
            object.__setattr__(self, "compiled", compiled)
        return compiled.search(body.decode("utf-8", "replace")) is not None


def _header(headers: Headers, name: str) -> str | None:
    """Case-insensitive header lookup (aiohttp's CIMultiDict is; a plain dict is not)."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


@dataclass(frozen=True)
class HeaderContains(Predicate):
    """A missing header contains nothing: `contains` is false, `not contains` true."""

    name: str
    needle: str
    negate: bool = False

    def __call__(self, status: int, body: bytes, duration_ms: float, headers: Headers) -> bool:
        value = _header(headers, self.name)
        return (value is not None and self.needle in value) != self.negate


@dataclass(frozen=True)
class HeaderExists(Predicate):
    name: str

    def __call__(self, status: int, body: bytes, duration_ms: float, headers: Headers) -> bool:
        return _header(headers, self.name) is not None


_MISSING = object()
_json_cache: list[object] = [b"", _MISSING]
"""The last body parsed and its value: several json checks on one response parse it once."""


def _parsed_json(body: bytes) -> object:
    if _json_cache[0] is body:
        return _json_cache[1]
    try:
        value: object = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        value = _MISSING
    _json_cache[0] = body
    _json_cache[1] = value
    return value


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class JsonCompare(Predicate):
    """Compare the value at `path` in the JSON body; false if the body is not JSON or the path
    does not exist. `<`-style operators only compare number with number or string with string."""

    path: tuple[str | int, ...]
    op: str
    literal: object
    needs_body: ClassVar[bool] = True

    def __call__(self, status: int, body: bytes, duration_ms: float, headers: Headers) -> bool:
        value = _parsed_json(body)
        for step in self.path:
            if isinstance(step, int):
                if not isinstance(value, list) or not -len(value) <= step < len(value):
                    return False
                value = value[step]
            else:
                if not isinstance(value, dict) or step not in value:
                    return False
                value = value[step]
        if value is _MISSING:
            return False
        literal = self.literal
        if _is_number(value) and _is_number(literal):
            return _OPS[self.op](value, literal)
        if self.op in ("==", "!="):
            # Python says True == 1; JSON does not.
            same = type(value) is type(literal) and value == literal
            return same if self.op == "==" else not same
        if isinstance(value, str) and isinstance(literal, str):
            return _OPS[self.op](value, literal)
        return False


@dataclass(frozen=True)
class Not(Predicate):
    inner: Predicate

    @property
    def needs_body(self) -> bool:  # type: ignore[override]
        return self.inner.needs_body

    def __call__(self, status: int, body: bytes, duration_ms: float, headers: Headers) -> bool:
        return not self.inner(status, body, duration_ms, headers)


@dataclass(frozen=True)
class And(Predicate):
    items: tuple[Predicate, ...]

    @property
    def needs_body(self) -> bool:  # type: ignore[override]
        return any(item.needs_body for item in self.items)

    def __call__(self, status: int, body: bytes, duration_ms: float, headers: Headers) -> bool:
        return all(item(status, body, duration_ms, headers) for item in self.items)


@dataclass(frozen=True)
class Or(Predicate):
    items: tuple[Predicate, ...]

    @property
    def needs_body(self) -> bool:  # type: ignore[override]
        return any(item.needs_body for item in self.items)

    def __call__(self, status: int, body: bytes, duration_ms: float, headers: Headers) -> bool:
        return any(item(status, body, duration_ms, headers) for item in self.items)


# --- tokenizer ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str
    """word, number, string, op, punct, path, unknown or end."""
    text: str
    value: object
    position: int


_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_PATH_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")
_OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "/": "/"}
_KEYWORDS = "status, duration, body, header or json"


def _read_string(source: str, start: int) -> tuple[str, int]:
    quote = source[start]
    out: list[str] = []
    i = start + 1
    while i < len(source):
        char = source[i]
        if char == quote:
            return "".join(out), i + 1
        if char == "\\":
            if i + 1 >= len(source):
                break
            escaped = source[i + 1]
            # Other escapes keep their backslash, so regexes like "\d+" read naturally.
            out.append(_ESCAPES.get(escaped, "\\" + escaped))
            i += 2
            continue
        out.append(char)
        i += 1
    raise CheckSyntaxError(f"unterminated string (missing closing {quote})", source, start)


def _read_path(source: str, start: int) -> tuple[tuple[str | int, ...], int]:
    """`.a.b[0]["c d"]` -> ("a", "b", 0, "c d"); a lone `.` is the whole document."""
    steps: list[str | int] = []
    i = start + 1
    key = _PATH_KEY.match(source, i)
    if key:
        steps.append(key.group())
        i = key.end()
    while i < len(source):
        char = source[i]
        if char == ".":
            key = _PATH_KEY.match(source, i + 1)
            if not key:
                raise CheckSyntaxError("expected a key name after '.' in JSON path", source, i + 1)
            steps.append(key.group())
            i = key.end()
        elif char == "[":
            j = i + 1
            if j < len(source) and source[j] in "\"'":
                text, j = _read_string(source, j)
                steps.append(text)
            else:
                index = re.compile(r"-?\d+").match(source, j)
                if not index:
                    raise CheckSyntaxError(
                        'expected an array index like [0] or a quoted key like ["a b"]',
                        source,
                        j,
                    )
                steps.append(int(index.group()))
                j = index.end()
            if j >= len(source) or source[j] != "]":
                raise CheckSyntaxError("expected ']' in JSON path", source, j)
            i = j + 1
        else:
            break
    return tuple(steps), i


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(source):
        space = _SPACE.match(source, i)
        if space:
            i = space.end()
            continue
        char = source[i]
        if char in "\"'":
            text, end = _read_string(source, i)
            tokens.append(_Token("string", source[i:end], text, i))
            i = end
            continue
        if char == ".":
            path, end = _read_path(source, i)
            tokens.append(_Token("path", source[i:end], path, i))
            i = end
            continue
        number = _NUMBER.match(source, i)
        if number:
            text = number.group()
            value: float | int = float(text) if any(c in text for c in ".eE") else int(text)
            tokens.append(_Token("number", text, value, i))
            i = number.end()
            continue
        word = _WORD.match(source, i)
        if word:
            tokens.append(_Token("word", word.group(), word.group(), i))
            i = word.end()
            continue
        op = next((o for o in _OPERATORS if source.startswith(o, i)), None)
        if op:
            tokens.append(_Token("op", op, op, i))
            i += len(op)
            continue
        if char in "()[],":
            tokens.append(_Token("punct", char, char, i))
            i += 1
            continue
        # Left for the parser, whose error says what was expected here.
        tokens.append(_Token("unknown", char, char, i))
        i += 1
    tokens.append(_Token("end", "", None, len(source)))
    return tokens


# --- parser ------------------------------------------------------------------------------------


MAX_NESTING = 32
"""Nested `(` and `not` a check may hold: more is never needed, and unbounded nesting would
exhaust Python's recursion in this recursive-descent parser."""


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokenize(source)
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def fail(self, expected: str, token: _Token | None = None) -> CheckSyntaxError:
        token = token or self.token
        got = "the end of the expression" if token.kind == "end" else repr(token.text)
        hint = " (use == for equality)" if token.text == "=" else ""
        return CheckSyntaxError(
            f"expected {expected}, got {got}{hint}", self.source, token.position
        )

    def is_word(self, word: str) -> bool:
        return self.token.kind == "word" and self.token.text == word

    def expect_word(self, word: str, expected: str | None = None) -> None:
        if not self.is_word(word):
            raise self.fail(expected or repr(word))
        self.advance()

    def expect_punct(self, char: str, expected: str | None = None) -> None:
        if self.token.kind != "punct" or self.token.text != char:
            raise self.fail(expected or repr(char))
        self.advance()

    def parse(self) -> Predicate:
        if self.token.kind == "end":
            raise self.fail(f"a check expression starting with {_KEYWORDS}")
        result = self.or_expr()
        if self.token.kind != "end":
            raise self.fail("'and', 'or' or the end of the expression")
        return result

    def or_expr(self) -> Predicate:
        items = [self.and_expr()]
        while self.is_word("or"):
            self.advance()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Predicate:
        items = [self.not_expr()]
        while self.is_word("and"):
            self.advance()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Predicate:
        nests = self.is_word("not") or (self.token.kind == "punct" and self.token.text == "(")
        if not nests:
            return self.atom()
        if self.depth >= MAX_NESTING:
            raise CheckSyntaxError(
                f"expected at most {MAX_NESTING} nested '(' or 'not'",
                self.source,
                self.token.position,
            )
        self.depth += 1
        try:
            if self.advance().text == "not":
                return Not(self.not_expr())
            inner = self.or_expr()
            self.expect_punct(")", "')' or 'and'/'or'")
            return inner
        finally:
            self.depth -= 1

    def atom(self) -> Predicate:
        token = self.token
        if token.kind != "word" or token.text not in _ATOMS:
            raise self.fail(f"{_KEYWORDS}, 'not' or '('")
        self.advance()
        return _ATOMS[token.text](self)

    def comparison(self, subject: str) -> str:
        if self.token.kind != "op":
            raise self.fail(f"a comparison operator (==, !=, <, <=, >, >=) after {subject!r}")
        return str(self.advance().value)

    def integer(self, what: str) -> int:
        token = self.token
        if token.kind != "number" or not isinstance(token.value, int):
            raise self.fail(what)
        self.advance()
        return token.value

    def string(self, what: str) -> str:
        token = self.token
        if token.kind != "string":
            raise self.fail(f"{what} in quotes")
        self.advance()
        return str(token.value)

    def status(self) -> Predicate:
        negate = False
        if self.is_word("not"):
            self.advance()
            negate = True
            if not self.is_word("in"):
                raise self.fail("'in' after 'status not'")
        if self.is_word("in"):
            self.advance()
            self.expect_punct("[", "'[' to start a list of statuses")
            values = [self.status_code()]
            while self.token.kind == "punct" and self.token.text == ",":
                self.advance()
                values.append(self.status_code())
            self.expect_punct("]", "',' or ']' to end the list of statuses")
            return StatusIn(frozenset(values), negate)
        op = self.comparison("status")
        return StatusCompare(op, self.status_code())

    def status_code(self) -> int:
        token = self.token
        code = self.integer("an HTTP status code (an integer)")
        if not 0 <= code <= 999:
            raise CheckSyntaxError(
                f"expected an HTTP status code 0-999, got {code}", self.source, token.position
            )
        return code

    def duration(self) -> Predicate:
        op = self.comparison("duration")
        token = self.token
        if token.kind != "number":
            raise self.fail("a number of milliseconds")
        self.advance()
        value = float(token.value)  # type: ignore[arg-type]
        # `200ms` tokenizes as number + word; accept the unit when it is glued to the number.
        unit = self.token
        if unit.kind == "word" and unit.position == token.position + len(token.text):
            if unit.text not in ("ms", "s"):
                raise self.fail("a unit of ms or s (or none, meaning ms)", unit)
            self.advance()
            if unit.text == "s":
                value *= 1000.0
        return DurationCompare(op, value)

    def body(self) -> Predicate:
        if self.is_word("matches"):
            self.advance()
            token = self.token
            pattern = self.string("a regular expression")
            try:
                return BodyMatches(pattern)
            except re.error as exc:
                raise CheckSyntaxError(
                    f"invalid regular expression: {exc}", self.source, token.position
                ) from None
        negate = False
        if self.is_word("not"):
            self.advance()
            negate = True
            if not self.is_word("contains"):
                raise self.fail("'contains' after 'body not'")
        if not self.is_word("contains"):
            raise self.fail("'contains', 'not contains' or 'matches' after 'body'")
        self.advance()
        return BodyContains(self.string("the text to look for").encode(), negate)

    def header(self) -> Predicate:
        name = self.string("a header name")
        if self.is_word("exists"):
            self.advance()
            return HeaderExists(name)
        negate = False
        if self.is_word("not"):
            self.advance()
            negate = True
            if not self.is_word("contains"):
                raise self.fail("'contains' after 'not'")
        if not self.is_word("contains"):
            raise self.fail("'exists', 'contains' or 'not contains' after the header name")
        self.advance()
        return HeaderContains(name, self.string("the text to look for"), negate)

    def json(self) -> Predicate:
        token = self.token
        if token.kind != "path":
            raise self.fail("a JSON path like .user.id or .items[0].name")
        self.advance()
        op = self.comparison("the JSON path")
        return JsonCompare(token.value, op, self.literal())  # type: ignore[arg-type]

    def literal(self) -> object:
        token = self.token
        if token.kind in ("number", "string"):
            self.advance()
            return token.value
        if token.kind == "word" and token.text in ("true", "false", "null"):
            self.advance()
            return {"true": True, "false": False, "null": None}[token.text]
        raise self.fail("a number, a quoted string, true, false or null")


_ATOMS: dict[str, Callable[[_Parser], Predicate]] = {
    "status": _Parser.status,
    "duration": _Parser.duration,
    "body": _Parser.body,
    "header": _Parser.header,
    "json": _Parser.json,
}


def parse_check(source: str) -> Predicate:
    """Compile a check expression; raises CheckSyntaxError pointing at the offending character."""
    return _Parser(source).parse()
