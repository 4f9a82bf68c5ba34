"""The CRM's records as the client reads them from the IB integration API.

The spec names the fields but its sample files are not published; these parsers follow our reading
(camelCase names as in the change log: firstName, lastName, email, utmDetails, tags as categories,
isFake) and tolerate the small variations a CRM build may show (a missing field, tags as a plain list).
Money is Decimal: the client decodes responses with `ibmon.money.loads`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ibmon.sdk import dec, dec_or_none


@dataclass(frozen=True, slots=True)
class TagCategory:
    category: str
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TradingAccount:
    """One live trading account of a customer: "login id, platform server, type"."""

    login: str
    server: str
    type: str


@dataclass(frozen=True, slots=True)
class Lead:
    id: str
    first_name: str
    last_name: str
    email: str
    country: str
    registered: str
    modified: str
    tags: tuple[TagCategory, ...] = ()
    utm: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def tags_text(self) -> str:
        return "; ".join(f"{c.category}: {', '.join(c.tags)}" for c in self.tags)

    @property
    def utm_text(self) -> str:
        return " ".join(f"{key}={value}" for key, value in self.utm if value)


@dataclass(frozen=True, slots=True)
class Registration(Lead):
    """A converted lead (a customer) with its live trading accounts."""

    accounts: tuple[TradingAccount, ...] = ()

    @property
    def accounts_text(self) -> str:
        return "; ".join(f"{a.login} {a.server} {a.type}" for a in self.accounts)


@dataclass(frozen=True, slots=True)
class Transaction:
    id: str
    customer: str
    type: str
    amount: Decimal
    currency: str
    date: str
    is_fake: bool
    #: The trade-related id, or None where the CRM shows "N/A".
    product: str | None

    @property
    def kind(self) -> str | None:
        """"deposits", "withdrawals" or None for other types (the funnel's amount columns)."""
        word = self.type.lower()
        if word.startswith("deposit"):
            return "deposits"
        if word.startswith("withdraw"):
            return "withdrawals"
        return None

    @property
    def day(self) -> str:
        return self.date[:10]


@dataclass(frozen=True, slots=True)
class ClosedPosition:
    ticket: str
    login: str
    server: str
    symbol: str
    side: str
    volume: Decimal
    open_price: Decimal | None
    close_price: Decimal | None
    profit: Decimal | None
    open_time: str
    close_time: str


def _text(record: dict[str, Any], *names: str) -> str:
    for name in names:
        value = record.get(name)
        if value is not None:
            return str(value)
    return ""


def parse_tags(raw: Any) -> tuple[TagCategory, ...]:
    """Tags as categories ([{"category": "Source", "tags": ["Webinar"]}]); a plain list of tags
    (the format before 2020-02-07) becomes one unnamed category."""
    if not raw:
        return ()
    if isinstance(raw, dict):
        return tuple(TagCategory(str(k), tuple(map(str, v or ()))) for k, v in raw.items())
    categories: list[TagCategory] = []
    loose: list[str] = []
    for item in raw:
        if isinstance(item, dict):
            tags = item.get("tags") or ()
            categories.append(TagCategory(_text(item, "category", "name"),
                                          tuple(str(t.get("name", t)) if isinstance(t, dict) else str(t)
                                                for t in tags)))
        else:
            loose.append(str(item))
    if loose:
        categories.append(TagCategory("", tuple(loose)))
    return tuple(categories)


def parse_utm(raw: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, dict):
        return ()
    return tuple((str(k), str(v)) for k, v in raw.items() if v not in (None, ""))


_GROUP = re.compile(r"\(([^()]*)\)")


def parse_trading_accounts(raw: Any) -> tuple[TradingAccount, ...]:
    """The customer's accounts from "User additional ID": comma-separated "login, server, type"
    triples, each optionally in parentheses ("(12345, mt4, live), (23456, mt5, live)")."""
    if not raw:
        return ()
    if isinstance(raw, list):
        return tuple(account for item in raw for account in parse_trading_accounts(item))
    if isinstance(raw, dict):
        return (TradingAccount(_text(raw, "login", "loginId"), _text(raw, "server", "platformServer"),
                               _text(raw, "type") or "live"),)
    text = str(raw)
    groups = _GROUP.findall(text)
    if groups:
        parts = [[p.strip() for p in group.split(",")] for group in groups]
    else:
        flat = [p.strip() for p in text.split(",") if p.strip()]
        parts = [flat[i:i + 3] for i in range(0, len(flat), 3)]
    return tuple(TradingAccount(p[0], p[1] if len(p) > 1 else "", p[2] if len(p) > 2 else "")
                 for p in parts if p and p[0])


def _lead_fields(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "first_name": _text(record, "firstName"),
        "last_name": _text(record, "lastName"),
        "email": _text(record, "email"),
        "country": _text(record, "country", "countryCode"),
        "registered": _text(record, "registrationDate", "createdDate"),
        "modified": _text(record, "lastModifiedDate", "modifiedDate"),
        "tags": parse_tags(record.get("tags")),
        "utm": parse_utm(record.get("utmDetails")),
    }


def parse_lead(record: dict[str, Any]) -> Lead:
    return Lead(id=_text(record, "id", "leadId"), **_lead_fields(record))


def parse_registration(record: dict[str, Any]) -> Registration:
    return Registration(id=_text(record, "id", "customerId"), **_lead_fields(record),
                        accounts=parse_trading_accounts(record.get("userAdditionalId",
                                                                   record.get("tradingAccounts"))))


def parse_transaction(record: dict[str, Any]) -> Transaction:
    product = _text(record, "productId", "tradeId")
    return Transaction(
        id=_text(record, "id", "transactionId"),
        customer=_text(record, "customerId", "userId"),
        type=_text(record, "type", "transactionType"),
        amount=dec(record.get("amount"), "transaction amount"),
        currency=_text(record, "currency"),
        date=_text(record, "transactionDate", "date"),
        is_fake=bool(record.get("isFake", False)),
        product=None if product in ("", "N/A") else product,
    )


def parse_position(record: dict[str, Any]) -> ClosedPosition:
    return ClosedPosition(
        ticket=_text(record, "ticket", "positionId", "id"),
        login=_text(record, "login"),
        server=_text(record, "serverTag", "server"),
        symbol=_text(record, "symbol"),
        side=_text(record, "side", "type").lower(),
        volume=dec(record.get("volume"), "position volume"),
        open_price=dec_or_none(record.get("openPrice"), "openPrice"),
        close_price=dec_or_none(record.get("closePrice"), "closePrice"),
        profit=dec_or_none(record.get("profit"), "profit"),
        open_time=_text(record, "openTime"),
        close_time=_text(record, "closeTime"),
    )


def parse_servers(payload: Any) -> dict[str, tuple[str, ...]]:
    """Server tags grouped by platform: {"mt4": [...], "mt5": [...]} or a list of
    {"platform": "mt4", "servers": [...]} groups."""
    if isinstance(payload, dict) and isinstance(payload.get("data"), (list, dict)):
        payload = payload["data"]
    if isinstance(payload, dict):
        return {str(k): tuple(map(str, v or ())) for k, v in payload.items()}
    groups: dict[str, tuple[str, ...]] = {}
    for item in payload or ():
        servers = item.get("servers", item.get("tags", ()))
        groups[_text(item, "platform", "platformType")] = tuple(
            str(s.get("tag", s.get("id"))) if isinstance(s, dict) else str(s) for s in servers)
    return groups
