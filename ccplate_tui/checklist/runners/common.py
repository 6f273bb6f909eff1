"""Small helpers the runners share: TOML-safe evidence, secrets to mask, cancellable waits."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from ccplate_tui.masking import secret_env_values

T = TypeVar("T")

AMBIENT_MIN_LENGTH = 8
"""Secret-named variables of our own environment are masked only from this length on: short
values (`true`, `1`) of such names are flags, and masking them would shred the output."""


def clean_evidence(value: Any) -> Any:
    """A TOML-serialisable copy: None dropped, tuples as lists, non-finite floats as text."""
    if isinstance(value, Mapping):
        return {str(k): clean_evidence(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [clean_evidence(v) for v in value if v is not None]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def ambient_secrets(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Values of this process's secret-named environment variables (SENTRY_AUTH_TOKEN…).

    A command inherits them, so whatever it prints of them is masked too.
    """
    environ = os.environ if env is None else env
    return tuple(v for v in secret_env_values(environ.items()) if len(v) >= AMBIENT_MIN_LENGTH)


def secrets_of(pairs: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """Values of the secret-named pairs (env entries, headers) plus the ambient secrets."""
    return (*secret_env_values(pairs), *ambient_secrets())


def seconds(value: float) -> str:
    """`0.4 s`, `12 s`, `3 min 5 s`: short and readable in a summary line."""
    if value < 10:
        return f"{value:.1f} s"
    if value < 120:
        return f"{value:.0f} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


class Cancelled(Exception):
    """The operator cancelled while a blocking call was still running."""


def call_cancellable(
    fn: Callable[[], T], cancel: threading.Event, *, poll: float = 0.05, name: str = "runner"
) -> T:
    """Run a blocking call in a daemon thread and wait for it or for `cancel`.

    Raises Cancelled when cancel is set first (the call is abandoned and ends on its own
    timeout); re-raises whatever the call raised.
    """
    done = threading.Event()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the waiting thread
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name=f"ccplate-{name}", daemon=True).start()
    while not done.wait(poll):
        if cancel.is_set():
            raise Cancelled
    if "error" in box:
        raise box["error"]
    return box["value"]
