"""Translate a `body matches "..."` pattern (Python `re`) into a JavaScript RegExp for k6.

The two dialects share most syntax but not all meanings: Python's `$` also matches before a
final newline, its `.` excludes only `\\n` (JavaScript's also `\\r`, U+2028, U+2029), `(?m)`
anchors break only at `\\n`, and `{,n}` is a quantifier. Those are rewritten into JavaScript
that means the same; what JavaScript cannot say (verbose mode, scoped flags, atomic groups,
possessive quantifiers, conditionals) raises UntranslatableRegex naming the construct.

Known approximation: in Python `\\d`, `\\w` and `\\b` are Unicode-aware, in JavaScript ASCII
only; they differ on non-ASCII digits and letters alone.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["UntranslatableRegex", "translate_regex"]


class UntranslatableRegex(ValueError):
    """A Python regular expression construct with no JavaScript equivalent."""


_GLOBAL_FLAGS = re.compile(r"\(\?([aiLmsux]+)\)")
_QUANTIFIER_BRACES = re.compile(r"\{(\d*)(,?)(\d*)\}")
_SIMPLE_ESCAPES = frozenset("dDwWsSbBfnrtv\\")
_NAME = re.compile(r"[^\W\d]\w*")


def _unit(code: int, in_class: bool, construct: str) -> str:
    """A code point as JavaScript escapes (a surrogate pair above U+FFFF, outside classes)."""
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    if in_class:
        raise UntranslatableRegex(
            f"{construct}: a character above U+FFFF inside [...] needs JavaScript's 'u' flag, "
            "which changes other escapes"
        )
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


class _Translator:
    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.i = 0
        self.out: list[str] = []
        self.ignore_case = False
        self.multiline = False
        self.dotall = False
        self.after_quantifier = False

    def fail(self, what: str) -> UntranslatableRegex:
        return UntranslatableRegex(f"{what} (at character {self.i + 1} of {self.pattern!r})")

    def run(self) -> tuple[str, str]:
        flags = _GLOBAL_FLAGS.match(self.pattern)
        if flags:
            for flag in flags.group(1):
                if flag == "x":
                    raise UntranslatableRegex(
                        "verbose mode (?x) has no JavaScript equivalent; write the pattern "
                        "without spaces and comments"
                    )
                if flag == "L":
                    raise UntranslatableRegex("locale mode (?L) has no JavaScript equivalent")
                self.ignore_case |= flag == "i"
                self.multiline |= flag == "m"
                self.dotall |= flag == "s"
                # `a` (ASCII classes) is what JavaScript does anyway; `u` is Python's default.
            self.i = flags.end()
        while self.i < len(self.pattern):
            self.step()
        return "".join(self.out), "i" if self.ignore_case else ""

    def emit(self, text: str, quantifier: bool = False) -> None:
        self.out.append(text)
        self.after_quantifier = quantifier

    def step(self) -> None:
        char = self.pattern[self.i]
        if char in "*+?" or (char == "{" and self._braces() is not None):
            self.quantifier()
            return
        if char == "\\":
            self.emit(self.escape(in_class=False))
        elif char == "[":
            self.emit(self.char_class())
        elif char == "(":
            self.group()
        elif char == ".":
            self.i += 1
            self.emit(r"[\s\S]" if self.dotall else r"[^\n]")
        elif char == "^":
            self.i += 1
            self.emit(r"(?:(?<![\s\S])|(?<=\n))" if self.multiline else "^")
        elif char == "$":
            self.i += 1
            self.emit(r"(?=\n|(?![\s\S]))" if self.multiline else r"(?=\n?(?![\s\S]))")
        elif char in "{}":
            self.i += 1
            self.emit("\\" + char)
        else:
            self.i += 1
            self.emit(char)

    def _braces(self) -> re.Match[str] | None:
        match = _QUANTIFIER_BRACES.match(self.pattern, self.i)
        if match is None or not (match.group(1) or match.group(3)):
            return None
        return match

    def quantifier(self) -> None:
        if self.after_quantifier and self.pattern[self.i] == "+":
            raise self.fail(
                "a possessive quantifier (*+, ++, ?+, {m,n}+) has no JavaScript equivalent"
            )
        braces = self._braces() if self.pattern[self.i] == "{" else None
        if braces is not None:
            low, comma, high = braces.groups()
            text = "{" + (low or "0") + comma + high + "}"
            self.i = braces.end()
        else:
            text = self.pattern[self.i]
            self.i += 1
        if self.i < len(self.pattern) and self.pattern[self.i] == "?":
            text += "?"
            self.i += 1
            self.emit(text, quantifier=False)
            return
        self.emit(text, quantifier=True)

    def escape(self, in_class: bool) -> str:
        """The escape at `i` (a backslash) in JavaScript; `i` moves past it."""
        start = self.i
        if start + 1 >= len(self.pattern):
            raise self.fail("a trailing backslash")
        char = self.pattern[start + 1]
        self.i = start + 2
        if char in _SIMPLE_ESCAPES or not (char.isascii() and char.isalnum()):
            return "\\" + char
        if char == "A" and not in_class:
            return "^" if not self.multiline else r"(?<![\s\S])"
        if char == "Z" and not in_class:
            return r"(?![\s\S])"
        if char == "a":
            return "\\x07"
        if char == "x":
            digits = self.pattern[self.i : self.i + 2]
            self.i += 2
            return "\\x" + digits
        if char in "uU":
            size = 4 if char == "u" else 8
            code = int(self.pattern[self.i : self.i + size], 16)
            self.i += size
            return _unit(code, in_class, f"\\{char}")
        if char == "N":
            end = self.pattern.index("}", self.i)
            name = self.pattern[self.i + 1 : end]
            self.i = end + 1
            return _unit(ord(unicodedata.lookup(name)), in_class, f"\\N{{{name}}}")
        if char == "0" or (in_class and char.isdigit()):
            # Octal: up to three digits in total.
            match = re.compile(r"[0-7]{1,3}").match(self.pattern, start + 1)
            assert match is not None
            self.i = match.end()
            return _unit(int(match.group(), 8), in_class, "an octal escape")
        if char.isdigit():
            # Three octal digits are a character; otherwise one or two digits are a group number.
            octal = re.compile(r"[0-7]{3}").match(self.pattern, start + 1)
            if octal is not None:
                self.i = octal.end()
                return _unit(int(octal.group(), 8), in_class, "an octal escape")
            number = re.compile(r"\d{1,2}").match(self.pattern, start + 1)
            assert number is not None
            self.i = number.end()
            return "\\" + number.group()
        raise self.fail(f"the escape \\{char} has no JavaScript equivalent")

    def char_class(self) -> str:
        """A `[...]` set; `i` is at its `[`."""
        out = ["["]
        self.i += 1
        if self.i < len(self.pattern) and self.pattern[self.i] == "^":
            out.append("^")
            self.i += 1
        first = True
        while self.i < len(self.pattern):
            char = self.pattern[self.i]
            if char == "]" and not first:
                self.i += 1
                out.append("]")
                return "".join(out)
            if char == "\\":
                out.append(self.escape(in_class=True))
            elif char in "[]":
                # A `]` first in the set is literal in Python and ends an empty set in JavaScript.
                out.append("\\" + char)
                self.i += 1
            else:
                out.append(char)
                self.i += 1
            first = False
        raise self.fail("an unterminated [...] set")

    def group(self) -> None:
        rest = self.pattern[self.i :]
        if not rest.startswith("(?"):
            self.i += 1
            self.emit("(")
            return
        for prefix in ("(?:", "(?=", "(?!", "(?<=", "(?<!"):
            if rest.startswith(prefix):
                self.i += len(prefix)
                self.emit(prefix)
                return
        if rest.startswith("(?P<"):
            end = self.pattern.index(">", self.i)
            name = self.pattern[self.i + 4 : end]
            if not _NAME.fullmatch(name) or not name.isascii():
                raise self.fail(f"the group name {name!r} is not a JavaScript identifier")
            self.i = end + 1
            self.emit(f"(?<{name}>")
            return
        if rest.startswith("(?P="):
            end = self.pattern.index(")", self.i)
            self.emit(f"\\k<{self.pattern[self.i + 4 : end]}>")
            self.i = end + 1
            return
        if rest.startswith("(?#"):
            self.i = self.pattern.index(")", self.i) + 1
            return
        if rest.startswith("(?>"):
            raise self.fail("an atomic group (?>...) has no JavaScript equivalent")
        if rest.startswith("(?("):
            raise self.fail("a conditional group (?(...)yes|no) has no JavaScript equivalent")
        raise self.fail(
            "scoped inline flags like (?i:...) have no JavaScript equivalent; put global flags "
            "such as (?i) at the very start of the pattern"
        )


def translate_regex(pattern: str) -> tuple[str, str]:
    """The JavaScript RegExp source and flags meaning what `re.compile(pattern)` means.

    The pattern must already compile in Python (the config loader checks it). Raises
    UntranslatableRegex for constructs JavaScript lacks.
    """
    re.compile(pattern)  # a ValueError here is the caller's bug: the loader compiled it
    return _Translator(pattern).run()
