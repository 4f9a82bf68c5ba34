"""The simulated CRM's population, computed from each record's index.

Leads, transactions and each server's closed positions are `Timeline`s: records 0, 1, 2... at
increasing times — a history spread over the days before the simulator started (computed, never
stored), then live arrivals whose times the ticker appends. Converted leads (customers) and fake
transactions are `Pattern`s: a fixed table of flags repeated along the index. So a CRM of a million
leads costs no memory, a count is arithmetic and a page is built from its indexes alone.

A customer registers `delay` seconds after its lead arrived; leads and customers are last modified
`delay` seconds after they were created. Fixed offsets keep every kind ordered by time, which is what
makes a date filter an index range.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

_MASK = (1 << 64) - 1
DAY = 86400.0


def mix(index: int, salt: int) -> int:
    """A well-spread 64-bit hash of (index, salt) (splitmix64): every field of a record derives from it."""
    x = (index * 0x9E3779B97F4A7C15 + (salt + 1) * 0xD1B54A32D192ED03) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def unit(index: int, salt: int) -> float:
    return mix(index, salt) / 2.0 ** 64


def pick(options: tuple[Any, ...] | list[Any], index: int, salt: int) -> Any:
    return options[mix(index, salt) % len(options)]


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Timeline:
    """Records at increasing times: `history` of them in [start, end), one per equal slot with a
    jitter inside it, then live arrivals (appended, never before `end`)."""

    def __init__(self, history: int, start: float, end: float, salt: int) -> None:
        self.history = history
        self.start = start
        self.end = end
        self.spacing = (end - start) / history if history else 0.0
        self.salt = salt
        self.live: list[float] = []

    def __len__(self) -> int:
        return self.history + len(self.live)

    def time(self, index: int) -> float:
        if index < self.history:
            return self.start + (index + 0.98 * unit(index, self.salt)) * self.spacing
        return self.live[index - self.history]

    def count_before(self, moment: float) -> int:
        """How many records have a time before `moment`."""
        if not self.history or moment <= self.start:
            past = 0
        elif moment > self.end:
            past = self.history
        else:
            # records before slot k all end before `moment`; only record k itself needs a look
            past = min(self.history, int((moment - self.start) // self.spacing))
            if past < self.history and self.time(past) < moment:
                past += 1
        return past + bisect_left(self.live, moment)

    def add(self, moment: float) -> None:
        self.live.append(max(moment, self.live[-1] if self.live else self.end))


class Pattern:
    """Which indexes belong to a subsequence: `flags` repeated forever."""

    def __init__(self, flags: list[bool]) -> None:
        self.flags = flags
        self.period = len(flags)
        self.members = [i for i, flag in enumerate(flags) if flag]
        self.prefix = [0]
        for flag in flags:
            self.prefix.append(self.prefix[-1] + flag)

    @classmethod
    def share(cls, period: int, share: float, seed: int) -> "Pattern":
        chosen = set(random.Random(seed).sample(range(period), max(1, min(period, round(period * share)))))
        return cls([i in chosen for i in range(period)])

    def inverse(self) -> "Pattern":
        return Pattern([not flag for flag in self.flags])

    def has(self, index: int) -> bool:
        return self.flags[index % self.period]

    def count(self, n: int) -> int:
        """Members among indexes 0 .. n-1."""
        return (n // self.period) * len(self.members) + self.prefix[n % self.period]

    def nth(self, rank: int) -> int:
        """The index of member number `rank` (0-based)."""
        return (rank // len(self.members)) * self.period + self.members[rank % len(self.members)]


@dataclass(frozen=True)
class Selection:
    """Records matching a query: ranks 0 .. total-1, each mapped to a record index."""

    ranks: range
    index_of: Callable[[int], int]
    build: Callable[[int], dict[str, Any]]

    @property
    def total(self) -> int:
        return len(self.ranks)

    def page(self, page: int, size: int) -> list[dict[str, Any]]:
        return [self.build(self.index_of(rank)) for rank in self.ranks[(page - 1) * size: page * size]]


# -- what the records are made of -------------------------------------------------------------------

#: country code, currency, first names, last names
COUNTRIES = (
    ("DE", "EUR", ("Lukas", "Anna", "Jonas", "Lea", "Felix"), ("Muller", "Schmidt", "Weber", "Wagner")),
    ("GB", "GBP", ("Oliver", "Amelia", "Harry", "Isla", "Jack"), ("Smith", "Jones", "Taylor", "Brown")),
    ("ES", "EUR", ("Hugo", "Lucia", "Mateo", "Sofia"), ("Garcia", "Lopez", "Martinez", "Sanchez")),
    ("IT", "EUR", ("Leonardo", "Giulia", "Marco", "Chiara"), ("Rossi", "Russo", "Ferrari", "Bianchi")),
    ("PL", "EUR", ("Jakub", "Zuzanna", "Antoni", "Julia"), ("Nowak", "Kowalski", "Wisniewski")),
    ("AE", "USD", ("Omar", "Fatima", "Ahmed", "Mariam"), ("Al Mansoori", "Al Hashimi", "Haddad")),
    ("ZA", "USD", ("Thabo", "Naledi", "Pieter", "Zanele"), ("Nkosi", "Botha", "Dlamini", "Van Wyk")),
    ("NG", "USD", ("Chinedu", "Amara", "Tunde", "Ngozi"), ("Okafor", "Adeyemi", "Balogun")),
    ("MY", "USD", ("Aiman", "Nurul", "Wei Jie", "Siti"), ("Tan", "Lim", "Abdullah", "Wong")),
    ("BR", "USD", ("Gabriel", "Beatriz", "Rafael", "Larissa"), ("Silva", "Santos", "Oliveira")),
    ("CY", "EUR", ("Andreas", "Eleni", "Christos", "Maria"), ("Georgiou", "Ioannou", "Christodoulou")),
)
UTM_SOURCES = ("google", "facebook", "instagram", "youtube", "tiktok", "newsletter", "partner-blog", "affiliate")
UTM_MEDIUMS = ("cpc", "social", "email", "referral", "display", "organic")
UTM_CAMPAIGNS = ("spring-fx", "gold-rush", "crypto-webinar", "copy-trading", "welcome-bonus", "ib-partner")
UTM_TERMS = ("forex trading", "gold price", "bitcoin cfd", "best broker", "", "")
UTM_CONTENT = ("banner-a", "banner-b", "video-1", "carousel", "text-link")
TAG_CATEGORIES = (
    ("Source", ("Webinar", "Landing page", "Referral", "Event", "Import")),
    ("Interest", ("Forex", "Gold", "Indices", "Crypto", "Stocks")),
    ("Experience", ("Beginner", "Intermediate", "Professional")),
    ("Language", ("English", "German", "Spanish", "Arabic", "Portuguese")),
)
SERVERS = {"mt4": ("mt4-live-01", "mt4-live-02"), "mt5": ("mt5-live-01",)}
SERVER_TAGS = tuple(tag for tags in SERVERS.values() for tag in tags)
#: symbol, price, contract size, price digits
SYMBOLS = (("EURUSD", Decimal("1.0850"), 100000, 5), ("GBPUSD", Decimal("1.2700"), 100000, 5),
           ("USDJPY", Decimal("151.20"), 1000, 3), ("XAUUSD", Decimal("2400.00"), 100, 2),
           ("US30", Decimal("39000.0"), 1, 1), ("BTCUSD", Decimal("65000.00"), 1, 2))
VOLUMES = (Decimal("0.01"), Decimal("0.05"), Decimal("0.10"), Decimal("0.50"), Decimal("1.00"), Decimal("2.00"))
DEPOSITS = (100, 200, 250, 500, 1000, 2000, 5000)
WITHDRAWALS = (50, 100, 150, 300, 500, 1000)

LEAD_ID = 100_000
CUSTOMER_ID = 500_000
TRANSACTION_ID = 900_000
LOGIN = 2_000_000


class Population:
    """Every record of the simulated CRM at any moment, computed on request."""

    def __init__(self, *, leads: int, history_days: float, now: float, conversion: float = 0.22,
                 delay: float = 20.0, fake_share: float = 0.06, seed: int = 7) -> None:
        start = now - history_days * DAY
        self.delay = delay
        self.leads = Timeline(leads, start, now, salt=seed)
        self.converted = Pattern.share(100, conversion, seed)
        # deposits and withdrawals begin once the first customers exist
        self.transactions = Timeline(round(leads * conversion * 1.6), start + DAY, now, salt=seed + 1)
        self.fake = Pattern.share(50, fake_share, seed + 1)
        self.real = self.fake.inverse()
        per_server = max(100, leads // 8) // len(SERVER_TAGS)
        self.closed = {tag: Timeline(per_server, start + DAY, now, salt=seed + 10 + n)
                       for n, tag in enumerate(SERVER_TAGS)}

    # -- selections (date bounds are epoch seconds, [from, to)) ---------------------------------

    def select_leads(self, registered: tuple[float, float] | None,
                     modified: tuple[float, float] | None) -> Selection:
        lo, hi = 0, len(self.leads)
        for bounds, shift in ((registered, 0.0), (modified, self.delay)):
            if bounds:
                lo = max(lo, self.leads.count_before(bounds[0] - shift))
                hi = min(hi, self.leads.count_before(bounds[1] - shift))
        return Selection(range(lo, max(lo, hi)), int, self.lead)

    def select_customers(self, registered: tuple[float, float] | None, modified: tuple[float, float] | None,
                         now: float) -> Selection:
        # customer of lead L registers at time(L) + delay: only those registered by now exist
        lo, hi = 0, self.leads.count_before(now - self.delay + 1e-6)
        for bounds, shift in ((registered, self.delay), (modified, 2 * self.delay)):
            if bounds:
                lo = max(lo, self.leads.count_before(bounds[0] - shift))
                hi = min(hi, self.leads.count_before(bounds[1] - shift))
        ranks = range(self.converted.count(lo), self.converted.count(max(lo, hi)))
        return Selection(ranks, int, self.customer)

    def select_transactions(self, bounds: tuple[float, float], include_fake: bool) -> Selection:
        lo, hi = (self.transactions.count_before(b) for b in bounds)
        hi = max(lo, hi)
        if include_fake:
            return Selection(range(lo, hi), int, self.transaction)
        return Selection(range(self.real.count(lo), self.real.count(hi)), self.real.nth, self.transaction)

    def select_closed(self, tag: str, bounds: tuple[float, float]) -> Selection:
        timeline = self.closed[tag]
        lo, hi = (timeline.count_before(b) for b in bounds)
        return Selection(range(lo, max(lo, hi)), int, lambda i: self.closed_position(tag, i))

    def customers_before(self, moment: float) -> int:
        return self.converted.count(self.leads.count_before(moment - self.delay))

    # -- records ---------------------------------------------------------------------------------

    def person(self, lead: int) -> dict[str, Any]:
        code, _currency, firsts, lasts = pick(COUNTRIES, lead, 1)
        first, last = pick(firsts, lead, 2), pick(lasts, lead, 3)
        email = f"{first}.{last}.{lead + 1}@example.com".lower().replace(" ", "")
        categories = [c for n, c in enumerate(TAG_CATEGORIES) if n == 0 or mix(lead, 4 + n) % 2]
        tags = [{"category": name, "tags": sorted({pick(values, lead, 10 + n), pick(values, lead, 20 + n)})}
                for n, (name, values) in enumerate(categories)]
        utm = {"utmSource": pick(UTM_SOURCES, lead, 30), "utmMedium": pick(UTM_MEDIUMS, lead, 31),
               "utmCampaign": pick(UTM_CAMPAIGNS, lead, 32), "utmTerm": pick(UTM_TERMS, lead, 33),
               "utmContent": pick(UTM_CONTENT, lead, 34)}
        return {"firstName": first, "lastName": last, "email": email, "country": code, "tags": tags,
                "utmDetails": utm}

    def lead(self, index: int) -> dict[str, Any]:
        created = self.leads.time(index)
        return {"id": LEAD_ID + index + 1, **self.person(index), "registrationDate": iso(created),
                "lastModifiedDate": iso(created + self.delay)}

    def accounts(self, rank: int) -> list[tuple[int, str, str]]:
        count = 2 if mix(rank, 40) % 3 == 0 else 1
        return [(LOGIN + 2 * rank + k, pick(SERVER_TAGS, 2 * rank + k, 41), "live") for k in range(count)]

    def customer(self, rank: int) -> dict[str, Any]:
        lead = self.converted.nth(rank)
        registered = self.leads.time(lead) + self.delay
        return {"id": CUSTOMER_ID + rank + 1, "leadId": LEAD_ID + lead + 1, **self.person(lead),
                "registrationDate": iso(registered), "lastModifiedDate": iso(registered + self.delay),
                "userAdditionalId": ", ".join(f"({login}, {server}, {kind})"
                                              for login, server, kind in self.accounts(rank))}

    def amount(self, index: int) -> tuple[str, Decimal]:
        """(type, amount) of transaction `index`: round amounts, some with cents."""
        withdrawal = mix(index, 50) % 10 < 3
        base = pick(WITHDRAWALS if withdrawal else DEPOSITS, index, 51) * 100
        cents = base + (mix(index, 52) % 10000 if mix(index, 53) % 3 == 0 else 0)
        return ("Withdrawal" if withdrawal else "Deposit"), Decimal(cents).scaleb(-2)

    def transaction(self, index: int) -> dict[str, Any]:
        moment = self.transactions.time(index)
        rank = mix(index, 54) % max(1, self.customers_before(moment))
        currency = pick(COUNTRIES, self.converted.nth(rank), 1)[1]
        kind, amount = self.amount(index)
        product = str(7_000_000 + index) if mix(index, 55) % 4 == 0 else "N/A"
        return {"id": TRANSACTION_ID + index + 1, "customerId": CUSTOMER_ID + rank + 1, "type": kind,
                "amount": amount, "currency": currency, "transactionDate": iso(moment),
                "isFake": self.fake.has(index), "productId": product}

    def closed_position(self, tag: str, index: int) -> dict[str, Any]:
        salt = 60 + SERVER_TAGS.index(tag) * 10
        closed = self.closed[tag].time(index)
        opened = closed - 60 - mix(index, salt) % (3 * DAY)
        symbol, price, contract, digits = pick(SYMBOLS, index, salt + 1)
        step = Decimal(1).scaleb(-digits)
        open_price = (price * Decimal(str(1 + (unit(index, salt + 2) - 0.5) * 0.04))).quantize(step)
        close_price = (open_price * Decimal(str(1 + (unit(index, salt + 3) - 0.5) * 0.01))).quantize(step)
        side = "buy" if mix(index, salt + 4) % 2 else "sell"
        volume = pick(VOLUMES, index, salt + 5)
        move = (close_price - open_price) if side == "buy" else (open_price - close_price)
        profit = (move * volume * contract).quantize(Decimal("0.01"))
        rank = mix(index, salt + 6) % max(1, self.customers_before(closed))
        return {"ticket": (SERVER_TAGS.index(tag) + 1) * 10_000_000 + index + 1, "login": LOGIN + 2 * rank,
                "serverTag": tag, "symbol": symbol, "side": side, "volume": volume,
                "openPrice": open_price, "closePrice": close_price, "profit": profit,
                "openTime": iso(opened), "closeTime": iso(closed)}
