"""One line per connection: a coloured state marker, the name, the provider and its health."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from ibmon.model import HealthState
from ibmon.safe import safe_text
from ibmon.secrets import redact
from ibmon.store import Store

#: Characters of a connection's health detail (error texts come from providers).
DETAIL_LIMIT = 500
MARKERS = {
    HealthState.LIVE: "●", HealthState.STALE: "◐", HealthState.CONNECTING: "○",
    HealthState.RECONNECTING: "◌", HealthState.ERROR: "✖", HealthState.DISABLED: "–",
}


class HealthBar(Static):
    """Re-rendered on health changes and once a second, so "updated N s ago" moves."""

    COMPONENT_CLASSES = {f"health-bar--{state.value}" for state in HealthState} | {"health-bar--name"}

    DEFAULT_CSS = """
    HealthBar {
        height: auto;
        max-height: 12;
        padding: 0 1;
        background: $panel;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        & > .health-bar--live { color: $text-success; }
        & > .health-bar--stale { color: $text-warning; }
        & > .health-bar--connecting { color: $text-accent; }
        & > .health-bar--reconnecting { color: $text-warning; }
        & > .health-bar--error { color: $text-error; text-style: bold; }
        & > .health-bar--disabled { color: $text-muted; }
        & > .health-bar--name { text-style: bold; }
    }
    """

    def __init__(self, store: Store, titles: Callable[[], dict[str, str]],
                 clock: Callable[[], float] = time.monotonic, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.store = store
        self.titles = titles
        self.clock = clock
        self.compact = False
        self._shown = ""

    def update_health(self) -> None:
        text = self.build()
        if text.plain != self._shown or not self._shown:
            # A layout pass only when the number of lines changes ("N s ago" ticking does not).
            same_height = self._shown.count("\n") == text.plain.count("\n") and bool(self._shown)
            self._shown = text.plain
            self.update(text, layout=not same_height)

    def _style(self, component: str) -> Style:
        """The component's style; plain until the stylesheet has reached this widget (a frame can
        come before it does)."""
        try:
            return self.get_component_rich_style(component, partial=True)
        except KeyError:
            return Style()

    def build(self) -> Text:
        now = self.clock()
        titles = self.titles()
        name_style = self._style("health-bar--name")
        text = Text(no_wrap=True, overflow="ellipsis")
        if not self.store.health:
            text.append("no connections configured", style="italic")
            return text
        for index, (name, health) in enumerate(sorted(self.store.health.items())):
            style = self._style(f"health-bar--{health.state.value}")
            if self.compact:
                text.append("  " if index else "")
                text.append(f"{MARKERS[health.state]} ", style=style)
                text.append(safe_text(name), style=name_style)
                continue
            if index:
                text.append("\n")
            text.append(f"{MARKERS[health.state]} ", style=style)
            text.append(safe_text(name), style=name_style)
            title = titles.get(name)
            if title:
                text.append(f"  {safe_text(title)}", style="dim")
            text.append("  ")
            text.append(safe_text(redact(health.describe(now, self.store.last_data.get(name))), DETAIL_LIMIT),
                        style=style)
        return text

    def set_compact(self, compact: bool) -> None:
        if compact != self.compact:
            self.compact = compact
            self._shown = ""
            self.update_health()
