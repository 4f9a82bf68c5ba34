"""The tables' lines made by ibmon.textual_seams.ContentLinesCache are the lines Textual's own
StylesCache makes, in every state a table is seen in: bordered with a title as on the dashboard or
bare, focused or not, scrolled, filtered, narrowed, under several themes and two line filters,
padded all round, or styled in ways the fast path leaves to Textual (tint)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from textual._styles_cache import StylesCache
from textual.app import App, ComposeResult
from textual.geometry import Region

from ibmon.widgets.live_table import LiveTable
from test_table_view import Item, make_table, put


class TableApp(App):
    CSS = """
    LiveTable.panel { border: round $secondary; border-title-color: $text-accent; }
    LiveTable.panel:focus { border: round $primary; }
    LiveTable.odd { tint: blue 20%; padding: 1 2; }
    LiveTable.roomy { padding: 1 3; }
    LiveTable.filtered > .live-table--header { text-style: dim; }
    LiveTable.filtered > .live-table--cursor { background: ansi_red; color: ansi_bright_white; }
    """

    def compose(self) -> ComposeResult:
        yield make_table()


def textuals_lines(table: LiveTable, crop: Region):
    return StylesCache().render_widget(table, crop)  # a fresh cache: every line made by Textual


def assert_same_lines(table: LiveTable) -> None:
    whole = Region(0, 0, *table.region.size)  # as the compositor asks: border and padding too
    for crop in (whole, Region(3, 1, whole.width - 7, whole.height - 2), Region(0, whole.height - 2, 5, 2)):
        ours = table.render_lines(crop)
        assert [strip.text for strip in ours] == [strip.text for strip in textuals_lines(table, crop)]
        assert ours == textuals_lines(table, crop)  # the same segments: texts and styles


@pytest.mark.parametrize("theme, no_color", [("textual-dark", False), ("textual-light", False), ("nord", True)])
@pytest.mark.parametrize("panel", [True, False])
async def test_the_lines_are_textuals_lines_in_every_state_a_table_is_seen_in(theme, no_color, panel, monkeypatch):
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")  # a second line filter
    app = TableApp()
    app.theme = theme
    async with app.run_test(size=(60, 16)) as pilot:
        table = app.query_one(LiveTable)
        if panel:
            table.add_class("panel")
            table.border_title = "Balances"
        await pilot.pause()
        assert_same_lines(table)  # empty: the waiting text
        with table.batch():
            for n in range(40):
                put(table, Item(f"item-{n:02d}", Decimal(n) / 7, "USD" if n % 3 else "JPY"), note="n" * (n % 5))
        await pilot.pause()
        assert_same_lines(table)  # rows, cursor (not focused) and totals
        assert table._styles_cache._edges is not None  # made the fast way
        table.focus()
        await pilot.press("down", "down", "pagedown")
        assert_same_lines(table)  # focused (another border colour), cursor, scrolled down
        put(table, Item("item-03", Decimal("-12345.678"), "USD"))  # a changed row: its strip made anew
        await pilot.pause()
        assert_same_lines(table)
        await pilot.press("slash", "i", "t", "e", "m", "-", "1")
        assert_same_lines(table)  # the filter line
        await pilot.press("enter", "o")
        await pilot.resize_terminal(34, 12)  # narrow: columns cut, scrolled sideways
        await pilot.pause()
        table.scroll_to(x=5, animate=False)
        await pilot.pause()
        assert_same_lines(table)
        table.add_class("filtered")  # styles the ANSI filter changes: dim text, ANSI colours
        await pilot.pause()
        assert_same_lines(table)
        await pilot.press("down", "down")  # the cursor's style made again on other lines
        assert_same_lines(table)
        assert any(line_filter.__class__.__name__ == "ANSIToTruecolor" for line_filter in table.get_line_filters())
        table.remove_class("filtered")
        await pilot.pause()
        assert_same_lines(table)
        table.add_class("roomy")  # padding lines above and below: Textual's, the rows between ours
        await pilot.pause()
        assert_same_lines(table)
        assert table._styles_cache._edges is not None
        table.remove_class("roomy")
        table.add_class("odd")  # styles only Textual's way draws
        await pilot.pause()
        assert_same_lines(table)
        assert table._styles_cache._edges is None
        table.remove_class("odd")
        await pilot.pause()
        assert_same_lines(table)


async def test_the_dashboard_panels_show_their_borders_titles_and_rows():
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(LiveTable)
        table.add_class("panel")
        table.border_title = "Balances"
        put(table, Item("alpha", Decimal("12.5")))
        await pilot.pause()
        shown = [strip.text for strip in app.screen._compositor.render_strips()]
        assert shown[0].startswith("╭") and "Balances" in shown[0]
        row = next(line for line in shown if " alpha " in line)
        assert row.startswith("│ alpha ") and row.rstrip().endswith("│") and "12.50" in row
