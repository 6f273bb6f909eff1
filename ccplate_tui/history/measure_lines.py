"""What a stored run measured beside its load, for `history show`: the metric sources' samples,
the availability probes and the Sentry error-capture count."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ccplate_tui.load.probe_tally import ProbeTally, truncated_percent
from ccplate_tui.load.source_samples import SourceSample, sample_aggregate
from ccplate_tui.sentry.capture_count import CaptureCount


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def measure_lines(
    sources: Mapping[str, Sequence[SourceSample]],
    probes: ProbeTally | None,
    capture: Mapping[str, Any] | None,
) -> list[str]:
    """`measured` lines (empty when the run measured nothing beside its load)."""
    lines: list[str] = []
    for name, samples in sources.items():
        answered = [s for s in samples if s.value is not None]
        unit = next((s.unit for s in samples if s.unit), "")
        if answered:
            peak, _ = sample_aggregate(samples, "max")
            mean, _ = sample_aggregate(samples, "avg")
            text = f"max {_number(peak)}{unit} avg {_number(mean)}{unit}"
        else:
            text = "NO DATA"
        lines.append(f"  {name}: {text} ({len(answered)} of {len(samples)} samples answered)")
    if probes is not None:
        text = f"{truncated_percent(probes.ok, probes.sent)} of {probes.sent:,d} probes ok"
        reasons = ", ".join(f"{why} ×{n}" for why, n in probes.failures.items())
        lines.append(f"  availability: {text}" + (f" ({reasons})" if reasons else ""))
    count = CaptureCount.from_json(capture) if capture else None
    if count is not None:
        lines.append(f"  error capture: {count.text()}")
    return ["measured", *lines] if lines else []


def measures_to_json(
    sources: Mapping[str, Sequence[SourceSample]],
    probes: ProbeTally | None,
    capture: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The same for `history show --json`: every source sample, the probe total, the count."""
    return {
        "sources": {
            name: [
                {"at": s.at, "value": s.value, "error": s.error, "unit": s.unit} for s in samples
            ]
            for name, samples in sources.items()
        },
        "availability": probes.to_json() if probes is not None else None,
        "capture": dict(capture) if capture else None,
    }
