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
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

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
        limits = self.limits
        cursors: set[int] = set()  # hashes only: a cursor may be long
        pages: set[int] = set()
        keys: set[Hashable] = set()
        cursor: Any = None
        while True:
            page, following = await self._fetch(cursor)
            records = self._records_of(page)
            if self._repeats(records, pages, keys):
                self._stop(f"stopped after {_pages(self.pages)}: the server sent a page again")
                return
            self.pages += 1
            self.records += len(records)
            yield page
            if following is None:
                return
            if self.records >= limits.max_records:
                self._stop(f"stopped at {self.records:,} records (max_records), after {_pages(self.pages)}")
                return
            if self.pages >= limits.max_pages:
                self._stop(f"stopped after {_pages(self.pages)} (max_pages), {self.records:,} records read")
                return
            mark = hash(repr(following))
            if mark in cursors:
                self._stop(f"stopped after {_pages(self.pages)}: the server repeated a cursor")
                return
            cursors.add(mark)
            cursor = following

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


def _pages(count: int) -> str:
    return "1 page" if count == 1 else f"{count:,} pages"
