"""The result of running one automated checklist step."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

OutcomeResult = Literal["passed", "failed", "cancelled"]


@dataclass(frozen=True)
class StepOutcome:
    """What a runner found: the result, a one-line masked summary and masked evidence.

    Evidence must be TOML-serialisable (str, int, float, bool, lists, tables; never None)
    because the state file stores it verbatim.
    """

    result: OutcomeResult
    summary: str
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when the step passed."""
        return self.result == "passed"
