"""Metric sources (`[sources.NAME]`): config checks, each kind read from a real loopback server
or command, timeouts as NO DATA, thresholds, the summary, `--out jsonl` and the history (a
killed run included)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from ccplate_tui.config.errors import ConfigError
from ccplate_tui.config.loader import load_config, parse_config
from ccplate_tui.config.model import SourceSpec
from ccplate_tui.config.sources import parse_json_path
from ccplate_tui.history.recorder import HistoryRecorder
from ccplate_tui.history.store import HistoryStore, history_path
from ccplate_tui.k6.runner import K6Run
from ccplate_tui.load.engine import LoadRun, resolve_plan
from ccplate_tui.load.metrics import MetricSet
from ccplate_tui.load.ndjson import NdjsonWriter
from ccplate_tui.load.snapshot import IntervalSnapshot
from ccplate_tui.load.source_samples import SourceSample, sample_aggregate
from ccplate_tui.load.sources import SourceSampler, sample_source
from ccplate_tui.load.summary import render_summary
from ccplate_tui.load.thresholds import ThresholdEvaluator
from tests.http_fixtures import FixtureServer, fixture_server
from tests.k6_export_helpers import requires_k6

METRICS_PAGE = """\
# HELP ccplate_db_cpu_percent CPU used by database work.
# TYPE ccplate_db_cpu_percent gauge
ccplate_db_cpu_percent 12.5
# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{route="/a",status="200"} 7.0
http_requests_total{route="/b",status="200"} 3.0
"""
PROM_ANSWER = {
    "status": "success",
    "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1764700000.1, "41.5"]}]},
}
DOCUMENT = {"db": {"pools": [{"cpu": 33.25}, {"cpu": 1}]}, "name": "x"}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path == "/metrics":
            self._send(200, METRICS_PAGE.encode(), "text/plain; version=0.0.4")
        elif path == "/api/v1/query":
            type(self).queries.append(query)
            self._send(200, json.dumps(PROM_ANSWER).encode(), "application/json")
        elif path == "/doc":
            self._send(200, json.dumps(DOCUMENT).encode(), "application/json")
        elif path == "/slow":
            time.sleep(1.0)
            self._send(200, b"1", "text/plain")
        else:
            self._send(404, b"not here", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # a client that gave up waiting (the timeout tests)

    def log_message(self, *args: object) -> None:
        pass

    queries: ClassVar[list[str]] = []


@pytest.fixture(scope="module")
def metrics_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[FixtureServer]:
    with fixture_server() as srv:
        yield srv


SCENARIO = """
[scenarios.a]
executor = "constant-vus"
duration = "1s"
[[scenarios.a.requests]]
path = "/ok"
"""


def _parse(sources: str, extra: str = "") -> dict[str, SourceSpec]:
    return parse_config(sources + SCENARIO + extra).sources


# --- config -------------------------------------------------------------------------------------


def test_each_kind_parses(metrics_server: str) -> None:
    got = _parse(
        f"""
[sources.prom]
prometheus = "{metrics_server}/"
query = "sum(rate(x[1m]))"
[sources.page]
metrics = "{metrics_server}/metrics"
metric = "http_requests_total"
labels = {{ route = "/a" }}
timeout = "500ms"
unit = "req"
[sources.doc]
json = "http://localhost:9/doc"
path = "db.pools[0].cpu"
[sources.cmd]
command = ["python3", "-c", "print(42)"]
"""
    )
    assert got["prom"].kind == "prometheus" and got["prom"].url == metrics_server
    assert got["prom"].query == "sum(rate(x[1m]))" and got["prom"].timeout == 2.0
    assert got["page"].labels == (("route", "/a"),) and got["page"].timeout == 0.5
    assert got["page"].unit == "req"
    assert got["doc"].query == "db.pools[0].cpu"
    assert got["cmd"].command == ("python3", "-c", "print(42)")


@pytest.mark.parametrize(
    ("body", "key_path", "words"),
    [
        ('[sources.x]\nunit = "%"\n', "sources.x", "exactly one of prometheus"),
        (
            '[sources.x]\njson = "http://127.0.0.1/a"\npath = "a"\ncommand = ["true"]\n',
            "sources.x.command",
            "got both json and command",
        ),
        ('[sources.x]\nprometheus = "http://127.0.0.1:9090"\n', "sources.x.query", "missing"),
        ('[sources.x]\nmetrics = "http://127.0.0.1/m"\n', "sources.x.metric", "missing"),
        (
            '[sources.x]\nmetrics = "http://127.0.0.1/m"\nmetric = "a b"\n',
            "sources.x.metric",
            "Prometheus metric name",
        ),
        (
            '[sources.x]\njson = "http://127.0.0.1/a"\npath = "a..b"\n',
            "sources.x.path",
            "a path like",
        ),
        ('[sources.x]\njson = "ftp://127.0.0.1/a"\npath = "a"\n', "sources.x.json", "http://"),
        ("[sources.x]\ncommand = []\n", "sources.x.command", "at least one"),
        ('[sources.x]\ncommand = "print 1"\n', "sources.x.command", "expected an array"),
        ('[sources.x]\ncommand = ["true"]\ntimeout = 2\n', "sources.x.timeout", "duration"),
        ('[sources.x]\ncommand = ["true"]\nquery = "q"\n', "sources.x.query", "unknown key"),
        ('[sources.x]\ncommand = ["true"]\nallow_remote = "yes"\n', "sources.x.allow_remote", ""),
        ('[sources.1x]\ncommand = ["true"]\n', "sources.1x", "source name"),
        ('[sources.vus]\ncommand = ["true"]\n', "sources.vus", "built-in metric"),
    ],
)
def test_bad_sources_name_the_key(body: str, key_path: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _parse(body)
    assert caught.value.key_path == key_path
    assert words in caught.value.message
    assert caught.value.line is not None


def test_a_remote_source_is_refused_before_any_connection() -> None:
    # 192.0.2.1 is TEST-NET-1: were it contacted, the test would hang rather than fail fast.
    with pytest.raises(ConfigError) as caught:
        _parse('[sources.x]\nmetrics = "http://192.0.2.1:9100/metrics"\nmetric = "m"\n')
    assert caught.value.key_path == "sources.x.metrics"
    assert "not a loopback address" in caught.value.message
    assert "allow_remote = true" in caught.value.message
    allowed = _parse(
        '[sources.x]\nmetrics = "http://192.0.2.1:9100/metrics"\nmetric = "m"\nallow_remote = true\n'
    )
    assert allowed["x"].allow_remote is True


def test_a_bad_source_exits_2_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.toml"
    path.write_text('[sources.x]\njson = "http://example.com/a"\npath = "a"\n' + SCENARIO)
    done = subprocess.run(
        [sys.executable, "-m", "ccplate_tui", "run", "--config", str(path), "--state", "s"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "sources.x.json" in done.stderr and "not a loopback address" in done.stderr


def test_thresholds_on_sources() -> None:
    scoped = SCENARIO.replace(
        "[[scenarios.a", 'thresholds = { db_cpu = ["value<10"] }\n[[scenarios.a'
    )
    config = parse_config(
        '[sources.db_cpu]\ncommand = ["true"]\n[thresholds]\ndb_cpu = ["max<50", "p(95)<40"]\n'
        + scoped
    )
    assert [t.key for t in config.thresholds] == ["db_cpu", "db_cpu"]
    # A scenario's threshold on a source is not scoped by scenario: sources have no tags.
    assert config.scenarios["a"].thresholds[0].key == "db_cpu"
    for bad, words in [
        ('db_cpu = ["rate<1"]', "not valid for source db_cpu"),
        ('db_cpu = ["count<1"]', "not valid for source db_cpu"),
        ('db_cpu = ["max<baseline"]', "not the baseline"),
        ('"db_cpu{scenario:a}" = ["max<1"]', "no tags"),
        ('db_cpux = ["max<1"]', "unknown metric"),
    ]:
        with pytest.raises(ConfigError) as caught:
            parse_config(f'[sources.db_cpu]\ncommand = ["true"]\n[thresholds]\n{bad}\n' + SCENARIO)
        assert words in caught.value.message, bad
        assert caught.value.key_path is not None and caught.value.key_path.startswith("thresholds")


def test_json_paths() -> None:
    assert parse_json_path("a.b[0].c") == ("a", "b", 0, "c")
    assert parse_json_path('[2]["odd key"].x-y') == (2, "odd key", "x-y")
    for bad in ("", ".a", "a..b", "a[x]", "a b"):
        with pytest.raises(ValueError):
            parse_json_path(bad)


# --- reading each kind --------------------------------------------------------------------------


def _sample(spec: SourceSpec) -> SourceSample:
    async def go() -> SourceSample:
        async with httpx.AsyncClient(trust_env=False) as client:
            return await sample_source(client, spec, time.perf_counter(), time.time())

    return asyncio.run(go())


def test_each_kind_reads_its_number(metrics_server: str) -> None:
    prom = _sample(SourceSpec("p", "prometheus", url=metrics_server, query="up == 1"))
    assert (prom.value, prom.error) == (41.5, None)
    assert "query=up+%3D%3D+1" in _Handler.queries[-1]
    page = _sample(
        SourceSpec("m", "metrics", url=metrics_server + "/metrics", query="ccplate_db_cpu_percent")
    )
    assert page.value == 12.5
    labelled = _sample(
        SourceSpec(
            "m",
            "metrics",
            url=metrics_server + "/metrics",
            query="http_requests_total",
            labels=(("route", "/b"),),
        )
    )
    assert labelled.value == 3.0
    doc = _sample(SourceSpec("j", "json", url=metrics_server + "/doc", query="db.pools[0].cpu"))
    assert doc.value == 33.25
    cmd = _sample(SourceSpec("c", "command", command=(sys.executable, "-c", "print(42)")))
    assert (cmd.value, cmd.error) == (42.0, None)


def test_answers_without_one_number_say_why(metrics_server: str) -> None:
    page = metrics_server + "/metrics"
    cases = [
        (SourceSpec("m", "metrics", url=page, query="http_requests_total"), "2 samples match"),
        (SourceSpec("m", "metrics", url=page, query="nope"), "no sample nope"),
        (SourceSpec("j", "json", url=metrics_server + "/doc", query="db.x"), "no 'x' under db"),
        (SourceSpec("j", "json", url=metrics_server + "/doc", query="name"), "not a number"),
        (SourceSpec("j", "json", url=metrics_server + "/missing", query="a"), "HTTP 404"),
        (SourceSpec("c", "command", command=(sys.executable, "-c", "exit(3)")), "exit 3"),
        (SourceSpec("c", "command", command=("/nonexistent/tool",)), "could not start"),
        (SourceSpec("c", "command", command=(sys.executable, "-c", "print('hi')")), "not a number"),
        (SourceSpec("j", "json", url="http://127.0.0.1:9/doc", query="a"), ""),
    ]
    for spec, words in cases:
        sample = _sample(spec)
        assert sample.value is None and sample.error, spec
        assert words in sample.error, (spec, sample.error)


def test_a_source_that_does_not_answer_in_time_has_no_value(metrics_server: str) -> None:
    started = time.monotonic()
    slow = _sample(SourceSpec("s", "json", url=metrics_server + "/slow", query="a", timeout=0.2))
    assert slow.value is None and slow.error == "no answer within 200ms"
    hung = _sample(
        SourceSpec(
            "c",
            "command",
            command=(sys.executable, "-c", "import time; time.sleep(30)"),
            timeout=0.3,
        )
    )
    assert hung.value is None and hung.error == "no answer within 300ms"
    assert time.monotonic() - started < 5


def test_the_sampler_reads_every_interval_on_its_own_thread(metrics_server: str) -> None:
    sampler = SourceSampler(
        [
            SourceSpec(
                "cpu", "metrics", url=metrics_server + "/metrics", query="ccplate_db_cpu_percent"
            ),
            SourceSpec("slow", "json", url=metrics_server + "/slow", query="a", timeout=0.1),
        ],
        interval=0.25,
    )
    sampler.start(time.perf_counter(), time.time())
    try:
        time.sleep(0.9)
        taken = sampler.take()
    finally:
        sampler.close()
    cpu = [s for s in taken if s.name == "cpu"]
    slow = [s for s in taken if s.name == "slow"]
    assert 3 <= len(cpu) <= 5 and all(s.value == 12.5 for s in cpu)
    assert [s.at for s in cpu] == sorted(s.at for s in cpu)
    assert slow and all(s.value is None and "no answer within" in (s.error or "") for s in slow)
    assert not sampler.running


# --- thresholds ---------------------------------------------------------------------------------


def _snap(index: int, *samples: SourceSample) -> IntervalSnapshot:
    return IntervalSnapshot(index, index * 1.0, index + 1.0, MetricSet(), sources=samples)


def test_source_thresholds_pass_fail_and_no_data() -> None:
    config = parse_config(
        '[sources.db_cpu]\ncommand = ["true"]\n[sources.gone]\ncommand = ["true"]\n'
        '[sources.never]\ncommand = ["true"]\n[thresholds]\n'
        'db_cpu = ["max<50", "avg<30", "value<20", "p(50)<=25", "min>1", "max[2s]<40"]\n'
        'gone = ["max<50"]\nnever = ["value<1"]\n' + SCENARIO
    )
    evaluator = ThresholdEvaluator(config.thresholds)
    for index, value in enumerate([10.0, 60.0, 25.0, 15.0]):
        evaluator.observe(
            _snap(
                index,
                SourceSample("db_cpu", value, at=index + 0.5),
                SourceSample("gone", None, "no answer within 2s", at=index + 0.5),
            )
        )
    results = {(r.spec.metric, r.spec.expr.source): r for r in evaluator.evaluate(MetricSet(), 4.0)}
    assert results["db_cpu", "max<50"].ok is False and results["db_cpu", "max<50"].observed == 60
    assert results["db_cpu", "avg<30"].ok is True and results["db_cpu", "avg<30"].observed == 27.5
    assert results["db_cpu", "value<20"].ok is True and results["db_cpu", "value<20"].observed == 15
    assert results["db_cpu", "p(50)<=25"].observed == 20.0
    assert results["db_cpu", "min>1"].ok is True
    assert results["db_cpu", "max[2s]<40"].observed == 25.0 and results["db_cpu", "max[2s]<40"].ok
    gone = results["gone", "max<50"]
    assert gone.ok is None and gone.failed
    assert gone.reason == "all 4 samples failed, last: no answer within 2s"
    never = results["never", "value<1"]
    assert never.ok is None and never.reason == "no sample taken"


def test_sample_aggregates_skip_failed_samples() -> None:
    samples = [SourceSample("x", 1.0), SourceSample("x", None, "boom"), SourceSample("x", 3.0)]
    assert sample_aggregate(samples, "value") == (3.0, None)
    assert sample_aggregate(samples, "avg") == (2.0, None)
    assert sample_aggregate(samples, "p", 95.0) == (2.9, None)


# --- a whole run: summary, jsonl, history -------------------------------------------------------


def _run_config(tmp_path: Path, target: str, sources_url: str) -> Path:
    path = tmp_path / "scenarios.toml"
    path.write_text(
        f"""
[target]
base_url = "{target}"
[options]
interval = "250ms"
[sources.db_cpu]
metrics = "{sources_url}/metrics"
metric = "ccplate_db_cpu_percent"
unit = "%"
[sources.slow]
json = "{sources_url}/slow"
path = "a"
timeout = "100ms"
[scenarios.a]
executor = "constant-vus"
vus = 1
duration = "1s"
thresholds = {{ db_cpu = ["max<50"], slow = ["value<1"] }}
[[scenarios.a.requests]]
path = "/ok"
"""
    )
    return path


def test_a_run_samples_judges_exports_and_records_its_sources(
    server: FixtureServer, metrics_server: str, tmp_path: Path
) -> None:
    config = load_config(_run_config(tmp_path, server.url, metrics_server))
    plan = resolve_plan(config, ["a"])
    out = tmp_path / "points.jsonl"
    with (
        HistoryStore(history_path(tmp_path / "state")) as store,
        NdjsonWriter(out, plan.thresholds) as writer,
    ):
        recorder = HistoryRecorder(store, config, plan, ["a"])
        run = LoadRun(
            config,
            plan,
            workers=1,
            observers=[recorder, lambda u: writer.write_snapshot(u.snapshot)],
        )
        result = run.run()
        assert recorder.finish(result)
        stored = store.source_samples(recorder.run_id)
        intervals = store.intervals(recorder.run_id)
        run_row = store.run(recorder.run_id)

    db_cpu = result.sources["db_cpu"]
    assert len(db_cpu) >= 3 and all(s.value == 12.5 for s in db_cpu)
    assert all(s.value is None for s in result.sources["slow"])
    by_source = {r.spec.metric: r for r in result.thresholds}
    assert by_source["db_cpu"].ok is True and by_source["db_cpu"].observed == 12.5
    assert by_source["slow"].ok is None and "no answer within 100ms" in (
        by_source["slow"].reason or ""
    )
    assert result.thresholds_failed

    text = render_summary(result)
    assert "✓ 'max<50' max=12.5%" in text
    assert "✗ 'value<1' NO DATA (all " in text
    assert "█ SOURCES" in text
    assert "db_cpu...: value=12.5% avg=12.5% min=12.5% max=12.5%" in text
    assert "slow.....: NO DATA: all " in text

    records = [json.loads(line) for line in out.read_text().splitlines()]
    metric = [r for r in records if r["type"] == "Metric" and r["metric"] == "db_cpu"]
    assert metric and metric[0]["data"]["type"] == "gauge"
    assert metric[0]["data"]["thresholds"] == ["max<50"]
    points = [r for r in records if r["type"] == "Point" and r["metric"] == "db_cpu"]
    assert len(points) == len(db_cpu) and all(p["data"]["value"] == 12.5 for p in points)
    assert not [r for r in records if r["metric"] == "slow" and r["type"] == "Point"]

    assert [s.value for s in stored["db_cpu"]] == [s.value for s in db_cpu]
    assert stored["slow"][0].error == result.sources["slow"][0].error
    assert sum(len(s.sources) for s in intervals) == len(db_cpu) + len(result.sources["slow"])
    assert run_row is not None and run_row.thresholds is not None
    slow_row = next(t for t in run_row.thresholds if t.key == "slow")
    assert slow_row.ok is None and slow_row.reason and "no answer" in slow_row.reason


def test_a_killed_run_keeps_its_source_samples(
    server: FixtureServer, metrics_server: str, tmp_path: Path
) -> None:
    path = _run_config(tmp_path, server.url, metrics_server)
    path.write_text(path.read_text().replace('duration = "1s"', 'duration = "60s"'))
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "ccplate_tui", "run", "--workers", "1", "a", "-q"),
            *("--config", str(path), "--state", str(state)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    db = history_path(state)
    try:
        deadline = time.monotonic() + 60
        seen = 0
        while time.monotonic() < deadline and seen < 8:
            time.sleep(0.2)
            if db.exists():
                with HistoryStore(db) as reader:
                    seen = reader.interval_count("r1") if reader.run("r1") else 0
        assert seen >= 8
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
    with HistoryStore(db) as store:
        run = store.run("r1")
        assert run is not None and run.status == "interrupted"
        samples = store.source_samples("r1")
        assert len(samples["db_cpu"]) >= 3 and {s.value for s in samples["db_cpu"]} == {12.5}
        assert samples["slow"] and all(s.value is None for s in samples["slow"])
        replayed = [s for snap in store.intervals("r1") for s in snap.sources]
        assert len(replayed) == len(samples["db_cpu"]) + len(samples["slow"])


@requires_k6
def test_the_k6_engine_samples_sources_too(
    server: FixtureServer, metrics_server: str, tmp_path: Path
) -> None:
    config = load_config(_run_config(tmp_path, server.url, metrics_server))
    plan = resolve_plan(config, ["a"])
    run = K6Run(config, plan, keep_dir=tmp_path / "k6")
    assert not [n for n in run.setup_notes if "db_cpu" in n or "slow" in n]
    assert "db_cpu" not in run.script  # k6 is not asked to judge what it cannot see
    result = run.run()
    assert result.sources["db_cpu"] and {s.value for s in result.sources["db_cpu"]} == {12.5}
    by_source = {r.spec.metric: r for r in result.thresholds}
    assert by_source["db_cpu"].ok is True
    assert by_source["slow"].ok is None and "no answer" in (by_source["slow"].reason or "")
