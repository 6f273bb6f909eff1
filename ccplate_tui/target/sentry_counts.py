"""Counting the ingest's events in a time window, as Sentry's Discover API answers `count()`.

The ingest keeps at most MAX_EVENTS whole events, far fewer than a load test can produce; the
count must not stop there. So every accepted event also leaves a compact record (its own
timestamp, project, type and environment) in an EventTally: one sorted int64 array of
microseconds per (project, type, environment), 8 bytes an event, a count two binary searches.
"""

from __future__ import annotations

import heapq
import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_TALLY = 1_000_000
"""Events the tally remembers; beyond it (plus 1 % slack, trimmed in one go) the oldest go."""
MAX_SERIES = 10_000
"""Distinct (project, type, environment) kept apart; environments are client input."""
OVERFLOW_ENVIRONMENT = "\x00other"
"""Where events of environments past MAX_SERIES are counted: in totals, under no name."""
COUNT_FIELD = "count()"
EVENT_TYPES = ("error", "default")
_SEARCH_TOKEN = re.compile(r'[^\s"]*"[^"]*"|\S+')

SeriesKey = tuple[str, str, str]
"""(project id, event type, environment)."""


def event_type(event: Mapping[str, Any]) -> str:
    """`error` for an event with an exception, else `default` (a message), as Sentry types them."""
    return "error" if event.get("exception") else "default"


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:  # Sentry reads a date without an offset as UTC
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def parse_iso(text: str) -> int:
    """Microseconds since the epoch of an ISO 8601 date (`Z`, an offset, or UTC when none)."""
    return _micros(datetime.fromisoformat(text.strip()))


def timestamp_micros(value: object) -> int | None:
    """An event's `timestamp` (ISO 8601 text or epoch seconds) in microseconds, None if unusable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return round(float(value) * 1_000_000) if value == value else None
        except OverflowError:
            return None
    if isinstance(value, str) and value.strip():
        try:
            return parse_iso(value)
        except (ValueError, OverflowError):
            return None
    return None


def _labelled(key: SeriesKey, series: array[int]) -> Iterator[tuple[int, SeriesKey]]:
    for micros in series:
        yield micros, key


class EventTally:
    """A bounded, compact record of accepted events, counted by their own timestamps."""

    def __init__(self, capacity: int = MAX_TALLY, max_series: int = MAX_SERIES) -> None:
        self.capacity = capacity
        self.max_series = max_series
        self._slack = max(1, capacity // 100)
        self._series: dict[SeriesKey, array[int]] = {}
        self.size = 0

    def record(self, project_id: str, kind: str, environment: str, micros: int) -> None:
        key = (project_id, kind, environment)
        series = self._series.get(key)
        if series is None:
            if len(self._series) >= self.max_series:
                key = (project_id, kind, OVERFLOW_ENVIRONMENT)
                series = self._series.get(key)
            if series is None:
                series = self._series[key] = array("q")
        # Events arrive nearly in timestamp order: appending is the common case, and an
        # insert lands near the end, so it moves little.
        if not series or micros >= series[-1]:
            series.append(micros)
        else:
            series.insert(bisect_right(series, micros), micros)
        self.size += 1
        if self.size > self.capacity + self._slack:
            self._trim(self.size - self.capacity)

    def _trim(self, excess: int) -> None:
        """Forget the `excess` oldest events over all series (one slice delete per series)."""
        oldest = heapq.merge(*(_labelled(key, s) for key, s in self._series.items()))
        remove: dict[SeriesKey, int] = {}
        for _, (_t, key) in zip(range(excess), oldest, strict=False):
            remove[key] = remove.get(key, 0) + 1
        for key, n in remove.items():
            del self._series[key][:n]
            if not self._series[key]:
                del self._series[key]
        self.size -= sum(remove.values())

    def count(
        self,
        start: int,
        end: int,
        *,
        projects: Collection[str] | None = None,
        types: Collection[str] | None = None,
        environments: Collection[str] | None = None,
    ) -> int:
        """Events with start <= timestamp < end (microseconds) matching every filter given."""
        total = 0
        for (project, kind, environment), series in self._series.items():
            if (
                (projects is None or project in projects)
                and (types is None or kind in types)
                and (environments is None or environment in environments)
            ):
                total += bisect_left(series, end) - bisect_left(series, start)
        return total

    def clear(self) -> None:
        self._series.clear()
        self.size = 0


class CountQueryError(ValueError):
    """A parameter Sentry would refuse (answered 400 with `{"detail": message}`)."""


@dataclass(frozen=True)
class CountQuery:
    start: int
    end: int
    projects: frozenset[str] | None
    types: frozenset[str] | None
    environments: frozenset[str] | None

    def run(self, tally: EventTally) -> int:
        return tally.count(
            self.start,
            self.end,
            projects=self.projects,
            types=self.types,
            environments=self.environments,
        )


def _narrow(current: frozenset[str] | None, values: Collection[str]) -> frozenset[str]:
    """Filters AND together, as Sentry's search terms do."""
    given = frozenset(values)
    return given if current is None else current & given


def _date(params: Mapping[str, list[str]], name: str) -> int:
    values = params.get(name) or []
    if not values or not values[-1].strip():
        raise CountQueryError(
            "start and end are required (ISO 8601 dates); this ingest does not read statsPeriod"
        )
    try:
        return parse_iso(values[-1])
    except (ValueError, OverflowError):
        raise CountQueryError(f"{name}: {values[-1]!r} is not an ISO 8601 date") from None


def _search(text: str) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """(event types, environments) from `event.type:error environment:NAME …`."""
    types: frozenset[str] | None = None
    environments: frozenset[str] | None = None
    for token in _SEARCH_TOKEN.findall(text):
        key, sep, value = token.partition(":")
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if sep and key == "event.type" and value in EVENT_TYPES:
            types = _narrow(types, [value])
        elif sep and key == "environment" and value:
            environments = _narrow(environments, [value])
        else:
            raise CountQueryError(
                f"Invalid query. {token!r} is not supported by this ingest: it reads "
                "event.type:error, event.type:default and environment:NAME"
            )
    return types, environments


def parse_count_query(params: Mapping[str, list[str]]) -> CountQuery:
    """The Discover `count()` request's parameters (each a list, as query strings repeat).

    `field=count()` only; `start` and `end` (ISO 8601, UTC when no offset) both required;
    `project` numeric and repeatable (none or -1: every project); `query` terms AND together;
    `environment` (repeatable) keeps any of those named. CountQueryError says what is wrong.
    """
    fields = [f for f in params.get("field", []) if f.strip()]
    if not fields:
        raise CountQueryError("No columns selected")
    unsupported = [f for f in fields if f.strip() != COUNT_FIELD]
    if unsupported:
        raise CountQueryError(
            f"Invalid field {unsupported[0]!r}: this ingest answers field=count() only"
        )
    start, end = _date(params, "start"), _date(params, "end")
    if start > end:
        raise CountQueryError("start must be before end")
    projects: set[str] | None = set()
    for value in params.get("project", []):
        try:
            number = int(value)
        except ValueError:
            raise CountQueryError("Invalid project parameter. Values must be numbers.") from None
        if number == -1:  # Sentry's "all projects"
            projects = None
            break
        projects.add(str(number))
    types, environments = _search(" ".join(params.get("query", [])))
    named = [e for e in params.get("environment", []) if e]
    if named:  # the separate environment parameter: any of those named
        environments = _narrow(environments, named)
    return CountQuery(
        start=start,
        end=end,
        projects=frozenset(projects) if projects else None,
        types=types,
        environments=environments,
    )


def count_answer(count: int) -> dict[str, Any]:
    """The Discover answer for a `count()` query."""
    return {
        "data": [{COUNT_FIELD: count}],
        "meta": {"fields": {COUNT_FIELD: "integer"}, "units": {COUNT_FIELD: None}},
    }
