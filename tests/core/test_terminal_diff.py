"""Partial updates written against the record of what the terminal shows (ibmon.terminal_diff via
textual_seams.write_changed_cells): a terminal fed only those bytes shows what a full repaint shows,
cell for cell (text, colours, attributes), through random changes of text, colour and width, and an
update that changes nothing on screen writes no character."""

from __future__ import annotations

import random
import re

import pyte
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from ibmon.terminal_diff import transition
from ibmon.textual_seams import write_changed_cells

WIDTH, HEIGHT = 40, 6
STYLES = [Style(color="#ff0000", bgcolor="#000010"), Style(color="#00ff00", bgcolor="#000010"),
          Style(color="#00ff00", bgcolor="#202020", bold=True), Style(reverse=True), Style()]
CHARACTERS = "ab1.,▲▼·▁█ "
WIDE = "字"  # takes two cells: a line that holds one is written whole


class Cells(Widget):
    """Lines of (character, style) cells; a wide character takes its cell and the next."""

    def __init__(self) -> None:
        super().__init__()
        self.cells = [[("x", STYLES[0])] * WIDTH for _ in range(HEIGHT)]

    def render_line(self, y: int) -> Strip:
        segments, x, line = [], 0, self.cells[y]
        while x < WIDTH:
            character, style = line[x]
            if character == WIDE and x + 1 == WIDTH:
                character = " "
            segments.append(Segment(character, style))
            x += 2 if character == WIDE else 1
        return Strip(segments, WIDTH).simplify()


class Board(App):
    def compose(self) -> ComposeResult:
        yield Cells()


def terminal() -> tuple[pyte.Screen, pyte.ByteStream]:
    screen = pyte.Screen(WIDTH, HEIGHT)
    return screen, pyte.ByteStream(screen)


def looks(screen: pyte.Screen) -> list[list[tuple]]:
    return [[(c.data, c.fg, c.bg, c.bold, c.reverse) for c in (screen.buffer[y][x] for x in range(WIDTH))]
            for y in range(HEIGHT)]


def console() -> Console:
    return Console(width=WIDTH, color_system="256", force_terminal=True)


async def test_a_terminal_fed_only_the_changed_cells_shows_what_a_full_repaint_shows():
    write_changed_cells()
    rng = random.Random(17)
    app = Board()
    async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
        await pilot.pause()
        widget = app.query_one(Cells)
        compositor = app.screen._compositor
        ours, reference = console(), console()
        shown, stream = terminal()
        stream.feed(compositor.render_full_update().render_segments(ours).encode())
        written = 0
        for step in range(300):
            changes = []
            for _ in range(rng.randint(1, 6)):
                y, x = rng.randrange(HEIGHT), rng.randrange(WIDTH)
                character = WIDE if rng.random() < 0.02 else rng.choice(CHARACTERS)
                widget.cells[y][x] = (character, rng.choice(STYLES))
                changes.append((y, x))
            for y, x in changes:  # the cell and its neighbours (a wide character's other half), or more
                x1, x2 = max(0, x - 1 - rng.randint(0, 8)), min(WIDTH, x + 2 + rng.randint(0, 8))
                widget.refresh(Region(x1, y, x2 - x1, 1))
            compositor.update_widgets({widget})
            update = compositor.render_partial_update()
            if update is None:
                continue
            data = update.render_segments(ours).encode()
            written += len(data)
            stream.feed(data)
            expected, expected_stream = terminal()
            expected_stream.feed(compositor.render_full_update().render_segments(reference).encode())
            assert looks(shown) == looks(expected), f"step {step}"
        assert written


async def test_an_update_that_changes_nothing_on_screen_writes_no_character():
    write_changed_cells()
    app = Board()
    async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
        await pilot.pause()
        widget = app.query_one(Cells)
        compositor = app.screen._compositor
        ours = console()
        compositor.render_full_update().render_segments(ours)
        widget.refresh()  # the whole widget, all of it as it was
        compositor.update_widgets({widget})
        update = compositor.render_partial_update()
        assert update is not None
        assert update.render_segments(ours) == ""
        widget.cells[2][30] = ("b", STYLES[0])
        widget.refresh()
        compositor.update_widgets({widget})
        text = compositor.render_partial_update().render_segments(ours)
        assert text.startswith("\x1b[3;31H")
        assert re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text) == "b"


def test_a_colour_change_sends_only_the_colour_that_changed():
    red_on_blue, green_on_blue = "38;5;196;48;5;17", "38;5;46;48;5;17"
    assert transition(red_on_blue, green_on_blue) == "\x1b[38;5;46m"
    assert transition("", "1;38;5;46") == "\x1b[1;38;5;46m"
    assert transition("1;38;5;46", "38;5;46") == "\x1b[0;38;5;46m"  # bold off: reset, then the style
    assert transition(green_on_blue, "38;5;46") == "\x1b[49m"
    assert transition("7", "") == "\x1b[0m"
