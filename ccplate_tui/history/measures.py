"""What the history keeps beside a run's metrics: metric-source samples and availability probes
(both committed with each interval), and the run's error-capture count.

`RunMeasures` is a part of HistoryStore (its base class), kept apart so store.py stays about
runs and intervals; the JSON helpers both share live here too. Core module: no Textual here.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from ccplate_tui.history.schema import HistoryError
from ccplate_tui.load.probe_tally import ProbeTally, total_tally
from ccplate_tui.load.source_samples import SourceSample


class UnknownRun(KeyError):
    """A run id or number that the history does not hold."""

    def __str__(self) -> str:
        return str(self.args[0])


def dumps(value: Any) -> str:
    """Compact JSON of `value` with tuples as lists and non-finite floats as null."""
    return json.dumps(_plain(value), separators=(",", ":"), allow_nan=False)


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def from_dict(cls: type, data: Any) -> Any:
    """`cls(**data)` for a stored dict, ignoring keys a later version may have added."""
    if not isinstance(data, dict):
        raise ValueError(f"expected an object for {cls.__name__}, got {type(data).__name__}")
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


class RunMeasures:
    """Source samples, probe tallies and capture counts of runs (HistoryStore's base class)."""

    path: Path
    _read: Callable[..., list[tuple]]
    _write: Callable[[], contextlib.AbstractContextManager[sqlite3.Connection]]

    def source_samples(self, run_id: str) -> dict[str, list[SourceSample]]:
        """Every metric-source sample of a run by source name, in order (killed runs too)."""
        samples: dict[str, list[SourceSample]] = {}
        rows = self._read(
            "SELECT idx, sources FROM intervals WHERE run_id = ? AND sources != '[]' ORDER BY idx",
            (run_id,),
        )
        for idx, text in rows:
            try:
                for data in json.loads(text):
                    sample = from_dict(SourceSample, data)
                    samples.setdefault(sample.name, []).append(sample)
            except (ValueError, TypeError) as exc:
                raise HistoryError(
                    f"{self.path}: the source samples of interval {idx} of run {run_id} are "
                    f"damaged: {exc}"
                ) from exc
        return samples

    def probe_tallies(self, run_id: str) -> list[tuple[int, ProbeTally]]:
        """(interval index, tally) of every interval of a run that carries one, in order."""
        rows = self._read(
            "SELECT idx, probes FROM intervals WHERE run_id = ? AND probes IS NOT NULL "
            "ORDER BY idx",
            (run_id,),
        )
        return [(idx, self._tally(run_id, idx, text)) for idx, text in rows]

    def availability(self, run_id: str) -> ProbeTally | None:
        """The run's availability probes over all its intervals (a killed run's too); None when
        it sent none (no `[availability]` probe, or a run recorded before they were kept)."""
        total = total_tally(tally for _, tally in self.probe_tallies(run_id))
        return total if total is not None and total.sent else None

    def _tally(self, run_id: str, idx: int, text: str) -> ProbeTally:
        try:
            return ProbeTally.from_json(json.loads(text))
        except (ValueError, TypeError) as exc:
            raise HistoryError(
                f"{self.path}: the availability probes of interval {idx} of run {run_id} are "
                f"damaged: {exc}"
            ) from exc

    def set_capture(self, run_id: str, data: Mapping[str, Any]) -> None:
        """Keep the run's error-capture count (e.g. server errors seen against events Sentry
        received), replacing any earlier one; UnknownRun when there is no such run."""
        text = dumps(dict(data))
        with self._write() as db:
            done = db.execute("UPDATE runs SET capture = ? WHERE id = ?", (text, run_id))
            if done.rowcount == 0:
                raise UnknownRun(f"no run {run_id!r} in {self.path}")

    def capture(self, run_id: str) -> dict[str, Any] | None:
        """The run's error-capture count as `set_capture` stored it; None when it has none."""
        rows: Sequence[tuple] = self._read("SELECT capture FROM runs WHERE id = ?", (run_id,))
        if not rows or rows[0][0] is None:
            return None
        try:
            data = json.loads(rows[0][0])
        except ValueError as exc:
            raise HistoryError(
                f"{self.path}: the capture count of run {run_id} is damaged: {exc}"
            ) from exc
        if not isinstance(data, dict):
            raise HistoryError(
                f"{self.path}: the capture count of run {run_id} is damaged: expected an "
                f"object, got {type(data).__name__}"
            )
        return data
