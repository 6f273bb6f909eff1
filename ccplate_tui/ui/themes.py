"""Dashboard themes: one TOML file per theme, loaded into `textual.theme.Theme`.

The shipped themes live in `themes/` at the repo root and, as package data, in
`ccplate_tui/ui/themes/` (a byte-identical copy, checked by a test). A `themes/` folder beside
the user's scenarios.toml adds or overrides themes. A broken file is skipped with a message
naming the file and the key; it never stops the dashboard.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

DEFAULT_THEME = "ccplate-dark"
"""The theme the dashboard opens with unless `--theme` names another."""
PACKAGED_THEMES_DIR = Path(__file__).with_name("themes")
"""The shipped themes, installed with the package."""

_COLOUR_KEYS = (
    "primary",
    "secondary",
    "accent",
    "warning",
    "error",
    "success",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
_FLOAT_KEYS = ("luminosity_spread", "text_alpha")
_BOOL_KEYS = ("dark", "ansi")
_KNOWN_KEYS = ("name", *_COLOUR_KEYS, *_FLOAT_KEYS, *_BOOL_KEYS, "variables")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_STYLE_WORDS = frozenset(
    [
        "none",
        "not",
        "bold",
        "dim",
        "italic",
        "underline",
        "underline2",
        "reverse",
        "strike",
        "blink",
        "overline",
    ]
)


@dataclass(frozen=True)
class ThemeProblem:
    """Why one theme file was skipped."""

    path: Path
    key: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: {self.key}" if self.key else str(self.path)
        return f"{where}: {self.message}"


class ThemeFileError(ValueError):
    """A theme file that cannot become a Theme; `problem` names the file and the key."""

    def __init__(self, problem: ThemeProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _check_colour(path: Path, key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ThemeFileError(
            ThemeProblem(path, key, f"expected a colour string, got {type(value).__name__}")
        )
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeFileError(
            ThemeProblem(
                path, key, f"{value!r} is not a colour (expected e.g. '#1e90ff', 'rgb(30,144,255)')"
            )
        ) from None
    return value


def _check_variable(path: Path, name: str, value: object) -> str:
    """A variable is a colour (optionally `COLOUR NN%`), or a text style for `*-style` names."""
    key = f"variables.{name}"
    if not isinstance(value, str):
        raise ThemeFileError(
            ThemeProblem(path, key, f"expected a string, got {type(value).__name__}")
        )
    if name.endswith("-style"):
        unknown = [word for word in value.split() if word not in _STYLE_WORDS]
        if not value.split() or unknown:
            raise ThemeFileError(
                ThemeProblem(
                    path,
                    key,
                    f"{value!r} is not a text style (expected words from: "
                    f"{', '.join(sorted(_STYLE_WORDS))})",
                )
            )
        return value
    colour, _, alpha = value.partition(" ")
    if alpha and not re.fullmatch(r"\d{1,3}%", alpha.strip()):
        raise ThemeFileError(
            ThemeProblem(path, key, f"{value!r}: expected a colour, optionally followed by 'NN%'")
        )
    _check_colour(path, key, colour)
    return value


def theme_from_data(data: dict[str, object], path: Path) -> Theme:
    """Build a Theme from a parsed theme file; ThemeFileError names the first bad key."""
    unknown = [key for key in data if key not in _KNOWN_KEYS]
    if unknown:
        raise ThemeFileError(
            ThemeProblem(
                path, unknown[0], f"unknown key (expected one of: {', '.join(_KNOWN_KEYS)})"
            )
        )
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ThemeFileError(
            ThemeProblem(
                path, "name", f"expected a lower-case name like 'ccplate-dark', got {name!r}"
            )
        )
    if "primary" not in data:
        raise ThemeFileError(ThemeProblem(path, "primary", "missing (every theme needs a primary)"))
    fields: dict[str, object] = {"name": name}
    for key in _COLOUR_KEYS:
        if key in data:
            fields[key] = _check_colour(path, key, data[key])
    for key in _BOOL_KEYS:
        if key in data:
            if not isinstance(data[key], bool):
                raise ThemeFileError(
                    ThemeProblem(path, key, f"expected true or false, got {data[key]!r}")
                )
            fields[key] = data[key]
    for key in _FLOAT_KEYS:
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ThemeFileError(
                    ThemeProblem(path, key, f"expected a number from 0 to 1, got {value!r}")
                )
            fields[key] = float(value)
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ThemeFileError(
            ThemeProblem(path, "variables", f"expected a table, got {type(variables).__name__}")
        )
    fields["variables"] = {
        str(key): _check_variable(path, str(key), value) for key, value in variables.items()
    }
    theme = Theme(**fields)  # type: ignore[arg-type]
    try:
        theme.to_color_system().generate()  # what Textual does on activation: fail here, not there
    except Exception as exc:  # a Textual internal error type; show it, never a traceback
        raise ThemeFileError(
            ThemeProblem(path, None, f"Textual rejects the theme: {exc}")
        ) from None
    return theme


def load_theme_file(path: Path) -> Theme:
    """Read one theme file; ThemeFileError with the file and key when it is broken."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ThemeFileError(
            ThemeProblem(path, None, f"cannot read: {exc.strerror or exc}")
        ) from None
    except UnicodeDecodeError as exc:
        raise ThemeFileError(
            ThemeProblem(path, None, f"not UTF-8 text (byte {exc.start})")
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ThemeFileError(ThemeProblem(path, None, f"invalid TOML: {exc}")) from None
    return theme_from_data(data, path)


@dataclass(frozen=True)
class ThemeSet:
    """The themes found, in load order (later folders override), and the files skipped."""

    themes: dict[str, Theme]
    problems: tuple[ThemeProblem, ...]


def load_themes(folders: Iterable[Path]) -> ThemeSet:
    """Every `*.toml` in `folders`; a later folder's theme of the same name wins."""
    themes: dict[str, Theme] = {}
    problems: list[ThemeProblem] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                theme = load_theme_file(path)
            except ThemeFileError as exc:
                problems.append(exc.problem)
                continue
            themes[theme.name] = theme
    return ThemeSet(themes, tuple(problems))


def theme_folders(config_path: str | Path | None) -> list[Path]:
    """The packaged themes first, then a `themes/` folder beside the config (if any)."""
    folders = [PACKAGED_THEMES_DIR]
    if config_path is not None:
        beside = Path(config_path).resolve().parent / "themes"
        if beside.resolve() != PACKAGED_THEMES_DIR.resolve():
            folders.append(beside)
    return folders
