"""ExportError: what k6 cannot express as the built-in engine means it, located in the config."""

from __future__ import annotations

from pathlib import Path

from ccplate_tui.config.errors import ConfigError, KeyPath, format_key_path, source_pointer
from ccplate_tui.config.locator import KeyLocator
from ccplate_tui.config.model import Config, ScenarioSpec

__all__ = ["ExportError", "export_error", "scenario_path"]


class ExportError(ConfigError):
    """A scenario that k6 cannot run as the built-in engine would; names the config key."""


def export_error(config: Config, path: KeyPath, message: str) -> ExportError:
    """An ExportError located at `path` in the config file when it can be read (best effort)."""
    line = column = None
    pointer = None
    try:
        text = Path(config.path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        text = None
    if text is not None:
        position = KeyLocator(text).find(path)
        if position is not None:
            line, column = position.value_line, position.value_column
            pointer = source_pointer(text, line, column)
    return ExportError(
        f"cannot export to k6: {message}",
        config.path,
        line,
        column,
        format_key_path(path) or None,
        pointer,
    )


def scenario_path(scenario: ScenarioSpec) -> KeyPath:
    """The key path of a scenario's table."""
    return ("scenarios", scenario.name)
