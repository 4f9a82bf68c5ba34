"""What the terminal shows, cell by cell, and the fewest bytes that change it (what curses does).

Textual sends a partial update as whole spans of the widgets it repaints: a price cell that got a new
last digit goes out as the whole cell, each style run with its full colour codes and a reset after it,
and a widget repainted with the text it already showed goes out again in full. `ShownScreen` keeps
the characters and styles last written to each cell; an update then writes only the cells that
differ, moves the cursor the short way, and changes colours by what differs from the colour in force
(`\\x1b[38;5;115m` instead of a reset and the whole style again).

A full repaint is written as Textual writes it and recorded, so anything that may have disturbed the
terminal (a resize, a new screen, a resume) puts the record right. A line holding characters that
are not one cell wide is never diffed: its spans go out whole and are recorded as unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from rich.cells import get_character_cell_size
from textual.strip import Strip

#: Unchanged cells between two changed ones that are written again rather than skipped with a
#: cursor move (a move costs 3-8 bytes).
GAP = 3
RESET = "\x1b[0m"


class Line:
    """The cells of one terminal line: characters and SGR parameters ("" for the default style);
    None where what the terminal shows is not known."""

    __slots__ = ("chars", "styles")

    def __init__(self, width: int) -> None:
        self.chars: list[str | None] = [None] * width
        self.styles: list[str | None] = [None] * width

    def widen(self, width: int) -> None:
        if len(self.chars) < width:
            more = width - len(self.chars)
            self.chars.extend([None] * more)
            self.styles.extend([None] * more)


class ShownScreen:
    """The record of one terminal's cells, and the writer of updates against it."""

    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.width = 0
        #: Cursor and SGR state while an update is written (None: not known).
        self._cursor: tuple[int, int] | None = None
        self._style = ""

    def _line(self, y: int, width: int) -> Line:
        while len(self.lines) <= y:
            self.lines.append(Line(self.width))
        line = self.lines[y]
        line.widen(width)
        return line

    def record_full(self, y0: int, x0: int, width: int, rows: Sequence[Iterable[Strip]], ansi_of) -> None:
        """A full repaint was written: `rows` (each a sequence of strips, left to right) from (x0, y0)."""
        self.width = x0 + width
        self.lines = self.lines[:y0]
        for y, strips in enumerate(rows, y0):
            line = self._line(y, self.width)
            chars, styles = _cells(strips, width, ansi_of)
            if chars is None:
                line.chars[x0:x0 + width] = [None] * width
                line.styles[x0:x0 + width] = [None] * width
            else:
                line.chars[x0:x0 + width] = chars
                line.styles[x0:x0 + width] = styles

    def write(self, spans: Iterable[tuple[int, int, int, list[tuple[int, int, Strip]]]], ansi_of, whole) -> str:
        """Terminal sequences for `spans`: (y, x1, x2, chops), each chop (x, end, strip) being a
        widget's strip covering [x, end) of line y. `ansi_of(style)` gives a style's SGR parameters;
        `whole(y, chops)` renders chops from their left edges as Textual does (for lines not diffed)."""
        out: list[str] = []
        self._cursor, self._style = None, ""
        for y, x1, x2, chops in spans:
            width = x2 - x1
            line = self._line(y, x2)
            chars, styles = _span_cells(chops, x1, x2, ansi_of)
            if chars is None:  # wide or zero-width characters: written whole, not diffed
                out.append(self._set_style(""))
                out.append(whole(y, chops))
                self._cursor, self._style = None, ""
                for x, end, _strip in chops:
                    line.widen(end)
                    line.chars[x:end] = [None] * (end - x)
                    line.styles[x:end] = [None] * (end - x)
                continue
            old_chars, old_styles = line.chars, line.styles
            changed = [i for i in range(width) if chars[i] is not None
                       and (chars[i] != old_chars[x1 + i] or styles[i] != old_styles[x1 + i])]
            for start, stop in _runs(changed, chars):
                self._move(out, x1 + start, y)
                style = None
                for i in range(start, stop):
                    if styles[i] != style:
                        style = styles[i]
                        out.append(self._set_style(style))  # type: ignore[arg-type]
                    out.append(chars[i])  # type: ignore[arg-type]
                    old_chars[x1 + i], old_styles[x1 + i] = chars[i], styles[i]
                self._cursor = (x1 + stop, y)  # (past the last column: only absolute moves follow)
        out.append(self._set_style(""))
        return "".join(out)

    def _set_style(self, style: str) -> str:
        if style == self._style:
            return ""
        sequence = transition(self._style, style)
        self._style = style
        return sequence

    def _move(self, out: list[str], x: int, y: int) -> None:
        cursor = self._cursor
        if cursor == (x, y):
            return
        if cursor is not None and cursor[1] == y:
            step = x - cursor[0]
            out.append(("\x1b[C" if step == 1 else f"\x1b[{step}C") if step > 0 else f"\x1b[{x + 1}G")
        else:
            out.append(f"\x1b[{y + 1};{x + 1}H" if x else f"\x1b[{y + 1}H")
        self._cursor = (x, y)


def _runs(changed: list[int], chars: list[str | None]) -> list[tuple[int, int]]:
    """Changed cell indexes as [start, stop) runs, joined across gaps of at most GAP known cells."""
    runs: list[tuple[int, int]] = []
    for index in changed:
        if runs and index - runs[-1][1] <= GAP and None not in chars[runs[-1][1]:index]:
            runs[-1] = (runs[-1][0], index + 1)
        else:
            runs.append((index, index + 1))
    return runs


def _span_cells(chops: list[tuple[int, int, Strip]], x1: int, x2: int, ansi_of):
    """Characters and styles of the cells [x1, x2) of a line (None where no chop covers a cell),
    or (None, None) when a chop holds a character that is not one cell wide, a control segment or a
    style that `ansi_of` cannot give as SGR parameters alone (None)."""
    width = x2 - x1
    chars: list[str | None] = [None] * width
    styles: list[str | None] = [None] * width
    for x, end, strip in chops:
        if not _single_cells("".join([segment.text for segment in strip])):
            return None, None  # (checked uncut: a cut through a wide character leaves a space)
        start, stop = max(x, x1), min(end, x2)
        if (start, stop) != (x, end):
            strip = strip.crop(start - x, stop - x)
        at = start - x1
        for text, style, control in strip:
            size = len(text)
            ansi = ansi_of(style)
            if control is not None or ansi is None or at + size > width:  # ansi None: a link
                return None, None
            chars[at:at + size] = text
            styles[at:at + size] = [ansi] * size
            at += size
    return chars, styles


def _cells(strips: Iterable[Strip], width: int, ansi_of):
    """A whole line's characters and styles, or (None, None) as `_span_cells` says."""
    chops, x = [], 0
    for strip in strips:
        chops.append((x, x + strip.cell_length, strip))
        x += strip.cell_length
    return _span_cells(chops, 0, width, ansi_of)


def _single_cells(text: str) -> bool:
    """Every character of `text` takes one cell (a set lookup for the usual ones)."""
    return text.isascii() or _usual_single_cells().issuperset(text) or all(
        get_character_cell_size(character) == 1 for character in text)


@lru_cache(maxsize=1)
def _usual_single_cells() -> frozenset[str]:
    """One-cell characters up to the end of the symbol blocks (Latin, Greek, punctuation, arrows,
    box drawing, blocks, shapes), worked out once."""
    return frozenset(character for character in map(chr, range(0xA0, 0x2800))
                     if get_character_cell_size(character) == 1)


@lru_cache(maxsize=4096)
def _parts(ansi: str) -> tuple[frozenset[str], str, str]:
    """SGR parameters split into (attributes, foreground, background)."""
    codes = ansi.split(";") if ansi else []
    attributes: set[str] = set()
    foreground = background = ""
    index = 0
    while index < len(codes):
        code = codes[index]
        if code in ("38", "48", "58") and index + 1 < len(codes):
            length = 3 if codes[index + 1] == "5" else 5
            colour = ";".join(codes[index:index + length])
            index += length
            if code == "38":
                foreground = colour
            elif code == "48":
                background = colour
            else:
                attributes.add(colour)
            continue
        number = int(code) if code.isdigit() else -1
        if 30 <= number <= 39 or 90 <= number <= 97:
            foreground = code
        elif 40 <= number <= 49 or 100 <= number <= 107:
            background = code
        else:
            attributes.add(code)
        index += 1
    return frozenset(attributes), foreground, background


@lru_cache(maxsize=4096)
def transition(old: str, new: str) -> str:
    """The SGR sequence that changes the terminal's style from `old` to `new` (SGR parameters as
    Rich renders them): only the colours that differ while the attributes stay, else a reset and
    the whole new style in one sequence."""
    if old == new:
        return ""
    if not new:
        return RESET
    old_attributes, old_fg, old_bg = _parts(old)
    attributes, fg, bg = _parts(new)
    if old_attributes <= attributes:
        codes = sorted(attributes - old_attributes)
        if fg != old_fg:
            codes.append(fg or "39")
        if bg != old_bg:
            codes.append(bg or "49")
        return f"\x1b[{';'.join(codes)}m"
    return f"\x1b[0;{new}m"
