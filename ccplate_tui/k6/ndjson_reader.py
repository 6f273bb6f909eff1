"""Read k6's `--out json` NDJSON while k6 writes it, as the engine's own interval snapshots.

k6 writes one Point per sample (a request gives a dozen: http_reqs, http_req_duration, ...),
stamped with the sample's time. The reader tails the file (a partial last line waits for its
newline), buckets Points by timestamp into `IntervalSnapshot`s of `interval` seconds measured
from the first Point, and hands each bucket out once the stream's time has moved `lateness`
seconds past its end: k6 flushes its JSON output in batches, so a bucket is only complete a
little after its end. A Point older than the oldest bucket still open joins that bucket rather
than being lost, so the snapshots always add up to exactly what the file holds.

Tags are kept as k6 wrote them, so per-request (`name`) rows and `{scenario:x}` filters work.
Metrics the engine does not know (custom metrics) are skipped, once noted. `follow_k6_ndjson` adds what a live display needs on top: run totals, thresholds
evaluated every 2 s of stream time (as the engine does), scenario progress, and a final
`K6RunEnded`.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ccplate_tui.config.model import ScenarioSpec
from ccplate_tui.config.thresholds import ThresholdSpec, parse_threshold_entry
from ccplate_tui.k6.scenario_progress import K6ProgressTracker
from ccplate_tui.load.engine import RunUpdate
from ccplate_tui.load.metrics import BUILTIN_METRICS, Gauge, MetricSet, MetricType, Tags
from ccplate_tui.load.probe_tally import ProbeTally
from ccplate_tui.load.snapshot import IntervalSnapshot, ScenarioProgress
from ccplate_tui.load.source_samples import SourceSample
from ccplate_tui.load.thresholds import EVALUATION_PERIOD, ThresholdEvaluator, ThresholdResult

DEFAULT_LATENESS = 0.5
"""Seconds of stream time a bucket stays open after its end (k6 flushes its JSON in batches)."""
DEFAULT_POLL = 0.1
"""Seconds between looks at a file that has not grown."""
IDLE_FLUSH = 2.0
"""Seconds without growth after which open buckets are handed out: a running k6 writes its vus
gauge every second, so this much silence means it stopped (or stalled), and a live display must
not keep the last interval back until more arrives."""
READ_CHUNK = 1 << 20
"""Bytes read at a time, so catching up on a large file hands out snapshots as it goes."""

"""k6 built-ins the engine has no counterpart for: skipped without a note."""


class K6NdjsonError(ValueError):
    """A line of the stream that is not a k6 `--out json` record, with its place in the file."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(path, line, message)
        self.path = path
        self.line = line
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class K6Point:
    """One sample: `time` is Unix seconds, `value` in the metric's unit (ms for time)."""

    metric: str
    time: float
    value: float
    tags: Tags


@dataclass(frozen=True)
class K6MetricDecl:
    """A `Metric` record: written once, before the metric's first Point."""

    name: str
    type: str
    contains: str
    thresholds: tuple[str | dict[str, Any], ...]
    """As k6 wrote them: expression strings, or `{threshold, abortOnFail, delayAbortEval}`."""


K6Record = K6Point | K6MetricDecl


def parse_time(text: str) -> float:
    """RFC 3339 (k6 writes Go's RFC3339Nano, `Z` or an offset) as Unix seconds."""
    # fromisoformat keeps microseconds of a nanosecond fraction: all a float holds anyway.
    return datetime.fromisoformat(text).timestamp()


def _tags(raw: object) -> Tags:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise ValueError(f"expected data.tags to be an object, got {type(raw).__name__}")
    return tuple(
        sorted((str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in raw.items())
    )


def _parse_point(record: dict[str, Any]) -> K6Point:
    metric = record.get("metric")
    data = record.get("data")
    if not isinstance(metric, str) or not isinstance(data, dict):
        raise ValueError("expected a Point with a string `metric` and a `data` object")
    stamp = data.get("time")
    if not isinstance(stamp, str):
        raise ValueError("expected data.time, an RFC 3339 timestamp string")
    try:
        when = parse_time(stamp)
    except ValueError:
        raise ValueError(f"expected data.time as RFC 3339, got {stamp!r}") from None
    value = data.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected data.value to be a number, got {value!r}")
    metadata = data.get("metadata")
    if isinstance(metadata, dict) and metadata.get("aggregation") == "interval":
        raise ValueError(
            "this Point is a per-interval aggregate (ccplate-tui's own `--out jsonl`), not a k6 "
            "sample; point the reader at a file written by `k6 run --out json=FILE`"
        )
    return K6Point(metric, when, float(value), _tags(data.get("tags")))


def _parse_metric(record: dict[str, Any]) -> K6MetricDecl:
    data = record.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise ValueError("expected a Metric record with data.name")
    thresholds = data.get("thresholds") or []
    if not isinstance(thresholds, list):
        raise ValueError("expected data.thresholds to be a list")
    return K6MetricDecl(
        name=data["name"],
        type=str(data.get("type", "")),
        contains=str(data.get("contains", "default")),
        thresholds=tuple(thresholds),
    )


def parse_record(line: bytes | str, path: Path, number: int) -> K6Record | None:
    """One NDJSON line as a record; None for a blank line; K6NdjsonError naming path:line."""
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    if not text.strip():
        return None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise K6NdjsonError(
            path, number, f"column {exc.colno}: not JSON ({exc.msg}); expected a k6 record"
        ) from None
    if not isinstance(record, dict):
        raise K6NdjsonError(path, number, "expected a JSON object (a k6 Metric or Point record)")
    kind = record.get("type")
    try:
        if kind == "Point":
            return _parse_point(record)
        if kind == "Metric":
            return _parse_metric(record)
    except ValueError as exc:
        raise K6NdjsonError(path, number, str(exc)) from None
    raise K6NdjsonError(path, number, f"unknown record type {kind!r}; expected Metric or Point")


class NdjsonTail:
    """The complete lines a growing file has gained since the last read.

    A last line without its newline is held back until the newline arrives (k6 may be in the
    middle of writing it); `rest()` gives it up once the writer is known to be done.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.offset = 0
        self.lines_read = 0
        self._pending = b""
        self._file: Any = None
        self.more = False

    def _open(self) -> bool:
        if self._file is None:
            try:
                self._file = self.path.open("rb")
            except FileNotFoundError:
                return False
            except OSError as exc:
                raise K6NdjsonError(self.path, 0, f"cannot read: {exc.strerror}") from None
        return True

    @property
    def exists(self) -> bool:
        return self._file is not None or self.path.exists()

    def read(self, limit: int = READ_CHUNK) -> list[tuple[int, bytes]]:
        """New complete lines as (line number, bytes), from at most `limit` new bytes; [] when
        nothing new or no file yet. `more` tells whether bytes were left unread."""
        self.more = False
        if not self._open():
            return []
        size = os.fstat(self._file.fileno()).st_size
        if size < self.offset:
            raise K6NdjsonError(
                self.path,
                self.lines_read,
                f"the file shrank from {self.offset} to {size} bytes while being read; "
                "was it truncated or rewritten by another run?",
            )
        chunk = self._file.read(limit)
        if not chunk:
            return []
        self.more = len(chunk) == limit
        self.offset += len(chunk)
        data = self._pending + chunk
        *complete, self._pending = data.split(b"\n")
        out = []
        for line in complete:
            self.lines_read += 1
            out.append((self.lines_read, line))
        return out

    def rest(self) -> tuple[int, bytes] | None:
        """The unfinished last line, once the writer is done; None when there is none."""
        if not self._pending.strip():
            return None
        self.lines_read += 1
        line, self._pending = self._pending, b""
        return self.lines_read, line

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class IntervalBucketer:
    """Points into `IntervalSnapshot`s of `interval` seconds from `start` (the first Point)."""

    def __init__(
        self, interval: float, *, start: float | None = None, lateness: float = DEFAULT_LATENESS
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be greater than 0, got {interval}")
        self.interval = interval
        self.start = start
        self.lateness = lateness
        self.latest: float | None = None
        self._buckets: dict[int, MetricSet] = {}
        self._next = 0
        """Index of the oldest bucket not yet handed out."""

    def add(self, point: K6Point) -> None:
        info = BUILTIN_METRICS.get(point.metric)
        if info is None:
            raise KeyError(point.metric)
        if self.start is None:
            self.start = point.time
        if self.latest is None or point.time > self.latest:
            self.latest = point.time
        index = max(self._next, math.floor((point.time - self.start) / self.interval))
        metrics = self._buckets.get(index)
        if metrics is None:
            metrics = self._buckets[index] = MetricSet()
        key = (point.metric, point.tags)
        if info.type is MetricType.GAUGE:
            gauge = metrics.series.get(key)
            if isinstance(gauge, Gauge):
                gauge.set(point.value)
            else:  # a fresh Gauge() would bring a reading of 0 into min
                metrics.series[key] = Gauge(point.value)
            return
        sink = metrics.sink(*key)
        if info.type is MetricType.TREND:
            sink.add(point.value)  # type: ignore[union-attr]
        elif info.type is MetricType.COUNTER:
            sink.value += point.value  # type: ignore[union-attr]
        else:
            sink.add(point.value != 0)  # type: ignore[union-attr]

    @property
    def elapsed(self) -> float:
        """Stream seconds from the first Point to the latest one."""
        if self.start is None or self.latest is None:
            return 0.0
        return self.latest - self.start

    def ready(self) -> list[IntervalSnapshot]:
        """Buckets whose end the stream has passed by `lateness`: complete, to hand out now."""
        out = []
        while self.start is not None and self.latest is not None:
            end = (self._next + 1) * self.interval
            if self.start + end + self.lateness > self.latest:
                break
            out.append(self._take(end))
        return out

    @property
    def pending(self) -> bool:
        """True while some bucket with Points has not been handed out."""
        return bool(self._buckets)

    def flush(self) -> list[IntervalSnapshot]:
        """Everything still open (the writer is done); the last bucket ends at the last Point."""
        out = self.ready()
        last = max(self._buckets, default=self._next - 1)
        while self._next <= last:
            end = (self._next + 1) * self.interval
            if self._next == last:
                end = max(self._next * self.interval, min(end, self.elapsed))
            out.append(self._take(end))
        return out

    def _take(self, end: float) -> IntervalSnapshot:
        assert self.start is not None
        index = self._next
        self._next += 1
        metrics = self._buckets.pop(index, None) or MetricSet()
        return IntervalSnapshot(
            index=index,
            start=index * self.interval,
            end=end,
            metrics=metrics,
            wall_time=self.start + end,
        )


class K6NdjsonReader:
    """Tails one k6 NDJSON file and yields its interval snapshots (see `snapshots`).

    `start` is the Unix time intervals count from (default: the first Point's time).
    """

    def __init__(
        self,
        path: str | Path,
        interval: float = 1.0,
        *,
        lateness: float = DEFAULT_LATENESS,
        start: float | None = None,
    ) -> None:
        self.path = Path(path)
        self.bucketer = IntervalBucketer(interval, start=start, lateness=lateness)
        self.declared: dict[str, K6MetricDecl] = {}
        self.ignored: set[str] = set()
        """Metric names skipped because the engine has no such metric."""
        self.ended: str | None = None
        """Why the stream ended: `stopped` (the caller's event) or `idle` (no growth)."""
        self._notes: list[str] = []

    def pending_notes(self) -> list[str]:
        """Notes no snapshot carried (raised after the last one); taken once."""
        notes, self._notes = self._notes, []
        return notes

    def _take_notes(self, snapshot: IntervalSnapshot) -> IntervalSnapshot:
        if self._notes:
            snapshot.notes = (*snapshot.notes, *self._notes)
            self._notes = []
        return snapshot

    def _feed(self, number: int, line: bytes, *, last: bool = False) -> None:
        try:
            record = parse_record(line, self.path, number)
        except K6NdjsonError:
            if last:  # k6 was stopped in the middle of a line: the rest of the file stands
                self._notes.append(
                    f"{self.path}:{number}: ignored an unfinished last line ({len(line)} bytes)"
                )
                return
            raise
        if isinstance(record, K6MetricDecl):
            self.declared[record.name] = record
        elif isinstance(record, K6Point):
            if record.metric not in BUILTIN_METRICS:
                if record.metric not in self.ignored:
                    self.ignored.add(record.metric)
                    self._notes.append(
                        f"k6 metric {record.metric!r} is not tracked (custom metrics are not shown)"
                    )
                return
            self.bucketer.add(record)

    def snapshots(
        self,
        stop: threading.Event,
        *,
        poll: float = DEFAULT_POLL,
        idle_end: float | None = None,
    ) -> Iterator[IntervalSnapshot]:
        """Snapshots as the file grows, until `stop` is set (then the file is read to its end and
        every open bucket handed out) or, with `idle_end`, the file has not grown for that long
        after its first Point. A file that does not exist yet is waited for."""
        tail = NdjsonTail(self.path)
        last_growth = time.monotonic()
        try:
            while True:
                stopping = stop.is_set()
                lines = tail.read()
                for number, line in lines:
                    self._feed(number, line)
                if lines:
                    last_growth = time.monotonic()
                for snapshot in self.bucketer.ready():
                    yield self._take_notes(snapshot)
                if tail.more:
                    continue
                if stopping:
                    # Everything written before the stop has now been read.
                    self.ended = "stopped"
                    break
                idle = time.monotonic() - last_growth
                if not lines and idle >= IDLE_FLUSH and self.bucketer.pending:
                    for snapshot in self.bucketer.flush():
                        yield self._take_notes(snapshot)
                if idle_end is not None and self.bucketer.start is not None and idle >= idle_end:
                    self.ended = "idle"
                    break
                if not lines:
                    stop.wait(poll)
            rest = tail.rest()
            if rest is not None:
                self._feed(*rest, last=True)
            for snapshot in self.bucketer.flush():
                yield self._take_notes(snapshot)
        finally:
            tail.close()

    def stream_thresholds(self) -> tuple[list[ThresholdSpec], list[str]]:
        """Thresholds the stream's Metric records declare (k6 omits those on submetrics), and a
        note for each that does not parse."""
        specs: list[ThresholdSpec] = []
        problems: list[str] = []
        for decl in self.declared.values():
            for entry in decl.thresholds:
                if isinstance(entry, dict):  # k6 writes `"delayAbortEval": null` when unset
                    entry = {k: v for k, v in entry.items() if v is not None}
                try:
                    specs.append(parse_threshold_entry(decl.name, entry))  # type: ignore[arg-type]
                except ValueError as exc:
                    problems.append(f"threshold {entry!r} on {decl.name} not evaluated: {exc}")
        return specs, problems


@dataclass(frozen=True)
class K6RunEnded:
    """The end of a followed stream: what a `RunResult` needs."""

    totals: MetricSet
    thresholds: list[ThresholdResult]
    """The final evaluation over everything read."""
    elapsed: float
    """Stream seconds from the first Point to the last."""
    started_at: float
    """Unix time of the first Point (0 when there was none)."""
    progress: tuple[ScenarioProgress, ...]
    reason: str
    """`stopped` or `idle` (see `K6NdjsonReader.ended`)."""
    intervals: int
    notes: tuple[str, ...] = ()


def follow_k6_ndjson(
    path: str | Path,
    interval: float,
    stop: threading.Event,
    *,
    thresholds: Sequence[ThresholdSpec] | None = None,
    baselines: Mapping[str, float] | None = None,
    scenarios: Sequence[ScenarioSpec] = (),
    poll: float = DEFAULT_POLL,
    idle_end: float | None = None,
    lateness: float = DEFAULT_LATENESS,
    start: float | None = None,
    sources: Callable[[], tuple[SourceSample, ...]] | None = None,
    probes: Callable[[], ProbeTally] | None = None,
) -> Iterator[RunUpdate | K6RunEnded]:
    """A `RunUpdate` per interval of a k6 NDJSON file (what `build_live_view` and every engine
    observer take), then one `K6RunEnded`.

    `thresholds` None means those the stream declares (picked up as their Metric records
    arrive); pass the plan's to judge the run by scenarios.toml, with `baselines` for its
    relative ones (as LoadRun takes them). `scenarios` (the plan's specs) give the progress its
    planned durations and iteration counts. `sources` gives the metric-source samples taken
    since its last call (SourceSampler.take), attached to each interval; `probes` likewise the
    availability probes' tally (AvailabilityProber.take).
    """
    reader = K6NdjsonReader(path, interval, lateness=lateness, start=start)
    from_stream = thresholds is None
    specs: list[ThresholdSpec] = list(thresholds or ())
    evaluator = ThresholdEvaluator(specs, baselines)
    tracker = K6ProgressTracker(scenarios)
    totals = MetricSet()
    results: list[ThresholdResult] = []
    notes: list[str] = []
    last_eval = 0.0
    count = 0
    progress: tuple[ScenarioProgress, ...] = ()
    reported: set[str] = set()
    for snapshot in reader.snapshots(stop, poll=poll, idle_end=idle_end):
        if from_stream:
            found, problems = reader.stream_thresholds()
            if len(found) != len(specs):
                # A Metric record with thresholds arrived: judge by everything declared so far.
                specs = found
                evaluator = ThresholdEvaluator(specs, baselines)
                results = []
            fresh = [p for p in problems if p not in reported]
            reported.update(fresh)
            snapshot.notes = (*snapshot.notes, *fresh)
        if sources is not None:
            snapshot.sources = sources()
        if probes is not None:
            snapshot.probes = probes()
        totals.accumulate(snapshot.metrics)
        evaluator.observe(snapshot)
        progress = tracker.update(snapshot)
        snapshot.progress = progress
        notes.extend(snapshot.notes)
        count += 1
        if snapshot.end - last_eval >= EVALUATION_PERIOD - 1e-6 or not results:
            results = evaluator.evaluate(totals, snapshot.end)
            last_eval = snapshot.end
        yield RunUpdate(snapshot, totals, results, snapshot.end)
    notes.extend(reader.pending_notes())
    elapsed = reader.bucketer.elapsed
    final_progress = tracker.finish(elapsed) if count else progress
    yield K6RunEnded(
        totals=totals,
        thresholds=evaluator.evaluate(totals, elapsed),
        elapsed=elapsed,
        started_at=reader.bucketer.start or 0.0,
        progress=final_progress,
        reason=reader.ended or "stopped",
        intervals=count,
        notes=tuple(notes),
    )
