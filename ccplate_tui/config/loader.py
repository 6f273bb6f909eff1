"""Load scenarios.toml into the typed model of config/model.py, rejecting anything unexpected.

Every error names the file, the line and column where it can be found, the key path and what
was expected: a typo in a load-test config must never silently change what is measured.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ccplate_tui.config.availability import read_availability
from ccplate_tui.config.bounds import (
    MAX_NESTING,
    expand_user,
    path_problem,
    port_problem,
    rate_problem,
    too_deep,
)
from ccplate_tui.config.checklist_reader import ChecklistReader
from ccplate_tui.config.checks import CheckSyntaxError, parse_check
from ccplate_tui.config.errors import ConfigError, KeyPath, source_pointer
from ccplate_tui.config.model import (
    Body,
    CheckSpec,
    Config,
    ExecutorSpec,
    FormBody,
    GeneratedFile,
    JsonBody,
    MultipartBody,
    OptionsSpec,
    RawBody,
    RequestSpec,
    ScenarioSpec,
    SentrySpec,
    Stage,
    StatusSet,
    SuiteSpec,
    Tags,
    TargetSpec,
)
from ccplate_tui.config.reader import Parse, describe_value, scalar_text
from ccplate_tui.config.sources import read_sources, validate_source_threshold
from ccplate_tui.config.thresholds import (
    ThresholdSpec,
    ThresholdSyntaxError,
    parse_threshold_expr,
    parse_threshold_key,
    validate_threshold,
)
from ccplate_tui.sentry.dsn import DsnError, parse_dsn

__all__ = ["EXECUTOR_OPTIONS", "load_config", "parse_config"]

T = TypeVar("T")

EXECUTOR_OPTIONS: dict[str, tuple[str, ...]] = {
    "constant-vus": ("vus", "duration"),
    "ramping-vus": ("startVUs", "stages", "gracefulRampDown"),
    "per-vu-iterations": ("vus", "iterations", "maxDuration"),
    "shared-iterations": ("vus", "iterations", "maxDuration"),
    "constant-arrival-rate": ("rate", "timeUnit", "duration", "preAllocatedVUs", "maxVUs"),
    "ramping-arrival-rate": ("startRate", "timeUnit", "stages", "preAllocatedVUs", "maxVUs"),
}
"""k6's own options per executor (k6 spelling); `startTime` and `gracefulStop` apply to all."""

_COMMON_OPTIONS = ("startTime", "gracefulStop")
_TOP_KEYS = (
    "target", "options", "thresholds", "scenarios", "suites", "sentry", "checklist", "sources",
    "availability",
)  # fmt: skip
_SCENARIO_KEYS = (
    "executor", "description", "think_time", "tags", "thresholds", "expected_statuses", "http2",
    "timeout", "requests",
)  # fmt: skip
_REQUEST_KEYS = (
    "method", "path", "name", "headers", "query", "json", "form", "multipart", "body",
    "content_type", "checks", "tags", "group", "think_time", "timeout", "expected_statuses",
)  # fmt: skip
_BODY_KEYS = ("json", "form", "multipart", "body")
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_TREND_STAT = re.compile(r"avg|min|med|max|count|p\((\d+(?:\.\d+)?)\)")
_STATUS_RANGE = re.compile(r"\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?")
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


class _Loader(ChecklistReader):
    """Reads the whole of scenarios.toml into the model."""

    def statuses(self, value: Any, path: KeyPath) -> StatusSet:
        ranges: list[tuple[int, int]] = []
        expected = 'a status like 200 or a range like "200-299"'
        for index, item in enumerate(self.array(value, path, "statuses")):
            item_path = (*path, index)
            if isinstance(item, int) and not isinstance(item, bool):
                low = high = item
            elif isinstance(item, str) and (match := _STATUS_RANGE.fullmatch(item)):
                low, high = int(match.group(1)), int(match.group(2) or match.group(1))
            else:
                raise self.error(item_path, f"expected {expected}, got {describe_value(item)}")
            if not 100 <= low <= high <= 599:
                raise self.error(
                    item_path, f"expected statuses within 100-599, low <= high, got {item!r}"
                )
            ranges.append((low, high))
        return StatusSet(tuple(sorted(ranges)))

    # --- thresholds -----------------------------------------------------------------------------

    def thresholds(
        self, value: Any, path: KeyPath, scenario: str | None
    ) -> tuple[ThresholdSpec, ...]:
        """Parse a thresholds table; a scenario's are scoped with the tag `scenario:<name>`."""
        specs: list[ThresholdSpec] = []
        for key, entries in self.table(value, path).items():
            key_path = (*path, key)
            try:
                metric, tags = parse_threshold_key(key)
            except ThresholdSyntaxError as exc:
                raise self.expression_error(key_path, "threshold key", exc, at="key") from None
            written = key
            is_source = metric in getattr(self, "source_specs", {})
            if is_source and tags:
                raise self.error(
                    key_path,
                    f"source {metric} has no tags to filter on; write just {metric}",
                    "key",
                )
            if scenario is not None and not is_source:
                merged = dict(tags)
                if merged.get("scenario", scenario) != scenario:
                    raise self.error(
                        key_path,
                        f"a threshold of scenario '{scenario}' cannot filter on "
                        f"scenario:{merged['scenario']}; put it in the top-level [thresholds]",
                        at="key",
                    )
                merged["scenario"] = scenario
                tags = tuple(sorted(merged.items()))
                written = metric + "{" + ",".join(f"{k}:{v}" for k, v in tags) + "}"
            else:
                tags = tuple(sorted(tags))
            what = 'threshold expressions like "p(99)<200"'
            for index, entry in enumerate(self.array(entries, key_path, what)):
                entry_path = (*key_path, index)
                abort, delay, source_path = False, None, entry_path
                if isinstance(entry, dict):
                    self.table(entry, entry_path, ("threshold", "abortOnFail", "delayAbortEval"))
                    source = self.get(entry, entry_path, "threshold", self.string)
                    source_path = (*entry_path, "threshold")
                    abort = self.get(entry, entry_path, "abortOnFail", self.boolean, False)
                    delay = self.get(entry, entry_path, "delayAbortEval", self.any_duration, None)
                elif isinstance(entry, str):
                    source = entry
                else:
                    raise self.error(
                        entry_path,
                        'expected a threshold expression like "p(99)<200" or a table '
                        '{ threshold = "...", abortOnFail = true }, got ' + describe_value(entry),
                    )
                try:
                    expr = parse_threshold_expr(source)
                except ThresholdSyntaxError as exc:
                    raise self.expression_error(source_path, "threshold", exc) from None
                try:
                    if is_source:
                        validate_source_threshold(metric, expr)
                    else:
                        validate_threshold(metric, expr)
                except ThresholdSyntaxError as exc:
                    # An unknown metric is the key's fault; a wrong aggregation the expression's.
                    if exc.source == source:
                        raise self.expression_error(source_path, "threshold", exc) from None
                    raise self.expression_error(key_path, "threshold", exc, at="key") from None
                specs.append(ThresholdSpec(written, metric, tags, expr, abort, delay))
        return tuple(specs)

    # --- target and options ---------------------------------------------------------------------

    def target(self, value: Any, path: KeyPath) -> TargetSpec:
        table = self.table(value, path, ("base_url", "allow_remote", "headers", "timeout"))
        default = TargetSpec()
        base_url = self.get(table, path, "base_url", self.base_url, default.base_url)
        return TargetSpec(
            base_url=base_url,
            allow_remote=self.get(table, path, "allow_remote", self.boolean, False),
            headers=self.get(table, path, "headers", self.headers, ()),
            timeout=self.get(table, path, "timeout", self.duration, default.timeout),
        )

    def headers(self, value: Any, path: KeyPath) -> Tags:
        return self.text_table(value, path, header=True)

    def base_url(self, value: Any, path: KeyPath) -> str:
        url = self.string(value, path)
        expected = 'expected an http:// or https:// URL with a host, like "http://127.0.0.1:8787"'
        try:
            parts = urlsplit(url)
            port = parts.port  # raises ValueError on a bad port
        except ValueError:
            raise self.error(path, f"{expected}, got {url!r}") from None
        if (problem := port_problem(port)) is not None:
            raise self.error(path, f"{problem} in {url!r}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise self.error(path, f"{expected}, got {url!r}")
        if parts.query or parts.fragment:
            raise self.error(path, f"{expected} and no query or fragment, got {url!r}")
        return url

    def options(self, value: Any, path: KeyPath) -> OptionsSpec:
        table = self.table(value, path, ("interval", "summary_trend_stats", "tags"))
        interval = self.get(table, path, "interval", self.duration, 1.0)
        if interval < 0.25:
            raise self.error(
                (*path, "interval"), f"expected an interval >= 250ms, got {table['interval']!r}"
            )
        default = OptionsSpec()
        return OptionsSpec(
            interval=interval,
            summary_trend_stats=self.get(
                table, path, "summary_trend_stats", self.trend_stats, default.summary_trend_stats
            ),
            tags=self.get(table, path, "tags", self.text_table, ()),
        )

    def trend_stats(self, value: Any, path: KeyPath) -> tuple[str, ...]:
        stats = []
        for index, item in enumerate(self.array(value, path, "statistics")):
            match = _TREND_STAT.fullmatch(item) if isinstance(item, str) else None
            if not match or (match.group(1) and float(match.group(1)) > 100):
                raise self.error(
                    (*path, index),
                    "expected one of avg, min, med, max, count or p(N) with N in 0-100, "
                    f"got {describe_value(item)}",
                )
            stats.append(item)
        return tuple(stats)

    # --- scenarios ------------------------------------------------------------------------------

    def scenario(self, name: str, value: Any, path: KeyPath, target: TargetSpec) -> ScenarioSpec:
        table = self.table(value, path)
        executor = self.get(
            table, path, "executor", self.string, why=f" (one of {', '.join(EXECUTOR_OPTIONS)})"
        )
        if executor not in EXECUTOR_OPTIONS:
            raise self.error(
                (*path, "executor"),
                f"unknown executor {executor!r}; expected one of {', '.join(EXECUTOR_OPTIONS)}",
            )
        own = EXECUTOR_OPTIONS[executor] + _COMMON_OPTIONS
        for key in table:
            if key in own or key in _SCENARIO_KEYS:
                continue
            users = [e for e, options in EXECUTOR_OPTIONS.items() if key in options]
            if users:
                message = (
                    f"'{key}' is not an option of executor {executor} (it is used by "
                    f"{', '.join(users)}); {executor} takes: {', '.join(own)}"
                )
            else:
                message = f"unknown key; allowed here: {', '.join(_SCENARIO_KEYS + own)}"
            raise self.error((*path, key), message, at="key")
        think_time = self.get(table, path, "think_time", self.any_duration, 0.0)
        timeout = self.get(table, path, "timeout", self.duration, target.timeout)
        requests = self.get(
            table,
            path,
            "requests",
            lambda v, p: self.array(v, p, "request tables"),
            why=f" (at least one [[scenarios.{name}.requests]] table)",
        )
        return ScenarioSpec(
            name=name,
            executor=self.executor(executor, table, path),
            requests=tuple(
                self.request(item, (*path, "requests", i)) for i, item in enumerate(requests)
            ),
            description=self.get(table, path, "description", self.string, ""),
            think_time=think_time,
            tags=self.get(table, path, "tags", self.text_table, ()),
            thresholds=self.get(
                table, path, "thresholds", lambda v, p: self.thresholds(v, p, name), ()
            ),
            expected_statuses=self.get(
                table, path, "expected_statuses", self.statuses, StatusSet()
            ),
            http2=self.get(table, path, "http2", self.boolean, False),
            timeout=timeout,
        )

    def executor(self, kind: str, table: dict, path: KeyPath) -> ExecutorSpec:
        """k6's options of one executor, every default filled in as k6 fills it."""

        def opt(key: str, parse: Parse[T], default: Any = ...) -> T:
            return self.get(table, path, key, parse, default, f" (executor {kind} requires it)")

        def vus(value: Any, key_path: KeyPath) -> int:
            return self.integer(value, key_path, minimum=1)

        def rate(value: Any, key_path: KeyPath) -> float:
            return self.number(value, key_path, positive=True)

        def start_rate(value: Any, key_path: KeyPath) -> float:
            return self.number(value, key_path, positive=False)

        spec = ExecutorSpec(
            kind,  # type: ignore[arg-type]  # checked against EXECUTOR_OPTIONS by the caller
            start_time=opt("startTime", self.any_duration, 0.0),
            graceful_stop=opt("gracefulStop", self.any_duration, 30.0),
        )
        if kind == "constant-vus":
            return replace(spec, vus=opt("vus", vus, 1), duration=opt("duration", self.duration))
        if kind in ("per-vu-iterations", "shared-iterations"):
            count, iterations = opt("vus", vus, 1), opt("iterations", vus, 1)
            if kind == "shared-iterations" and iterations < count:
                raise self.error(
                    (*path, "iterations"),
                    f"the number of iterations ({iterations}) can't be less than the number of "
                    f"VUs ({count})",
                )
            max_duration = opt("maxDuration", self.duration, 600.0)
            return replace(spec, vus=count, iterations=iterations, max_duration=max_duration)
        if kind == "ramping-vus":
            start_vus = opt("startVUs", self.integer, 1)
            stages = opt("stages", lambda v, p: self.stages(v, p, integer=True))
            if max(start_vus, *(stage.target for stage in stages)) < 1:
                raise self.error(
                    (*path, "stages"), "startVUs and every stage target are 0: no VU would ever run"
                )
            ramp_down = opt("gracefulRampDown", self.any_duration, 30.0)
            return replace(spec, start_vus=start_vus, stages=stages, graceful_ramp_down=ramp_down)
        # The arrival-rate executors.
        spec = replace(spec, time_unit=opt("timeUnit", self.duration, 1.0))
        if kind == "constant-arrival-rate":
            spec = replace(spec, rate=opt("rate", rate), duration=opt("duration", self.duration))
        else:
            spec = replace(
                spec,
                start_rate=opt("startRate", start_rate, 0.0),
                stages=opt("stages", lambda v, p: self.stages(v, p, integer=False)),
            )
            if max(spec.start_rate or 0.0, *(stage.target for stage in spec.stages)) <= 0:
                raise self.error(
                    (*path, "stages"),
                    "startRate and every stage target are 0: no iteration would ever start",
                )
        peak = max(spec.rate or 0.0, spec.start_rate or 0.0, *(s.target for s in spec.stages))
        if (problem := rate_problem(peak / (spec.time_unit or 1.0))) is not None:
            key = "rate" if kind == "constant-arrival-rate" else "stages"
            raise self.error((*path, key), problem)
        pre_allocated = opt("preAllocatedVUs", vus)
        max_vus = opt("maxVUs", vus, pre_allocated)
        if max_vus < pre_allocated:
            raise self.error(
                (*path, "maxVUs"),
                f"maxVUs ({max_vus}) must be >= preAllocatedVUs ({pre_allocated})",
            )
        return replace(spec, pre_allocated_vus=pre_allocated, max_vus=max_vus)

    def stages(self, value: Any, path: KeyPath, integer: bool) -> tuple[Stage, ...]:
        stages = []
        for index, item in enumerate(self.array(value, path, "stages { duration, target }")):
            stage_path = (*path, index)
            table = self.table(item, stage_path, ("duration", "target"))
            duration = self.get(table, stage_path, "duration", self.any_duration)
            if integer:
                target = float(self.get(table, stage_path, "target", self.integer))
            else:
                target = self.get(
                    table, stage_path, "target", lambda v, p: self.number(v, p, positive=False)
                )
            stages.append(Stage(duration, target))
        if sum(stage.duration for stage in stages) <= 0:
            raise self.error(path, "the stages add up to 0s; at least one needs a duration > 0")
        return tuple(stages)

    # --- requests -------------------------------------------------------------------------------

    def request(self, value: Any, path: KeyPath) -> RequestSpec:
        table = self.table(value, path, _REQUEST_KEYS)
        method = self.get(table, path, "method", self.string, "GET").upper()
        if method not in _METHODS:
            raise self.error(
                (*path, "method"), f"expected one of {', '.join(_METHODS)}, got {table['method']!r}"
            )
        request_path = self.get(table, path, "path", self.string)
        if not request_path.startswith("/"):
            raise self.error(
                (*path, "path"), f"expected a path starting with '/', got {request_path!r}"
            )
        if (problem := path_problem(request_path)) is not None:
            raise self.error((*path, "path"), problem)
        self.templates(request_path, (*path, "path"))
        bodies = [key for key in _BODY_KEYS if key in table]
        if len(bodies) > 1:
            raise self.error(
                (*path, bodies[1]),
                f"a request has at most one body, got both {bodies[0]} and {bodies[1]}",
                at="key",
            )
        if "content_type" in table and "body" not in table:
            raise self.error(
                (*path, "content_type"),
                "content_type goes with a raw `body`; for json, form or multipart set headers",
                at="key",
            )

        def text(value: Any, key_path: KeyPath) -> str:
            return self.templates(self.string(value, key_path, non_empty=True), key_path)

        return RequestSpec(
            method=method,
            path=request_path,
            name=self.get(table, path, "name", text, request_path),
            headers=self.get(table, path, "headers", self.headers, ()),
            query=self.get(table, path, "query", self.text_table, ()),
            body=self.body(table, path),
            checks=self.get(table, path, "checks", self.checks, ()),
            tags=self.get(table, path, "tags", self.text_table, ()),
            group=self.get(table, path, "group", text, None),
            think_time=self.get(table, path, "think_time", self.any_duration, 0.0),
            timeout=self.get(table, path, "timeout", self.duration, None),
            expected_statuses=self.get(table, path, "expected_statuses", self.statuses, None),
        )

    def body(self, table: dict, path: KeyPath) -> Body | None:
        if "json" in table:
            return JsonBody(self.json_value(table["json"], (*path, "json")))
        if "form" in table:
            return FormBody(self.get(table, path, "form", self.text_table))
        if "multipart" in table:
            return self.multipart(table["multipart"], (*path, "multipart"))
        if "body" in table:
            text = self.templates(self.string(table["body"], (*path, "body")), (*path, "body"))
            content_type = self.get(table, path, "content_type", self.string, "text/plain")
            return RawBody(text, content_type)
        return None

    def json_value(self, value: Any, path: KeyPath) -> object:
        """Check a TOML value can be sent as JSON and its strings' templates are known."""
        if isinstance(value, str):
            return self.templates(value, path)
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(path, f"JSON has no {value}; use a finite number")
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, list):
            return [self.json_value(item, (*path, i)) for i, item in enumerate(value)]
        if isinstance(value, dict):
            return {
                self.templates(key, (*path, key)): self.json_value(item, (*path, key))
                for key, item in value.items()
            }
        raise self.error(
            path, f"{describe_value(value)} cannot be sent as JSON; write it as a string"
        )

    def multipart(self, value: Any, path: KeyPath) -> MultipartBody:
        parts: list[tuple[str, str | GeneratedFile]] = []
        for key, item in self.table(value, path).items():
            item_path = (*path, key)
            if isinstance(item, dict):
                self.table(item, item_path, ("size", "filename", "content_type"))
                size = self.get(item, item_path, "size", self.size)
                defaults = GeneratedFile(0)
                filename = self.get(item, item_path, "filename", self.string, defaults.filename)
                content_type = self.get(
                    item, item_path, "content_type", self.string, defaults.content_type
                )
                self.templates(filename, (*item_path, "filename"))
                parts.append((key, GeneratedFile(size, filename, content_type)))
                continue
            text = scalar_text(item)
            if text is None:
                raise self.error(
                    item_path,
                    'expected a text field or a file { size = "1MB", filename = "..." }, got '
                    + describe_value(item),
                )
            parts.append((key, self.templates(text, item_path)))
        return MultipartBody(tuple(parts))

    def checks(self, value: Any, path: KeyPath) -> tuple[CheckSpec, ...]:
        specs = []
        for name, source in self.table(value, path).items():
            check_path = (*path, name)
            if not name.strip():
                raise self.error(check_path, "a check needs a name", at="key")
            self.string(source, check_path, non_empty=True)
            try:
                predicate = parse_check(source)
            except CheckSyntaxError as exc:
                raise self.expression_error(check_path, "check", exc) from None
            specs.append(CheckSpec(name, source, predicate))
        return tuple(specs)

    # --- the whole file -------------------------------------------------------------------------

    def config(self, data: dict) -> Config:
        root: KeyPath = ()
        self.table(data, root, _TOP_KEYS)
        target = self.get(data, root, "target", self.target, TargetSpec())
        options = self.get(data, root, "options", self.options, OptionsSpec())
        self.source_specs = self.get(
            data, root, "sources", lambda v, p: read_sources(self, v, p), {}
        )
        availability = self.get(
            data,
            root,
            "availability",
            lambda v, p: read_availability(self, v, p, target.base_url),
            None,
        )
        thresholds = self.get(
            data, root, "thresholds", lambda v, p: self.thresholds(v, p, None), ()
        )
        raw_scenarios = self.get(
            data, root, "scenarios", self.table, why=" (at least one [scenarios.NAME])"
        )
        if not raw_scenarios:
            raise self.error(("scenarios",), "expected at least one scenario [scenarios.NAME]")
        scenarios: dict[str, ScenarioSpec] = {}
        for name, value in raw_scenarios.items():
            self.check_name(name, ("scenarios", name), "scenario")
            scenarios[name] = self.scenario(name, value, ("scenarios", name), target)
        suites: dict[str, SuiteSpec] = {}
        for name, value in self.get(data, root, "suites", self.table, {}).items():
            suites[name] = self.suite(name, value, ("suites", name), scenarios)
        sentry = self.get(data, root, "sentry", self.sentry, SentrySpec())
        runnable = (*scenarios, *suites)
        checklist = self.get(
            data,
            root,
            "checklist",
            lambda v, p: self.checklist(v, p, target.base_url, runnable),
            None,
        )
        return Config(
            self.file,
            target,
            options,
            scenarios,
            suites,
            thresholds,
            sentry,
            checklist,
            sources=self.source_specs,
            availability=availability,
        )

    def sentry(self, value: Any, path: KeyPath) -> SentrySpec:
        keys = ("project", "dsn", "org", "project_slug", "api_url", "drill_path")
        table = self.table(value, path, keys)
        project = self.get(table, path, "project", lambda v, p: self.string(v, p, True), None)
        if project is not None:
            try:
                project = str(Path(self.file).resolve().parent / expand_user(project))
            except ValueError as exc:
                raise self.error((*path, "project"), str(exc)) from None
        dsn = self.get(table, path, "dsn", lambda v, p: self.string(v, p, True), None)
        if dsn is not None:
            try:
                parse_dsn(dsn)
            except DsnError as exc:
                raise self.error((*path, "dsn"), str(exc)) from None
        api_url = self.get(table, path, "api_url", self.base_url, None)
        return SentrySpec(
            project=project,
            dsn=dsn,
            org=self.get(table, path, "org", lambda v, p: self.string(v, p, True), None),
            project_slug=self.get(
                table, path, "project_slug", lambda v, p: self.string(v, p, True), None
            ),
            api_url=api_url.rstrip("/") if api_url else None,
            drill_path=self.get(table, path, "drill_path", self.drill_path, None),
        )

    def drill_path(self, value: Any, path: KeyPath) -> str:
        text = self.string(value, path, True)
        if not text.startswith("/") or any(c.isspace() or ord(c) < 32 for c in text):
            raise self.error(
                path, f"expected a path like '/api/sentry-example-api', got {text!r:.80}"
            )
        return text

    def check_name(self, name: str, path: KeyPath, what: str) -> None:
        if not _NAME.fullmatch(name):
            raise self.error(
                path, f"a {what} name may only hold letters, digits, '_' and '-'", at="key"
            )

    def suite(
        self, name: str, value: Any, path: KeyPath, scenarios: dict[str, ScenarioSpec]
    ) -> SuiteSpec:
        self.check_name(name, path, "suite")
        if name in scenarios:
            raise self.error(
                path, f"suite '{name}' has the name of a scenario; rename one of them", at="key"
            )
        table = self.table(value, path, ("scenarios", "description", "thresholds"))
        members_path = (*path, "scenarios")
        members = self.array(
            self.get(table, path, "scenarios", lambda v, p: v), members_path, "scenario names"
        )
        for index, member in enumerate(members):
            self.string(member, (*members_path, index))
            if member not in scenarios:
                raise self.error(
                    (*members_path, index),
                    f"unknown scenario {member!r}; defined scenarios: {', '.join(scenarios)}",
                )
            if members.index(member) != index:
                raise self.error((*members_path, index), f"scenario {member!r} is listed twice")
        return SuiteSpec(
            name=name,
            scenarios=tuple(members),
            description=self.get(table, path, "description", self.string, ""),
            thresholds=self.get(
                table, path, "thresholds", lambda v, p: self.thresholds(v, p, None), ()
            ),
        )


def parse_config(text: str, path: str = "scenarios.toml") -> Config:
    """Parse and validate scenarios.toml text; `path` is only used to name the file in errors."""
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise ConfigError(
            f"invalid TOML: arrays or tables nested deeper than Python can read (at most "
            f"{MAX_NESTING} levels are accepted)",
            path,
        ) from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_POSITION.search(message)
        if match:
            line, column = int(match.group(1)), int(match.group(2))
        else:  # "(at end of document)"
            lines = text.splitlines() or [""]
            line, column = len(lines), len(lines[-1]) + 1
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
        raise ConfigError(
            f"invalid TOML: {message}",
            path,
            line,
            column,
            None,
            source_pointer(text, line, column),
        ) from None
    loader = _Loader(text, path)
    deep = too_deep(data)
    if deep is not None:
        # Located at its first few keys: the locator need not walk the whole depth.
        raise loader.error(
            deep[:3], f"expected at most {MAX_NESTING} levels of nested arrays and tables"
        )
    return loader.config(data)


def load_config(path: str | Path) -> Config:
    """Read, parse and validate a scenarios.toml file."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise _missing_config(Path(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the config: {exc.strerror or exc}", name) from None
    try:
        text = raw.decode("utf-8-sig")  # an editor's BOM is not a TOML error
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the config is not UTF-8 text (byte {exc.start})", name) from None
    return parse_config(text, name)


def _missing_config(path: Path) -> ConfigError:
    """Every command's answer to a config that is not there: the absolute path looked at and the
    two ways on (every command reads the config through `load_config`, so this is the one place).
    """
    try:
        absolute = Path(os.path.abspath(expand_user(str(path))))
    except ValueError:
        absolute = Path(os.path.abspath(path))
    folder = absolute.parent
    if absolute.name == "scenarios.toml":
        if folder == Path(os.path.abspath(".")):
            start = "or write a starter one here with `ccplate-tui init`"
        else:
            start = (
                f"or write a starter one there with `ccplate-tui init {shlex.quote(str(folder))}`"
            )
    else:
        start = "or write a starter scenarios.toml with `ccplate-tui init [DIR]`"
    return ConfigError(
        f"cannot read the config: no such file; pass --config FILE to use another, {start}",
        str(absolute),
    )
