"""The run history: every run, its interval snapshots, annotations, and baselines, in SQLite.

One file per state folder (`<state>/history.sqlite3`, WAL mode: readers never wait for the
recording run). Each interval is committed as it arrives, so a run killed with kill -9 keeps
everything up to its last interval; the next open marks it interrupted. Opening never deletes or
rewrites a damaged file (integrity.py moves it aside when it is opened for writing).

Core module: no Textual here.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ccplate_tui.history.headline import finite, headline
from ccplate_tui.history.integrity import prepare_file
from ccplate_tui.history.measures import RunMeasures, UnknownRun
from ccplate_tui.history.measures import dumps as _dumps
from ccplate_tui.history.measures import from_dict as _dataclass
from ccplate_tui.history.rows import (
    ANNOTATION_KINDS,
    Annotation,
    Baseline,
    FinishedRun,
    StoredRun,
    StoredThreshold,
    status_of,
)
from ccplate_tui.history.schema import HistoryError, as_history_error, open_database
from ccplate_tui.load.metrics import MetricSet
from ccplate_tui.load.metrics_codec import (
    MetricsCodecError,
    metric_set_from_json,
    metric_set_to_json,
)
from ccplate_tui.load.probe_tally import ProbeTally
from ccplate_tui.load.results import RunResult
from ccplate_tui.load.snapshot import IntervalSnapshot, ScenarioProgress, WorkerHealth
from ccplate_tui.load.source_samples import SourceSample
from ccplate_tui.process_identity import process_alive as alive
from ccplate_tui.process_identity import process_started

__all__ = ["DB_NAME", "HistoryError", "HistoryStore", "UnknownRun", "history_path"]

DB_NAME = "history.sqlite3"
_PAGE = 64
"""Intervals fetched per query while streaming: the lock is never held while decoding."""
_RUN_NUMBER = re.compile(r"r?(\d+)")
_RUN_COLUMNS = (
    "id, seq, started_at, ended_at, status, engine, names, scenarios, target, time_scale, "
    "config, config_hash, git_commit, pid, summary, thresholds, baseline_for, "
    "(SELECT COUNT(*) FROM intervals WHERE run_id = runs.id), "
    '(SELECT MAX("end") FROM intervals WHERE run_id = runs.id)'
)
_INTERVAL_COLUMNS = (
    'idx, start, "end", wall_time, metrics, progress, health, notes, sources, probes'
)


def history_path(state_dir: Path | str) -> Path:
    """`<state>/history.sqlite3`."""
    return Path(state_dir) / DB_NAME


class HistoryStore(RunMeasures):
    """The history database at `path`; thread-safe; a context manager that closes it.

    Opening creates or upgrades it (see schema.py) and marks runs whose process died as
    interrupted. Every failure of the database itself is a HistoryError naming the file.
    Source samples, availability probes and capture counts are read through RunMeasures
    (measures.py).
    """

    def __init__(self, path: Path | str, *, move_damaged: bool = False) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self.moved_aside = prepare_file(self.path, move_damaged=move_damaged)
        self._db = open_database(self.path)
        try:
            self.mark_interrupted()
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def reconnect(self) -> None:
        """Checkpoint every committed write into the file, then reopen it (a new `-wal`)."""
        with self._lock:
            try:
                busy = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            except sqlite3.Error as exc:
                raise as_history_error(self.path, exc) from exc
            if busy:  # a reader holds frames back: try again after the next write
                raise HistoryError(f"{self.path}: a reader held off a checkpoint of the history")
            self._db.close()
            self._db = open_database(self.path)

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transactions ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One committed write transaction (the write lock is taken at once, so it cannot
        deadlock with another writer)."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise as_history_error(self.path, exc) from exc
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.IntegrityError):
                    raise HistoryError(f"{self.path}: the history refused a write: {exc}") from exc
                if isinstance(exc, sqlite3.Error):
                    raise as_history_error(self.path, exc) from exc
                raise

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise as_history_error(self.path, exc) from exc

    # --- runs -----------------------------------------------------------------------------------

    def begin_run(
        self,
        *,
        names: Sequence[str],
        scenarios: Sequence[str] = (),
        config: Any = None,
        config_hash: str | None = None,
        git_commit: str | None = None,
        target: str = "",
        time_scale: float = 1.0,
        engine: str = "built-in",
        baseline_for: Mapping[str, str] | None = None,
        started_at: float | None = None,
    ) -> str:
        """Record a run that starts now in this process; returns its new id (`r<number>`)."""
        pid = os.getpid()
        started = time.time() if started_at is None else float(started_at)
        with self._write() as db:
            seq, run_id = self._next_id(db)
            db.execute(
                "INSERT INTO runs (id, seq, started_at, status, engine, names, scenarios, config, "
                "config_hash, git_commit, target, time_scale, pid, pid_started, baseline_for) "
                "VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    seq,
                    started,
                    engine,
                    _dumps(list(names)),
                    _dumps(list(scenarios)),
                    _dumps(config if config is not None else {}),
                    config_hash,
                    git_commit,
                    target,
                    float(time_scale),
                    pid,
                    process_started(pid),
                    _dumps(dict(baseline_for)) if baseline_for else None,
                ),
            )
        return run_id

    @staticmethod
    def _next_id(db: sqlite3.Connection) -> tuple[int, str]:
        """The next run number and its id, skipping numbers whose id an imported run holds."""
        seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM runs").fetchone()[0]
        while db.execute("SELECT 1 FROM runs WHERE id = ?", (f"r{seq}",)).fetchone():
            seq += 1
        return seq, f"r{seq}"

    def add_interval(self, run_id: str, snapshot: IntervalSnapshot) -> None:
        """Store one interval snapshot of a run, committed at once."""
        metrics = json.dumps(
            metric_set_to_json(snapshot.metrics), separators=(",", ":"), allow_nan=False
        )
        with self._write() as db:
            db.execute(
                f"INSERT OR REPLACE INTO intervals (run_id, {_INTERVAL_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    snapshot.index,
                    snapshot.start,
                    snapshot.end,
                    snapshot.wall_time,
                    metrics,
                    _dumps([asdict(p) for p in snapshot.progress]),
                    _dumps(asdict(snapshot.health)) if snapshot.health else None,
                    _dumps(list(snapshot.notes)),
                    _dumps([asdict(sample) for sample in snapshot.sources]),
                    _dumps(snapshot.probes.to_json()) if snapshot.probes is not None else None,
                ),
            )

    def finish_run(self, run_id: str, result: RunResult) -> None:
        """Record how a run ended: status, summary, threshold results and its totals."""
        head = headline(result.totals)
        summary = {
            "duration": result.duration,
            "requests": head.requests,
            "p99_ms": head.p99_ms,
            "error_fraction": head.error_fraction,
            "notes": list(result.notes),
            "progress": [asdict(p) for p in result.progress],
        }
        thresholds = [
            StoredThreshold(
                key=r.spec.key,
                expression=r.spec.expr.source,
                ok=r.ok,
                observed=finite(r.observed),
                abort_on_fail=r.spec.abort_on_fail,
                first_failed_at=r.first_failed_at,
                baseline=getattr(r, "baseline", None),
                limit=getattr(r, "limit", None),
                reason=getattr(r, "reason", None),
            ).to_json()
            for r in result.thresholds
        ]
        totals = json.dumps(metric_set_to_json(result.totals), separators=(",", ":"))
        started = float(result.started_at)
        with self._write() as db:
            done = db.execute(
                "UPDATE runs SET status = ?, started_at = ?, ended_at = ?, summary = ?, "
                "thresholds = ?, totals = ? WHERE id = ?",
                (
                    status_of(result.stopped),
                    started,
                    started + float(result.duration),
                    _dumps(summary),
                    _dumps(thresholds),
                    totals,
                    run_id,
                ),
            )
            if done.rowcount == 0:
                raise UnknownRun(f"no run {run_id!r} in {self.path}")

    def record_finished(self, run: FinishedRun) -> str:
        """Record a run known only by its outcome (a run record), unless the history already
        has it ended: its own account, with intervals and totals, is the fuller one."""
        with self._write() as db:
            row = db.execute("SELECT status FROM runs WHERE id = ?", (run.id,)).fetchone()
            if row is None:
                self._insert_finished(db, run)
            elif row[0] == "running":
                db.execute(
                    "UPDATE runs SET status = ?, ended_at = ?, summary = ?, thresholds = ? "
                    "WHERE id = ?",
                    (run.status, run.ended_at, *_outcome(run), run.id),
                )
        return run.id

    def import_finished(self, runs: Iterable[FinishedRun]) -> int:
        """Add the runs the history does not hold yet, in one transaction; returns how many."""
        added = 0
        with self._write() as db:
            for run in runs:
                if not db.execute("SELECT 1 FROM runs WHERE id = ?", (run.id,)).fetchone():
                    self._insert_finished(db, run)
                    added += 1
        return added

    @staticmethod
    def _insert_finished(db: sqlite3.Connection, run: FinishedRun) -> None:
        seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM runs").fetchone()[0]
        db.execute(
            "INSERT INTO runs (id, seq, started_at, ended_at, status, engine, names, config, "
            "target, time_scale, summary, thresholds) VALUES (?, ?, ?, ?, ?, ?, ?, '{}', ?, ?, ?, ?)",
            (
                run.id,
                seq,
                run.started_at,
                run.ended_at,
                run.status,
                run.engine,
                _dumps(list(run.names)),
                run.target,
                run.time_scale,
                *_outcome(run),
            ),
        )

    def runs(self, limit: int | None = None, *, scenario: str | None = None) -> list[StoredRun]:
        """Runs newest first (by number), optionally only those that asked for or ran `scenario`."""
        rows = self._read(f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY seq DESC")
        out: list[StoredRun] = []
        for row in rows:
            run = self._run_from_row(row)
            if scenario is None or run.covers(scenario):
                out.append(run)
                if limit is not None and len(out) >= limit:
                    break
        return out

    def run(self, run_id: str) -> StoredRun | None:
        """The run with id `run_id`, or numbered so (`12`, `r12`); None when there is none."""
        rows = self._read(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        match = _RUN_NUMBER.fullmatch(run_id.strip())
        if not rows and match:
            number = int(match.group(1))
            rows = self._read(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (f"r{number}",))
            if not rows:
                rows = self._read(f"SELECT {_RUN_COLUMNS} FROM runs WHERE seq = ?", (number,))
        return self._run_from_row(rows[0]) if rows else None

    def _require(self, run_id: str) -> StoredRun:
        run = self.run(run_id)
        if run is None:
            raise UnknownRun(f"no run {run_id!r} in the history ({self.path})")
        return run

    def _run_from_row(self, row: tuple) -> StoredRun:
        (run_id, seq, started, ended, status, engine, names, scenarios, target, scale) = row[:10]
        (config, config_hash, commit, pid, summary, thresholds, baseline_for) = row[10:17]
        count, last_end = row[17:19]
        try:
            stored = None
            if thresholds is not None:
                stored = tuple(StoredThreshold.from_json(t) for t in json.loads(thresholds))
            return StoredRun(
                id=run_id,
                seq=seq,
                started_at=started,
                ended_at=ended,
                status=status,
                engine=engine,
                names=tuple(json.loads(names)),
                scenarios=tuple(json.loads(scenarios)),
                target=target,
                time_scale=scale,
                config=json.loads(config),
                config_hash=config_hash,
                git_commit=commit,
                pid=pid,
                summary=json.loads(summary) if summary is not None else None,
                thresholds=stored,
                baseline_for=json.loads(baseline_for) if baseline_for is not None else None,
                interval_count=count,
                elapsed=float(last_end or 0.0),
            )
        except (ValueError, TypeError, AttributeError) as exc:
            raise HistoryError(f"{self.path}: run {run_id} is damaged: {exc}") from exc

    # --- intervals and totals -------------------------------------------------------------------

    def interval_count(self, run_id: str) -> int:
        return self._read("SELECT COUNT(*) FROM intervals WHERE run_id = ?", (run_id,))[0][0]

    def intervals(
        self, run_id: str, since: int = 0, until: int | None = None
    ) -> list[IntervalSnapshot]:
        """The run's snapshots with index in [since, until), in order.

        Each decoded trend holds a full HDR histogram (~200 KB): for a long run, ask for a range
        or stream with `iter_intervals`.
        """
        return list(self.iter_intervals(run_id, since, until))

    def iter_intervals(
        self, run_id: str, since: int = 0, until: int | None = None
    ) -> Iterator[IntervalSnapshot]:
        """The run's snapshots in order, fetched a page at a time and decoded one at a time."""
        next_idx = since
        while until is None or next_idx < until:
            rows = self._read(
                f"SELECT {_INTERVAL_COLUMNS} FROM intervals WHERE run_id = ? AND idx >= ? "
                "AND idx < ? ORDER BY idx LIMIT ?",
                (run_id, next_idx, until if until is not None else 2**62, _PAGE),
            )
            for row in rows:
                yield self._interval_from_row(run_id, row)
            if len(rows) < _PAGE:
                return
            next_idx = rows[-1][0] + 1

    def _interval_from_row(self, run_id: str, row: tuple) -> IntervalSnapshot:
        idx, start, end, wall_time, metrics, progress, health, notes, sources, probes = row
        try:
            return IntervalSnapshot(
                index=idx,
                start=start,
                end=end,
                metrics=metric_set_from_json(json.loads(metrics)),
                progress=tuple(_dataclass(ScenarioProgress, p) for p in json.loads(progress)),
                health=_dataclass(WorkerHealth, json.loads(health)) if health else None,
                wall_time=wall_time,
                notes=tuple(json.loads(notes)),
                sources=tuple(_dataclass(SourceSample, s) for s in json.loads(sources)),
                probes=ProbeTally.from_json(json.loads(probes)) if probes is not None else None,
            )
        except (MetricsCodecError, ValueError, TypeError) as exc:
            raise HistoryError(
                f"{self.path}: interval {idx} of run {run_id} is damaged: {exc}"
            ) from exc

    def totals(self, run_id: str) -> MetricSet:
        """The run's metrics over its whole length: its intervals merged (kept once computed)."""
        run = self._require(run_id)
        cached = self._read("SELECT totals FROM runs WHERE id = ?", (run.id,))[0][0]
        if cached is not None:
            try:
                return metric_set_from_json(json.loads(cached))
            except (MetricsCodecError, ValueError) as exc:
                raise HistoryError(
                    f"{self.path}: the totals of run {run.id} are damaged: {exc}"
                ) from exc
        totals = self._merge(run.id)
        if run.status != "running" and run.interval_count:
            # A later reader gets one decode instead of one per interval; failing is harmless.
            with contextlib.suppress(HistoryError):
                self._cache_totals(run.id, totals)
        return totals

    def _merge(self, run_id: str) -> MetricSet:
        totals = MetricSet()
        for snapshot in self.iter_intervals(run_id):
            totals.accumulate(snapshot.metrics)
        return totals

    def _cache_totals(self, run_id: str, totals: MetricSet) -> None:
        encoded = json.dumps(metric_set_to_json(totals), separators=(",", ":"))
        with self._write() as db:
            db.execute(
                "UPDATE runs SET totals = ? WHERE id = ? AND status != 'running'",
                (encoded, run_id),
            )

    # --- annotations ----------------------------------------------------------------------------

    def annotate(self, run_id: str, kind: str, text: str, at: float | None = None) -> None:
        """Note something that happened during a run: `kind` is stop, abort, fault or note."""
        if kind not in ANNOTATION_KINDS:
            raise ValueError(f"annotation kind: expected one of {', '.join(ANNOTATION_KINDS)}")
        when = time.time() if at is None else float(at)
        with self._write() as db:
            db.execute(
                "INSERT INTO annotations (run_id, at, kind, text) VALUES (?, ?, ?, ?)",
                (run_id, when, kind, text),
            )

    def annotations(self, run_id: str) -> list[Annotation]:
        rows = self._read(
            "SELECT at, kind, text FROM annotations WHERE run_id = ? ORDER BY at, rowid",
            (run_id,),
        )
        return [Annotation(run_id, at, kind, text) for at, kind, text in rows]

    # --- baselines ------------------------------------------------------------------------------

    def set_baseline(self, scenario: str, run_id: str, set_by: str | None = None) -> Baseline:
        """Make run `run_id` (an id or number) the baseline of `scenario` (or a suite)."""
        run = self._require(run_id)
        baseline = Baseline(scenario, run.id, time.time(), set_by or _user())
        with self._write() as db:
            db.execute(
                "INSERT INTO baselines (scenario, run_id, set_at, set_by) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (scenario) DO UPDATE SET run_id = excluded.run_id, "
                "set_at = excluded.set_at, set_by = excluded.set_by",
                (baseline.scenario, baseline.run_id, baseline.set_at, baseline.set_by),
            )
        return baseline

    def baseline(self, scenario: str) -> str | None:
        """The id of `scenario`'s baseline run, None when it has none."""
        found = self.baseline_info(scenario)
        return found.run_id if found else None

    def baseline_info(self, scenario: str) -> Baseline | None:
        rows = self._read(
            "SELECT scenario, run_id, set_at, set_by FROM baselines WHERE scenario = ?",
            (scenario,),
        )
        return Baseline(*rows[0]) if rows else None

    def baselines(self) -> list[Baseline]:
        rows = self._read(
            "SELECT scenario, run_id, set_at, set_by FROM baselines ORDER BY scenario"
        )
        return [Baseline(*row) for row in rows]

    # --- housekeeping ---------------------------------------------------------------------------

    def mark_interrupted(self) -> list[str]:
        """Mark runs still `running` whose process is gone as interrupted; returns their ids.

        The run ends at its last interval; its summary comes from the intervals it kept.
        """
        rows = self._read("SELECT id, pid, pid_started FROM runs WHERE status = 'running'")
        marked = []
        for run_id, pid, pid_started in rows:
            if alive(pid, pid_started):
                continue
            note = f"the recording process (pid {pid}) ended without finishing the run"
            if self.end_run(run_id, "interrupted", note):
                marked.append(run_id)
        return marked

    def end_run(self, run_id: str, status: str, note: str) -> bool:
        """End a run still `running` without a RunResult (its process died, or its engine
        failed): it ends at its last interval, with a summary from the intervals it kept and
        `note` as an annotation. False when it was not running (e.g. another process ended it)."""
        if status not in ("interrupted", "aborted", "error"):
            raise ValueError(f"a run ends as interrupted, aborted or error, not {status!r}")
        last = self._read(
            'SELECT "end", wall_time, progress FROM intervals WHERE run_id = ? '
            "ORDER BY idx DESC LIMIT 1",
            (run_id,),
        )
        end, wall_time, progress = last[0] if last else (0.0, None, "[]")
        totals = self._merge(run_id)
        head = headline(totals)
        summary = {
            "duration": float(end),
            "requests": head.requests,
            "p99_ms": head.p99_ms,
            "error_fraction": head.error_fraction,
            "notes": [note],
            "progress": json.loads(progress),
        }
        with self._write() as db:
            done = db.execute(
                "UPDATE runs SET status = ?, ended_at = COALESCE(?, started_at), summary = ?, "
                "thresholds = '[]', totals = ? WHERE id = ? AND status = 'running'",
                (
                    status,
                    wall_time,
                    _dumps(summary),
                    json.dumps(metric_set_to_json(totals), separators=(",", ":")),
                    run_id,
                ),
            )
            if done.rowcount:
                db.execute(
                    "INSERT INTO annotations (run_id, at, kind, text) VALUES (?, ?, 'note', ?)",
                    (run_id, time.time(), note),
                )
        return bool(done.rowcount)

    def meta(self, key: str) -> str | None:
        """A value kept for one-off jobs (e.g. an import done), None when unset."""
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )


def _outcome(run: FinishedRun) -> tuple[str, str]:
    """(summary JSON, thresholds JSON) of a run known by its outcome."""
    summary = {
        "duration": max(0.0, run.ended_at - run.started_at),
        "requests": run.requests,
        "p99_ms": finite(run.p99_ms),
        "error_fraction": finite(run.error_fraction),
        "notes": [],
        "progress": [],
    }
    return _dumps(summary), _dumps([t.to_json() for t in run.thresholds])


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (e.g. a container's uid)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
