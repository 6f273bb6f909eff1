"""k6's legacy `--summary-export` JSON: exact keys, inverted threshold booleans, check ids."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ccplate_tui.config.model import (
    CheckSpec,
    Config,
    ExecutorSpec,
    OptionsSpec,
    RequestSpec,
    ScenarioSpec,
    TargetSpec,
)
from ccplate_tui.config.thresholds import ThresholdExpr, ThresholdSpec
from ccplate_tui.load.metrics import Gauge, MetricSet
from ccplate_tui.load.results import RunResult
from ccplate_tui.load.snapshot import ScenarioProgress
from ccplate_tui.load.summary_export import k6_id, summary_export, write_summary_export
from ccplate_tui.load.thresholds import ThresholdResult

Tag = tuple[tuple[str, str], ...]


def tags(**pairs: str) -> Tag:
    return tuple(sorted(pairs.items()))


def _scenario(name: str, executor: ExecutorSpec, group: str | None = None) -> ScenarioSpec:
    request = RequestSpec(
        method="GET",
        path="/",
        name="GET /",
        group=group,
        checks=(CheckSpec("status is 200", "status == 200", None),),
    )
    return ScenarioSpec(name=name, executor=executor, requests=(request,))


OPEN = _scenario(
    "open",
    ExecutorSpec(
        executor="constant-arrival-rate",
        rate=10,
        time_unit=1.0,
        duration=4.0,
        pre_allocated_vus=2,
        max_vus=2,
    ),
)
CLOSED = _scenario("closed", ExecutorSpec(executor="constant-vus", vus=2, duration=4.0), "outer")
CONFIG = Config(
    path="scenarios.toml",
    target=TargetSpec(),
    options=OptionsSpec(summary_trend_stats=("avg", "min", "med", "max", "p(90)", "p(95)")),
    scenarios={"open": OPEN, "closed": CLOSED},
)


def _result(thresholds: list[ThresholdResult]) -> RunResult:
    m = MetricSet()
    for scenario, ms, status in (
        ("open", 1.0, "200"),
        ("open", 1.5, "500"),
        ("closed", 0.5, "200"),
    ):
        t = tags(
            scenario=scenario,
            name="GET /",
            method="GET",
            status=status,
            expected_response="true" if status == "200" else "false",
        )
        m.sink("http_reqs", t).value += 1  # type: ignore[union-attr]
        m.sink("http_req_duration", t).add(ms)  # type: ignore[union-attr]
        m.sink("http_req_failed", t).add(status != "200")  # type: ignore[union-attr]
    m.sink("http_req_duration_uncorrected", tags(scenario="open", name="GET /")).add(0.5)  # type: ignore[union-attr]
    m.sink("checks", tags(scenario="open", check="status is 200")).add(True)  # type: ignore[union-attr]
    m.sink("checks", tags(scenario="open", check="status is 200")).add(False)  # type: ignore[union-attr]
    m.sink("checks", tags(scenario="closed", check="status is 200", group="::outer")).add(True)  # type: ignore[union-attr]
    m.sink("group_duration", tags(scenario="closed", group="::outer")).add(1.0)  # type: ignore[union-attr]
    m.sink("group_duration", tags(scenario="closed", group="::outer::inner")).add(0.5)  # type: ignore[union-attr]
    m.sink("data_sent", tags(scenario="open")).value = 300  # type: ignore[union-attr]
    vus = m.sink("vus", tags(scenario="open"))
    assert isinstance(vus, Gauge)
    vus.value, vus.min, vus.max = 1, 0, 2
    return RunResult(
        config=CONFIG,
        scenario_names=("open", "closed"),
        totals=m,
        duration=4.0,
        thresholds=thresholds,
        progress=(
            ScenarioProgress("open", "done", 4.0, 4.0, 0, 2, 2, 0, 0),
            ScenarioProgress("closed", "done", 4.0, 4.0, 0, 2, 1, 0, 0),
        ),
        started_at=1_700_000_000.0,
        stopped="aborted",
    )


def _threshold(
    key: str, metric: str, filt: Tag, source: str, ok: bool | None, observed: float | None
) -> ThresholdResult:
    expr = ThresholdExpr(source, source.split("<")[0].split("(")[0], None, "<", 0.0)
    return ThresholdResult(ThresholdSpec(key, metric, filt, expr), ok, observed)


THRESHOLDS = [
    _threshold("http_req_duration", "http_req_duration", (), "p(95)<500", True, 1.5),
    _threshold("http_req_duration", "http_req_duration", (), "avg<1", False, 1.0),
    _threshold(
        "http_req_duration{scenario:open}",
        "http_req_duration",
        (("scenario", "open"),),
        "p(90)<300",
        True,
        1.5,
    ),
    _threshold("http_req_failed", "http_req_failed", (), "rate<0.01", False, 1 / 3),
    _threshold(
        "http_req_duration{name:missing}",
        "http_req_duration",
        (("name", "missing"),),
        "p(99)<200",
        None,
        None,
    ),
]


def test_top_level_and_root_group_shape() -> None:
    export = summary_export(_result(THRESHOLDS))
    assert list(export) == ["root_group", "metrics", "ccplate"]
    root = export["root_group"]
    assert list(root) == ["name", "path", "id", "groups", "checks"]
    assert (root["name"], root["path"], root["id"]) == ("", "", "d41d8cd98f00b204e9800998ecf8427e")
    # The id k6 gives a root check named 'status is 200' (as in k6's docs).
    assert root["checks"] == {
        "status is 200": {
            "name": "status is 200",
            "path": "::status is 200",
            "id": "6210a8cd14cd70477eba5c5e4cb3fb5f",
            "passes": 1,
            "fails": 1,
        }
    }


def test_groups_nest_by_name_with_md5_of_their_paths() -> None:
    outer = summary_export(_result(THRESHOLDS))["root_group"]["groups"]["outer"]
    assert outer["path"] == "::outer"
    assert outer["id"] == hashlib.md5(b"::outer").hexdigest()
    assert outer["checks"]["status is 200"]["path"] == "::outer::status is 200"
    assert outer["checks"]["status is 200"]["id"] == k6_id("::outer::status is 200")
    assert (
        outer["checks"]["status is 200"]["passes"],
        outer["checks"]["status is 200"]["fails"],
    ) == (1, 0)
    inner = outer["groups"]["inner"]
    assert inner == {
        "name": "inner",
        "path": "::outer::inner",
        "id": hashlib.md5(b"::outer::inner").hexdigest(),
        "groups": {},
        "checks": {},
    }


def test_metric_values_and_inverted_threshold_booleans() -> None:
    metrics = summary_export(_result(THRESHOLDS))["metrics"]
    duration = metrics["http_req_duration"]
    assert list(duration) == ["avg", "min", "med", "max", "p(90)", "p(95)", "thresholds"]
    assert duration["min"] == 0.5 and duration["max"] == 1.5 and duration["med"] == 1.0
    assert duration["avg"] == pytest.approx(1.0)
    # k6's legacy export: true means the threshold FAILED.
    assert duration["thresholds"] == {"p(95)<500": False, "avg<1": True}
    assert metrics["http_req_failed"] == {
        "passes": 1,
        "fails": 2,
        "thresholds": {"rate<0.01": True},
        "value": 1 / 3,
    }
    # k6 moves a rate's `rate` to `value` after adding `thresholds`, so `value` comes last.
    assert list(metrics["http_req_failed"]) == ["passes", "fails", "thresholds", "value"]
    assert metrics["http_reqs"] == {"count": 3, "rate": 0.75}
    assert list(metrics["vus"]) == ["value", "min", "max"]
    assert metrics["data_sent"] == {"count": 300, "rate": 75}
    assert metrics["vus"] == {"value": 1, "min": 0, "max": 2}
    assert metrics["checks"] == {"passes": 2, "fails": 1, "value": 2 / 3}


def test_submetrics_are_their_own_keys_and_no_data_counts_as_failed() -> None:
    metrics = summary_export(_result(THRESHOLDS))["metrics"]
    expected = metrics["http_req_duration{expected_response:true}"]
    assert (expected["min"], expected["max"], "thresholds" in expected) == (0.5, 1.0, False)
    scoped = metrics["http_req_duration{scenario:open}"]
    assert (scoped["min"], scoped["max"], scoped["thresholds"]) == (1.0, 1.5, {"p(90)<300": False})
    missing = metrics["http_req_duration{name:missing}"]
    assert missing == {
        "avg": 0,
        "min": 0,
        "med": 0,
        "max": 0,
        "p(90)": 0,
        "p(95)": 0,
        "thresholds": {"p(99)<200": True},
    }
    keys = list(metrics)
    assert keys == sorted(keys, key=lambda k: (k.split("{")[0], k[len(k.split("{")[0]) :]))


def test_ccplate_block() -> None:
    extra = summary_export(_result(THRESHOLDS))["ccplate"]
    assert extra["thresholds_no_data"] == [
        {"metric": "http_req_duration{name:missing}", "threshold": "p(99)<200"}
    ]
    assert extra["stopped"] == "aborted"
    assert extra["duration_s"] == 4.0
    assert [t["ok"] for t in extra["thresholds"]] == [True, False, True, False, None]
    uncorrected = extra["uncorrected"]
    assert list(uncorrected) == ["open"]
    assert uncorrected["open"]["http_req_duration"]["max"] == 1.5
    assert uncorrected["open"]["http_req_duration_uncorrected"]["max"] == 0.5


def test_written_file_is_k6_indented_json(tmp_path: Path) -> None:
    out = tmp_path / "summary.json"
    write_summary_export(_result(THRESHOLDS), out)
    text = out.read_text(encoding="utf-8")
    assert text.startswith('{\n    "root_group": {\n        "name": "",')
    assert json.loads(text) == json.loads(json.dumps(summary_export(_result(THRESHOLDS))))


def test_unwritable_path_names_the_file(tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "summary.json"
    with pytest.raises(
        OSError, match=r"cannot write --summary-export file .*missing-dir/summary.json"
    ):
        write_summary_export(_result([]), target)


def test_empty_run_still_exports_a_root_group() -> None:
    result = _result([])
    result.totals = MetricSet()
    export = summary_export(result)
    assert export["metrics"] == {}
    assert export["root_group"] == {
        "name": "",
        "path": "",
        "id": "d41d8cd98f00b204e9800998ecf8427e",
        "groups": {},
        "checks": {},
    }
