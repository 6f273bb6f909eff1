"""Export scenarios as k6 scripts that send the same traffic and judge it the same way.

One script per scenario (a suite: one script with its scenarios side by side): k6 `options` with
the same executors and options, thresholds with their tag filters, and one exported function per
scenario that sends the requests, runs the checks, groups and think times. The target comes from
`__ENV.BASE_URL`, defaulting to the config's `base_url`; secret header values (Authorization,
cookies, API keys: k6/secrets.py) come from `__ENV.CCPLATE_SECRET_*` and are never written.

What k6 cannot express the way the built-in engine means it (a sliding-window threshold, a
metric only this tool has, a regex construct JavaScript lacks) is an ExportError naming the
config key, never a script that silently measures something else.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path

from ccplate_tui.config.errors import KeyPath
from ccplate_tui.config.model import Config, ExecutorSpec, ScenarioSpec
from ccplate_tui.config.thresholds import ThresholdSpec, format_threshold_key, method_label
from ccplate_tui.k6.export_error import ExportError, export_error, scenario_path
from ccplate_tui.k6.iteration import InitContext, scenario_function
from ccplate_tui.k6.js import js_comment, js_identifier, js_string, js_value, k6_duration
from ccplate_tui.k6.js_checks import HELPERS, CheckScope
from ccplate_tui.k6.secrets import FILL_TEMPLATES, k6_env_flags, secret_env_names
from ccplate_tui.load.engine import RunPlan, resolve_plan
from ccplate_tui.load.thresholds import baseline_key

__all__ = [
    "K6_METRICS",
    "ExportError",
    "export_names",
    "render_script",
    "script_for_plan",
]

K6_METRICS = frozenset(
    {
        "http_reqs", "http_req_duration", "http_req_blocked", "http_req_connecting",
        "http_req_tls_handshaking", "http_req_sending", "http_req_waiting", "http_req_receiving",
        "http_req_failed", "checks", "iterations", "iteration_duration", "group_duration",
        "dropped_iterations", "vus", "vus_max", "data_sent", "data_received",
    }
)  # fmt: skip
"""Metrics k6 has built in; a threshold on any other metric cannot be exported."""

_MAX_RATE_SCALE = 1_000_000
"""The largest factor a fractional rate may be scaled by to make k6's integer rate."""


# --- which scripts -----------------------------------------------------------------------------


def export_names(config: Config, names: Sequence[str] = ()) -> list[str]:
    """The scripts to write: the names given, else every suite and every scenario not in one."""
    if names:
        return list(dict.fromkeys(names))
    in_suites = {member for suite in config.suites.values() for member in suite.scenarios}
    return [n for n in config.scenarios if n not in in_suites] + list(config.suites)


def render_script(
    config: Config,
    name: str,
    *,
    baselines: Mapping[str, float] | None = None,
    time_scale: float = 1.0,
    include_secrets: bool = False,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The k6 script of one scenario or suite (raises UnknownScenario, ExportError)."""
    plan = resolve_plan(config, [name])
    return script_for_plan(
        config,
        plan,
        name,
        baselines=baselines,
        time_scale=time_scale,
        include_secrets=include_secrets,
        environ=environ,
    )


# --- the script --------------------------------------------------------------------------------


def script_for_plan(
    config: Config,
    plan: RunPlan,
    name: str,
    *,
    baselines: Mapping[str, float] | None = None,
    time_scale: float = 1.0,
    include_secrets: bool = False,
    environ: Mapping[str, str] | None = None,
) -> str:
    """A k6 script running `plan` (its scenarios side by side, its thresholds) as one test.

    `baselines` (by `load.thresholds.baseline_key`) turns relative thresholds into numbers;
    a relative threshold without a value is an ExportError. `time_scale` is only noted in the
    header: scale the config itself (config/timescale.py). Secret header values are read from
    `__ENV` (k6/secrets.py; `environ`, default os.environ, as there), or written literally with
    `include_secrets`. Raises ExportError.
    """
    secrets = {} if include_secrets else secret_env_names(config, environ)
    init = InitContext(CheckScope(), {}, {}, secrets=secrets)
    taken = {"http", "check", "group", "sleep", "exec", "options", "setup", "teardown"}
    taken |= {"BASE_URL", "handleSummary", "generatedFile", FILL_TEMPLATES, *HELPERS}
    functions = []
    scenario_options = []
    for scenario in plan.scenarios:
        function = js_identifier(scenario.name, taken)
        scenario_options.append(_scenario_options(config, scenario, function))
        functions.append(scenario_function(config, scenario, function, init))
    options = _options(config, plan, scenario_options, baselines or {})
    imports = ['import http from "k6/http";']
    from_k6 = [n for n in ("check", "group", "sleep") if any(f"{n}(" in f for f in functions)]
    if from_k6:
        imports.append("import { " + ", ".join(from_k6) + ' } from "k6";')
    if init.uses_exec:
        imports.append('import exec from "k6/execution";')
    header = _header(config, plan, name, time_scale, init.used_secrets)
    base_url = js_string(config.target.base_url.rstrip("/"))
    parts = [
        header,
        "\n".join(imports),
        f'const BASE_URL = (__ENV.BASE_URL || {base_url}).replace(/\\/+$/, "");',
        options,
    ]
    init_code = init.code()
    if init_code:
        parts.append(init_code)
    parts.extend(functions)
    return "\n\n".join(parts) + "\n"


def _header(
    config: Config, plan: RunPlan, name: str, time_scale: float, secrets: Mapping[str, str]
) -> str:
    flags = k6_env_flags(secrets)
    lines = [
        f"// {name}: k6 script exported by `ccplate-tui export k6` from {Path(config.path).name}.",
        "// Re-export after changing the config rather than editing this file.",
        f"// Run: k6 run -e BASE_URL={config.target.base_url.rstrip('/')}{flags} {name}.js",
    ]
    if time_scale != 1.0:
        lines.append(f"// Scheduling durations scaled by {time_scale:g} (--time-scale).")
    described = [s for s in plan.scenarios if s.description]
    suite = config.suites.get(name)
    if suite is not None and suite.description:
        lines.append(f"// {suite.description}")
    for scenario in described:
        lines.append(f"// {scenario.name}: {scenario.description}")
    return "\n".join(js_comment(line) for line in lines)


# --- options -----------------------------------------------------------------------------------


def _options(
    config: Config,
    plan: RunPlan,
    scenario_options: list[str],
    baselines: Mapping[str, float],
) -> str:
    lines = ["export const options = {", "  scenarios: {"]
    lines.extend(scenario_options)
    lines.append("  },")
    thresholds = _thresholds(config, plan.thresholds, baselines)
    if thresholds:
        lines.append("  thresholds: {")
        lines.extend(thresholds)
        lines.append("  },")
    if config.options.tags:
        lines.append(f"  tags: {js_value(dict(config.options.tags), templates=False)},")
    stats = ", ".join(js_string(s) for s in config.options.summary_trend_stats)
    lines.append(f"  summaryTrendStats: [{stats}],")
    lines.append(
        "  // The built-in engine records a redirect as the 3xx it is; so does this script."
    )
    lines.append("  maxRedirects: 0,")
    lines.append("};")
    return "\n".join(lines)


def _scenario_options(config: Config, scenario: ScenarioSpec, function: str) -> str:
    entries = [("executor", js_string(scenario.executor.executor)), ("exec", js_string(function))]
    entries.extend(_executor_options(config, scenario))
    spec = scenario.executor
    entries.append(("startTime", js_string(k6_duration(spec.start_time))))
    entries.append(("gracefulStop", js_string(k6_duration(spec.graceful_stop))))
    if scenario.tags:
        entries.append(("tags", js_value(dict(scenario.tags), templates=False)))
    body = "".join(f"      {key}: {value},\n" for key, value in entries)
    return f"    {js_string(scenario.name)}: {{\n{body}    }},"


def _stages(stages: Sequence[tuple[float, int]]) -> str:
    items = [f"{{ duration: {js_string(k6_duration(d))}, target: {t} }}" for d, t in stages]
    return "[\n" + "".join(f"        {item},\n" for item in items) + "      ]"


def _executor_options(config: Config, scenario: ScenarioSpec) -> list[tuple[str, str]]:
    spec: ExecutorSpec = scenario.executor
    kind = spec.executor
    if kind == "constant-vus":
        return [("vus", str(spec.vus)), ("duration", js_string(k6_duration(spec.duration or 0)))]
    if kind in ("per-vu-iterations", "shared-iterations"):
        return [
            ("vus", str(spec.vus)),
            ("iterations", str(spec.iterations)),
            ("maxDuration", js_string(k6_duration(spec.max_duration or 600.0))),
        ]
    if kind == "ramping-vus":
        stages = [(s.duration, round(s.target)) for s in spec.stages]
        return [
            ("startVUs", str(spec.start_vus or 0)),
            ("stages", _stages(stages)),
            ("gracefulRampDown", js_string(k6_duration(spec.graceful_ramp_down or 0.0))),
        ]
    # Arrival rates: k6 takes whole iterations per timeUnit, so a fractional rate is written as
    # a whole one over a longer timeUnit (2.5/s is 5 per 2s): the same start times.
    rates = [spec.rate or 0.0] if kind == "constant-arrival-rate" else [spec.start_rate or 0.0]
    rates += [s.target for s in spec.stages]
    try:
        scale = _rate_scale(rates)
    except ValueError as exc:
        key = "rate" if kind == "constant-arrival-rate" else "stages"
        raise export_error(config, (*scenario_path(scenario), key), str(exc)) from None
    unit = js_string(k6_duration((spec.time_unit or 1.0) * scale))
    if kind == "constant-arrival-rate":
        options = [
            ("rate", str(round((spec.rate or 0.0) * scale))),
            ("timeUnit", unit),
            ("duration", js_string(k6_duration(spec.duration or 0))),
        ]
    else:
        stages = [(s.duration, round(s.target * scale)) for s in spec.stages]
        options = [
            ("startRate", str(round((spec.start_rate or 0.0) * scale))),
            ("timeUnit", unit),
            ("stages", _stages(stages)),
        ]
    options.append(("preAllocatedVUs", str(spec.pre_allocated_vus)))
    options.append(("maxVUs", str(spec.max_vus)))
    return options


def _rate_scale(rates: Sequence[float]) -> int:
    """The smallest factor that makes every rate a whole number; ValueError past a million."""
    scale = 1
    for rate in rates:
        fraction = Fraction(rate).limit_denominator(_MAX_RATE_SCALE)
        if not math.isclose(float(fraction), rate, rel_tol=1e-9, abs_tol=1e-12):
            raise ValueError(f"the rate {rate} cannot be written as whole iterations per timeUnit")
        scale = scale * fraction.denominator // math.gcd(scale, fraction.denominator)
        if scale > _MAX_RATE_SCALE:
            raise ValueError(
                f"the rates {list(rates)} cannot be written as whole iterations per timeUnit"
            )
    return scale


def _threshold_path(config: Config, spec: ThresholdSpec) -> KeyPath:
    """Where `spec` is written in the config (best effort: key paths for error messages)."""
    scenario = dict(spec.tags).get("scenario")
    if scenario in config.scenarios and any(
        t.key == spec.key and t.expr == spec.expr for t in config.scenarios[scenario].thresholds
    ):
        written = format_threshold_key(
            spec.metric, tuple(t for t in spec.tags if t[0] != "scenario")
        )
        return ("scenarios", scenario, "thresholds", written)
    for name, suite in config.suites.items():
        if any(t.key == spec.key and t.expr == spec.expr for t in suite.thresholds):
            return ("suites", name, "thresholds", spec.key)
    return ("thresholds", spec.key)


def _thresholds(
    config: Config, specs: Sequence[ThresholdSpec], baselines: Mapping[str, float]
) -> list[str]:
    by_key: dict[str, list[tuple[str, str]]] = {}
    for spec in specs:
        if spec.metric in config.sources:
            continue  # a metric source is sampled by ccplate-tui beside the run, not by k6
        path = _threshold_path(config, spec)
        expr = spec.expr
        if spec.metric not in K6_METRICS:
            raise export_error(
                config,
                path,
                f"k6 has no metric {spec.metric!r} (only the built-in engine records it); "
                "drop this threshold from the scenarios you export",
            )
        if expr.window is not None:
            raise export_error(
                config,
                path,
                f"threshold {expr.source!r} uses a sliding window, which k6 thresholds do not "
                f"have; write it without the [window] (k6 judges the whole run)",
            )
        source = expr.source.strip()
        comment = ""
        if expr.relative:
            base = baselines.get(baseline_key(spec))
            if base is None:
                raise export_error(
                    config,
                    path,
                    f"threshold {expr.source!r} compares with a baseline run, and there is no "
                    "baseline value for it; set one (`ccplate-tui history baseline RUN`) so the "
                    "export can write the number",
                )
            limit = expr.limit(base)
            assert limit is not None
            op = expr.operator
            source = f"{method_label(expr)}{op}{limit!r}"
            comment = f"  // {js_comment(expr.source.strip())} with baseline {base!r}"
        entry = js_string(source)
        if spec.abort_on_fail or spec.delay_abort_eval is not None:
            fields = [f"threshold: {js_string(source)}"]
            fields.append(f"abortOnFail: {'true' if spec.abort_on_fail else 'false'}")
            if spec.delay_abort_eval is not None:
                fields.append(f"delayAbortEval: {js_string(k6_duration(spec.delay_abort_eval))}")
            entry = "{ " + ", ".join(fields) + " }"
        by_key.setdefault(spec.key, []).append((entry, comment))
    lines = []
    for key, entries in by_key.items():
        if len(entries) == 1 and not entries[0][1]:
            lines.append(f"    {js_string(key)}: [{entries[0][0]}],")
            continue
        lines.append(f"    {js_string(key)}: [")
        lines.extend(f"      {entry},{comment}" for entry, comment in entries)
        lines.append("    ],")
    return lines
