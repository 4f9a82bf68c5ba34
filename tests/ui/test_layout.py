"""The dashboard at the sizes people use over SSH: every panel shows rows, the panels fill the screen
without overlapping, the tick board takes the rows it needs and the positions the rest, `z`
maximises the focused panel and back, the `layout` setting arranges the panels, and resizing keeps
each panel's cursor on its record and in view."""

from __future__ import annotations

import pytest

from ibmon.app import IbmonApp

from book import book_app, filled, panel_lines, rows_shown
from ui_support import screen_text, until

SIZES = [(80, 24), (160, 48)]


def tables(app: IbmonApp):
    dash = app.dashboard
    return (dash.accounts, dash.ticks, dash.positions, dash.leads)


def assert_panels_tile_the_screen(app: IbmonApp) -> None:
    """The panels, the status line and the keys cover the screen, none over another."""
    width, height = app.size
    dash = app.dashboard
    regions = [t.region for t in tables(app)] + [dash.health.region, dash.keys.region]
    for index, region in enumerate(regions):
        assert region.x >= 0 and region.y >= 0 and region.right <= width and region.bottom <= height, region
        for other in regions[index + 1:]:
            assert not region.overlaps(other), (region, other)
    assert sum(r.area for r in regions) == width * height


async def focus(pilot, app: IbmonApp, table) -> None:
    while app.focused is not table:
        await pilot.press("tab")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_every_panel_shows_rows_and_the_panels_tile_the_screen(size):
    app = book_app()
    async with app.run_test(size=size) as pilot:
        await filled(pilot, app)
        assert_panels_tile_the_screen(app)
        for table in tables(app):
            shown = rows_shown(app, table)
            assert 2 <= shown <= table.region.height - 3, f"{table.id}: {shown} rows\n{screen_text(app)}"
        assert "? Help" in screen_text(app).split("\n")[-1]


async def test_at_160x48_the_tick_board_and_funnel_show_every_row_and_positions_take_the_rest():
    app = book_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await filled(pilot, app)
        dash = app.dashboard
        assert dash.has_class("-stacked")  # 160 columns hold one of the two tables, not both
        assert rows_shown(app, dash.ticks) == 12 and rows_shown(app, dash.leads) == 3
        assert rows_shown(app, dash.accounts) == 6
        assert rows_shown(app, dash.positions) >= 12
        assert dash.positions.region.bottom == dash.leads.region.y  # positions fill what is left


async def test_at_80x24_positions_get_more_rows_than_the_other_panels():
    app = book_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await filled(pilot, app)
        dash = app.dashboard
        assert dash.health.compact and dash.health.region.height == 1
        counts = {t.id: rows_shown(app, t) for t in tables(app)}
        assert counts["positions"] == max(counts.values()), counts


async def test_panels_follow_their_row_counts():
    app = book_app(positions=30, ticks=3)
    async with app.run_test(size=(160, 48)) as pilot:
        await filled(pilot, app, ticks=3)
        dash = app.dashboard
        assert rows_shown(app, dash.ticks) == 3 and dash.ticks.region.height == 3 + 3
        before = dash.positions.region.height
        for n in range(3, 9):  # more symbols quoted: the tick board grows, the positions give way
            app.store.set_tick("Static", type(app.store.ticks["Static"]["TK00"])(
                f"TK{n:02}", app.store.ticks["Static"]["TK00"].bid, app.store.ticks["Static"]["TK00"].ask,
                app.store.ticks["Static"]["TK00"].time))
        await until(pilot, lambda: rows_shown(app, dash.ticks) == 9)
        assert dash.positions.region.height == before - 6
        assert_panels_tile_the_screen(app)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_z_maximises_the_focused_panel_and_escape_or_z_brings_every_panel_back(size):
    app = book_app()
    async with app.run_test(size=size) as pilot:
        await filled(pilot, app)
        dash = app.dashboard
        before = [t.region for t in tables(app)]
        await focus(pilot, app, dash.positions)
        key = dash.positions.cursor_key
        await pilot.press("z")
        await until(pilot, lambda: dash.maximized is dash.positions)
        await pilot.pause(0.05)
        text = screen_text(app)
        assert "Balances" not in text and "Ticks" not in text and "Lead funnel" not in text
        bottom = dash.health.region.height + dash.keys.region.height
        assert dash.positions.region.height == size[1] - bottom  # everything above the status line
        assert rows_shown(app, dash.positions) == min(30, size[1] - bottom - 3)
        assert "z Zoom" in text.split("\n")[-1] and dash.health.region.bottom <= size[1]
        assert dash.positions.cursor_key == key
        await pilot.press("escape")
        await until(pilot, lambda: dash.maximized is None)
        await pilot.pause(0.05)
        assert [t.region for t in tables(app)] == before
        await pilot.press("z")
        await until(pilot, lambda: dash.maximized is dash.positions)
        await pilot.press("z")
        await until(pilot, lambda: dash.maximized is None)
        await pilot.pause(0.05)
        assert [t.region for t in tables(app)] == before and app.screen is dash


async def test_the_layout_setting_arranges_the_tick_board_and_positions():
    app = book_app(panel_layout="side-by-side")
    async with app.run_test(size=(120, 36)) as pilot:
        await filled(pilot, app)
        dash = app.dashboard
        ticks, positions = dash.ticks.region, dash.positions.region
        assert ticks.y == positions.y and ticks.right <= positions.x and not dash.has_class("-stacked")
        assert rows_shown(app, dash.ticks) >= 2 and rows_shown(app, dash.positions) >= 2
        assert_panels_tile_the_screen(app)
    app = book_app(panel_layout="stacked")
    async with app.run_test(size=(240, 60)) as pilot:
        await filled(pilot, app)
        dash = app.dashboard
        assert dash.has_class("-stacked") and dash.ticks.region.bottom <= dash.positions.region.y
        app.use_layout("auto")  # the palette's "Layout: auto": 240 columns hold both side by side
        await until(pilot, lambda: not dash.has_class("-stacked"))
        await pilot.pause(0.05)
        assert dash.ticks.region.y == dash.positions.region.y
        assert_panels_tile_the_screen(app)


async def test_resizing_keeps_every_cursor_on_its_record_and_in_view():
    app = book_app(accounts=20, positions=60, ticks=20)
    async with app.run_test(size=(160, 48)) as pilot:
        await filled(pilot, app, accounts=20, positions=60, ticks=20)
        dash = app.dashboard
        await focus(pilot, app, dash.positions)
        await pilot.press(*["down"] * 40)
        await focus(pilot, app, dash.ticks)
        await pilot.press(*["down"] * 15)
        chosen = {t.id: t.cursor_key for t in tables(app)}
        assert chosen["positions"] == dash.positions.keys()[40] and chosen["ticks"] == dash.ticks.keys()[15]
        position = app.store.positions["Static"][chosen["positions"][1:]]
        symbol = chosen["ticks"][1]

        def cursors_shown() -> bool:
            """Each moved cursor's record is on screen, in its panel."""
            return (position.symbol in "".join(panel_lines(app, dash.positions))
                    and symbol in "".join(panel_lines(app, dash.ticks)))

        for size in [(80, 24), (160, 48), (100, 30), (80, 24)]:
            await pilot.resize_terminal(*size)
            await until(pilot, lambda: app.size == size and dash.size.height == size[1])
            await until(pilot, cursors_shown)
            assert {t.id: t.cursor_key for t in tables(app)} == chosen, size
            assert_panels_tile_the_screen(app)


async def test_after_a_resize_the_screen_is_what_a_fresh_start_at_that_size_draws():
    resized = book_app()
    async with resized.run_test(size=(160, 48)) as pilot:
        await filled(pilot, resized)
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: resized.dashboard.size.height == 24)
        await pilot.pause(0.2)
        after_resize = screen_text(resized)
    fresh = book_app()
    async with fresh.run_test(size=(80, 24)) as pilot:
        await filled(pilot, fresh)
        await pilot.pause(0.2)
        assert screen_text(fresh) == after_resize
