"""ConfigError, where in a TOML source a key path is written, and typed reads that raise it.

tomllib reports positions only for syntax errors, so semantic errors (a negative VU count, an
unknown key) are located with a light scan of the already-valid source: best effort, never fatal.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ccplate_tui.config.model import Tags
from ccplate_tui.config.units import parse_duration, parse_size

KeyPath = tuple[str | int, ...]
T = TypeVar("T")
Parse = Callable[[Any, KeyPath], T]
"""A reader of one value: (value, key path) -> converted value, or ConfigError."""

TEMPLATE_VARIABLES = ("vu", "iteration", "scenario")
"""The `${...}` variables the engine substitutes in request strings."""
MAX_GENERATED_FILE = 256 * 1024 * 1024
"""Every worker builds a multipart body in memory once; this keeps a typo from eating the RAM."""

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def describe_value(value: object) -> str:
    """What a TOML value is, for `expected X, got Y` messages."""
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a float ({value})"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"a string ({json.dumps(shown, ensure_ascii=False)})"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__} ({value})"


def is_number(value: object) -> bool:
    """An int or float, but not a bool (TOML's `true` is no number)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def scalar_text(value: object) -> str | None:
    """A TOML scalar as the string a header or form field carries, or None if not a scalar."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return str(value)
    return None


class ConfigError(Exception):
    """A bad config, rendered `file:line:col: key.path: message` plus an optional pointer block."""

    def __init__(
        self,
        message: str,
        file: str,
        line: int | None = None,
        column: int | None = None,
        key_path: str | None = None,
        pointer: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.key_path = key_path
        self.pointer = pointer

    def __str__(self) -> str:
        location = self.file
        if self.line is not None:
            location += f":{self.line}"
            if self.column is not None:
                location += f":{self.column}"
        parts = [location]
        if self.key_path:
            parts.append(self.key_path)
        parts.append(self.message)
        text = ": ".join(parts)
        if self.pointer:
            text += "\n" + self.pointer
        return text


def format_key_path(path: KeyPath) -> str:
    """`("scenarios", "x", "stages", 1, "target")` -> `scenarios.x.stages[1].target`."""
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
            continue
        text = step if _BARE_KEY.fullmatch(step) else json.dumps(step, ensure_ascii=False)
        out += f".{text}" if out else text
    return out


def source_pointer(text: str, line: int, column: int | None) -> str | None:
    """The 1-based `line` of `text` with a caret under 1-based `column`, or None if out of range."""
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return None
    source_line = lines[line - 1].replace("\t", " ")
    if column is None:
        return source_line
    return f"{source_line}\n{' ' * max(column - 1, 0)}^"


@dataclass(frozen=True)
class Position:
    """Where a key (or an array element) is written; 1-based. `value_*` is where its value starts."""

    line: int
    column: int
    value_line: int
    value_column: int


class _Scanner:
    """Walks TOML that tomllib already accepted and records the position of every key path."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.line_starts = [0]
        for index, char in enumerate(text):
            if char == "\n":
                self.line_starts.append(index + 1)
        self.found: dict[KeyPath, Position] = {}
        self.array_tables: dict[KeyPath, int] = {}

    def where(self, index: int) -> tuple[int, int]:
        lo, hi = 0, len(self.line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.line_starts[mid] <= index:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, index - self.line_starts[lo] + 1

    def record(self, path: KeyPath, key_at: int, value_at: int) -> None:
        if path not in self.found:
            self.found[path] = Position(*self.where(key_at), *self.where(value_at))

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def skip_space(self, newlines: bool) -> None:
        while self.i < len(self.text):
            char = self.text[self.i]
            if char in " \t\r" or (newlines and char == "\n"):
                self.i += 1
            elif char == "#":
                end = self.text.find("\n", self.i)
                self.i = len(self.text) if end < 0 else end
            else:
                return

    def skip_string(self) -> str:
        """Skip a string at `i` and return its (unescaped enough for keys) content."""
        text, start = self.text, self.i
        quote = text[start]
        triple = text.startswith(quote * 3, start)
        if triple:
            end = text.find(quote * 3, start + 3) if quote == "'" else start + 3
            if quote == '"':
                while end < len(text) and not text.startswith('"""', end):
                    end += 2 if text[end] == "\\" else 1
            while text.startswith(quote, end + 3):
                end += 1  # up to two quotes may close the content
            self.i = end + 3
            return text[start + 3 : end]
        end = start + 1
        while end < len(text) and text[end] != quote and text[end] != "\n":
            end += 2 if quote == '"' and text[end] == "\\" else 1
        self.i = end + 1
        raw = text[start + 1 : end]
        if quote == '"':
            try:
                return str(json.loads(f'"{raw}"'))
            except ValueError:
                return raw
        return raw

    def read_key(self) -> list[tuple[str, int]]:
        """A dotted key: its parts and where each starts."""
        parts: list[tuple[str, int]] = []
        while True:
            self.skip_space(newlines=False)
            start = self.i
            if self.peek() in ("'", '"'):
                parts.append((self.skip_string(), start))
            else:
                match = _BARE_KEY.match(self.text, self.i)
                if not match:
                    return parts
                parts.append((match.group(), start))
                self.i = match.end()
            self.skip_space(newlines=False)
            if self.peek() != ".":
                return parts
            self.i += 1

    def resolve(self, keys: list[str], array_header: bool) -> KeyPath:
        """A header's keys with the current index of every array of tables inserted."""
        path: list[str | int] = []
        for number, key in enumerate(keys):
            path.append(key)
            last = number == len(keys) - 1
            if array_header and last:
                count = self.array_tables.get(tuple(path), 0)
                self.array_tables[tuple(path)] = count + 1
                path.append(count)
            elif tuple(path) in self.array_tables:
                path.append(self.array_tables[tuple(path)] - 1)
        return tuple(path)

    def value(self, path: KeyPath) -> None:
        char = self.peek()
        if char == "{":
            self.i += 1
            while True:
                self.skip_space(newlines=True)
                if self.peek() in ("}", ""):
                    self.i += 1
                    return
                if self.peek() == ",":
                    self.i += 1
                    continue
                self.key_value(path)
        elif char == "[":
            self.i += 1
            index = 0
            while True:
                self.skip_space(newlines=True)
                if self.peek() in ("]", ""):
                    self.i += 1
                    return
                if self.peek() == ",":
                    self.i += 1
                    continue
                self.record((*path, index), self.i, self.i)
                self.value((*path, index))
                index += 1
        elif char in ("'", '"'):
            self.skip_string()
        else:
            while self.i < len(self.text) and self.text[self.i] not in ",]}\n#":
                self.i += 1

    def key_value(self, table: KeyPath) -> None:
        parts = self.read_key()
        if not parts:  # not a key: skip the line rather than loop forever
            end = self.text.find("\n", self.i)
            self.i = len(self.text) if end < 0 else end + 1
            return
        path = table
        for name, at in parts:
            path = (*path, name)
            self.record(path, at, at)
        self.skip_space(newlines=False)
        if self.peek() == "=":
            self.i += 1
        self.skip_space(newlines=False)
        self.found[path] = Position(
            *self.where(parts[-1][1]), *self.where(min(self.i, max(len(self.text) - 1, 0)))
        )
        self.value(path)

    def scan(self) -> dict[KeyPath, Position]:
        table: KeyPath = ()
        while True:
            self.skip_space(newlines=True)
            if self.i >= len(self.text):
                return self.found
            if self.peek() == "[":
                array_header = self.text.startswith("[[", self.i)
                self.i += 2 if array_header else 1
                parts = self.read_key()
                table = self.resolve([name for name, _ in parts], array_header)
                if parts:
                    self.record(table, parts[-1][1], parts[-1][1])
                    prefix: KeyPath = ()
                    for name, at in parts:
                        prefix = (*prefix, name)
                        self.record(prefix, at, at)
                end = self.text.find("\n", self.i)
                self.i = len(self.text) if end < 0 else end
            else:
                self.key_value(table)


class KeyLocator:
    """Maps key paths to the position where they are written in a TOML source."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._found: dict[KeyPath, Position] | None = None

    def find(self, path: KeyPath, exact: bool = False) -> Position | None:
        """The position of `path`, else (unless `exact`) of its nearest written ancestor."""
        if self._found is None:
            try:
                self._found = _Scanner(self.text).scan()
            except (IndexError, ValueError):  # pragma: no cover - best effort only
                self._found = {}
        probe = path
        while probe:
            position = self._found.get(probe)
            if position is not None or exact:
                return position
            probe = probe[:-1]
        return None


class ExpressionError(Protocol):
    """What ThresholdSyntaxError and CheckSyntaxError have in common."""

    message: str
    source: str
    position: int

    def pointer(self) -> str: ...


class TomlReader:
    """Typed reads of parsed TOML values; every failure is a ConfigError located in the source."""

    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file
        self.locator = KeyLocator(text)

    # --- errors ---------------------------------------------------------------------------------

    def error(self, path: KeyPath, message: str, at: str = "value") -> ConfigError:
        """An error about `path`, located at its value (or its key) where it is written."""
        position = self.locator.find(path)
        line = column = None
        pointer = None
        if position is not None:
            line, column = (
                (position.value_line, position.value_column)
                if at == "value"
                else (position.line, position.column)
            )
            pointer = source_pointer(self.text, line, column)
        return ConfigError(message, self.file, line, column, format_key_path(path) or None, pointer)

    def expression_error(
        self,
        path: KeyPath,
        what: str,
        exc: ExpressionError,
        at: str = "value",
    ) -> ConfigError:
        """An error inside an expression string: the column points into the string if possible."""
        position = self.locator.find(path, exact=True)
        line = column = None
        if position is not None:
            line, column = (
                (position.value_line, position.value_column)
                if at == "value"
                else (position.line, position.column)
            )
            lines = self.text.splitlines()
            written = lines[line - 1][column - 1 :] if line <= len(lines) else ""
            if written[:1] in ("'", '"') and written[1:].startswith(exc.source):
                column += 1 + exc.position
            elif written.startswith(exc.source):
                column += exc.position
        return ConfigError(
            f"invalid {what}: {exc.message}",
            self.file,
            line,
            column,
            format_key_path(path),
            exc.pointer(),
        )

    # --- shapes and scalars ---------------------------------------------------------------------

    def table(self, value: Any, path: KeyPath, allowed: Iterable[str] | None = None) -> dict:
        if not isinstance(value, dict):
            raise self.error(path, f"expected a table, got {describe_value(value)}")
        if allowed is not None:
            allowed = tuple(allowed)
            for key in value:
                if key not in allowed:
                    raise self.error(
                        (*path, key), f"unknown key; allowed here: {', '.join(allowed)}", at="key"
                    )
        return value

    def array(self, value: Any, path: KeyPath, what: str, non_empty: bool = True) -> list:
        if not isinstance(value, list):
            raise self.error(path, f"expected an array of {what}, got {describe_value(value)}")
        if non_empty and not value:
            raise self.error(path, f"expected at least one of {what}, got an empty array")
        return value

    def get(
        self,
        table: dict,
        path: KeyPath,
        key: str,
        parse: Parse[T],
        default: Any = ...,
        why: str = "",
    ) -> T:
        """Parse `table[key]`; if absent return `default`, or fail when there is none."""
        if key in table:
            return parse(table[key], (*path, key))
        if default is ...:
            # Located at the table that lacks it, since the key itself is written nowhere.
            raise self.error((*path, key), f"missing required key '{key}'{why}", at="key")
        return default

    def string(self, value: Any, path: KeyPath, non_empty: bool = False) -> str:
        if not isinstance(value, str):
            raise self.error(path, f"expected a string, got {describe_value(value)}")
        if non_empty and not value.strip():
            raise self.error(path, "expected a non-empty string")
        return value

    def boolean(self, value: Any, path: KeyPath) -> bool:
        if not isinstance(value, bool):
            raise self.error(path, f"expected true or false, got {describe_value(value)}")
        return value

    def integer(self, value: Any, path: KeyPath, minimum: int = 0) -> int:
        what = {0: "a non-negative integer", 1: "a positive integer"}.get(
            minimum, f"an integer >= {minimum}"
        )
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(path, f"expected {what}, got {describe_value(value)}")
        if value < minimum:
            raise self.error(path, f"expected {what}, got {value}")
        return value

    def number(self, value: Any, path: KeyPath, positive: bool) -> float:
        what = "a number > 0" if positive else "a number >= 0"
        if not is_number(value) or not math.isfinite(value):
            raise self.error(path, f"expected {what}, got {describe_value(value)}")
        if value < 0 or (positive and value == 0):
            raise self.error(path, f"expected {what}, got {value}")
        return float(value)

    def duration(self, value: Any, path: KeyPath, positive: bool = True) -> float:
        if is_number(value):
            raise self.error(
                path,
                f'expected a duration string like "30s", got the number {value} '
                f'(write it with a unit: "{value}s" or "{value}ms")',
            )
        if not isinstance(value, str):
            raise self.error(
                path, f'expected a duration string like "30s", got {describe_value(value)}'
            )
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise self.error(path, str(exc)) from None
        if positive and seconds <= 0:
            raise self.error(path, f"expected a duration > 0, got {value!r}")
        return seconds

    def any_duration(self, value: Any, path: KeyPath) -> float:
        return self.duration(value, path, positive=False)

    def templates(self, text: str, path: KeyPath) -> str:
        """Only `${vu}`, `${iteration}` and `${scenario}` are substituted; anything else is a typo."""
        start = text.find("${")
        while start >= 0:
            end = text.find("}", start)
            if end < 0:
                raise self.error(path, f"unterminated template variable in {text!r}: missing '}}'")
            name = text[start + 2 : end]
            if name not in TEMPLATE_VARIABLES:
                known = ", ".join(f"${{{v}}}" for v in TEMPLATE_VARIABLES)
                raise self.error(path, f"unknown template variable ${{{name}}}; available: {known}")
            start = text.find("${", end)
        return text

    def text_table(self, value: Any, path: KeyPath, header: bool = False) -> Tags:
        """A table of strings (numbers and booleans converted), as sorted pairs."""
        pairs: dict[str, str] = {}
        for key, item in self.table(value, path).items():
            text = scalar_text(item)
            if text is None:
                raise self.error(
                    (*path, key),
                    f"expected a string, number or boolean, got {describe_value(item)}",
                )
            if header and (not key or any(c in key for c in " :\t\r\n")):
                raise self.error(
                    (*path, key), "expected a header name without spaces or ':'", "key"
                )
            if header and any(c in text for c in "\r\n"):
                raise self.error((*path, key), "a header value must not contain a line break")
            pairs[key] = self.templates(text, (*path, key))
        return tuple(sorted(pairs.items()))

    def size(self, value: Any, path: KeyPath) -> int:
        try:
            size = parse_size(value)
        except ValueError as exc:
            raise self.error(path, str(exc)) from None
        if size > MAX_GENERATED_FILE:
            raise self.error(path, f"expected a size of at most 256MiB, got {value!r}")
        return size
