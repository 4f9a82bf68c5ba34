"""The CRM connection: the lead funnel on every poll, and the CRM screen.

Each poll counts leads, registrations and transactions for the windows "today", "7d" and the
lookback window (each count one pageSize=1 request), then walks the lookback window's transactions
once to sum deposits and withdrawals per currency for every window. The lookback window is the
widest and is delivered last: it is the one the snapshot reports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from ibmon.sdk import ConnectionContext, LeadCounts, Session, Sink, WalkLimits

from ibmon_crm import client as api
from ibmon_crm import pages
from ibmon_crm.client import CrmClient


def utc_today() -> date:
    # The CRM's date filters are calendar days; ibmon reads them in UTC, as its simulator does.
    return datetime.now(timezone.utc).date()


def windows(today: date, lookback_days: int) -> list[tuple[str, date, date]]:
    """(name, first day, last day) per funnel window, narrowest first, the lookback one last."""
    spans = sorted({days for days in (1, 7) if days < lookback_days} | {lookback_days})
    return [("today" if days == 1 else f"{days}d", today - timedelta(days=days - 1), today) for days in spans]


class CrmSession(Session):
    poll_timeout = 120.0  # counts for every window, then one walk over the lookback window's transactions

    def __init__(self, ctx: ConnectionContext, today: Callable[[], date] = utc_today) -> None:
        self.ctx = ctx
        self.options = ctx.options
        self.poll_interval = float(self.options["poll_seconds"])
        self.today = today
        self._client: CrmClient | None = None
        self._last_today: tuple[str, int] | None = None
        self._notes: tuple[str, ...] = ()

    @property
    def client(self) -> CrmClient:
        if self._client is None:
            o = self.options
            self._client = CrmClient(o["base_url"], domain=o["domain"], api_key=o["api_key"],
                                     email=o["email"], password=o["password"], verify=o["tls_verify"],
                                     timeout=o["timeout"], limits=WalkLimits.from_options(o))
        return self._client

    @property
    def include_fake(self) -> bool:
        return bool(self.options["include_fake"])

    @property
    def page_size(self) -> int:
        return int(self.options["page_size"])

    async def poll(self, sink: Sink) -> None:
        funnel, partial = await self.funnel()
        for counts in funnel:
            sink.leads(counts)
        notes = (f"amounts are partial: {partial}",) if partial else ()
        if notes != self._notes:  # a note rewrites the health line: only when it changes
            self._notes = notes
            sink.note(*notes)
        today = funnel[0]
        if self._last_today and self._last_today[0] == today.date_from and today.leads > self._last_today[1]:
            arrived = today.leads - self._last_today[1]
            sink.notify(f"{arrived} new lead{'s' if arrived != 1 else ''}")
        self._last_today = (today.date_from, today.leads)

    async def funnel(self) -> tuple[list[LeadCounts], str | None]:
        """The counts of every window, and why the amounts walk stopped early (None: it did not)."""
        spans = windows(self.today(), int(self.options["lookback_days"]))
        _, first, last = spans[-1]
        counts, (amounts, partial) = await asyncio.gather(
            asyncio.gather(*(self._counts(a, b) for _, a, b in spans)), self._amounts(spans, first, last))
        funnel = [LeadCounts(name, first.isoformat(), last.isoformat(), *numbers, amounts=amounts[name])
                  for (name, first, last), numbers in zip(spans, counts)]
        return funnel, partial

    async def _counts(self, first: date, last: date) -> tuple[int, int, int]:
        queries = (api.leads(first, last), api.registrations(first, last),
                   api.transactions(first, last, include_fake=self.include_fake))
        leads, registrations, transactions = await asyncio.gather(*(self.client.count(q) for q in queries))
        return leads, registrations, transactions

    async def _amounts(self, spans: list[tuple[str, date, date]], first: date,
                       last: date) -> tuple[dict[str, tuple[tuple[str, str, Decimal], ...]], str | None]:
        """Deposits and withdrawals per currency for each window, from one walk over the widest."""
        totals: dict[str, dict[tuple[str, str], Decimal]] = {name: {} for name, _, _ in spans}
        bounds = [(name, a.isoformat(), b.isoformat()) for name, a, b in spans]
        query = api.transactions(first, last, include_fake=self.include_fake)
        walk = self.client.pages(query, self.page_size)
        async for page in walk:
            for tx in page.items:
                kind = tx.kind
                if kind is None or (tx.is_fake and not self.include_fake):
                    continue
                for name, low, high in bounds:
                    if low <= tx.day <= high:
                        bucket = totals[name]
                        # withdrawals are summed as amounts paid out, whatever sign the CRM gives them
                        bucket[(tx.currency, kind)] = bucket.get((tx.currency, kind), Decimal(0)) + abs(tx.amount)
        result = {name: tuple((currency, kind, value) for (currency, kind), value in sorted(bucket.items()))
                  for name, bucket in totals.items()}
        return result, walk.note

    async def request(self, name: str, params: dict[str, Any]) -> list[Any]:
        answered = await pages.answer(self.client, name, params, self.include_fake)
        return answered if answered is not None else await super().request(name, params)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
