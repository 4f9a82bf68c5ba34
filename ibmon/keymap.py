"""Binding ids of the dashboard and their default keys.

Users remap by id in config (`[keys]`, e.g. `refresh = "ctrl+r"`); help shows the keys in force.
Provider screens get the id `screen.<id>` with the key their ScreenSpec suggests.
"""

from __future__ import annotations

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
    "back": ("escape", "Close the current screen, or leave a maximised panel"),
}

#: The dashboard's footer shows the keys in this order, as many as fit its width; bindings of the
#: focused panel (filter, sort) are among them when they are in force.
FOOTER_PRIORITY = ("help", "quit", "action", "filter", "sort", "maximize", "provider_screen",
                   "toggle_health", "notifications", "refresh", "next_panel", "palette")

SCREEN_PREFIX = "screen."


def is_binding_id(name: str) -> bool:
    return name in CORE_BINDINGS or name.startswith(SCREEN_PREFIX)
