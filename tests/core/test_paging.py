"""The bounded walk on its own: caps, repeats, duplicates, and what is kept when it stops."""

from __future__ import annotations

import pytest

from ibmon.paging import Walk, WalkLimits


def numbered(size: int = 10, last: int | None = None, *, same_cursor: bool = False):
    """fetch(cursor) of a list of pages of `size` numbers; page n's cursor is n (None: the first)."""
    calls = []

    async def fetch(cursor):
        page = 0 if cursor is None else cursor
        calls.append(page)
        items = list(range(page * size, (page + 1) * size))
        following = None if last is not None and page >= last else (1 if same_cursor else page + 1)
        return items, following

    return fetch, calls


async def test_a_finite_walk_reads_every_page_and_leaves_no_note():
    fetch, calls = numbered(last=3)
    walk = Walk("numbers", fetch)
    assert await walk.collect() == list(range(40))
    assert calls == [0, 1, 2, 3] and walk.note is None and walk.pages == 4


@pytest.mark.parametrize("limits, pages, note", [
    (WalkLimits(max_pages=3), 3, "numbers stopped after 3 pages (max_pages), 30 records read"),
    (WalkLimits(max_records=15), 2, "numbers stopped at 20 records (max_records), after 2 pages"),
    (WalkLimits(max_pages=1), 1, "numbers stopped after 1 page (max_pages), 10 records read"),
])
async def test_an_endless_walk_stops_at_its_cap_and_keeps_what_it_read(limits, pages, note):
    fetch, calls = numbered()
    walk = Walk("numbers", fetch, limits)
    items = await walk.collect()
    assert items == list(range(pages * 10)) and len(calls) == pages
    assert walk.note == items.note == note and items.notes == (note,)


async def test_a_repeated_cursor_ends_the_walk():
    fetch, calls = numbered(same_cursor=True)
    walk = Walk("numbers", fetch)
    assert len(await walk.collect()) == 20 and calls == [0, 1]
    assert walk.note == "numbers stopped after 2 pages: the server repeated a cursor"


async def test_a_repeated_page_is_not_delivered_twice():
    async def fetch(cursor):
        return ["a", "b"], (cursor or 0) + 1

    walk = Walk("letters", fetch)
    assert await walk.collect() == ["a", "b"]
    assert walk.note == "letters stopped after 1 page: the server sent a page again"


async def test_with_a_key_records_seen_before_are_dropped_and_a_page_of_them_ends_the_walk():
    pages = [[{"id": 1}, {"id": 2}], [{"id": 2}, {"id": 3}], [{"id": 3}, {"id": 1}]]

    async def fetch(cursor):
        number = cursor or 0
        return pages[number], number + 1

    walk = Walk("records", fetch, key=lambda record: record["id"])
    assert [r["id"] for r in await walk.collect()] == [1, 2, 3]
    assert walk.note == "records stopped after 2 pages: the server sent a page again"


async def test_pages_are_fetched_only_as_they_are_read():
    fetch, calls = numbered()
    walk = Walk("numbers", fetch)
    assert await anext(walk) == list(range(10))
    await walk.aclose()
    assert calls == [0]


def test_limits_come_from_the_options_with_the_declared_defaults():
    assert WalkLimits.from_options({"max_pages": 7}) == WalkLimits(7, WalkLimits().max_records)
    assert WalkLimits.from_options({}) == WalkLimits()
