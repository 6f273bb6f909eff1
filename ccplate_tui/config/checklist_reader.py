"""Reads scenarios.toml's `[checklist]` into the checklist model, rejecting anything unexpected.

A typo in a deploy checklist must never silently skip a check, so unknown keys, keys of another
step kind and bad values are ConfigErrors naming the file, line, column and key path.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ccplate_tui.checklist.model import (
    ANYONE,
    GATES,
    STEP_KINDS,
    Checklist,
    CommandSpec,
    HttpProbe,
    Phase,
    Step,
)
from ccplate_tui.config.errors import KeyPath
from ccplate_tui.config.reader import TomlReader, describe_value, scalar_text

__all__ = ["STEP_KEYS", "ChecklistReader"]

_COMMON_KEYS = ("id", "title", "kind", "help", "required", "approvers")
_HTTP_KEYS = (
    "url", "method", "expect_status", "body_contains", "body_matches", "headers", "timeout",
)  # fmt: skip
_COMMAND_KEYS = ("argv", "shell", "cwd", "env", "timeout")
STEP_KEYS: dict[str, tuple[str, ...]] = {
    "manual": (),
    "command": _COMMAND_KEYS,
    "http": _HTTP_KEYS,
    "sentry": ("check",),
    "load": ("scenario", "max_age", "time_scale"),
    "timer": ("duration", "every", "probes"),
}
"""The keys each step kind takes besides the common ones (`id`, `title`, `kind`, …)."""

_PHASE_KEYS = ("id", "title", "gate", "steps")
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_ID = re.compile(r"[A-Za-z0-9_-]+")
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SENTRY_CHECKS = ("capture", "compatibility")


class ChecklistReader(TomlReader):
    """The `[checklist]` part of the loader; `_Loader` inherits it."""

    def checklist(
        self, value: Any, path: KeyPath, base_url: str, runnable: Collection[str]
    ) -> Checklist:
        """Read `[checklist]`; `runnable` are the scenario and suite names a load step may name."""
        table = self.table(value, path, ("title", "phases"))
        title = self.get(table, path, "title", self.nonblank, "Deployment checklist")
        phases_path = (*path, "phases")
        raw_phases = self.get(
            table,
            path,
            "phases",
            lambda v, p: self.array(v, p, "phase tables"),
            why=" (at least one [[checklist.phases]] table)",
        )
        context = _Context(base_url, runnable, Path(self.file).resolve().parent)
        phases: list[Phase] = []
        phase_ids: set[str] = set()
        step_ids: dict[str, str] = {}
        for index, raw in enumerate(raw_phases):
            phase = self.checklist_phase(raw, (*phases_path, index), context)
            if phase.id in phase_ids:
                raise self.error(
                    (*phases_path, index, "id"), f"phase id {phase.id!r} is used twice"
                )
            phase_ids.add(phase.id)
            for number, step in enumerate(phase.steps):
                if step.id in step_ids:
                    raise self.error(
                        (*phases_path, index, "steps", number, "id"),
                        f"step id {step.id!r} is already used in phase {step_ids[step.id]!r}; "
                        "step ids are unique across the whole checklist",
                    )
                step_ids[step.id] = phase.id
            phases.append(phase)
        return Checklist(title=title, phases=tuple(phases))

    def checklist_phase(self, value: Any, path: KeyPath, context: _Context) -> Phase:
        table = self.table(value, path, _PHASE_KEYS)
        phase_id = self.get(table, path, "id", self.identifier)
        gate = self.get(table, path, "gate", lambda v, p: self.choice(v, p, GATES), "blocking")
        raw_steps = self.get(
            table,
            path,
            "steps",
            lambda v, p: self.array(v, p, "step tables"),
            why=" (at least one [[checklist.phases.steps]] table after the phase)",
        )
        return Phase(
            id=phase_id,
            title=self.get(table, path, "title", self.nonblank),
            gate=gate,
            steps=tuple(
                self.checklist_step(item, (*path, "steps", i), phase_id, context)
                for i, item in enumerate(raw_steps)
            ),
        )

    def checklist_step(self, value: Any, path: KeyPath, phase: str, context: _Context) -> Step:
        table = self.table(value, path)
        kind = self.get(
            table,
            path,
            "kind",
            lambda v, p: self.choice(v, p, STEP_KINDS),
            why=f" (one of {', '.join(STEP_KINDS)})",
        )
        own = STEP_KEYS[kind]
        for key in table:
            if key in _COMMON_KEYS or key in own:
                continue
            users = [k for k, keys in STEP_KEYS.items() if key in keys]
            allowed = ", ".join(_COMMON_KEYS + own)
            if users:
                message = (
                    f"'{key}' is not a key of a {kind} step (it belongs to kind "
                    f"{' and '.join(users)}); a {kind} step takes: {allowed}"
                )
            else:
                message = f"unknown key; allowed for a {kind} step: {allowed}"
            raise self.error((*path, key), message, at="key")
        step = Step(
            id=self.get(table, path, "id", self.identifier),
            title=self.get(table, path, "title", self.nonblank),
            kind=kind,
            phase=phase,
            help=self.get(table, path, "help", self.string, ""),
            required=self.get(table, path, "required", self.boolean, True),
            approvers=self.get(table, path, "approvers", self.approvers, ()),
        )
        if kind == "command":
            return replace(step, command=self.command_spec(table, path, context))
        if kind == "http":
            return replace(step, probe=self.http_probe(table, path, context))
        if kind == "sentry":
            check = self.get(
                table, path, "check", lambda v, p: self.choice(v, p, _SENTRY_CHECKS), "capture"
            )
            return replace(step, sentry_check=check)
        if kind == "load":
            return replace(step, **self.load_fields(table, path, context))
        if kind == "timer":
            return replace(step, **self.timer_fields(table, path, context))
        return step

    # --- per kind -------------------------------------------------------------------------------

    def command_spec(self, table: dict, path: KeyPath, context: _Context) -> CommandSpec:
        shell = self.get(table, path, "shell", self.boolean, False)
        argv = self.get(table, path, "argv", lambda v, p: self.argv(v, p, shell, context))
        cwd = self.get(table, path, "cwd", lambda v, p: self.string(v, p, non_empty=True), None)
        if cwd is not None:
            cwd = str(context.folder / Path(cwd).expanduser())
        return CommandSpec(
            argv=argv,
            shell=shell,
            cwd=cwd,
            env=self.get(table, path, "env", lambda v, p: self.env(v, p, context), ()),
            timeout=self.get(table, path, "timeout", self.duration, 600.0),
        )

    def argv(self, value: Any, path: KeyPath, shell: bool, context: _Context) -> tuple[str, ...]:
        if shell:
            if not isinstance(value, str) or not value.strip():
                raise self.error(
                    path,
                    "with shell = true, argv is one command line string like "
                    f'"npm test | tail -5", got {describe_value(value)}',
                )
            return (context.expand(value),)
        if isinstance(value, str):
            raise self.error(
                path,
                f'expected an array of strings like ["npm", "test"], got {describe_value(value)} '
                "(a command line string needs shell = true)",
            )
        items = self.array(value, path, 'argument strings like ["npm", "test"]')
        out = []
        for index, item in enumerate(items):
            if not isinstance(item, str):
                raise self.error((*path, index), f"expected a string, got {describe_value(item)}")
            out.append(context.expand(item))
        if not out[0].strip():
            raise self.error((*path, 0), "the program name must not be empty")
        return tuple(out)

    def env(self, value: Any, path: KeyPath, context: _Context) -> tuple[tuple[str, str], ...]:
        pairs = []
        for name, item in self.table(value, path).items():
            if not _ENV_NAME.fullmatch(name):
                raise self.error(
                    (*path, name), "expected an environment variable name like NODE_ENV", "key"
                )
            text = scalar_text(item)
            if text is None:
                raise self.error(
                    (*path, name),
                    f"expected a string, number or boolean, got {describe_value(item)}",
                )
            pairs.append((name, context.expand(text)))
        return tuple(sorted(pairs))

    def http_probe(self, table: dict, path: KeyPath, context: _Context) -> HttpProbe:
        method = self.get(table, path, "method", lambda v, p: self.string(v, p, True), "GET")
        if method.upper() not in _METHODS:
            raise self.error(
                (*path, "method"), f"expected one of {', '.join(_METHODS)}, got {method!r}"
            )
        body_matches = self.get(table, path, "body_matches", self.regex, None)
        return HttpProbe(
            url=self.get(table, path, "url", lambda v, p: self.probe_url(v, p, context)),
            method=method.upper(),
            expect_status=self.get(table, path, "expect_status", self.expect_status, (200,)),
            body_contains=self.get(table, path, "body_contains", self.nonblank, None),
            body_matches=body_matches,
            headers=self.get(table, path, "headers", lambda v, p: self.probe_headers(v, p), ()),
            timeout=self.get(table, path, "timeout", self.duration, 10.0),
        )

    def load_fields(self, table: dict, path: KeyPath, context: _Context) -> dict[str, Any]:
        def scenario(value: Any, key_path: KeyPath) -> str:
            name = self.string(value, key_path, non_empty=True)
            if name not in context.runnable:
                known = ", ".join(sorted(context.runnable)) or "none"
                raise self.error(key_path, f"unknown scenario or suite {name!r}; defined: {known}")
            return name

        return {
            "scenario": self.get(table, path, "scenario", scenario),
            "max_age": self.get(table, path, "max_age", self.duration, None),
            "time_scale": self.get(table, path, "time_scale", self.time_scale, 1.0),
        }

    def timer_fields(self, table: dict, path: KeyPath, context: _Context) -> dict[str, Any]:
        duration = self.get(table, path, "duration", self.duration)
        every = self.get(table, path, "every", self.duration, 30.0)
        if every < 1:
            raise self.error((*path, "every"), f"expected at least 1s, got {table['every']!r}")
        if every > duration:
            raise self.error(
                (*path, "every"),
                f"every ({table['every']!r}) is longer than the watch window "
                f"(duration {table['duration']!r}): the probes would never run",
            )
        probes = self.get(
            table,
            path,
            "probes",
            lambda v, p: self.array(v, p, "probe tables", non_empty=False),
            [],
        )
        return {
            "duration": duration,
            "every": every,
            "probes": tuple(
                self.timer_probe(item, (*path, "probes", i), context)
                for i, item in enumerate(probes)
            ),
        }

    def timer_probe(self, value: Any, path: KeyPath, context: _Context) -> HttpProbe | CommandSpec:
        table = self.table(value, path)
        if "url" in table and "argv" in table:
            raise self.error(
                (*path, "argv"),
                "a probe is either an HTTP probe (url) or a command probe (argv), not both",
                at="key",
            )
        if "url" not in table and "argv" not in table:
            raise self.error(
                path,
                'expected an HTTP probe { url = "..." } or a command probe { argv = [...] }',
            )
        kind, keys = ("http", _HTTP_KEYS) if "url" in table else ("command", _COMMAND_KEYS)
        for key in table:
            if key not in keys:
                raise self.error(
                    (*path, key),
                    f"unknown key for a {kind} probe; allowed: {', '.join(keys)}",
                    at="key",
                )
        if kind == "http":
            return self.http_probe(table, path, context)
        return self.command_spec(table, path, context)

    # --- values ---------------------------------------------------------------------------------

    def nonblank(self, value: Any, path: KeyPath) -> str:
        return self.string(value, path, non_empty=True)

    def identifier(self, value: Any, path: KeyPath) -> str:
        text = self.string(value, path, non_empty=True)
        if not _ID.fullmatch(text):
            raise self.error(
                path, f"an id may only hold letters, digits, '_' and '-', got {text!r}"
            )
        return text

    def choice(self, value: Any, path: KeyPath, choices: tuple[str, ...]) -> Any:
        if value not in choices or not isinstance(value, str):
            raise self.error(
                path, f"expected one of {', '.join(choices)}, got {describe_value(value)}"
            )
        return value

    def approvers(self, value: Any, path: KeyPath) -> tuple[str, ...]:
        names = self.array(value, path, 'approver names (or ["*"] for anyone but the operator)')
        out: list[str] = []
        for index, item in enumerate(names):
            name = self.string(item, (*path, index), non_empty=True).strip()
            if name in out:
                raise self.error((*path, index), f"approver {name!r} is listed twice")
            out.append(name)
        if ANYONE in out and len(out) > 1:
            raise self.error(path, '"*" (anyone but the operator) stands alone; drop the names')
        return tuple(out)

    def expect_status(self, value: Any, path: KeyPath) -> tuple[int, ...]:
        items = value if isinstance(value, list) else [value]
        if isinstance(value, list):
            self.array(value, path, "statuses like 200")
        out = []
        for index, item in enumerate(items):
            item_path = (*path, index) if isinstance(value, list) else path
            if not isinstance(item, int) or isinstance(item, bool) or not 100 <= item <= 599:
                raise self.error(
                    item_path, f"expected an HTTP status 100-599, got {describe_value(item)}"
                )
            out.append(item)
        return tuple(sorted(set(out)))

    def regex(self, value: Any, path: KeyPath) -> str:
        text = self.string(value, path, non_empty=True)
        try:
            re.compile(text)
        except re.error as exc:
            raise self.error(path, f"invalid regular expression: {exc}") from None
        return text

    def probe_url(self, value: Any, path: KeyPath, context: _Context) -> str:
        raw = self.string(value, path, non_empty=True)
        for match in _VARIABLE.finditer(raw):
            if match.group(1) != "base_url":
                raise self.error(
                    path, f"unknown variable ${{{match.group(1)}}}; available: ${{base_url}}"
                )
        url = context.expand(raw)
        if url.startswith("/"):
            url = context.base_url + url
        expected = (
            'expected an http:// or https:// URL like "${base_url}/api/health" '
            '(or a path like "/api/health", joined to [target] base_url)'
        )
        try:
            parts = urlsplit(url)
            _ = parts.port  # raises ValueError on a bad port
        except ValueError:
            raise self.error(path, f"{expected}, got {raw!r}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise self.error(path, f"{expected}, got {raw!r}")
        return url

    def probe_headers(self, value: Any, path: KeyPath) -> tuple[tuple[str, str], ...]:
        pairs = []
        for name, item in self.table(value, path).items():
            text = scalar_text(item)
            if not name or any(c in name for c in " :\t\r\n"):
                raise self.error((*path, name), "expected a header name without spaces or ':'")
            if text is None or any(c in text for c in "\r\n"):
                raise self.error(
                    (*path, name),
                    f"expected a one-line string, number or boolean, got {describe_value(item)}",
                )
            pairs.append((name, text))
        return tuple(sorted(pairs))

    def time_scale(self, value: Any, path: KeyPath) -> float:
        return self.number(value, path, positive=True)


class _Context:
    """What step values are resolved against: the target's base URL, the runnable names, the
    config file's folder."""

    def __init__(self, base_url: str, runnable: Collection[str], folder: Path) -> None:
        self.base_url = base_url.rstrip("/")
        self.runnable = runnable
        self.folder = folder

    def expand(self, text: str) -> str:
        """Replace `${base_url}`; other `${...}` stay as written (a shell may want them)."""
        return text.replace("${base_url}", self.base_url)
