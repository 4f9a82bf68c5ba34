"""The bounded walks on their own (caps, repeats, duplicates, what is kept when one stops, pages
several at a time) and the changes between two reads of a list."""

from __future__ import annotations

import asyncio

import pytest

from ibmon.mapping import Rejected
from ibmon.paging import Changes, OffsetWalk, Walk, WalkLimits


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


# -- offset paging with a total, several pages at a time -------------------------------------------

class OffsetList:
    """fetch(offset) of a list of `total` numbers served `size` at a time, counting the requests in
    flight; each request waits until `gate` is set (set from the start unless told)."""

    def __init__(self, total: int, size: int = 10, *, stated_total: int | None = None, honour_offset: bool = True):
        self.total, self.size = total, size
        self.stated_total = total if stated_total is None else stated_total
        self.honour_offset = honour_offset
        self.offsets: list[int] = []
        self.in_flight = self.most_in_flight = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def fetch(self, offset: int) -> dict:
        self.offsets.append(offset)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0)  # let the walk start the others it may
            await self.gate.wait()
        finally:
            self.in_flight -= 1
        start = offset if self.honour_offset else 0
        return {"items": list(range(start, min(start + self.size, self.total))), "total": self.stated_total}

    def walk(self, concurrency: int, limits: WalkLimits = WalkLimits()) -> OffsetWalk:
        return OffsetWalk("numbers", self.fetch, limits, page_size=self.size, total=lambda page: page["total"],
                          concurrency=concurrency, records=lambda page: page["items"], key=lambda n: n)


@pytest.mark.parametrize("concurrency", [1, 2, 3, 4])
async def test_pages_are_requested_at_most_concurrency_at_a_time_and_every_one_is_read(concurrency):
    numbers = OffsetList(95)
    walk = numbers.walk(concurrency)
    assert sorted(await walk.collect()) == list(range(95))
    assert sorted(numbers.offsets) == list(range(0, 95, 10)) and walk.note is None
    assert numbers.most_in_flight == concurrency


async def test_the_first_two_pages_are_read_in_turn_then_the_rest_as_they_arrive():
    numbers = OffsetList(60)
    walk = numbers.walk(3)
    first = [await walk.__anext__(), await walk.__anext__()]
    assert [page["items"][0] for page in first] == [0, 10] and numbers.offsets == [0, 10]
    numbers.gate.clear()
    reading = asyncio.ensure_future(walk.__anext__())
    await asyncio.sleep(0.01)
    assert numbers.in_flight == 3 and not reading.done()  # three asked for, none answered yet
    numbers.gate.set()
    rest = [(await reading)["items"][0]] + [page["items"][0] async for page in walk]
    assert sorted(rest) == [20, 30, 40, 50]


async def test_a_server_ignoring_the_offset_costs_two_requests_whatever_the_concurrency():
    numbers = OffsetList(10**12, honour_offset=False)
    walk = numbers.walk(4)
    assert await walk.collect() == list(range(10))
    assert numbers.offsets == [0, 10]
    assert walk.note == "numbers stopped after 1 page: the server sent a page again"


@pytest.mark.parametrize("limits, requests, note", [
    (WalkLimits(max_pages=5), 5, "numbers stopped after 5 pages (max_pages), 50 records read"),
    (WalkLimits(max_records=25), 3, "numbers stopped at 30 records (max_records), after 3 pages"),
])
async def test_a_huge_total_stops_at_the_cap_after_exactly_that_many_requests(limits, requests, note):
    numbers = OffsetList(10**12)
    walk = numbers.walk(3, limits)
    assert sorted(await walk.collect()) == list(range(requests * 10))
    assert len(numbers.offsets) == requests and walk.note == note


async def test_a_page_cut_short_has_the_rest_of_its_stretch_read():
    class Capped(OffsetList):
        async def fetch(self, offset):
            page = await super().fetch(offset)
            if offset == 30:
                page["items"] = page["items"][:4]  # a server cutting one page short
            return page

    numbers = Capped(60)
    assert sorted(await numbers.walk(3).collect()) == list(range(60))
    assert 34 in numbers.offsets


async def test_stopping_the_walk_early_cancels_the_requests_in_flight():
    numbers = OffsetList(100)
    walk = numbers.walk(3)
    await walk.__anext__(), await walk.__anext__()
    numbers.gate.clear()
    reading = asyncio.ensure_future(walk.__anext__())
    await asyncio.sleep(0.01)
    reading.cancel()
    await asyncio.gather(reading, return_exceptions=True)
    await walk.aclose()
    assert numbers.in_flight == 0


# -- changes between two reads of a list -------------------------------------------------------------

def changes() -> Changes:
    def convert(item):
        if item.get("bad"):
            raise ValueError("balance: not a decimal number: 'x'")
        return (item["id"], item["v"])

    return Changes(convert, key=lambda item: item.get("id"))


def read(tracker: Changes, *pages, complete: bool = True) -> tuple[list, bool]:
    tracker.begin()
    out = [record for page in pages for record in tracker.fresh(page)]
    return out, tracker.end(complete)


def test_only_new_and_changed_items_are_handed_on():
    tracker = changes()
    items = [{"id": str(n), "v": n} for n in range(5)]
    assert read(tracker, items[:3], items[3:]) == ([(str(n), n) for n in range(5)], False)
    assert read(tracker, items[:3], items[3:]) == ([], False)  # nothing changed: nothing to do
    items[2] = {"id": "2", "v": 20}
    assert read(tracker, items) == ([("2", 20)], False)
    assert len(tracker) == 5


def test_items_gone_after_a_complete_read_are_dropped_but_not_after_an_incomplete_one():
    tracker = changes()
    items = [{"id": str(n), "v": n} for n in range(4)]
    read(tracker, items)
    assert read(tracker, items[:2], complete=False) == ([], False)
    assert len(tracker) == 4
    assert read(tracker, items[:2]) == ([], True)
    assert tracker.records() == [("0", 0), ("1", 1)]


def test_a_bad_item_becomes_rejected_once_and_counts_again_when_it_is_fixed():
    tracker = changes()
    bad = {"id": "7", "v": 1, "bad": True}
    (rejected,), _ = read(tracker, [bad])
    assert isinstance(rejected, Rejected) and rejected.key == "7" and "balance" in rejected.reason
    assert read(tracker, [bad]) == ([], False)
    assert read(tracker, [{"id": "7", "v": 1}]) == ([("7", 1)], False)


def test_an_item_twice_on_one_page_is_left_to_the_whole_list_until_it_is_listed_once_again():
    tracker = changes()
    item, copy = {"id": "1", "v": 1}, {"id": "1", "v": 2}
    assert read(tracker, [item, copy, {"id": "2", "v": 2}]) == ([("2", 2)], True)
    *records, second = tracker.records()  # the first one counts: it comes before the second
    assert records == [("1", 1), ("2", 2)] and second.key == "1" and "twice" in second.reason
    assert read(tracker, [{"id": "1", "v": 5}, copy])[1] is True  # still twice: the whole list again
    assert ("1", 5) in tracker.records()
    assert read(tracker, [{"id": "1", "v": 5}]) == ([], True)  # listed once: the whole list settles it
    assert not any(isinstance(r, Rejected) for r in tracker.records())
    assert read(tracker, [{"id": "1", "v": 5}]) == ([], False)


def test_an_item_read_again_on_a_later_page_is_skipped():
    tracker = changes()
    assert read(tracker, [{"id": "1", "v": 1}], [{"id": "1", "v": 1}, {"id": "2", "v": 2}])[0] == \
        [("1", 1), ("2", 2)]


def test_items_with_nested_values_or_no_key_are_handled():
    tracker = changes()
    nested = {"id": "1", "v": [1, {"a": 2}]}
    assert read(tracker, [nested])[0] == [("1", [1, {"a": 2}])]
    assert read(tracker, [nested])[0] == []
    (keyless,), _ = read(tracker, [{"v": 3}])
    assert isinstance(keyless, Rejected)


def test_a_page_whose_reply_is_the_same_is_known_without_decoding_while_its_keys_stand():
    tracker = changes()
    first, second = [{"id": str(n), "v": n} for n in range(3)], [{"id": str(n), "v": n} for n in range(3, 5)]
    tracker.begin()
    assert len(tracker.fresh(first, ("p0", "reply A"))) == 3 and len(tracker.fresh(second, ("p3", "reply B"))) == 2
    tracker.end(True)
    tracker.begin()
    assert tracker.unchanged(("p0", "reply A")) == ("0", "1", "2")  # counted as listed: none is gone
    assert tracker.unchanged(("p3", "another reply")) is None  # a different reply is decoded
    assert tracker.fresh(second[:1], ("p3", "reply C")) == [] and tracker.end(True) is True  # "4" is gone
    tracker.begin()
    assert tracker.unchanged(("p0", "reply A")) is None  # what was known is decoded again after a key went
    assert tracker.fresh(first, ("p0", "reply A")) == [] and tracker.unchanged(("p0", "reply A")) is None  # read


def test_a_page_is_known_again_only_when_every_item_of_it_was_taken_in():
    tracker = changes()
    tracker.begin()
    tracker.fresh([{"id": "1", "v": 1}, {"id": "1", "v": 2}], ("twice", "r"))
    tracker.fresh([{"v": 3}], ("keyless", "r"))
    tracker.fresh([{"id": "2", "v": 2}], ("earlier", "r"))
    tracker.fresh([{"id": "2", "v": 2}, {"id": "5", "v": 5}], ("shifted", "r"))  # "2" was read before
    tracker.end(True)
    tracker.begin()
    assert [tracker.unchanged((where, "r")) for where in ("twice", "keyless", "shifted")] == [None, None, None]
    assert tracker.unchanged(("earlier", "r")) == ("2",)
