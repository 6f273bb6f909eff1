"""`export k6` writes no secret: secret header values become `__ENV` references, the TestRun
takes them from a Kubernetes Secret, the printed commands read them from the shell, and
`--include-secrets` writes them only with a warning. Judged by reading every byte written and
printed, and by the real k6 sending the right values to a loopback mirror."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ccplate_tui.config.loader import load_config
from ccplate_tui.k6.command import main as export_main
from ccplate_tui.k6.export import render_script
from ccplate_tui.k6.runner import K6Run
from ccplate_tui.k6.secrets import is_secret_header, plan_secrets, secret_env_names
from ccplate_tui.load.engine import resolve_plan
from tests.k6_export_helpers import k6, load_yaml_subset, mirror_server, requires_k6

BEARER = "s3cr3t-bearer-4f9a2c"
API_KEY = "ak-live-77d1e0b3"
COOKIE = "session=c00kie-9e8d"
TOKEN = "tok-31415926"
SECRETS = (BEARER, API_KEY, COOKIE, TOKEN)

CONFIG = f"""
[target]
base_url = "{{url}}"
headers = {{{{ Authorization = "Bearer {BEARER}", "X-Target" = "t" }}}}

[scenarios.login]
executor = "per-vu-iterations"
vus = 2
iterations = 1

[[scenarios.login.requests]]
name = "me"
path = "/me"
headers = {{{{ "X-Api-Key" = "{API_KEY}-${{{{vu}}}}", Cookie = "{COOKIE}" }}}}

[[scenarios.login.requests]]
name = "admin"
path = "/admin"
headers = {{{{ Authorization = "Token {TOKEN}", "Idempotency-Key" = "k-${{{{iteration}}}}" }}}}

[scenarios.public]
executor = "shared-iterations"

[[scenarios.public.requests]]
path = "/public"
headers = {{{{ Authorization = "" }}}}
"""


def _config(tmp_path: Path, url: str = "http://127.0.0.1:9") -> Path:
    path = tmp_path / "scenarios.toml"
    path.write_text(textwrap.dedent(CONFIG.format(url=url)).lstrip())
    return path


def _export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, Path, str, str]:
    out = tmp_path / "load"
    code = export_main(
        ["export", "k6", "--config", str(_config(tmp_path)), "--out", str(out), *args]
    )
    captured = capsys.readouterr()
    return code, out, captured.out, captured.err


def _holds_a_secret(data: bytes | str) -> list[str]:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return [secret for secret in SECRETS if secret in text]


# --- which values are secret, under which names ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "secret"),
    [
        ("Authorization", "Bearer x", True),
        ("proxy-authorization", "Basic eDp5", True),
        ("Cookie", "a=1", True),
        ("Set-Cookie", "a=1", True),
        ("X-Api-Key", "k", True),
        ("X-Session-TOKEN", "t", True),
        ("X-Client-Secret", "s", True),
        ("X-Db-Password", "p", True),
        ("X-Auth-User", "u", True),
        ("X-Forwarded-For", "Bearer abc.def", True),  # the value says so
        ("X-Trace", "ghp_" + "a" * 36, True),  # a well-known token format
        ("Idempotency-Key", "k-${vu}", False),  # a request id, not a credential
        ("X-Target", "t", False),
        ("Accept", "application/json", False),
        ("Content-Type", "text/csv", False),
    ],
)
def test_which_header_values_are_secret(name: str, value: str, secret: bool) -> None:
    assert is_secret_header(name, value) is secret


def test_a_value_taken_from_the_environment_is_secret(tmp_path: Path) -> None:
    """The config has no `${ENV}` syntax: a value copied from a secret-named variable (a config
    templated with envsubst) is recognised by its value."""
    path = tmp_path / "scenarios.toml"
    path.write_text(
        '[scenarios.s]\nexecutor = "shared-iterations"\n'
        '[[scenarios.s.requests]]\npath = "/a"\nheaders = { "X-Custom" = "v=from-env-31337" }\n'
    )
    config = load_config(path)
    assert secret_env_names(config, environ={}) == {}
    names = secret_env_names(config, environ={"MY_APP_TOKEN": "from-env-31337", "HOME": "/x"})
    assert [s.env for s in names.values()] == ["CCPLATE_SECRET_X_CUSTOM"]
    script = render_script(config, "s", environ={"MY_APP_TOKEN": "from-env-31337"})
    assert "from-env-31337" not in script and "__ENV.CCPLATE_SECRET_X_CUSTOM" in script


def test_variable_names_are_deterministic_and_shared_by_every_script(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path))
    names = {(s.header, s.env, s.where) for s in secret_env_names(config, environ={}).values()}
    assert names == {
        ("Authorization", "CCPLATE_SECRET_AUTHORIZATION", "target.headers"),
        ("X-Api-Key", "CCPLATE_SECRET_X_API_KEY", "scenarios.login.requests[0]"),
        ("Cookie", "CCPLATE_SECRET_COOKIE", "scenarios.login.requests[0]"),
        ("Authorization", "CCPLATE_SECRET_AUTHORIZATION_2", "scenarios.login.requests[1]"),
        ("Authorization", "CCPLATE_SECRET_AUTHORIZATION_3", "scenarios.public.requests[0]"),
    }
    login = [s.env for s in plan_secrets(config, resolve_plan(config, ["login"]).scenarios, {})]
    assert login == [
        "CCPLATE_SECRET_AUTHORIZATION",
        "CCPLATE_SECRET_COOKIE",
        "CCPLATE_SECRET_X_API_KEY",
        "CCPLATE_SECRET_AUTHORIZATION_2",
    ]
    # The public scenario alone still reads the third Authorization value under its own name.
    public = render_script(config, "public", environ={})
    assert "__ENV.CCPLATE_SECRET_AUTHORIZATION_3" in public
    assert "CCPLATE_SECRET_AUTHORIZATION_2" not in public


# --- what the command writes and prints -----------------------------------------------------------


def test_nothing_written_or_printed_holds_a_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, stdout, stderr = _export(tmp_path, capsys)
    assert code == 0, stderr
    written = sorted(p for p in out.rglob("*") if p.is_file())
    assert [p.name for p in written] == [
        "login.js", "login.testrun.yaml", "public.js", "public.testrun.yaml",
    ]  # fmt: skip
    for path in written:
        assert _holds_a_secret(path.read_bytes()) == [], path
    assert _holds_a_secret(stdout) == [] and _holds_a_secret(stderr) == []

    script = (out / "login.js").read_text()
    assert '"Authorization": __ENV.CCPLATE_SECRET_AUTHORIZATION,' in script
    assert '"X-Api-Key": fillTemplates(__ENV.CCPLATE_SECRET_X_API_KEY)' in script
    assert '"X-Target": "t"' in script and '"Idempotency-Key": `k-${__ITER}`' in script

    config_map, test_run = load_yaml_subset((out / "login.testrun.yaml").read_text())
    assert config_map["data"] == {"login.js": script}  # type: ignore[index]
    env = test_run["spec"]["runner"]["env"]  # type: ignore[index]
    assert env[0] == {"name": "BASE_URL", "value": "http://127.0.0.1:9"}
    assert env[1:] == [
        {
            "name": var,
            "valueFrom": {"secretKeyRef": {"name": "ccplate-tui-secrets", "key": var}},
        }
        for var in (
            "CCPLATE_SECRET_AUTHORIZATION",
            "CCPLATE_SECRET_COOKIE",
            "CCPLATE_SECRET_X_API_KEY",
            "CCPLATE_SECRET_AUTHORIZATION_2",
        )
    ]
    assert "secretKeyRef" in (out / "public.testrun.yaml").read_text()

    # One Secret for every TestRun, each value read from the user's shell.
    assert "kubectl create secret generic ccplate-tui-secrets \\\n" in stderr
    for var in ("AUTHORIZATION", "AUTHORIZATION_2", "AUTHORIZATION_3", "COOKIE", "X_API_KEY"):
        assert f'--from-literal=CCPLATE_SECRET_{var}="$CCPLATE_SECRET_{var}"' in stderr
        assert f"CCPLATE_SECRET_{var}  the " in stderr
    assert '-e CCPLATE_SECRET_AUTHORIZATION="$CCPLATE_SECRET_AUTHORIZATION"' in stderr
    assert stdout.split() == [str(p) for p in written]


def test_include_secrets_writes_them_with_a_warning_naming_the_headers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, stdout, stderr = _export(tmp_path, capsys, "--include-secrets")
    assert code == 0, stderr
    script = (out / "login.js").read_text()
    assert f'"Authorization": "Bearer {BEARER}"' in script
    assert f'"X-Api-Key": `{API_KEY}-${{__VU}}`' in script
    assert (
        "__ENV.CCPLATE_SECRET" not in script
        and "secretKeyRef" not in (out / "login.testrun.yaml").read_text()
    )
    assert BEARER in (out / "login.testrun.yaml").read_text()
    warning = [line for line in stderr.splitlines() if line.startswith("WARN --include-secrets")]
    assert len(warning) == 1
    assert "Authorization, Cookie, X-Api-Key" in warning[0] and "login.js" in warning[0]
    assert _holds_a_secret(stdout + stderr) == []


@pytest.mark.parametrize("name", ["Bad_Name", "a" * 254, "x-", "", "a..b"])
def test_a_bad_secret_name_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    code, out, _, stderr = _export(tmp_path, capsys, "--secret-name", name)
    assert code == 2 and "--secret-name must be a Kubernetes name" in stderr
    assert not out.exists()


def test_the_secret_name_is_the_one_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _, stderr = _export(tmp_path, capsys, "public", "--secret-name", "load.creds")
    assert code == 0 and "kubectl create secret generic load.creds \\\n" in stderr
    _, test_run = load_yaml_subset((out / "public.testrun.yaml").read_text())
    ref = test_run["spec"]["runner"]["env"][1]["valueFrom"]["secretKeyRef"]  # type: ignore[index]
    assert ref == {"name": "load.creds", "key": "CCPLATE_SECRET_AUTHORIZATION_3"}


# --- under the real k6 ----------------------------------------------------------------------------


@requires_k6
def test_the_script_sends_the_secrets_k6_is_given(tmp_path: Path) -> None:
    with mirror_server() as (url, received):
        config = load_config(_config(tmp_path, url))
        script = tmp_path / "login.js"
        script.write_text(render_script(config, "login", environ={}))
        assert _holds_a_secret(script.read_text()) == []
        # `k6 inspect` (the k6-operator's initializer) needs none of them.
        assert k6("inspect", str(script), timeout=60).returncode == 0
        # One by `-e`, the others from the environment (k6 run passes it to __ENV).
        done = k6(
            "run", "--quiet", "-e", f"CCPLATE_SECRET_AUTHORIZATION=Bearer {BEARER}", str(script),
            env={
                "CCPLATE_SECRET_COOKIE": COOKIE,
                "CCPLATE_SECRET_X_API_KEY": API_KEY + "-${vu}",
                "CCPLATE_SECRET_AUTHORIZATION_2": f"Token {TOKEN}",
            },
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    me = sorted((r.headers["authorization"], r.headers["x-api-key"], r.headers["cookie"])
                for r in received if r.target == "/me")  # fmt: skip
    assert me == [(f"Bearer {BEARER}", f"{API_KEY}-{vu}", COOKIE) for vu in (1, 2)]
    admin = [r.headers["authorization"] for r in received if r.target == "/admin"]
    assert admin == [f"Token {TOKEN}"] * 2


@requires_k6
def test_a_missing_secret_stops_k6_before_any_request_naming_the_variable(
    tmp_path: Path,
) -> None:
    with mirror_server() as (url, received):
        script = tmp_path / "login.js"
        script.write_text(render_script(load_config(_config(tmp_path, url)), "login", environ={}))
        done = k6("run", "--quiet", "-e", "CCPLATE_SECRET_AUTHORIZATION=x", str(script))
    assert done.returncode == 107 and received == []
    assert "set CCPLATE_SECRET_COOKIE (the value of the Cookie header)" in done.stderr


@requires_k6
def test_the_k6_engine_gives_k6_the_secrets_in_its_environment(tmp_path: Path) -> None:
    """`run --engine k6` writes the same script (no value on disk, even in a kept folder) and
    hands the values to k6 in its environment."""
    kept = tmp_path / "kept"
    with mirror_server() as (url, received):
        config = load_config(_config(tmp_path, url))
        run = K6Run(config, resolve_plan(config, ["login"]), keep_dir=kept)
        run.run()
    assert run.exit_code == 0, run.k6_log
    for path in kept.rglob("*"):
        if path.is_file():
            assert _holds_a_secret(path.read_bytes()) == [], path
    assert sorted(r.headers["authorization"] for r in received) == sorted(
        [f"Bearer {BEARER}"] * 2 + [f"Token {TOKEN}"] * 2
    )
    assert {r.headers["x-api-key"] for r in received if r.target == "/me"} == {
        f"{API_KEY}-1",
        f"{API_KEY}-2",
    }
