"""`[checklist]` in scenarios.toml -> the checklist model: every kind's keys, and located errors."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from ccplate_tui.checklist.model import (
    Checklist,
    CommandSpec,
    HttpProbe,
    Phase,
    Step,
    step_fingerprint,
)
from ccplate_tui.config.errors import ConfigError
from ccplate_tui.config.loader import load_config, parse_config

SHIPPED = Path(__file__).resolve().parent.parent / "scenarios.toml"

BASE = textwrap.dedent(
    """\
    [target]
    base_url = "http://127.0.0.1:9911/"

    [scenarios.s]
    executor = "constant-vus"
    duration = "1s"

    [[scenarios.s.requests]]
    path = "/api/health"

    [scenarios.t]
    executor = "constant-vus"
    duration = "1s"

    [[scenarios.t.requests]]
    path = "/api/health"

    [suites.both]
    scenarios = ["s", "t"]

    [checklist]
    title = "Deploy"

    [[checklist.phases]]
    id = "pre"
    title = "Pre-deploy"
    """
)


def with_step(body: str, kind: str = "manual", step_id: str = "one") -> str:
    """BASE with one step of `kind` whose table holds `body`."""
    head = f'[[checklist.phases.steps]]\nid = "{step_id}"\ntitle = "Step"\nkind = "{kind}"\n'
    return BASE + "\n" + head + textwrap.dedent(body).strip() + "\n"


def step_of(text: str, step_id: str = "one") -> Step:
    checklist = parse_config(text).checklist
    assert checklist is not None
    return checklist.step(step_id)


def error_of(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "scenarios.toml")
    return caught.value


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not in text")


# --- every kind's keys ---------------------------------------------------------------------------


def test_manual_step_with_every_common_key() -> None:
    text = with_step(
        """
        help = "Tick it when done"
        required = false
        approvers = ["bob", "carol"]
        """
    )
    step = step_of(text)
    assert step == Step(
        id="one",
        title="Step",
        kind="manual",
        phase="pre",
        help="Tick it when done",
        required=False,
        approvers=("bob", "carol"),
    )
    assert not step.automated


def test_command_step_with_every_key(tmp_path: Path) -> None:
    text = with_step(
        """
        argv = ["curl", "-fsS", "${base_url}/api/health"]
        cwd = "app"
        env = { TARGET = "${base_url}", RETRIES = 3, CI = true }
        timeout = "2m"
        """,
        kind="command",
    )
    config_path = tmp_path / "scenarios.toml"
    config_path.write_text(text)
    checklist = load_config(config_path).checklist
    assert checklist is not None
    assert checklist.step("one").command == CommandSpec(
        argv=("curl", "-fsS", "http://127.0.0.1:9911/api/health"),
        shell=False,
        cwd=str(tmp_path.resolve() / "app"),
        env=(("CI", "true"), ("RETRIES", "3"), ("TARGET", "http://127.0.0.1:9911")),
        timeout=120.0,
    )


def test_command_step_with_shell_takes_one_string() -> None:
    step = step_of(with_step('argv = "npm test | tail -5"\nshell = true', kind="command"))
    assert step.command == CommandSpec(argv=("npm test | tail -5",), shell=True)
    assert step.command.timeout == 600.0  # the default


def test_http_step_with_every_key() -> None:
    text = with_step(
        """
        url = "${base_url}/api/health"
        method = "post"
        expect_status = [204, 200]
        body_contains = "ok"
        body_matches = '"status":\\s*"ok"'
        headers = { Authorization = "Bearer x", X-Retry = 1 }
        timeout = "5s"
        """,
        kind="http",
    )
    assert step_of(text).probe == HttpProbe(
        url="http://127.0.0.1:9911/api/health",
        method="POST",
        expect_status=(200, 204),
        body_contains="ok",
        body_matches='"status":\\s*"ok"',
        headers=(("Authorization", "Bearer x"), ("X-Retry", "1")),
        timeout=5.0,
    )


def test_http_step_defaults_and_a_path_joined_to_the_base_url() -> None:
    step = step_of(with_step('url = "/api/health"\nexpect_status = 503', kind="http"))
    assert step.probe == HttpProbe(url="http://127.0.0.1:9911/api/health", expect_status=(503,))
    assert (step.probe.method, step.probe.timeout) == ("GET", 10.0)


def test_sentry_step() -> None:
    assert step_of(with_step("", kind="sentry")).sentry_check == "capture"
    step = step_of(with_step('check = "compatibility"', kind="sentry"))
    assert step.sentry_check == "compatibility" and step.automated


@pytest.mark.parametrize("name", ["s", "both"])
def test_load_step_names_a_scenario_or_a_suite(name: str) -> None:
    text = with_step(f'scenario = "{name}"\nmax_age = "168h"\ntime_scale = 0.05', kind="load")
    step = step_of(text)
    assert (step.scenario, step.max_age, step.time_scale) == (name, 7 * 24 * 3600.0, 0.05)


def test_timer_step_with_http_and_command_probes() -> None:
    text = with_step(
        """
        duration = "30m"
        every = "15s"
        probes = [
          { url = "${base_url}/api/health", expect_status = [200], timeout = "2s" },
          { argv = ["true"], timeout = "5s" },
        ]
        """,
        kind="timer",
    )
    step = step_of(text)
    assert (step.duration, step.every) == (1800.0, 15.0)
    assert step.probes == (
        HttpProbe(url="http://127.0.0.1:9911/api/health", timeout=2.0),
        CommandSpec(argv=("true",), timeout=5.0),
    )


def test_timer_defaults_and_a_pure_wait_window() -> None:
    step = step_of(with_step('duration = "5m"', kind="timer"))
    assert (step.duration, step.every, step.probes) == (300.0, 30.0, ())


def test_phase_gate_defaults_to_blocking_and_steps_keep_order() -> None:
    text = with_step("", step_id="a") + textwrap.dedent(
        """
        [[checklist.phases.steps]]
        id = "b"
        title = "B"
        kind = "manual"

        [[checklist.phases]]
        id = "rollback"
        title = "Rollback plan"
        gate = "advisory"

        [[checklist.phases.steps]]
        id = "c"
        title = "C"
        kind = "manual"
        """
    )
    checklist = parse_config(text).checklist
    assert checklist is not None
    assert [(p.id, p.gate) for p in checklist.phases] == [
        ("pre", "blocking"),
        ("rollback", "advisory"),
    ]
    assert [s.id for s in checklist.steps()] == ["a", "b", "c"]
    assert checklist.step("c").phase == "rollback"
    assert checklist.title == "Deploy"


def test_no_checklist_table_means_none() -> None:
    text = BASE.split("[checklist]")[0]
    assert parse_config(text).checklist is None


# --- bad input: ConfigError with the key path and the line --------------------------------------

STEP = "checklist.phases[0].steps[0]"


@pytest.mark.parametrize(
    ("kind", "body", "key_path", "expected", "needle"),
    [
        ("manual", "colour = 1", f"{STEP}.colour", "unknown key; allowed for a manual step", "colour"),
        ("http", 'url = "/x"\nargv = ["a"]', f"{STEP}.argv", "belongs to kind command", "argv"),
        ("manual", 'url = "/x"', f"{STEP}.url", "(it belongs to kind http); a manual step", "url"),
        ("nonsense", "", f"{STEP}.kind", "expected one of manual, command, http", "kind ="),
        ("manual", "required = 1", f"{STEP}.required", "expected true or false", "required"),
        ("manual", 'help = ["x"]', f"{STEP}.help", "expected a string", "help"),
        ("manual", "approvers = []", f"{STEP}.approvers", "at least one", "approvers"),
        ("manual", 'approvers = "bob"', f"{STEP}.approvers", "expected an array", "approvers"),
        ("manual", 'approvers = ["*", "bob"]', f"{STEP}.approvers", "stands alone", "approvers"),
        ("manual", 'approvers = ["bo", "bo"]', f"{STEP}.approvers[1]", "listed twice", "approv"),
        ("command", 'argv = "npm test"', f"{STEP}.argv", "needs shell = true", "argv"),
        ("command", "argv = []", f"{STEP}.argv", "at least one", "argv"),
        ("command", 'argv = ["npm", 1]', f"{STEP}.argv[1]", "expected a string", "argv"),
        ("command", 'argv = [""]', f"{STEP}.argv[0]", "program name", "argv"),
        ("command", 'argv = ["a"]\nshell = true', f"{STEP}.argv", "one command line", "argv"),
        ("command", "shell = true", f"{STEP}.argv", "missing required key 'argv'", None),
        ("command", 'argv = ["a"]\ntimeout = 5', f"{STEP}.timeout", "duration string", "timeout"),
        ("command", 'argv = ["a"]\nenv = { "A B" = "x" }', f"{STEP}.env.\"A B\"", "variable", "env"),
        ("command", 'argv = ["a"]\nenv = { A = [1] }', f"{STEP}.env.A", "expected a string", "env"),
        ("command", 'argv = ["a"]\ncwd = ""', f"{STEP}.cwd", "non-empty", "cwd"),
        ("http", "method = \"GET\"", f"{STEP}.url", "missing required key 'url'", None),
        ("http", 'url = "ftp://host/x"', f"{STEP}.url", "expected an http:// or https://", "url"),
        ("http", 'url = "${target}/x"', f"{STEP}.url", "unknown variable ${target}", "url"),
        ("http", 'url = "/x"\nmethod = "FETCH"', f"{STEP}.method", "expected one of GET", "method"),
        ("http", 'url = "/x"\nexpect_status = 700', f"{STEP}.expect_status", "100-599", "expect"),
        ("http", 'url = "/x"\nexpect_status = [200, "ok"]', f"{STEP}.expect_status[1]", "100-599", "expect"),
        ("http", 'url = "/x"\nbody_matches = "(ok"', f"{STEP}.body_matches", "invalid regular expression", "body_matches"),
        ("http", 'url = "/x"\nheaders = { "A:B" = "x" }', f"{STEP}.headers.\"A:B\"", "header name", "headers"),
        ("http", 'url = "/x"\ntimeout = "0s"', f"{STEP}.timeout", "duration > 0", "timeout"),
        ("sentry", 'check = "bogus"', f"{STEP}.check", "expected one of capture, compatibility", "check"),
        ("load", 'max_age = "1h"', f"{STEP}.scenario", "missing required key 'scenario'", None),
        ("load", 'scenario = "nope"', f"{STEP}.scenario", "unknown scenario or suite 'nope'; defined: both, s, t", "scenario"),
        ("load", 'scenario = "s"\ntime_scale = 0', f"{STEP}.time_scale", "a number > 0", "time_scale"),
        ("load", 'scenario = "s"\nmax_age = "soon"', f"{STEP}.max_age", "expected a duration", "max_age"),
        ("timer", 'every = "10s"', f"{STEP}.duration", "missing required key 'duration'", None),
        ("timer", 'duration = "1m"\nevery = "500ms"', f"{STEP}.every", "at least 1s", "every"),
        ("timer", 'duration = "1m"\nevery = "2m"', f"{STEP}.every", "longer than the watch window", "every"),
        ("timer", 'duration = "1m"\nprobes = [{ url = "/x", argv = ["a"] }]', f"{STEP}.probes[0].argv", "not both", "probes"),
        ("timer", 'duration = "1m"\nprobes = [{ timeout = "1s" }]', f"{STEP}.probes[0]", "expected an HTTP probe", "probes"),
        ("timer", 'duration = "1m"\nprobes = [{ url = "/x", shell = true }]', f"{STEP}.probes[0].shell", "unknown key for a http probe", "probes"),
        ("timer", 'duration = "1m"\nprobes = [{ argv = "x" }]', f"{STEP}.probes[0].argv", "needs shell = true", "probes"),
        ("timer", 'duration = "1m"\nprobes = ["x"]', f"{STEP}.probes[0]", "expected a table", "probes"),
    ],
)  # fmt: skip
def test_bad_step_values_are_located(
    kind: str, body: str, key_path: str, expected: str, needle: str | None
) -> None:
    text = with_step(body, kind=kind)
    error = error_of(text)
    assert error.key_path == key_path, str(error)
    assert expected in error.message, error.message
    # A missing key is located at its table's header; any other error on the key's own line.
    header = line_of(text, "[[checklist.phases.steps]]")
    line = header
    if needle:
        step_lines = text.splitlines()[header:]
        line = header + 1 + next(i for i, t in enumerate(step_lines) if needle in t)
    assert error.line == line, str(error)
    assert str(error).startswith(f"scenarios.toml:{line}:{error.column}: {key_path}: ")


@pytest.mark.parametrize(
    ("text", "key_path", "expected", "needle"),
    [
        (BASE + 'colour = "red"\n', "checklist.phases[0].colour", "allowed here: id, title", "colour"),
        (BASE.replace('title = "Deploy"', 'titel = "x"'), "checklist.titel", "allowed here: title, phases", "titel"),
        (BASE + 'gate = "soft"\n', "checklist.phases[0].gate", "expected one of blocking, advisory", "gate"),
        (BASE, "checklist.phases[0].steps", "missing required key 'steps'", "[[checklist.phases]]"),
        (BASE.replace('id = "pre"', 'id = "pre deploy"'), "checklist.phases[0].id", "letters, digits", 'id = "pre'),
        (BASE.split("[[checklist.phases]]")[0], "checklist.phases", "missing required key 'phases'", "[checklist]"),
        (BASE.split("[[checklist.phases]]")[0] + "phases = []\n", "checklist.phases", "at least one", "phases"),
        (with_step("", step_id="a b"), f"{STEP}.id", "letters, digits", 'id = "a b"'),
        ('checklist = 1\n' + BASE.split("[checklist]")[0], "checklist", "expected a table", "checklist ="),
    ],
)  # fmt: skip
def test_bad_checklist_and_phase_values_are_located(
    text: str, key_path: str, expected: str, needle: str
) -> None:
    error = error_of(text)
    assert error.key_path == key_path, str(error)
    assert expected in error.message, error.message
    assert error.line == line_of(text, needle), str(error)


def test_unknown_top_level_key_lists_checklist_as_allowed() -> None:
    error = error_of("chcklist = 1\n" + BASE)
    assert error.key_path == "chcklist"
    assert "checklist" in error.message and error.line == 1


def test_duplicate_step_ids_across_phases() -> None:
    text = with_step("") + textwrap.dedent(
        """
        [[checklist.phases]]
        id = "post"
        title = "Post"

        [[checklist.phases.steps]]
        id = "one"
        title = "Again"
        kind = "manual"
        """
    )
    error = error_of(text)
    assert error.key_path == "checklist.phases[1].steps[0].id"
    assert "step id 'one' is already used in phase 'pre'" in error.message
    assert error.line == line_of(text, 'id = "one"', occurrence=2)


def test_duplicate_phase_ids() -> None:
    text = with_step("") + textwrap.dedent(
        """
        [[checklist.phases]]
        id = "pre"
        title = "Again"

        [[checklist.phases.steps]]
        id = "two"
        title = "Two"
        kind = "manual"
        """
    )
    error = error_of(text)
    assert error.key_path == "checklist.phases[1].id"
    assert "phase id 'pre' is used twice" in error.message
    assert error.line == line_of(text, 'id = "pre"', occurrence=2)


def test_an_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "deploy.toml"
    path.write_text(with_step("colour = 1"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}:")


# --- fingerprints and the digest -----------------------------------------------------------------


def test_any_change_of_a_step_changes_its_fingerprint_and_the_digest() -> None:
    step = Step(id="x", title="X", kind="http", phase="p", probe=HttpProbe(url="http://h/"))
    checklist = Checklist("T", (Phase("p", "P", steps=(step,)),))
    same = Step(id="x", title="X", kind="http", phase="p", probe=HttpProbe(url="http://h/"))
    assert step_fingerprint(step) == step_fingerprint(same)
    assert len(step_fingerprint(step)) == 16
    variants = [
        replace(step, title="Y"),
        replace(step, help="new wording"),
        replace(step, required=False),
        replace(step, approvers=("*",)),
        replace(step, probe=HttpProbe(url="http://h/", expect_status=(204,))),
        replace(step, probe=HttpProbe(url="http://h/", timeout=11.0)),
    ]
    prints = {step_fingerprint(v) for v in variants}
    assert len(prints) == len(variants) and step_fingerprint(step) not in prints
    other = Checklist("T", (Phase("p", "P", steps=(variants[0],)),))
    assert other.digest != checklist.digest
    assert Checklist("T", (Phase("p", "P", gate="advisory", steps=(step,)),)).digest != (
        checklist.digest
    )


def test_timer_probes_of_different_types_fingerprint_differently() -> None:
    a = Step(id="t", title="T", kind="timer", phase="p", duration=60, probes=(HttpProbe("x"),))
    b = replace(a, probes=(CommandSpec(("x",)),))
    assert step_fingerprint(a) != step_fingerprint(b)


def test_unknown_step_or_phase_names_the_known_ones() -> None:
    checklist = parse_config(with_step("")).checklist
    assert checklist is not None
    with pytest.raises(KeyError, match="no checklist step 'zz' \\(steps: one\\)"):
        checklist.step("zz")
    with pytest.raises(KeyError, match="no checklist phase 'zz' \\(phases: pre\\)"):
        checklist.phase("zz")


# --- the shipped checklist -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> Checklist:
    checklist = load_config(SHIPPED).checklist
    assert checklist is not None
    return checklist


def test_shipped_checklist_has_the_plans_phases_and_steps(shipped: Checklist) -> None:
    layout = {p.id: (p.gate, [(s.id, s.kind) for s in p.steps]) for p in shipped.phases}
    assert layout == {
        "pre_deploy": (
            "blocking",
            [
                ("security_audit", "manual"),
                ("tests", "command"),
                ("coverage", "manual"),
                ("sentry_capture", "sentry"),
                ("database", "manual"),
                ("environment", "manual"),
                ("health_check", "http"),
                ("rollback_tagged", "manual"),
            ],
        ),
        "staging": (
            "blocking",
            [
                ("staging_deploy", "command"),
                ("staging_e2e", "manual"),
                ("staging_sentry", "sentry"),
                ("load_baseline", "load"),
            ],
        ),
        "production": (
            "blocking",
            [
                ("production_deploy", "command"),
                ("monitor_errors", "timer"),
                ("response_times", "http"),
                ("db_connections", "http"),
            ],
        ),
        "post_deploy": (
            "blocking",
            [("post_health", "http"), ("first_sentry_event", "sentry"), ("analytics", "manual")],
        ),
        "rollback_plan": (
            "advisory",
            [
                ("rollback_script", "manual"),
                ("rollback_drill", "manual"),
                ("rollback_verified", "manual"),
            ],
        ),
    }
    assert all(s.title and s.phase for s in shipped.steps())


def test_shipped_steps_carry_the_plans_values(shipped: Checklist) -> None:
    base = "http://127.0.0.1:8787"
    assert shipped.step("security_audit").approvers == ("*",)
    assert shipped.step("rollback_tagged").approvers == ("*",)
    assert "audit-compliance --full" in shipped.step("security_audit").title
    tests = shipped.step("tests").command
    assert tests is not None and tests.argv == ("npm", "test") and not tests.shell
    assert tests.cwd == str(SHIPPED.parent / "examples" / "ccplate-app")
    assert "80%" in shipped.step("coverage").title
    assert shipped.step("sentry_capture").sentry_check == "capture"
    assert ".env.local" in shipped.step("environment").title
    health = shipped.step("health_check").probe
    assert health is not None and health.url == f"{base}/api/health"
    assert health.expect_status == (200,)
    assert "< 5 min" in shipped.step("rollback_tagged").title
    staging = shipped.step("staging_deploy").command
    assert staging is not None and staging.argv == ("vercel", "deploy", "--target=staging")
    production = shipped.step("production_deploy").command
    assert production is not None and production.argv[-1] == "--target=production"
    load = shipped.step("load_baseline")
    assert (load.scenario, load.max_age, load.time_scale) == ("auth_burst", 7 * 86400.0, 0.05)
    timer = shipped.step("monitor_errors")
    assert (timer.duration, timer.every) == (30 * 60.0, 30.0)
    assert timer.probes == (HttpProbe(url=f"{base}/api/health", timeout=5.0),)
    response = shipped.step("response_times").probe
    assert response is not None and response.timeout == 0.5  # "p99 < 500ms"
    assert shipped.step("first_sentry_event").kind == "sentry"
    assert all(s.kind == "manual" for s in shipped.phase("rollback_plan").steps)


def test_shipped_config_keeps_its_load_scenarios() -> None:
    config = load_config(SHIPPED)
    assert "auth_burst" in config.scenarios and "mixed_workload" in config.suites
    assert config.sentry.project is not None
