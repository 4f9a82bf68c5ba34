"""What the CRM screen asks for on demand: one page of leads, registrations, transactions or closed
positions over a date range, and the server tags, as records, with the requests that return them."""

from __future__ import annotations

from dataclasses import dataclass, make_dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from ibmon.sdk import Option, ProviderError, RequestSpec

from ibmon_crm.records import ClosedPosition, Lead, Registration, Transaction

if TYPE_CHECKING:  # pragma: no cover
    from ibmon_crm.client import CrmClient

#: The most rows one page record holds (the screen asks for at most this many).
MAX_PAGE_ROWS = 200


class _Paged:
    """One page of a list: `total` rows in all, page number `page` of `page_size` rows; `last`:
    nothing more after it (no rows, or the total reached)."""

    __slots__ = ()
    total: int
    page: int
    page_size: int
    items: tuple[Any, ...]

    @property
    def last(self) -> bool:
        return not self.items or self.page * self.page_size >= self.total


def _page_of(name: str, item: type) -> type:
    """A page record class whose `items` are `item` records (checked field by field like any record)."""
    return make_dataclass(name, [("total", int), ("page", int), ("page_size", int), ("items", tuple[item, ...])],
                          bases=(_Paged,), frozen=True, slots=True, namespace={"__module__": __name__})


LeadPage = _page_of("LeadPage", Lead)
RegistrationPage = _page_of("RegistrationPage", Registration)
TransactionPage = _page_of("TransactionPage", Transaction)
PositionPage = _page_of("PositionPage", ClosedPosition)


@dataclass(frozen=True, slots=True)
class Server:
    platform: str
    tag: str


RANGE = (Option("date_from", "str", required=True, help="first day, YYYY-MM-DD"),
         Option("date_to", "str", required=True, help="last day, YYYY-MM-DD"),
         Option("page", "int", default=1, minimum=1, help="page number, from 1"),
         Option("page_size", "int", default=50, minimum=1, maximum=MAX_PAGE_ROWS, help="rows per page"))
PAGES = {"crm.leads": LeadPage, "crm.registrations": RegistrationPage, "crm.transactions": TransactionPage,
         "crm.positions": PositionPage}
REQUESTS = (
    RequestSpec("crm.leads", LeadPage, "one page of the leads registered in a date range", params=RANGE),
    RequestSpec("crm.registrations", RegistrationPage, "one page of the customers registered in a date range, "
                "with their trading accounts", params=RANGE),
    RequestSpec("crm.transactions", TransactionPage, "one page of the transactions in a date range "
                "(fake ones as the connection's include_fake says)", params=RANGE),
    RequestSpec("crm.positions", PositionPage, "one page of a server's positions closed in a date range",
                params=(*RANGE, Option("server_tag", "str", required=True, help="a tag crm.servers lists"))),
    RequestSpec("crm.servers", Server, "the trading servers' tags, by platform"),
)


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ProviderError(f"{name} must be a date written YYYY-MM-DD, not {text[:20]!r}") from None


async def answer(client: "CrmClient", name: str, params: dict[str, Any], include_fake: bool) -> list[Any] | None:
    """The records answering one of REQUESTS (None: not one of them)."""
    from ibmon_crm import client as api

    if name == "crm.servers":
        return [Server(platform, tag) for platform, tags in (await client.servers()).items() for tag in tags]
    page_type = PAGES.get(name)
    if page_type is None:
        return None
    first, last = _day(params["date_from"], "date_from"), _day(params["date_to"], "date_to")
    query = {"crm.leads": lambda: api.leads(first, last), "crm.registrations": lambda: api.registrations(first, last),
             "crm.transactions": lambda: api.transactions(first, last, include_fake=include_fake),
             "crm.positions": lambda: api.positions(params.get("server_tag") or "", first, last)}[name]()
    page = await client.page(query, params["page"], params["page_size"])
    return [page_type(page.total, page.page, page.page_size, page.items[:MAX_PAGE_ROWS])]
