"""How the dashboard shares its lines (ibmon.layout.share_lines), on its own."""

from __future__ import annotations

from hypothesis import given, strategies as st

from ibmon.layout import Want, share_lines

CHROME = 3  # a panel's border and column header


def panels(accounts: int, ticks: int, positions: int, leads: int) -> list[Want]:
    return [Want(accounts, CHROME), Want(ticks, CHROME, 2), Want(positions, CHROME, 2), Want(leads, CHROME)]


def test_at_80x24_every_panel_gets_rows_and_positions_the_most():
    heights = share_lines(22, panels(30, 12, 27, 3), fill=2)
    rows = [h - CHROME for h in heights]
    assert sum(heights) == 22 and min(rows) >= 2 and rows[2] == max(rows)


def test_small_panels_take_what_they_need_and_positions_the_rest():
    heights = share_lines(46, panels(6, 12, 30, 3), fill=2)
    assert [h - CHROME for h in heights] == [6, 12, 13, 3]


def test_lines_nobody_needs_go_to_the_fill_panel():
    heights = share_lines(40, panels(1, 2, 1, 1), fill=2)
    assert heights == [4, 5, 40 - 4 - 5 - 4, 4]


def test_too_few_lines_still_give_every_panel_one_row_before_any_gets_two():
    heights = share_lines(17, panels(9, 9, 9, 9), fill=2)
    assert [h - CHROME for h in heights] == [1, 2, 1, 1]


@given(st.integers(0, 300), st.lists(st.tuples(st.integers(0, 500), st.integers(0, 5), st.integers(1, 3)),
                                     min_size=1, max_size=5), st.data())
def test_heights_add_up_and_no_panel_loses_its_chrome(available, claims, data):
    wants = [Want(rows, chrome, weight) for rows, chrome, weight in claims]
    fill = data.draw(st.integers(0, len(wants) - 1))
    heights = share_lines(available, wants, fill=fill)
    assert all(h >= w.chrome + 1 for h, w in zip(heights, wants))  # one row at least, always
    if available >= sum(w.chrome + 1 for w in wants):
        assert sum(heights) == available
    for index, (height, want) in enumerate(zip(heights, wants)):
        if index != fill:
            assert height - want.chrome <= max(1, want.rows)  # only the fill panel gets spare lines
