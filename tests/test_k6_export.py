"""`export k6`: executors, bodies, checks, thresholds and the TestRun manifest, judged by the real
k6 binary (`k6 inspect`, `k6 run` against a loopback mirror) and by our own engine on the same
mirror, plus the errors for what k6 cannot express."""

from __future__ import annotations

import json
import os
import textwrap
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from ccplate_tui.config.loader import load_config
from ccplate_tui.k6.command import main as export_main
from ccplate_tui.k6.export import ExportError, render_script
from ccplate_tui.k6.js import js_template, k6_duration
from ccplate_tui.k6.js_regex import UntranslatableRegex, translate_regex
from ccplate_tui.k6.testrun import kubernetes_name
from ccplate_tui.load.thresholds import baseline_key
from tests.engine_helpers import run_toml
from tests.k6_export_helpers import (
    check_counts,
    go_duration,
    inspect,
    k6,
    load_yaml_subset,
    mirror_server,
    requires_k6,
)


def write_config(tmp_path: Path, text: str, name: str = "scenarios.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def export_script(tmp_path: Path, config_path: Path, name: str, **kwargs: object) -> Path:
    script = tmp_path / f"{name}.js"
    script.write_text(render_script(load_config(config_path), name, **kwargs))  # type: ignore[arg-type]
    return script


# --- executors ---------------------------------------------------------------------------------

EXECUTORS = """
[target]
base_url = "http://127.0.0.1:9"

[scenarios.cv]
executor = "constant-vus"
vus = 3
duration = "90s"
startTime = "2s"
gracefulStop = "5s"
tags = { team = "web" }
[[scenarios.cv.requests]]
path = "/a"

[scenarios.rv]
executor = "ramping-vus"
startVUs = 1
stages = [{ duration = "10s", target = 5 }, { duration = "1500ms", target = 0 }]
gracefulRampDown = "3s"
[[scenarios.rv.requests]]
path = "/a"

[scenarios.pvi]
executor = "per-vu-iterations"
vus = 2
iterations = 4
maxDuration = "1m"
[[scenarios.pvi.requests]]
path = "/a"

[scenarios.si]
executor = "shared-iterations"
vus = 2
iterations = 9
[[scenarios.si.requests]]
path = "/a"

[scenarios.car]
executor = "constant-arrival-rate"
rate = 2.5
duration = "20s"
preAllocatedVUs = 2
maxVUs = 5
[[scenarios.car.requests]]
path = "/a"

[scenarios.rar]
executor = "ramping-arrival-rate"
startRate = 1
timeUnit = "1m"
stages = [{ duration = "30s", target = 10 }, { duration = "30s", target = 0.5 }]
preAllocatedVUs = 1
maxVUs = 3
[[scenarios.rar.requests]]
path = "/a"

[suites.all]
scenarios = ["cv", "rv", "pvi", "si", "car", "rar"]
"""


@requires_k6
def test_every_executor_reaches_k6_with_the_same_options(tmp_path: Path) -> None:
    config_path = write_config(tmp_path, EXECUTORS)
    config = load_config(config_path)
    seen = inspect(export_script(tmp_path, config_path, "all"))["scenarios"]
    assert set(seen) == set(config.scenarios)
    for name, scenario in config.scenarios.items():
        ours, theirs = scenario.executor, seen[name]
        assert theirs["executor"] == ours.executor
        assert theirs["exec"] == name
        assert go_duration(theirs["startTime"]) == ours.start_time
        assert go_duration(theirs["gracefulStop"]) == ours.graceful_stop
        if ours.executor == "constant-vus":
            assert (theirs["vus"], go_duration(theirs["duration"])) == (ours.vus, ours.duration)
        elif ours.executor in ("per-vu-iterations", "shared-iterations"):
            assert (theirs["vus"], theirs["iterations"]) == (ours.vus, ours.iterations)
            assert go_duration(theirs["maxDuration"]) == ours.max_duration
        elif ours.executor == "ramping-vus":
            assert theirs["startVUs"] == ours.start_vus
            assert go_duration(theirs["gracefulRampDown"]) == ours.graceful_ramp_down
            stages = [(go_duration(s["duration"]), s["target"]) for s in theirs["stages"]]
            assert stages == [(s.duration, s.target) for s in ours.stages]
        else:
            # k6 takes whole iterations per timeUnit: the rate per second must be the same.
            unit = go_duration(theirs["timeUnit"])
            per_second = ours.time_unit or 1.0
            assert (theirs["preAllocatedVUs"], theirs["maxVUs"]) == (
                ours.pre_allocated_vus,
                ours.max_vus,
            )
            if ours.executor == "constant-arrival-rate":
                assert isinstance(theirs["rate"], int)
                assert theirs["rate"] / unit == pytest.approx((ours.rate or 0) / per_second)
                assert go_duration(theirs["duration"]) == ours.duration
            else:
                assert theirs["startRate"] / unit == pytest.approx(
                    (ours.start_rate or 0) / per_second
                )
                rates = [(go_duration(s["duration"]), s["target"] / unit) for s in theirs["stages"]]
                assert rates == [
                    (s.duration, pytest.approx(s.target / per_second)) for s in ours.stages
                ]
    assert seen["cv"]["tags"] == {"team": "web"}
    # 2.5 per second is written as 5 per 2 s; 0.5 per minute as 1 per 2 minutes.
    assert (seen["car"]["rate"], seen["car"]["timeUnit"]) == (5, "2s")
    assert seen["rar"]["timeUnit"] == "2m0s" and seen["rar"]["stages"][1]["target"] == 1


def test_a_rate_with_no_whole_equivalent_is_an_error_naming_the_scenario(tmp_path: Path) -> None:
    text = EXECUTORS.replace("target = 0.5 }", "target = 0.3183098861837907 }").replace(
        "startRate = 1", "startRate = 3.141592653589793"
    )
    config_path = write_config(tmp_path, text)
    with pytest.raises(ExportError) as caught:
        render_script(load_config(config_path), "rar")
    message = str(caught.value)
    assert "scenarios.rar.stages" in message and "whole iterations per timeUnit" in message
    assert str(config_path) in message


def test_durations_are_written_as_k6_reads_them() -> None:
    assert [k6_duration(s) for s in (0, 1, 90, 3600, 5400, 0.15, 1.5, 0.0005, 61.25)] == [
        "0s", "1s", "1m30s", "1h", "1h30m", "150ms", "1.5s", "0.0005s", "61.25s",
    ]  # fmt: skip
    assert go_duration("1m30s") == 90


# --- bodies ------------------------------------------------------------------------------------

BODIES = """
[target]
base_url = "{url}"
headers = {{ "X-Target" = "t" }}

[scenarios.bodies]
executor = "per-vu-iterations"
vus = 1
iterations = 1

[[scenarios.bodies.requests]]
name = "get"
path = "/get/${{vu}}/${{scenario}}"
query = {{ q = "a b&c", n = "1" }}
headers = {{ "X-Test" = "it-${{iteration}}" }}

[[scenarios.bodies.requests]]
name = "json"
method = "POST"
path = "/json"
json = {{ model = "LoadTest${{vu}}", nested = {{ list = [1, 2.5, true, "é"] }}, "${{scenario}}" = "key" }}

[[scenarios.bodies.requests]]
name = "form"
method = "POST"
path = "/form"
form = {{ a = "x y", b = "1&2" }}

[[scenarios.bodies.requests]]
name = "multipart"
method = "POST"
path = "/upload"
multipart = {{ note = "hello ${{vu}}", file = {{ size = "10KB", filename = "f-${{vu}}.bin", content_type = "application/x-test" }} }}

[[scenarios.bodies.requests]]
name = "raw"
method = "PUT"
path = "/raw"
body = "line ${{iteration}}\\n"
content_type = "text/csv"

[[scenarios.bodies.requests]]
name = "delete"
method = "DELETE"
path = "/gone"

[[scenarios.bodies.requests]]
name = "head"
method = "HEAD"
path = "/head"
"""


def _multipart(
    content_type: str, body: bytes
) -> dict[str, tuple[str | None, str | None, bytes | int]]:
    """name -> (filename, content type and size of a file part; or None, None, the text)."""
    message = BytesParser(policy=policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    parts = {}
    for part in message.iter_parts():
        filename = part.get_filename()
        kind = part.get_content_type() if filename else None
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        # Generated files are random bytes in both tools: their size is what must match.
        parts[name] = (filename, kind, len(payload) if filename else payload)
    return parts


def _comparable(received) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """What must match between k6 and the engine: method, target, our headers, the body's
    meaning (JSON parsed, multipart parts, else the bytes)."""
    content_type = received.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body: object = json.loads(received.body)
    elif content_type.startswith("multipart/form-data"):
        body = _multipart(content_type, received.body)
        content_type = "multipart/form-data"
    else:
        body = received.body
    return {
        "method": received.method,
        "target": received.target,
        "content_type": content_type,
        "x-test": received.headers.get("x-test"),
        "x-target": received.headers.get("x-target"),
        "body": body,
    }


@requires_k6
def test_every_body_kind_is_sent_as_the_engine_sends_it(tmp_path: Path) -> None:
    with mirror_server() as (url, received):
        text = BODIES.format(url=url)
        config_path = write_config(tmp_path, text)
        script = export_script(tmp_path, config_path, "bodies")
        done = k6("run", "--quiet", "--no-summary", str(script))
        assert done.returncode == 0, done.stderr[-3000:]
        from_k6 = list(received)
        received.clear()
        result = run_toml(text, ["bodies"])
        assert result.stopped != "error"
        from_engine = list(received)
    assert len(from_k6) == len(from_engine) == 7
    for theirs, ours in zip(from_k6, from_engine, strict=True):
        assert _comparable(theirs) == _comparable(ours)
    get, posted_json, form, upload, raw, delete, head = map(_comparable, from_k6)
    assert get["target"] == "/get/1/bodies?n=1&q=a+b%26c" and get["x-test"] == "it-0"
    assert posted_json["body"] == {
        "model": "LoadTest1",
        "nested": {"list": [1, 2.5, True, "é"]},
        "bodies": "key",
    }
    assert form["body"] == b"a=x+y&b=1%262"
    assert form["content_type"] == "application/x-www-form-urlencoded"
    parts = upload["body"]
    assert parts["note"][2] == b"hello 1"  # type: ignore[index]
    assert parts["file"] == ("f-1.bin", "application/x-test", 10_000)  # type: ignore[index]
    assert (raw["body"], raw["content_type"]) == (b"line 0\n", "text/csv")
    assert (delete["method"], delete["body"]) == ("DELETE", b"")
    assert (head["method"], head["x-target"]) == ("HEAD", "t")


@requires_k6
def test_templates_in_queries_and_forms_are_filled_in_by_k6(tmp_path: Path) -> None:
    with mirror_server() as (url, received):
        config_path = write_config(
            tmp_path,
            f"""
            [target]
            base_url = "{url}"
            [scenarios.tpl]
            executor = "shared-iterations"
            vus = 1
            iterations = 2
            [[scenarios.tpl.requests]]
            path = "/q"
            query = {{ vu = "${{vu}}", it = "i ${{iteration}}" }}
            [[scenarios.tpl.requests]]
            method = "POST"
            path = "/f"
            form = {{ who = "${{scenario}}-${{vu}}" }}
            """,
        )
        done = k6(
            "run", "--quiet", "--no-summary", str(export_script(tmp_path, config_path, "tpl"))
        )
        assert done.returncode == 0, done.stderr[-3000:]
    assert [r.target for r in received if r.method == "GET"] == ["/q?it=i+0&vu=1", "/q?it=i+1&vu=1"]
    assert {r.body for r in received if r.method == "POST"} == {b"who=tpl-1"}


def test_strings_never_break_out_of_their_javascript_literal() -> None:
    assert js_template("a`b${vu}\\c${x}") == "`a\\`b${__VU}\\\\c\\${x}`"
    assert js_template('plain "quoted"\u2028') == '"plain \\"quoted\\"\\u2028"'


# --- checks ------------------------------------------------------------------------------------

CHECKS = [
    "status == 200",
    "status != 200",
    "status in [200, 201]",
    "status not in [404]",
    "status >= 400",
    "duration < 60000",
    "duration > 10s",
    'body contains "ok"',
    'body not contains "ok"',
    'body contains ""',
    'body matches "^\\\\{"',
    'body matches "ok\\"}$"',
    'body matches "(?i)HELLO"',
    'body matches "a.b"',
    'body matches "(?s)a.b"',
    'body matches "(?m)^line2$"',
    'body matches "\\\\d{,2}7"',
    'body matches "(?P<w>[a-z])(?P=w)"',
    'header "X-Foo" contains "bar"',
    'header "x-foo" exists',
    'header "X-Missing" not contains "z"',
    'header "X-Missing" exists',
    "json .user.id == 1",
    'json .user.id == "1"',
    "json .items[-1] == 3",
    "json .items[5] == 1",
    "json .flag == true",
    "json .flag == 1",
    'json .name < "m"',
    "json .n > 2.5",
    "json .missing == null",
    "json .nul == null",
    "json . == 1",
    'not (status == 200 and body contains "x") or json .n != 3',
]
"""Every construct, with the edge cases where JavaScript's defaults differ from Python's."""

RESPONSES = [
    (200, {"X-Foo": "foobar"}, b'{"user": {"id": 1}, "items": [1, 2, 3], "flag": true, '
     b'"name": "alice", "n": 3, "nul": null, "x": 0}'),
    (201, {"x-foo": "BAR"}, b'{"ok"}\n'),
    (404, {}, b"a\rb\nline2\nHELLO 17 aa"),
    (204, {"X-Missing": "zzz"}, b""),
    (500, {}, b"1"),
    (200, {}, b"[1, 2]"),
]  # fmt: skip


@requires_k6
def test_checks_decide_in_k6_as_the_engine_decides(tmp_path: Path) -> None:
    requests = []
    for case, (status, headers, body) in enumerate(RESPONSES):
        reply = {"X-Reply-Status": str(status), "X-Reply-Echo": "1"}
        reply.update({f"X-Reply-Header-{k}": v for k, v in headers.items()})
        checks = {f"{case}/{i}: {source}": source for i, source in enumerate(CHECKS)}
        requests.append(
            "[[scenarios.checks.requests]]\n"
            f'method = "POST"\npath = "/reply"\nname = "case {case}"\n'
            f"body = {json.dumps(body.decode())}\n"
            "headers = { "
            + ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in reply.items())
            + " }\n"
            "checks = { "
            + ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in checks.items())
            + " }\n"
        )
    with mirror_server() as (url, _received):
        text = (
            f'[target]\nbase_url = "{url}"\n'
            '[scenarios.checks]\nexecutor = "per-vu-iterations"\nvus = 1\niterations = 1\n'
            + "\n".join(requests)
        )
        config_path = tmp_path / "scenarios.toml"
        config_path.write_text(text)
        config = load_config(config_path)
        script = export_script(tmp_path, config_path, "checks")
        summary = tmp_path / "summary.json"
        done = k6("run", "--quiet", "--summary-export", str(summary), str(script))
        assert done.returncode == 0, done.stderr[-3000:]
    seen = check_counts(json.loads(summary.read_text())["root_group"])
    mismatches = []
    for case, (status, headers, body) in enumerate(RESPONSES):
        request = config.scenarios["checks"].requests[case]
        for check in request.checks:
            expected = bool(check.predicate(status, body, 5.0, headers))
            passes, fails = seen[f"::{check.name}"]
            if (passes, fails) != ((1, 0) if expected else (0, 1)):
                mismatches.append((check.name, body, expected))
    assert mismatches == [], (mismatches, done.stderr[-2000:])


def test_python_regexes_become_javascript_that_means_the_same() -> None:
    assert translate_regex(r'ok"}$') == (r'ok"\}(?=\n?(?![\s\S]))', "")
    assert translate_regex(r"(?i)a.b") == (r"a[^\n]b", "i")
    assert translate_regex(r"(?P<x>a)(?P=x)[]z]{,3}\Z") == (r"(?<x>a)\k<x>[\]z]{0,3}(?![\s\S])", "")
    for pattern, why in [
        ("(?x) a b", "verbose mode"),
        ("(?i:a)b", "scoped inline flags"),
        ("a++", "possessive"),
        ("(?>a)", "atomic group"),
        ("(a)?(?(1)b|c)", "conditional"),
    ]:
        with pytest.raises(UntranslatableRegex, match=why):
            translate_regex(pattern)


UNTRANSLATABLE = """
[target]
base_url = "http://127.0.0.1:9"

[scenarios.s]
executor = "shared-iterations"

[[scenarios.s.requests]]
path = "/a"

[scenarios.s.requests.checks]
"status ok" = "status == 200"
"no spaces please" = 'body matches "(?x) a  b  # spaced out"'
"""


def test_an_untranslatable_check_is_an_error_naming_the_check_and_where(tmp_path: Path) -> None:
    config_path = write_config(tmp_path, UNTRANSLATABLE)
    with pytest.raises(ExportError) as caught:
        render_script(load_config(config_path), "s")
    error = caught.value
    assert error.file == str(config_path) and error.line == 12
    assert error.key_path == 'scenarios.s.requests[0].checks."no spaces please"'
    assert "check 'no spaces please'" in error.message and "verbose mode" in error.message
    # The command says the same and writes nothing.
    out = tmp_path / "out"
    code = export_main(["export", "k6", "s", "--config", str(config_path), "--out", str(out)])
    assert code == 2 and not out.exists()


@pytest.mark.parametrize(
    ("fragment", "where", "why"),
    [
        (
            'checks = { "a::b" = "status == 200" }',
            'requests[0].checks."a::b"',
            "'::' in check names",
        ),
        ('group = "outer::inner"', "requests[0].group", "'::' in group names"),
        ("json = { big = 9007199254740993 }", "requests[0].json", "exact range"),
    ],
)
def test_what_k6_cannot_say_in_a_request_is_an_error(
    tmp_path: Path, fragment: str, where: str, why: str
) -> None:
    config_path = write_config(
        tmp_path,
        f"""
        [scenarios.s]
        executor = "shared-iterations"
        [[scenarios.s.requests]]
        path = "/a"
        {fragment}
        """,
    )
    with pytest.raises(ExportError) as caught:
        render_script(load_config(config_path), "s")
    assert f"scenarios.s.{where}" in str(caught.value) and why in str(caught.value)


# --- thresholds --------------------------------------------------------------------------------

THRESHOLDS = """
[target]
base_url = "{url}"

[thresholds]
http_reqs = ["count>0"]

[scenarios.login]
executor = "constant-vus"
vus = 2
duration = "30s"

[scenarios.login.thresholds]
"http_req_duration{{name:login}}" = ["p(95)<5000", "avg<4000"]
http_req_failed = [{{ threshold = "rate<0.5", abortOnFail = true, delayAbortEval = "500ms" }}]
checks = ["rate>0.9"]

[[scenarios.login.requests]]
name = "login"
path = "/fail"
headers = {{ "X-Reply-Status" = "500" }}
checks = {{ "is 200" = "status == 200" }}
think_time = "100ms"

[scenarios.other]
executor = "shared-iterations"
[[scenarios.other.requests]]
path = "/b"

[suites.both]
scenarios = ["login", "other"]
thresholds = {{ "group_duration{{group:::g}}" = ["max<100"] }}
"""


@requires_k6
def test_thresholds_keep_their_tag_filters_and_abort_on_fail(tmp_path: Path) -> None:
    with mirror_server() as (url, _received):
        config_path = write_config(tmp_path, THRESHOLDS.format(url=url))
        script = export_script(tmp_path, config_path, "both")
        assert inspect(script)["thresholds"] == {
            "http_reqs": ["count>0"],
            "group_duration{group:::g}": ["max<100"],
            "http_req_duration{name:login,scenario:login}": ["p(95)<5000", "avg<4000"],
            "http_req_failed{scenario:login}": [
                {"threshold": "rate<0.5", "abortOnFail": True, "delayAbortEval": "500ms"}
            ],
            "checks{scenario:login}": ["rate>0.9"],
        }
        # Every request fails: the abortOnFail threshold stops the 30 s run, as k6 does it.
        done = k6("run", "--quiet", "--no-summary", str(script))
    assert done.returncode == 99, done.stderr[-2000:]
    assert "at least one has abortOnFail enabled, stopping test prematurely" in done.stderr


@pytest.mark.parametrize(
    ("threshold", "why"),
    [
        ('http_req_duration = ["p(99)[30s]<200"]', "sliding window"),
        ('http_req_duration_uncorrected = ["p(99)<200"]', "k6 has no metric"),
        ('http_req_duration = ["p(95) < baseline * 1.10"]', "no baseline value"),
    ],
)
def test_what_k6_thresholds_cannot_say_is_an_error_with_the_key(
    tmp_path: Path, threshold: str, why: str
) -> None:
    config_path = write_config(
        tmp_path,
        f"""
        [scenarios.s]
        executor = "shared-iterations"
        [scenarios.s.thresholds]
        {threshold}
        [[scenarios.s.requests]]
        path = "/a"
        """,
    )
    with pytest.raises(ExportError) as caught:
        render_script(load_config(config_path), "s")
    error = caught.value
    assert error.key_path is not None and error.key_path.startswith("scenarios.s.thresholds.")
    assert error.line == 4 and why in error.message


@requires_k6
def test_a_relative_threshold_is_written_with_its_baseline_value(tmp_path: Path) -> None:
    config_path = write_config(
        tmp_path,
        """
        [scenarios.s]
        executor = "shared-iterations"
        thresholds = { http_req_duration = ["p(95) < baseline * 1.10"] }
        [[scenarios.s.requests]]
        path = "/a"
        """,
    )
    config = load_config(config_path)
    key = baseline_key(config.scenarios["s"].thresholds[0])
    script = export_script(tmp_path, config_path, "s", baselines={key: 200.0})
    assert inspect(script)["thresholds"] == {
        "http_req_duration{scenario:s}": ["p(95)<220.00000000000003"]
    }
    assert "// p(95) < baseline * 1.10 with baseline 200.0" in script.read_text()


# --- the TestRun manifest and the command --------------------------------------------------------


def test_the_command_writes_a_script_and_a_testrun_that_parses(tmp_path: Path) -> None:
    config_path = write_config(tmp_path, EXECUTORS)
    out = tmp_path / "load"
    code = export_main(
        [
            "export", "k6", "all", "pvi", "--config", str(config_path), "--out", str(out),
            "--parallelism", "3", "--k6-out", "json=/results/run.ndjson",
        ]
    )  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "all.js", "all.testrun.yaml", "pvi.js", "pvi.testrun.yaml",
    ]  # fmt: skip
    config_map, test_run = load_yaml_subset((out / "all.testrun.yaml").read_text())
    assert config_map["kind"] == "ConfigMap" and config_map["apiVersion"] == "v1"  # type: ignore[index]
    assert config_map["data"] == {"all.js": (out / "all.js").read_text()}  # type: ignore[index]
    assert test_run == {
        "apiVersion": "k6.io/v1alpha1",
        "kind": "TestRun",
        "metadata": {"name": "all"},
        "spec": {
            "parallelism": 3,
            "script": {"configMap": {"name": "all", "file": "all.js"}},
            "arguments": "--out json=/results/run.ndjson",
            "runner": {"env": [{"name": "BASE_URL", "value": "http://127.0.0.1:9"}]},
        },
    }
    assert config_map["metadata"]["name"] == test_run["metadata"]["name"]  # type: ignore[index]


def test_kubernetes_names_are_dns_labels() -> None:
    assert kubernetes_name("auth_burst") == "auth-burst"
    assert kubernetes_name("Mixed__Workload-") == "mixed-workload"
    assert len(kubernetes_name("x" * 100)) <= 50
    assert kubernetes_name("___") == "k6-test"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "no scenario or suite named 'nope'"),
        (["--parallelism", "0"], "--parallelism must be at least 1"),
        (["--k6-out", "json=/a b.ndjson"], "one word"),
        (["--time-scale", "0"], "--time-scale must be greater than 0"),
    ],
)
def test_bad_usage_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    config_path = write_config(tmp_path, EXECUTORS)
    out = tmp_path / "out"
    code = export_main(["export", "k6", *args, "--config", str(config_path), "--out", str(out)])
    assert code == 2 and message in capsys.readouterr().err and not out.exists()


def test_a_bad_config_exits_2_with_its_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = write_config(tmp_path, "[scenarios.s]\nexecutor = 3\n")
    assert export_main(["export", "k6", "--config", str(config_path)]) == 2
    assert f"{config_path}:2:12: scenarios.s.executor" in capsys.readouterr().err


def test_time_scale_shortens_the_schedule_like_run_does(tmp_path: Path) -> None:
    config_path = write_config(tmp_path, EXECUTORS)
    out = tmp_path / "out"
    args = ["export", "k6", "cv", "--config", str(config_path), "--out", str(out)]
    assert export_main([*args, "--time-scale", "0.1"]) == 0
    script = (out / "cv.js").read_text()
    assert 'duration: "9s"' in script and 'gracefulStop: "500ms"' in script
    assert "scaled by 0.1" in script


@requires_k6
def test_awkward_scenario_names_get_distinct_valid_functions(tmp_path: Path) -> None:
    names = ["a-b", "a_b", "delete", "1x", "GENERATED_FILE_1"]
    scenarios = "".join(
        f'[scenarios."{n}"]\nexecutor = "shared-iterations"\n'
        f'[[scenarios."{n}".requests]]\npath = "/a"\nmultipart = {{ f = {{ size = "1KB" }} }}\n'
        for n in names
    )
    config_path = write_config(
        tmp_path,
        '[options]\ntags = { env = "ci" }\n'
        + scenarios
        + "[suites.odd]\nscenarios = "
        + json.dumps(names)
        + "\n",
    )
    seen = inspect(export_script(tmp_path, config_path, "odd"))
    functions = {name: seen["scenarios"][name]["exec"] for name in names}
    assert functions == {
        "a-b": "a_b",
        "a_b": "a_b_2",
        "delete": "scenario_delete",
        "1x": "scenario_1x",
        "GENERATED_FILE_1": "scenario_GENERATED_FILE_1",
    }
    assert seen["tags"] == {"env": "ci"}


def test_exported_scripts_are_written_with_the_users_umask(tmp_path: Path) -> None:
    """Exports are meant to be shared (committed, handed to k6-operator): 0644 under umask 022,
    not the 0600 of the tool's private state files."""
    config_path = write_config(tmp_path, EXECUTORS)
    out = tmp_path / "out"
    previous = os.umask(0o022)
    try:
        assert export_main(["export", "k6", "--config", str(config_path), "--out", str(out)]) == 0
    finally:
        os.umask(previous)
    written = [p for p in out.rglob("*") if p.is_file()]
    assert written and {p.stat().st_mode & 0o777 for p in written} == {0o644}
