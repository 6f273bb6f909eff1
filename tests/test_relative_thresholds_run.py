"""A relative threshold through the real `run` command: NO DATA (exit 99) until the scenario has
a baseline in the history, then judged against it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccplate_tui.cli import main
from ccplate_tui.history.legacy import open_history
from tests.http_fixtures import FixtureServer

CONFIG = """
[target]
base_url = "{url}"

[scenarios.probe]
executor = "per-vu-iterations"
vus = 2
iterations = 10
thresholds = {{ http_req_duration = ["p(95) < baseline * 5"] }}

[[scenarios.probe.requests]]
name = "sleepy"
path = "/sleep/20"
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with FixtureServer() as url:
        path = tmp_path / "scenarios.toml"
        path.write_text(CONFIG.format(url=url), encoding="utf-8")
        monkeypatch.chdir(tmp_path)
        monkeypatch.delenv("CCPLATE_TUI_STATE_DIR", raising=False)
        yield path


def test_no_baseline_is_no_data_then_the_baseline_judges(config: Path, capsys) -> None:
    assert main(["run", "probe", "--quiet", "--workers", "1"]) == 99
    out = capsys.readouterr().out
    assert "p(95) < baseline * 5" in out

    store = open_history(config.parent / ".ccplate")
    assert store is not None
    with store:
        (first,) = store.runs()
    assert main(["history", "baseline", first.id, "--scenario", "probe", "--as", "ops"]) == 0
    capsys.readouterr()

    assert main(["run", "probe", "--quiet", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "p(95) < baseline * 5" in out
    with open_history(config.parent / ".ccplate") as store:  # type: ignore[union-attr]
        second = store.runs()[0]
        assert second.id != first.id
        assert store.baseline("probe") == first.id
