"""Binding ids of the dashboard and their default keys.

Users remap by id in config (`[keys]`, e.g. `refresh = "ctrl+r"`); help shows the keys in force.
Provider screens get the id `screen.<id>` with the key their ScreenSpec suggests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.binding import Binding

#: id -> (default keys, description). Keys use Textual's names, several separated by commas.
CORE_BINDINGS: dict[str, tuple[str, str]] = {
    "quit": ("q", "Quit"),
    "help": ("question_mark", "Help: the bindings in force"),
    "palette": ("ctrl+p", "Command palette"),
    "refresh": ("r", "Refresh all polling connections now"),
    "action": ("enter", "Quick actions for the selected row"),
    "next_panel": ("tab", "Next panel"),
    "previous_panel": ("shift+tab", "Previous panel"),
    "provider_screen": ("s", "Open the selected connection's own screen"),
    "theme": ("ctrl+t", "Next theme"),
    "toggle_health": ("h", "Show or hide connection details (the status line)"),
    "maximize": ("z", "Maximise the focused panel, or back to every panel"),
    "notifications": ("n", "Recent notifications, newest first"),
    "history": ("g", "History chart of the selected account, symbol or lead window"),
    "alerts": ("exclamation_mark", "Alerts: active and recent, acknowledge them"),
    "back": ("escape", "Close the current screen, or leave a maximised panel"),
    # Bindings of each panel (ibmon.widgets.live_table), remappable like the others.
    "filter": ("slash", "Filter the rows of the focused panel as you type"),
    "sort": ("o", "Sort the focused panel by the next column"),
    "sort_reverse": ("O", "Reverse the focused panel's order"),
}

#: The dashboard's footer shows the keys in this order, as many as fit its width; bindings of the
#: focused panel (filter, sort) are among them when they are in force.
FOOTER_PRIORITY = ("help", "quit", "action", "maximize", "filter", "sort", "provider_screen",
                   "toggle_health", "notifications", "alerts", "history", "refresh", "next_panel", "palette")

SCREEN_PREFIX = "screen."


def core_binding(binding_id: str, action: str, *, show: bool = True, short: str | None = None,
                 priority: bool = False) -> "Binding":
    """A Textual binding for one of ibmon's ids, with its default keys and description."""
    from textual.binding import Binding  # here: light commands (config, plugins) never load Textual

    keys, description = CORE_BINDINGS[binding_id]
    return Binding(keys, action, short or description, show=show, id=binding_id, priority=priority,
                   tooltip=description)


def is_binding_id(name: str) -> bool:
    return name in CORE_BINDINGS or name.startswith(SCREEN_PREFIX)
