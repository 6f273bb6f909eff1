"""Where in a TOML source a key path is written.

tomllib reports positions only for syntax errors, so semantic errors (a negative VU count, an
unknown key) are located with a light scan of the already-valid source: best effort, never fatal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ccplate_tui.config.errors import BARE_KEY, KeyPath


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
                match = BARE_KEY.match(self.text, self.i)
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
