"""ConfigError: a bad scenarios.toml, reported with file, line, column and key path."""

from __future__ import annotations

import json
import re

from ccplate_tui.sentry.dsn import mask_dsns

KeyPath = tuple[str | int, ...]

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
"""A TOML key that needs no quotes."""


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
        # The pointer quotes a source line, which may hold a DSN with its key.
        self.pointer = mask_dsns(pointer) if pointer else pointer

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
        text = step if BARE_KEY.fullmatch(step) else json.dumps(step, ensure_ascii=False)
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
