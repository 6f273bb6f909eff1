"""JSON from client bodies, bounded: the demo target answers a hostile body with a 4xx, never a 500.

`json.loads` alone turns 100,000 `[` into a RecursionError, and a value nested a few hundred levels
deep parses but then breaks whatever walks it recursively afterwards (`json.dumps` when a
generation's preferences are stored, a Sentry fingerprint's hash). So every body the target
parses goes through `loads_bounded`: a RecursionError while parsing and a result nested deeper
than MAX_JSON_DEPTH both become JsonTooDeep, and bad bytes, bad syntax and (unless allowed)
`NaN`/`Infinity` become JsonBodyError. Both are ValueErrors, so callers that already answer a
ValueError with a 400 keep doing so.
"""

from __future__ import annotations

import json
from typing import Any

MAX_JSON_DEPTH = 64
"""How deep arrays and objects may nest. The demo API's bodies nest 2 levels (preferences in a
generation), a Sentry SDK event about 15 (an exception's frames' variables, which the SDKs
themselves cut at a few levels); 64 leaves room for any honest client while staying far below
Python's recursion limit (1000), so nothing that walks a parsed value recursively can fail."""


class JsonBodyError(ValueError):
    """The body is not acceptable JSON; the message says why, in a few words."""


class JsonTooDeep(JsonBodyError):
    """The body nests arrays/objects deeper than the limit."""


def _too_deep(limit: int) -> JsonTooDeep:
    return JsonTooDeep(f"JSON nested deeper than {limit} levels")


def _refuse_constant(name: str) -> Any:
    raise JsonBodyError(f"{name} is not JSON (use a number or null)")


def json_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """How deep `value`'s lists/dicts nest (a scalar is 0), counted without recursion; the count
    stops at `limit + 1` (enough to know it is too deep)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth) for child in children if isinstance(child, dict | list))
    return deepest


def _may_exceed(raw: bytes | str, limit: int) -> bool:
    """False when the text has too few brackets to nest deeper than `limit` (the usual case)."""
    if isinstance(raw, str):
        return raw.count("[") + raw.count("{") > limit
    return raw.count(b"[") + raw.count(b"{") > limit


def loads_bounded(
    raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH, allow_constants: bool = False
) -> Any:
    """`json.loads` that raises JsonBodyError for anything a client could get wrong.

    `allow_constants` accepts Python's `NaN`/`Infinity` extension (off: they are not JSON).
    """
    kwargs: dict[str, Any] = {} if allow_constants else {"parse_constant": _refuse_constant}
    try:
        value = json.loads(raw, **kwargs)
    except RecursionError:
        raise _too_deep(max_depth) from None
    except JsonBodyError:
        raise
    except UnicodeDecodeError as exc:
        raise JsonBodyError(f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except ValueError as exc:  # JSONDecodeError, and int() refusing a number of 4,300+ digits
        raise JsonBodyError(f"malformed JSON: {exc}") from None
    if _may_exceed(raw, max_depth) and json_depth(value, max_depth) > max_depth:
        raise _too_deep(max_depth)
    return value
