"""The dashboard's footer: the main keys in force, in priority order, as many as fit the width.

Textual's Footer lists bindings in the order they are found and cuts the rest off at the right
edge, so on a small terminal the keys users need most (help, quit) could be the ones missing. This
bar orders them by `ibmon.keymap.FOOTER_PRIORITY`, shows the keys in force after the user's keymap,
and is one line of text redrawn only when the bindings or the width change. A click on a key
presses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.widgets import Static

from ibmon.keymap import FOOTER_PRIORITY
from ibmon.safe import safe_text

#: Cells between two keys.
SPACING = 2
#: Characters of a binding's label (bindings of provider screens could be long).
LABEL_LIMIT = 24


class Item(NamedTuple):
    """One key of the bar: what it shows and the key a click presses."""

    display: str
    label: str
    key: str

    @property
    def width(self) -> int:
        return cell_len(self.display) + 1 + cell_len(self.label)


def fit(items: Sequence[Item], width: int) -> list[tuple[int, Item]]:
    """The items that fit in `width` cells, in order, each with the cell it starts at (an item
    that does not fit is skipped, so a later, shorter one may still show)."""
    placed: list[tuple[int, Item]] = []
    x = 0
    for item in items:
        start = x + (SPACING if placed else 0)
        if start + item.width > width:
            continue
        placed.append((start, item))
        x = start + item.width
    return placed


class KeyBar(Static):
    """One line of keys; `badge` (e.g. "read-only") shows at its right end."""

    DEFAULT_CSS = """
    KeyBar {
        height: 1;
        padding: 0 1;
        background: $footer-background;
        color: $footer-description-foreground;
        text-wrap: nowrap;
        overflow: hidden;
        & > .key-bar--key { color: $footer-key-foreground; text-style: bold; }
        & > .key-bar--badge { color: $text-warning; text-style: bold; }
    }
    """

    COMPONENT_CLASSES = {"key-bar--key", "key-bar--badge"}

    def __init__(self, badge: str = "", **kwargs) -> None:
        super().__init__("", **kwargs)
        self.badge = badge
        self.items: list[Item] = []
        self.placed: list[tuple[int, Item]] = []
        self._shown: tuple | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.update_keys()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def on_resize(self, event: events.Resize) -> None:
        self.update_keys()

    def _bindings_changed(self, _screen: object) -> None:
        self.update_keys()

    def collect(self) -> list[Item]:
        """The screen's bindings in force that the footer lists: every one with an id in the
        priority list, in that order, then any other binding marked `show`."""
        by_id: dict[str, Item] = {}
        others: list[Item] = []
        seen: set[str] = set()
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if binding.system or binding.action in seen:
                continue
            if binding.id in FOOTER_PRIORITY or binding.show:
                seen.add(binding.action)
                item = Item(self.app.get_key_display(binding), safe_text(binding.description, LABEL_LIMIT), key)
                if binding.id in FOOTER_PRIORITY:
                    by_id.setdefault(binding.id, item)
                else:
                    others.append(item)
        return [by_id[name] for name in FOOTER_PRIORITY if name in by_id] + others

    def update_keys(self) -> None:
        if not self.is_attached:
            return
        self.items = self.collect()
        width = self.content_region.width
        badge = f" {self.badge}" if self.badge else ""
        self.placed = fit(self.items, max(0, width - cell_len(badge)))
        shown = (tuple(self.placed), width, badge)
        if shown == self._shown:
            return
        self._shown = shown
        self.update(self.build(width, badge))

    def build(self, width: int, badge: str) -> Text:
        key_style = self._style("key-bar--key")
        text = Text(no_wrap=True, overflow="crop")
        x = 0
        for start, item in self.placed:
            text.append(" " * (start - x))
            text.append(item.display, style=key_style)
            text.append(" " + item.label)
            x = start + item.width
        if badge:
            text.append(" " * max(0, width - x - cell_len(badge)))
            text.append(badge, style=self._style("key-bar--badge"))
        return text

    def _style(self, component: str) -> Style:
        try:
            return self.get_component_rich_style(component, partial=True)
        except KeyError:
            return Style()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        for start, item in self.placed:
            if start <= offset.x < start + item.width:
                event.stop()
                self.app.simulate_key(item.key)
                return

    @property
    def shown_keys(self) -> list[str]:
        """The key displays on the bar, in order (for tests and screen readers)."""
        return [item.display for _, item in self.placed]
