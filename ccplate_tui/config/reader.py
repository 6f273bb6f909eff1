"""Typed reads of parsed TOML values; every failure is a ConfigError located in the source."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from ccplate_tui.config.errors import ConfigError, KeyPath, format_key_path, source_pointer
from ccplate_tui.config.locator import KeyLocator
from ccplate_tui.config.model import Tags
from ccplate_tui.config.units import parse_duration, parse_size

T = TypeVar("T")
Parse = Callable[[Any, KeyPath], T]
"""A reader of one value: (value, key path) -> converted value, or ConfigError."""

TEMPLATE_VARIABLES = ("vu", "iteration", "scenario")
"""The `${...}` variables the engine substitutes in request strings."""
MAX_GENERATED_FILE = 256 * 1024 * 1024
"""Every worker builds a multipart body in memory once; this keeps a typo from eating the RAM."""


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
