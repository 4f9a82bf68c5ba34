"""The status line: a coloured state marker and name per connection, and what is wrong.

Expanded, it has one line per connection (name, provider, health, since when data came). Compact,
it is one line of markers and names; when a connection fails, that line starts with the failing
connection and why, and points at the key that expands it. It is drawn line by line (Textual's
Line API) and only the lines whose text changed are redrawn: once a second "updated N s ago" moves
on the polling connections' lines, while a streaming connection's line ("0 s ago") and the compact
line stay as they are, so an idle terminal over SSH gets next to nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from ibmon.model import Health, HealthState
from ibmon.safe import safe_text
from ibmon.secrets import redact
from ibmon.store import StoreView

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


class HealthBar(Widget):
    """Rebuilt on health changes and once a second; lines whose text changed are redrawn."""

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

    def __init__(self, view: StoreView, titles: Callable[[], dict[str, str]],
                 clock: Callable[[], float] = time.monotonic, **kwargs) -> None:
        super().__init__(**kwargs)
        self.view = view
        self.titles = titles
        self.clock = clock
        self.compact = False
        #: The key (as displayed) that shows the details; the dashboard sets the one in force.
        self.details_key = "h"
        self._shown: list[Text] = []
        self._strips: dict[int, Strip] = {}

    @property
    def lines(self) -> int:
        """Lines the bar needs for what it shows now."""
        return max(1, min(len(self._shown), MAX_LINES))

    def update_health(self) -> None:
        shown = list(self.build().split("\n", allow_blank=True))
        if [line.plain for line in shown] == [line.plain for line in self._shown] and self._shown:
            return
        before, self._shown = self._shown, shown
        if len(before) != len(shown):  # a layout pass only when the number of lines changes
            self._strips.clear()
            self.refresh(layout=True)
            return
        for y, (old, new) in enumerate(zip(before, shown)):
            if old.plain != new.plain:
                self._strips.pop(y, None)
                self.refresh(Region(0, y, self.size.width, 1))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self.lines

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        strip = self._strips.get(y)
        if strip is None:
            if y < len(self._shown):
                line = self._shown[y].copy()
                line.truncate(width, overflow="ellipsis")
                segments = list(line.render(self.app.console))
            else:
                segments = []
            strip = self._strips[y] = Strip(segments).apply_style(self.rich_style).extend_cell_length(
                width, self.rich_style)
        return strip

    def _redraw(self) -> None:
        """Build every line again and repaint them all (a new width, a new theme)."""
        shown = list(self.build().split("\n", allow_blank=True))
        layout = len(shown) != len(self._shown)
        self._shown = shown
        self._strips.clear()
        self.refresh(layout=layout)

    def on_resize(self, event: events.Resize) -> None:
        self._redraw()  # the compact line cuts the failing connection's reason to the width

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if self.is_mounted:
            self._redraw()  # the marks' colours come from the theme

    def _style(self, component: str) -> Style:
        """The component's style; plain until the stylesheet has reached this widget (a frame can
        come before it does)."""
        try:
            return self.get_component_rich_style(component, partial=True)
        except KeyError:
            return Style()

    def _health(self, name: str) -> Health:
        health = self.view.health(name)
        assert health is not None  # every listed connection has one
        return health

    def build(self) -> Text:
        now = self.clock()
        text = Text(no_wrap=True, overflow="ellipsis")
        if not self.view.connections():
            text.append("no connections configured", style="italic")
        elif self.compact:
            self._compact_line(text, now)
        else:
            self._detail_lines(text, now)
        return text

    def _detail(self, name: str, now: float) -> str:
        health = self._health(name)
        return safe_text(redact(health.describe(now, self.view.last_data(name))), DETAIL_LIMIT)

    def _marker(self, text: Text, name: str) -> None:
        state = self._health(name).state
        text.append(f"{MARKERS[state]} ", style=self._style(f"health-bar--{state.value}"))
        text.append(safe_text(name), style=self._style("health-bar--name"))

    def _detail_lines(self, text: Text, now: float) -> None:
        """A line per connection, by name; with more than MAX_LINES connections, the troubled ones
        first and a last line counting the rest by state (a thousand connections cost 12 lines)."""
        titles = self.titles()
        names = sorted(self.view.connections())
        rest: list[str] = []
        if len(names) > MAX_LINES:
            states = {n: self._health(n).state for n in names}
            names.sort(key=lambda n: (TROUBLE.index(states[n]) if states[n] in TROUBLE else len(TROUBLE), n))
            names, rest = names[:MAX_LINES - 1], names[MAX_LINES - 1:]
        for index, name in enumerate(names):
            if index:
                text.append("\n")
            self._marker(text, name)
            title = titles.get(name)
            if title:
                text.append(f"  {safe_text(title)}", style="dim")
            text.append("  ")
            text.append(self._detail(name, now),
                        style=self._style(f"health-bar--{self._health(name).state.value}"))
        if rest:
            counts = Counter(self._health(name).state for name in rest)
            text.append(f"\n+{len(rest)} more: ", style="bold")
            text.append(", ".join(f"{counts[state]} {state.value}" for state in HealthState if counts[state]),
                        style="dim")

    def _compact_line(self, text: Text, now: float) -> None:
        """Markers and names; a failing connection first, with why, and the key for details."""
        names = sorted(self.view.connections())
        failing = sorted((TROUBLE.index(self._health(n).state), n) for n in names
                         if self._health(n).state in TROUBLE)
        if failing:
            name = failing[0][1]
            others = len(failing) - 1
            pointer = f"  {self.details_key}: details" + (f" (+{others} more)" if others else "")
            self._marker(text, name)
            text.append("  ")
            room = max(8, self.content_region.width - text.cell_len - len(pointer))
            state = self._health(name).state
            text.append(safe_text(self._detail(name, now).split(" · updated ")[0], room),
                        style=self._style(f"health-bar--{state.value}"))
            text.append(pointer, style="bold")
            names = [n for n in names if n != name]
            if names:
                text.append("  │  ", style="dim")
        room = self.content_region.width or 10**6
        for index, name in enumerate(names):
            left = len(names) - index
            more = f"  +{left} more"
            if left > 1 and text.cell_len + len(name) + 4 + len(more) > room:  # the rest would be cut
                text.append(more, style="bold")
                break
            text.append("  " if index else "")
            self._marker(text, name)

    def set_compact(self, compact: bool) -> None:
        if compact != self.compact:
            self.compact = compact
            self.update_health()
