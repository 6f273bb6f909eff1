"""Where the Sentry checks' inputs come from: flags, environment, [sentry], the app's env files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccplate_tui.config.errors import ConfigError
from ccplate_tui.config.loader import parse_config
from ccplate_tui.config.model import SentrySpec
from ccplate_tui.sentry.dotenv import project_env, read_dotenv
from ccplate_tui.sentry.settings import resolve_settings

BASE = """
[scenarios.a]
executor = "constant-vus"
vus = 1
duration = "1s"
[[scenarios.a.requests]]
path = "/"
"""
KEY = "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d"


def test_sentry_table_is_read_and_the_project_resolved_beside_the_config(tmp_path: Path) -> None:
    config = parse_config(
        BASE
        + f'[sentry]\nproject = "app"\ndsn = "https://{KEY}@o1.ingest.de.sentry.io/4509"\n'
        + 'org = "acme"\nproject_slug = "web"\napi_url = "https://de.sentry.io/"\n',
        str(tmp_path / "scenarios.toml"),
    )
    assert config.sentry == SentrySpec(
        project=str(tmp_path / "app"),
        dsn=f"https://{KEY}@o1.ingest.de.sentry.io/4509",
        org="acme",
        project_slug="web",
        api_url="https://de.sentry.io",
    )
    assert parse_config(BASE).sentry == SentrySpec()


@pytest.mark.parametrize(
    ("table", "where", "expected"),
    [
        ('projekt = "x"', "sentry.projekt", "unknown key"),
        ('project = ""', "sentry.project", "non-empty"),
        ("org = 3", "sentry.org", "string"),
        ('api_url = "ftp://x"', "sentry.api_url", "http:// or https://"),
        (f'dsn = "https://{KEY}@o1.ingest.sentry.io/abc"', "sentry.dsn", "numeric project id"),
        ('dsn = "o1.ingest.sentry.io/42"', "sentry.dsn", "https://"),
    ],
)
def test_bad_sentry_table_names_the_key_and_line(table: str, where: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE + "[sentry]\n" + table + "\n")
    text = str(caught.value)
    assert caught.value.key_path == where
    assert caught.value.line == BASE.count("\n") + 2
    assert expected in text
    assert KEY not in text, "the DSN key is masked, in the message and in the quoted source line"


def test_dotenv_reads_quotes_exports_comments_and_references(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# comment\nexport SENTRY_DSN=https://k@h/1  # trailing\n"
        "NEXT_PUBLIC_SENTRY_DSN=${SENTRY_DSN}\nSINGLE='${SENTRY_DSN}'\n"
        'DOUBLE="a b"\n#SENTRY_ORG=commented\nnot a line\n',
        encoding="utf-8",
    )
    values = read_dotenv(tmp_path / ".env")
    assert values == {
        "SENTRY_DSN": "https://k@h/1",
        "NEXT_PUBLIC_SENTRY_DSN": "https://k@h/1",
        "SINGLE": "${SENTRY_DSN}",
        "DOUBLE": "a b",
    }
    assert read_dotenv(tmp_path / "missing") == {}


def test_env_local_wins_over_env(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SENTRY_DSN=from-env\nSENTRY_ORG=acme\n", encoding="utf-8")
    (tmp_path / ".env.local").write_text("SENTRY_DSN=from-local\n", encoding="utf-8")
    assert project_env(tmp_path) == {"SENTRY_DSN": "from-local", "SENTRY_ORG": "acme"}


def test_precedence_flag_then_environment_then_config_then_app_files(tmp_path: Path) -> None:
    (tmp_path / ".env.local").write_text("SENTRY_DSN=http://app@127.0.0.1/1\n", encoding="utf-8")
    (tmp_path / ".env").write_text("SENTRY_ORG=app-org\nSENTRY_PROJECT=app-proj\n")
    spec = SentrySpec(project=str(tmp_path), dsn="http://cfg@127.0.0.1/1", org="cfg-org")
    environ = {"SENTRY_DSN": "http://env@127.0.0.1/1", "SENTRY_AUTH_TOKEN": "tok"}

    flagged = resolve_settings(spec, dsn="http://flag@127.0.0.1/1", environ=environ)
    assert (flagged.dsn.value, flagged.dsn.origin) == ("http://flag@127.0.0.1/1", "--dsn")
    env = resolve_settings(spec, environ=environ)
    assert (env.dsn.origin, env.token.origin) == ("SENTRY_DSN", "SENTRY_AUTH_TOKEN")
    config = resolve_settings(spec, environ={})
    assert (config.dsn.origin, config.org.value) == ("[sentry] dsn", "cfg-org")
    assert config.project == tmp_path and config.project_origin == "[sentry] project"
    assert config.token is None
    app = resolve_settings(SentrySpec(project=str(tmp_path)), environ={})
    assert (app.dsn.value, app.dsn.origin) == ("http://app@127.0.0.1/1", ".env.local SENTRY_DSN")
    assert (app.org.value, app.org.origin) == ("app-org", ".env SENTRY_ORG")
    assert app.project_slug.value == "app-proj"


def test_project_defaults_to_the_current_folder(tmp_path: Path) -> None:
    settings = resolve_settings(None, environ={}, cwd=tmp_path)
    assert (settings.project, settings.project_origin) == (tmp_path, "the current folder")
    assert settings.dsn is None
    flagged = resolve_settings(SentrySpec(project="/elsewhere"), project=tmp_path, environ={})
    assert (flagged.project, flagged.project_origin) == (tmp_path, "--project")
