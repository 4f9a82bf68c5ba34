"""A keyed table on Textual's Line API that repaints only the rows that changed, with a cursor that
stays on its record, a filter typed after `/`, sorting by any column and sticky total lines.

Each row is rendered once into a `Strip` and cached; a change drops that row's strip and marks only
its line dirty. Changes made inside `batch()` (one per frame) are resolved together: new rows are
merged into the sorted order in one pass, and the widget refreshes the changed lines plus, when rows
were inserted or removed, the visible lines below the first shift. Scrolling, resizing and theme
changes repaint the viewport (only visible rows are ever rendered).

Work is proportional to what changed: a row's value in the sorted column and its place are worked
out when the row is set, the widths of its cells counted at the commit; totals move by the changed
rows only. A keystroke that sorts or filters every row works a column at a time, in passes at C
speed, and builds no key or text per row: a sort takes the rows in the table's own order (kept all
along) and sorts them by the column's values alone, a stable sort keeping equal values in that
order; a filter tests each distinct text of a column once, then looks rows up among the texts that
hold it (a filter that only grows tests the rows still shown).

Cells are plain strings or `(text, role)` pairs; a role ("up", "down", "muted", "accent") picks a
component style from the theme. Cells are never markup and are made safe (`ibmon.safe.safe_text`)
when they are set, so provider strings may go in as they came. Columns size themselves to their
content (decimal columns line their decimal points up) and are cut with "…" only when the screen
is too narrow for all of them; text columns give way first, numbers never.

The screen shows, top to bottom: the header (the sorted column marked ▲ or ▼), the rows, the total
lines (`Totals`) and, while a filter is typed or set, the filter line.
"""

from __future__ import annotations

import bisect
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from itertools import compress, repeat
from operator import and_, attrgetter, contains, is_, itemgetter, or_
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

from ibmon.keymap import core_binding
from ibmon.safe import LIMIT as SAFE_LIMIT
from ibmon.safe import safe_text
from ibmon.textual_seams import draw_content_lines
from ibmon.widgets.format import MISSING
from ibmon.widgets.selection import Selection
from ibmon.widgets.totals import Totals

Cell = str | tuple[str, str]
ROLES = ("up", "down", "muted", "accent", "total")
GAP = 1
#: Marks of the sorted column in the header.
ASCENDING, DESCENDING = "▲", "▼"
#: Longest filter text.
FILTER_LIMIT = 100
#: Narrowest a text column is cut to when the screen is too narrow.
MIN_CUT = 4
#: Total lines are shown only where they leave room for more rows than this.
MIN_ROWS = 2
#: While rows are only updated, a column narrows at most this often: a price flickering between
#: four and five digits would otherwise re-lay the whole table (a full repaint) on every tick.
NARROW_SECONDS = 30.0
#: Cell texts up to this long are shared: a column of 50,000 rows holds a few hundred distinct
#: currencies, statuses and amounts, and each row would otherwise keep its own copy of each.
SHARED_TEXT = 32
#: Distinct texts kept for sharing (the first ones seen: the common ones come early). Not
#: `sys.intern`: that keeps every distinct text, and 50,000 balances cost more kept than shared.
TEXTS_KEPT = 4096
#: Cell texts kept as shown, per column (a few screens of distinct texts).
FITTED_KEPT = 1024
#: Row strips kept: this many screens of rows (at least MIN_STRIPS); scrolling through a large
#: table would otherwise keep a strip for every row it passed.
STRIP_SCREENS = 3
MIN_STRIPS = 64


@dataclass(frozen=True, slots=True)
class Column:
    """A column at least `width` cells wide (and as wide as its label), growing to its content.

    `align="decimal"` right-aligns numbers on their decimal point. `value(record)` is what the
    column sorts by (default: the cell's text, case-folded); `sortable=False` leaves it out of the
    sort keys. When the screen is too narrow, text columns with `cut` are cut first (never below
    `width`), then columns with a `drop` rank are left out, the highest rank first.
    """

    label: str
    width: int = 0
    align: Literal["left", "right", "center", "decimal"] = "left"
    value: Callable[[Any], Any] | None = None
    sortable: bool = True
    cut: bool = True
    drop: int = 0


class _Row:
    """A row: its key, its place in the table's own order (`base`, then `key`), the text and role of
    each cell (rows with the same roles share one tuple), and `value`, what it sorts by in the sorted
    column (None: none, it goes last)."""

    __slots__ = ("key", "base", "value", "texts", "roles", "role", "record", "matches")

    def __init__(self, key: Hashable, base: Any, texts: tuple[str, ...], roles: tuple[str, ...], role: str,
                 record: Any) -> None:
        self.key = key
        self.base = base
        self.value: Any = None
        self.texts = texts
        self.roles = roles
        self.role = role
        self.record = record
        #: The filter lets it through.
        self.matches = True

    def cells(self) -> tuple[Cell, ...]:
        return tuple([(text, role) if role else text for text, role in zip(self.texts, self.roles)])


_KEY, _VALUE, _TEXTS, _RECORD, _MATCHES = (attrgetter(name) for name in ("key", "value", "texts", "record", "matches"))
#: A cell text (case-folded) that means "no value", as the empty text does: such rows go last in
#: either sort direction.
_MISSING = MISSING.casefold()


def _home(row: _Row) -> tuple[Any, Hashable]:
    """Where a row goes in the table's own order."""
    return (row.base, row.key)


class _Widths:
    """How many cells of a column have each width: the widest is known without a pass over rows."""

    __slots__ = ("counts", "widest")

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()
        self.widest = 0

    def tally(self, widths: list[int], step: int) -> bool:
        """Count cells of `widths` in (step 1) or out (-1); True when the widest width changed."""
        if not widths:
            return False
        counts = self.counts
        if step > 0:
            counts.update(widths)
        else:
            counts.subtract(widths)
            for width in [width for width, count in counts.items() if count <= 0]:
                del counts[width]
        widest = max(counts, default=0)
        changed, self.widest = widest != self.widest, widest
        return changed


def text_of(cell: Cell) -> str:
    return cell if type(cell) is str else cell[0]


def width_of(text: str) -> int:
    return len(text) if text.isascii() else cell_len(text)


def _widths(texts: list[str]) -> list[int]:
    return list(map(len, texts)) if "".join(texts).isascii() else list(map(width_of, texts))


def _decimal_widths(texts: list[str]) -> tuple[list[int], list[int]]:
    """The widths of each number's text before its decimal point and from it on (counted, not cut
    out: a commit of thousands of rows would otherwise make and drop two texts per cell)."""
    if not "".join(texts).isascii():
        parts = list(map(split_decimal, texts))
        return [width_of(whole) for whole, _ in parts], [width_of(fraction) for _, fraction in parts]
    wholes = [len(text) if point < 0 else point for text, point in zip(texts, [text.find(".") for text in texts])]
    return wholes, list(map(int.__sub__, map(len, texts), wholes))


def split_decimal(text: str) -> tuple[str, str]:
    """A number's text cut at its decimal point: "1,234.50" → ("1,234", ".50"); "1,000" → ("1,000", "")."""
    whole, point, fraction = text.partition(".")
    return whole, point + fraction


def fit(text: str, width: int, align: str) -> str:
    """`text` padded or cut to exactly `width` cells."""
    length = width_of(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)
    pad = width - length
    if align == "left":
        return text + " " * pad
    if align == "center":
        return " " * (pad // 2) + text + " " * (pad - pad // 2)
    return " " * pad + text


def _find(order: list[_Row], target: Any, key: Callable[[_Row], Any], descending: bool, low: int = 0) -> int:
    """Where a row of sort key `target` is, or goes, in `order` (rows ascending by `key`, or
    descending), from `low` on."""
    if not descending:
        return bisect.bisect_left(order, target, low, key=key)
    high = len(order)
    while low < high:
        middle = (low + high) // 2
        if key(order[middle]) > target:
            low = middle + 1
        else:
            high = middle
    return low


def _insert(order: list[_Row], rows: list[_Row], key: Callable[[_Row], Any], descending: bool) -> int | None:
    """Put `rows` in their places in `order`; the first place that changed (None: no rows). Many rows
    are spliced in one pass over `order`, never sorted with it."""
    if not rows:
        return None
    rows.sort(key=key, reverse=descending)
    first = _find(order, key(rows[0]), key, descending)
    if len(rows) <= 32:
        for row in rows:
            order.insert(_find(order, key(row), key, descending, first), row)
        return first
    merged, start = order[:first], first
    for row in rows:
        place = _find(order, key(row), key, descending, start)
        merged += order[start:place]
        merged.append(row)
        start = place
    merged += order[start:]
    order[:] = merged  # the same list: `_all` and `_order` may be one
    return first


class LiveTable(ScrollView, can_focus=True):
    """A table of keyed rows kept in sort order, with a cursor on a record."""

    COMPONENT_CLASSES = {
        "live-table--header", "live-table--cursor", "live-table--empty", "live-table--filter",
        *(f"live-table--{role}" for role in ROLES),
    }

    DEFAULT_CSS = """
    LiveTable {
        background: $surface;
        padding: 0 1;
        scrollbar-size-vertical: 1;
        scrollbar-gutter: stable;
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
        & > .live-table--filter { color: $text-warning; background: $panel; }
    }
    """

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor_to(0)", "First row", show=False),
        Binding("end", "cursor_to(-1)", "Last row", show=False),
        core_binding("filter", "filter", short="Filter"),
        core_binding("sort", "sort_next", short="Sort"),
        core_binding("sort_reverse", "sort_reverse", short="Reverse", show=False),
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

    class ViewChanged(Message):
        """The filter or the sort order changed."""

        def __init__(self, table: "LiveTable") -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> "LiveTable":
            return self.table

    def __init__(self, columns: Sequence[Column], *, empty_text: str = "waiting for data…",
                 totals: Totals | None = None,
                 name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        draw_content_lines(self)  # lines of rows made without Textual's per-line work
        self.columns = tuple(columns)
        #: Totals of every row; while a filter is on, `_shown_totals` are those of the rows it lets through.
        self.totals = totals
        self._shown_totals: Totals | None = None
        self.empty_text = empty_text
        count = len(self.columns)
        self._decimal = [c.align == "decimal" for c in self.columns]
        #: Per column: widths of its cells (decimal columns: of the part before the point).
        self._cell_widths = [_Widths() for _ in range(count)]
        #: Per decimal column: widths of the part from the point on.
        self._fraction_widths = [_Widths() for _ in range(count)]
        self._widths = [max(c.width, width_of(c.label)) for c in self.columns]
        #: Columns left out for want of room.
        self._dropped = [False] * count
        self._fractions = [0] * count
        self._regrid = True
        #: Natural widths and decimal places last laid out, held against narrowing (NARROW_SECONDS)
        #: until rows go, the view changes, or the time has passed.
        self._held: tuple[list[int], list[int]] | None = None
        self._held_at = 0.0
        self._rows: dict[Hashable, _Row] = {}
        #: Every row in the table's own order (ascending); `_all` is every row in display order and
        #: `_order` the rows the filter lets through (each the same list as the one before while
        #: no column is sorted, descending, or no filter is on).
        self._base: list[_Row] = []
        self._all = self._base
        self._order = self._all
        #: What `_all` and `_order` are sorted by.
        self._key: Callable[[_Row], Any] = _home
        #: Rows set since the last commit that are yet to take their place in `_all` (and `_order`),
        #: and in `_base` when that is another list.
        self._pending: dict[Hashable, _Row] = {}
        self._pending_base: dict[Hashable, _Row] = {}
        #: Rows set or removed since the last commit, with the texts they had before (None: new).
        self._remeasure: dict[Hashable, tuple[str, ...] | None] = {}
        self._dirty: set[Hashable] = set()
        #: Of the dirty rows, those where only some cells changed (their column indexes): only those
        #: cells are repainted, which is what keeps the bytes sent to a terminal low.
        self._dirty_cells: dict[Hashable, set[int]] = {}
        self._shift_from: int | None = None
        self._batching = 0
        self._strips: dict[Hashable, Strip] = {}
        #: Per column: cell texts as last shown (`_cell_text`).
        self._fitted: list[dict[str, str]] = [{} for _ in range(count)]
        #: Short cell texts the rows share (`_shared`).
        self._kept: dict[str, str] = {}
        self._header: Strip | None = None
        self._footer: list[tuple[Cell, ...]] = []
        self._footer_strips: list[Strip] | None = None
        #: (line, column) of total cells that read differently since the last commit.
        self._footer_changed: set[tuple[int, int]] = set()
        #: The totals the footer lines were last built from.
        self._footer_source: Totals | None = None
        self._styles: dict[str, Style] | None = None
        #: Per row style: the style of a cell of each role (`_looks_of`).
        self._looks: dict[Style, dict[str, Style]] = {}
        #: The line context of the rendering pass under way (`render_lines`).
        self._pass: tuple[int, int, int, int, dict[str, Style], int] | None = None
        self._view_key: tuple | None = None
        self._view = Size(0, 0)
        self._cursor_key: Hashable | None = None
        self._cursor_index = 0
        #: The key of the row last drawn highlighted: what the user saw selected.
        self._shown_cursor: Hashable | None = None
        self._sort_column: int | None = None
        self._descending = False
        self._filter = ""
        self._terms: tuple[str, ...] = ()
        self._editing = False
        self._content_width = self._total_width()
        #: Data lines handed to the compositor (render_line calls for rows).
        self.rows_repainted = 0
        #: Row strips built (cache misses).
        self.rows_rendered = 0
        #: Commits that refreshed at least one line.
        self.frames_painted = 0
        #: Cells (character columns) of row lines handed to the compositor to repaint.
        self.cells_refreshed = 0

    # -- data ------------------------------------------------------------------------------------

    def _total_width(self) -> int:
        return _span(self._widths, self._dropped)

    @property
    def column_widths(self) -> list[int]:
        return list(self._widths)

    @property
    def row_count(self) -> int:
        """Rows held (shown or filtered out)."""
        return len(self._rows)

    @property
    def shown_count(self) -> int:
        """Rows the filter lets through."""
        self._merge_pending()
        return len(self._order)

    @property
    def content_height(self) -> int:
        """Lines needed to show every row: header, rows, total lines and the filter line."""
        self._merge_pending()
        return 1 + max(1, len(self._order)) + len(self._footer) + self._prompt_lines()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._rows

    def keys(self) -> list[Hashable]:
        """Keys of the rows shown, in display order."""
        self._merge_pending()
        return list(map(_KEY, self._order))

    def get_cells(self, key: Hashable) -> Sequence[Cell] | None:
        """The row's cells as set (made safe; a cell whose role is "" reads as its text)."""
        row = self._rows.get(key)
        return row.cells() if row else None

    def get_record(self, key: Hashable) -> Any:
        row = self._rows.get(key)
        return row.record if row else None

    def selected_record(self) -> Any:
        """The record under the cursor, as a provider screen is opened on it (None: no row)."""
        return None if self._cursor_key is None else self.get_record(self._cursor_key)

    def shown_records(self) -> Iterator[Any]:
        """The records of the rows the filter lets through (in no particular order)."""
        return (row.record for row in self._rows.values() if row.matches and row.record is not None)

    @property
    def shown_totals(self) -> Totals | None:
        """The totals of the rows the filter lets through (all rows' while there is no filter)."""
        return self._shown_totals or self.totals

    @property
    def footer_lines(self) -> list[tuple[Cell, ...]]:
        return list(self._footer)

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

    def set_row(self, key: Hashable, cells: Sequence[Cell], sort_key: Any = None, role: str = "",
                record: Any = None) -> None:
        """Add or replace a row (one cell per column). Rows are ordered by (sort_key, key) until a
        column is chosen; `record` is what the row shows (sort values, totals and selection read it)."""
        texts, roles = _split_cells(cells)
        texts = tuple(map(self._shared, texts))
        base = key if sort_key is None else sort_key
        row = self._rows.get(key)
        if key not in self._remeasure:
            self._remeasure[key] = row.texts if row is not None else None
        value = self._value_of(record, texts) if self._sort_column is not None else None
        matches = self._match(texts)
        if row is None:
            row = self._rows[key] = _Row(key, base, texts, roles, role, record)
            row.value, row.matches = value, matches
            self._pending[key] = row
            if self._base is not self._all:
                self._pending_base[key] = row
            self._count(None, False, row)
        else:
            old_matches, old_record, old_texts, old_roles, old_role = (row.matches, row.record, row.texts,
                                                                        row.roles, row.role)
            moved = base != row.base
            if key not in self._pending and (moved or matches != old_matches or value != row.value):
                self._unorder(row)  # from where its old values put it
                self._pending[key] = row
            if moved and self._base is not self._all and key not in self._pending_base:
                del self._base[_find(self._base, _home(row), _home, False)]
                self._pending_base[key] = row
            row.base, row.value, row.texts, row.roles, row.role, row.record, row.matches = (
                base, value, texts, roles, role, record, matches)
            if key in self._pending or role != old_role or len(old_texts) != len(texts):
                self._mark(key)
            else:
                self._mark(key, {i for i, (was, now, was_role, now_role)
                                 in enumerate(zip(old_texts, texts, old_roles, roles))
                                 if was != now or was_role != now_role})
            self._count(old_record, old_matches, row)
        self._strips.pop(key, None)
        if not self._batching:
            self._commit()

    def _shared(self, text: str) -> str:
        """The copy of `text` this table's rows share, when it is a short one of the texts kept."""
        if len(text) > SHARED_TEXT:
            return text
        kept = self._kept.get(text)
        if kept is None:
            if len(self._kept) < TEXTS_KEPT:
                self._kept[text] = text
            return text
        return kept

    def remove_row(self, key: Hashable) -> None:
        row = self._rows.pop(key, None)
        if row is None:
            return
        if self._pending.pop(key, None) is None:
            self._unorder(row)
        if self._base is not self._all and self._pending_base.pop(key, None) is None:
            del self._base[_find(self._base, _home(row), _home, False)]
        if key not in self._remeasure:
            self._remeasure[key] = row.texts
        self._held = None
        self._count(row.record, row.matches, None)
        self._strips.pop(key, None)
        self._dirty.discard(key)
        self._dirty_cells.pop(key, None)
        if not self._batching:
            self._commit()

    def clear(self) -> None:
        self._rows.clear()
        self._base = []
        self._all = self._base if self._sort_column is None and not self._descending else []
        self._order = self._all if not self._terms else []
        self._pending.clear()
        self._pending_base.clear()
        self._dirty.clear()
        self._dirty_cells.clear()
        self._strips.clear()
        self._kept.clear()
        for widths in (*self._cell_widths, *self._fraction_widths):
            widths.counts.clear()
            widths.widest = 0
        self._remeasure.clear()
        for totals in (self.totals, self._shown_totals):
            if totals is not None:
                totals.reset(())
        self._regrid = True
        self._held = None
        self._shift_from = 0
        if not self._batching:
            self._commit()

    def _mark(self, key: Hashable, columns: set[int] | None = None) -> None:
        """Row `key` needs repainting: the whole line, or only the cells of `columns`."""
        if columns is None:
            self._dirty_cells.pop(key, None)
            self._dirty.add(key)
        elif key not in self._dirty:
            self._dirty.add(key)
            self._dirty_cells[key] = set(columns)
        elif key in self._dirty_cells:  # already dirty in some cells (else: the whole line already)
            self._dirty_cells[key] |= columns

    def _cell_spans(self) -> list[tuple[int, int] | None]:
        """Per column: where its cells start on a line and how wide they are (None: dropped)."""
        spans: list[tuple[int, int] | None] = []
        x = 0
        for width, dropped in zip(self._widths, self._dropped):
            if dropped:
                spans.append(None)
                continue
            spans.append((x, width))
            x += width + GAP
        return spans

    def _measure(self) -> None:
        """Count the widths of the cells set since the last commit, column by column (the cells they
        replaced counted out); a new widest cell, or the widest one gone, regrids."""
        if not self._remeasure:
            return
        rows = self._rows
        old = [texts for texts in self._remeasure.values() if texts is not None]
        new = [row.texts for row in map(rows.get, self._remeasure) if row is not None]
        self._remeasure = {}
        for index, widths in enumerate(self._cell_widths):
            for lines, step in ((old, -1), (new, 1)):
                texts = list(map(itemgetter(index), lines))
                if self._decimal[index]:
                    wholes, fractions = _decimal_widths(texts)
                    self._regrid |= self._fraction_widths[index].tally(fractions, step)
                    self._regrid |= widths.tally(wholes, step)
                else:
                    self._regrid |= widths.tally(_widths(texts), step)

    def _count(self, old: Any, old_matches: bool, row: _Row | None) -> None:
        """Move the totals from a row's old record (shown or not) to its new one."""
        if self.totals is None:
            return
        new = row.record if row is not None else None
        shown = self._shown_totals
        if old is not None:
            self.totals.remove(old)
            if shown is not None and old_matches:
                shown.remove(old)
        if new is not None:
            self.totals.add(new)
            if shown is not None and row.matches:  # type: ignore[union-attr]
                shown.add(new)

    def _unorder(self, row: _Row) -> None:
        """Take `row` out of `_all` and `_order`, from the place its values (as they still are) give it."""
        target = self._key(row)
        index = _find(self._all, target, self._key, self._descending)
        del self._all[index]
        if self._order is self._all:
            self._shift(index)
        elif row.matches:
            index = _find(self._order, target, self._key, self._descending)
            del self._order[index]
            self._shift(index)
        else:
            return
        if row.key == self._cursor_key:
            self._cursor_index = index

    def _shift(self, index: int) -> None:
        self._shift_from = index if self._shift_from is None else min(self._shift_from, index)

    def _merge_pending(self) -> None:
        if self._pending_base:
            _insert(self._base, list(self._pending_base.values()), _home, False)
            self._pending_base.clear()
        if not self._pending:
            return
        rows = list(self._pending.values())
        self._pending.clear()
        first = _insert(self._all, rows, self._key, self._descending)
        if self._order is not self._all:
            first = _insert(self._order, [row for row in rows if row.matches], self._key, self._descending)
        if first is not None:
            self._shift(first)

    def index_of(self, key: Hashable) -> int | None:
        """The row's place among the rows shown (None when it is not shown)."""
        row = self._rows.get(key)
        if row is None or not row.matches:
            return None
        self._merge_pending()
        return self._place(row)

    def _place(self, row: _Row) -> int:
        """Where `row` is, or would be, among the rows shown."""
        return _find(self._order, self._key(row), self._key, self._descending)

    def _commit(self) -> None:
        self._merge_pending()
        self._measure()
        top, visible = self._visible_rows()
        old_index = self._cursor_index
        footer = self._update_footer()
        if self._regrid:
            regrid = self._layout()
        else:
            regrid = False
        height = self.content_height
        if self.virtual_size.height != height or self.virtual_size.width != self._content_width:
            self.virtual_size = Size(self._content_width, height)
        self._keep_cursor()
        shift_from, self._shift_from = self._shift_from, None
        dirty, self._dirty = self._dirty, set()
        dirty_cells, self._dirty_cells = self._dirty_cells, {}
        if not self.is_mounted:
            return
        if (self._cursor_key is not None and top <= old_index < top + visible
                and not top <= self._cursor_index < top + visible):
            self._scroll_to_index(self._cursor_index)  # inserts or removals pushed it out of view
        if regrid or footer == 2:
            self.refresh()
            self.frames_painted += 1
            return
        top, visible = self._visible_rows()
        width = self._view_size.width
        painted = False
        if footer == 1 and not self._prompt_lines():
            painted |= self._refresh_footer_cells()
        elif footer or (self._prompt_lines() and (shift_from is not None or dirty)):
            self._refresh_footer()
            painted = True
        if shift_from is not None and shift_from < top + visible:
            start = max(shift_from, top)
            self.refresh(Region(0, start - top + 1, width, top + visible - start))
            self.cells_refreshed += width * (top + visible - start)
            painted = True
            dirty = {key for key in dirty if (self.index_of(key) or 0) < start}
        spans = self._cell_spans() if dirty_cells else []
        scroll_x = int(self.scroll_offset.x)
        regions: list[Region] = []  # refreshed in one call: each call costs a pass over the widget's caches
        for key in dirty:
            index = self.index_of(key)
            if index is None or not top <= index < top + visible:
                continue
            y = index - top + 1
            columns = dirty_cells.get(key)
            if columns is None:
                regions.append(Region(0, y, width, 1))
                self.cells_refreshed += width
                painted = True
                continue
            painted |= self._cell_regions(y, columns, spans, regions, width, scroll_x)
        if regions:
            self.refresh(*regions)
        if painted:
            self.frames_painted += 1

    def _refresh_cells(self, y: int, columns: Iterable[int], spans: list[tuple[int, int] | None]) -> bool:
        """Repaint the cells of `columns` on line `y` of the view (scrolled sideways as rows are)."""
        regions: list[Region] = []
        if self._cell_regions(y, columns, spans, regions, self._view_size.width, int(self.scroll_offset.x)):
            self.refresh(*regions)
        return bool(regions)

    def _cell_regions(self, y: int, columns: Iterable[int], spans: list[tuple[int, int] | None],
                      regions: list[Region], width: int, scroll_x: int) -> bool:
        """Add the regions of the cells of `columns` on line `y` of a view `width` wide, scrolled
        `scroll_x` sideways, to `regions`."""
        painted = False
        for column in columns:
            span = spans[column]
            if span is None:
                continue
            x, cells = span[0] - scroll_x, span[1]
            cells, x = cells + min(0, x), max(0, x)
            if cells > 0 and x < width:
                regions.append(Region(x, y, min(cells, width - x), 1))
                self.cells_refreshed += min(cells, width - x)
                painted = True
        return painted

    def _visible_rows(self) -> tuple[int, int]:
        """First visible row index and how many rows fit between the header and the footer."""
        height = self._view_size.height
        return int(self.scroll_offset.y), max(0, height - 1 - self._footer_shown(height))

    # -- columns ---------------------------------------------------------------------------------

    def _label(self, index: int) -> str:
        label = self.columns[index].label
        if index == self._sort_column:
            return f"{label} {DESCENDING if self._descending else ASCENDING}"
        return label

    def _natural_widths(self) -> list[int]:
        """Each column as wide as its label, its least width and its widest cell (rows and totals)."""
        widths = []
        for index, column in enumerate(self.columns):
            width = max(column.width, width_of(self._label(index)), self._cell_widths[index].widest)
            if self._decimal[index]:
                whole = self._cell_widths[index].widest
                fraction = self._fraction_widths[index].widest
                for line in self._footer:
                    part_whole, part_fraction = split_decimal(text_of(line[index]))
                    whole, fraction = max(whole, width_of(part_whole)), max(fraction, width_of(part_fraction))
                self._fractions[index] = fraction
                width = max(width, whole + fraction)
            else:
                for line in self._footer:
                    width = max(width, width_of(text_of(line[index])))
            widths.append(width)
        now = time.monotonic()
        if self._held is not None and now - self._held_at < NARROW_SECONDS:
            held_widths, held_fractions = self._held
            widths = [max(w, h) for w, h in zip(widths, held_widths)]
            self._fractions = [max(f, h) for f, h in zip(self._fractions, held_fractions)]
        else:
            self._held_at = now
        self._held = (list(widths), list(self._fractions))
        return widths

    def _layout(self) -> bool:
        """Size the columns to their content. When the screen is too narrow: cut the widest text
        columns down to their `width`, then leave out the columns that may be dropped (highest rank
        first), then cut text down to `MIN_CUT`; a number is never cut. True when the layout changed
        (every row is then redrawn)."""
        self._regrid = False
        fractions = list(self._fractions)
        natural = self._natural_widths()
        room = self.scrollable_content_region.width if self.is_mounted else 0
        dropped = [False] * len(natural)
        if not room:
            widths = natural
        else:
            texts = [c.align == "left" and c.cut for c in self.columns]
            comfortable = [max(MIN_CUT, c.width) if text else natural[i]
                           for i, (c, text) in enumerate(zip(self.columns, texts))]
            widths = _cut(natural, comfortable, room, dropped)
            ranked = sorted((i for i, c in enumerate(self.columns) if c.drop), key=lambda i: -self.columns[i].drop)
            for index in ranked:
                if _span(widths, dropped) <= room:
                    break
                dropped[index] = True
                widths = _cut(natural, comfortable, room, dropped)
            widths = _cut(widths, [MIN_CUT if text else w for text, w in zip(texts, widths)], room, dropped)
        if widths == self._widths and dropped == self._dropped and fractions == self._fractions:
            return False
        self._widths, self._dropped = widths, dropped
        self._content_width = self._total_width()
        self._invalidate_rendering()
        return True

    # -- sorting ---------------------------------------------------------------------------------

    @property
    def sort_column(self) -> int | None:
        """The column rows are sorted by (None: the table's own order)."""
        return self._sort_column

    @property
    def descending(self) -> bool:
        return self._descending

    def _value_of(self, record: Any, texts: tuple[str, ...]) -> Any:
        """What a row sorts by in the sorted column: the column's value of its record (text
        case-folded), else its cell's text case-folded; None when it has none."""
        column = self.columns[self._sort_column]  # type: ignore[index]
        if column.value is not None and record is not None:
            value = column.value(record)
            return value.casefold() if isinstance(value, str) else value
        value = texts[self._sort_column].casefold()  # type: ignore[index]
        return None if not value or value == _MISSING else value

    def _set_values(self, rows: list[_Row]) -> list[Any]:
        """Set each row's value in the sorted column (`_value_of`, in one pass: a keystroke sorts
        every row and each visit of a row is a trip to memory); the values, in the order of `rows`.
        Rows showing the same text share one case-folded value (a column holds few distinct ones)."""
        index = self._sort_column
        get = self.columns[index].value  # type: ignore[index]
        values: list[Any] = []
        keep = values.append
        folded: dict[str, str] = {}
        fold = folded.get
        if get is None:
            for row in rows:
                text = row.texts[index]  # type: ignore[index]
                value = fold(text)
                if value is None:
                    value = folded[text] = text.casefold()
                if not value or value == _MISSING:
                    value = None
                row.value = value
                keep(value)
            return values
        for row in rows:
            record = row.record
            if record is None:
                value = self._value_of(None, row.texts)
            else:
                value = get(record)
                if isinstance(value, str):
                    value = fold(value) or folded.setdefault(value, value.casefold())
            row.value = value
            keep(value)
        return values

    def _column_key(self) -> Callable[[_Row], Any]:
        """The sort key of rows in the sorted column: its value, then the table's own order; rows
        without a value go last in either direction."""
        first, last = self._descending, not self._descending

        def key(row: _Row) -> tuple[bool, Any, Any, Hashable]:
            value = row.value
            return (first, value, row.base, row.key) if value is not None else (last, None, row.base, row.key)
        return key

    def sort_by(self, column: int | None, descending: bool = False) -> None:
        """Sort by `column` (None: the table's own order), ascending or descending.

        Rows are taken in the table's own order and sorted by their value alone: a stable sort
        keeps rows of equal values in that order, so no row's composite key is ever compared."""
        if column is not None and not self.columns[column].sortable:
            return
        if column == self._sort_column and descending == self._descending:
            return
        self._merge_pending()
        self._sort_column, self._descending = column, descending
        rows = self._base
        if column is None:
            self._key = _home
            self._all = rows[::-1] if descending else rows
            for row in rows:
                row.value = None  # values of the column sorted before would be kept alive
        else:
            self._key = self._column_key()
            values = self._set_values(rows)
            if any(map(is_, values, repeat(None))):
                valued = [i for i, value in enumerate(values) if value is not None]
                missing = [row for row, value in zip(rows, values) if value is None]
            else:
                valued, missing = range(len(rows)), []
            present = list(map(rows.__getitem__, sorted(valued, key=values.__getitem__)))
            if descending:
                present.reverse()
                missing.reverse()
            self._all = present + missing if missing else present
        self._order = list(compress(self._all, map(_MATCHES, self._all))) if self._terms else self._all
        self._view_changed()

    def _sortable(self) -> list[int]:
        return [i for i, column in enumerate(self.columns) if column.sortable and not self._dropped[i]]

    def action_sort_next(self) -> None:
        """The next sortable column, ascending; after the last, the table's own order."""
        sortable = self._sortable()
        if self._sort_column is None:
            following = sortable[0] if sortable else None
        else:
            later = [i for i in sortable if i > self._sort_column]
            following = later[0] if later else None
        self.sort_by(following)

    def action_sort_reverse(self) -> None:
        self.sort_by(self._sort_column, not self._descending)

    def _view_changed(self) -> None:
        """After a new sort order or filter: the cursor stays on its record (or the nearest row
        shown), in view; every visible line is redrawn once."""
        self._strips.clear()
        self._header = None
        self._regrid = True
        self._held = None
        self._shift_from = 0
        self._commit()
        if self.is_mounted:
            self.refresh()
            if self._cursor_key is not None:
                self._scroll_to_index(self._cursor_index)
        self.post_message(self.ViewChanged(self))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self.column_at(offset.x + int(self.scroll_offset.x))
            if column is not None and self.columns[column].sortable:
                self.sort_by(column, not self._descending if column == self._sort_column else False)
            return
        top, visible = self._visible_rows()
        if 1 <= offset.y <= visible:
            self._set_cursor(top + offset.y - 1)

    def column_at(self, x: int) -> int | None:
        """The column under content offset `x` (None: a gap or past the last column)."""
        start = 0
        for index, width in enumerate(self._widths):
            if self._dropped[index]:
                continue
            if start <= x < start + width:
                return index
            start += width + GAP
        return None

    # -- filter ----------------------------------------------------------------------------------

    @property
    def filter_text(self) -> str:
        return self._filter

    @property
    def editing_filter(self) -> bool:
        return self._editing

    def _match(self, texts: tuple[str, ...]) -> bool:
        """Whether the filter lets a row of these cell texts through."""
        if not self._terms:
            return True
        text = _filter_text(texts)
        return all(term in text for term in self._terms)

    def set_filter(self, text: str) -> None:
        """Show only the rows whose text holds every word of `text` (any case); "" shows all.

        A filter that only grows tests the rows still shown; the totals of the rows shown are
        added up from those rows (the totals of all rows are kept all along)."""
        text = text[:FILTER_LIMIT]
        before, self._filter = self._filter, text
        terms = tuple(text.casefold().split())
        if terms == self._terms:
            self._refresh_prompt()
            return
        self._merge_pending()
        narrowing = bool(self._terms) and text.startswith(before)
        self._terms = terms
        if not terms:
            for row in self._rows.values():
                row.matches = True
            self._order = self._all
            self._shown_totals = None
        else:
            # Rows are tested in the order they were made, which is how they lie in memory (a pass
            # in display order jumps about it), then taken in display order.
            tested = self._order if narrowing else list(self._rows.values())
            holding = _holding(tested, terms)
            if holding is None:  # every row tested holds every term
                for row in tested:
                    row.matches = True
            else:
                for row, matches in zip(tested, holding):
                    row.matches = matches
            if narrowing:
                self._order = tested if holding is None else list(compress(tested, holding))
            else:
                self._order = list(compress(self._all, map(_MATCHES, self._all)))
            self._shown_totals = self._totals_of_shown(len(self._order))
        self._view_changed()

    def _totals_of_shown(self, shown: int) -> Totals | None:
        """Totals of the rows the filter lets through, from whichever is fewer: the rows shown, or
        the rows hidden (taken off the totals of all rows)."""
        if self.totals is None:
            return None
        rows = self._rows.values()
        if shown * 2 >= len(self._rows):
            totals = self.totals.copy()
            for row in rows:
                if not row.matches and row.record is not None:
                    totals.remove(row.record)
        else:
            totals = self.totals.empty()
            totals.reset(row.record for row in rows if row.matches and row.record is not None)
        return totals

    def action_filter(self) -> None:
        """Start typing a filter (enter keeps it, escape clears it)."""
        self._editing = True
        self._commit_prompt()

    def _stop_editing(self, clear: bool) -> None:
        self._editing = False
        if clear:
            self.set_filter("")
        self._commit_prompt()

    def _commit_prompt(self) -> None:
        self._regrid = True
        self._commit()
        if self.is_mounted:
            self.refresh()
            if self._cursor_key is not None:
                self._scroll_to_index(self._cursor_index)

    def on_key(self, event: events.Key) -> None:
        """While a filter is typed, keys edit it (arrows still move the cursor); escape clears a
        filter that is set."""
        if not self._editing:
            if event.key == "escape" and self._filter:
                event.stop()
                event.prevent_default()
                self._stop_editing(clear=True)
            return
        key = event.key
        if key == "escape":
            self._stop_editing(clear=True)
        elif key == "enter":
            self._stop_editing(clear=False)
        elif key in ("backspace", "ctrl+h"):
            self.set_filter(self._filter[:-1])
        elif key == "ctrl+u":
            self.set_filter("")
        elif event.is_printable and event.character:
            self.set_filter(self._filter + event.character)
        else:
            return  # arrows, tab...: the bindings
        event.stop()
        event.prevent_default()

    def on_blur(self, event: events.Blur) -> None:
        if self._editing:
            self._editing = False  # the filter stays
            self._commit_prompt()
        self._invalidate_rendering()
        self.refresh()

    def _prompt_lines(self) -> int:
        return 1 if self._editing or self._filter else 0

    def _prompt_text(self) -> str:
        shown = f"{len(self._order)} of {len(self._rows)} rows"
        if self._editing:
            return f"/{safe_text(self._filter)}▏  {shown} · enter keeps · esc clears"
        return f"/{safe_text(self._filter)}  {shown} · / edits · esc clears"

    def _refresh_prompt(self) -> None:
        if self.is_mounted and self._prompt_lines():
            height = self.scrollable_content_region.height
            self.refresh(Region(0, height - 1, self.scrollable_content_region.width, 1))

    # -- totals ----------------------------------------------------------------------------------

    def _update_footer(self) -> int:
        """Rebuild the total lines when the totals moved: 0 when they read the same, 1 when they
        read differently, 2 when there are more or fewer of them (the rows' room changes)."""
        totals = self._shown_totals or self.totals
        if totals is None or not (totals.changed or totals is not self._footer_source):
            return 0
        self._footer_source = totals
        lines = [_safe_cells(line) for line in totals.lines(len(self.columns))]
        if lines == self._footer:
            return 0
        resized = len(lines) != len(self._footer)
        if resized or self._footer_too_wide(lines):
            self._regrid = True
        else:
            self._footer_changed = {(line, column) for line, (old, new) in enumerate(zip(self._footer, lines))
                                    for column, (was, now) in enumerate(zip(old, new)) if was != now}
        self._footer = lines
        self._footer_strips = None
        return 2 if resized else 1

    def _footer_too_wide(self, lines: list[tuple[Cell, ...]]) -> bool:
        for line in lines:
            for index, cell in enumerate(line):
                text = text_of(cell)
                if self._decimal[index]:
                    whole, fraction = split_decimal(text)
                    if (width_of(whole) + self._fractions[index] > self._widths[index]
                            or width_of(fraction) > self._fractions[index]):
                        return True
                elif width_of(text) > self._widths[index]:
                    return True
        return False

    def _footer_shown(self, height: int) -> int:
        """Footer lines shown: the filter line, and the total lines that fit in a third of the room
        left for rows (at least one, when `MIN_ROWS` rows still fit)."""
        prompt = self._prompt_lines() if height > 1 else 0
        room = max(0, height - 1 - prompt)
        fits = max(1, room // 3) if room > MIN_ROWS else 0
        return min(len(self._footer), fits) + prompt

    def _refresh_footer_cells(self) -> bool:
        """Repaint the total cells that changed on the total lines shown (a line cut into the
        "more totals" summary names currencies only, which a change of the same lines keeps)."""
        changed, self._footer_changed = self._footer_changed, set()
        height = self.scrollable_content_region.height
        shown = self._footer_shown(height)
        whole = shown - (1 if len(self._footer) > shown else 0)  # lines drawn as total lines
        spans = self._cell_spans()
        painted = False
        for line in sorted({line for line, _ in changed if line < whole}):
            painted |= self._refresh_cells(height - shown + line, [c for l, c in changed if l == line], spans)
        return painted

    def _refresh_footer(self) -> None:
        height = self.scrollable_content_region.height
        shown = self._footer_shown(height)
        if shown:
            width = self.scrollable_content_region.width
            self.refresh(Region(0, height - shown, width, shown))
            self.cells_refreshed += width * shown

    # -- cursor ----------------------------------------------------------------------------------

    @property
    def cursor_key(self) -> Hashable | None:
        return self._cursor_key

    @property
    def highlighted_key(self) -> Hashable | None:
        """The cursor's key if its row is what the screen last drew highlighted, else None (the
        cursor moved, or its row was not drawn since): a key press aimed at what the user saw must
        not act on anything else."""
        key = self._cursor_key
        return key if key is not None and key == self._shown_cursor and key in self._rows else None

    def stale(self, key: Hashable, what: str, present: Callable[[], bool]) -> str | None:
        """Why acting now on `what`, the record of row `key`, would be wrong (None when it is fine):
        it is gone, or the screen does not show its row highlighted."""
        if not present():
            return f"{what} is gone (closed or removed meanwhile); nothing was done."
        if self.highlighted_key != key:
            return (f"the highlight moved to {what} just as the key came; nothing was done: "
                    f"check the highlighted row and press again.")
        return None

    def selection(self) -> Selection | None:
        """What the cursor designates. Here: the connection of its row (for tables keyed by
        (connection, ...)); panels of records say which record."""
        key = self._cursor_key
        if not isinstance(key, tuple) or not key:
            return None
        conn = str(key[0])
        return Selection(conn, "connection", None, safe_text(conn),
                         check=partial(self.stale, key, f"a row of {safe_text(conn)}", lambda: key in self._rows))

    def move_cursor_to(self, key: Hashable) -> None:
        index = self.index_of(key)
        if index is not None:
            self._set_cursor(index)

    def _keep_cursor(self) -> None:
        """After changes: stay on the same record, or take the row now at its place when it went
        (or the filter hid it)."""
        if not self._order:
            if self._cursor_key is not None:
                self._cursor_key = None
                self.post_message(self.CursorMoved(self, None))
            return
        key = self._cursor_key
        row = self._rows.get(key) if key is not None else None
        if row is not None and row.matches:
            self._cursor_index = self._place(row)
            return
        if key is None:
            index = 0
        elif row is not None:  # filtered out: the nearest row shown
            index = min(self._place(row), len(self._order) - 1)
        else:  # gone: the row now at its place
            index = min(self._cursor_index, len(self._order) - 1)
        self._cursor_key = self._order[index].key
        self._cursor_index = index
        self._mark(self._cursor_key)
        self._strips.pop(self._cursor_key, None)
        self.post_message(self.CursorMoved(self, self._cursor_key))

    def _set_cursor(self, index: int) -> None:
        self._merge_pending()
        if not self._order:
            return
        index = max(0, min(index, len(self._order) - 1))
        key = self._order[index].key
        old = self._cursor_key
        self._cursor_index = index
        self._scroll_to_index(index)
        if key == old:
            return
        self._cursor_key = key
        with self.batch():
            for changed in (old, key):
                if changed in self._rows:
                    self._strips.pop(changed, None)
                    self._mark(changed)
        self.post_message(self.CursorMoved(self, key))

    def _scroll_to_index(self, index: int) -> None:
        """Scroll as little as brings row `index` into view (forced: the scrollbar may not be shown yet
        for rows added in this very frame)."""
        top, visible = self._visible_rows()
        if index < top:
            self.scroll_to(y=index, animate=False, force=True)
        elif visible and index >= top + visible:
            self.scroll_to(y=index - visible + 1, animate=False, force=True)

    def _current_index(self) -> int:
        if self._cursor_key is None:
            return 0
        index = self.index_of(self._cursor_key)
        return self._cursor_index if index is None else index

    def action_cursor(self, delta: int) -> None:
        self._set_cursor(self._current_index() + delta)

    def action_page(self, direction: int) -> None:
        _, visible = self._visible_rows()
        self._set_cursor(self._current_index() + direction * max(1, visible - 1))

    def action_cursor_to(self, index: int) -> None:
        self._set_cursor(index if index >= 0 else len(self._order) - 1)

    # -- rendering -------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._invalidate_rendering()

    def on_resize(self, event: events.Resize) -> None:
        self._layout()
        self._invalidate_rendering()
        self.refresh()  # the compositor may have drawn the new size with the old columns already
        if self._cursor_key is not None:
            self.call_after_refresh(self._scroll_to_index, self._current_index())

    def on_focus(self, event: events.Focus) -> None:
        self._invalidate_rendering()
        self.refresh()

    @property
    def _view_size(self) -> Size:
        """The size of `scrollable_content_region`, which Textual works out anew (styles, scrollbars,
        the compositor's map) at each call: rendering asks for it per line."""
        key = (self.outer_size, self.show_vertical_scrollbar, self.show_horizontal_scrollbar)
        if key != self._view_key:
            self._view_key, self._view = key, self.scrollable_content_region.size
        return self._view

    def _invalidate_rendering(self) -> None:
        self._view_key = None  # a new style may change the padding or the scrollbars
        self._styles = None
        self._looks.clear()
        self._header = None
        self._footer_strips = None
        self._strips.clear()
        for fitted in self._fitted:
            fitted.clear()

    def _get_styles(self) -> dict[str, Style]:
        if self._styles is None:
            base = self.rich_style
            styles = {"": Style(), "base": base,
                      "header": self.get_component_rich_style("live-table--header"),
                      "cursor": self.get_component_rich_style("live-table--cursor"),
                      "empty": self.get_component_rich_style("live-table--empty"),
                      "filter": self.get_component_rich_style("live-table--filter")}
            for role in ROLES:
                styles[role] = self.get_component_rich_style(f"live-table--{role}", partial=True)
            self._styles = styles
        return self._styles

    def _cell_text(self, index: int, text: str) -> str:
        """`text` as column `index` shows it, kept per column until the layout changes: most cells
        of a changed row (a symbol, a currency) read as they did."""
        fitted = self._fitted[index]
        shown = fitted.get(text)
        if shown is None:
            if len(fitted) >= FITTED_KEPT:
                fitted.clear()
            shown = fitted[text] = self._fit_cell(index, text)
        return shown

    def _fit_cell(self, index: int, text: str) -> str:
        width = self._widths[index]
        if self._decimal[index]:
            whole, fraction = split_decimal(text)
            places = self._fractions[index]
            if width_of(fraction) <= places:
                text = whole + fraction + " " * (places - width_of(fraction))
            return fit(text, width, "right")
        return fit(text, width, self.columns[index].align)

    def _line(self, texts: Sequence[str], roles: Sequence[str], row_style: Style, styles: dict[str, Style],
              header: bool = False) -> Strip:
        # One segment per run of cells (and gaps) that look the same: fewer segments for every
        # later step of a frame, and one style run per look for a terminal.
        looks = self._looks_of(row_style, styles)
        segments: list[Segment] = []
        run: list[str] = []  # the texts of the run being built, all in style `look`
        look = row_style
        gap = " " * GAP
        dropped = self._dropped
        for index, text in enumerate(texts):
            if dropped[index]:
                continue
            if run:
                if look is not row_style:
                    segments.append(Segment("".join(run), look))
                    run, look = [], row_style
                run.append(gap)
            style = looks[roles[index]]
            if style is not look and run:
                segments.append(Segment("".join(run), look))
                run = []
            look = style
            if header:
                align = "right" if self._decimal[index] else self.columns[index].align
                run.append(fit(text, self._widths[index], align))
            else:
                run.append(self._cell_text(index, text))
        width = max(self._content_width, self._view_size.width)
        if width > self._content_width:
            if look is not row_style and run:
                segments.append(Segment("".join(run), look))
                run, look = [], row_style
            run.append(" " * (width - self._content_width))
        if run:
            segments.append(Segment("".join(run), look))
        return Strip(segments, width)

    def _looks_of(self, row_style: Style, styles: dict[str, Style]) -> dict[str, Style]:
        """Per role, the style of a cell on a row in `row_style` (kept until the styles change)."""
        looks = self._looks.get(row_style)
        if looks is None:
            looks = self._looks[row_style] = {role: row_style + styles[role] if role else row_style
                                              for role in ("", *ROLES)}
        return looks

    def _row_strip(self, row: _Row) -> Strip:
        key = row.key
        strip = self._strips.get(key)
        if strip is None:
            styles = self._get_styles()
            if key == self._cursor_key:
                row_style = styles["cursor"]
            elif row.role:
                row_style = styles["base"] + styles[row.role]
            else:
                row_style = styles["base"]
            if len(self._strips) >= max(MIN_STRIPS, STRIP_SCREENS * self._view_size.height):
                self._trim_strips()
            strip = self._strips[key] = self._line(row.texts, row.roles, row_style, styles)
            self.rows_rendered += 1
        return strip

    def _trim_strips(self) -> None:
        """Keep only the strips of the rows on screen."""
        first, count = self._visible_rows()
        shown = {row.key for row in self._order[first:first + count]}
        self._strips = {key: strip for key, strip in self._strips.items() if key in shown}

    def _footer_strip(self, line: int, shown: int) -> tuple[Strip, bool]:
        """Line `line` of the `shown` footer lines, and whether it scrolls sideways with the rows:
        totals (when they do not all fit, the last line says how many more), then the filter line."""
        styles = self._get_styles()
        width = self.scrollable_content_region.width
        totals_shown = shown - self._prompt_lines()
        if line >= totals_shown:
            text = fit(self._prompt_text(), width, "left")
            return Strip([Segment(text, styles["filter"])], width), False
        cut = len(self._footer) - totals_shown
        if cut and line == totals_shown - 1:
            currency = self.totals.currency_column if self.totals is not None else 0
            hidden = ", ".join(text_of(cells[currency]) for cells in self._footer[line:])
            more = f"{cut + 1} more totals" if line else f"totals in {cut + 1} currencies"
            text = fit(f"Σ {more} ({hidden}): maximise or filter to see them", width, "left")
            return Strip([Segment(text, styles["base"] + styles["total"])], width), False
        if self._footer_strips is None:
            self._footer_strips = []
        while len(self._footer_strips) <= line:
            texts, roles = _split_cells(self._footer[len(self._footer_strips)])
            self._footer_strips.append(self._line(texts, roles, styles["base"] + styles["total"], styles))
        return self._footer_strips[line], True

    def render_lines(self, crop: Region) -> list[Strip]:
        self._pass = self._line_context()  # read once for all the lines of this pass
        try:
            return super().render_lines(crop)
        finally:
            self._pass = None

    def _line_context(self) -> tuple[int, int, int, int, dict[str, Style], int]:
        """What every line drawn now reads alike: the scroll offset, the view's width and height,
        the styles and the footer's height."""
        self._merge_pending()
        scroll_x, scroll_y = self.scroll_offset
        width, height = self._view_size
        return scroll_x, scroll_y, width, height, self._get_styles(), self._footer_shown(height)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y, width, height, styles, footer = self._pass or self._line_context()
        if y == 0:
            if self._header is None:
                labels = [self._label(i) for i in range(len(self.columns))]
                self._header = self._line(labels, [""] * len(labels), styles["header"], styles, header=True)
            strip = self._header
        elif y >= height - footer:
            strip, scrolls = self._footer_strip(y - (height - footer), footer)
            if not scrolls:
                return strip
        else:
            index = int(scroll_y) + y - 1
            if index < len(self._order):
                self.rows_repainted += 1
                row = self._order[index]
                strip = self._row_strip(row)
                if row.key == self._cursor_key:
                    self._shown_cursor = row.key
            elif index == 0 and self.empty_text:
                self._shown_cursor = None
                text = self.empty_text if not self._rows else "no row matches the filter"
                strip = Strip([Segment(fit(safe_text(text), width, "left"), styles["empty"])], width)
            else:
                return Strip.blank(width, styles["base"])
        return strip.crop_extend(scroll_x, scroll_x + width, styles["base"])


def _filter_text(texts: Sequence[str]) -> str:
    """What the filter looks in: every cell's text, case-folded (a word never spans two cells)."""
    return "\n".join(texts).casefold()


def _holding(rows: list[_Row], terms: Sequence[str]) -> list[bool] | None:
    """Which of `rows` hold every one of `terms` in some cell (None: all of them).

    Worked out a column at a time, in passes at C speed: the distinct texts of a column are
    case-folded together and tested once each; unless a column where every text holds the term
    answers for every row at once, each row is then looked up among the texts that hold it."""
    texts = list(map(_TEXTS, rows))
    width = len(texts[0]) if texts else 0  # one cell per column
    folded: dict[int, tuple[list[str], list[str]]] = {}
    result: list[bool] | None = None
    for term in terms:
        partly: list[tuple[int, set[str]]] = []
        for index in range(width):
            if index not in folded:
                distinct = list(set(map(itemgetter(index), texts)))
                # Cell texts are safe, so never hold a line break: one break-joined text folds at once.
                folded[index] = (distinct, "\n".join(distinct).casefold().split("\n"))
            distinct, casefolded = folded[index]
            held = set(compress(distinct, map(contains, casefolded, repeat(term))))
            if len(held) == len(distinct):
                break  # every row holds it
            if held:
                partly.append((index, held))
        else:
            if not partly:
                return [False] * len(rows)
            hit: list[bool] | None = None
            for index, held in partly:
                found = list(map(held.__contains__, map(itemgetter(index), texts)))
                hit = found if hit is None else list(map(or_, hit, found))
            result = hit if result is None else list(map(and_, result, hit))
    return result


def _span(widths: Sequence[int], dropped: Sequence[bool]) -> int:
    """Cells a line of these columns takes."""
    shown = [width for width, gone in zip(widths, dropped) if not gone]
    return sum(shown) + GAP * max(0, len(shown) - 1)


def _cut(natural: Sequence[int], floors: Sequence[int], room: int, dropped: Sequence[bool]) -> list[int]:
    """`natural` widths with the widest columns above their floor narrowed, one cell at a time, until
    the columns not dropped fit in `room` (or none can give more)."""
    widths = list(natural)
    excess = _span(widths, dropped) - room
    while excess > 0:
        cuttable = [i for i, width in enumerate(widths) if width > floors[i] and not dropped[i]]
        if not cuttable:
            break
        widest = max(cuttable, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1
    return widths


def _safe_cells(cells: Sequence[Cell]) -> tuple[Cell, ...]:
    """`cells` with every text made safe. One check of the whole row usually does: text that
    safe_text leaves as it is joined into a string it leaves as it is, and the other way round."""
    texts = [cell if type(cell) is str else cell[0] for cell in cells]
    joined = "".join(texts)
    if len(joined) <= SAFE_LIMIT and safe_text(joined) == joined:
        return tuple(cells)
    return tuple([_safe_cell(cell) for cell in cells])


def _safe_cell(cell: Cell) -> Cell:
    if type(cell) is str:
        return safe_text(cell)
    text, role = cell
    return (safe_text(text), role)


#: One tuple for each set of cell roles rows use (a table has a handful), shared by those rows.
_ROLE_SETS: dict[tuple[str, ...], tuple[str, ...]] = {}
_ROLE_SETS_LIMIT = 4096


def _split_cells(cells: Sequence[Cell]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The safe text of each cell, and the role of each ("" for none)."""
    texts = tuple([cell if type(cell) is str else cell[0] for cell in cells])
    roles = tuple(["" if type(cell) is str else cell[1] for cell in cells])
    joined = "".join(texts)
    if len(joined) > SAFE_LIMIT or safe_text(joined) != joined:
        texts = tuple(map(safe_text, texts))
    shared = _ROLE_SETS.get(roles)
    if shared is None:
        if len(_ROLE_SETS) < _ROLE_SETS_LIMIT:
            _ROLE_SETS[roles] = roles
        return texts, roles
    return texts, shared
