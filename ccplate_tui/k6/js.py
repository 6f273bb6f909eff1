"""JavaScript source fragments for k6 scripts: literals, template strings and k6 durations.

Everything a script says comes from a config value, so each value is rendered through one of
these functions: a string can never break out of its literal, whatever it holds.
"""

from __future__ import annotations

import json
import math
import re

__all__ = [
    "MAX_SAFE_INTEGER",
    "TEMPLATE_JS",
    "UnsafeValue",
    "js_comment",
    "js_identifier",
    "js_string",
    "js_template",
    "js_value",
    "k6_duration",
    "uses_templates",
]

MAX_SAFE_INTEGER = 2**53 - 1
"""Beyond this a JavaScript number no longer holds every integer exactly."""

TEMPLATE_JS = {
    "vu": "__VU",
    "iteration": "__ITER",
    "scenario": "exec.scenario.name",
}
"""Our `${name}` request templates and the k6 expression each one becomes."""

_TEMPLATE = re.compile(r"\$\{(" + "|".join(TEMPLATE_JS) + r")\}")
_CONTROL = re.compile("[\x00-\x1f\x7f\u2028\u2029]")
_CONTROL_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_INIT_CONSTANT = re.compile(r"(GENERATED_FILE|EXPECTED_STATUSES|BODY_PATTERN)_\d+")
"""The names of the init-context constants an exported script defines."""
_RESERVED = frozenset(
    [
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "enum",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "function",
        "if",
        "import",
        "in",
        "instanceof",
        "new",
        "null",
        "return",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "var",
        "void",
        "while",
        "with",
        "yield",
        "let",
        "static",
        "implements",
        "interface",
        "package",
        "private",
        "protected",
        "public",
        "await",
        "arguments",
        "eval",
        "undefined",
        "NaN",
        "Infinity",
    ]
)


class UnsafeValue(ValueError):
    """A value that JavaScript cannot carry unchanged (e.g. an integer beyond 2^53)."""


def js_comment(text: str) -> str:
    """`text` made safe for a `//` comment: a line break inside would end it and start code."""
    return re.sub(r"[\r\n\u2028\u2029]+", " ", text)


def js_string(text: str) -> str:
    """A double-quoted JavaScript string literal holding exactly `text`."""
    # JSON string syntax is JavaScript string syntax; U+2028/2029 are escaped for older parsers.
    return (
        json.dumps(text, ensure_ascii=False)
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def uses_templates(text: str) -> bool:
    """Whether `text` holds one of the `${vu}`, `${iteration}`, `${scenario}` templates."""
    return _TEMPLATE.search(text) is not None


def _template_literal_part(text: str) -> str:
    """Literal text inside a template literal: one line, nothing that starts a substitution."""
    escaped = text.replace("\\", "\\\\").replace("`", "\\`").replace("${", "\\${")
    return _CONTROL.sub(
        lambda m: _CONTROL_ESCAPES.get(m.group(), f"\\u{ord(m.group()):04x}"), escaped
    )


def js_template(text: str, *, prefix_expr: str | None = None) -> str:
    """`text` as a JavaScript expression, its templates filled in at run time.

    Plain text becomes a string literal; text with templates (or a `prefix_expr` such as
    `BASE_URL`) becomes a template literal, `${vu}` turned into `${__VU}` and so on.
    """
    if prefix_expr is None and not uses_templates(text):
        return js_string(text)
    out = ["`"]
    if prefix_expr is not None:
        out.append("${" + prefix_expr + "}")
    position = 0
    for match in _TEMPLATE.finditer(text):
        out.append(_template_literal_part(text[position : match.start()]))
        out.append("${" + TEMPLATE_JS[match.group(1)] + "}")
        position = match.end()
    out.append(_template_literal_part(text[position:]))
    out.append("`")
    return "".join(out)


def template_names(text: str) -> set[str]:
    """The template variables `text` uses (`vu`, `iteration`, `scenario`)."""
    return {match.group(1) for match in _TEMPLATE.finditer(text)}


def js_value(value: object, *, templates: bool = True, indent: int = 0, width: int = 88) -> str:
    """A JSON-like config value as a JavaScript expression (objects keep their key order).

    Strings may hold templates (rendered as template literals) when `templates` is true.
    Raises UnsafeValue for numbers JavaScript would change.
    """
    flat = _js_value_flat(value, templates)
    if len(flat) + indent <= width or not isinstance(value, dict | list) or not value:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, list):
        items = [js_value(item, templates=templates, indent=indent + 2) for item in value]
        return "[\n" + "".join(f"{pad}{item},\n" for item in items) + " " * indent + "]"
    lines = []
    for key, item in value.items():
        rendered = js_value(item, templates=templates, indent=indent + 2)
        lines.append(f"{pad}{_js_key(str(key), templates)}: {rendered},\n")
    return "{\n" + "".join(lines) + " " * indent + "}"


def _js_key(key: str, templates: bool) -> str:
    if templates and uses_templates(key):
        return "[" + js_template(key) + "]"
    return js_string(key)


def _js_value_flat(value: object, templates: bool) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise UnsafeValue(
                f"the integer {value} is beyond JavaScript's exact range (±{MAX_SAFE_INTEGER}); "
                "write it as a string"
            )
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnsafeValue(f"JavaScript's JSON has no {value}")
        return repr(value)
    if isinstance(value, str):
        return js_template(value) if templates else js_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_js_value_flat(item, templates) for item in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = ", ".join(
            f"{_js_key(str(k), templates)}: {_js_value_flat(v, templates)}"
            for k, v in value.items()
        )
        return "{ " + items + " }"
    raise UnsafeValue(f"cannot write {type(value).__name__} {value!r} in a k6 script")


def js_identifier(name: str, taken: set[str]) -> str:
    """A JavaScript function name for `name` (a scenario name), unique among `taken`; added to it."""
    base = re.sub(r"[^A-Za-z0-9_$]", "_", name) or "scenario"
    if not _IDENTIFIER.fullmatch(base) or base in _RESERVED or _INIT_CONSTANT.fullmatch(base):
        base = "scenario_" + base
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}_{number}", number + 1
    taken.add(candidate)
    return candidate


def k6_duration(seconds: float) -> str:
    """Seconds as a k6 (Go) duration string, exact to the microsecond: `1m30s`, `150ms`, `1.5s`."""
    micros = round(seconds * 1_000_000)
    if micros <= 0:
        return "0s"
    whole, fraction = divmod(micros, 1_000_000)
    if fraction == 0:
        hours, rest = divmod(whole, 3600)
        minutes, secs = divmod(rest, 60)
        parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
        parts.append(f"{secs}s" if secs or not (hours or minutes) else "")
        return "".join(parts)
    if whole == 0 and micros % 1000 == 0:
        return f"{micros // 1000}ms"
    return f"{whole}.{fraction:06d}".rstrip("0") + "s"
