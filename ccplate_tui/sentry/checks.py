"""The two Sentry checks end to end, shared by the CLI and the Sentry tab.

Each reads its inputs from SentrySettings, does its network work with bounded timeouts, stores
its (masked) result in the state folder, and returns the result; nothing here prints.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ccplate_tui.sentry.capture import CaptureResult, capture_to_json, send_test_error
from ccplate_tui.sentry.compat_report import report_to_json
from ccplate_tui.sentry.compatibility import CompatReport, assess
from ccplate_tui.sentry.dsn import Dsn, parse_dsn
from ccplate_tui.sentry.event_lookup import api_base_for, confirm_event
from ccplate_tui.sentry.install_proof import InstallProver
from ccplate_tui.sentry.last_results import CAPTURE_FILE, COMPATIBILITY_FILE, save_result
from ccplate_tui.sentry.packument import PACKAGE, Packument, PackumentError, load_packument
from ccplate_tui.sentry.project_scan import NEXT, ProjectScan, scan_project
from ccplate_tui.sentry.settings import SentrySettings


class MissingSetting(ValueError):
    """An input the check needs is not given anywhere; the message says where it may come from."""


def cache_dir(state_dir: Path) -> Path:
    return state_dir / "cache"


def _next_packument(
    scan: ProjectScan, state_dir: Path, *, offline: bool, timeout: float
) -> Packument | None:
    """The `next` packument when next is only declared (to read what npm would install)."""
    if scan.next.version or not scan.next.declared:
        return None
    try:
        return load_packument(
            NEXT, scan.root, cache_dir(state_dir), offline=offline, timeout=timeout
        )
    except PackumentError:
        return None  # the report says next's version is unknown, and why


def compatibility_check(
    settings: SentrySettings,
    state_dir: Path,
    *,
    offline: bool = False,
    timeout: float = 20.0,
    prove: bool = True,
) -> CompatReport:
    """Scan the project, ask the registry (or the cache), decide, and store the report.

    With `prove`, a proposed `npm install` is proven first (npm dry-runs, bounded in number
    and time). Raises ProjectError for an unreadable project and PackumentError when no source
    answered.
    """
    scan = scan_project(settings.project)
    packument = load_packument(
        PACKAGE,
        scan.root,
        cache_dir(state_dir),
        offline=offline,
        timeout=timeout,
        installed=scan.sentry,
    )
    report = assess(
        scan,
        packument,
        next_packument=_next_packument(scan, state_dir, offline=offline, timeout=timeout),
        prover=InstallProver(
            scan.root, packument, cache_dir(state_dir), offline=offline, timeout=timeout
        )
        if prove
        else None,
    )
    save_result(state_dir, COMPATIBILITY_FILE, report_to_json(report))
    return report


def capture_dsn(settings: SentrySettings) -> Dsn:
    """The DSN to test; MissingSetting when none is given, DsnError when it is malformed."""
    if settings.dsn is None:
        raise MissingSetting(
            "no DSN: pass --dsn, set SENTRY_DSN, add dsn to [sentry] in scenarios.toml, or put "
            f"SENTRY_DSN in {settings.project / '.env.local'}"
        )
    return parse_dsn(settings.dsn.value)


def confirmation_inputs(settings: SentrySettings) -> tuple[str, str, str] | None:
    """(token, org, project slug) when a token is given; MissingSetting when it lacks the rest."""
    if settings.token is None:
        return None
    missing = [
        name
        for name, setting in (("--org", settings.org), ("--project", settings.project_slug))
        if setting is None
    ]
    if missing:
        raise MissingSetting(
            f"an API token needs {' and '.join(missing)} (or SENTRY_ORG / SENTRY_PROJECT, or "
            "org / project_slug in [sentry]) to find the event"
        )
    assert settings.org is not None and settings.project_slug is not None
    return settings.token.value, settings.org.value, settings.project_slug.value


def capture_check(
    settings: SentrySettings,
    state_dir: Path,
    *,
    timeout: float = 10.0,
    confirm_timeout: float = 120.0,
) -> CaptureResult:
    """Send a test error through sentry-sdk, confirm it through the API when a token is given,
    and store the result. Raises MissingSetting or DsnError before sending anything."""
    dsn = capture_dsn(settings)
    confirm = confirmation_inputs(settings)
    result = send_test_error(dsn, timeout=timeout)
    if confirm is not None and result.delivered:
        token, org, project = confirm
        base = settings.api_url.value if settings.api_url else api_base_for(dsn)
        confirmation = confirm_event(
            base.rstrip("/"), token, org, project, result.event_id, timeout=confirm_timeout
        )
        result = replace(result, confirmation=confirmation)
    save_result(state_dir, CAPTURE_FILE, capture_to_json(result))
    return result


def capture_passed(result: CaptureResult, *, token_given: bool) -> bool:
    """Delivered, and confirmed in Sentry when a token was given to look it up."""
    if not result.delivered:
        return False
    if token_given:
        return result.confirmation is not None and result.confirmation.confirmed
    return True
