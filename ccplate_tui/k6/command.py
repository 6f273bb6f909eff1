"""`ccplate-tui export k6`: write each scenario (or suite) as a k6 script and a k6-operator TestRun.

Every script is rendered before any file is written, so a scenario that cannot be exported
leaves the output folder as it was. Exit 0 written, 2 bad usage or config (the message names
the file, line and key path), 1 the files could not be written.

Secret header values (k6/secrets.py) are read from `__ENV` in the scripts and from a Kubernetes
Secret in the TestRuns; the command prints the `kubectl create secret` and `k6 run -e` commands
with `"$VAR"` where each value goes, so no value is ever printed or written.
`--include-secrets` writes them literally and says so on stderr.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ccplate_tui.atomic_file import write_atomic
from ccplate_tui.config.errors import ConfigError
from ccplate_tui.config.loader import load_config
from ccplate_tui.config.model import Config
from ccplate_tui.config.timescale import with_time_scale
from ccplate_tui.exit_codes import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from ccplate_tui.k6.export import export_names, script_for_plan
from ccplate_tui.k6.secrets import (
    DEFAULT_SECRET_NAME,
    SecretHeader,
    k6_env_flags,
    kubectl_create_secret,
    plan_secrets,
    valid_secret_name,
)
from ccplate_tui.k6.testrun import DEFAULT_PARALLELISM, render_testrun
from ccplate_tui.load.engine import RunPlan, UnknownScenario, resolve_plan

__all__ = ["add_export_parser", "build_files", "export_k6_command", "main"]

DEFAULT_OUT = "tests/load"


def add_export_parser(subparsers: argparse._SubParsersAction) -> None:
    """`export k6 ...` (a sub-command per target format; k6 is the one there is)."""
    parser = subparsers.add_parser(
        "export",
        help="export scenarios for another load tool (k6 scripts, k6-operator TestRuns)",
        description="Export scenarios from the config for another load tool.",
    )
    formats = parser.add_subparsers(dest="export_format", metavar="FORMAT")
    k6 = formats.add_parser(
        "k6",
        help="one k6 script and one k6-operator TestRun per scenario or suite",
        description="Write <name>.js (a k6 script with the same executors, thresholds, checks, "
        "groups and think times) and <name>.testrun.yaml (a k6-operator TestRun and the "
        "ConfigMap holding the script) for each scenario or suite. Secret header values "
        "(Authorization, cookies, API keys) are read from CCPLATE_SECRET_* environment variables "
        "and a Kubernetes Secret, never written.",
    )
    k6.add_argument(
        "scenarios",
        nargs="*",
        metavar="SCENARIO",
        help="scenario or suite names (default: every suite and every scenario not in one)",
    )
    k6.add_argument(
        "--out", default=DEFAULT_OUT, metavar="DIR", help=f"output folder (default: {DEFAULT_OUT})"
    )
    k6.add_argument(
        "--config", default="scenarios.toml", help="config file (default: scenarios.toml)"
    )
    k6.add_argument(
        "--parallelism",
        type=int,
        default=DEFAULT_PARALLELISM,
        metavar="N",
        help=f"k6 pods of the TestRun (default: {DEFAULT_PARALLELISM})",
    )
    k6.add_argument(
        "--k6-out",
        action="append",
        default=[],
        metavar="OUTPUT",
        help="a k6 --out for the TestRun's pods, e.g. json=/tmp/run.ndjson (repeatable)",
    )
    k6.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        metavar="F",
        help="multiply every scheduling duration by F, as `run --time-scale` does",
    )
    k6.add_argument(
        "--state",
        metavar="DIR",
        help="state folder whose run history gives relative thresholds their baseline values "
        "(default: .ccplate/ beside the config)",
    )
    k6.add_argument(
        "--secret-name",
        default=DEFAULT_SECRET_NAME,
        metavar="NAME",
        help="the Kubernetes Secret the TestRuns read secret header values from "
        f"(default: {DEFAULT_SECRET_NAME})",
    )
    k6.add_argument(
        "--include-secrets",
        action="store_true",
        help="write secret header values literally into the files (warns which ones)",
    )
    k6.set_defaults(func=export_k6_command)
    parser.set_defaults(func=lambda args: _usage("choose a format: ccplate-tui export k6 ..."))


def _usage(message: str) -> int:
    print(f"ccplate-tui export: {message}", file=sys.stderr)
    return EXIT_USAGE


def build_files(
    config: Config,
    names: Sequence[str],
    *,
    parallelism: int = DEFAULT_PARALLELISM,
    k6_outputs: Sequence[str] = (),
    baselines: Mapping[str, float] | None = None,
    time_scale: float = 1.0,
    include_secrets: bool = False,
    secret_name: str = DEFAULT_SECRET_NAME,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """File name -> content: `<name>.js` and `<name>.testrun.yaml` for each name (or the
    defaults of `export_names`). Secret header values are `__ENV` references, which the
    TestRun takes from the Secret `secret_name`, unless `include_secrets`. Raises
    UnknownScenario, ExportError, ValueError."""
    files: dict[str, str] = {}
    for name in export_names(config, names):
        plan = resolve_plan(config, [name])
        script = script_for_plan(
            config,
            plan,
            name,
            baselines=baselines,
            time_scale=time_scale,
            include_secrets=include_secrets,
            environ=environ,
        )
        secrets = [] if include_secrets else plan_secrets(config, plan.scenarios, environ)
        files[f"{name}.js"] = script
        files[f"{name}.testrun.yaml"] = render_testrun(
            name,
            f"{name}.js",
            script,
            base_url=config.target.base_url,
            parallelism=parallelism,
            k6_outputs=k6_outputs,
            secret_env=[s.env for s in secrets],
            secret_name=secret_name,
        )
    return files


def export_secrets(
    config: Config, names: Sequence[str], environ: Mapping[str, str] | None = None
) -> dict[str, list[SecretHeader]]:
    """Export name -> the secret header values its script sends (k6/secrets.py)."""
    return {
        name: plan_secrets(config, resolve_plan(config, [name]).scenarios, environ)
        for name in export_names(config, names)
    }


def _secret_notes(
    secrets: Mapping[str, list[SecretHeader]],
    out: Path,
    *,
    include_secrets: bool,
    secret_name: str,
) -> None:
    """Say on stderr where the secret values went: nowhere, or in the clear (a warning)."""
    unique = {s.env: s for found in secrets.values() for s in found}
    if not unique:
        return
    if include_secrets:
        headers = ", ".join(dict.fromkeys(s.header for s in unique.values()))
        written = ", ".join(
            str(out / f"{name}{ext}")
            for name, found in secrets.items()
            if found
            for ext in (".js", ".testrun.yaml")
        )
        print(
            f"WARN --include-secrets: the values of these headers are written in the clear: "
            f"{headers} (in {written}); do not commit or share these files",
            file=sys.stderr,
        )
        return
    print(
        "secret header values are not in these files; k6 reads them from the environment:",
        file=sys.stderr,
    )
    for s in unique.values():
        print(f"  {s.env}  the {s.header} header in {s.where}", file=sys.stderr)
    print(
        "set them in your shell, then create the Secret the TestRuns read them from:\n  "
        + kubectl_create_secret(secret_name, unique),
        file=sys.stderr,
    )


def _baselines(args: argparse.Namespace, config: Config, names: Sequence[str]) -> dict[str, float]:
    """Baseline values for the relative thresholds of the exported plans, from the run history.

    Best effort: no history (or an unreadable one, which is reported) leaves them without a
    value, and the export then says which threshold needs one.
    """
    plans: list[RunPlan] = [resolve_plan(config, [name]) for name in export_names(config, names)]
    if not any(spec.expr.relative for plan in plans for spec in plan.thresholds):
        return {}
    from ccplate_tui.load.run_registry import default_state_dir

    state = Path(args.state) if args.state else default_state_dir(args.config)
    database = state / "history.sqlite3"
    if not database.exists():
        return {}
    try:
        from ccplate_tui.history.baselines import resolve_baselines
        from ccplate_tui.history.store import HistoryStore

        store = HistoryStore(database)
    except Exception as exc:  # a damaged history must not stop an export that may not need it
        print(f"WARN run history unavailable ({exc}); no baseline values", file=sys.stderr)
        return {}
    values: dict[str, float] = {}
    try:
        for plan in plans:
            values.update(resolve_baselines(store, config, plan))
    except Exception as exc:
        print(f"WARN run history unavailable ({exc}); no baseline values", file=sys.stderr)
    finally:
        close = getattr(store, "close", None)
        if callable(close):
            close()
    return values


def export_k6_command(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    if args.parallelism < 1:
        return _usage(f"--parallelism must be at least 1, got {args.parallelism}")
    if not math.isfinite(args.time_scale) or args.time_scale <= 0:
        return _usage(f"--time-scale must be greater than 0, got {args.time_scale}")
    if not valid_secret_name(args.secret_name):
        return _usage(
            "--secret-name must be a Kubernetes name (lowercase letters, digits, '-' and '.'), "
            f"got {args.secret_name!r}"
        )
    if args.time_scale != 1.0:
        config = with_time_scale(config, args.time_scale)
    try:
        baselines = _baselines(args, config, args.scenarios)
        files = build_files(
            config,
            args.scenarios,
            parallelism=args.parallelism,
            k6_outputs=args.k6_out,
            baselines=baselines,
            time_scale=args.time_scale,
            include_secrets=args.include_secrets,
            secret_name=args.secret_name,
        )
        secrets = export_secrets(config, args.scenarios)
    except ConfigError as exc:  # ExportError: names the config key k6 cannot express
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except UnknownScenario as exc:
        return _usage(str(exc))
    except ValueError as exc:  # a bad --k6-out
        return _usage(str(exc))
    out = Path(args.out)
    try:
        for name, content in files.items():
            write_atomic(out / name, content.encode("utf-8"), shared=True)
    except OSError as exc:
        print(f"ccplate-tui export: cannot write to {out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_ERROR
    for name in files:
        print(out / name)
    _secret_notes(
        secrets,
        out,
        include_secrets=args.include_secrets,
        secret_name=args.secret_name,
    )
    if secrets:
        first = next(iter(secrets))
        flags = "" if args.include_secrets else k6_env_flags(s.env for s in secrets[first])
        print(
            f"run one with: k6 run -e BASE_URL={config.target.base_url.rstrip('/')}{flags} "
            f"{out / (first + '.js')}",
            file=sys.stderr,
        )
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """`ccplate-tui export ...` on its own (for tests and callers without the full CLI)."""
    parser = argparse.ArgumentParser(prog="ccplate-tui")
    add_export_parser(parser.add_subparsers(dest="command"))
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        return _usage("choose a format: ccplate-tui export k6 ...")
    return int(args.func(args))
