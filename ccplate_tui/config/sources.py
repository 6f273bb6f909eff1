"""`[sources.NAME]`: metric sources sampled during load runs, read and checked at load time.

One of four kinds per source:

* `prometheus = "http://…"` with `query = "…"`: Prometheus' HTTP API (`GET /api/v1/query`),
  whose answer must be one number (a scalar, or a vector of one sample);
* `metrics = "http://…/metrics"` with `metric = "name"` and optional `labels = { k = "v" }`:
  a Prometheus text endpoint;
* `json = "http://…"` with `path = "a.b[0].c"`: a number inside a JSON document;
* `command = ["argv", …]`: a command that prints a number.

Each takes `timeout` (default 2s), `unit` and `allow_remote`. A URL that is not a loopback
address is refused unless the source says `allow_remote = true`, exactly as load traffic is.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from ccplate_tui.config.errors import KeyPath
from ccplate_tui.config.model import SourceKind, SourceSpec
from ccplate_tui.config.reader import TomlReader, describe_value
from ccplate_tui.config.thresholds import ThresholdExpr, ThresholdSyntaxError, method_label
from ccplate_tui.load.metrics import BUILTIN_METRICS
from ccplate_tui.loopback import is_loopback_url

DEFAULT_TIMEOUT = 2.0
KINDS: tuple[SourceKind, ...] = ("prometheus", "metrics", "json", "command")
_KIND_KEYS: dict[str, tuple[str, ...]] = {
    "prometheus": ("query",),
    "metrics": ("metric", "labels"),
    "json": ("path",),
    "command": (),
}
_COMMON_KEYS = ("timeout", "unit", "allow_remote")
_SOURCE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PROM_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_PATH_STEP = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[\"([^\"]*)\"\]")

JsonPath = tuple[str | int, ...]


def parse_json_path(text: str) -> JsonPath:
    """`a.b[0].c` (or `items[2]["odd key"]`) as its steps; ValueError names the bad character."""
    steps: list[str | int] = []
    at = 0
    while at < len(text):
        match = _PATH_STEP.match(text, at)
        if match is None or (match.group(0).startswith(".") and at == 0):
            raise ValueError(
                f"expected a path like a.b[0].c, got {text!r} (stuck at character {at + 1})"
            )
        if match.group(1) is not None:
            if at > 0 and not match.group(0).startswith("."):
                raise ValueError(f"expected '.' or '[' before {match.group(1)!r} in {text!r}")
            steps.append(match.group(1))
        elif match.group(2) is not None:
            steps.append(int(match.group(2)))
        else:
            steps.append(match.group(3))
        at = match.end()
    if not steps:
        raise ValueError("expected a path like a.b[0].c, got an empty string")
    return tuple(steps)


def read_sources(reader: TomlReader, value: Any, path: KeyPath) -> dict[str, SourceSpec]:
    """Every `[sources.NAME]` table, checked; errors name the key path."""
    return {
        name: _source(reader, name, item, (*path, name))
        for name, item in reader.table(value, path).items()
    }


def _source(reader: TomlReader, name: str, value: Any, path: KeyPath) -> SourceSpec:
    if not _SOURCE_NAME.fullmatch(name):
        raise reader.error(
            path,
            "a source name is its metric's name in thresholds: letters, digits and '_', "
            "not starting with a digit",
            at="key",
        )
    if name in BUILTIN_METRICS:
        raise reader.error(path, f"'{name}' is a built-in metric; name the source otherwise", "key")
    kinds = [kind for kind in KINDS if kind in reader.table(value, path)]
    if len(kinds) != 1:
        what = "none" if not kinds else f"both {kinds[0]} and {kinds[1]}"
        raise reader.error(
            path if not kinds else (*path, kinds[1]),
            f"a source needs exactly one of {', '.join(KINDS)}; got {what}",
            at="key",
        )
    kind = kinds[0]
    table = reader.table(value, path, (kind, *_KIND_KEYS[kind], *_COMMON_KEYS))
    allow_remote = reader.get(table, path, "allow_remote", reader.boolean, False)
    spec = SourceSpec(
        name=name,
        kind=kind,
        timeout=reader.get(table, path, "timeout", reader.duration, DEFAULT_TIMEOUT),
        unit=reader.get(table, path, "unit", reader.string, ""),
        allow_remote=allow_remote,
    )
    if kind == "command":
        argv = reader.array(table["command"], (*path, "command"), "strings (the argv)")
        for index, item in enumerate(argv):
            reader.string(item, (*path, "command", index), non_empty=index == 0)
        return replace(spec, command=tuple(argv))
    url = _url(reader, table[kind], (*path, kind), allow_remote, name)
    if kind == "prometheus":
        query = reader.get(
            table, path, "query", lambda v, p: reader.string(v, p, non_empty=True),
            why=' (the PromQL query, e.g. "rate(process_cpu_seconds_total[1m])")',
        )  # fmt: skip
        return replace(spec, url=url.rstrip("/"), query=query)
    if kind == "metrics":
        metric = reader.get(table, path, "metric", reader.string, why=" (the metric's name)")
        if not _PROM_NAME.fullmatch(metric):
            raise reader.error(
                (*path, "metric"),
                f"expected a Prometheus metric name, got {describe_value(metric)}",
            )
        labels = reader.get(table, path, "labels", reader.text_table, ())
        return replace(spec, url=url, query=metric, labels=labels)
    json_path = reader.get(table, path, "path", reader.string, why=' (like "a.b[0].c")')
    try:
        parse_json_path(json_path)
    except ValueError as exc:
        raise reader.error((*path, "path"), str(exc)) from None
    return replace(spec, url=url, query=json_path)


def _url(reader: TomlReader, value: Any, path: KeyPath, allow_remote: bool, name: str) -> str:
    url = reader.string(value, path)
    expected = (
        'expected an http:// or https:// URL with a host, like "http://127.0.0.1:8787/metrics"'
    )
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        raise reader.error(path, f"{expected}, got {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise reader.error(path, f"{expected}, got {url!r}")
    if not allow_remote and not is_loopback_url(url):
        raise reader.error(
            path,
            f"refusing to sample {url}: it is not a loopback address. Set `allow_remote = true` "
            f"under [sources.{name}] if you own that server and mean it",
        )
    return url


SOURCE_AGGREGATIONS = ("value", "avg", "min", "max", "med", "p")
"""What a threshold on a source may compare: the last sample (`value`), or one over the run."""


def validate_source_threshold(name: str, expr: ThresholdExpr) -> None:
    """Refuse an aggregation a source's samples do not have, or a baseline-relative limit."""
    if expr.aggregation not in SOURCE_AGGREGATIONS:
        raise ThresholdSyntaxError(
            f"{method_label(expr)!r} is not valid for source {name}; use value (the last "
            "sample), avg, min, max, med or p(N) over the run",
            expr.source,
            len(expr.source) - len(expr.source.lstrip()),
        )
    if expr.relative:
        raise ThresholdSyntaxError(
            f"a threshold on source {name} compares with a number, not the baseline",
            expr.source,
            expr.source.find("baseline"),
        )
