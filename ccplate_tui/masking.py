"""Mask secrets in any text the tool shows or stores: evidence, reports, status lines.

Conservative by design: a masked word too many is harmless, a leaked token is not. Every function
here is idempotent (masking masked text changes nothing).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ccplate_tui.sentry.dsn import mask_dsns

MASK = "***"
MIN_EXTRA_LENGTH = 4
"""Shorter literal values are not replaced wherever they occur: they would shred the text."""

_SECRET_WORD = (
    r"(?:token|passw(?:or)?d|passwd|pwd|secret|credentials?|"
    r"(?:api|access|private|auth|sentry|client|signing|encryption)[_-]?key|apikey)"
)
_NAME = rf"[A-Za-z0-9_.-]*{_SECRET_WORD}[A-Za-z0-9_.-]*"

_BEARER = re.compile(r"\b(Bearer)(\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)

_HEADER = re.compile(
    r"""(?P<lead>(?P<kq>["']?)\b(?:proxy-)?(?:authorization|cookie|set-cookie|x-api-key|"""
    r"""x-auth-token|x-sentry-auth)(?P=kq)\s*[:=]\s*)"""
    r"""(?:(?P<q>["'])(?:\\.|(?!(?P=q))[^\\\r\n])*(?P=q)|[^\r\n"']+)""",
    re.IGNORECASE,
)

_ASSIGNMENT = re.compile(
    rf"""(?P<lead>(?P<kq>["']?)\b(?P<name>{_NAME})(?P=kq)[ \t]*[:=][ \t]*)"""
    r"""(?:(?P<q>["'])(?:\\.|(?!(?P=q))[^\\\r\n])*(?P=q)|[^\s,;&'"}\])]+)""",
    re.IGNORECASE,
)

_FLAG = re.compile(rf"(?P<lead>(?<![\w-])--?{_NAME}[ \t]+)(?P<value>[^\s-]\S*)", re.IGNORECASE)

_KNOWN_TOKENS = re.compile(
    r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|npm_[A-Za-z0-9]{20,}|"
    r"sntr[ysu]_[A-Za-z0-9+/=_-]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|"
    r"AKIA[0-9A-Z]{16}|sk_(?:live|test)_[A-Za-z0-9]{16,})"
)

_SECRET_ENV_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|KEY|DSN|CREDENTIAL|AUTH", re.I)


def _masked_value(match: re.Match[str]) -> str:
    quote = match.group("q")
    return f"{match.group('lead')}{quote or ''}{MASK}{quote or ''}"


def mask_secrets(text: str, extra: Iterable[str] = ()) -> str:
    """Mask DSN keys, bearer tokens, auth headers, secret-named assignments (shell,
    URL query, JSON, YAML, npm `_authToken=`), secret-named flags, URL passwords, well-known
    token formats, and every literal value of `extra` (at least 4 characters long)."""
    if not text:
        return text
    values = sorted(
        {v for v in extra if len(v) >= MIN_EXTRA_LENGTH and v.strip("*…")},
        key=len,
        reverse=True,
    )
    for value in values:
        text = text.replace(value, MASK)
    text = mask_dsns(text)
    text = _HEADER.sub(_masked_value, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _ASSIGNMENT.sub(_masked_value, text)
    text = _FLAG.sub(lambda m: f"{m.group('lead')}{MASK}", text)
    return _KNOWN_TOKENS.sub(MASK, text)


def mask_argv(argv: Sequence[str], extra: Iterable[str] = ()) -> tuple[str, ...]:
    """Mask each argument; the value after a secret-named flag (`--token abc`) is masked whole."""
    extra = tuple(extra)
    masked: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next and not arg.startswith("-"):
            masked.append(MASK)
            hide_next = False
            continue
        hide_next = bool(re.fullmatch(rf"--?{_NAME}", arg, re.IGNORECASE))
        masked.append(mask_secrets(arg, extra))
    return tuple(masked)


def secret_env_values(env: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The values of environment variables whose names say they are secret (TOKEN, KEY, DSN…)."""
    return tuple(value for name, value in env if value and _SECRET_ENV_NAME.search(name))
