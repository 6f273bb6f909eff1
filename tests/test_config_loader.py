"""scenarios.toml -> Config: defaults as k6 has them, and errors that say where and what."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ccplate_tui.config.checks import StatusIn
from ccplate_tui.config.errors import ConfigError
from ccplate_tui.config.loader import load_config, parse_config
from ccplate_tui.config.locator import KeyLocator
from ccplate_tui.config.model import (
    FormBody,
    GeneratedFile,
    JsonBody,
    MultipartBody,
    RawBody,
    Stage,
    StatusSet,
)
from ccplate_tui.config.timescale import with_time_scale

REQUEST = '\n[[scenarios.s.requests]]\npath = "/api/health"\n'


def scenario(body: str, extra: str = "") -> str:
    """A config with one scenario `s`, whose table holds `body`, and one GET request."""
    return f"[scenarios.s]\n{textwrap.dedent(body).strip()}\n{REQUEST}{textwrap.dedent(extra)}"


CONSTANT = scenario('executor = "constant-vus"\nduration = "10s"')


def error_of(text: str, file: str = "scenarios.toml") -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, file)
    return caught.value


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based number of the line holding the `occurrence`-th `needle`."""
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not in text")


def assert_error(
    error: ConfigError, key_path: str | None, expectation: str, line: int | None = None
) -> None:
    rendered = str(error)
    assert error.file == "scenarios.toml"
    assert rendered.startswith("scenarios.toml:" if line else "scenarios.toml")
    if key_path is not None:
        assert error.key_path == key_path
        assert f": {key_path}: " in rendered
    assert expectation in error.message, error.message
    if line is not None:
        assert error.line == line, rendered
        assert rendered.startswith(f"scenarios.toml:{line}:{error.column}: ")


# --- executors and their defaults ----------------------------------------------------------------


def test_constant_vus_defaults() -> None:
    spec = parse_config(CONSTANT).scenarios["s"].executor
    assert (spec.executor, spec.vus, spec.duration) == ("constant-vus", 1, 10.0)
    assert (spec.start_time, spec.graceful_stop) == (0.0, 30.0)
    assert spec.iterations is spec.max_duration is spec.start_vus is spec.rate is None
    assert not spec.is_open_model


def test_ramping_vus_defaults_and_stages() -> None:
    text = scenario(
        """
        executor = "ramping-vus"
        stages = [{ duration = "1m", target = 10 }, { duration = "0s", target = 5 }]
        """
    )
    spec = parse_config(text).scenarios["s"].executor
    assert spec.start_vus == 1
    assert spec.graceful_ramp_down == 30.0
    assert spec.stages == (Stage(60.0, 10.0), Stage(0.0, 5.0))
    assert spec.vus is None and spec.duration is None


@pytest.mark.parametrize("kind", ["per-vu-iterations", "shared-iterations"])
def test_iteration_executor_defaults(kind: str) -> None:
    spec = parse_config(scenario(f'executor = "{kind}"')).scenarios["s"].executor
    assert (spec.vus, spec.iterations, spec.max_duration) == (1, 1, 600.0)
    assert spec.duration is None


def test_constant_arrival_rate_defaults() -> None:
    text = scenario(
        """
        executor = "constant-arrival-rate"
        rate = 20
        duration = "30s"
        preAllocatedVUs = 5
        """
    )
    spec = parse_config(text).scenarios["s"].executor
    assert (spec.rate, spec.time_unit, spec.duration) == (20.0, 1.0, 30.0)
    assert (spec.pre_allocated_vus, spec.max_vus) == (5, 5)
    assert spec.is_open_model
    assert spec.vus is None and spec.stages == ()


def test_ramping_arrival_rate_defaults() -> None:
    text = scenario(
        """
        executor = "ramping-arrival-rate"
        preAllocatedVUs = 2
        maxVUs = 8
        timeUnit = "1m"
        stages = [{ duration = "10s", target = 2.5 }]
        """
    )
    spec = parse_config(text).scenarios["s"].executor
    assert (spec.start_rate, spec.time_unit, spec.pre_allocated_vus, spec.max_vus) == (
        0.0,
        60.0,
        2,
        8,
    )
    assert spec.stages == (Stage(10.0, 2.5),)


def test_common_executor_options() -> None:
    text = scenario(
        """
        executor = "constant-vus"
        vus = 3
        duration = "1m30s"
        startTime = "5s"
        gracefulStop = "0s"
        """
    )
    spec = parse_config(text).scenarios["s"].executor
    assert (spec.vus, spec.duration, spec.start_time, spec.graceful_stop) == (3, 90.0, 5.0, 0.0)


# --- target, options, scenario and request keys --------------------------------------------------


def test_defaults_of_target_options_and_scenario() -> None:
    config = parse_config(CONSTANT, "my.toml")
    assert config.path == "my.toml"
    assert config.target.base_url == "http://127.0.0.1:8787"
    assert config.target.allow_remote is False
    assert config.options.interval == 1.0
    assert config.options.summary_trend_stats[-1] == "p(99)"
    s = config.scenarios["s"]
    assert s.expected_statuses == StatusSet() and 399 in s.expected_statuses
    assert (s.think_time, s.http2, s.timeout, s.description, s.thresholds) == (0, False, 60, "", ())
    request = s.requests[0]
    assert (request.method, request.path, request.name) == ("GET", "/api/health", "/api/health")
    assert request.body is None and request.expected_statuses is None and request.timeout is None
    assert config.suites == {} and config.thresholds == ()


def test_everything_written_is_read() -> None:
    text = """
        [target]
        base_url = "https://staging.example.com/base"
        allow_remote = true
        headers = { Authorization = "Bearer t", X-Num = 3 }
        timeout = "20s"

        [options]
        interval = "250ms"
        summary_trend_stats = ["avg", "p(99.9)", "count"]
        tags = { env = "staging" }

        [scenarios.s]
        executor = "constant-vus"
        duration = "1s"
        description = "d"
        think_time = "500ms"
        tags = { team = "web" }
        expected_statuses = [200, "300-303", 404]
        http2 = true

        [[scenarios.s.requests]]
        method = "post"
        path = "/api/${scenario}/${vu}"
        name = "upload"
        headers = { X-Iter = "${iteration}" }
        query = { page = 2, full = true, q = "x" }
        form = { a = "1", b = 2.5 }
        checks = { ok = "status in [200, 201]" }
        tags = { kind = "write" }
        group = "writes"
        think_time = "1s"
        timeout = "2s"
        expected_statuses = ["200-299"]

        [[scenarios.s.requests]]
        path = "/raw"
        body = "hello ${vu}"
        content_type = "text/csv"

        [[scenarios.s.requests]]
        path = "/files"
        multipart = { note = "n", file = { size = "2KiB", filename = "a.bin", content_type = "x/y" } }

        [[scenarios.s.requests]]
        path = "/json"
        json = [1, { nested = ["${vu}", true] }]
    """
    config = parse_config(textwrap.dedent(text))
    target = config.target
    assert target.base_url == "https://staging.example.com/base" and target.allow_remote
    assert target.headers == (("Authorization", "Bearer t"), ("X-Num", "3"))
    assert target.timeout == 20.0
    assert config.options.interval == 0.25
    assert config.options.summary_trend_stats == ("avg", "p(99.9)", "count")
    assert config.options.tags == (("env", "staging"),)
    s = config.scenarios["s"]
    assert (s.description, s.think_time, s.tags, s.http2, s.timeout) == (
        "d",
        0.5,
        (("team", "web"),),
        True,
        20.0,  # the target's timeout
    )
    assert s.expected_statuses.ranges == ((200, 200), (300, 303), (404, 404))
    assert 302 in s.expected_statuses and 304 not in s.expected_statuses
    first, raw, files, doc = s.requests
    assert (first.method, first.path, first.name) == ("POST", "/api/${scenario}/${vu}", "upload")
    assert first.headers == (("X-Iter", "${iteration}"),)
    assert first.query == (("full", "true"), ("page", "2"), ("q", "x"))
    assert first.body == FormBody((("a", "1"), ("b", "2.5")))
    assert first.checks[0].name == "ok" and first.checks[0].source == "status in [200, 201]"
    assert first.checks[0].predicate == StatusIn(frozenset({200, 201}))
    assert (first.tags, first.group, first.think_time, first.timeout) == (
        (("kind", "write"),),
        "writes",
        1.0,
        2.0,
    )
    assert first.expected_statuses == StatusSet(((200, 299),))
    assert raw.body == RawBody("hello ${vu}", "text/csv")
    assert files.body == MultipartBody(
        (("note", "n"), ("file", GeneratedFile(2048, "a.bin", "x/y")))
    )
    assert doc.body == JsonBody([1, {"nested": ["${vu}", True]}])


def test_load_config_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.toml"
    path.write_bytes(b"\xef\xbb\xbf" + CONSTANT.encode())  # a BOM is tolerated
    config = load_config(path)
    assert config.path == str(path) and list(config.scenarios) == ["s"]


# --- file errors ---------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(missing)
    assert str(caught.value) == (
        f"{missing}: cannot read the config: no such file; pass --config FILE to use another, "
        "or write a starter scenarios.toml with `ccplate-tui init [DIR]`"
    )


def test_missing_default_file_names_its_absolute_path_and_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_config("scenarios.toml")
    assert str(caught.value) == (
        f"{tmp_path / 'scenarios.toml'}: cannot read the config: no such file; pass --config "
        "FILE to use another, or write a starter one here with `ccplate-tui init`"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(Path("sub dir") / "scenarios.toml")
    assert str(caught.value).endswith(f"`ccplate-tui init '{tmp_path / 'sub dir'}'`")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)  # a directory
    assert str(caught.value).startswith(f"{tmp_path}: cannot read the config:")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"# caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "not UTF-8" in str(caught.value) and str(path) in str(caught.value)


# --- TOML syntax errors --------------------------------------------------------------------------


def test_malformed_toml_gives_line_column_and_pointer(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[scenarios.s]\nexecutor = "constant-vus"\nvus = = 3\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    assert (error.file, error.line, error.column) == (str(path), 3, 7)
    assert str(error) == f"{path}:3:7: invalid TOML: Invalid value\nvus = = 3\n      ^"


def test_toml_error_at_end_of_document() -> None:
    error = error_of("[scenarios.s]\nstages = [1,\n")
    assert (error.line, error.column) == (2, 13)
    assert "invalid TOML" in error.message


def test_duplicate_table_is_a_toml_error() -> None:
    error = error_of(CONSTANT + "\n[scenarios.s]\n")
    assert error.line == CONSTANT.count("\n") + 2
    assert "twice" in error.message


# --- unknown keys, at several levels -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key_path", "allowed", "needle"),
    [
        ("colour = 1\n" + CONSTANT, "colour", "target, options, thresholds, scenarios", "colour"),
        ("[target]\nbase = 1\n" + CONSTANT, "target.base", "base_url, allow_remote", "base ="),
        ("[options]\ninterva = 1\n" + CONSTANT, "options.interva", "interval", "interva ="),
        (
            scenario('executor = "constant-vus"\nduration = "1s"\nthinktime = "1s"'),
            "scenarios.s.thinktime",
            "executor, description, think_time",
            "thinktime",
        ),
        (CONSTANT + "jsn = { a = 1 }\n", "scenarios.s.requests[0].jsn", "method, path", "jsn ="),
        (
            CONSTANT + 'multipart = { f = { size = "1B", name = "x" } }\n',
            "scenarios.s.requests[0].multipart.f.name",
            "size, filename, content_type",
            "multipart",
        ),
        (
            CONSTANT
            + "[scenarios.s.thresholds]\nchecks = [{ threshold = 'rate>0', abort = true }]\n",
            "scenarios.s.thresholds.checks[0].abort",
            "threshold, abortOnFail, delayAbortEval",
            "abort = true",
        ),
        (
            CONSTANT + '[suites.x]\nscenarios = ["s"]\nthreshold = {}\n',
            "suites.x.threshold",
            "scenarios, description, thresholds",
            "threshold =",
        ),
        (
            scenario(
                'executor = "ramping-vus"\nstages = [{ duration = "1s", target = 1, ramp = 2 }]'
            ),
            "scenarios.s.stages[0].ramp",
            "duration, target",
            "ramp = 2",
        ),
    ],
)
def test_unknown_keys_name_the_path_and_the_allowed_keys(
    text: str, key_path: str, allowed: str, needle: str
) -> None:
    error = error_of(text)
    assert_error(error, key_path, f"allowed here: {allowed}", line_of(text, needle))
    assert error.pointer is not None and error.pointer.startswith(text.splitlines()[error.line - 1])


def test_option_of_another_executor_says_which_executor_uses_it() -> None:
    text = scenario('executor = "constant-vus"\nduration = "1s"\nstages = []')
    error = error_of(text)
    assert_error(
        error,
        "scenarios.s.stages",
        "not an option of executor constant-vus (it is used by ramping-vus, ramping-arrival-rate)",
        line_of(text, "stages"),
    )
    assert "constant-vus takes: vus, duration, startTime, gracefulStop" in error.message


def test_unknown_executor_lists_the_six() -> None:
    text = scenario('executor = "constant-vu"')
    error = error_of(text)
    assert_error(error, "scenarios.s.executor", "unknown executor 'constant-vu'", 2)
    assert "ramping-arrival-rate" in error.message and error.column == 12


def test_missing_executor_points_at_the_scenario_table() -> None:
    error = error_of(scenario('description = "x"'))
    assert_error(error, "scenarios.s.executor", "missing required key 'executor'", 1)


# --- wrong types ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "key_path", "expectation", "needle"),
    [
        ('executor = "constant-vus"\nduration = "1s"\nvus = "3"', "vus", 'a string ("3")', "vus"),
        ('executor = "constant-vus"\nduration = "1s"\nvus = true', "vus", "a boolean", "vus"),
        ('executor = "constant-vus"\nduration = "1s"\nvus = 2.0', "vus", "a float", "vus"),
        (
            'executor = "constant-vus"\nduration = "1s"\nhttp2 = 1',
            "http2",
            "true or false",
            "http2",
        ),
        ('executor = "constant-vus"\nduration = "1s"\ntags = ["a"]', "tags", "a table", "tags"),
        ("executor = 3", "executor", "expected a string, got an integer (3)", "executor"),
        (
            'executor = "constant-arrival-rate"\nrate = true\nduration = "1s"\npreAllocatedVUs = 1',
            "rate",
            "expected a number > 0, got a boolean (true)",
            "rate",
        ),
        (
            'executor = "constant-vus"\nduration = "1s"\nexpected_statuses = [true]',
            "expected_statuses[0]",
            'a range like "200-299", got a boolean',
            "expected_statuses",
        ),
    ],
)
def test_wrong_types_name_expected_and_found(
    body: str, key_path: str, expectation: str, needle: str
) -> None:
    text = scenario(body)
    assert_error(
        error_of(text), f"scenarios.s.{key_path}", expectation, line_of(text, f"{needle} =")
    )


def test_request_wrong_types() -> None:
    text = CONSTANT + "headers = { X-A = [1] }\n"
    assert_error(
        error_of(text),
        "scenarios.s.requests[0].headers.X-A",
        "expected a string, number or boolean, got an array",
        line_of(text, "headers"),
    )
    text = CONSTANT + "checks = { ok = 200 }\n"
    assert_error(
        error_of(text),
        "scenarios.s.requests[0].checks.ok",
        "expected a string",
        line_of(text, "ok"),
    )
    text = CONSTANT + "json = { when = 1979-05-27T07:32:00Z }\n"
    assert_error(error_of(text), "scenarios.s.requests[0].json.when", "cannot be sent as JSON", 7)


def test_requests_must_be_tables_and_present() -> None:
    text = '[scenarios.s]\nexecutor = "constant-vus"\nduration = "1s"\n'
    assert_error(error_of(text), "scenarios.s.requests", "missing required key 'requests'", 1)
    text = '[scenarios.s]\nexecutor = "constant-vus"\nduration = "1s"\nrequests = []\n'
    assert_error(error_of(text), "scenarios.s.requests", "at least one", 4)
    text = '[scenarios.s]\nexecutor = "constant-vus"\nduration = "1s"\nrequests = ["/x"]\n'
    assert_error(error_of(text), "scenarios.s.requests[0]", "expected a table, got a string", 4)


def test_no_scenarios_is_an_error() -> None:
    assert_error(
        error_of('[target]\nbase_url = "http://127.0.0.1:1"\n'), "scenarios", "at least one"
    )
    assert_error(error_of("[scenarios]\n"), "scenarios", "at least one scenario", 1)


# --- values --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "key_path", "expectation"),
    [
        ('executor = "constant-vus"\nduration = "1s"\nvus = 0', "vus", "positive integer, got 0"),
        ('executor = "constant-vus"\nduration = "1s"\nvus = -2', "vus", "positive integer, got -2"),
        ('executor = "shared-iterations"\niterations = 0', "iterations", "positive integer, got 0"),
        (
            'executor = "shared-iterations"\nvus = 5\niterations = 3',
            "iterations",
            "iterations (3) can't be less than the number of VUs (5)",
        ),
        (
            'executor = "constant-arrival-rate"\nrate = 1\nduration = "1s"\npreAllocatedVUs = 0',
            "preAllocatedVUs",
            "positive integer, got 0",
        ),
        (
            'executor = "constant-arrival-rate"\nrate = 0\nduration = "1s"\npreAllocatedVUs = 1',
            "rate",
            "expected a number > 0, got 0",
        ),
        (
            'executor = "ramping-arrival-rate"\nstartRate = -1\npreAllocatedVUs = 1\n'
            'stages = [{ duration = "1s", target = 1 }]',
            "startRate",
            "expected a number >= 0, got -1",
        ),
        (
            'executor = "ramping-arrival-rate"\npreAllocatedVUs = 1\n'
            'stages = [{ duration = "1s", target = 0 }]',
            "stages",
            "no iteration would ever start",
        ),
        (
            'executor = "ramping-vus"\nstartVUs = 0\nstages = [{ duration = "1s", target = 0 }]',
            "stages",
            "no VU would ever run",
        ),
        (
            'executor = "ramping-vus"\nstages = [{ duration = "0s", target = 3 }]',
            "stages",
            "add up to 0s",
        ),
        ('executor = "ramping-vus"\nstages = []', "stages", "at least one"),
        (
            'executor = "ramping-vus"\nstages = [{ duration = "1s", target = 1.5 }]',
            "stages[0].target",
            "non-negative integer, got a float (1.5)",
        ),
        ('executor = "ramping-vus"\nstages = [{ target = 1 }]', "stages[0].duration", "missing"),
        ('executor = "constant-vus"', "duration", "missing required key 'duration' (executor"),
        ('executor = "constant-vus"\nduration = "0s"', "duration", "a duration > 0, got '0s'"),
        (
            'executor = "constant-arrival-rate"\nrate = 1\nduration = "1s"',
            "preAllocatedVUs",
            "missing required key 'preAllocatedVUs'",
        ),
        (
            'executor = "constant-vus"\nduration = "1s"\nexpected_statuses = ["299-200"]',
            "expected_statuses[0]",
            "low <= high",
        ),
        ('executor = "constant-vus"\nduration = "1s"\ndescription = 3', "description", "a string"),
    ],
)
def test_bad_values(body: str, key_path: str, expectation: str) -> None:
    text = scenario(body)
    last_key = key_path.split(".")[0].split("[")[0]
    error = error_of(text)
    needle = f"{last_key} =" if f"{last_key} =" in text else "[scenarios.s]"
    assert_error(error, f"scenarios.s.{key_path}", expectation, line_of(text, needle))


def test_max_vus_below_pre_allocated() -> None:
    text = scenario(
        """
        executor = "constant-arrival-rate"
        rate = 10
        duration = "10s"
        preAllocatedVUs = 5
        maxVUs = 2
        """
    )
    error = error_of(text)
    assert_error(
        error,
        "scenarios.s.maxVUs",
        "maxVUs (2) must be >= preAllocatedVUs (5)",
        line_of(text, "maxVUs"),
    )
    assert (error.column, error.pointer) == (10, "maxVUs = 2\n         ^")


def test_stage_target_error_points_into_an_inline_array() -> None:
    text = textwrap.dedent(
        """\
        [scenarios.auth_burst]
        executor = "ramping-vus"
        stages = [
          { duration = "1m", target = 100 },
          { duration = "3m", target = -3 },
        ]
        [[scenarios.auth_burst.requests]]
        path = "/x"
        """
    )
    error = error_of(text)
    assert str(error).startswith(
        "scenarios.toml:5:31: scenarios.auth_burst.stages[1].target: "
        "expected a non-negative integer, got -3\n"
    )


@pytest.mark.parametrize(
    ("value", "expectation"),
    [
        ("30", 'got the number 30 (write it with a unit: "30s" or "30ms")'),
        ("1.5", "got the number 1.5"),
        ('"30"', "expected a duration like '500ms', '30s' or '1m30s'"),
        ('"1 minute"', "got '1 minute'"),
        ('"-1s"', "got '-1s'"),
        ("true", 'expected a duration string like "30s", got a boolean (true)'),
    ],
)
def test_bad_durations(value: str, expectation: str) -> None:
    text = scenario(f'executor = "constant-vus"\nduration = "1s"\nthink_time = {value}')
    assert_error(error_of(text), "scenarios.s.think_time", expectation, line_of(text, "think_time"))


@pytest.mark.parametrize(
    ("value", "expectation"),
    [
        ('"1XB"', "expected a size like '1MB', '512KiB' or '100B', got '1XB'"),
        ('"MB"', "got 'MB'"),
        ("-1", "non-negative size"),
        ('"1GiB"', "at most 256MiB"),
        ("true", "got True"),
    ],
)
def test_bad_sizes(value: str, expectation: str) -> None:
    text = CONSTANT + f"multipart = {{ file = {{ size = {value} }} }}\n"
    assert_error(
        error_of(text),
        "scenarios.s.requests[0].multipart.file.size",
        expectation,
        line_of(text, "multipart"),
    )


@pytest.mark.parametrize(
    ("text", "key_path", "expectation"),
    [
        ('[target]\nbase_url = "ftp://x"\n', "target.base_url", "http:// or https:// URL"),
        ('[target]\nbase_url = "http://"\n', "target.base_url", "with a host"),
        ('[target]\nbase_url = "http://h:99999"\n', "target.base_url", "got 'http://h:99999'"),
        ('[target]\nbase_url = "http://h/?a=1"\n', "target.base_url", "no query"),
        ('[options]\ninterval = "100ms"\n', "options.interval", ">= 250ms, got '100ms'"),
        ('[options]\nsummary_trend_stats = ["p95"]\n', "options.summary_trend_stats[0]", "p(N)"),
        (
            '[options]\nsummary_trend_stats = ["p(101)"]\n',
            "options.summary_trend_stats[0]",
            "0-100",
        ),
        ('[target]\nheaders = { "A B" = "x" }\n', 'target.headers."A B"', "header name"),
        ('[target]\nheaders = { A = "x\\ny" }\n', "target.headers.A", "line break"),
    ],
)
def test_bad_target_and_options(text: str, key_path: str, expectation: str) -> None:
    assert_error(error_of(text + CONSTANT), key_path, expectation, 2)


@pytest.mark.parametrize(
    ("line", "key", "expectation"),
    [
        ('method = "FETCH"', "method", "one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"),
        ('name = ""', "name", "non-empty string"),
        ('content_type = "text/csv"', "content_type", "goes with a raw `body`"),
        ('timeout = "0s"', "timeout", "duration > 0"),
        ("json = nan", "json", "finite number"),
        ("multipart = { f = [1] }", "multipart.f", "a text field or a file"),
        ('group = ""', "group", "non-empty string"),
        ("query = { a = { b = 1 } }", "query.a", "got a table"),
    ],
)
def test_request_value_errors(line: str, key: str, expectation: str) -> None:
    text = CONSTANT + f"{line}\n"
    assert_error(error_of(text), f"scenarios.s.requests[0].{key}", expectation, 7)


def test_request_path_must_start_with_a_slash() -> None:
    text = CONSTANT.replace('"/api/health"', '"api/health"')
    assert_error(
        error_of(text), "scenarios.s.requests[0].path", "starting with '/', got 'api/health'", 6
    )


def test_two_bodies() -> None:
    text = CONSTANT + 'json = { a = 1 }\nform = { b = "2" }\n'
    assert_error(
        error_of(text),
        "scenarios.s.requests[0].form",
        "at most one body, got both json and form",
        line_of(text, "form ="),
    )


def test_unknown_template_variable() -> None:
    text = CONSTANT + 'json = { model = "LoadTest${user}" }\n'
    error = error_of(text)
    assert_error(
        error, "scenarios.s.requests[0].json.model", "unknown template variable ${user}", 7
    )
    assert "${vu}, ${iteration}, ${scenario}" in error.message
    for line, path in [
        ('headers = { A = "${VU}" }', "headers.A"),
        ('query = { q = "${iter}" }', "query.q"),
        ('body = "x ${env.HOME}"', "body"),
        ('form = { a = "${}" }', "form.a"),
    ]:
        assert_error(error_of(CONSTANT + line + "\n"), f"scenarios.s.requests[0].{path}", "unknown")
    unterminated = CONSTANT.replace('"/api/health"', '"/api/${vu"')
    assert_error(error_of(unterminated), "scenarios.s.requests[0].path", "unterminated", 6)


def test_bad_check_syntax_points_into_the_string() -> None:
    text = CONSTANT + '[scenarios.s.requests.checks]\n"status is 200" = "status = 200"\n'
    error = error_of(text)
    assert_error(
        error, 'scenarios.s.requests[0].checks."status is 200"', "invalid check: expected", 8
    )
    assert "use == for equality" in error.message
    written = text.splitlines()[7]
    assert written[error.column - 1 :].startswith("= 200")  # the column of the bad '='
    assert error.pointer == "status = 200\n       ^"


def test_check_names_must_not_be_blank() -> None:
    text = CONSTANT + 'checks = { "" = "status == 200" }\n'
    assert_error(error_of(text), 'scenarios.s.requests[0].checks.""', "needs a name", 7)


# --- thresholds ----------------------------------------------------------------------------------


def test_scenario_thresholds_are_scoped_and_run_wide_ones_are_not() -> None:
    text = (
        '[thresholds]\n"http_req_duration{name:login}" = ["p(95)<300"]\n'
        + CONSTANT
        + textwrap.dedent(
            """
            [scenarios.s.thresholds]
            http_req_duration = ["p(99)<200", { threshold = "avg<100", abortOnFail = true, delayAbortEval = "10s" }]
            "checks{check:ok}" = ["rate>0.9"]
            """
        )
    )
    config = parse_config(text)
    first, second, third = config.scenarios["s"].thresholds
    assert first.key == "http_req_duration{scenario:s}"
    assert first.metric == "http_req_duration" and first.tags == (("scenario", "s"),)
    assert (first.expr.aggregation, first.expr.percentile, first.expr.value) == ("p", 99.0, 200.0)
    assert (first.abort_on_fail, first.delay_abort_eval) == (False, None)
    assert second.key == first.key and second.abort_on_fail and second.delay_abort_eval == 10.0
    assert third.key == "checks{check:ok,scenario:s}"
    assert third.tags == (("check", "ok"), ("scenario", "s"))
    (run_wide,) = config.thresholds
    assert run_wide.key == "http_req_duration{name:login}"
    assert run_wide.tags == (("name", "login"),)


def test_a_scenario_threshold_cannot_name_another_scenario() -> None:
    text = CONSTANT + '[scenarios.s.thresholds]\n"http_reqs{scenario:t}" = ["count>1"]\n'
    assert_error(error_of(text), 'scenarios.s.thresholds."http_reqs{scenario:t}"', "scenario:t", 8)
    same = CONSTANT + '[scenarios.s.thresholds]\n"http_reqs{scenario:s}" = ["count>1"]\n'
    assert parse_config(same).scenarios["s"].thresholds[0].key == "http_reqs{scenario:s}"


def test_bad_threshold_expression_points_at_the_column() -> None:
    text = CONSTANT + '[scenarios.s.thresholds]\nhttp_req_duration = ["p(99)<200", "p(99<200"]\n'
    error = error_of(text)
    assert_error(
        error, "scenarios.s.thresholds.http_req_duration[1]", "invalid threshold: expected ')'", 8
    )
    assert error.pointer == "p(99<200\n    ^"
    assert text.splitlines()[7][error.column - 1 :].startswith("<200")


def test_threshold_in_a_table_entry_points_at_its_string() -> None:
    text = CONSTANT + "[thresholds]\nhttp_req_failed = [{ threshold = 'rate<<0.1' }]\n"
    error = error_of(text)
    assert_error(error, "thresholds.http_req_failed[0].threshold", "invalid threshold", 8)
    assert error.pointer is not None
    source, caret = error.pointer.splitlines()
    assert source == "rate<<0.1"
    offset = caret.index("^")
    assert text.splitlines()[7][error.column - 1 :].startswith(source[offset:] + "'")


def test_unknown_metric_points_at_the_key() -> None:
    text = CONSTANT + "[scenarios.s.thresholds]\nhttp_req_durtion = ['p(99)<200']\n"
    error = error_of(text)
    assert_error(error, "scenarios.s.thresholds.http_req_durtion", "unknown metric", 8)
    assert "did you mean 'http_req_duration'" in error.message
    assert error.column == 1


def test_aggregation_not_allowed_for_the_metric() -> None:
    text = CONSTANT + "[thresholds]\nhttp_req_failed = ['p(99)<0.1']\n"
    assert_error(
        error_of(text), "thresholds.http_req_failed[0]", "not valid for http_req_failed", 8
    )


def test_bad_threshold_key_and_shapes() -> None:
    text = CONSTANT + '[thresholds]\n"http_reqs{scenario}" = ["count>1"]\n'
    assert_error(error_of(text), 'thresholds."http_reqs{scenario}"', "name:value", 8)
    text = CONSTANT + '[thresholds]\nhttp_reqs = "count>1"\n'
    assert_error(error_of(text), "thresholds.http_reqs", "expected an array of threshold", 8)
    text = CONSTANT + "[thresholds]\nhttp_reqs = [5]\n"
    assert_error(error_of(text), "thresholds.http_reqs[0]", "got an integer (5)", 8)
    text = CONSTANT + "[thresholds]\nhttp_reqs = [{ abortOnFail = true }]\n"
    assert_error(error_of(text), "thresholds.http_reqs[0].threshold", "missing required key", 8)


# --- suites and names ----------------------------------------------------------------------------


def test_suites() -> None:
    text = CONSTANT.replace("[scenarios.s]", "[scenarios.t]").replace(
        "scenarios.s.", "scenarios.t."
    )
    text = (
        CONSTANT
        + text
        + textwrap.dedent(
            """
        [suites.both]
        description = "together"
        scenarios = ["s", "t"]
        thresholds = { http_req_failed = ["rate<0.001"] }
        """
        )
    )
    suite = parse_config(text).suites["both"]
    assert (suite.scenarios, suite.description) == (("s", "t"), "together")
    assert suite.thresholds[0].key == "http_req_failed" and suite.thresholds[0].tags == ()


def test_suite_naming_an_unknown_scenario() -> None:
    text = CONSTANT + '[suites.mix]\nscenarios = ["s", "reads"]\n'
    error = error_of(text)
    assert_error(
        error, "suites.mix.scenarios[1]", "unknown scenario 'reads'; defined scenarios: s", 8
    )
    assert error.column == 19


def test_suite_errors() -> None:
    text = CONSTANT + '[suites.s]\nscenarios = ["s"]\n'
    assert_error(error_of(text), "suites.s", "has the name of a scenario", 7)
    text = CONSTANT + '[suites.m]\nscenarios = ["s", "s"]\n'
    assert_error(error_of(text), "suites.m.scenarios[1]", "listed twice", 8)
    text = CONSTANT + "[suites.m]\nscenarios = []\n"
    assert_error(error_of(text), "suites.m.scenarios", "at least one", 8)
    text = CONSTANT + '[suites."a b"]\nscenarios = ["s"]\n'
    assert_error(error_of(text), 'suites."a b"', "letters, digits", 7)


def test_scenario_names() -> None:
    text = CONSTANT.replace("scenarios.s", 'scenarios."auth burst"')
    assert_error(error_of(text), 'scenarios."auth burst"', "letters, digits, '_' and '-'", 1)


# --- key locator ---------------------------------------------------------------------------------


def test_locator_finds_keys_in_every_toml_shape() -> None:
    text = textwrap.dedent(
        '''\
        top = """multi
        line = "not a key" ]
        """
        [scenarios.a]   # comment [x]
        stages = [
          { duration = "1s", target = 1 },

          { duration = "2s", target = 'x#y' }, # trailing
        ]
        tags.team = "web"

        [[scenarios.a.requests]]
        path = "/one"

        [[scenarios.a.requests]]
        path = "/two"
        [scenarios.a.requests.checks]
        "status is 200" = "status == 200"
        '''
    )
    locator = KeyLocator(text)

    def at(*path: str | int) -> tuple[int, int] | None:
        found = locator.find(tuple(path), exact=True)
        return None if found is None else (found.line, found.column)

    assert at("top") == (1, 1)
    assert at("line") is None  # inside a multi-line string
    assert at("scenarios", "a") == (4, 12)
    assert at("scenarios", "a", "stages") == (5, 1)
    assert at("scenarios", "a", "stages", 1) == (8, 3)
    assert at("scenarios", "a", "stages", 1, "target") == (8, 22)
    assert at("scenarios", "a", "tags", "team") == (10, 6)
    assert at("scenarios", "a", "requests", 0, "path") == (13, 1)
    assert at("scenarios", "a", "requests", 1, "path") == (16, 1)
    assert at("scenarios", "a", "requests", 1, "checks", "status is 200") == (18, 1)
    value = locator.find(("scenarios", "a", "stages", 1, "target"))
    assert value is not None and (value.value_line, value.value_column) == (8, 31)
    # Not written: the nearest ancestor, unless exact.
    assert locator.find(("scenarios", "a", "requests", 1, "name")) == locator.find(
        ("scenarios", "a", "requests", 1)
    )
    assert locator.find(("nowhere",)) is None


# --- time scaling --------------------------------------------------------------------------------


def test_time_scale_scales_scheduling_only() -> None:
    text = textwrap.dedent(
        """
        [target]
        timeout = "10s"
        [thresholds]
        http_reqs = [{ threshold = "count>1", abortOnFail = true, delayAbortEval = "20s" }]

        [scenarios.ramp]
        executor = "ramping-vus"
        stages = [{ duration = "1m", target = 10 }, { duration = "30s", target = 0 }]
        gracefulRampDown = "10s"
        startTime = "10s"
        gracefulStop = "20s"
        think_time = "1s"
        thresholds = { http_req_duration = ["p(99)[30s]<200"] }
        [[scenarios.ramp.requests]]
        path = "/a"
        timeout = "5s"
        think_time = "2s"

        [scenarios.rate]
        executor = "constant-arrival-rate"
        rate = 10
        timeUnit = "1s"
        duration = "2m"
        preAllocatedVUs = 1
        [[scenarios.rate.requests]]
        path = "/b"

        [scenarios.iters]
        executor = "per-vu-iterations"
        maxDuration = "10m"
        [[scenarios.iters.requests]]
        path = "/c"

        [suites.all]
        scenarios = ["ramp", "rate"]
        thresholds = { http_reqs = [{ threshold = "count>1", delayAbortEval = "1m" }] }
        """
    )
    config = parse_config(text)
    fast = with_time_scale(config, 0.1)
    ramp = fast.scenarios["ramp"]
    assert ramp.executor.stages == (Stage(6.0, 10.0), Stage(3.0, 0.0))
    assert ramp.executor.graceful_ramp_down == pytest.approx(1.0)
    assert ramp.executor.start_time == pytest.approx(1.0)
    assert ramp.executor.graceful_stop == pytest.approx(2.0)
    # Not scheduling: unchanged.
    assert ramp.think_time == 1.0 and ramp.timeout == 10.0
    assert (ramp.requests[0].timeout, ramp.requests[0].think_time) == (5.0, 2.0)
    assert ramp.thresholds[0].expr.window == 30.0
    rate = fast.scenarios["rate"]
    assert rate.executor.duration == pytest.approx(12.0)
    assert (rate.executor.rate, rate.executor.time_unit) == (10.0, 1.0)
    assert fast.scenarios["iters"].executor.max_duration == pytest.approx(60.0)
    assert fast.thresholds[0].delay_abort_eval == pytest.approx(2.0)
    assert fast.suites["all"].thresholds[0].delay_abort_eval == pytest.approx(6.0)
    # The original is untouched, and factor 1 changes nothing.
    assert config.scenarios["ramp"].executor.stages[0].duration == 60.0
    assert with_time_scale(config, 1.0) == config
    slow = with_time_scale(config, 2)
    assert slow.scenarios["rate"].executor.duration == 240.0


@pytest.mark.parametrize("factor", [0, -1, float("nan"), float("inf"), True])
def test_time_scale_must_be_positive(factor: float) -> None:
    with pytest.raises(ValueError, match="time scale must be a number > 0"):
        with_time_scale(parse_config(CONSTANT), factor)
