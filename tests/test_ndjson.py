"""`--out jsonl=FILE`: k6 NDJSON records, per-interval aggregation, gzip, live flushing."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import pytest

from ccplate_tui.config.thresholds import ThresholdExpr, ThresholdSpec
from ccplate_tui.load.metrics import Counter, MetricSet
from ccplate_tui.load.ndjson import NdjsonWriter, rfc3339_nano
from ccplate_tui.load.snapshot import IntervalSnapshot

Tag = tuple[tuple[str, str], ...]
START = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def tags(**pairs: str) -> Tag:
    return tuple(sorted(pairs.items()))


def spec(
    key: str, source: str, *, abort: bool = False, delay: float | None = None
) -> ThresholdSpec:
    metric = key.split("{", 1)[0]
    filt: Tag = ()
    if "{" in key:
        name, _, value = key[key.index("{") + 1 : -1].partition(":")
        filt = ((name, value),)
    expr = ThresholdExpr(source, "p", 95.0, "<", 500.0)
    return ThresholdSpec(key, metric, filt, expr, abort_on_fail=abort, delay_abort_eval=delay)


SPECS = [
    spec("http_req_duration", "p(95)<500"),
    spec("http_req_duration{scenario:steady}", "p(90)<300"),
    spec("http_req_failed", "rate<0.05", abort=True, delay=1.0),
    spec("checks", "rate>0.9", abort=True),
]
OK = tags(scenario="steady", name="GET /", method="GET", status="200", expected_response="true")
BAD = tags(scenario="steady", name="GET /", method="GET", status="500", expected_response="false")


def snapshot(index: int, ok: int, bad: int) -> IntervalSnapshot:
    m = MetricSet()
    for i in range(ok):
        m.sink("http_reqs", OK).value += 1  # type: ignore[union-attr]
        m.sink("http_req_duration", OK).add(1.0 + i * 0.25)  # type: ignore[union-attr]
        m.sink("http_req_failed", OK).add(False)  # type: ignore[union-attr]
    for _ in range(bad):
        m.sink("http_reqs", BAD).value += 1  # type: ignore[union-attr]
        m.sink("http_req_duration", BAD).add(2.0)  # type: ignore[union-attr]
        m.sink("http_req_failed", BAD).add(True)  # type: ignore[union-attr]
    m.sink("vus", tags(scenario="steady")).set(index + 2)  # type: ignore[union-attr]
    m.sink("data_received", tags(scenario="steady")).value = 1000 * (ok + bad)  # type: ignore[union-attr]
    return IntervalSnapshot(
        index=index,
        start=float(index),
        end=float(index + 1),
        metrics=m,
        wall_time=START + index + 1 + 0.5,
    )


def read(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_record_shapes_and_key_orders(tmp_path: Path) -> None:
    out = tmp_path / "run.jsonl"
    with NdjsonWriter(out, SPECS) as writer:
        writer.write_snapshot(snapshot(0, ok=4, bad=1))
    records = read(out)
    metric = next(
        r for r in records if r["type"] == "Metric" and r["metric"] == "http_req_duration"
    )
    assert list(metric) == ["type", "data", "metric"]
    assert metric["data"] == {
        "name": "http_req_duration",
        "type": "trend",
        "contains": "time",
        # The submetric's own threshold appears nowhere, as in k6.
        "thresholds": ["p(95)<500"],
        "submetrics": [
            {
                "name": "http_req_duration{scenario:steady}",
                "suffix": "scenario:steady",
                "tags": {"scenario": "steady"},
            },
            {
                "name": "http_req_duration{expected_response:true}",
                "suffix": "expected_response:true",
                "tags": {"expected_response": "true"},
            },
        ],
    }
    assert list(metric["data"]) == ["name", "type", "contains", "thresholds", "submetrics"]
    failed = next(r for r in records if r["type"] == "Metric" and r["metric"] == "http_req_failed")
    assert failed["data"]["thresholds"] == [
        {"threshold": "rate<0.05", "abortOnFail": True, "delayAbortEval": "1s"}
    ]
    assert failed["data"]["submetrics"] is None
    received = next(r for r in records if r["type"] == "Metric" and r["metric"] == "data_received")
    assert (received["data"]["contains"], received["data"]["thresholds"]) == ("data", [])
    point = next(r for r in records if r["type"] == "Point")
    assert list(point) == ["metric", "type", "data"]
    assert list(point["data"])[:3] == ["time", "value", "tags"]


def test_raw_lines_use_k6_key_order_and_compact_json(tmp_path: Path) -> None:
    out = tmp_path / "run.jsonl"
    with NdjsonWriter(out, SPECS) as writer:
        writer.write_snapshot(snapshot(0, ok=1, bad=0))
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == (
        '{"type":"Metric","data":{"name":"data_received","type":"counter","contains":"data",'
        '"thresholds":[],"submetrics":null},"metric":"data_received"}'
    )
    assert lines[1] == (
        '{"metric":"data_received","type":"Point","data":{"time":"2023-11-14T22:13:21.5Z",'
        '"value":1000,"tags":{"scenario":"steady"},"metadata":{"aggregation":"interval"}}}'
    )


def test_metric_record_precedes_first_point_and_appears_once(tmp_path: Path) -> None:
    out = tmp_path / "run.jsonl"
    with NdjsonWriter(out, SPECS) as writer:
        writer.write_snapshot(snapshot(0, ok=2, bad=0))
        writer.write_snapshot(snapshot(1, ok=3, bad=2))
    records = read(out)
    seen: set[str] = set()
    for record in records:
        if record["type"] == "Metric":
            assert record["metric"] not in seen, "Metric record written twice"
            seen.add(record["metric"])
        else:
            assert record["metric"] in seen, "Point before its Metric record"
    assert seen == {"http_reqs", "http_req_duration", "http_req_failed", "vus", "data_received"}


def test_interval_aggregates(tmp_path: Path) -> None:
    out = tmp_path / "run.jsonl"
    with NdjsonWriter(out, SPECS) as writer:
        writer.write_snapshot(snapshot(0, ok=4, bad=1))
    points = {
        (r["metric"], r["data"]["tags"].get("status")): r["data"]
        for r in read(out)
        if r["type"] == "Point"
    }
    trend = points[("http_req_duration", "200")]
    # Samples 1.0, 1.25, 1.5, 1.75 ms (exact in the HDR histogram).
    assert trend["value"] == 1.375
    assert trend["metadata"] == {
        "aggregation": "interval",
        "count": 4,
        "min": 1,
        "max": 1.75,
        "p50": 1.25,
        "p90": 1.75,
        "p95": 1.75,
        "p99": 1.75,
    }
    failed = points[("http_req_failed", "500")]
    assert (failed["value"], failed["metadata"]) == (
        1,
        {"aggregation": "interval", "passes": 1, "total": 1},
    )
    assert points[("http_req_failed", "200")]["value"] == 0
    assert points[("vus", None)] == {
        "time": "2023-11-14T22:13:21.5Z",
        "value": 2,
        "tags": {"scenario": "steady"},
    }
    assert points[("http_reqs", "200")]["value"] == 4


def test_counter_points_sum_to_the_run_totals(tmp_path: Path) -> None:
    out = tmp_path / "run.jsonl"
    snapshots = [snapshot(i, ok=i + 1, bad=i % 2) for i in range(5)]
    totals = MetricSet()
    with NdjsonWriter(out, SPECS) as writer:
        for snap in snapshots:
            writer.write_snapshot(snap)
            totals.accumulate(snap.metrics)
    sums: dict[tuple[str, tuple], float] = {}
    for r in read(out):
        if r["type"] == "Point" and r["metric"] in ("http_reqs", "data_received"):
            key = (r["metric"], tuple(sorted(r["data"]["tags"].items())))
            sums[key] = sums.get(key, 0) + r["data"]["value"]
    expected = {k: s.value for k, s in totals.series.items() if isinstance(s, Counter)}
    assert sums == expected
    assert sum(v for (m, _), v in sums.items() if m == "http_reqs") == 15 + 2


def test_gz_suffix_gzips_and_is_readable_before_close(tmp_path: Path) -> None:
    out = tmp_path / "run.jsonl.gz"
    writer = NdjsonWriter(out, SPECS)
    writer.write_snapshot(snapshot(0, ok=1, bad=0))
    # Flushed: a tailing reader can already decompress everything written so far.
    partial = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(out.read_bytes())
    lines = partial.decode().splitlines()
    assert lines and all(json.loads(line) for line in lines)
    writer.close()
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    assert [r["type"] for r in read(out)][:2] == ["Metric", "Point"]


def test_plain_file_is_flushed_after_each_snapshot(tmp_path: Path) -> None:
    out = tmp_path / "live.jsonl"
    writer = NdjsonWriter(out, [])
    writer.write_snapshot(snapshot(0, ok=1, bad=0))
    first = out.read_text(encoding="utf-8").splitlines()
    writer.write_snapshot(snapshot(1, ok=1, bad=0))
    second = out.read_text(encoding="utf-8").splitlines()
    writer.close()
    assert first and len(second) > len(first)
    assert all(json.loads(line) for line in second)


def test_writing_after_close_and_bad_paths_fail_clearly(tmp_path: Path) -> None:
    writer = NdjsonWriter(tmp_path / "x.jsonl", [])
    writer.close()
    writer.close()  # idempotent
    with pytest.raises(ValueError, match=r"x.jsonl is already closed"):
        writer.write_snapshot(snapshot(0, ok=1, bad=0))
    with pytest.raises(OSError, match=r"cannot open --out jsonl file .*nodir/out.jsonl"):
        NdjsonWriter(tmp_path / "nodir" / "out.jsonl", [])


def test_empty_series_are_skipped(tmp_path: Path) -> None:
    m = MetricSet()
    m.sink("http_req_duration", OK)
    m.sink("http_req_failed", OK)
    out = tmp_path / "empty.jsonl"
    with NdjsonWriter(out, []) as writer:
        writer.write_snapshot(
            IntervalSnapshot(index=0, start=0.0, end=1.0, metrics=m, wall_time=START)
        )
    assert out.read_text(encoding="utf-8") == ""


@pytest.mark.parametrize(
    ("unix", "expected"),
    [
        (START, "2023-11-14T22:13:20Z"),
        (START + 0.5, "2023-11-14T22:13:20.5Z"),
        (START + 0.107351, "2023-11-14T22:13:20.107351Z"),
        (START + 0.9999996, "2023-11-14T22:13:21Z"),
    ],
)
def test_rfc3339_nano_timestamps(unix: float, expected: str) -> None:
    assert rfc3339_nano(unix) == expected
