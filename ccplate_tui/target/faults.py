"""Fault injection for the demo target: what can go wrong, parsed from text or JSON, drawn per request.

The text form is what `--faults` takes:
`error_rate=0.05,latency=200ms,jitter=50ms,slow=/api/files:500ms;/api/auth/*:1s,drop_rate=0.01`.

`error_rate` makes a request's handler raise an unhandled error: the client gets a 500 and the
target reports the error to its own Sentry ingest (see error_reporting), as a failing Next.js
route would. `drop_rate`, `reset_rate` and `garbage_rate` break the connection instead: the
client sees no answer at all, so nothing is reported.

`db_slow=2ms` makes every database statement cost that much more CPU, spent inside SQLite (a
CPU-bound query, not a sleep), so the database load on `/metrics` really rises. It ignores
`paths`: the database is shared by every endpoint, as a real slow database would be.

`sentry_drop=0.2` drops that fraction of the target's Sentry events before they are sent, so the
"errors captured" ratio visibly falls short. The drop is exact, not random: of every run of
events since the value was set, floor(n * rate) are dropped (0.2 of 1,000 errors drops 200). It
ignores `paths`: it acts on events, not on requests.

Scope: unless `paths` is given, faults hit every `/api/*` path except `/api/health`, so
monitoring keeps working while the API misbehaves; an explicit `paths=/api/health` still
faults it. `/__admin/*` and the capture drill's `/api/sentry-example-api` are never faulted: the
faults can always be switched off again, and every drill call raises exactly one error.

Bounds (a value outside them is a ValueError naming the key, the limit and the value, cut short):
rates are finite numbers in [0, 1]; latency, jitter and each slow rule are at most MAX_DELAY_S
(60 s); db_slow at most MAX_DB_SLOW_S; a number or duration is at most MAX_VALUE_CHARS long and
written in ASCII digits; at most MAX_RULES slow rules and path globs of MAX_PATTERN_CHARS each;
seeds fit a signed 64-bit integer.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import Any

from ccplate_tui.config.units import format_duration, parse_duration

RATE_KEYS = ("error_rate", "drop_rate", "reset_rate", "garbage_rate", "sentry_drop")
DURATION_KEYS = ("latency", "jitter")
FAULT_KEYS = (*RATE_KEYS, *DURATION_KEYS, "slow", "db_slow", "paths", "seed")
MAX_DELAY_S = 60.0
"""The bound of every delay (latency, jitter, each slow rule): k6's default request timeout is
60 s, so a longer delay only turns the request into a timeout, and a target sleeping for hours
would keep its connections (and its shutdown) waiting that long."""
MAX_VALUE_CHARS = 32
"""A number or duration is at most this many characters: '1m30s' needs 5, and a 400-digit number
is a mistake (or an attack), not a setting."""
MAX_RULES = 64
"""At most this many slow rules, and as many path globs: each request is matched against them."""
MAX_PATTERN_CHARS = 256
"""A slow rule's or a scope glob's path pattern is at most this long."""
MAX_SEED = 2**63 - 1
"""Seeds are integers in [-MAX_SEED, MAX_SEED] (what a 64-bit signed integer holds)."""
MAX_DB_SLOW_S = 0.1
"""db_slow's bound: the busy work blocks the target's event loop (SQLite runs on it), so a
larger value per statement would starve every endpoint, the admin one that turns it off too."""
ADMIN_PREFIX = "/__admin/"
SENTRY_EXAMPLE_PATH = "/api/sentry-example-api"
"""The capture drill's route (as `@sentry/wizard` creates it): always one unhandled error."""
_DEFAULT_EXCLUDED = frozenset({"/api/health"})
_NEVER_FAULTED = frozenset({SENTRY_EXAMPLE_PATH})


@dataclass(frozen=True)
class SlowRule:
    """Extra delay for paths matching `pattern` (an exact path or a glob like `/api/files*`)."""

    pattern: str
    delay: float

    def matches(self, path: str) -> bool:
        return path == self.pattern or fnmatchcase(path, self.pattern)

    def to_text(self) -> str:
        return f"{self.pattern}:{format_duration(self.delay)}"


@dataclass(frozen=True)
class Faults:
    """Which faults the target injects; durations are in seconds, rates in 0..1."""

    error_rate: float = 0.0
    latency: float = 0.0
    jitter: float = 0.0
    slow: tuple[SlowRule, ...] = ()
    drop_rate: float = 0.0
    reset_rate: float = 0.0
    garbage_rate: float = 0.0
    paths: tuple[str, ...] | None = None
    seed: int | None = None
    db_slow: float = 0.0
    """Extra CPU seconds per database statement (0..MAX_DB_SLOW_S); see the module docstring."""
    sentry_drop: float = 0.0
    """Fraction of the target's Sentry events dropped before sending (exact, not random)."""

    @property
    def active(self) -> bool:
        """True when at least one fault can fire; lets the hot path skip all work otherwise."""
        rates = (self.error_rate, self.drop_rate, self.reset_rate, self.garbage_rate)
        return any(rates) or bool(
            self.latency or self.jitter or self.slow or self.db_slow or self.sentry_drop
        )

    def in_scope(self, path: str) -> bool:
        """Whether faults apply to `path` (see the module docstring for the default scope)."""
        if path.startswith(ADMIN_PREFIX) or path in _NEVER_FAULTED:
            return False
        if self.paths is None:
            return path.startswith("/api/") and path not in _DEFAULT_EXCLUDED
        return any(path == glob or fnmatchcase(path, glob) for glob in self.paths)

    def to_mapping(self) -> dict[str, Any]:
        """JSON-ready form; durations as k6 strings so it round-trips through faults_from_mapping."""
        return {
            "error_rate": self.error_rate,
            "latency": format_duration(self.latency),
            "jitter": format_duration(self.jitter),
            "slow": [rule.to_text() for rule in self.slow],
            "db_slow": format_duration(self.db_slow),
            "drop_rate": self.drop_rate,
            "reset_rate": self.reset_rate,
            "garbage_rate": self.garbage_rate,
            # null when off, like paths and seed: readers that list "what is on" skip nulls.
            "sentry_drop": self.sentry_drop or None,
            "paths": None if self.paths is None else list(self.paths),
            "seed": self.seed,
        }

    def to_text(self) -> str:
        """The `--faults` form of the non-default settings."""
        parts: list[str] = []
        for key in FAULT_KEYS:
            value = getattr(self, key)
            if value is None or value == () or (key != "seed" and value == 0):
                continue
            if key in DURATION_KEYS or key == "db_slow":
                parts.append(f"{key}={format_duration(value)}")
            elif key == "slow":
                parts.append("slow=" + ";".join(rule.to_text() for rule in value))
            elif key == "paths":
                parts.append("paths=" + ";".join(value))
            else:
                parts.append(f"{key}={value}")
        return ",".join(parts)


NO_FAULTS = Faults()


def _shown(value: object) -> str:
    """A short repr for an error message: long values are cut, huge integers described."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    text = repr(value)
    return text if len(text) <= 60 else text[:50] + f"... ({len(text)} characters)"


def _expected(key: str, what: str, got: object) -> ValueError:
    return ValueError(f"{key}: expected {what}, got {_shown(got)}")


def _short_text(value: str) -> str | None:
    """`value` stripped, or None when it is too long to be a setting or has non-ASCII digits."""
    text = value.strip()
    if len(text) > MAX_VALUE_CHARS or any(ch.isdigit() and not ch.isascii() for ch in text):
        return None
    return text


_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _number(value: object) -> float | int | None:
    """A JSON or text number (ASCII digits, finite), else None; bools are not numbers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        text = _short_text(value)
        if text is None or not _NUMBER.fullmatch(text):
            return None
        number = float(text)
        return number if math.isfinite(number) else None
    return None


def _parse_rate(key: str, value: object) -> float:
    what = "a number between 0 and 1"
    rate = _number(value)
    if rate is None or not 0 <= rate <= 1:
        raise _expected(key, what, value)
    return float(rate)


def _parse_delay(key: str, value: object) -> float:
    """Seconds from '200ms'/'1.5s', or from a bare number meaning milliseconds; at most
    MAX_DELAY_S."""
    what = f"a duration like '200ms' or '1.5s', or a number of milliseconds, up to {MAX_DELAY_S:g}s"
    millis = _number(value)
    if millis is not None:
        if not 0 <= millis <= MAX_DELAY_S * 1000:
            raise _expected(key, what, value)
        return float(millis) / 1000.0
    text = _short_text(value) if isinstance(value, str) else None
    if text is None:
        raise _expected(key, what, value)
    try:
        seconds = parse_duration(text)
    except ValueError:
        raise _expected(key, what, value) from None
    if not 0 <= seconds <= MAX_DELAY_S:  # also false for inf and nan
        raise _expected(key, what, value)
    return seconds


def _parse_db_slow(value: object) -> float:
    what = f"a CPU time per database statement up to {format_duration(MAX_DB_SLOW_S)}, like '2ms'"
    try:
        seconds = _parse_delay("db_slow", value)
    except ValueError:
        raise _expected("db_slow", what, value) from None
    if seconds > MAX_DB_SLOW_S:
        raise _expected("db_slow", what, value)
    return seconds


def _split_list(value: object, key: str, what: str) -> list[str]:
    """Items of a `;`-separated string or a JSON list of strings."""
    if isinstance(value, str):
        items = value.split(";")
    elif isinstance(value, list | tuple):
        if not all(isinstance(item, str) for item in value):
            raise _expected(key, what, value)
        items = list(value)
    else:
        raise _expected(key, what, value)
    found = [item.strip() for item in items if item.strip()]
    if len(found) > MAX_RULES:
        raise ValueError(f"{key}: expected at most {MAX_RULES} entries, got {len(found)}")
    for item in found:
        if len(item) > MAX_PATTERN_CHARS + MAX_VALUE_CHARS:
            raise _expected(key, f"{what}, each at most {MAX_PATTERN_CHARS} characters", item)
    return found


def _parse_slow(value: object) -> tuple[SlowRule, ...]:
    what = (
        f"PATH:DURATION like '/api/files:500ms' (several separated by ';'; up to {MAX_DELAY_S:g}s)"
    )
    if isinstance(value, Mapping):
        value = [f"{pattern}:{delay}" for pattern, delay in value.items()]
    rules: list[SlowRule] = []
    for item in _split_list(value, "slow", what):
        pattern, sep, delay_text = item.rpartition(":")
        pattern = pattern.strip()
        if not sep or not pattern.startswith("/") or len(pattern) > MAX_PATTERN_CHARS:
            raise _expected("slow", what, item)
        try:
            delay = _parse_delay("slow", delay_text)
        except ValueError:
            raise _expected("slow", what, item) from None
        rules.append(SlowRule(pattern, delay))
    return tuple(rules)


def _parse_paths(value: object) -> tuple[str, ...] | None:
    what = "path globs starting with '/' like '/api/auth/*' (several separated by ';')"
    if value is None:
        return None
    globs = _split_list(value, "paths", what)
    for glob in globs:
        if (not glob.startswith("/") and glob != "*") or len(glob) > MAX_PATTERN_CHARS:
            raise _expected("paths", what, glob)
    return tuple(globs) or None


def _parse_seed(value: object) -> int | None:
    what = "an integer"
    if value is None:
        return None
    seed: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        seed = value
    elif isinstance(value, str) and (text := _short_text(value)) is not None:
        try:
            seed = int(text)
        except ValueError:
            seed = None
    if seed is None:
        raise _expected("seed", what, value)
    if abs(seed) > MAX_SEED:
        raise _expected("seed", f"an integer between {-MAX_SEED} and {MAX_SEED}", value)
    return seed


def _parse_value(key: str, value: object) -> object:
    if key in RATE_KEYS:
        return _parse_rate(key, value)
    if key in DURATION_KEYS:
        return _parse_delay(key, value)
    if key == "slow":
        return _parse_slow(value)
    if key == "db_slow":
        return _parse_db_slow(value)
    if key == "paths":
        return _parse_paths(value)
    return _parse_seed(value)


def _unknown_key(key: str) -> ValueError:
    return ValueError(f"unknown fault key {key!r}; expected one of: {', '.join(FAULT_KEYS)}")


def parse_faults(text: str) -> Faults:
    """Faults from `key=value,key=value`; `slow` and `paths` may repeat. ValueError names the key."""
    values: dict[str, object] = {}
    lists: dict[str, list[str]] = {"slow": [], "paths": []}
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError(f"expected key=value (like error_rate=0.05), got {item!r}")
        if key not in FAULT_KEYS:
            raise _unknown_key(key)
        if key in lists:
            lists[key].append(value)
            continue
        if key in values:
            raise ValueError(f"{key}: given more than once")
        values[key] = _parse_value(key, value)
    if lists["slow"]:
        values["slow"] = _parse_slow(";".join(lists["slow"]))
    if lists["paths"]:
        values["paths"] = _parse_paths(";".join(lists["paths"]))
    return Faults(**values)  # type: ignore[arg-type]


def faults_from_mapping(data: object, base: Faults = NO_FAULTS) -> Faults:
    """Faults from a JSON object (the admin endpoint), starting from `base` for keys not given."""
    if not isinstance(data, Mapping):
        raise ValueError(f"expected a JSON object with fault keys, got {type(data).__name__}")
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key not in FAULT_KEYS:
            raise _unknown_key(str(key))
        if value is None and key not in ("paths", "seed"):
            changes[key] = getattr(NO_FAULTS, key)
            continue
        changes[key] = _parse_value(key, value)
    return replace(base, **changes)


@dataclass(frozen=True)
class FaultPlan:
    """What to do to one request: wait `delay` seconds, then misbehave as `action` (or answer)."""

    delay: float
    action: str | None  # "drop", "garbage", "reset", "error" or None to answer normally


class FaultInjector:
    """Holds the current faults and draws per-request decisions from one (optionally seeded) RNG."""

    def __init__(self, faults: Faults = NO_FAULTS) -> None:
        self._faults = faults
        self._active = faults.active  # read on every request: computed once per change
        self._random = random.Random(faults.seed)

    @property
    def faults(self) -> Faults:
        return self._faults

    def set_faults(self, faults: Faults) -> None:
        """Replace the faults; a seed restarts the draws so the sequence from here is reproducible."""
        self._faults = faults
        self._active = faults.active
        if faults.seed is not None:
            self._random = random.Random(faults.seed)

    def plan(self, path: str) -> FaultPlan | None:
        """Draw this request's faults, or None when none apply (the common, fast case)."""
        faults = self._faults
        if not self._active or not faults.in_scope(path):
            return None
        rng = self._random
        # Every non-zero rate gets its own draw, in a fixed order, so a seed replays exactly.
        fired = [
            name
            for name, rate in (
                ("drop", faults.drop_rate),
                ("garbage", faults.garbage_rate),
                ("reset", faults.reset_rate),
                ("error", faults.error_rate),
            )
            if rate and rng.random() < rate
        ]
        delay = faults.latency
        if faults.jitter:
            delay += rng.uniform(0.0, faults.jitter)
        delay += _slow_delay(faults.slow, path)
        action = fired[0] if fired else None
        if action is None and delay <= 0:
            return None
        return FaultPlan(delay=delay, action=action)


def _slow_delay(rules: Iterable[SlowRule], path: str) -> float:
    """The first matching rule's delay; 0 when none matches."""
    for rule in rules:
        if rule.matches(path):
            return rule.delay
    return 0.0
