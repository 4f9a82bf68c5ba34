"""A keyed, sorted table on Textual's Line API that repaints only the rows that changed.

Each row is rendered once into a `Strip` and cached; a change drops that row's strip and marks only
its line dirty. Changes made inside `batch()` (one per frame) are resolved together: new rows are
merged into the sorted order in one pass, and the widget refreshes the changed lines plus, when rows
were inserted or removed, the visible lines below the first shift. Scrolling, resizing and theme
changes repaint the viewport (only visible rows are ever rendered).

Cells are plain strings or `(text, role)` pairs; a role ("up", "down", "muted", "accent") picks a
component style from the theme. Row roles ("total") style a whole row. Cells are never markup and
are shown through `ibmon.safe.safe_text` when their row is drawn, so provider strings may go in as
they came.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ibmon.safe import safe_text

Cell = str | tuple[str, str]
ROLES = ("up", "down", "muted", "accent", "total")
GAP = 1


@dataclass(frozen=True, slots=True)
class Column:
    """`width` cells wide; with `max_width` the column grows (never shrinks) to fit wider values."""

    label: str
    width: int
    align: Literal["left", "right", "center"] = "left"
    max_width: int | None = None


class _Row:
    __slots__ = ("sort_key", "cells", "role")

    def __init__(self, sort_key: Any, cells: Sequence[Cell], role: str) -> None:
        self.sort_key = sort_key
        self.cells = cells
        self.role = role


def fit(text: str, width: int, align: str) -> str:
    """`text` padded or cut to exactly `width` cells."""
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)
    pad = width - length
    if align == "right":
        return " " * pad + text
    if align == "center":
        return " " * (pad // 2) + text + " " * (pad - pad // 2)
    return text + " " * pad


class LiveTable(ScrollView, can_focus=True):
    """A table of keyed rows kept in sort order, with a cursor row."""

    COMPONENT_CLASSES = {
        "live-table--header", "live-table--cursor", "live-table--empty",
        *(f"live-table--{role}" for role in ROLES),
    }

    DEFAULT_CSS = """
    LiveTable {
        background: $surface;
        padding: 0 1;
        scrollbar-size-vertical: 1;
        & > .live-table--header { color: $text-accent; background: $panel; text-style: bold; }
        & > .live-table--cursor { background: $block-cursor-blurred-background; }
        &:focus > .live-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: bold;
        }
        & > .live-table--up { color: $text-success; }
        & > .live-table--down { color: $text-error; }
        & > .live-table--muted { color: $text-muted; }
        & > .live-table--accent { color: $text-accent; }
        & > .live-table--total { text-style: bold; background: $boost; }
        & > .live-table--empty { color: $text-muted; text-style: italic; }
    }
    """

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor_to(0)", "First row", show=False),
        Binding("end", "cursor_to(-1)", "Last row", show=False),
    ]

    class CursorMoved(Message):
        """The cursor is on another row."""

        def __init__(self, table: "LiveTable", key: Hashable | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> "LiveTable":
            return self.table

    def __init__(self, columns: Sequence[Column], *, empty_text: str = "waiting for data…",
                 name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns = tuple(columns)
        self._widths = [c.width for c in self.columns]
        self._growable = [(i, c.max_width) for i, c in enumerate(self.columns) if c.max_width]
        self._regrid = False
        self.empty_text = empty_text
        self._rows: dict[Hashable, _Row] = {}
        self._order: list[tuple[Any, Hashable]] = []
        self._pending: dict[Hashable, Any] = {}
        self._dirty: set[Hashable] = set()
        self._shift_from: int | None = None
        self._batching = 0
        self._strips: dict[Hashable, Strip] = {}
        self._header: Strip | None = None
        self._styles: dict[str, Style] | None = None
        self._cursor_key: Hashable | None = None
        self._cursor_index = 0
        #: Until the user moves the cursor it stays on the first row, whatever arrives above it.
        self._cursor_chosen = False
        self._content_width = self._total_width()
        #: Data lines handed to the compositor (render_line calls for rows).
        self.rows_repainted = 0
        #: Row strips built (cache misses).
        self.rows_rendered = 0
        #: Commits that refreshed at least one line.
        self.frames_painted = 0

    # -- data ------------------------------------------------------------------------------------

    def _total_width(self) -> int:
        return sum(self._widths) + GAP * max(0, len(self._widths) - 1)

    @property
    def column_widths(self) -> list[int]:
        return list(self._widths)

    def _fit_columns(self, cells: Sequence[Cell]) -> None:
        """Grow growable columns to a wider value: every row is redrawn once, at the commit."""
        for index, max_width in self._growable:
            cell = cells[index]
            width = cell_len(safe_text(cell if isinstance(cell, str) else cell[0]))
            if width > self._widths[index] and self._widths[index] < max_width:
                self._widths[index] = min(width, max_width)
                self._regrid = True

    @property
    def row_count(self) -> int:
        return len(self._rows)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._rows

    def keys(self) -> list[Hashable]:
        """Row keys in display order."""
        self._merge_pending()
        return [key for _, key in self._order]

    def get_cells(self, key: Hashable) -> Sequence[Cell] | None:
        row = self._rows.get(key)
        return row.cells if row else None

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group changes; the refresh happens once, at the end."""
        self._batching += 1
        try:
            yield
        finally:
            self._batching -= 1
            if not self._batching:
                self._commit()

    def set_row(self, key: Hashable, cells: Sequence[Cell], sort_key: Any = None, role: str = "") -> None:
        """Add or replace a row. Rows are ordered by (sort_key, key)."""
        if sort_key is None:
            sort_key = key
        if self._growable:
            self._fit_columns(cells)
        row = self._rows.get(key)
        if row is None:
            self._rows[key] = _Row(sort_key, cells, role)
            self._pending[key] = sort_key
        else:
            if row.sort_key != sort_key:
                if key not in self._pending:
                    self._unorder(key, row.sort_key)
                self._pending[key] = sort_key
            row.sort_key, row.cells, row.role = sort_key, cells, role
            self._dirty.add(key)
        self._strips.pop(key, None)
        if not self._batching:
            self._commit()

    def remove_row(self, key: Hashable) -> None:
        row = self._rows.pop(key, None)
        if row is None:
            return
        if self._pending.pop(key, _ABSENT) is _ABSENT:
            self._unorder(key, row.sort_key)
        self._strips.pop(key, None)
        self._dirty.discard(key)
        if not self._batching:
            self._commit()

    def clear(self) -> None:
        self._rows.clear()
        self._order.clear()
        self._pending.clear()
        self._dirty.clear()
        self._strips.clear()
        self._shift_from = 0
        if not self._batching:
            self._commit()

    def _unorder(self, key: Hashable, sort_key: Any) -> None:
        index = bisect.bisect_left(self._order, (sort_key, key))
        del self._order[index]
        self._shift(index)
        if key == self._cursor_key:
            self._cursor_index = index

    def _shift(self, index: int) -> None:
        self._shift_from = index if self._shift_from is None else min(self._shift_from, index)

    def _merge_pending(self) -> None:
        if not self._pending:
            return
        entries = [(sort_key, key) for key, sort_key in self._pending.items()]
        self._pending.clear()
        order = self._order
        if len(entries) > 32:  # bulk: one sort of a mostly sorted list beats many inserts
            order.extend(entries)
            order.sort()
            self._shift(bisect.bisect_left(order, min(entries)))
        else:
            for entry in entries:
                index = bisect.bisect_left(order, entry)
                order.insert(index, entry)
                self._shift(index)

    def index_of(self, key: Hashable) -> int | None:
        row = self._rows.get(key)
        if row is None:
            return None
        self._merge_pending()
        return bisect.bisect_left(self._order, (row.sort_key, key))

    def _commit(self) -> None:
        self._merge_pending()
        regrid, self._regrid = self._regrid, False
        if regrid:
            self._content_width = self._total_width()
            self._invalidate_rendering()
        height = len(self._order) + 1
        if self.virtual_size.height != height or self.virtual_size.width != self._content_width:
            self.virtual_size = Size(self._content_width, height)
        self._keep_cursor()
        shift_from, self._shift_from = self._shift_from, None
        dirty, self._dirty = self._dirty, set()
        if not self.is_mounted:
            return
        if regrid:
            self.refresh()
            self.frames_painted += 1
            return
        top, visible = self._visible_rows()
        width = self.scrollable_content_region.width
        painted = False
        if shift_from is not None and shift_from < top + visible:
            start = max(shift_from, top)
            self.refresh(Region(0, start - top + 1, width, top + visible - start))
            painted = True
            dirty = {key for key in dirty if (self.index_of(key) or 0) < start}
        for key in dirty:
            index = self.index_of(key)
            if index is not None and top <= index < top + visible:
                self.refresh(Region(0, index - top + 1, width, 1))
                painted = True
        if painted:
            self.frames_painted += 1

    def _visible_rows(self) -> tuple[int, int]:
        """First visible row index and how many rows fit below the header."""
        return int(self.scroll_offset.y), max(0, self.scrollable_content_region.height - 1)

    # -- cursor ----------------------------------------------------------------------------------

    @property
    def cursor_key(self) -> Hashable | None:
        return self._cursor_key

    def move_cursor_to(self, key: Hashable) -> None:
        index = self.index_of(key)
        if index is not None:
            self._cursor_chosen = True
            self._set_cursor(index)

    def _keep_cursor(self) -> None:
        """After changes: stay on the same row, or on the row now at its place when it went."""
        if not self._order:
            self._cursor_key = None
            return
        if not self._cursor_chosen:
            if self._cursor_key == self._order[0][1]:
                return
            if self._cursor_key in self._rows:
                self._dirty.add(self._cursor_key)
                self._strips.pop(self._cursor_key, None)
            index = 0
        elif self._cursor_key in self._rows:
            return
        else:
            index = min(self._cursor_index, len(self._order) - 1)
        self._cursor_key = self._order[index][1]
        self._cursor_index = index
        self._dirty.add(self._cursor_key)
        self._strips.pop(self._cursor_key, None)
        self.post_message(self.CursorMoved(self, self._cursor_key))

    def _set_cursor(self, index: int) -> None:
        self._merge_pending()
        if not self._order:
            return
        index = max(0, min(index, len(self._order) - 1))
        key = self._order[index][1]
        old = self._cursor_key
        self._cursor_index = index
        if key == old:
            return
        self._cursor_key = key
        with self.batch():
            for changed in (old, key):
                if changed in self._rows:
                    self._strips.pop(changed, None)
                    self._dirty.add(changed)
        self._scroll_to_index(index)
        self.post_message(self.CursorMoved(self, key))

    def _scroll_to_index(self, index: int) -> None:
        top, visible = self._visible_rows()
        if index < top:
            self.scroll_to(y=index, animate=False)
        elif visible and index >= top + visible:
            self.scroll_to(y=index - visible + 1, animate=False)

    def _current_index(self) -> int:
        if self._cursor_key is None:
            return 0
        index = self.index_of(self._cursor_key)
        return self._cursor_index if index is None else index

    def action_cursor(self, delta: int) -> None:
        self._cursor_chosen = True
        self._set_cursor(self._current_index() + delta)

    def action_page(self, direction: int) -> None:
        self._cursor_chosen = True
        _, visible = self._visible_rows()
        self._set_cursor(self._current_index() + direction * max(1, visible - 1))

    def action_cursor_to(self, index: int) -> None:
        self._cursor_chosen = True
        self._set_cursor(index if index >= 0 else len(self._rows) - 1)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and offset.y >= 1:
            self._cursor_chosen = True
            self._set_cursor(int(self.scroll_offset.y) + offset.y - 1)

    # -- rendering -------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._invalidate_rendering()

    def on_resize(self, event: events.Resize) -> None:
        self._invalidate_rendering()

    def on_focus(self, event: events.Focus) -> None:
        self._invalidate_rendering()
        self.refresh()

    def on_blur(self, event: events.Blur) -> None:
        self._invalidate_rendering()
        self.refresh()

    def _invalidate_rendering(self) -> None:
        self._styles = None
        self._header = None
        self._strips.clear()

    def _get_styles(self) -> dict[str, Style]:
        if self._styles is None:
            base = self.rich_style
            styles = {"": Style(), "base": base,
                      "header": self.get_component_rich_style("live-table--header"),
                      "cursor": self.get_component_rich_style("live-table--cursor"),
                      "empty": self.get_component_rich_style("live-table--empty")}
            for role in ROLES:
                styles[role] = self.get_component_rich_style(f"live-table--{role}", partial=True)
            self._styles = styles
        return self._styles

    def _line(self, texts: Sequence[Cell], row_style: Style, styles: dict[str, Style]) -> Strip:
        segments = []
        for column, width, cell in zip(self.columns, self._widths, texts):
            if segments:
                segments.append(Segment(" " * GAP, row_style))
            if isinstance(cell, tuple):
                text, role = cell
                style = row_style + styles[role] if role else row_style
            else:
                text, style = cell, row_style
            segments.append(Segment(fit(safe_text(text), width, column.align), style))
        width = max(self._content_width, self.scrollable_content_region.width)
        if width > self._content_width:
            segments.append(Segment(" " * (width - self._content_width), row_style))
        return Strip(segments, width)

    def _row_strip(self, key: Hashable) -> Strip:
        strip = self._strips.get(key)
        if strip is None:
            row = self._rows[key]
            styles = self._get_styles()
            if key == self._cursor_key:
                row_style = styles["cursor"]
            elif row.role:
                row_style = styles["base"] + styles[row.role]
            else:
                row_style = styles["base"]
            strip = self._strips[key] = self._line(row.cells, row_style, styles)
            self.rows_rendered += 1
        return strip

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        styles = self._get_styles()
        if y == 0:
            if self._header is None:
                self._header = self._line([c.label for c in self.columns], styles["header"], styles)
            strip = self._header
        else:
            index = int(scroll_y) + y - 1
            self._merge_pending()
            if index < len(self._order):
                self.rows_repainted += 1
                strip = self._row_strip(self._order[index][1])
            elif index == 0 and self.empty_text:
                strip = Strip([Segment(fit(safe_text(self.empty_text), width, "left"), styles["empty"])], width)
            else:
                return Strip.blank(width, styles["base"])
        return strip.crop_extend(scroll_x, scroll_x + width, styles["base"])


_ABSENT = object()
