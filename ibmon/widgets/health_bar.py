"""The status line: a coloured state marker and name per connection, and what is wrong.

Expanded, it has one line per connection (name, provider, health, since when data came). Compact,
it is one line of markers and names; when a connection fails, that line starts with the failing
connection and why, and points at the key that expands it. Either way it is redrawn only when
its text changes (the compact line does not hold the ticking "updated N s ago").
"""

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
MAX_LINES = 12
MARKERS = {
    HealthState.LIVE: "●", HealthState.STALE: "◐", HealthState.CONNECTING: "○",
    HealthState.RECONNECTING: "◌", HealthState.ERROR: "✖", HealthState.DISABLED: "–",
}
#: What each marker means (help's legend).
MEANINGS = {
    HealthState.LIVE: "live: data is arriving",
    HealthState.STALE: "stale: connected, but no data for longer than expected",
    HealthState.CONNECTING: "connecting: the first connection or login is under way",
    HealthState.RECONNECTING: "reconnecting: the link failed; the next try is scheduled",
    HealthState.ERROR: "error: the connection failed (a mistake to fix, e.g. credentials)",
    HealthState.DISABLED: "disabled: enabled = false in the config",
}
#: States the compact line explains, the worst first.
TROUBLE = (HealthState.ERROR, HealthState.RECONNECTING, HealthState.STALE)


class HealthBar(Static):
    """Re-rendered on health changes and once a second, so "updated N s ago" moves."""

    COMPONENT_CLASSES = {f"health-bar--{state.value}" for state in HealthState} | {"health-bar--name"}

    DEFAULT_CSS = """
    HealthBar {
        height: auto;
        max-height: 12;  /* MAX_LINES */
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
        #: The key (as displayed) that shows the details; the dashboard sets the one in force.
        self.details_key = "h"
        self._shown = ""

    @property
    def lines(self) -> int:
        """Lines the bar needs for what it shows now."""
        return min(self._shown.count("\n") + 1, MAX_LINES)

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
        text = Text(no_wrap=True, overflow="ellipsis")
        if not self.store.health:
            text.append("no connections configured", style="italic")
        elif self.compact:
            self._compact_line(text, now)
        else:
            self._detail_lines(text, now)
        return text

    def _detail(self, name: str, now: float) -> str:
        health = self.store.health[name]
        return safe_text(redact(health.describe(now, self.store.last_data.get(name))), DETAIL_LIMIT)

    def _marker(self, text: Text, name: str) -> None:
        state = self.store.health[name].state
        text.append(f"{MARKERS[state]} ", style=self._style(f"health-bar--{state.value}"))
        text.append(safe_text(name), style=self._style("health-bar--name"))

    def _detail_lines(self, text: Text, now: float) -> None:
        titles = self.titles()
        for index, name in enumerate(sorted(self.store.health)):
            if index:
                text.append("\n")
            self._marker(text, name)
            title = titles.get(name)
            if title:
                text.append(f"  {safe_text(title)}", style="dim")
            text.append("  ")
            text.append(self._detail(name, now),
                        style=self._style(f"health-bar--{self.store.health[name].state.value}"))

    def _compact_line(self, text: Text, now: float) -> None:
        """Markers and names; a failing connection first, with why, and the key for details."""
        names = sorted(self.store.health)
        failing = sorted((TROUBLE.index(self.store.health[n].state), n) for n in names
                         if self.store.health[n].state in TROUBLE)
        if failing:
            name = failing[0][1]
            others = len(failing) - 1
            pointer = f"  {self.details_key}: details" + (f" (+{others} more)" if others else "")
            self._marker(text, name)
            text.append("  ")
            room = max(8, self.content_region.width - text.cell_len - len(pointer))
            state = self.store.health[name].state
            text.append(safe_text(self._detail(name, now).split(" · updated ")[0], room),
                        style=self._style(f"health-bar--{state.value}"))
            text.append(pointer, style="bold")
            names = [n for n in names if n != name]
            if names:
                text.append("  │  ", style="dim")
        for index, name in enumerate(names):
            text.append("  " if index else "")
            self._marker(text, name)

    def on_resize(self) -> None:
        if self.compact:
            self.update_health()  # the failing connection's reason is cut to the width

    def set_compact(self, compact: bool) -> None:
        if compact != self.compact:
            self.compact = compact
            self._shown = ""
            self.update_health()
