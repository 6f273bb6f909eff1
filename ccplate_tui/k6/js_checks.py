"""Translate compiled check expressions (config/checks.py) into k6 `check()` functions.

Each predicate becomes a JavaScript expression over the response `r` that decides exactly as the
built-in engine's predicate does, including its edge cases: a missing header contains nothing,
a body that is not JSON fails every `json` check, `==` compares JSON types as well as values.
Small helper functions carry those rules; only the ones a script uses are written into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ccplate_tui.config.checks import (
    And,
    BodyContains,
    BodyMatches,
    DurationCompare,
    HeaderContains,
    HeaderExists,
    JsonCompare,
    Not,
    Or,
    Predicate,
    StatusCompare,
    StatusIn,
)
from ccplate_tui.k6.js import UnsafeValue, js_string, js_value
from ccplate_tui.k6.js_regex import UntranslatableRegex, translate_regex

__all__ = ["CheckScope", "UntranslatableCheck", "check_expression"]

_JS_OPERATORS = {"==": "===", "!=": "!==", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

HELPERS: dict[str, str] = {
    "bodyText": """\
// The body as text; "" when there is none (a HEAD request, or responseType "none").
function bodyText(r) {
  return typeof r.body === "string" ? r.body : "";
}""",
    "header": """\
// A response header by name, case-insensitively; undefined when the response has none.
function header(r, name) {
  const wanted = name.toLowerCase();
  for (const key of Object.keys(r.headers || {})) {
    if (key.toLowerCase() === wanted) return r.headers[key];
  }
  return undefined;
}""",
    "headerContains": """\
// A missing header contains nothing.
function headerContains(r, name, needle) {
  const value = header(r, name);
  return value !== undefined && String(value).includes(needle);
}""",
    "jsonAt": """\
// The value at a path of the JSON body; undefined when the body is no JSON or the path is absent.
function jsonAt(r, path) {
  if (typeof r.body !== "string") return undefined;
  let value;
  try {
    value = JSON.parse(r.body);
  } catch (e) {
    return undefined;
  }
  for (const step of path) {
    if (typeof step === "number") {
      if (!Array.isArray(value) || step < -value.length || step >= value.length) return undefined;
      value = value[step < 0 ? value.length + step : step];
    } else {
      const isObject = value !== null && typeof value === "object" && !Array.isArray(value);
      if (!isObject || !Object.prototype.hasOwnProperty.call(value, step)) return undefined;
      value = value[step];
    }
  }
  return value;
}""",
    "jsonCompare": """\
// Numbers compare with numbers, strings with strings; == and != also compare the JSON type.
function jsonCompare(value, op, literal) {
  if (value === undefined) return false;
  const numbers = typeof value === "number" && typeof literal === "number";
  const strings = typeof value === "string" && typeof literal === "string";
  if (!numbers && (op === "==" || op === "!=")) {
    const same = typeof value === typeof literal && value === literal;
    return op === "==" ? same : !same;
  }
  if (!numbers && !strings) return false;
  switch (op) {
    case "==": return value === literal;
    case "!=": return value !== literal;
    case "<": return value < literal;
    case "<=": return value <= literal;
    case ">": return value > literal;
    default: return value >= literal;
  }
}""",
}
"""Helper functions by name, in the order a script lists them."""

_HELPER_NEEDS = {"headerContains": ("header",), "jsonCompare": ("jsonAt",)}


class UntranslatableCheck(ValueError):
    """A check expression that k6 cannot evaluate the way the built-in engine does."""


@dataclass
class CheckScope:
    """What the checks of one script need at init time: helper functions and compiled regexes."""

    helpers: set[str] = field(default_factory=set)
    regexes: dict[tuple[str, str], str] = field(default_factory=dict)
    """(source, flags) -> the name of the constant holding that RegExp."""

    def use(self, helper: str) -> str:
        self.helpers.add(helper)
        for needed in _HELPER_NEEDS.get(helper, ()):
            self.use(needed)
        return helper

    def regex(self, pattern: str) -> str:
        try:
            source, flags = translate_regex(pattern)
        except UntranslatableRegex as exc:
            raise UntranslatableCheck(f"body matches {pattern!r}: {exc}") from None
        key = (source, flags)
        if key not in self.regexes:
            self.regexes[key] = f"BODY_PATTERN_{len(self.regexes) + 1}"
        return self.regexes[key]

    def init_code(self) -> str:
        """The helper functions and RegExp constants, for the script's init context."""
        blocks = [HELPERS[name] for name in HELPERS if name in self.helpers]
        if self.regexes:
            blocks.append(
                "\n".join(
                    f"const {name} = new RegExp({js_string(source)}, {js_string(flags)});"
                    for (source, flags), name in self.regexes.items()
                )
            )
        return "\n\n".join(blocks)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 2**53 else repr(value)


def _expression(predicate: Predicate, scope: CheckScope) -> str:
    """A JavaScript boolean expression over the response `r`; compound ones in parentheses."""
    if isinstance(predicate, StatusCompare):
        return f"r.status {_JS_OPERATORS[predicate.op]} {predicate.value}"
    if isinstance(predicate, StatusIn):
        values = ", ".join(str(v) for v in sorted(predicate.values))
        test = f"[{values}].includes(r.status)"
        return f"!{test}" if predicate.negate else test
    if isinstance(predicate, DurationCompare):
        op = _JS_OPERATORS[predicate.op]
        return f"r.timings.duration {op} {_number(predicate.value_ms)}"
    if isinstance(predicate, BodyContains):
        try:
            needle = predicate.needle.decode("utf-8")
        except UnicodeDecodeError:
            raise UntranslatableCheck("body contains: the text is not UTF-8") from None
        test = f"{scope.use('bodyText')}(r).includes({js_string(needle)})"
        return f"!{test}" if predicate.negate else test
    if isinstance(predicate, BodyMatches):
        return f"{scope.regex(predicate.pattern)}.test({scope.use('bodyText')}(r))"
    if isinstance(predicate, HeaderContains):
        test = (
            f"{scope.use('headerContains')}(r, {js_string(predicate.name)}, "
            f"{js_string(predicate.needle)})"
        )
        return f"!{test}" if predicate.negate else test
    if isinstance(predicate, HeaderExists):
        return f"{scope.use('header')}(r, {js_string(predicate.name)}) !== undefined"
    if isinstance(predicate, JsonCompare):
        path = (
            "["
            + ", ".join(js_string(s) if isinstance(s, str) else str(s) for s in predicate.path)
            + "]"
        )
        try:
            literal = js_value(predicate.literal, templates=False)
        except UnsafeValue as exc:
            raise UntranslatableCheck(f"json comparison: {exc}") from None
        scope.use("jsonCompare")
        return f"jsonCompare(jsonAt(r, {path}), {js_string(predicate.op)}, {literal})"
    if isinstance(predicate, Not):
        inner = _expression(predicate.inner, scope)
        simple = isinstance(predicate.inner, StatusIn | BodyContains | HeaderContains | BodyMatches)
        return f"!{inner}" if simple and not inner.startswith("!") else f"!({inner})"
    if isinstance(predicate, And | Or):
        joiner = " && " if isinstance(predicate, And) else " || "
        return "(" + joiner.join(_expression(item, scope) for item in predicate.items) + ")"
    raise UntranslatableCheck(f"no k6 translation for {type(predicate).__name__}")


def check_expression(predicate: object, scope: CheckScope) -> str:
    """The body of `(r) => ...` deciding as `predicate` does; raises UntranslatableCheck."""
    if not isinstance(predicate, Predicate):
        raise UntranslatableCheck(f"not a compiled check: {predicate!r}")
    text = _expression(predicate, scope)
    if text.startswith("(") and text.endswith(")") and isinstance(predicate, And | Or):
        return text[1:-1]
    return text
