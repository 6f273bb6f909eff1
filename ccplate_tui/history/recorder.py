"""Record a run in the history as it goes: an engine observer, one committed row per interval.

Creating a `HistoryRecorder` begins the run in the store (its config as resolved, secrets masked;
the config file's hash; the git commit of the config's folder). Pass it to `LoadRun(observers=…)`
(or call it with each RunUpdate from another engine), `annotate` operator actions, and `finish`
with the RunResult. A history that fails mid-run (any SQLite or OS error: a full disk, the file
removed) never stops the run: the recorder warns once and keeps trying, and the caller learns from
`finish` whether the run was recorded and from `incomplete` what is missing. After each write the
files are watched (integrity.py): a deleted `-wal` is rescued and noted in `notices`.

Core module: no Textual here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import sqlite3
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from ccplate_tui.config.model import CheckSpec, Config
from ccplate_tui.config.thresholds import ThresholdSpec
from ccplate_tui.history.integrity import file_identity, watch_files
from ccplate_tui.history.store import HistoryStore
from ccplate_tui.load.engine import RunPlan, RunUpdate
from ccplate_tui.load.results import RunResult
from ccplate_tui.load.run_records import safe_url
from ccplate_tui.masking import mask_secrets

log = logging.getLogger(__name__)

_FAILURES = (sqlite3.Error, OSError, ValueError)
"""What a write may raise (HistoryError is an OSError): recorded, never raised into the run."""
_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_GIT_TIMEOUT = 5.0


class HistoryRecorder:
    """Records one run of `plan` (asked for as `names`) in `store`; call it with every RunUpdate."""

    def __init__(
        self,
        store: HistoryStore,
        config: Config,
        plan: RunPlan,
        names: Sequence[str],
        engine: str = "built-in",
        time_scale: float = 1.0,
        *,
        baseline_for: Mapping[str, str] | None = None,
    ) -> None:
        """Begins the run in the store; raises HistoryError when the store cannot take it."""
        self.store = store
        self.error: str | None = None
        """The first recording failure, if any (the run went on regardless)."""
        self.failures = 0
        """Writes that failed (intervals, annotations, the end)."""
        self.intervals = 0
        self.lost_intervals = 0
        self.notices: list[str] = []
        """Things that went wrong with the files and were put right (nothing lost)."""
        self.finished = False
        folder = Path(config.path).resolve().parent
        self.run_id = store.begin_run(
            names=list(names) or [s.name for s in plan.scenarios],
            scenarios=[s.name for s in plan.scenarios],
            config=config_json(config, plan),
            config_hash=config_hash(config.path),
            git_commit=git_commit(folder),
            target=safe_url(config.target.base_url),
            time_scale=time_scale,
            engine=engine,
            baseline_for=baseline_for,
        )
        self._identity = file_identity(store.path)

    def __call__(self, update: RunUpdate) -> None:
        """Store the update's interval (committed at once); never raises."""
        self.intervals += 1
        try:
            self.store.add_interval(self.run_id, update.snapshot)
            self._watch()
        except _FAILURES as exc:
            self.lost_intervals += 1
            self._failed(exc)

    @property
    def incomplete(self) -> str | None:
        """Why the history lacks part of this run, for the end of the run; None when it has it."""
        if self.error is None:
            return None
        lost = ""
        if self.lost_intervals:
            lost = f"{self.lost_intervals} of {self.intervals} intervals could not be written; "
        return f"{lost}{self.failures} write(s) failed, the first: {self.error}"

    def end_notes(self) -> list[str]:
        """Warning lines for the end of the run: a damaged history moved aside, a rescued file,
        what is missing from the history and why (the run's own figures stay true)."""
        notes: list[str] = []
        moved = getattr(self.store, "moved_aside", None)
        if moved is not None:
            notes.append(
                f"the damaged run history was moved aside to {moved.aside}; this run is "
                f"{self.run_id} in a new history, {moved.path}"
            )
        notes.extend(self.notices)
        if self.incomplete is not None:
            notes.append(
                f"the run history is incomplete for {self.run_id}: {self.incomplete} (the "
                "results above are complete; only the history lacks them)"
            )
        return notes

    def _watch(self) -> None:
        note = watch_files(self.store, self._identity)
        if note is not None and note not in self.notices:
            self.notices.append(note)
            log.warning("%s", note)

    def annotate(self, kind: str, text: str, at: float | None = None) -> bool:
        """Note an operator action (`stop`, `abort`, `fault`) or a `note`; False if not stored."""
        try:
            self.store.annotate(self.run_id, kind, text, at)
        except _FAILURES as exc:
            self._failed(exc)
            return False
        return True

    def finish(self, result: RunResult) -> bool:
        """Record how the run ended; True when the history has it (False: see `error`)."""
        ended = result.started_at + result.duration
        if result.stopped == "aborted":
            crossed = [
                f"{r.spec.key} {r.spec.expr.source}"
                for r in result.thresholds
                if r.spec.abort_on_fail and r.ok is False
            ]
            self.annotate(
                "abort", "abortOnFail: " + ("; ".join(crossed) or "a threshold was crossed"), ended
            )
        elif result.stopped == "error":
            self.annotate("note", "; ".join(result.notes)[:2000] or "the run failed", ended)
        try:
            self.store.finish_run(self.run_id, result)
            self._watch()
        except (*_FAILURES, KeyError) as exc:
            self._failed(exc)
            return False
        self.finished = True
        return True

    def abandon(self, reason: str) -> bool:
        """End the run as `error` without a result (the engine itself failed); never raises."""
        try:
            self.store.end_run(self.run_id, "error", reason)
            self._watch()
        except _FAILURES as exc:
            self._failed(exc)
            return False
        self.finished = True
        return True

    def _failed(self, exc: Exception) -> None:
        self.failures += 1
        if self.error is None:
            self.error = str(exc)
            log.warning("the run history could not record run %s: %s", self.run_id, exc)


# --- what is recorded about the config -----------------------------------------------------------


def config_json(config: Config, plan: RunPlan) -> Any:
    """The run's resolved scenarios and thresholds as JSON, with secrets masked.

    Masked because `history show` prints it to anyone; recheck reads the current file instead.
    """
    data = {
        "file": str(config.path),
        "target": safe_url(config.target.base_url),
        "options": {"interval": config.options.interval, "tags": _plain(config.options.tags)},
        "scenarios": [_plain(spec) for spec in plan.scenarios],
        "thresholds": [_plain(spec) for spec in plan.thresholds],
    }
    if config.availability is not None:
        # The probe's URL, pace and timeout: what a window and a probe count mean.
        data["availability"] = {
            **_plain(config.availability),
            "url": safe_url(config.availability.url),
        }
    text = mask_secrets(json.dumps(data, allow_nan=False))
    try:
        return json.loads(text)
    except ValueError:  # masking broke the JSON: keep the masked text rather than the secrets
        return {"masked": text}


def _plain(value: Any) -> Any:
    """JSON-ready form of config values: dataclasses as objects, tag pairs as objects."""
    if isinstance(value, ThresholdSpec):
        return {
            "key": value.key,
            "expression": value.expr.source,
            "abort_on_fail": value.abort_on_fail,
            "delay_abort_eval": value.delay_abort_eval,
        }
    if isinstance(value, CheckSpec):
        return {"name": value.name, "source": value.source}
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        pairs = [v for v in value if isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str)]
        if value and len(pairs) == len(value) and len({k for k, _ in pairs}) == len(pairs):
            # Header, query and form pairs as objects, so `"X-Api-Key": "…"` is masked by name.
            return {k: _plain(v) for k, v in pairs}
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    return repr(value)


def config_hash(path: str | Path) -> str | None:
    """sha256 of the config file, None when it cannot be read (e.g. a config built in memory)."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def git_commit(folder: Path) -> str | None:
    """HEAD of the git checkout holding `folder` (`git rev-parse HEAD`); None when it is not one,
    git is missing, or git does not answer in time."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and _COMMIT.fullmatch(commit) else None
