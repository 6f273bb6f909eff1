"""Finished load runs kept as small JSON records, for the checklist and the release verdict.

Until the run history (issue 6) exists, every finished run leaves one file in
`<state>/load-results/`, named so that names sort by the run's end time; the newest
`KEEP_RECORDS` are kept. A damaged file is skipped with a warning, never fatal: these records
are evidence, and one bad file must not hide the others.

Core module: no Textual here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ccplate_tui.atomic_file import write_atomic
from ccplate_tui.load.metrics import Counter, Rate, Trend
from ccplate_tui.load.results import RunResult

log = logging.getLogger(__name__)

RECORDS_DIR = "load-results"
"""The records' folder inside the state folder."""

KEEP_RECORDS = 200
FORMAT = 1

_STOPPED = (None, "interrupted", "aborted", "error")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_KIND_NAMES: dict[type, str] = {int: "an integer", str: "a string", list: "a list"}


class RecordError(ValueError):
    """A record file that cannot be read: the message names the file and what is wrong."""


@dataclass(frozen=True)
class ThresholdRecord:
    """One threshold's final state in a run."""

    metric: str
    """The written key, e.g. `http_req_duration{scenario:auth_burst}`."""
    expression: str
    """As written, e.g. `p(99)<200`."""
    ok: bool | None
    """None means NO DATA, which is not a pass."""
    observed: float | None


@dataclass(frozen=True)
class RunRecord:
    """What a finished run proved: its scenarios, headline numbers and thresholds."""

    run_id: str
    scenarios: tuple[str, ...]
    """The names asked for (scenarios or suites), then the scenarios that ran, no duplicates."""
    started_at: float
    """Unix time."""
    ended_at: float
    stopped: str | None
    """None when the run finished as planned; else `interrupted`, `aborted` or `error`."""
    requests: int
    p99_ms: float | None
    error_fraction: float | None
    """Failed requests over all requests (http_req_failed); None without requests."""
    thresholds: tuple[ThresholdRecord, ...]
    engine: str = "built-in"
    time_scale: float = 1.0
    """The `--time-scale` the run used: below 1 it was a shortened rehearsal of the plan."""
    target: str = ""
    """The base URL the run loaded, without credentials, query or fragment."""

    @property
    def passed(self) -> bool:
        """Finished as planned and every threshold held; a run without thresholds proves nothing."""
        return (
            self.stopped is None
            and bool(self.thresholds)
            and all(t.ok is True for t in self.thresholds)
        )

    @property
    def failed_thresholds(self) -> tuple[ThresholdRecord, ...]:
        """The thresholds that failed or had no data."""
        return tuple(t for t in self.thresholds if t.ok is not True)

    def covers(self, name: str) -> bool:
        """True when `name` (a scenario or suite) was asked for or ran in this run."""
        return name in self.scenarios


# --- from a run ---------------------------------------------------------------------------------


def record_from_result(
    result: RunResult,
    names: Sequence[str],
    *,
    run_id: str | None = None,
    time_scale: float = 1.0,
    ended_at: float | None = None,
) -> RunRecord:
    """The record of `result`, run for `names` (what the user asked for; empty means all).

    `run_id` defaults to a new one (UTC start stamp plus random hex); pass the run registry's id
    to tie the record to the dashboard's run. `ended_at` defaults to start plus duration.
    """
    scenarios = tuple(dict.fromkeys([*names, *result.scenario_names]))
    started = float(result.started_at)
    return RunRecord(
        run_id=run_id or _new_run_id(started),
        scenarios=scenarios,
        started_at=started,
        ended_at=float(ended_at) if ended_at is not None else started + float(result.duration),
        stopped=result.stopped,
        requests=_requests(result),
        p99_ms=_p99(result),
        error_fraction=_error_fraction(result),
        thresholds=tuple(
            ThresholdRecord(r.spec.key, r.spec.expr.source, r.ok, _finite(r.observed))
            for r in result.thresholds
        ),
        time_scale=float(time_scale),
        target=_safe_url(result.config.target.base_url),
    )


def _new_run_id(started: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started)) + "-" + uuid.uuid4().hex[:8]


def _requests(result: RunResult) -> int:
    reqs = result.totals.select("http_reqs")
    return int(reqs.value) if isinstance(reqs, Counter) else 0


def _p99(result: RunResult) -> float | None:
    trend = result.totals.select("http_req_duration")
    if not isinstance(trend, Trend) or not trend.count:
        return None
    return _finite(trend.percentile(99.0))


def _error_fraction(result: RunResult) -> float | None:
    failed = result.totals.select("http_req_failed")
    return failed.rate if isinstance(failed, Rate) else None


def _finite(value: float | None) -> float | None:
    # JSON has no inf/NaN; such a value carries no usable measurement anyway.
    return float(value) if value is not None and math.isfinite(value) else None


def _safe_url(url: str) -> str:
    """`url` without user:password, query or fragment: a record is shown to anyone."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


# --- files --------------------------------------------------------------------------------------


def records_dir(state_dir: Path | str) -> Path:
    """`<state>/load-results`."""
    return Path(state_dir) / RECORDS_DIR


def record_run(state_dir: Path | str, record: RunRecord) -> Path:
    """Write `record` atomically into the state folder and keep only the newest KEEP_RECORDS.

    Raises OSError when the folder cannot be written; the caller decides how loud that is.
    """
    folder = records_dir(state_dir)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(record.ended_at))
    millis = int((record.ended_at % 1) * 1000)
    name = f"{stamp}.{millis:03d}Z_{_UNSAFE.sub('-', record.run_id)[:80]}.json"
    path = folder / name
    data = json.dumps(_to_json(record), indent=2, allow_nan=False) + "\n"
    write_atomic(path, data.encode("utf-8"))
    _prune(folder, keep=path)
    return path


def _prune(folder: Path, keep: Path) -> None:
    files = sorted(folder.glob("*.json"))
    extra = len(files) - KEEP_RECORDS
    for old in files:
        if extra <= 0:
            break
        if old == keep:
            continue
        # Another process may prune the same file at the same moment.
        with contextlib.suppress(FileNotFoundError):
            old.unlink()
        extra -= 1


def read_record(path: Path) -> RunRecord:
    """The record in `path`; RecordError naming the file and the problem when it is damaged."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RecordError(f"{path}: cannot read it: {exc.strerror or exc}") from exc
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        got = "an empty file" if not raw.strip() else f"invalid JSON ({exc})"
        raise RecordError(f"{path}: not a run record: {got}") from exc
    try:
        return _from_json(data)
    except (TypeError, ValueError, KeyError) as exc:
        raise RecordError(f"{path}: not a run record: {exc}") from exc


def list_runs(state_dir: Path | str) -> tuple[RunRecord, ...]:
    """Every readable record, newest (by end time) first; damaged files are logged and skipped."""
    folder = records_dir(state_dir)
    try:
        paths = sorted(folder.glob("*.json"), reverse=True)
    except OSError:
        return ()
    found: list[tuple[float, str, RunRecord]] = []
    for path in paths:
        try:
            record = read_record(path)
        except RecordError as exc:
            log.warning("skipped a damaged run record: %s", exc)
            continue
        found.append((record.ended_at, path.name, record))
    found.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return tuple(record for _, _, record in found)


def latest_run(state_dir: Path | str, scenario: str | None = None) -> RunRecord | None:
    """The newest run (by end time) that asked for or ran `scenario`; any run when None."""
    for record in list_runs(state_dir):
        if scenario is None or record.covers(scenario):
            return record
    return None


# --- JSON ---------------------------------------------------------------------------------------


def _to_json(record: RunRecord) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "run_id": record.run_id,
        "scenarios": list(record.scenarios),
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "stopped": record.stopped,
        "requests": record.requests,
        "p99_ms": _finite(record.p99_ms),
        "error_fraction": _finite(record.error_fraction),
        "thresholds": [
            {
                "metric": t.metric,
                "expression": t.expression,
                "ok": t.ok,
                "observed": _finite(t.observed),
            }
            for t in record.thresholds
        ],
        "engine": record.engine,
        "time_scale": record.time_scale,
        "target": record.target,
    }


def _from_json(data: Any) -> RunRecord:
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {_kind(data)}")
    if data.get("format") != FORMAT:
        raise ValueError(f"'format': expected {FORMAT}, got {_kind(data.get('format'))}")
    scenarios = _get(data, "scenarios", list)
    if not all(isinstance(s, str) for s in scenarios):
        raise ValueError(f"'scenarios': expected a list of strings, got {_kind(scenarios)}")
    stopped = data.get("stopped")
    if stopped not in _STOPPED:
        raise ValueError(
            f"'stopped': expected null, interrupted, aborted or error, got {stopped!r}"
        )
    requests = _get(data, "requests", int)
    if requests < 0:
        raise ValueError(f"'requests': expected a count, got {requests}")
    time_scale = _optional_number(data, "time_scale")
    return RunRecord(
        run_id=_string(data, "run_id"),
        scenarios=tuple(scenarios),
        started_at=_number(data, "started_at"),
        ended_at=_number(data, "ended_at"),
        stopped=stopped,
        requests=requests,
        p99_ms=_optional_number(data, "p99_ms"),
        error_fraction=_optional_number(data, "error_fraction"),
        thresholds=tuple(
            _threshold(item, index) for index, item in enumerate(_get(data, "thresholds", list))
        ),
        engine=_string(data, "engine") if "engine" in data else "built-in",
        time_scale=1.0 if time_scale is None else time_scale,
        target=_get(data, "target", str) if "target" in data else "",
    )


def _threshold(item: Any, index: int) -> ThresholdRecord:
    where = f"thresholds[{index}]"
    if not isinstance(item, dict):
        raise ValueError(f"{where}: expected an object, got {_kind(item)}")
    ok = item.get("ok")
    if ok not in (True, False, None) or "ok" not in item:
        raise ValueError(f"{where}.ok: expected true, false or null, got {_kind(ok)}")
    return ThresholdRecord(
        metric=_string(item, "metric", where),
        expression=_string(item, "expression", where),
        ok=ok,
        observed=_optional_number(item, "observed", where),
    )


def _get(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str = "") -> Any:
    label = f"{where}.{key}" if where else repr(key)
    if key not in data:
        raise KeyError(f"missing {label}")
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        wanted = "a number" if isinstance(kind, tuple) else _KIND_NAMES.get(kind, kind.__name__)
        raise ValueError(f"{label}: expected {wanted}, got {_kind(value)}")
    return value


def _string(data: dict[str, Any], key: str, where: str = "") -> str:
    value = _get(data, key, str, where)
    if not value:
        raise ValueError(f"{f'{where}.{key}' if where else repr(key)}: expected a non-empty string")
    return value


def _number(data: dict[str, Any], key: str, where: str = "") -> float:
    value = _get(data, key, (int, float), where)
    if not math.isfinite(value):
        label = f"{where}.{key}" if where else repr(key)
        raise ValueError(f"{label}: expected a finite number, got {value}")
    return float(value)


def _optional_number(data: dict[str, Any], key: str, where: str = "") -> float | None:
    """A finite number, or None for a missing key or null."""
    return None if data.get(key) is None else _number(data, key, where)


def _kind(data: Any) -> str:
    text = repr(data)
    return f"{type(data).__name__} {text if len(text) <= 40 else text[:37] + '...'}"
