"""`ccplate-tui --engine k6`: the dashboard runs the exported scenario with the real k6 binary
and shows it like any run; only the header says which engine produced it."""

from __future__ import annotations

from pathlib import Path

from ccplate_tui.history.legacy import open_history
from ccplate_tui.load.metrics import Counter
from ccplate_tui.ui.load_pane import LoadPane
from ccplate_tui.ui.messages import LoadViewUpdated, RunFinished
from tests.k6_export_helpers import requires_k6
from tests.ui.app_fixtures import SIZE, MessageLog, demo_target, make_app, wait_for, write_config

__all__ = ["demo_target"]


@requires_k6
async def test_a_dashboard_run_through_k6(demo_target: str, tmp_path: Path) -> None:
    app = make_app(write_config(tmp_path, demo_target), engine="k6")
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        assert "engine: k6" in app.sub_title
        await pilot.press("2")
        app.query_one(LoadPane).post_message(LoadPane.StartRequested(("quick",)))
        await wait_for(pilot, lambda: bool(log.of(RunFinished)), timeout=90, what="k6's run")
        result = log.of(RunFinished)[-1].result
        reqs = result.totals.select("http_reqs")
        assert isinstance(reqs, Counter) and reqs.value > 0
        assert log.of(LoadViewUpdated), "k6's stream reached the Load tab interval by interval"
        await wait_for(pilot, lambda: app._run_done.is_set(), what="the engine thread to end")
    with open_history(app.state_dir) as store:  # type: ignore[union-attr]
        (run,) = store.runs()
        assert run.engine == "k6" and run.status == "finished"
        assert store.totals(run.id).select("http_reqs").value == reqs.value  # type: ignore[union-attr]
