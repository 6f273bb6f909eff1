"""When each threshold's light last changed, from the sequence of views the Load tab received.

The evaluator judges thresholds on the run so far, so a light can go FAIL and later PASS again
(p99 226 ms at 5 s, 198 ms at the end) and the table must say why. The evaluator only keeps the
first failure time (`ThresholdResult.first_failed_at`); the rest is UI state built here from
the views in order: a live view, a replay's prefix, or a run followed from its middle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ccplate_tui.load.thresholds import ThresholdResult
from ccplate_tui.load.units_format import go_duration


def result_key(result: ThresholdResult) -> tuple[str, str]:
    """What identifies a threshold across views: its metric key and its expression."""
    return (result.spec.key, result.spec.expr.source)


def seconds(at: float) -> str:
    """`5s`, `1m5s`: whole seconds as Go prints durations."""
    return go_duration(round(max(at, 0.0)))


@dataclass
class Track:
    """One threshold's light over the views seen: its state, since when, its failing spells."""

    ok: bool | None
    since: float | None
    """When the current state began; None: since before the first view seen."""
    spells: list[tuple[float, float | None]] = field(default_factory=list)
    """(start, end) of each failing stretch; end None while failing or when not seen."""

    def spell_text(self) -> str:
        """`5s–41s`, `5s–41s, 50s–52s` (`from 5s` while failing or when the end was not seen)."""
        parts = []
        for start, end in self.spells:
            parts.append(
                f"{seconds(start)}–{seconds(end)}" if end is not None else f"from {seconds(start)}"
            )
        return ", ".join(parts)


class ThresholdTimeline:
    """Each threshold's `Track`, updated view by view."""

    def __init__(self) -> None:
        self._tracks: dict[tuple[str, str], Track] = {}

    def clear(self) -> None:
        self._tracks.clear()

    def reset(self, views: Iterable[tuple[float, Sequence[ThresholdResult]]]) -> None:
        """Forget everything and observe `views` ((elapsed, results) pairs) in order."""
        self.clear()
        for at, results in views:
            self.observe(results, at)

    def observe(self, results: Sequence[ThresholdResult], at: float) -> None:
        """The results of the evaluation at `at` seconds into the run."""
        for result in results:
            key = result_key(result)
            track = self._tracks.get(key)
            if track is None:
                self._tracks[key] = self._first(result)
            elif result.ok is not track.ok:
                self._change(track, result, at)

    @staticmethod
    def _first(result: ThresholdResult) -> Track:
        # Seen for the first time (a run's start, or one followed from its middle): the
        # evaluator's first-failure time is all that is known of the past.
        first = result.first_failed_at
        if result.ok is False:
            return Track(False, first, [(first, None)] if first is not None else [])
        return Track(result.ok, None, [(first, None)] if first is not None else [])

    @staticmethod
    def _change(track: Track, result: ThresholdResult, at: float) -> None:
        if track.ok is False and track.spells and track.spells[-1][1] is None:
            track.spells[-1] = (track.spells[-1][0], at)
        if result.ok is False:
            # The first failure's time is the evaluator's own; later ones are this view's.
            start = at if track.spells or result.first_failed_at is None else result.first_failed_at
            track.spells.append((start, None))
            track.since = start
        else:
            track.since = at
        track.ok = result.ok

    def track(self, result: ThresholdResult) -> Track | None:
        return self._tracks.get(result_key(result))

    def live_text(self, result: ThresholdResult, compact: bool = False) -> str:
        """What the light means now: `failing since 5s`, `passing again since 41s (failed
        5s–41s)`, `never failed`, `no data yet`; `compact` (a narrow terminal, beside the
        light): `since 5s`, `again since 41s`."""
        track = self.track(result)
        if track is None:
            return "-"
        since = "" if track.since is None else f"since {seconds(track.since)}"
        earlier = [s for s in track.spells if s[1] is not None]
        if result.ok is False:
            past = Track(False, None, earlier).spell_text()
            if compact:
                return since or "failing"
            return f"failing {since}".rstrip() + (f" (also failed {past})" if past else "")
        if result.ok is None:
            if compact:
                return since or "-"
            return f"no data {since}" if since else "no data yet"
        if not track.spells:
            return "never failed"
        if compact:
            return f"again {since}".rstrip()
        return f"passing again {since}".rstrip() + f" (failed {track.spell_text()})"

    def final_text(self, result: ThresholdResult, compact: bool = False) -> str:
        """At the end: the verdict is on the whole run; say when it failed along the way
        (`judged on the whole run (failed 5s–41s)`, `... (failing since 25s)`; `compact`: only
        what is in the brackets, or `whole run`)."""
        track = self.track(result)
        spells = list(track.spells) if track is not None else []
        if not spells and result.first_failed_at is not None:
            spells = [(result.first_failed_at, None)]
        closed = [(a, b) for a, b in spells if b is not None]
        parts = []
        if closed:
            parts.append("failed " + Track(False, None, closed).spell_text())
        if spells and spells[-1][1] is None:
            parts.append(f"failing since {seconds(spells[-1][0])}")
        if compact:
            return "; ".join(parts) or "whole run"
        return "judged on the whole run" + (f" ({'; '.join(parts)})" if parts else "")
