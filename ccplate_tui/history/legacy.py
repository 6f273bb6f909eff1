"""Open a state folder's history, importing the run records kept before it existed, once.

Before the history, every finished run left a JSON record in `<state>/load-results/`. The first
time a state folder's history is opened through `open_history`, those records become runs (ids
kept; outcome only, no intervals), the import is noted in the database, and the files are left
where they are. A damaged record is skipped with a warning naming the file and the problem.

Core module: no Textual here.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

from ccplate_tui.history.rows import FinishedRun, StoredThreshold, status_of
from ccplate_tui.history.store import HistoryStore, history_path

log = logging.getLogger(__name__)

RECORDS_DIR = "load-results"
"""The old records' folder inside the state folder."""

FORMAT = 1
IMPORT_KEY = "legacy_json_records_imported"

_STOPPED = (None, "interrupted", "aborted", "error")
_KIND_NAMES: dict[type, str] = {int: "an integer", str: "a string", list: "a list"}


class RecordError(ValueError):
    """A record file that cannot be read: the message names the file and what is wrong."""


def records_dir(state_dir: Path | str) -> Path:
    """`<state>/load-results`."""
    return Path(state_dir) / RECORDS_DIR


def open_history(state_dir: Path | str, *, create: bool = True) -> HistoryStore | None:
    """The history of `state_dir`, with its old JSON records imported (the first time).

    With `create` False, None when the folder has neither a history nor old records (nothing is
    created just to find it empty). With `create` (opened for writing), a damaged or empty file
    is moved aside and a new history started: the store's `moved_aside` says so. Raises
    HistoryError (an OSError; DamagedHistory when reading a damaged file) for a history that
    cannot be used and OSError when the folder cannot be created.
    """
    path = history_path(state_dir)
    legacy = records_dir(state_dir)
    if not create and not path.exists() and not _has_records(legacy):
        return None
    store = HistoryStore(path, move_damaged=create)
    try:
        import_legacy_records(store, legacy)
    except BaseException:
        store.close()
        raise
    return store


def _has_records(folder: Path) -> bool:
    try:
        return any(folder.glob("*.json"))
    except OSError:
        return False


def import_legacy_records(store: HistoryStore, folder: Path) -> int:
    """Import the readable records of `folder` into `store` unless done before; how many."""
    if store.meta(IMPORT_KEY) is not None:
        return 0
    runs: list[FinishedRun] = []
    skipped: list[str] = []
    try:
        paths = sorted(folder.glob("*.json"))
    except OSError:
        paths = []
    for path in paths:
        try:
            runs.append(read_legacy_record(path))
        except RecordError as exc:
            log.warning("skipped a damaged run record: %s", exc)
            skipped.append(path.name)
    added = store.import_finished(runs)
    note = {"at": time.time(), "folder": str(folder), "imported": added, "skipped": skipped}
    store.set_meta(IMPORT_KEY, json.dumps(note))
    return added


def read_legacy_record(path: Path) -> FinishedRun:
    """The run in old record file `path`; RecordError naming the file and the problem."""
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


def _from_json(data: Any) -> FinishedRun:
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
    return FinishedRun(
        id=_string(data, "run_id"),
        names=tuple(scenarios),
        started_at=_number(data, "started_at"),
        ended_at=_number(data, "ended_at"),
        status=status_of(stopped),
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


def _threshold(item: Any, index: int) -> StoredThreshold:
    where = f"thresholds[{index}]"
    if not isinstance(item, dict):
        raise ValueError(f"{where}: expected an object, got {_kind(item)}")
    ok = item.get("ok")
    if ok not in (True, False, None) or "ok" not in item:
        raise ValueError(f"{where}.ok: expected true, false or null, got {_kind(ok)}")
    return StoredThreshold(
        key=_string(item, "metric", where),
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
