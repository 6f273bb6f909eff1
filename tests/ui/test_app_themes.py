"""Theme files: the shipped ones load, broken ones are skipped with a message, never a traceback."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

from ccplate_tui.ui.themes import (
    DEFAULT_THEME,
    PACKAGED_THEMES_DIR,
    ThemeFileError,
    load_theme_file,
    load_themes,
    theme_folders,
)
from tests.ui.app_fixtures import SIZE, MessageLog, free_port, make_app, write_config

REPO_THEMES = Path(__file__).resolve().parents[2] / "themes"
SHIPPED = ("ccplate-dark", "ccplate-light", "ccplate-high-contrast")


def test_the_repo_themes_and_the_packaged_copy_are_identical() -> None:
    repo = sorted(p.name for p in REPO_THEMES.glob("*.toml"))
    packaged = sorted(p.name for p in PACKAGED_THEMES_DIR.glob("*.toml"))
    assert repo == packaged and len(repo) >= 3
    mismatch = filecmp.cmpfiles(REPO_THEMES, PACKAGED_THEMES_DIR, repo, shallow=False)[1:]
    assert mismatch == ([], []), "copy themes/*.toml to ccplate_tui/ui/themes/"


def test_the_package_data_includes_the_theme_files() -> None:
    import tomllib

    pyproject = tomllib.loads((REPO_THEMES.parent / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["ccplate_tui"]
    assert "ui/themes/*.toml" in patterns


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_theme_loads(name: str) -> None:
    theme = load_theme_file(REPO_THEMES / f"{name}.toml")
    assert theme.name == name
    assert theme.primary and theme.background and theme.foreground
    assert theme.dark is (name != "ccplate-light")


def test_high_contrast_is_black_and_white() -> None:
    theme = load_theme_file(REPO_THEMES / "ccplate-high-contrast.toml")
    assert (theme.background or "").upper() == "#000000"
    assert (theme.foreground or "").upper() == "#FFFFFF"


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "key", "words"), [
    ('name = "x"\nprimary = "#12345"\n', "primary", "not a colour"),
    ('name = "x"\nprimary = "#123456"\nbackground = 7\n', "background", "expected a colour string"),
    ('name = "x"\nprimary = "#123456"\nprimray = "#fff"\n', "primray", "unknown key"),
    ('name = "x"\n', "primary", "missing"),
    ('primary = "#123456"\n', "name", "expected a lower-case name"),
    ('name = "x"\nprimary = "#123456"\ndark = "yes"\n', "dark", "true or false"),
    ('name = "x"\nprimary = "#123456"\ntext_alpha = 3\n', "text_alpha", "from 0 to 1"),
    ('name = "x"\nprimary = "#123456"\nvariables = 1\n', "variables", "expected a table"),
    ('name = "x"\nprimary = "#123456"\n[variables]\nborder = "blurple"\n', "variables.border", "not a colour"),
    ('name = "x"\nprimary = "#123456"\n[variables]\n"link-style" = "sparkly"\n', "variables.link-style", "not a text style"),
    ('name = "x"\nprimary = "#123456"\n[variables]\n"text-muted" = "#fff half"\n', "variables.text-muted", "optionally followed"),
])  # fmt: skip
def test_a_broken_theme_names_the_file_and_the_key(
    tmp_path: Path, text: str, key: str, words: str
) -> None:
    path = _write(tmp_path, "broken.toml", text)
    with pytest.raises(ThemeFileError) as caught:
        load_theme_file(path)
    assert caught.value.problem.key == key
    assert str(path) in str(caught.value) and words in str(caught.value)


def test_invalid_toml_is_a_message_too(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.toml", 'name = "x\nprimary = 1\n')
    with pytest.raises(ThemeFileError, match="invalid TOML"):
        load_theme_file(path)


def test_a_variable_may_carry_an_alpha_and_styles(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "ok.toml",
        'name = "fine"\nprimary = "#123456"\n[variables]\n"text-muted" = "#ffffff 60%"\n'
        '"block-cursor-text-style" = "bold reverse"\n',
    )
    assert load_theme_file(path).variables["text-muted"] == "#ffffff 60%"


def test_load_themes_skips_broken_files_and_later_folders_win(tmp_path: Path) -> None:
    first = tmp_path / "first"
    second = tmp_path / "second"
    _write(first, "a.toml", 'name = "a"\nprimary = "#111111"\n')
    _write(second, "a.toml", 'name = "a"\nprimary = "#222222"\n')
    _write(second, "b.toml", 'name = "b"\nprimary = "nope"\n')
    found = load_themes([first, second, tmp_path / "missing"])
    assert list(found.themes) == ["a"] and found.themes["a"].primary == "#222222"
    assert [p.path.name for p in found.problems] == ["b.toml"]


def test_theme_folders_are_the_package_then_beside_the_config(tmp_path: Path) -> None:
    assert theme_folders(tmp_path / "scenarios.toml") == [PACKAGED_THEMES_DIR, tmp_path / "themes"]
    assert theme_folders(None) == [PACKAGED_THEMES_DIR]


async def test_the_app_registers_the_shipped_themes_and_opens_with_the_default(
    tmp_path: Path,
) -> None:
    app = make_app(write_config(tmp_path, f"http://127.0.0.1:{free_port()}"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert set(SHIPPED) <= set(app.available_themes)
        assert app.theme == DEFAULT_THEME
        for name in SHIPPED:  # every one can be switched to at runtime
            app.set_theme(name)
            await pilot.pause()
            assert app.theme == name


async def test_theme_option_selects_a_theme(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"http://127.0.0.1:{free_port()}")
    app = make_app(config, theme="ccplate-high-contrast")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.theme == "ccplate-high-contrast"
        assert app.startup_problems == []


async def test_an_unknown_theme_falls_back_with_a_message(tmp_path: Path) -> None:
    app = make_app(write_config(tmp_path, f"http://127.0.0.1:{free_port()}"), theme="neon")
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await pilot.pause()
        assert app.theme == DEFAULT_THEME
        assert any("unknown theme 'neon'" in n and DEFAULT_THEME in n for n in log.notices())


async def test_a_broken_theme_beside_the_config_falls_back_with_a_message(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"http://127.0.0.1:{free_port()}")
    broken = _write(tmp_path / "themes", "projector.toml", 'name = "projector"\nprimary = "#zzz"\n')
    _write(tmp_path / "themes", "mine.toml", 'name = "mine"\nprimary = "#336699"\n')
    app = make_app(config, theme="projector")
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await pilot.pause()
        assert app.theme == DEFAULT_THEME
        assert "mine" in app.available_themes and "projector" not in app.available_themes
        notices = log.notices()
        assert any(str(broken) in n and "primary" in n for n in notices), notices
        assert any("unknown theme 'projector'" in n for n in notices), notices
