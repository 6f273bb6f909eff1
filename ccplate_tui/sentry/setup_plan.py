"""What `sentry setup` would change in a Next.js project: the plan's tasks 4.1.2 and 4.1.3.

From the compatibility report (the proven @sentry/nextjs version, the "partial" row) and the
wiring report (which error paths do not reach Sentry), compute every file's new text in memory:
package.json, the CCPLATE helpers or the wizard's files, instrumentation (with onRequestError),
client init, global-error, the error boundaries, .env.example. A file whose content setup does
not recognise is left alone, with the reason and the lines to add by hand. Nothing is written
here (setup_command.py writes); a second run over the result plans nothing.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ccplate_tui.sentry import setup_templates as tpl
from ccplate_tui.sentry.compatibility import FEATURE_FLAG_ADVICE, CompatReport
from ccplate_tui.sentry.npm_semver import compare_versions, npm_satisfies, parse_version
from ccplate_tui.sentry.project_scan import SENTRY_NEXTJS, ProjectScan
from ccplate_tui.sentry.setup_edits import Unrecognised, join, lines_of
from ccplate_tui.sentry.setup_wiring import WiringEdits
from ccplate_tui.sentry.wiring import CLIENT_FILE_NEXT, FixLine, WiringReport, assess_wiring

Action = Literal["create", "modify"]
_ASSIGNED = re.compile(r"^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=", re.MULTILINE)


@dataclass(frozen=True)
class FileChange:
    """One file setup writes: its text before (None: a new file) and after, and why."""

    file: str
    action: Action
    before: str | None
    after: str
    reasons: tuple[str, ...]

    @property
    def diff(self) -> str:
        """A unified diff (`a/` and `b/` prefixed, `/dev/null` for a new file)."""
        old = "/dev/null" if self.before is None else f"a/{self.file}"
        lines = difflib.unified_diff(
            (self.before or "").splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            old,
            f"b/{self.file}",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


@dataclass(frozen=True)
class LeftAlone:
    """A file setup did not touch because it does not recognise its content."""

    file: str
    reason: str
    fix: tuple[FixLine, ...] = ()
    """What to add by hand (from the wiring report), when it says."""


@dataclass(frozen=True)
class VersionStep:
    """package.json's @sentry/nextjs: the proven version, or why it stays as it is."""

    declared: str | None
    target: str | None
    """The version setup declares (None: package.json's @sentry/nextjs is left as it is)."""
    spec: str | None
    """What package.json gets: `^11.5.0`, or `11.5.0` when a newer match does not install."""
    proven: bool
    note: str
    install_command: str | None
    """What to run afterwards (None: nothing proven to install)."""


@dataclass(frozen=True)
class SetupPlan:
    root: Path
    layout: str
    next_version: str | None
    sdk_version: str | None
    changes: tuple[FileChange, ...]
    left_alone: tuple[LeftAlone, ...]
    version: VersionStep
    flag: str | None
    """The feature flag init is gated behind (the plan's "partial" row), else None."""
    flag_reasons: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def nothing_to_do(self) -> bool:
        return not self.changes


class Workspace:
    """The project's files as setup would leave them: read once, edited in memory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.originals: dict[str, str | None] = {}
        self.texts: dict[str, str] = {}
        self.reasons: dict[str, list[str]] = {}
        self.refused: dict[str, str] = {}
        self._crlf: dict[str, bool] = {}

    def _load(self, rel: str) -> str | None:
        if rel not in self.originals:
            path = self.root / rel
            if path.is_symlink():
                raise Unrecognised("it is a symbolic link: edit the file it points to by hand")
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                self.originals[rel] = None
                return None
            except OSError as exc:
                raise Unrecognised(f"it cannot be read ({exc.strerror or exc})") from exc
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise Unrecognised(f"it is not UTF-8 text (byte {exc.start})") from exc
            self._crlf[rel] = "\r\n" in text
            self.originals[rel] = text.replace("\r\n", "\n")
        return self.originals[rel]

    def exists(self, rel: str) -> bool:
        return rel in self.texts or (self.root / rel).exists()

    def current(self, rel: str) -> str | None:
        if rel in self.texts:
            return self.texts[rel]
        try:
            return self._load(rel)
        except Unrecognised:
            return None

    def edit(self, rel: str, reason: str, change: Callable[[str], str]) -> bool:
        """Apply `change` to the file's text (an empty text for a new file); on Unrecognised the
        file is left alone, every edit to it dropped. False when the file is refused."""
        if rel in self.refused:
            return False
        try:
            text = self.texts.get(rel)
            if text is None:
                text = self._load(rel) or ""
            new = change(text)
        except Unrecognised as exc:
            self.refuse(rel, str(exc))
            return False
        if new != text:
            self.texts[rel] = new
            self.note(rel, reason)
        return True

    def note(self, rel: str, reason: str) -> None:
        """One more reason for a file setup changes."""
        if reason and rel in self.texts and reason not in self.reasons.setdefault(rel, []):
            self.reasons[rel].append(reason)

    def create(self, rel: str, content: str, reason: str) -> bool:
        if self.exists(rel):
            return self.edit(rel, reason, lambda text: text)
        self.originals[rel] = None
        return self.edit(rel, reason, lambda _: content)

    def refuse(self, rel: str, reason: str) -> None:
        self.refused.setdefault(rel, reason)
        self.texts.pop(rel, None)
        self.reasons.pop(rel, None)

    def changes(self) -> list[FileChange]:
        out = []
        for rel, text in self.texts.items():
            before = self.originals.get(rel)
            if text == before:
                continue
            if self._crlf.get(rel):
                text = text.replace("\n", "\r\n")
                before = before.replace("\n", "\r\n") if before is not None else None
            action: Action = "create" if before is None else "modify"
            out.append(FileChange(rel, action, before, text, tuple(self.reasons.get(rel, ()))))
        return sorted(out, key=lambda c: (c.file != "package.json", c.file))


# --- package.json -------------------------------------------------------------------------------


def version_step(
    scan: ProjectScan, report: CompatReport | None, problem: str | None
) -> VersionStep:
    """Which @sentry/nextjs package.json should declare, only ever a proven one."""
    declared = scan.sentry.declared
    unproven = (
        "the @sentry/nextjs version could not be proven, so package.json is left as it is: "
        "run `ccplate-tui sentry check` with the registry reachable"
    )
    if report is None:
        return VersionStep(declared, None, None, False, f"{unproven} ({problem})", None)
    nv = f"Next.js {report.next_version}"
    command = report.install_command
    fixes_caveat = bool(command) and report.next_command == command
    if report.installed_supports and not fixes_caveat:
        note = f"@sentry/nextjs {report.sentry_version} (installed) already supports {nv}"
        if command and command != "npm install":
            note += f" (optional, not done: `{command}` also does)"
        return VersionStep(declared, None, None, True, note, "npm install")
    if command == "npm install":
        note = f"package.json's {declared} already resolves to {report.sentry_planned}, which supports {nv}"
        return VersionStep(declared, None, None, True, note, "npm install")
    proof = report.install_proof
    target = report.recommended
    if not (command and target and command.endswith(f"@{target}") and proof and proof.ok):
        why = proof.describe() if proof is not None else report.headline
        return VersionStep(declared, None, None, False, f"{unproven} ({why})", None)
    newer_fails = any(
        npm_satisfies(s.version, f"^{target}") and compare_versions(s.version, target) > 0
        for s in report.skipped
    )
    spec = target if newer_fails else f"^{target}"
    already = "package.json already declares it; " if declared == spec else ""
    note = (
        f"{target} is the newest @sentry/nextjs that supports {nv} and installs from the "
        f"project's registry: {already}`{proof.command}` {proof.describe()}"
    )
    if newer_fails:
        note += (
            f"; pinned exactly: ^{target} would let npm pick a newer version that does not install"
        )
    return VersionStep(declared, target, spec, True, note, "npm install")


def set_dependency(text: str, name: str, spec: str) -> str:
    """package.json with `name` declared as `spec`: the one existing entry's value replaced,
    else added to dependencies (only when the file is formatted as npm writes it)."""
    pattern = re.compile(rf'("{re.escape(name)}"\s*:\s*")([^"]*)(")')
    hits = list(pattern.finditer(text))
    if len(hits) > 1:
        raise Unrecognised(f"{name} is named {len(hits)} times (dependencies, overrides, ...)")
    if hits:
        hit = hits[0]
        return text[: hit.start(2)] + spec + text[hit.end(2) :]
    data = json.loads(text)
    indent_match = re.search(r"\n([ \t]+)\"", text)
    indent = indent_match.group(1) if indent_match else "  "
    if json.dumps(data, indent=indent, ensure_ascii=False) + "\n" != text:
        raise Unrecognised(
            f'it is not formatted as npm writes it: add "{name}": "{spec}" to dependencies by hand'
        )
    deps = dict(data.get("dependencies") or {})
    deps[name] = spec
    data["dependencies"] = dict(sorted(deps.items()))
    return json.dumps(data, indent=indent, ensure_ascii=False) + "\n"


# --- .env.example -------------------------------------------------------------------------------


def env_example_edit(text: str, gate: bool) -> str:
    """The plan's Sentry keys (and the feature flag) added to .env.example, those missing only."""
    assigned = set(_ASSIGNED.findall(text))
    lines = lines_of(text)
    wanted = [f"{k}={v}" for k, v in tpl.ENV_KEYS if k not in assigned]
    flags = [f"{k}={v}" for k, v in tpl.FLAG_KEYS if k not in assigned] if gate else []
    if not wanted and not flags:
        return text
    block: list[str] = []
    if wanted and tpl.ENV_HEADER not in lines:
        block.append(tpl.ENV_HEADER)
    block += wanted
    if flags:
        block += [tpl.FLAG_COMMENT, *flags]
    while lines and not lines[-1].strip():
        lines.pop()
    return join([*lines, *([""] if lines else []), *block])


# --- the plan -----------------------------------------------------------------------------------


def _gate(report: CompatReport | None) -> tuple[bool, tuple[str, ...]]:
    """The decision matrix's "partial" row: the report advises feature flags (the missing
    onRequestError cap does not count: setup adds it)."""
    if report is None or FEATURE_FLAG_ADVICE not in report.advice:
        return False, ()
    cap = report.wiring.cap if report.wiring is not None else None
    return True, tuple(c for c in report.caveats if c != cap)


def plan_setup(
    scan: ProjectScan, report: CompatReport | None, *, problem: str | None = None
) -> SetupPlan:
    """Every change setup would make to the scanned project (nothing is written)."""
    if scan.wiring is None:
        raise ValueError("the project scan has no wiring (not read from files)")
    version = version_step(scan, report, problem)
    next_version = (report.next_version if report else None) or parse_version(
        scan.next.version or ""
    )
    sdk = version.target or (report.sentry_version or report.sentry_planned if report else None)
    sdk = sdk or parse_version(scan.sentry.version or "")
    wiring = assess_wiring(scan.wiring, next_version, sdk, turbopack=scan.turbopack)
    gate, gate_reasons = _gate(report)
    ws = Workspace(scan.root)
    if version.spec is not None:
        reason = f"@sentry/nextjs {version.declared or '(not declared)'} -> {version.spec}"
        ws.edit("package.json", reason, lambda t: set_dependency(t, SENTRY_NEXTJS, version.spec))
    modern = next_version is None or compare_versions(next_version, CLIENT_FILE_NEXT) >= 0
    edits = WiringEdits(ws, scan.wiring, wiring, gate=gate, modern=modern)
    edits.run()
    env_reason = "the plan's Sentry keys (task 4.1.2)" + (
        f" and the {tpl.FLAG} feature flag" if gate else ""
    )
    ws.edit(".env.example", env_reason, lambda t: env_example_edit(t, gate))
    left = [LeftAlone(rel, why, _fix_for(wiring, rel)) for rel, why in ws.refused.items()]
    notes = [*edits.notes, *wiring.notes]
    wrapped = scan.wiring.next_config in ws.texts or "next.config.mjs" in ws.texts
    if wiring.build.status != "ok" and not wrapped:
        notes.append(
            "optional, not done: withSentryConfig in next.config uploads source maps (readable "
            "stack traces); `ccplate-tui sentry check` shows the lines"
        )
    return SetupPlan(
        root=scan.root,
        layout=wiring.layout,
        next_version=next_version,
        sdk_version=sdk,
        changes=tuple(ws.changes()),
        left_alone=tuple(sorted(left, key=lambda x: x.file)),
        version=version,
        flag=tpl.FLAG if gate else None,
        flag_reasons=gate_reasons,
        notes=tuple(dict.fromkeys(notes)),
    )


def _fix_for(wiring: WiringReport, rel: str) -> tuple[FixLine, ...]:
    lines = [f for p in (*wiring.paths, wiring.build) for f in p.fix if f.file == rel]
    return tuple(dict.fromkeys(lines))


def default_mode() -> int:
    """The mode a new file gets: 0666 less the umask, as an editor would create it."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask
