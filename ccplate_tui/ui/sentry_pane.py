"""The Sentry tab: the two Sentry checks, what each will show, and that neither has run yet.

Honest placeholders: the compatibility check (`ccplate-tui sentry check`) and the capture check
(`ccplate-tui sentry verify`) fill this tab when they exist. Until then it says so, and invents
no versions, verdicts or event ids.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

NOT_RUN = "not run yet"


@dataclass(frozen=True)
class SentryCheck:
    """One check as the tab describes it before it exists."""

    key: str
    title: str
    question: str
    command: str
    will_show: tuple[str, ...]


CHECKS: tuple[SentryCheck, ...] = (
    SentryCheck(
        key="compatibility",
        title="Compatibility check",
        question="Does @sentry/nextjs support this app's Next.js version?",
        command="ccplate-tui sentry check [--project PATH] [--json] [--offline]",
        will_show=(
            "the verdict in one line: supported, upgrade (with the exact npm install command), "
            "partial (feature-flag advice) or unsupported (the plan's alternatives)",
            "installed next and @sentry/nextjs, and where each came from, against the first and "
            "newest supporting versions and the latest",
            "the 'TODO: Re-enable when @sentry/nextjs supports Next.js 16' markers, as file:line",
            "which of SENTRY_DSN, SENTRY_ORG, SENTRY_PROJECT, NEXT_PUBLIC_SENTRY_DSN "
            ".env.example has",
            "whether instrumentation.ts calls the Sentry init and the error boundary reports "
            "to Sentry",
        ),
    ),
    SentryCheck(
        key="capture",
        title="Capture check",
        question="Does Sentry really receive our errors?",
        command="ccplate-tui sentry verify [--dsn DSN] [--api-token T --org O --project P]",
        will_show=(
            "a test error sent to the DSN, counted as delivered only when Sentry's ingest answers "
            "200 naming the event id (an event id alone proves nothing)",
            "the event id and the ingest's HTTP status, with 401/403, 404, 413, 429 and "
            "connection failures explained",
            "with an API token: the event confirmed visible in the project, and its issue link",
            "the DSN key and the token masked wherever they appear",
        ),
    ),
)

FOOTNOTE = (
    "Neither check is in this build yet. Until the capture check has run, the Overview keeps "
    "'Error tracking' UNKNOWN and the release at NO-GO."
)


class SentryCheckCard(Vertical):
    """One check: its question, the command that runs it, its status, and what it will show."""

    DEFAULT_CSS = """
    SentryCheckCard {
        height: auto;
        margin-bottom: 1;
        padding: 0 1;
        border: round $border;
        border-title-color: $text-accent;
        border-title-style: bold;
    }
    SentryCheckCard > .question { text-style: bold; }
    SentryCheckCard > .command { color: $text-primary; }
    SentryCheckCard > .status { color: $text-warning; text-style: bold; margin-bottom: 1; }
    SentryCheckCard > .will-show { color: $text-muted; }
    """

    def __init__(self, check: SentryCheck) -> None:
        super().__init__(id=f"check-{check.key}")
        self.check = check
        self.border_title = check.title

    def compose(self) -> ComposeResult:
        c = self.check
        yield Static(c.question, markup=False, classes="question")
        yield Static(f"Command: {c.command}", markup=False, classes="command")
        yield Static(f"Status:  ○ {NOT_RUN}", markup=False, classes="status")
        yield Static("When it has run, this shows:", classes="will-show")
        yield Static("\n".join(f"• {line}" for line in c.will_show), markup=False, classes="items")


class SentryPane(VerticalScroll):
    """Both Sentry checks as they stand now: not run, with what each will report."""

    DEFAULT_CSS = """
    SentryPane {
        height: 1fr;
        padding: 1 2;
    }
    SentryPane > #sentry-intro { margin-bottom: 1; text-style: bold; }
    SentryPane > #sentry-note { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = "sentry") -> None:
        super().__init__(id=id)

    def compose(self) -> ComposeResult:
        yield Static(
            "Error tracking (plan phase 4.1): is Sentry compatible with the app, "
            "and does it really receive our errors?",
            id="sentry-intro",
        )
        for check in CHECKS:
            yield SentryCheckCard(check)
        yield Static(FOOTNOTE, id="sentry-note")
