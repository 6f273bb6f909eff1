"""The Sentry tab's wiring: both Sentry checks in thread workers, their results into the pane
and the Overview verdict.

A mixin of CcplateApp, kept apart so app.py stays about the layout and the load run. The checks
themselves are `ccplate_tui.sentry.checks`; workers post `SentryCheckStarted` /
`SentryCheckFinished` and the handlers here own every change to the pane and the verdict.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from textual import work
from textual.worker import get_current_worker

from ccplate_tui.config.model import Config
from ccplate_tui.release.criteria import SentryCapture
from ccplate_tui.release.inputs import sentry_status
from ccplate_tui.sentry.capture import capture_to_json
from ccplate_tui.sentry.checks import (
    MissingSetting,
    capture_check,
    capture_dsn,
    compatibility_check,
)
from ccplate_tui.sentry.compat_report import report_to_json
from ccplate_tui.sentry.dsn import DsnError, mask_dsns
from ccplate_tui.sentry.last_results import CAPTURE_FILE, COMPATIBILITY_FILE, load_result
from ccplate_tui.sentry.npm_registry import registry_for
from ccplate_tui.sentry.packument import PACKAGE, PackumentError
from ccplate_tui.sentry.project_scan import ProjectError
from ccplate_tui.sentry.settings import SentrySettings, resolve_settings
from ccplate_tui.ui.messages import SentryCheckFinished, SentryCheckKind, SentryCheckStarted
from ccplate_tui.ui.sentry_pane import SentryPane

if TYPE_CHECKING:
    from textual.message import Message

T = TypeVar("T")

REGISTRY_TIMEOUT = 20.0
"""Seconds the registry may take to answer (as `ccplate-tui sentry check`)."""
INGEST_TIMEOUT = 10.0
"""Seconds Sentry's ingest may take to answer the test error (as `ccplate-tui sentry verify`)."""
CONFIRM_TIMEOUT = 120.0
"""Seconds to wait for the event to be visible through Sentry's API (with a token)."""
TARGET_WAIT = 40.0
"""Seconds the first compatibility check waits for the demo-target check (it may start it)."""
POLL = 0.05
"""Seconds between a worker's looks at its own cancellation while a check runs."""


class Abandoned(Exception):
    """The worker was cancelled (the app is quitting) before its check ended."""


def wait_or_cancel(event: threading.Event, timeout: float) -> None:
    """Wait for `event` (at most `timeout` s); Abandoned when the current worker is cancelled."""
    worker = get_current_worker()
    deadline = time.monotonic() + timeout
    while not event.wait(POLL):
        if worker.is_cancelled:
            raise Abandoned
        if time.monotonic() > deadline:
            return


def run_abandonable(fn: Callable[[], T], *, name: str) -> T:
    """`fn()` in a daemon thread: its result, or Abandoned when the current worker is cancelled.

    Textual runs thread workers in the event loop's default executor, which asyncio joins when
    the loop closes, and cancelling a worker does not stop its thread: a check blocked on a dead
    registry would hold up quitting for its whole timeout. A daemon thread is never joined; a
    late result is dropped (a finished check has still stored it in the state folder).
    """
    worker = get_current_worker()
    done = threading.Event()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # handed to the worker, which reports it
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name=name, daemon=True).start()
    while not done.wait(POLL):
        if worker.is_cancelled:
            raise Abandoned
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _short_source(source: str, project: Path) -> str:
    try:
        return str(Path(source).relative_to(project))
    except ValueError:
        return source


def compatibility_asking(settings: SentrySettings, *, offline: bool, timeout: float) -> str:
    """What the compatibility check is about to ask, for the pane's "checking…" line."""
    if offline:
        return f"reading {settings.project} and the cached registry answer (offline: no registry)"
    try:
        registry = registry_for(PACKAGE, settings.project, npm=None)  # npm=None: no subprocess
        where = f"{mask_dsns(registry.url)} ({_short_source(registry.source, settings.project)})"
    except Exception:  # the check itself reports a missing registry properly
        where = "npm's configured registry"
    return f"reading {settings.project} and asking {where} for {PACKAGE} (timeout {timeout:g} s)"


def capture_asking(settings: SentrySettings, *, timeout: float, confirm_timeout: float) -> str:
    """Where the test error goes; MissingSetting / DsnError when there is no usable DSN."""
    dsn = capture_dsn(settings)
    origin = f" from {settings.dsn.origin}" if settings.dsn else ""
    text = f"to {dsn.envelope_url} (DSN {dsn.masked()}{origin}, timeout {timeout:g} s)"
    if settings.token is not None:
        text += f"; then looking it up through Sentry's API (up to {confirm_timeout:g} s)"
    return text


def _unexpected(exc: BaseException) -> str:
    return mask_dsns(f"{type(exc).__name__}: {exc}")


class SentryActions:
    """CcplateApp's Sentry checks: stored results on start, one compatibility check after the
    demo-target check, the capture check on request, and the verdict refreshed after each."""

    if TYPE_CHECKING:  # provided by CcplateApp / App
        config: Config
        state_dir: Path
        _target_checked: threading.Event

        def query_one(self, selector: Any, expect_type: Any = None) -> Any: ...
        def post_message(self, message: Message) -> bool: ...
        def _say(self, text: str, **options: object) -> None: ...
        def refresh_verdict(self) -> None: ...

    sentry_registry_timeout: float = REGISTRY_TIMEOUT
    sentry_ingest_timeout: float = INGEST_TIMEOUT
    sentry_confirm_timeout: float = CONFIRM_TIMEOUT

    def _sentry_init(self) -> None:
        self.sentry_capture: SentryCapture | None = sentry_status(self.state_dir)
        """The Sentry checks as the verdict sees them: read at start and when a check ends,
        never per load interval."""
        self._sentry_running: set[SentryCheckKind] = set()
        self._sentry_asked: set[SentryCheckKind] = set()
        """Checks the user started (their end is notified; the start-up check's is not)."""

    @property
    def sentry_pane(self) -> SentryPane:
        return self.query_one("#sentry", SentryPane)

    def _sentry_mount(self) -> None:
        """Show the stored results at once, then start the first compatibility check."""
        pane = self.sentry_pane
        try:
            settings = resolve_settings(self.config.sentry)
            pane.set_project(f"Next.js project: {settings.project} ({settings.project_origin})")
        except Exception as exc:  # the check reports it again, in its card
            pane.set_project(f"Next.js project: unknown ({_unexpected(exc)})")
        pane.show_result(
            "compatibility", load_result(self.state_dir, COMPATIBILITY_FILE), stored=True
        )
        pane.show_result("capture", load_result(self.state_dir, CAPTURE_FILE), stored=True)
        self.check_compatibility(after_target=True)

    # -- starting the checks

    def check_compatibility(self, *, offline: bool = False, after_target: bool = False) -> None:
        """Run the compatibility check in a worker (unless one is running)."""
        if "compatibility" in self._sentry_running:
            self._say("the compatibility check is already running", severity="warning")
            return
        self._sentry_running.add("compatibility")
        if not after_target:
            self._sentry_asked.add("compatibility")
        waiting = after_target and not self._target_checked.is_set()
        self.sentry_pane.set_checking(
            "compatibility", "waiting for the demo target check" if waiting else "starting"
        )
        self._compatibility_worker(offline, after_target)

    def send_test_error(self) -> None:
        """Run the capture check in a worker (unless one is running)."""
        if "capture" in self._sentry_running:
            self._say("a test error is already on its way", severity="warning")
            return
        self._sentry_running.add("capture")
        self._sentry_asked.add("capture")
        self.sentry_pane.set_checking("capture", "starting")
        self._capture_worker()

    @work(
        thread=True,
        exclusive=True,
        group="sentry-compatibility",
        exit_on_error=False,
        name="sentry-compatibility",
    )
    def _compatibility_worker(self, offline: bool, after_target: bool) -> None:
        document: dict[str, Any] | None = None
        error: str | None = None
        try:
            if after_target:  # the demo project's registry lives on the demo target
                wait_or_cancel(self._target_checked, TARGET_WAIT)
            settings = resolve_settings(self.config.sentry)
            timeout = self.sentry_registry_timeout
            asking = compatibility_asking(settings, offline=offline, timeout=timeout)
            self.post_message(SentryCheckStarted("compatibility", asking))
            report = run_abandonable(
                lambda: compatibility_check(
                    settings, self.state_dir, offline=offline, timeout=timeout
                ),
                name="sentry-compatibility-check",
            )
            document = report_to_json(report)
        except Abandoned:
            return
        except ProjectError as exc:
            error = mask_dsns(str(exc))
            if not self.config.sentry.project:
                error += " (set project in the [sentry] table of the config to check another one)"
        except PackumentError as exc:
            error = mask_dsns(str(exc))
        except Exception as exc:  # the app must survive anything a check raises
            error = _unexpected(exc)
        self.post_message(SentryCheckFinished("compatibility", document, error))

    @work(
        thread=True,
        exclusive=True,
        group="sentry-capture",
        exit_on_error=False,
        name="sentry-capture",
    )
    def _capture_worker(self) -> None:
        document: dict[str, Any] | None = None
        error: str | None = None
        try:
            settings = resolve_settings(self.config.sentry)
            timeout, confirm = self.sentry_ingest_timeout, self.sentry_confirm_timeout
            asking = capture_asking(settings, timeout=timeout, confirm_timeout=confirm)
            self.post_message(SentryCheckStarted("capture", asking))
            result = run_abandonable(
                lambda: capture_check(
                    settings, self.state_dir, timeout=timeout, confirm_timeout=confirm
                ),
                name="sentry-capture-check",
            )
            document = capture_to_json(result)
        except Abandoned:
            return
        except (MissingSetting, DsnError) as exc:
            error = mask_dsns(str(exc))
        except Exception as exc:  # the app must survive anything a check raises
            error = _unexpected(exc)
        self.post_message(SentryCheckFinished("capture", document, error))

    # -- the handlers own the pane and the verdict

    def on_sentry_pane_compatibility_requested(
        self, message: SentryPane.CompatibilityRequested
    ) -> None:
        self.check_compatibility(offline=message.offline)

    def on_sentry_pane_capture_requested(self, message: SentryPane.CaptureRequested) -> None:
        self.send_test_error()

    def on_sentry_check_started(self, message: SentryCheckStarted) -> None:
        self.sentry_pane.set_checking(message.kind, message.asking)

    def on_sentry_check_finished(self, message: SentryCheckFinished) -> None:
        self._sentry_running.discard(message.kind)
        asked = message.kind in self._sentry_asked
        self._sentry_asked.discard(message.kind)
        pane = self.sentry_pane
        if message.document is None:
            pane.show_error(message.kind, message.error or "the check ended without a result")
        else:
            pane.show_result(message.kind, message.document)
        # The check stored its result: the verdict reads it once, here.
        self.sentry_capture = sentry_status(self.state_dir)
        self.refresh_verdict()
        if asked:  # the start-up check speaks only in its tab
            self._say(_finished_notice(message), severity=_finished_severity(message))


def _finished_notice(message: SentryCheckFinished) -> str:
    doc = message.document
    if message.kind == "compatibility":
        if doc is None:
            return "compatibility check failed: see the Sentry tab"
        return f"Sentry compatibility: {str(doc.get('verdict', 'unknown')).upper()}"
    if doc is None:
        return "capture check failed: see the Sentry tab"
    status = doc.get("status")
    got = f"HTTP {status}" if status is not None else "no answer"
    return f"test error {'delivered' if doc.get('delivered') else 'NOT delivered'} ({got})"


def _finished_severity(message: SentryCheckFinished) -> str:
    doc = message.document
    if doc is None:
        return "error"
    if message.kind == "compatibility":
        return "information" if doc.get("verdict") == "supported" else "warning"
    return "information" if doc.get("delivered") else "error"
