"""Done-when checks: each shipped scenario, at 1/20 of its length, passes against the demo target;
an injected 10% error rate makes auth_burst cross its threshold (exit 99)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.http_fixtures import free_port

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The shipped scenarios.toml aimed at a free loopback port (8787 may be taken)."""
    text = (ROOT / "scenarios.toml").read_text()
    assert 'base_url = "http://127.0.0.1:8787"' in text
    path = tmp_path / "scenarios.toml"
    path.write_text(text.replace("127.0.0.1:8787", f"127.0.0.1:{free_port()}"))
    return path


def _run(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ccplate_tui",
            "run",
            *args,
            "--config",
            str(config),
            "--time-scale",
            "0.05",
            "--start-target",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.slow
@pytest.mark.exclusive  # the shipped latency thresholds must hold
@pytest.mark.parametrize(
    "scenario", ["auth_burst", "ai_builder", "file_upload", "mixed_workload", "schema_lock"]
)
def test_each_shipped_scenario_passes_against_the_demo_target(
    config: Path, tmp_path: Path, scenario: str
) -> None:
    export = tmp_path / "out.json"
    done = _run(config, scenario, "--summary-export", str(export))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    metrics = json.loads(export.read_text())["metrics"]
    assert metrics["http_reqs"]["count"] > 0
    assert metrics["http_req_failed"]["passes"] == 0
    crossed = [
        (key, expr)
        for key, values in metrics.items()
        for expr, failed in values.get("thresholds", {}).items()
        if failed
    ]
    assert crossed == []


@pytest.mark.slow
@pytest.mark.exclusive  # the shipped latency thresholds must hold
def test_ten_percent_errors_make_auth_burst_exit_99(config: Path) -> None:
    done = _run(config, "auth_burst", "--target-faults", "error_rate=0.1,seed=7")
    assert done.returncode == 99, done.stderr[-3000:]
    assert "thresholds on metrics 'http_req_failed' have been crossed" in done.stderr
    assert "✗ 'rate<0.01'" in done.stdout
    assert "HTTP 500" in done.stdout
