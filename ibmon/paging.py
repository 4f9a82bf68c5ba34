"""Bounded paging and cursor walks: the one loop every client that walks a list uses.

A client gives a `fetch(cursor)` coroutine that returns one page and the cursor of the next (None:
that was the last; the first call gets None). The walk stops at the last page, at `max_pages` or
`max_records`, or when the server repeats a cursor or a page; when it stops early, `note` says why
in a line for the connection's health line, and what was read so far is still delivered:

    walk = Walk("B2Core account list", fetch, limits)
    accounts = await walk.collect()      # a Walked list; accounts.note is walk.note
    if walk.note:
        notes.append(walk.note)

A `total` of 10^12 or a cursor that never ends costs at most `max_pages` requests and memory for
`max_records` records (plus one page).

Offset paging with a `total` (`OffsetWalk`) fetches pages `concurrency` at a time once the first two
have shown the list's length and that the server honours the offset; pages come in the order they
arrive, so a session can show each one at once. `Changes` tells a session which items of a list it
reads again and again (every account, every poll) are new or changed, so an unchanged poll costs the
store and the screen nothing.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ibmon.mapping import Rejected, map_one
from ibmon.options import MAX_PAGES, MAX_RECORDS

P = TypeVar("P")
T = TypeVar("T")


@dataclass(frozen=True)
class WalkLimits:
    max_pages: int = MAX_PAGES.default
    max_records: int = MAX_RECORDS.default

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "WalkLimits":
        """The limits a connection's options set (the declared defaults where they are absent)."""
        return cls(int(options.get(MAX_PAGES.name) or MAX_PAGES.default),
                   int(options.get(MAX_RECORDS.name) or MAX_RECORDS.default))


class Walked(list):
    """The records a walk collected; `note` says why it stopped early (None: it reached the end)."""

    note: str | None = None

    @property
    def notes(self) -> tuple[str, ...]:
        """The note as `sink.note(*walked.notes)` takes it."""
        return (self.note,) if self.note else ()


class Walk(Generic[P]):
    """An async iterator over the pages of one list, bounded by `limits`.

    `records(page)` gives a page's records (default: the page is the sequence of records). With
    `key`, a page whose records were all seen before counts as a repeated page and `collect()`
    drops records seen before; without it, a page equal to an earlier one is the repeat.
    """

    def __init__(self, what: str, fetch: Callable[[Any], Awaitable[tuple[P, Any]]],
                 limits: WalkLimits = WalkLimits(), *, records: Callable[[P], Sequence[Any]] = lambda page: page,
                 key: Callable[[Any], Hashable] | None = None) -> None:
        self.what = what
        self.limits = limits
        self.pages = 0
        self.records = 0
        #: Why the walk stopped before the last page, for the health line (None: it did not).
        self.note: str | None = None
        self._fetch = fetch
        self._records_of = records
        self._key = key
        self._pages = self._walk()

    def __aiter__(self) -> "Walk[P]":
        return self

    def __anext__(self) -> Awaitable[P]:
        return self._pages.__anext__()

    async def aclose(self) -> None:
        await self._pages.aclose()

    async def collect(self) -> Walked:
        """Every record of every page. With `key`, a record already read on an earlier page is
        dropped (offset paging over a list that shifted while it was walked sends it again); one
        listed twice on the same page is kept, for the sink to report as a duplicate."""
        items = Walked()
        seen: set[Hashable] = set()
        async for page in self:
            records = self._records_of(page)
            if self._key is None:
                items.extend(records)
                continue
            names = [self._key(record) for record in records]
            items.extend(record for record, name in zip(records, names) if name not in seen)
            seen.update(names)
        items.note = self.note
        return items

    async def _walk(self) -> AsyncIterator[P]:
        cursors: set[int] = set()  # hashes only: a cursor may be long
        pages: set[int] = set()
        keys: set[Hashable] = set()
        cursor: Any = None
        while True:
            page, following = await self._fetch(cursor)
            records = self._records_of(page)
            if not self._counted(records, pages, keys):
                return
            yield page
            if following is None or self._capped():
                return
            mark = hash(repr(following))
            if mark in cursors:
                self._stop(f"stopped after {_pages(self.pages)}: the server repeated a cursor")
                return
            cursors.add(mark)
            cursor = following

    def _counted(self, records: Sequence[Any], pages: set[int], keys: set[Hashable]) -> bool:
        """Count a page's records in; False (noting it) when the server sent the page again."""
        if self._repeats(records, pages, keys):
            self._stop(f"stopped after {_pages(self.pages)}: the server sent a page again")
            return False
        self.pages += 1
        self.records += len(records)
        return True

    def _capped(self) -> bool:
        """Whether a bound stops the walk here (noting which), with more pages to read."""
        if self.records >= self.limits.max_records:
            self._stop(f"stopped at {self.records:,} records (max_records), after {_pages(self.pages)}")
            return True
        if self.pages >= self.limits.max_pages:
            self._stop(f"stopped after {_pages(self.pages)} (max_pages), {self.records:,} records read")
            return True
        return False

    def _repeats(self, records: Sequence[Any], pages: set[int], keys: set[Hashable]) -> bool:
        """Whether this page was seen before (remembering it otherwise)."""
        if self._key is not None:
            names = {self._key(record) for record in records}
            if names and names <= keys:
                return True
            keys.update(names)
            return False
        mark = hash(repr(records))
        if records and mark in pages:
            return True
        pages.add(mark)
        return False

    def _stop(self, why: str) -> None:
        self.note = f"{self.what} {why}"


class OffsetWalk(Walk[P]):
    """Offset paging (`fetch(offset)` answers the page at that offset), bounded like `Walk`.

    `total(page)` reads the list's length from a page (None: the server does not say; then a page
    shorter than `page_size` ends the list and pages are read one after another). With a total, the
    first two pages are read in turn (the second one proves the server honours the offset: a server
    that ignores it costs two requests) and the rest `concurrency` at a time, each page handed on as
    it arrives. At most `max_pages` requests in all, and none past what `max_records` needs.
    """

    def __init__(self, what: str, fetch: Callable[[int], Awaitable[P]], limits: WalkLimits = WalkLimits(), *,
                 page_size: int, total: Callable[[P], int | None], concurrency: int = 1,
                 records: Callable[[P], Sequence[Any]] = lambda page: page,
                 key: Callable[[Any], Hashable] | None = None) -> None:
        self._fetch_at = fetch
        self._total = total
        self.page_size = page_size
        self.concurrency = max(1, concurrency)
        super().__init__(what, self._sequential_fetch, limits, records=records, key=key)

    async def _sequential_fetch(self, offset: int | None) -> tuple[P, Any]:
        offset = offset or 0
        page = await self._fetch_at(offset)
        records = self._records_of(page)
        following = offset + len(records)
        total = self._total(page)
        # With a total, walk until it is reached (a server capping the page size answers short
        # pages); without one, a short page ends the list. An empty page ends it either way.
        more = following < total if total is not None else len(records) >= self.page_size
        return page, following if more and records else None

    async def _walk(self) -> AsyncIterator[P]:
        pages: set[int] = set()
        keys: set[Hashable] = set()
        offset, total = 0, None
        while self.pages < 2 or total is None or self.concurrency == 1:
            page, following = await self._sequential_fetch(offset)
            records = self._records_of(page)
            if not self._counted(records, pages, keys):
                return
            yield page
            if following is None or self._capped():
                return
            offset, total, step = following, self._total(page), len(records)
        async for page in self._concurrent(offset, total, step, pages, keys):
            yield page

    async def _concurrent(self, offset: int, total: int, step: int, pages: set[int],
                          keys: set[Hashable]) -> AsyncIterator[P]:
        limits = self.limits
        # The pages still allowed: what the total needs, cut by max_pages and by max_records.
        needed = -(-(total - offset) // step)
        allowed = min(needed, limits.max_pages - self.pages, -(-(limits.max_records - self.records) // step))
        queue = [offset + n * step for n in range(allowed)]
        queue.reverse()
        running: dict[asyncio.Task, int] = {}
        try:
            while queue or running:
                while queue and len(running) < self.concurrency:
                    at = queue.pop()
                    running[asyncio.ensure_future(self._fetch_at(at))] = at
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    at = running.pop(task)
                    page = task.result()
                    records = self._records_of(page)
                    if not self._counted(records, pages, keys):
                        return
                    yield page
                    gap = at + len(records)
                    if records and len(records) < step and gap < total and gap not in queue \
                            and self.pages + len(queue) + len(running) < limits.max_pages:
                        queue.append(gap)  # a page cut short: read the rest of its stretch too
            if allowed < needed:
                self._capped()
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)


class Changes:
    """The items of a list read again and again, as records, handed on only when new or changed.

    Per key it keeps the record last handed on and a fingerprint of the item it came from (a hash
    of the item's fields, not the item: 50,000 accounts cost a few MB here). A poll calls `begin()`,
    `fresh(items)` for each page (the records to deliver: new or changed items converted with
    `map_one`, so one bad item becomes a `Rejected`), then `end(complete)`: after a complete read,
    the keys not seen are dropped and `end` answers True, and the caller replaces the whole list
    with `records()` (which also settles the rejections of records that are gone).

    An item listed twice on one page is left to the whole list: `end` answers True while any is (and
    once more after), and `records()` then lists it twice, so the sink keeps the first one and
    reports the second as it does in any replace-all call. One already read on an earlier page of
    the same poll is skipped (offset paging over a list that shifted sends it again). Items without
    a key are converted and delivered every time.

    A page can be known again without being decoded: `fresh(items, page=(where, fingerprint))`,
    where `where` says which request it answered (its offset...) and `fingerprint` stands for the
    reply as it arrived (a hash of its bytes), remembers the page's keys when every one of its items
    was taken in (keyed, listed once, not read earlier in the poll); the next read of `where` asks
    `unchanged((where, fingerprint))`, which answers those keys, counted as listed, while the reply
    is the same and every key still stands, and None otherwise (decode it and call `fresh`).
    """

    def __init__(self, convert: Callable[[Any], Any], key: Callable[[Any], Hashable | None]) -> None:
        self._convert = convert
        self._key = key
        self._marks: dict[Hashable, int] = {}
        self._records: dict[Hashable, Any] = {}
        self._seen: set[Hashable] = set()
        #: Keys listed twice on a page: in the read before this one, and in this one.
        self._twice: set[Hashable] = set()
        self._twice_now: set[Hashable] = set()
        #: Per request (`where`): the fingerprint of its last reply and the keys that reply listed.
        self._pages: dict[Hashable, tuple[Hashable, tuple[Hashable, ...]]] = {}
        self._asked: set[Hashable] = set()  # the requests of this read (the others are forgotten at its end)

    def __len__(self) -> int:
        return len(self._records)

    def begin(self) -> None:
        self._seen = set()
        self._twice_now = set()
        self._asked = set()

    def fresh(self, items: Iterable[Any], page: tuple[Hashable, Hashable] | None = None) -> list[Any]:
        """The records of `items` that are new or changed since they were last handed on; with
        `page` (where, fingerprint), the page is remembered for `unchanged` when it can be."""
        out: list[Any] = []
        keyed = []
        for item in items:
            try:
                key = self._key(item)
            except Exception:  # the converter names what is wrong with the item
                key = None
            keyed.append((key, item))
        counts = Counter(key for key, _ in keyed)
        on_page: set[Hashable] = set()
        whole = True  # every item keyed, listed once and not read before in this poll
        for key, item in keyed:
            if key is None:
                whole = False
                out.append(map_one(self._convert, item))
                continue
            twice = counts[key] > 1
            if key in on_page:
                self._twice_now.add(key)
                whole = False
                continue
            on_page.add(key)
            if key in self._seen:
                whole = False
                continue
            self._seen.add(key)
            mark = fingerprint(item)
            if self._marks.get(key) == mark:
                continue
            record = map_one(self._convert, item, key=self._key)
            self._marks[key] = mark
            self._records[key] = record
            if not twice:  # a key listed twice reaches the sink with the whole list
                out.append(record)
        if page is not None:
            where, reply = page
            self._asked.add(where)
            if whole:
                self._pages[where] = (reply, tuple(key for key, _ in keyed))
            else:
                self._pages.pop(where, None)
        return out

    def unchanged(self, page: tuple[Hashable, Hashable]) -> tuple[Hashable, ...] | None:
        """The keys of a page whose reply is the same as when `fresh` last took it in (each key
        still standing), counted as listed in this read; None when it must be decoded."""
        where, reply = page
        self._asked.add(where)
        known = self._pages.get(where)
        if known is None or known[0] != reply:
            return None
        keys = known[1]
        records, seen = self._records, self._seen
        if any(key not in records or key in seen for key in keys):
            return None
        seen.update(keys)
        return keys

    def end(self, complete: bool) -> bool:
        """After a complete read, forget the keys it did not list. True when the caller should
        replace the whole list with `records()`: keys are gone, or one listed twice before is not now."""
        settle = bool(self._twice or self._twice_now)
        self._twice = self._twice_now
        seen, self._seen = self._seen, set()  # a read's keys are not kept past its end
        if not complete:
            return settle
        gone = self._records.keys() - seen
        for key in gone:
            del self._records[key]
            self._marks.pop(key, None)
        if gone:  # pages that listed them are decoded again
            self._pages.clear()
        for where in self._pages.keys() - self._asked:  # one read's pages at most
            del self._pages[where]
        return bool(gone) or settle

    def records(self) -> list[Any]:
        """The current record of every key (a `Rejected` where the item could not be converted),
        and a second entry for each key listed twice in the last read."""
        twice = [Rejected(TWICE, key) for key in self._twice if key in self._records]
        return [*self._records.values(), *twice]


TWICE = "listed twice in one refresh (the first one counts)"


def fingerprint(item: Any) -> int:
    """A hash standing for an item's content (a JSON object read from a provider)."""
    if isinstance(item, dict):
        try:
            return hash(tuple(item.items()))
        except TypeError:  # nested objects or lists
            pass
    return hash(repr(item))


def _pages(count: int) -> str:
    return "1 page" if count == 1 else f"{count:,} pages"
