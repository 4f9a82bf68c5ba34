"""The Line-API tables: only changed rows repaint, ticks coalesce per frame, 10k rows stay cheap."""

from __future__ import annotations

import contextvars
import time
from decimal import Decimal

from ibmon.app import IbmonApp
from ibmon.model import Position, Tick
from ibmon.store import Store
from ibmon.widgets.live_table import LiveTable

from ui_support import load_host, make_runtime, screen_text, until


def tick(symbol: str, bid: str) -> Tick:
    return Tick(symbol, Decimal(bid), Decimal(bid) + Decimal("0.0002"), int(time.time() * 1000))


def dashboard_app() -> tuple[IbmonApp, Store]:
    """The app on a runtime with no connections, and the store a test writes to."""
    runtime = make_runtime()
    return IbmonApp(runtime, load_host()), runtime.store


async def settled(pilot, table: LiveTable) -> None:
    """Let the frame and the compositor run, then zero the counters."""
    await pilot.pause(0.1)
    table.rows_repainted = table.rows_rendered = table.frames_painted = table.cells_refreshed = 0


async def test_a_tick_repaints_its_row_only_and_ticks_coalesce_per_frame():
    app, store = dashboard_app()
    async with app.run_test(size=(200, 60)) as pilot:
        dash = app.dashboard
        dash.second_timer.pause()  # ages would repaint idle rows once a second
        board = dash.ticks
        for n in range(20):
            store.set_tick("c", tick(f"SYM{n:02d}", "1.10000"))
        await until(pilot, lambda: board.row_count == 20)
        await settled(pilot, board)

        for bid in ("1.10001", "1.10002", "1.10003", "1.10004", "1.10005"):  # one burst between two frames
            store.set_tick("c", tick("SYM07", bid))
        await until(pilot, lambda: board.rows_repainted > 0)
        await pilot.pause(0.1)
        assert board.get_cells(("c", "SYM07"))[2] == ("1.10005", "up")
        assert (board.rows_repainted, board.rows_rendered, board.frames_painted) == (1, 1, 1)

        frames = dash.frames
        await pilot.pause(0.2)  # nothing changed: frames find nothing and paint nothing
        assert dash.frames == frames and board.rows_repainted == 1

        store.set_tick("c", tick("SYM07", "1.09990"))
        store.set_tick("c", tick("SYM13", "1.10010"))
        await until(pilot, lambda: board.rows_repainted >= 3)
        await pilot.pause(0.1)
        assert board.rows_repainted == 3  # two changed rows, no neighbour
        assert board.get_cells(("c", "SYM07"))[5] == ("▼", "down")


async def test_a_tick_repaints_only_the_cells_that_changed_and_a_moved_row_its_whole_line():
    app, store = dashboard_app()
    async with app.run_test(size=(200, 60)) as pilot:
        dash = app.dashboard
        dash.second_timer.pause()
        board = dash.ticks
        for n in range(20):
            store.set_tick("c", tick(f"SYM{n:02d}", "1.10000"))
        await until(pilot, lambda: board.row_count == 20)
        store.set_tick("c", tick("SYM07", "1.10001"))
        await until(pilot, lambda: board.get_cells(("c", "SYM07"))[2][0] == "1.10001")
        await settled(pilot, board)
        before = board.get_cells(("c", "SYM07"))

        store.set_tick("c", tick("SYM07", "1.10002"))  # same direction: bid, ask and the trend change
        await until(pilot, lambda: board.cells_refreshed > 0)
        await pilot.pause(0.1)
        after = board.get_cells(("c", "SYM07"))
        changed = [i for i, (was, now) in enumerate(zip(before, after)) if was != now]
        assert changed and len(changed) < len(after)
        assert board.cells_refreshed == sum(board.column_widths[i] for i in changed)
        assert "1.10002" in next(line for line in screen_text(app).split("\n") if "SYM07" in line)
        line_width = board.scrollable_content_region.width

        board.sort_by(2)  # sorted by bid: a changed bid moves its row, whose line repaints whole
        await settled(pilot, board)
        store.set_tick("c", tick("SYM03", "1.20000"))
        await until(pilot, lambda: board.cells_refreshed > 0)
        await pilot.pause(0.1)
        assert board.cells_refreshed >= line_width


async def test_a_changed_total_repaints_its_cells_and_the_changed_row_not_the_total_lines():
    app, store = dashboard_app()
    async with app.run_test(size=(200, 60)) as pilot:
        table = app.dashboard.positions
        positions = [Position("A", f"{n:03d}", "EURUSD", "buy", Decimal("1"), profit=Decimal(n), currency="USD")
                     for n in range(5)]
        store.replace_positions("c", positions)
        await until(pilot, lambda: table.row_count == 5 and "10.00" in screen_text(app))
        await settled(pilot, table)
        store.set_position("c", Position("A", "002", "EURUSD", "buy", Decimal("1"), profit=Decimal("2.5"), currency="USD"))
        await until(pilot, lambda: "10.50" in screen_text(app))  # the total of the profit column
        await pilot.pause(0.1)
        profit = [c.label for c in table.columns].index("Profit")
        assert table.cells_refreshed == 2 * table.column_widths[profit]  # the row's cell and the total's


async def test_ten_thousand_positions_update_one_row_at_a_time():
    app, store = dashboard_app()
    async with app.run_test(size=(200, 60)) as pilot:
        table = app.dashboard.positions
        positions = [Position("A", f"{n:05d}", f"S{n % 50}", "buy", Decimal("1"), profit=Decimal(n))
                     for n in range(10_000)]
        store.replace_positions("c", positions)
        await until(pilot, lambda: table.row_count == 10_000)
        await settled(pilot, table)
        top_key = table.keys()[0]
        bottom_key = table.keys()[-1]

        first = store.positions["c"][top_key[1:]]
        store.set_position("c", Position("A", first.id, first.symbol, "buy", Decimal("1"), profit=Decimal("-5")))
        await until(pilot, lambda: table.rows_repainted > 0)
        await pilot.pause(0.1)
        assert (table.rows_repainted, table.rows_rendered) == (1, 1)
        assert table.get_cells(top_key)[8] == ("-5.00", "down")

        last = store.positions["c"][bottom_key[1:]]
        store.set_position("c", Position("A", last.id, last.symbol, "sell", Decimal("2")))
        await until(pilot, lambda: table.get_cells(bottom_key)[3] == ("sell", "down"))
        await pilot.pause(0.1)
        assert (table.rows_repainted, table.rows_rendered) == (1, 1)  # off screen: nothing painted

        store.remove_position("c", "A", last.id)
        await until(pilot, lambda: table.row_count == 9_999)
        assert table.border_subtitle == "9999 open"


async def test_a_change_made_outside_the_apps_context_is_shown():
    app, store = dashboard_app()
    async with app.run_test(size=(200, 60)) as pilot:
        dash = app.dashboard
        dash.second_timer.pause()  # only the frame the change asks for may show it
        store.set_tick("c", tick("SYM", "1.10000"))
        await until(pilot, lambda: dash.ticks.row_count == 1)
        await pilot.pause(0.1)
        # as a callback handed over from another thread runs: in a context the app did not start
        contextvars.Context().run(store.set_tick, "c", tick("SYM", "1.20000"))
        await until(pilot, lambda: dash.ticks.get_cells(("c", "SYM"))[2] == ("1.20000", "up"))
        store.set_tick("c", tick("SYM", "1.30000"))  # and the frames after it still come
        await until(pilot, lambda: dash.ticks.get_cells(("c", "SYM"))[2] == ("1.30000", "up"))
