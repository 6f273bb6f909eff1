"""A dashboard run that meets server errors counts them against the events Sentry received, keeps
the count with the run, and the Overview's Error capture row judges it: the real demo target
reporting through the real sentry-sdk into its own ingest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ccplate_tui.history.store import HistoryStore, history_path
from ccplate_tui.target.server import start_target_process, stop_target_process
from ccplate_tui.ui.load_pane import LoadPane
from ccplate_tui.ui.messages import RunFinished
from ccplate_tui.ui.overview_pane import OverviewPane
from tests.ui.app_fixtures import SIZE, MessageLog, make_app, wait_for

KEY = "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d"

CONFIG = """
[target]
base_url = "{url}"

[sentry]
dsn = "http://{key}@127.0.0.1:{port}/__sentry/1"
org = "ccplate"

[options]
interval = "500ms"

[scenarios.errors]
executor = "constant-vus"
vus = 2
duration = "2s"
think_time = "20ms"
requests = [{{ path = "/api/users/me" }}]
"""


@pytest.fixture
def faulty_target(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The demo target answering 1 in 4 API requests with an unhandled error (500)."""
    proc, url = start_target_process(port=0, faults="error_rate=0.25,seed=7")
    monkeypatch.setenv("SENTRY_AUTH_TOKEN", "demo-token")
    for name in ("SENTRY_DSN", "SENTRY_ORG", "SENTRY_URL"):
        monkeypatch.delenv(name, raising=False)
    try:
        yield url
    finally:
        stop_target_process(proc)


async def test_a_dashboard_run_with_server_errors_records_their_sentry_count(
    faulty_target: str, tmp_path: Path
) -> None:
    port = int(faulty_target.rsplit(":", 1)[1])
    config = tmp_path / "scenarios.toml"
    config.write_text(CONFIG.format(url=faulty_target, port=port, key=KEY), "utf-8")
    app = make_app(config)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await pilot.press("2")
        app.query_one(LoadPane).post_message(LoadPane.StartRequested(("errors",)))
        await wait_for(pilot, lambda: log.of(RunFinished), timeout=90, what="the run to finish")
        await wait_for(pilot, lambda: not app.run_active, what="the engine thread to end")
        result = log.of(RunFinished)[0].result
        errors = result.totals.server_errors()
        assert errors > 0
        with HistoryStore(history_path(app.state_dir)) as store:
            run = store.runs(1)[0]
            count = store.capture(run.id)
        assert count is not None and count["run_id"] == run.id
        assert (count["errors"], count["events"]) == (errors, errors)
        await wait_for(
            pilot,
            lambda: any(
                c.name == "Error capture" and c.status == "pass"
                for c in app.query_one(OverviewPane).verdict.criteria
            ),
            what="the Overview to judge the count",
        )
        row = next(
            c for c in app.query_one(OverviewPane).verdict.criteria if c.name == "Error capture"
        )
        assert row.value == f"{errors:,d} of {errors:,d} errors (100.00%)"
        assert row.evidence.run_id == run.id
