"""`did you mean …?` for a mistyped name: commands, scenarios, checklist steps, run ids."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

_CUTOFF = 0.6
"""difflib's similarity (0-1) a name needs to be suggested at all."""
_CLOSE_TO_BEST = 0.1
"""Other names are offered only when about as close as the best: `histroy` gets `history`,
not `history or sentry`."""


def close_matches(word: str, choices: Iterable[object], n: int = 3) -> list[str]:
    """Up to `n` of `choices` that look like `word`, closest first."""
    names = [str(choice) for choice in choices]
    same_case = [name for name in names if name.lower() == word.lower()]
    if same_case:  # `Auth_Burst`: the same name, whatever the ratio says
        return same_case[:n]
    scored = sorted(
        ((difflib.SequenceMatcher(None, word, name).ratio(), name) for name in names),
        key=lambda pair: -pair[0],
    )
    if not scored or scored[0][0] < _CUTOFF:
        return []
    best = scored[0][0]
    return [name for ratio, name in scored if ratio >= max(_CUTOFF, best - _CLOSE_TO_BEST)][:n]


def did_you_mean(word: str, choices: Iterable[object]) -> str:
    """`; did you mean 'auth_burst'?` (to append to an error message), or "" when nothing is
    close: a far-fetched guess would mislead more than it helps."""
    found = close_matches(word, choices)
    if not found:
        return ""
    return "; did you mean " + " or ".join(repr(name) for name in found) + "?"
