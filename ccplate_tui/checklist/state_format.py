"""The checklist state file's format: events, their TOML rendering and the checks on reading.

One document: `format`, `digest` (sha256 over the canonical JSON of the events: the file's
checksum) and one `[[events]]` table per event, in seq order. `parse` refuses anything else.

Core module: no Textual here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import tomli_w

FORMAT = 1
"""Version of the state file's layout."""

# fmt: off
EventAction = Literal["started", "passed", "failed", "cancelled", "interrupted", "ticked", "noted",
                      "approved", "overridden", "reset", "watch", "revoked"]
# fmt: on
"""Every action a stored event may have; the parser accepts exactly these. "revoked" (undoing a
step's latest tick, pass or approval, with a reason) came later: files without it load as before,
but a file holding one is refused as damaged by a version that does not know it."""


@dataclass(frozen=True)
class EventDraft:
    """An event before the store gives it its sequence number and time."""

    who: str
    action: EventAction
    phase: str | None = None
    step: str | None = None
    """Absent for phase-level actions (override, reset)."""
    fingerprint: str | None = None
    """The step's fingerprint when it acted, so a later change of its definition is detected."""
    checklist: str | None = None
    """`Checklist.digest` at the time (informational)."""
    note: str | None = None
    reason: str | None = None
    pid: int | None = None
    """For "started": the process running the step, with its start time (pid reuse)."""
    pid_started: float | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    """Free-form, already masked; TOML-serialisable. Frozen by convention."""


@dataclass(frozen=True)
class Event:
    """One stored transition: a draft plus its place in the log (`seq`) and UTC time (`at`)."""

    seq: int
    at: datetime
    who: str
    action: EventAction
    phase: str | None = None
    step: str | None = None
    fingerprint: str | None = None
    checklist: str | None = None
    note: str | None = None
    reason: str | None = None
    pid: int | None = None
    pid_started: float | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)


ACTIONS: frozenset[str] = frozenset(typing.get_args(EventAction))
_OPTIONAL_TEXT = ("phase", "step", "fingerprint", "checklist", "note", "reason")
_EVENT_KEYS = frozenset(f.name for f in dataclasses.fields(Event))


class Damaged(Exception):
    """The file's content is not a valid state (message: what is wrong, without the file name)."""


def render(events: tuple[Event, ...] | list[Event]) -> bytes:
    """The state file's bytes for `events` (format, digest, then one table per event)."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "digest": digest(events),
        "events": [_to_toml(event) for event in events],
    }
    return tomli_w.dumps(doc).encode("utf-8")


def parse(data: bytes) -> tuple[Event, ...]:
    """The events of a state file's bytes; raises `Damaged` naming what is wrong."""
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise Damaged(f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except tomllib.TOMLDecodeError as exc:
        raise Damaged(f"not valid TOML: {exc}") from None
    unknown = sorted(set(doc) - {"format", "digest", "events"})
    if unknown:
        raise Damaged(f"unknown top-level key `{unknown[0]}`")
    if doc.get("format") != FORMAT or isinstance(doc.get("format"), bool):
        raise Damaged(f"`format` is {doc.get('format')!r}, expected {FORMAT}")
    stored = doc.get("digest")
    if not isinstance(stored, str):
        raise Damaged("`digest` is missing or not a string")
    raw = doc.get("events", [])
    if not isinstance(raw, list):
        raise Damaged("`events` is not an array of tables")
    events = tuple(_from_toml(i, item) for i, item in enumerate(raw))
    if digest(events) != stored:
        raise Damaged("its digest does not match its events: edited by hand?")
    return events


def digest(events: tuple[Event, ...] | list[Event]) -> str:
    """sha256 over the canonical JSON of `events`: any hand edit changes it.

    `default=str` covers the TOML date/time values; `_clean` lets nothing else in.
    """
    plain = [_to_toml(event) for event in events]
    text = json.dumps(plain, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _to_toml(event: Event) -> dict[str, Any]:
    """The event as its TOML table: None fields left out, evidence last (a sub-table)."""
    table: dict[str, Any] = {}
    for f in dataclasses.fields(Event):
        value = getattr(event, f.name)
        if f.name == "at":
            value = value.astimezone(UTC)
        if value is not None and not (f.name == "evidence" and not value):
            table[f.name] = dict(value) if f.name == "evidence" else value
    return table


def _from_toml(index: int, item: object) -> Event:
    where = f"events[{index}]"
    if not isinstance(item, dict):
        raise Damaged(f"{where} is not a table")
    seq = item.get("seq")
    where = f"{where} (seq {seq!r})"
    unknown = sorted(set(item) - _EVENT_KEYS)
    if unknown:
        raise Damaged(f"{where} has an unknown key `{unknown[0]}`")
    if not _is_int(seq) or seq != index + 1:
        raise Damaged(f"{where}: expected seq {index + 1} (events missing or out of order)")
    at = item.get("at")
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise Damaged(f"{where}: `at` must be a date-time with a UTC offset, got {at!r}")
    who = item.get("who")
    if not isinstance(who, str) or not who:
        raise Damaged(f"{where}: `who` must be a non-empty string")
    action = item.get("action")
    if action not in ACTIONS:
        raise Damaged(f"{where}: unknown action {action!r}")
    for key in _OPTIONAL_TEXT:
        if key in item and not isinstance(item[key], str):
            raise Damaged(f"{where}: `{key}` must be a string")
    if "pid" in item and not _is_int(item["pid"]):
        raise Damaged(f"{where}: `pid` must be an integer")
    pid_started = item.get("pid_started")
    if pid_started is not None and not _is_number(pid_started):
        raise Damaged(f"{where}: `pid_started` must be a number")
    evidence = item.get("evidence", {})
    if not isinstance(evidence, dict):
        raise Damaged(f"{where}: `evidence` must be a table")
    return Event(
        seq=seq,
        at=at.astimezone(UTC),
        who=who,
        action=action,
        **{key: item.get(key) for key in _OPTIONAL_TEXT},
        pid=item.get("pid"),
        pid_started=None if pid_started is None else float(pid_started),
        evidence=evidence,
    )


def draft_fields(draft: EventDraft) -> dict[str, Any]:
    """The draft's fields, with text and evidence made TOML-safe (ValueError: caller's bug)."""
    if not isinstance(draft.who, str) or not draft.who.strip():
        raise ValueError("an event needs a non-empty `who`")
    if draft.action not in ACTIONS:
        raise ValueError(f"unknown event action {draft.action!r}")
    values = {f.name: getattr(draft, f.name) for f in dataclasses.fields(EventDraft)}
    for key in ("who", *_OPTIONAL_TEXT):
        if isinstance(values[key], str):
            values[key] = _text(values[key])
    if _is_number(draft.pid_started):
        values["pid_started"] = float(draft.pid_started)  # type: ignore[arg-type]
    values["evidence"] = _clean(draft.evidence, "evidence")
    return values


def _clean(value: Any, where: str) -> Any:
    """`value` as TOML can hold it: tables drop None entries, tuples become arrays."""
    if isinstance(value, Mapping):
        table: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: key {key!r} is not a string")
            if item is not None:
                table[_text(key)] = _clean(item, f"{where}.{key}")
        return table
    if isinstance(value, list | tuple):
        if any(item is None for item in value):
            raise ValueError(f"{where}: an array cannot hold None")
        return [_clean(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bool | int | float | dt.datetime | dt.date | dt.time):
        return value
    raise ValueError(f"{where}: cannot store a {type(value).__name__}")


def _text(value: str) -> str:
    """The string, with lone surrogates (undecodable output bytes) replaced: UTF-8 must encode."""
    return value.encode("utf-8", "replace").decode("utf-8")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
