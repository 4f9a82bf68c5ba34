"""Flex XML: the service's status responses and the statements themselves.

Parsing goes through defusedxml, so a document that declares entities (an "XML bomb") or reaches
for external ones is refused. IB adds sections and attributes often: only the elements and
attributes read here matter, everything else is ignored (and every record keeps its attributes in
`attrs`, so new ones can be shown without a parser change).

Open positions: a query set to "Summary" detail sends one OpenPosition per contract; set to "Lot" it
sends one row per tax lot with levelOfDetail="LOT" (each with its own openDateTime, quantity and
cost, as in the ibflex project's test statements) and, with both set, the summary row followed by
its lots. A contract's summary row is its position; a contract that has only lot rows is their sum.
Trades: statements carry dateTime ("20231017;101235"); older ones tradeDate and tradeTime
("20110811" and "162000", as in ibflex's test data) instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from ibmon.sdk import ProviderError

from ibmon_ibkr_flex.dates import join_date_time, parse_date, parse_datetime

if TYPE_CHECKING:  # pragma: no cover
    from xml.etree.ElementTree import Element

Attrs = dict[str, str]


@dataclass(frozen=True)
class ServiceResponse:
    """A FlexStatementResponse: Success with a reference code, or Warn/Fail with an error code."""

    status: str
    reference_code: str | None = None
    url: str | None = None
    error_code: str | None = None
    error_message: str = ""
    timestamp: str | None = None


@dataclass(frozen=True)
class NavPoint:
    """One EquitySummaryByReportDateInBase row: the account's value in base currency on a day."""

    day: date
    total: Decimal
    cash: Decimal | None = None


@dataclass(frozen=True)
class CashBalance:
    currency: str
    ending_cash: Decimal | None
    ending_settled_cash: Decimal | None = None


@dataclass(frozen=True)
class FlexPosition:
    symbol: str
    quantity: Decimal
    mark_price: Decimal | None
    position_value: Decimal | None
    cost_basis_price: Decimal | None
    cost_basis_money: Decimal | None
    unrealized_pnl: Decimal | None
    currency: str | None
    asset_category: str | None
    description: str | None
    conid: str | None
    attrs: Attrs = field(default_factory=dict, compare=False, repr=False)
    #: How many LOT rows this position sums (0: the statement's summary row).
    lots: int = 0


@dataclass(frozen=True)
class FlexTrade:
    trade_id: str | None
    symbol: str
    when: datetime | None
    buy_sell: str | None
    quantity: Decimal | None
    price: Decimal | None
    proceeds: Decimal | None
    commission: Decimal | None
    realized_pnl: Decimal | None
    currency: str | None
    asset_category: str | None
    attrs: Attrs = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class FlexCashTransaction:
    kind: str | None
    currency: str | None
    amount: Decimal | None
    when: datetime | None
    description: str | None


@dataclass(frozen=True)
class FlexStatement:
    account_id: str
    from_date: date | None
    to_date: date | None
    when_generated: datetime | None
    base_currency: str | None
    name: str | None
    account_info: Attrs
    nav_history: tuple[NavPoint, ...]
    ending_value: Decimal | None
    cash: tuple[CashBalance, ...]
    base_cash: Decimal | None
    positions: tuple[FlexPosition, ...]
    trades: tuple[FlexTrade, ...]
    cash_transactions: tuple[FlexCashTransaction, ...]

    @property
    def nav(self) -> Decimal | None:
        """The latest NAV in base currency (the last report date's total, else ChangeInNAV's end)."""
        return self.nav_history[-1].total if self.nav_history else self.ending_value


@dataclass(frozen=True)
class FlexReport:
    query_name: str | None
    statements: tuple[FlexStatement, ...]


def parse_document(body: bytes) -> "Element":
    """The root element of an XML body, refusing entity declarations and external references."""
    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException
    from xml.etree.ElementTree import ParseError

    try:
        return SafeET.fromstring(body)
    except DefusedXmlException as exc:
        raise ProviderError(f"refused the Flex response: it declares XML entities or external references "
                            f"({type(exc).__name__}), which IB never sends (a possible XML bomb)") from None
    except ParseError as exc:
        start = body[:60].decode("utf-8", "replace").strip()
        raise ProviderError(f"the Flex response is not well-formed XML ({exc}); it starts with {start!r}") from None


def parse_service_response(root: "Element") -> ServiceResponse:
    return ServiceResponse(
        status=_text(root, "Status") or "",
        reference_code=_text(root, "ReferenceCode"),
        url=_text(root, "Url"),
        error_code=_text(root, "ErrorCode"),
        error_message=_text(root, "ErrorMessage") or "",
        timestamp=root.get("timestamp"),
    )


def parse_report(root: "Element") -> FlexReport:
    """A FlexQueryResponse: one FlexStatement per account."""
    statements = tuple(_statement(node) for node in root.iter("FlexStatement"))
    return FlexReport(query_name=root.get("queryName"), statements=statements)


def _statement(node: "Element") -> FlexStatement:
    account_id = node.get("accountId") or ""
    where = f"FlexStatement {account_id or '(no accountId)'}"
    if not account_id:
        raise ProviderError(f"{where}: the statement has no accountId attribute")
    info_node = node.find("AccountInformation")
    info: Attrs = dict(info_node.attrib) if info_node is not None else {}
    change = node.find("ChangeInNAV")
    nav_history = _nav_history(node.findall("EquitySummaryInBase/EquitySummaryByReportDateInBase"), where)
    cash_rows = node.findall("CashReport/CashReportCurrency")
    per_currency = tuple(
        CashBalance(row.get("currency", ""), _money(row, "endingCash", where),
                    _money(row, "endingSettledCash", where))
        for row in cash_rows if row.get("currency") not in (None, "", "BASE_SUMMARY")
    )
    summary = next((row for row in cash_rows if row.get("currency") == "BASE_SUMMARY"), None)
    base_cash = _money(summary, "endingCash", where)
    if base_cash is None and nav_history:
        base_cash = nav_history[-1].cash
    return FlexStatement(
        account_id=account_id,
        from_date=_date(node, "fromDate", where),
        to_date=_date(node, "toDate", where),
        when_generated=_datetime(node, "whenGenerated", where),
        base_currency=_base_currency(node, info),
        name=info.get("name") or info.get("acctAlias") or None,
        account_info=info,
        nav_history=nav_history,
        ending_value=_money(change, "endingValue", where),
        cash=per_currency,
        base_cash=base_cash,
        positions=_positions(node.findall("OpenPositions/OpenPosition"), where),
        trades=tuple(sorted((_trade(row, where) for row in node.findall("Trades/Trade")
                             if row.get("levelOfDetail", "EXECUTION").upper() == "EXECUTION"),
                            key=lambda trade: trade.when or datetime.min)),
        cash_transactions=tuple(_cash_transaction(row, where)
                                for row in node.findall("CashTransactions/CashTransaction")),
    )


def _base_currency(node: "Element", info: Attrs) -> str | None:
    """AccountInformation's currency, else the currency of the NAV sections (all in base)."""
    for candidate in (info.get("currency"), _attr(node.find("ChangeInNAV"), "currency"),
                      _attr(node.find("EquitySummaryInBase/EquitySummaryByReportDateInBase"), "currency")):
        if candidate:
            return candidate
    return None


def _attr(node: "Element | None", name: str) -> str | None:
    return node.get(name) if node is not None else None


def _first(*values: Decimal | None) -> Decimal | None:
    return next((value for value in values if value is not None), None)


def _nav_history(rows: Iterable["Element"], where: str) -> tuple[NavPoint, ...]:
    points: dict[date, NavPoint] = {}
    for row in rows:
        day = _date(row, "reportDate", where)
        total = _money(row, "total", where)
        if day is not None and total is not None:
            points[day] = NavPoint(day, total, _money(row, "cash", where))
    return tuple(points[day] for day in sorted(points))


def _positions(rows: list["Element"], where: str) -> tuple[FlexPosition, ...]:
    """The statement's open positions: the summary rows, and for a contract without one the sum of
    its lot rows (in the order the contracts first appear)."""
    summaries: list[FlexPosition] = []
    lots: dict[str, list[FlexPosition]] = {}
    for row in rows:
        if row.get("levelOfDetail", "SUMMARY").upper() == "LOT":
            lot = _position(row, where)
            lots.setdefault(_contract(lot), []).append(lot)
        else:
            summaries.append(_position(row, where))
    summarised = {_contract(position) for position in summaries}
    return tuple(summaries) + tuple(_summed(group) for contract, group in lots.items() if contract not in summarised)


def _contract(position: FlexPosition) -> str:
    """What identifies a contract within one account's statement: IB's conid, else the symbol."""
    return position.conid or f"{position.symbol}\x00{position.currency or ''}"


def _summed(lots: list[FlexPosition]) -> FlexPosition:
    """One position from a contract's lots: quantity, value, cost basis and unrealised P/L summed,
    the mark price they share, the cost price averaged over the quantity. A sum any lot lacks a
    figure for is unknown (None), and so is a mark price the lots disagree on."""
    first = lots[0]
    quantity = sum((lot.quantity for lot in lots), Decimal(0))
    marks = {lot.mark_price for lot in lots}
    return replace(
        first,
        quantity=quantity,
        mark_price=marks.pop() if len(marks) == 1 else None,
        position_value=_sum(lot.position_value for lot in lots),
        cost_basis_money=_sum(lot.cost_basis_money for lot in lots),
        unrealized_pnl=_sum(lot.unrealized_pnl for lot in lots),
        cost_basis_price=_average_price(lots, quantity),
        lots=len(lots),
    )


def _sum(values: Iterable[Decimal | None]) -> Decimal | None:
    values = list(values)
    return None if any(value is None for value in values) else sum(values, Decimal(0))  # type: ignore[arg-type]


def _average_price(lots: list[FlexPosition], quantity: Decimal) -> Decimal | None:
    """The quantity-weighted cost price, to four places finer than the finest lot's price."""
    prices = [lot.cost_basis_price for lot in lots]
    if quantity == 0 or any(price is None for price in prices):
        return None
    if len(lots) == 1:
        return prices[0]
    try:
        average = sum((price * lot.quantity for price, lot in zip(prices, lots)), Decimal(0)) / quantity  # type: ignore[operator]
        places = min(price.as_tuple().exponent for price in prices)  # type: ignore[union-attr, type-var]
        average = average.quantize(Decimal(1).scaleb(places - 4)).normalize()
    except ArithmeticError:  # figures too large for an average: the sink's bounds refuse them anyway
        return None
    # no fewer places than the lots' own prices: 145.5 from 140.00 and 153.75 reads 145.50
    return average if average.as_tuple().exponent <= places else average.quantize(Decimal(1).scaleb(places))


def _position(row: "Element", where: str) -> FlexPosition:
    quantity = _money(row, "position", where)
    return FlexPosition(
        symbol=row.get("symbol") or row.get("description") or "?",
        quantity=quantity if quantity is not None else Decimal(0),
        mark_price=_money(row, "markPrice", where),
        position_value=_money(row, "positionValue", where),
        cost_basis_price=_first(_money(row, "costBasisPrice", where), _money(row, "openPrice", where)),
        cost_basis_money=_money(row, "costBasisMoney", where),
        unrealized_pnl=_money(row, "fifoPnlUnrealized", where),
        currency=row.get("currency"),
        asset_category=row.get("assetCategory"),
        description=row.get("description"),
        conid=row.get("conid") or None,
        attrs=dict(row.attrib),
    )


def _trade(row: "Element", where: str) -> FlexTrade:
    return FlexTrade(
        trade_id=row.get("tradeID") or None,
        symbol=row.get("symbol") or "?",
        when=_datetime(row, "dateTime", where) or _trade_date_time(row, where),
        buy_sell=row.get("buySell"),
        quantity=_money(row, "quantity", where),
        price=_money(row, "tradePrice", where),
        proceeds=_money(row, "proceeds", where),
        commission=_money(row, "ibCommission", where),
        realized_pnl=_money(row, "fifoPnlRealized", where),
        currency=row.get("currency"),
        asset_category=row.get("assetCategory"),
        attrs=dict(row.attrib),
    )


def _cash_transaction(row: "Element", where: str) -> FlexCashTransaction:
    return FlexCashTransaction(
        kind=row.get("type"),
        currency=row.get("currency"),
        amount=_money(row, "amount", where),
        when=_datetime(row, "dateTime", where) or _datetime(row, "reportDate", where),
        description=row.get("description"),
    )


def _trade_date_time(row: "Element", where: str) -> datetime | None:
    """tradeDate with tradeTime (statements without dateTime)."""
    try:
        return join_date_time(row.get("tradeDate"), row.get("tradeTime"))
    except ValueError as exc:
        raise ProviderError(f"{where}: {row.tag} tradeDate/tradeTime: {exc}") from None


def _text(root: "Element", tag: str) -> str | None:
    node = root.find(tag)
    return node.text.strip() if node is not None and node.text and node.text.strip() else None


def _money(row: "Element | None", name: str, where: str) -> Decimal | None:
    """An exact decimal attribute; blank (or IB's "--") is None, anything else not a number is refused."""
    raw = row.get(name) if row is not None else None
    if raw is None:
        return None
    text = raw.strip().replace(",", "")
    if text in ("", "--", "-", "N/A"):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise ProviderError(f"{where}: {row.tag} {name}={raw!r} is not a number")
    return value


def _date(row: "Element", name: str, where: str) -> date | None:
    try:
        return parse_date(row.get(name))
    except ValueError as exc:
        raise ProviderError(f"{where}: {row.tag} {name}: {exc}") from None


def _datetime(row: "Element", name: str, where: str) -> datetime | None:
    try:
        return parse_datetime(row.get(name))
    except ValueError as exc:
        raise ProviderError(f"{where}: {row.tag} {name}: {exc}") from None
