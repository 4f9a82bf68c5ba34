"""The simulator's portfolio: several IB accounts (different base currencies) holding stocks, options
and forex, with cash in several currencies, trades over the past days and prices that keep moving.
Each holding is a list of tax lots (bought at different times and prices, sold first in first out).
`statement_xml()` writes it as a Flex Activity statement, shaped as the query would be set up
(summary and/or lot rows, with or without the NAV sections and the base-currency cash summary,
trade times as dateTime or as tradeDate and tradeTime), with a few attributes and elements IB might
add tomorrow (a client must ignore them)."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from ibmon_ibkr_flex.dates import EASTERN, format_date, format_datetime, format_time

CENT = Decimal("0.01")
PRICE = Decimal("0.0001")
HISTORY_DAYS = 30
MAX_TRADES = 200
#: How a Flex query can be set to show open positions, and to time trades.
POSITION_DETAILS = ("summary", "lot", "summary+lot")
TRADE_TIMES = ("dateTime", "tradeDate+tradeTime")


@dataclass
class Instrument:
    symbol: str
    category: str  # STK, OPT, CASH (forex)
    currency: str
    price: Decimal
    conid: str
    description: str
    multiplier: int = 1


@dataclass
class Lot:
    opened: datetime
    quantity: Decimal  # signed: + long, - short
    price: Decimal


@dataclass
class Holding:
    symbol: str
    lots: list[Lot]

    @property
    def quantity(self) -> Decimal:
        return sum((lot.quantity for lot in self.lots), Decimal(0))

    @property
    def cost_price(self) -> Decimal:
        """The average cost per unit over the open lots."""
        return (sum((lot.quantity * lot.price for lot in self.lots), Decimal(0)) / self.quantity).quantize(PRICE)

    def reduce(self, amount: Decimal) -> None:
        """Sell (or cover) `amount` units, oldest lots first; never all of them."""
        for lot in list(self.lots):
            taken = min(abs(lot.quantity), amount)
            lot.quantity -= taken if lot.quantity > 0 else -taken
            amount -= taken
            if lot.quantity == 0:
                self.lots.remove(lot)
            if amount == 0:
                return


@dataclass
class Trade:
    trade_id: int
    symbol: str
    when: datetime
    quantity: Decimal  # signed: + buy, - sell
    price: Decimal
    commission: Decimal


@dataclass
class SimAccount:
    id: str
    name: str
    base: str
    cash: dict[str, Decimal]
    holdings: dict[str, Holding]
    trades: list[Trade] = field(default_factory=list)
    nav_history: dict[date, Decimal] = field(default_factory=dict)


def _instruments() -> dict[str, Instrument]:
    rows = [
        Instrument("AAPL", "STK", "USD", Decimal("228.40"), "265598", "APPLE INC"),
        Instrument("MSFT", "STK", "USD", Decimal("415.10"), "272093", "MICROSOFT CORP"),
        Instrument("SAP", "STK", "EUR", Decimal("182.30"), "14204", "SAP SE"),
        Instrument("VOD", "STK", "GBP", Decimal("0.7120"), "4618", "VODAFONE GROUP PLC"),
        Instrument("NESN", "STK", "CHF", Decimal("94.20"), "39394687", "NESTLE SA-REG"),
        Instrument("AAPL  261218C00250000", "OPT", "USD", Decimal("11.85"), "712345601",
                   "AAPL 18DEC26 250 C", multiplier=100),
        Instrument("SPY   261218P00500000", "OPT", "USD", Decimal("7.40"), "712345602",
                   "SPY 18DEC26 500 P", multiplier=100),
        Instrument("EUR.USD", "CASH", "USD", Decimal("1.0840"), "12087792", "EUR.USD"),
        Instrument("GBP.USD", "CASH", "USD", Decimal("1.2710"), "12087797", "GBP.USD"),
    ]
    return {row.symbol: row for row in rows}


def _accounts() -> list[SimAccount]:
    opened = iter(datetime(2022, 9, 6, 10, 15) + timedelta(days=23 * n, minutes=37 * n) for n in range(100))

    def hold(symbol: str, quantity: str, cost: str) -> tuple[str, Holding]:
        return symbol, Holding(symbol, [Lot(next(opened), Decimal(quantity), Decimal(cost))])

    return [
        SimAccount("U1234567", "Alex Demo", "USD",
                   {"USD": Decimal("25310.55"), "EUR": Decimal("4120.00")},
                   dict([hold("AAPL", "100", "171.2300"), hold("MSFT", "40", "380.0500"),
                         hold("AAPL  261218C00250000", "5", "9.4000"), hold("EUR.USD", "20000", "1.0712"),
                         hold("SAP", "30", "160.1000")])),
        SimAccount("U7654321", "Bea Beispiel", "EUR",
                   {"EUR": Decimal("40210.10"), "GBP": Decimal("1980.00"), "USD": Decimal("-1520.35")},
                   dict([hold("SAP", "120", "151.8000"), hold("NESN", "50", "101.3000"),
                         hold("VOD", "2000", "0.6900"), hold("SPY   261218P00500000", "-3", "8.9000")])),
        SimAccount("U5550001", "Chen Sample", "GBP",
                   {"GBP": Decimal("15000.00"), "USD": Decimal("24000.00")},
                   dict([hold("VOD", "5000", "0.7450"), hold("MSFT", "-20", "430.0000"),
                         hold("GBP.USD", "-10000", "1.2550")])),
    ]


class Portfolio:
    """Mutable simulated state; the caller (the simulator) serialises access with its lock."""

    def __init__(self, seed: int | None = None, now: datetime | None = None) -> None:
        self.rng = random.Random(seed)
        self.instruments = _instruments()
        self.fx_to_usd = {"USD": Decimal(1), "EUR": Decimal("1.0840"), "GBP": Decimal("1.2710"),
                          "CHF": Decimal("1.1230")}
        self.accounts = _accounts()
        self._next_trade_id = 400000001
        start = now or datetime.now(EASTERN).replace(tzinfo=None)
        for account in self.accounts:
            self._backfill(account, start)

    # -- movement --------------------------------------------------------------------------------

    def step(self, now: datetime | None = None) -> None:
        """Prices drift; now and then an account trades. Today's NAV follows."""
        now = now or datetime.now(EASTERN).replace(tzinfo=None)
        for instrument in self.instruments.values():
            move = Decimal(self.rng.gauss(0, 0.002)).quantize(Decimal("0.00001"))
            instrument.price = max(PRICE, (instrument.price * (1 + move)).quantize(PRICE))
        for currency in ("EUR", "GBP", "CHF"):
            move = Decimal(self.rng.gauss(0, 0.0005)).quantize(Decimal("0.000001"))
            self.fx_to_usd[currency] = (self.fx_to_usd[currency] * (1 + move)).quantize(PRICE)
        self.instruments["EUR.USD"].price = self.fx_to_usd["EUR"]
        self.instruments["GBP.USD"].price = self.fx_to_usd["GBP"]
        if self.rng.random() < 0.15:
            self._trade(self.rng.choice(self.accounts), now)
        for account in self.accounts:
            account.nav_history[now.date()] = self.nav(account)

    def _trade(self, account: SimAccount, when: datetime, drift: float = 0.0) -> None:
        """A random trade at the current price (moved by `drift` sigmas for trades in the past)."""
        symbol = self.rng.choice(sorted(account.holdings))
        instrument = self.instruments[symbol]
        holding = account.holdings[symbol]
        size = {"STK": 10, "OPT": 1, "CASH": 1000}[instrument.category] * self.rng.randint(1, 5)
        if instrument.symbol == "VOD":
            size *= 100
        quantity = Decimal(size if self.rng.random() < 0.5 else -size)
        if (holding.quantity + quantity) * holding.quantity <= 0:  # never close or flip: add instead
            quantity = -quantity
        price = instrument.price
        if drift:
            price = (price * (1 + Decimal(self.rng.gauss(0, drift)).quantize(Decimal("0.00001")))).quantize(PRICE)
        commission = -max(Decimal("1.00"), (abs(quantity) * price * Decimal("0.0005")).quantize(CENT))
        if (holding.quantity > 0) == (quantity > 0):  # adding: a new lot
            holding.lots.append(Lot(when.replace(microsecond=0), quantity, price))
        else:
            holding.reduce(abs(quantity))
        cash = account.cash
        cash[instrument.currency] = cash.get(instrument.currency, Decimal(0)) - (
            quantity * price * instrument.multiplier).quantize(CENT) + commission
        account.trades.append(Trade(self._next_trade_id, symbol, when.replace(microsecond=0), quantity, price, commission))
        self._next_trade_id += 1
        del account.trades[:-MAX_TRADES]

    def _backfill(self, account: SimAccount, now: datetime) -> None:
        """Trades over the past days and a NAV history that walks back from today's value."""
        for days_ago in range(HISTORY_DAYS, 0, -3):
            moment = (now - timedelta(days=days_ago)).replace(hour=self.rng.randint(9, 15),
                                                              minute=self.rng.randint(0, 59), second=self.rng.randint(0, 59))
            self._trade(account, moment, drift=0.002 * days_ago)
        value = self.nav(account)
        for days_ago in range(HISTORY_DAYS + 1):
            account.nav_history[(now - timedelta(days=days_ago)).date()] = value
            value = (value * (1 + Decimal(self.rng.gauss(0, 0.006)).quantize(Decimal("0.00001")))).quantize(CENT)

    # -- valuation -------------------------------------------------------------------------------

    def to_base(self, amount: Decimal, currency: str, base: str) -> Decimal:
        return amount * self.fx_to_usd[currency] / self.fx_to_usd[base]

    def value(self, holding: Holding | Lot, symbol: str | None = None) -> Decimal:
        """A holding's (or one lot's, of `symbol`) value at the current price."""
        instrument = self.instruments[symbol or holding.symbol]  # type: ignore[union-attr]
        return (holding.quantity * instrument.price * instrument.multiplier).quantize(CENT)

    def cost_money(self, holding: Holding) -> Decimal:
        """What the open lots cost (each lot's cost in cents, summed)."""
        return sum((self.lot_cost(lot, holding.symbol) for lot in holding.lots), Decimal(0))

    def lot_cost(self, lot: Lot, symbol: str) -> Decimal:
        return (lot.quantity * lot.price * self.instruments[symbol].multiplier).quantize(CENT)

    def nav(self, account: SimAccount) -> Decimal:
        cash = sum((self.to_base(amount, ccy, account.base) for ccy, amount in account.cash.items()), Decimal(0))
        held = sum((self.to_base(self.value(h), self.instruments[h.symbol].currency, account.base)
                    for h in account.holdings.values()), Decimal(0))
        return (cash + held).quantize(CENT, ROUND_HALF_EVEN)

    # -- the Flex statement ----------------------------------------------------------------------

    def statement_xml(self, now: datetime, date_style: str = "yyyyMMdd", separator: str = ";",
                      query_name: str = "ibmon activity", *, position_detail: str = "summary+lot",
                      nav_sections: bool = True, base_summary: bool = True, trade_times: str = "dateTime") -> bytes:
        """The Flex statement of every account. `position_detail` is one of POSITION_DETAILS,
        `trade_times` one of TRADE_TIMES; `nav_sections` and `base_summary` say whether the query has
        the NAV sections (EquitySummaryInBase, ChangeInNAV) and the BASE_SUMMARY cash row."""
        shape = _Shape(date_style, separator, position_detail, nav_sections, base_summary, trade_times)
        root = ET.Element("FlexQueryResponse", queryName=query_name, type="AF")
        statements = ET.SubElement(root, "FlexStatements", count=str(len(self.accounts)))
        for account in self.accounts:
            self._statement(statements, account, now, shape)
        return ET.tostring(root, encoding="utf-8", xml_declaration=True)

    def _statement(self, parent: ET.Element, account: SimAccount, now: datetime, shape: "_Shape") -> None:
        day = lambda d: format_date(d, shape.date_style)  # noqa: E731
        moment = lambda m: format_datetime(m, shape.date_style, shape.separator)  # noqa: E731
        start = (now - timedelta(days=HISTORY_DAYS)).date()
        node = ET.SubElement(parent, "FlexStatement", accountId=account.id, fromDate=day(start),
                             toDate=day(now.date()), period="Last30CalendarDays", whenGenerated=moment(now))
        ET.SubElement(node, "AccountInformation", accountId=account.id, acctAlias="", currency=account.base,
                      name=account.name, accountType="Individual", customerType="Individual",
                      ibEntity="IBLLC-US", dateOpened=day(date(2019, 3, 4)),
                      # an attribute IB does not send today: a client must not care
                      tradingPermissionsTier="3")
        history = sorted(account.nav_history.items())
        nav = self.nav(account)
        cash_base = sum((self.to_base(a, c, account.base) for c, a in account.cash.items()), Decimal(0)).quantize(CENT)
        if shape.nav_sections:
            ET.SubElement(node, "ChangeInNAV", accountId=account.id, currency=account.base, fromDate=day(start),
                          toDate=day(now.date()), startingValue=str(history[0][1]), endingValue=str(nav),
                          twr=f"{(nav / history[0][1] - 1) * 100:.4f}")
            summary = ET.SubElement(node, "EquitySummaryInBase")
            for when, total in history:
                ET.SubElement(summary, "EquitySummaryByReportDateInBase", accountId=account.id, currency=account.base,
                              reportDate=day(when), cash=str(cash_base), stock="", total=str(total),
                              totalLong=str(total), totalShort="0")
        cash_report = ET.SubElement(node, "CashReport")
        if shape.base_summary:
            ET.SubElement(cash_report, "CashReportCurrency", accountId=account.id, currency="BASE_SUMMARY",
                          levelOfDetail="BaseCurrency", endingCash=str(cash_base), endingSettledCash=str(cash_base))
        for currency, amount in sorted(account.cash.items()):
            ET.SubElement(cash_report, "CashReportCurrency", accountId=account.id, currency=currency,
                          levelOfDetail="Currency", endingCash=str(amount), endingSettledCash=str(amount),
                          slbNetCash="0")
        positions = ET.SubElement(node, "OpenPositions")
        for holding in account.holdings.values():
            if holding.quantity:
                self._position(positions, account, holding, now, shape)
        trades = ET.SubElement(node, "Trades")
        for trade in account.trades:
            self._trade_row(trades, account, trade, shape)
        cash_tx = ET.SubElement(node, "CashTransactions")
        ET.SubElement(cash_tx, "CashTransaction", accountId=account.id, currency=account.base, type="Deposits/Withdrawals",
                      amount="10000.00", dateTime=moment(datetime.combine(start, datetime.min.time())),
                      description="CASH RECEIPTS / ELECTRONIC FUND TRANSFERS")
        ET.SubElement(cash_tx, "CashTransaction", accountId=account.id, currency="USD", type="Dividends",
                      amount="24.00", dateTime=moment(datetime.combine(start + timedelta(days=9), datetime.min.time())),
                      description="AAPL(US0378331005) CASH DIVIDEND USD 0.24 PER SHARE")
        # a section IB might add one day
        future = ET.SubElement(node, "CryptoStakingRewards", note="unknown to every client")
        ET.SubElement(future, "CryptoStakingReward", accountId=account.id, asset="ETH", amount="0.0012")

    def _position(self, parent: ET.Element, account: SimAccount, holding: Holding, now: datetime,
                  shape: "_Shape") -> None:
        """The summary row and/or one row per lot (each lot's figures; the summary's are the totals)."""
        instrument = self.instruments[holding.symbol]
        common = dict(accountId=account.id, currency=instrument.currency,
                      fxRateToBase=str((self.fx_to_usd[instrument.currency] / self.fx_to_usd[account.base]).quantize(Decimal("0.00001"))),
                      assetCategory=instrument.category, symbol=instrument.symbol, description=instrument.description,
                      conid=instrument.conid, multiplier=str(instrument.multiplier),
                      reportDate=format_date(now.date(), shape.date_style), markPrice=str(instrument.price))
        if shape.position_detail != "lot":
            value, cost_money = self.value(holding), self.cost_money(holding)
            ET.SubElement(parent, "OpenPosition", **common, levelOfDetail="SUMMARY", position=str(holding.quantity),
                          openPrice=str(holding.cost_price), costBasisPrice=str(holding.cost_price),
                          side="Long" if holding.quantity > 0 else "Short", positionValue=str(value),
                          costBasisMoney=str(cost_money), fifoPnlUnrealized=str(value - cost_money), percentOfNAV="",
                          esgScore="71")
        if shape.position_detail != "summary":
            for lot in holding.lots:
                value, cost_money = self.value(lot, holding.symbol), self.lot_cost(lot, holding.symbol)
                opened = format_datetime(lot.opened, shape.date_style, shape.separator)
                ET.SubElement(parent, "OpenPosition", **common, levelOfDetail="LOT", position=str(lot.quantity),
                              openPrice=str(lot.price), costBasisPrice=str(lot.price),
                              side="Long" if lot.quantity > 0 else "Short", positionValue=str(value),
                              costBasisMoney=str(cost_money), fifoPnlUnrealized=str(value - cost_money),
                              openDateTime=opened, holdingPeriodDateTime=opened)

    def _trade_row(self, parent: ET.Element, account: SimAccount, trade: Trade, shape: "_Shape") -> None:
        instrument = self.instruments[trade.symbol]
        proceeds = (-trade.quantity * trade.price * instrument.multiplier).quantize(CENT)
        if shape.trade_times == "dateTime":
            when = {"dateTime": format_datetime(trade.when, shape.date_style, shape.separator)}
        else:  # older statements: the time of day on its own
            when = {"tradeTime": format_time(trade.when, colons=shape.separator == "T")}
        ET.SubElement(parent, "Trade", accountId=account.id, currency=instrument.currency,
                      assetCategory=instrument.category, symbol=trade.symbol, description=instrument.description,
                      conid=instrument.conid, tradeID=str(trade.trade_id), **when,
                      tradeDate=format_date(trade.when.date(), shape.date_style), quantity=str(trade.quantity),
                      tradePrice=str(trade.price),
                      proceeds=str(proceeds), ibCommission=str(trade.commission), fifoPnlRealized="0",
                      buySell="BUY" if trade.quantity > 0 else "SELL", levelOfDetail="EXECUTION",
                      exchange=self.rng.choice(["NASDAQ", "IBKRATS", "ARCA", "IDEALFX"]))


@dataclass(frozen=True)
class _Shape:
    """How the Flex query behind a statement is set up."""

    date_style: str
    separator: str
    position_detail: str
    nav_sections: bool
    base_summary: bool
    trade_times: str
