"""The command palette's dashboard actions: every scenario and suite, stop, themes, tabs, exports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from ccplate_tui.ui.app import CcplateApp


@dataclass(frozen=True)
class PaletteCommand:
    """One palette entry: what it says, a line of help, what it does."""

    title: str
    help: str
    callback: Callable[[], object]


def dashboard_commands(app: CcplateApp) -> list[PaletteCommand]:
    """The palette entries for the app as it is now (scenarios from its config, its themes)."""
    commands: list[PaletteCommand] = []
    config = app.config
    for name, spec in config.scenarios.items():
        commands.append(
            PaletteCommand(
                f"Start scenario {name}",
                spec.description or f"{spec.executor.executor} load run of {name}",
                partial(app.start_run, (name,)),
            )
        )
    for name, suite in config.suites.items():
        commands.append(
            PaletteCommand(
                f"Start suite {name}",
                suite.description or f"runs {', '.join(suite.scenarios)} together",
                partial(app.start_run, (name,)),
            )
        )
    commands.append(
        PaletteCommand(
            "Stop the run", "no new iterations; running ones get their gracefulStop", app.stop_run
        )
    )
    commands.append(
        PaletteCommand("Abort the run", "interrupt running iterations now", app.abort_run)
    )
    commands.append(
        PaletteCommand(
            "Run history",
            "recorded runs (key h): open one on the Load tab and scrub through it",
            app.action_history,
        )
    )
    for tab_id, title in app.TAB_TITLES.items():
        commands.append(
            PaletteCommand(
                f"Open tab {title}", f"show the {title} tab", partial(app.show_tab, tab_id)
            )
        )
    for theme in sorted(app.available_themes):
        commands.append(
            PaletteCommand(
                f"Theme {theme}",
                f"switch the dashboard to the {theme} theme",
                partial(app.set_theme, theme),
            )
        )
    commands.append(
        PaletteCommand("Save screenshot (SVG)", "write an SVG of the screen", app.action_screenshot)
    )
    commands.append(
        PaletteCommand(
            "Save the run summary",
            "write the last run's summary (text and k6 JSON export)",
            app.save_summary,
        )
    )
    return commands


class DashboardCommands(Provider):
    """Offers `dashboard_commands` in the palette: all of them when the query is empty."""

    def _commands(self) -> list[PaletteCommand]:
        from ccplate_tui.ui.app import CcplateApp

        if not isinstance(self.app, CcplateApp):
            return []
        return dashboard_commands(cast("CcplateApp", self.app))

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.title, command.callback, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(command.title),
                    command.callback,
                    text=command.title,
                    help=command.help,
                )
