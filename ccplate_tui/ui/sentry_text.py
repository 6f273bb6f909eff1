"""What the Sentry tab says about a check: badges, headlines, status lines and fact rows.

Pure functions of the JSON documents the checks store (`report_to_json`, `capture_to_json`) and
of a `CheckView`; no widgets, so the cards in `sentry_pane` stay about layout. Stored documents
may be old or hand-edited: no shape is trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from textual.content import Content

from ccplate_tui.ui.sentry_wiring import wiring_of

Tone = Literal["success", "warning", "error", "busy", "idle"]
Document = Mapping[str, Any]

VERDICT_BADGES: dict[str, tuple[str, Tone]] = {
    "supported": ("SUPPORTED", "success"),
    "upgrade": ("UPGRADE", "warning"),
    "partial": ("PARTIAL", "warning"),
    "unsupported": ("UNSUPPORTED", "error"),
}
"""The compatibility verdict as the badge shows it, and the theme colour behind it."""

SENTRY_KEYS = ("SENTRY_DSN", "SENTRY_ORG", "SENTRY_PROJECT", "NEXT_PUBLIC_SENTRY_DSN")
"""The keys `.env.example` is checked for, in the order the report lists them."""

OK = "$text-success"
BAD = "$text-error"
MUTED = "$text-muted"


@dataclass(frozen=True)
class CheckView:
    """What one check's card shows: its last result and what is happening now."""

    document: Document | None = None
    """The last result (`report_to_json` / `capture_to_json` shape), or None when never run."""
    stored: bool = False
    """True when `document` was stored by an earlier session (not run since this app started)."""
    checking: str | None = None
    """While a check runs: what it is asking, e.g. the registry URL."""
    error: str | None = None
    """Why the latest attempt did not produce a result (the previous result stays shown)."""


# -- reading the documents (stored files may be old or hand-edited: never trust a shape)


def as_text(value: object) -> str:
    """A document field as text: "" for a missing one."""
    return "" if value is None else str(value)


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _yes_no(value: object, yes: str, no: str, unknown: str) -> Content:
    if value is True:
        return Content.styled(f"✓ {yes}", OK)
    if value is False:
        return Content.styled(f"✗ {no}", BAD)
    return Content.styled(unknown, MUTED)


# -- the compatibility card


def compat_badge(view: CheckView) -> tuple[str, Tone]:
    if view.checking is not None:
        return "CHECKING…", "busy"
    if view.error is not None:
        return "ERROR", "error"
    if view.document is None:
        return "NOT RUN", "idle"
    return VERDICT_BADGES.get(as_text(view.document.get("verdict")), ("UNKNOWN", "idle"))


def compat_headline(view: CheckView) -> str:
    if view.checking is not None:
        return f"Checking… {view.checking}"
    if view.error is not None:
        return f"The compatibility check could not finish: {view.error}"
    if view.document is None:
        return "Does @sentry/nextjs support this app's Next.js? Press c to check."
    return as_text(view.document.get("headline")) or "The report has no headline."


def compat_status(view: CheckView) -> str:
    """Where the shown answer came from, and whether it is older than this session."""
    doc = view.document
    if doc is None:
        return ""
    verdict = VERDICT_BADGES.get(as_text(doc.get("verdict")), ("UNKNOWN", "idle"))[0]
    if view.checking is not None or view.error is not None:
        earlier = ", stored by an earlier session" if view.stored else ""
        return f"Below: the previous result ({verdict}{earlier})."
    registry = _dict(doc.get("registry"))
    source = as_text(doc.get("source"))
    url = as_text(registry.get("url"))
    when = as_text(registry.get("fetched_at"))
    if source == "registry":
        answer = f"Answer from the registry {url}" if url else "Answer from the registry"
    elif source == "cache":
        answer = f"Answer from the cache of {url}" if url else "Answer from the cache"
    elif source == "node_modules":
        answer = "Answer from the installed package only (no registry, no cache)"
    else:
        answer = "Answer from an unknown source"
    if when and source != "node_modules":
        answer += f" at {when}"
    note = as_text(registry.get("note"))
    text = answer + (f" ({note})" if note else "")
    return f"Stored result of an earlier check. {text}" if view.stored else text


def _package_row(name: str, installed: Mapping[str, Any]) -> tuple[str, str, Content]:
    version = as_text(installed.get("version"))
    declared = as_text(installed.get("declared"))
    where = as_text(installed.get("source_path"))
    if installed.get("source") == "missing" or (not version and not declared):
        return name, "—", Content.styled("not installed", BAD)
    if not version:
        return name, "—", Content(f"not installed; package.json declares {declared}")
    return name, version, Content(f"from {where}" if where else "installed")


def version_rows(doc: Document) -> list[tuple[str, str, Content]]:
    """Installed next and @sentry/nextjs against the first / newest supporting and the latest."""
    installed = _dict(doc.get("installed"))
    next_version = as_text(doc.get("next_version")) or "this next"
    rows = [_package_row("next", _dict(installed.get("next")))]
    name, version, note = _package_row("@sentry/nextjs", _dict(installed.get("sentry")))
    supports = doc.get("installed_supports")
    if supports is True:
        note = Content.assemble((f"✓ supports {next_version}", OK), " · ", note)
    elif supports is False:
        note = Content.assemble((f"✗ does not support {next_version}", BAD), " · ", note)
    rows.append((name, version, note))
    count = doc.get("supporting_count")
    first = as_text(doc.get("first_supporting"))
    newest = as_text(doc.get("latest_supporting"))
    if first or newest:
        rows.append(
            ("first supporting", first or "—", Content("the first stable release that does"))
        )
        many = (
            f"{count} stable releases support next {next_version}" if isinstance(count, int) else ""
        )
        rows.append(("newest supporting", newest or "—", Content(many)))
    else:
        rows.append(
            (
                "supporting",
                "none",
                Content.styled(f"no stable release supports {next_version}", BAD),
            )
        )
    pre = as_text(doc.get("prerelease_supporting"))
    if pre:
        rows.append(("pre-release", pre, Content("the newest pre-release that does")))
    rows.append(("latest", as_text(doc.get("latest")) or "—", Content("dist-tags.latest")))
    recommended = as_text(doc.get("recommended"))
    if recommended:
        rows.append(("recommended", recommended, Content("what to install")))
    return rows


def todo_rows(doc: Document) -> list[tuple[str, Content]]:
    """Each TODO marker that disables Sentry, as `file:line` and its comment."""
    rows = []
    for marker in _list(doc.get("todo_markers")):
        m = _dict(marker)
        rows.append(
            (f"{as_text(m.get('file'))}:{as_text(m.get('line'))}", Content(as_text(m.get("text"))))
        )
    return rows


def env_line(doc: Document) -> Content:
    """Which Sentry keys `.env.example` has (✓) and lacks (✗)."""
    env = doc.get("env_example")
    if not isinstance(env, Mapping):
        return Content.styled("no .env.example in the project", BAD)
    present = {as_text(k) for k in _list(env.get("present"))}
    missing = {as_text(k) for k in _list(env.get("missing"))}
    parts: list[Content | tuple[str, str] | str] = []
    for key in [k for k in SENTRY_KEYS if k in present or k in missing] or sorted(present):
        if parts:
            parts.append(" ")
        parts.append(("✓ " + key, OK) if key in present else ("✗ " + key, BAD))
    if present and not missing:
        parts.append(("  (all present)", MUTED))
    return Content.assemble(*parts)


def wiring_rows(doc: Document) -> list[tuple[str, Content]]:
    """Whether the project is wired to Sentry: env keys, the init call, the error boundary.

    A document with a wiring report shows only the env keys here: WiringView has the rest.
    """
    init = doc.get("instrumentation_calls_init")
    boundary = doc.get("error_boundary_reports")
    if wiring_of(doc) is not None:
        return [(".env.example", env_line(doc))]
    return [
        (".env.example", env_line(doc)),
        (
            "init call",
            _yes_no(
                init,
                "instrumentation calls the Sentry init",
                "instrumentation does not call the Sentry init",
                "no instrumentation file",
            ),
        ),
        (
            "error boundary",
            _yes_no(
                boundary, "reports to Sentry", "does not report to Sentry", "no error boundary"
            ),
        ),
    ]


def warning_lines(doc: Document) -> list[str]:
    """Caveats, engine conflicts and deprecations: the reasons to be careful."""
    lines = [f"⚠ {c}" for c in _list(doc.get("caveats"))]
    if doc.get("engines_conflict"):
        lines.append(f"⚠ {doc['engines_conflict']}")
    lines += [f"⚠ deprecated: {d}" for d in _list(doc.get("deprecated"))]
    lines += [f"⚠ {w}" for w in _list(doc.get("warnings"))]
    return lines


def advice_lines(doc: Document) -> list[str]:
    return [f"{i}. {a}" for i, a in enumerate(_list(doc.get("advice")), 1)]


# -- the capture card


def capture_badge(view: CheckView) -> tuple[str, Tone]:
    if view.checking is not None:
        return "SENDING…", "busy"
    if view.error is not None:
        return "ERROR", "error"
    doc = view.document
    if doc is None:
        return "NOT RUN", "idle"
    if not doc.get("delivered"):
        return "NOT DELIVERED", "error"
    confirmation = doc.get("confirmation")
    if isinstance(confirmation, Mapping) and not confirmation.get("confirmed"):
        return "NOT CONFIRMED", "warning"
    return "DELIVERED", "success"


def capture_headline(view: CheckView) -> str:
    if view.checking is not None:
        return f"Sending a test error… {view.checking}"
    if view.error is not None:
        return f"The capture check could not run: {view.error}"
    doc = view.document
    if doc is None:
        return "Does Sentry really receive our errors? Press v to send a test error."
    status = doc.get("status")
    confirmation = doc.get("confirmation")
    if doc.get("delivered"):
        if isinstance(confirmation, Mapping):
            if confirmation.get("confirmed"):
                return "Sentry received the test error and shows it in the project"
            return "Delivered (HTTP 200), but the event was not found through Sentry's API"
        return "Sentry's ingest accepted the test error (HTTP 200 naming its event id)"
    if status is None:
        return "Not delivered: no answer from the ingest"
    return f"Not delivered: the ingest answered HTTP {status}"


def capture_status(view: CheckView) -> str:
    doc = view.document
    if doc is None:
        return ""
    if view.checking is not None or view.error is not None:
        word = capture_badge(replace(view, checking=None, error=None))[0]
        earlier = ", stored by an earlier session" if view.stored else ""
        return f"Below: the previous result ({word}{earlier})."
    sent = as_text(doc.get("sent_at"))
    text = f"Sent at {sent}" + (f" with {doc['sdk']}" if doc.get("sdk") else "")
    return f"Stored result of an earlier check. {text}" if view.stored else text


def capture_rows(doc: Document) -> list[tuple[str, Content]]:
    """The evidence: event id, the ingest's answer, where it went, and the API lookup."""
    answer = _dict(doc.get("answer"))
    status = doc.get("status", answer.get("status"))
    body = " ".join(as_text(answer.get("body")).split())
    if status is None:
        got = Content.assemble(
            ("no HTTP answer", BAD), f"  {as_text(answer.get('error'))}".rstrip()
        )
    else:
        style = OK if status == 200 else BAD
        short = body[:120] + ("…" if len(body) > 120 else "")
        got = Content.assemble((f"HTTP {status}", f"bold {style}"), f"  {short}".rstrip())
    rows = [
        ("Event id", Content.styled(as_text(doc.get("event_id")), "bold")),
        ("Ingest", got),
        ("Envelope", Content(as_text(doc.get("envelope_url")))),
        ("DSN", Content(as_text(doc.get("dsn")))),
    ]
    retry = answer.get("retry_after")
    if isinstance(retry, (int, float)):
        rows.append(("Retry-After", Content(f"{retry:g} s")))
    elif retry is not None:
        rows.append(("Retry-After", Content(as_text(retry))))
    if answer.get("rate_limits"):
        rows.append(("Rate limits", Content(as_text(answer["rate_limits"]))))
    confirmation = doc.get("confirmation")
    if isinstance(confirmation, Mapping):
        attempts = confirmation.get("attempts")
        tries = f" after {attempts} lookup{'s' if attempts != 1 else ''}" if attempts else ""
        if confirmation.get("confirmed"):
            found = Content.assemble(("confirmed", f"bold {OK}"), tries)
            when = as_text(confirmation.get("date_received"))
            rows.append(("In Sentry", found + (f", received {when}" if when else "")))
            if confirmation.get("issue_url"):
                rows.append(("Issue", Content(as_text(confirmation["issue_url"]))))
        else:
            last = confirmation.get("last_status")
            rows.append(
                (
                    "In Sentry",
                    Content.assemble(
                        ("not found", f"bold {BAD}"),
                        tries + (f" (last answer {last})" if last is not None else ""),
                    ),
                )
            )
    elif doc.get("delivered"):
        rows.append(
            (
                "In Sentry",
                Content.styled(
                    "not looked up: set SENTRY_AUTH_TOKEN (project:read), SENTRY_ORG and "
                    "SENTRY_PROJECT to confirm through the API",
                    MUTED,
                ),
            )
        )
    return rows


def capture_notes(doc: Document) -> list[str]:
    """The explanations: what happened and what to do."""
    notes = [f"→ {doc['explanation']}"] if doc.get("explanation") else []
    confirmation = doc.get("confirmation")
    if isinstance(confirmation, Mapping) and confirmation.get("explanation"):
        notes.append(f"→ {confirmation['explanation']}")
    return notes
