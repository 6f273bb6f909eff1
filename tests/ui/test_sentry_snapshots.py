"""Snapshots of the Sentry tab from fixed check documents, at 140x45 in ccplate-dark, and at
80x24, 120x40 and 200x60.

The documents have the shapes `report_to_json` and `capture_to_json` produce (what the state
folder keeps), with fixed timestamps and event ids, so the pictures are the same on every run.
Accept a deliberate change with `pytest --snapshot-update` and look at the SVG before keeping it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

import ccplate_tui.ui
from ccplate_tui.ui.sentry_pane import SentryPane
from ccplate_tui.ui.themes import load_theme_file
from tests.ui.overview_fixtures import SIZES, PaneApp

SIZE = (140, 45)
DARK = Path(ccplate_tui.ui.__file__).parent / "themes" / "ccplate-dark.toml"

EVENT_ID = "5f0c1d2e3a4b4c5d8e9f00112233aabb"

_TODOS = [
    {
        "file": "src/components/error-boundary.tsx",
        "line": 22,
        "text": '// TODO: report to Sentry (captureError from "@/lib/sentry") once it is re-enabled',
    },
    {
        "file": "src/instrumentation.ts",
        "line": 1,
        "text": "// TODO: Re-enable when @sentry/nextjs supports Next.js 16",
    },
    {
        "file": "src/lib/sentry.ts",
        "line": 1,
        "text": "// TODO: Re-enable when @sentry/nextjs supports Next.js 16",
    },
]

UPGRADE_REPORT: dict[str, Any] = {
    "verdict": "upgrade",
    "exit_code": 3,
    "headline": (
        "Sentry supports Next.js 16.1.4 from @sentry/nextjs 10.20.0; this app has 8.55.0: "
        "upgrade to 11.8.0"
    ),
    "project": {"root": "/srv/ccplate", "name": "ccplate"},
    "installed": {
        "next": {
            "version": "16.1.4",
            "declared": "16.1.4",
            "source": "package-lock",
            "source_path": "package-lock.json",
            "peer_next": None,
            "engines_node": ">=20.9.0",
        },
        "sentry": {
            "version": "8.55.0",
            "declared": "^8.55.0",
            "source": "package-lock",
            "source_path": "package-lock.json",
            "peer_next": "^13.2.0 || ^14.0 || ^15.0.0-rc.0",
            "engines_node": ">=14.18",
        },
    },
    "next_version": "16.1.4",
    "next_version_note": "",
    "sentry_version": "8.55.0",
    "installed_supports": False,
    "first_supporting": "10.20.0",
    "latest_supporting": "11.8.0",
    "latest": "11.8.0",
    "supporting_count": 75,
    "prerelease_supporting": None,
    "recommended": "11.8.0",
    "install_command": "npm install @sentry/nextjs@11.8.0",
    "engines_conflict": None,
    "deprecated": [],
    "caveats": [],
    "advice": [
        "Install a version that supports Next.js 16.1.4: `npm install @sentry/nextjs@11.8.0`",
        "Re-enable Sentry where TODO markers disable it: src/components/error-boundary.tsx:22, "
        "src/instrumentation.ts:1, src/lib/sentry.ts:1",
        "src/instrumentation.ts does not call initSentry(): call it in register()",
        "Add SENTRY_DSN, SENTRY_ORG, SENTRY_PROJECT, NEXT_PUBLIC_SENTRY_DSN to .env.example",
        "src/components/error-boundary.tsx does not report to Sentry: call captureError() in "
        "componentDidCatch",
        "Send a test error and confirm Sentry receives it: `ccplate-tui sentry verify`",
    ],
    "next_command": "npm install @sentry/nextjs@11.8.0",
    "todo_markers": _TODOS,
    "env_example": {
        "present": [],
        "missing": ["SENTRY_DSN", "SENTRY_ORG", "SENTRY_PROJECT", "NEXT_PUBLIC_SENTRY_DSN"],
    },
    "source": "registry",
    "registry": {
        "url": "http://127.0.0.1:8787/__npm/",
        "source": "/srv/ccplate/.npmrc",
        "fetched_at": "2026-11-26T10:00:00Z",
        "note": "",
    },
    "node": {"version": "22.12.0", "source": ".nvmrc"},
    "instrumentation_calls_init": False,
    "error_boundary_reports": False,
    "turbopack": True,
    "proxy_ts": False,
    "warnings": [],
}
"""CCPLATE as the plan finds it: next 16.1.4 with @sentry/nextjs 8.55.0 in the lockfile."""

UNSUPPORTED_REPORT: dict[str, Any] = {
    **copy.deepcopy(UPGRADE_REPORT),
    "verdict": "unsupported",
    "exit_code": 4,
    "headline": (
        "No @sentry/nextjs version declares support for Next.js 17.0.0 (newest 11.8.0 declares "
        "next ^14.0 || ^15.0.0-rc.0 || ^16.0.0-0): use one of the plan's alternatives"
    ),
    "next_version": "17.0.0",
    "first_supporting": None,
    "latest_supporting": None,
    "supporting_count": 0,
    "recommended": None,
    "install_command": None,
    "next_command": "npm install next@^16",
    "advice": [
        "Stay on or pin a supported Next.js: `npm install next@^16` (a stable Next.js 16 "
        "release, which @sentry/nextjs 11.8.0 declares), then check again",
        "Or wire Sentry without the Next.js SDK: @sentry/node in src/instrumentation.ts for the "
        "server and @sentry/react (or @sentry/browser) in the client, with captureException in "
        "the error boundary",
        "Or use another error monitor, as the plan lists: LogRocket, Datadog, or custom Winston "
        "logging",
        "Risk, only as an explicit, flagged decision: `npm install @sentry/nextjs "
        "--legacy-peer-deps` forces a combination Sentry does not declare; re-verify captures "
        "after every deploy",
    ],
    "source": "cache",
    "registry": {
        "url": "http://127.0.0.1:8787/__npm/",
        "source": "/srv/ccplate/.npmrc",
        "fetched_at": "2026-11-26T10:00:00Z",
        "note": "registry unreachable (ConnectError: [Errno 111] Connection refused); answered "
        "from the cache of 2026-11-26T10:00:00Z",
    },
}
UNSUPPORTED_REPORT["installed"]["next"].update(version="17.0.0", declared="17.0.0")
"""Next.js 17, which no @sentry/nextjs declares, answered from the cache."""

DELIVERED_CAPTURE: dict[str, Any] = {
    "dsn": "http://0a…5d@127.0.0.1:8787/__sentry/1",
    "envelope_url": "http://127.0.0.1:8787/__sentry/api/1/envelope/",
    "event_id": EVENT_ID,
    "tag": f"ccplate_check:{EVENT_ID}",
    "delivered": True,
    "status": 200,
    "answer": {
        "status": 200,
        "body": f'{{"id": "{EVENT_ID}"}}',
        "retry_after": None,
        "rate_limits": None,
        "error": None,
    },
    "explanation": (
        f"delivered: the ingest accepted event {EVENT_ID} (200); look for the issue with tag "
        f"ccplate_check:{EVENT_ID} in Sentry, or confirm it through the API"
    ),
    "sent_at": "2026-11-26T10:05:00Z",
    "sdk": "sentry.python/2.75.0",
    "confirmation": {
        "confirmed": True,
        "attempts": 2,
        "last_status": 200,
        "group_id": "1714618822",
        "issue_url": "http://127.0.0.1:8787/__sentry/organizations/ccplate/issues/1714618822/",
        "date_received": "2026-11-26T10:05:01.250Z",
        "title": "CcplateSentryCheck: ccplate-tui capture check 2026-11-26T10:05:00Z",
        "explanation": (
            "Sentry has the event (2 lookups): issue "
            "http://127.0.0.1:8787/__sentry/organizations/ccplate/issues/1714618822/"
        ),
    },
}
"""A test error the demo ingest accepted and the API then found."""

RATE_LIMITED_CAPTURE: dict[str, Any] = {
    **DELIVERED_CAPTURE,
    "delivered": False,
    "status": 429,
    "answer": {
        "status": 429,
        "body": '{"detail": "event submission rejected with_reason: RateLimited"}',
        "retry_after": 60.0,
        "rate_limits": "60:error;default:organization:quota_exceeded",
        "error": None,
    },
    "explanation": (
        "rate-limited by the ingest (429): retry after 60 s; limited: error, default for 60 s "
        "(organization, quota exceeded); the SDK drops events for that long, so check the "
        "project's quota and spike protection, then re-run the check"
    ),
    "confirmation": None,
}
"""A test error Sentry refused: the organisation's quota is used up."""


def sentry_app(
    compatibility: dict[str, Any] | None, capture: dict[str, Any] | None, *, stored: bool = False
) -> PaneApp:
    pane = SentryPane()
    pane.set_project("Next.js project: /srv/ccplate ([sentry] project)")
    pane.show_result("compatibility", compatibility, stored=stored)
    pane.show_result("capture", capture, stored=stored)
    return PaneApp(pane, load_theme_file(DARK))


def test_upgrade_and_delivered(snap_compare) -> None:
    assert snap_compare(sentry_app(UPGRADE_REPORT, DELIVERED_CAPTURE), terminal_size=SIZE)


def test_unsupported_and_rate_limited(snap_compare) -> None:
    assert snap_compare(sentry_app(UNSUPPORTED_REPORT, RATE_LIMITED_CAPTURE), terminal_size=SIZE)


def test_checking_over_a_stored_result(snap_compare) -> None:
    app = sentry_app(UPGRADE_REPORT, None, stored=True)
    app.pane.set_checking(  # type: ignore[attr-defined]
        "compatibility",
        "reading /srv/ccplate and asking http://127.0.0.1:8787/__npm/ (.npmrc) for "
        "@sentry/nextjs (timeout 20 s)",
    )
    assert snap_compare(app, terminal_size=SIZE)


@pytest.mark.parametrize("size", SIZES)
def test_upgrade_and_delivered_at_size(snap_compare, size: str) -> None:
    """80x24: the cards one above the other, one-line badges; 120x40: side by side, the capture
    card's title without its question; 200x60: both titles whole."""
    app = sentry_app(UPGRADE_REPORT, DELIVERED_CAPTURE)
    assert snap_compare(app, terminal_size=SIZES[size])
