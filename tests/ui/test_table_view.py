"""LiveTable as a user meets it, at 80x24 and 160x48: the cursor stays on its record, `/` filters as
you type, `o`/`O` and header clicks sort, columns fit their content (decimal points lined up, text
cut only when the screen is too narrow), total lines follow the rows shown."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter

import pytest
from textual.app import App, ComposeResult

from ibmon.widgets.format import MISSING, money
from ibmon.widgets.live_table import MIN_STRIPS, STRIP_SCREENS, TEXTS_KEPT, Column, LiveTable
from ibmon.widgets.totals import Summed, Totals

SIZES = [(80, 24), (160, 48)]


@dataclass(frozen=True)
class Item:
    name: str
    amount: Decimal | None
    currency: str | None = "USD"


COLUMNS = (Column("Name", 8), Column("Amount", 6, "decimal", value=attrgetter("amount")), Column("Ccy", 3),
           Column("Note", 4, drop=1))


def make_table() -> LiveTable:
    totals = Totals([Summed(1, "amount", signed=True)], currency=attrgetter("currency"), label_column=0,
                    currency_column=2, noun=("item", "items"))
    return LiveTable(COLUMNS, totals=totals)


class TableApp(App):
    def compose(self) -> ComposeResult:
        yield make_table()


def put(table: LiveTable, item: Item, note: str = "") -> None:
    table.set_row(item.name, [item.name, money(item.amount, item.currency), item.currency or MISSING, note],
                  record=item)


def lines(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def row_line(app, name: str) -> str:
    return next(line for line in lines(app) if line.startswith(f" {name} "))


async def started(app, pilot, items) -> LiveTable:
    table = app.query_one(LiveTable)
    table.focus()
    with table.batch():
        for item in items:
            put(table, item)
    await pilot.pause()
    return table


@pytest.mark.parametrize("size", SIZES)
async def test_the_cursor_stays_on_its_record_through_inserts_removals_and_resorts(size):
    app = TableApp()
    async with app.run_test(size=size) as pilot:
        table = await started(app, pilot, [Item(n, Decimal(1)) for n in ("c", "e", "a")])
        assert table.keys() == ["a", "c", "e"] and table.cursor_key == "a"
        put(table, Item("0", Decimal(1)))  # a row above: the cursor stays on its record
        assert table.keys()[0] == "0" and table.cursor_key == "a"
        await pilot.press("down")
        assert table.cursor_key == "c"
        put(table, Item("b", Decimal(2)))
        assert table.keys() == ["0", "a", "b", "c", "e"] and table.cursor_key == "c"
        table.set_row("c", ["c", "3.00", "USD", ""], sort_key="z", record=Item("c", Decimal(3)))  # re-sorted
        assert table.keys()[-1] == "c" and table.cursor_key == "c"
        table.remove_row("c")  # its record went: the row now at its place (the last one: e)
        assert table.cursor_key == "e"
        await pilot.press("up")
        assert table.cursor_key == "b"
        table.remove_row("b")
        assert table.cursor_key == "e"  # the neighbour that took its place

        # many rows inserted above push the cursor down: it is scrolled back into view
        await pilot.press("home")
        with table.batch():
            for n in range(200):
                put(table, Item(f"+{n:03d}", Decimal(n)))
        await pilot.pause()
        top, visible = table._visible_rows()
        assert table.cursor_key == "0" and top <= table.index_of("0") < top + visible
        assert row_line(app, "0")  # and drawn


async def test_highlighted_key_is_only_the_row_the_screen_drew_highlighted():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = await started(app, pilot, [Item(n, Decimal(1)) for n in "abc"])
        assert table.highlighted_key == "a"
        table.action_cursor(1)  # moved, not drawn yet: a key press now must not act on "b"
        assert table.cursor_key == "b" and table.highlighted_key is None
        await pilot.pause()
        assert table.highlighted_key == "b"
        table.remove_row("b")
        assert table.cursor_key == "c" and table.highlighted_key is None
        await pilot.pause()
        assert table.highlighted_key == "c"


@pytest.mark.parametrize("size", SIZES)
async def test_columns_fit_their_content_and_decimal_points_line_up(size):
    app = TableApp()
    async with app.run_test(size=size) as pilot:
        items = [Item("short", Decimal("1234.5"), "USD"), Item("yen", Decimal("1500000"), "JPY"),
                 Item("coin", Decimal("0.123456789"), "BTC"), Item("dinar", Decimal("-2.5"), "BHD")]
        table = await started(app, pilot, items)
        rows = {item.name: row_line(app, item.name) for item in items}
        assert "1,234.50" in rows["short"] and "1,500,000" in rows["yen"] and "0.12345679" in rows["coin"]
        points = {rows[name].index(".") for name in ("short", "coin", "dinar")}
        assert len(points) == 1  # one column of decimal points, whatever the minor units
        point = points.pop()
        assert rows["yen"].index("1,500,000") + len("1,500,000") == point  # where its point would be
        assert "…" not in "".join(lines(app))

        put(table, Item("a-name-much-longer-than-its-column-was", Decimal(1)))
        await pilot.pause()
        shown = "".join(lines(app))
        assert "a-name-much-longer-than-its-column-was" in shown  # room on screen: never cut


async def test_a_narrow_screen_cuts_text_then_leaves_columns_out_and_never_cuts_a_number():
    app = TableApp()
    async with app.run_test(size=(30, 12)) as pilot:
        table = await started(app, pilot, [])
        table.set_row("long", ["a-long-account-holder-name", "1,234,567.89", "USD", "a remark"],
                      record=Item("long", Decimal("1234567.89")))
        await pilot.pause()
        line = next(line for line in lines(app) if "1,234,567.89" in line)
        assert "a-long" in line and "…" in line  # the name gave way
        assert table._dropped == [False, False, False, True]  # the note was left out
        assert "a remark" not in "".join(lines(app)) and "Note" not in "".join(lines(app))
        await pilot.resize_terminal(120, 12)
        await pilot.pause()
        line = next(line for line in lines(app) if "1,234,567.89" in line)
        assert "a-long-account-holder-name" in line and "a remark" in line


@pytest.mark.parametrize("size", SIZES)
async def test_slash_filters_as_you_type_and_escape_clears(size):
    app = TableApp()
    async with app.run_test(size=size) as pilot:
        names = ["eurgbp", "eurusd", "gbpusd", "usdjpy", "audusd"]
        table = await started(app, pilot, [Item(n, Decimal(1), None) for n in names])  # text: names only
        table.move_cursor_to("gbpusd")
        await pilot.press("slash", "u", "s", "d")
        assert table.keys() == ["audusd", "eurusd", "gbpusd", "usdjpy"] and table.cursor_key == "gbpusd"
        assert any(line.strip().startswith("/usd▏  4 of 5 rows") for line in lines(app))
        await pilot.press("space", "e")  # every word must match, in any case
        assert table.keys() == ["eurusd"] and table.cursor_key == "eurusd"  # its record hidden: the nearest
        await pilot.press("backspace", "backspace", "J", "P")
        assert table.keys() == ["usdjpy"]
        await pilot.press("backspace", "backspace", "backspace", "backspace", "backspace", "z")
        assert table.keys() == [] and "no row matches the filter" in "".join(lines(app))
        await pilot.press("backspace", "g", "b", "p", "enter")  # enter keeps the filter, keys move again
        assert table.keys() == ["eurgbp", "gbpusd"] and not table.editing_filter
        await pilot.press("down")
        assert table.cursor_key == "gbpusd"
        assert any(line.strip().startswith("/gbp  2 of 5 rows") for line in lines(app))
        await pilot.press("escape")
        assert table.filter_text == "" and table.keys() == sorted(names) and table.cursor_key == "gbpusd"
        assert not any("of 5 rows" in line for line in lines(app))

        await pilot.press("slash", "q")  # typed letters never reach the app's own keys
        assert app.is_running and table.filter_text == "q"
        await pilot.press("escape")
        assert table.filter_text == "" and not table.editing_filter


@pytest.mark.parametrize("size", SIZES)
async def test_o_sorts_by_the_next_column_shift_o_reverses_and_a_header_click_sorts_by_it(size):
    app = TableApp()
    async with app.run_test(size=size) as pilot:
        items = [Item("b", Decimal("2")), Item("a", None), Item("d", Decimal("-1")), Item("c", Decimal("10"))]
        table = await started(app, pilot, items)
        table.move_cursor_to("c")
        await pilot.press("o")
        assert table.sort_column == 0 and table.keys() == ["a", "b", "c", "d"]
        assert " Name ▲ " in lines(app)[0]
        await pilot.press("O")
        assert table.keys() == ["d", "c", "b", "a"] and "Name ▼" in lines(app)[0]
        await pilot.press("o")  # by amount, ascending; a missing amount goes last in either direction
        assert table.sort_column == 1 and table.keys() == ["d", "b", "c", "a"]
        await pilot.press("O")
        assert table.keys() == ["c", "b", "d", "a"] and "Amount ▼" in lines(app)[0]
        assert table.cursor_key == "c"  # the cursor went with its record every time
        put(table, Item("b", Decimal("100")))  # a changed value moves its row
        assert table.keys() == ["b", "c", "d", "a"]

        x = lines(app)[0].index("Name") - 1  # the screen column of the Name header (inside padding)
        await pilot.click(LiveTable, offset=(x + 1, 0))
        assert table.sort_column == 0 and not table.descending and table.keys() == ["a", "b", "c", "d"]
        await pilot.click(LiveTable, offset=(x + 1, 0))  # the same header again: reversed
        assert table.sort_column == 0 and table.descending
        seen = []
        while table.sort_column is not None and len(seen) < len(COLUMNS):
            await pilot.press("o")
            seen.append(table.sort_column)
        assert seen[:2] == [1, 2] and seen[-1] is None  # past the last column: the table's own order again
        assert table.sort_column is None and "▲" not in lines(app)[0] and "▼" not in lines(app)[0]


@pytest.mark.parametrize("size", SIZES)
async def test_totals_add_up_the_rows_shown_per_currency_and_mark_partial_ones(size):
    app = TableApp()
    async with app.run_test(size=size) as pilot:
        table = await started(app, pilot, [
            Item("u1", Decimal("100.10")), Item("u2", Decimal("0.01")), Item("e1", Decimal("7"), "EUR"),
            Item("x1", Decimal("5"), None)])  # no currency: never added to another one
        footer = {line[2]: line for line in table.footer_lines}
        assert set(footer) == {"EUR", "USD"}
        assert footer["USD"][0][0] == "Σ 2 items" and footer["USD"][1][0] == "100.11"
        assert footer["EUR"][1][0] == "7.00"
        screen = "\n".join(lines(app))
        assert "Σ 2 items" in screen and "100.11" in screen

        put(table, Item("u3", None))  # one USD row without the figure: partial, not blank
        await pilot.pause()
        footer = {line[2]: line for line in table.footer_lines}
        assert footer["USD"][0][0] == "Σ 3 items" and footer["USD"][1][0] == "100.11+?"
        assert "100.11+?" in "\n".join(lines(app))

        await pilot.press("slash", "d")  # only the rows shown are added up
        footer = {line[2]: line for line in table.footer_lines}
        assert table.keys() == ["u1", "u2", "u3"] and set(footer) == {"USD"}
        assert footer["USD"][0][0] == "Σ 3 items" and footer["USD"][1][0] == "100.11+?"
        await pilot.press("backspace", "1")
        footer = {line[2]: line for line in table.footer_lines}
        assert table.keys() == ["e1", "u1", "u2", "x1"]  # u2's 0.01 holds a "1"
        assert footer["USD"][0][0] == "Σ 2 items" and footer["USD"][1][0] == "100.11"  # u3 hidden: complete
        assert footer["EUR"][0][0] == "Σ 1 item" and footer["EUR"][1][0] == "7.00"
        await pilot.press("backspace", "u", "2")
        assert table.keys() == ["u2"] and table.footer_lines == []  # one row: nothing to add up
        await pilot.press("escape")
        put(table, Item("u1", Decimal("-200")))  # a change moves the total by that row only
        footer = {line[2]: line for line in table.footer_lines}
        assert footer["USD"][1] == ("-199.99+?", "down")


def in_order(names: list[str], column: int | None, descending: bool, own, value) -> list[str]:
    """`names` in the order a table shows them: by `own` (the table's own order) with no column
    sorted, else by `value` then `own`, rows without a value last in either direction."""
    if column is None:
        return sorted(names, key=own, reverse=descending)
    present = sorted((n for n in names if value(n) is not None), key=lambda n: (value(n), own(n)), reverse=descending)
    missing = sorted((n for n in names if value(n) is None), key=own, reverse=descending)
    return present + missing


async def test_filter_sort_and_totals_stay_right_through_random_changes():
    """Every change is applied incrementally; after each, the table equals a table built from scratch."""
    rng = random.Random(13)
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = await started(app, pilot, [])
        items: dict[str, Item] = {}
        words = ["alpha", "beta", "gamma", "delta", "eps"]
        filter_text, column, descending = "", None, False
        for step in range(400):
            roll = rng.random()
            if roll < 0.5:
                name = f"{rng.choice(words)}{rng.randrange(30)}"
                amount = None if rng.random() < 0.1 else Decimal(rng.randrange(-500, 500)).scaleb(-2)
                items[name] = Item(name, amount, rng.choice(["USD", "EUR", "JPY"]))
                put(table, items[name])
            elif roll < 0.7 and items:
                name = rng.choice(sorted(items))
                del items[name]
                table.remove_row(name)
            elif roll < 0.85:
                filter_text = rng.choice(["", "a", "al", "alp", "e", "ta 1", "gamma", filter_text + "a"])
                table.set_filter(filter_text)
            else:
                column, descending = rng.choice([None, 0, 1]), rng.random() < 0.5
                table.sort_by(column, descending)
            if step % 25 == 0:
                await pilot.pause()
            terms = filter_text.casefold().split()

            def shown(item: Item) -> bool:
                text = "\n".join([item.name, money(item.amount, item.currency), item.currency, ""]).casefold()
                return all(term in text for term in terms)

            visible = [item for item in items.values() if shown(item)]
            expected = in_order([item.name for item in visible], column, descending, own=lambda name: name,
                                value=lambda name: name if column == 0 else items[name].amount)
            assert table.keys() == expected, step
            assert (table.cursor_key in expected) if expected else table.cursor_key is None
            sums: dict[str, list] = {}
            for item in visible:
                total = sums.setdefault(item.currency, [0, Decimal(0), 0])
                total[0] += 1
                if item.amount is None:
                    total[2] += 1
                else:
                    total[1] += item.amount
            totals = table.shown_totals
            assert {c: [g.count, g.sums[0].total, g.sums[0].missing] for c, g in totals.groups.items()} == sums


async def test_sorts_and_filters_stay_right_as_rows_move_in_the_tables_own_order_too():
    """Rows whose own sort key changes, while a column or the reversed own order is shown: every
    change is placed incrementally, and a later sort or filter of every row agrees with it."""
    rng = random.Random(29)
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = await started(app, pilot, [])
        rows: dict[str, tuple[int, Item, str]] = {}  # name: (group, item, note)
        notes = ["", "Straße", "STRASSE", "grün", "Grün", MISSING]
        filter_text, column, descending = "", None, False
        for step in range(500):
            roll = rng.random()
            if roll < 0.55:
                name = f"{rng.choice(['alpha', 'Beta', 'gamma'])}{rng.randrange(25)}"
                amount = None if rng.random() < 0.15 else Decimal(rng.randrange(-50, 50)).scaleb(-1)
                group, item, note = rng.randrange(4), Item(name, amount), rng.choice(notes)
                rows[name] = (group, item, note)
                table.set_row(name, [name, money(item.amount, item.currency), "USD", note], sort_key=(group, name),
                              record=item)
            elif roll < 0.7 and rows:
                name = rng.choice(sorted(rows))
                del rows[name]
                table.remove_row(name)
            elif roll < 0.85:
                filter_text = rng.choice(["", "a", "al", "strasse", "ß", "grü", "GRÜN a", "1", "usd", "Usd gamma",
                                          "usd zz", filter_text + "a"])
                table.set_filter(filter_text)
            else:
                column, descending = rng.choice([None, 0, 1, 3]), rng.random() < 0.5
                table.sort_by(column, descending)
            if step % 50 == 0:
                await pilot.pause()
            terms = filter_text.casefold().split()

            def shown(name: str) -> bool:
                _group, item, note = rows[name]
                text = "\n".join([name, money(item.amount, item.currency), "USD", note]).casefold()
                return all(term in text for term in terms)

            def own(name: str):
                return ((rows[name][0], name), name)

            def value(name: str):
                _group, item, note = rows[name]
                if column == 0:
                    return name.casefold()
                if column == 1:
                    return item.amount
                return None if note.casefold() in ("", MISSING) else note.casefold()

            expected = in_order([name for name in rows if shown(name)], column, descending, own, value)
            assert table.keys() == expected, step
        # every row sorted afresh by the same column gives the order the changes were placed in
        placed = table.keys()
        table.sort_by(None if column is not None else 0)
        table.sort_by(column, descending)
        assert table.keys() == placed


async def test_scrolling_a_large_table_keeps_a_few_screens_of_row_strips_and_redraws_what_it_dropped():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = await started(app, pilot, [Item(f"r{n:04d}", Decimal(n)) for n in range(1000)])
        kept = max(MIN_STRIPS, STRIP_SCREENS * table.scrollable_content_region.height)
        for _ in range(60):  # down past every row, a page at a time
            await pilot.press("pagedown")
        await pilot.pause()
        assert table.selected_record().name == "r0999"
        assert len(table._strips) <= kept
        for _ in range(60):
            await pilot.press("pageup")
        await pilot.pause()
        assert len(table._strips) <= kept
        assert row_line(app, "r0000").split()[:3] == ["r0000", "0.00", "USD"]  # drawn again, right


async def test_rows_share_one_copy_of_each_short_cell_text():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = await started(app, pilot, [Item(f"r{n}", Decimal("1.5")) for n in range(3)])
        long_note = "a note longer than the shared texts " * 2
        put(table, Item("r3", Decimal("1.5")), "".join(["USD", ""]))  # a text made apart from the others
        put(table, Item("r4", Decimal("1.5")), "".join([long_note, ""]))
        put(table, Item("r5", Decimal("1.5")), "".join([long_note, ""]))
        amounts = {id(table.get_cells(f"r{n}")[1]) for n in range(6)}
        assert len(amounts) == 1  # six rows, one "1.50"
        assert table.get_cells("r3")[3] is table.get_cells("r0")[2]
        assert table.get_cells("r4")[3] == table.get_cells("r5")[3]
        assert table.get_cells("r4")[3] is not table.get_cells("r5")[3]  # long texts are each row's own
        with table.batch():
            for n in range(TEXTS_KEPT + 100):  # distinct balances: kept up to a bound, not one each
                put(table, Item(f"x{n}", Decimal(n)))
        assert len(table._kept) == TEXTS_KEPT
