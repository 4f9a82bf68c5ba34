"""Provider-neutral records: what every plugin reports and every widget shows.

Money is always `Decimal`, exact to the digit the provider sent. Records are frozen: a change is a
new record written to the store, so a widget can compare identities to know what changed.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

Side = Literal["buy", "sell"]

#: Account fields that hold money (all `Decimal | None`).
MONEY_FIELDS = ("balance", "equity", "margin", "free_margin", "margin_level", "credit", "profit")


@dataclass(frozen=True, slots=True)
class Account:
    """The summary of one trading account.

    `name` is how the user knows the account (its number or login) when `id` is an internal
    identifier; screens show it in place of the id. `computed` names the fields ibmon derived rather
    than read from the provider (for example a cTrader equity summed from open positions), so
    screens can mark them.
    `extra` holds provider-specific facts worth showing (account type, platform, leverage...).
    `balance` must always be given; None says the provider did not report it (unknown, never zero:
    e.g. a Flex statement without a NAV section). Screens show it as missing, the snapshot as null.
    """

    id: str
    balance: Decimal | None
    currency: str | None = None
    equity: Decimal | None = None
    margin: Decimal | None = None
    free_margin: Decimal | None = None
    margin_level: Decimal | None = None
    credit: Decimal | None = None
    profit: Decimal | None = None
    name: str | None = None
    computed: frozenset[str] = frozenset()
    extra: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        _require_decimal(self, MONEY_FIELDS)

    @property
    def number(self) -> str:
        """How the user knows the account, everywhere ibmon shows it: its name, else its id."""
        return self.name or self.id


@dataclass(frozen=True, slots=True)
class Position:
    """One open position. `id` is unique within its account; `currency` is the one its profit is in
    (None when the provider does not say)."""

    account: str
    id: str
    symbol: str
    side: Side
    volume: Decimal
    open_price: Decimal | None = None
    current_price: Decimal | None = None
    profit: Decimal | None = None
    extra: tuple[tuple[str, str], ...] = ()
    currency: str | None = None

    def __post_init__(self) -> None:
        _require_decimal(self, ("volume", "open_price", "current_price", "profit"))
        if self.side not in ("buy", "sell"):
            raise ValueError(f"Position.side must be 'buy' or 'sell', not {self.side!r}")

    @property
    def key(self) -> tuple[str, str]:
        return (self.account, self.id)


@dataclass(frozen=True, slots=True)
class Tick:
    """The latest quote of a symbol. `time` is Unix milliseconds (the provider's stamp)."""

    symbol: str
    bid: Decimal
    ask: Decimal
    time: int

    def __post_init__(self) -> None:
        if type(self.bid) is not Decimal or type(self.ask) is not Decimal:
            _require_decimal(self, ("bid", "ask"))


@dataclass(frozen=True, slots=True)
class LeadCounts:
    """CRM funnel counts over an inclusive date window (ISO dates, YYYY-MM-DD).

    `window` labels it ("today", "7d", "30d"...); the snapshot reports the widest one.
    `amounts` holds deposits and withdrawals per currency:
    (("USD", "deposits", Decimal), ("USD", "withdrawals", Decimal), ...).
    """

    window: str
    date_from: str
    date_to: str
    leads: int
    registrations: int
    transactions: int
    amounts: tuple[tuple[str, str, Decimal], ...] = ()


@dataclass(frozen=True)
class RecordKind:
    """A kind of record sessions report and the store keeps: `name` as the store, watchers and
    messages say it ("account", or "<provider>.<what>" for a plugin's own kind, e.g. "xtb.candle"),
    `record` its frozen dataclass, `key` the fields that identify one record within a connection,
    `title` how screens name it, and `scope` the key field a scoped replace-all selects on
    (positions are replaced per "account").

    The sink checks every record against the dataclass's declared field types (`ibmon.validate`):
    str, int, bool, Decimal, Literal, `X | None`, tuples and frozensets of those, (str, str) pairs
    and nested frozen dataclasses of the same. A plugin declares its kinds on its `Provider`."""

    name: str
    record: type
    key: tuple[str, ...]
    title: str = ""
    scope: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or \
                not all(c.isalnum() or c in "_-." for c in self.name):
            raise ValueError(f"RecordKind name must be letters, digits, _, - or ., not {self.name!r}")
        if not isinstance(self.record, type) or not dataclasses.is_dataclass(self.record):
            raise TypeError(f"RecordKind {self.name!r}: record must be a dataclass type")
        key = (self.key,) if isinstance(self.key, str) else tuple(self.key)
        names = {f.name for f in dataclasses.fields(self.record)}
        missing = [k for k in key if k not in names]
        if missing:
            raise ValueError(f"RecordKind {self.name!r}: key field(s) {', '.join(missing)} not in "
                             f"{self.record.__name__}")
        if self.scope is not None and self.scope not in key:
            raise ValueError(f"RecordKind {self.name!r}: scope {self.scope!r} must be one of its key fields")
        object.__setattr__(self, "key", key)

    @property
    def cls(self) -> type:
        """The record class (the older name of `record`)."""
        return self.record

    def key_of(self, record: Any) -> Any:
        values = tuple(getattr(record, name) for name in self.key)
        return values[0] if len(values) == 1 else values

    def in_scope(self, key: Any, scope: Any) -> bool:
        """Whether a record of this kind with `key` belongs to `scope` (None: everything does)."""
        if scope is None or self.scope is None:
            return True
        parts = key if isinstance(key, tuple) else (key,)
        return parts[self.key.index(self.scope)] == scope


ACCOUNT = RecordKind("account", Account, ("id",), "accounts")
POSITION = RecordKind("position", Position, ("account", "id"), "positions", scope="account")
TICK = RecordKind("tick", Tick, ("symbol",), "ticks")
LEADS = RecordKind("leads", LeadCounts, ("window",), "lead counts")
#: The built-in kinds, by name (a plugin's own kinds are declared on its Provider).
RECORD_KINDS = {kind.name: kind for kind in (ACCOUNT, POSITION, TICK, LEADS)}


class HealthState(enum.Enum):
    CONNECTING = "connecting"
    LIVE = "live"
    STALE = "stale"
    RECONNECTING = "reconnecting"
    ERROR = "error"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class Health:
    """The visible state of one connection.

    `detail` says why (already redacted of secrets); `attempt` and `next_try_at` (monotonic seconds)
    describe a pending reconnect; `since` is when this state began. When data last arrived is kept
    apart (`Store.last_data`) so that ticks do not rewrite the health record.
    `notes` are standing remarks the session wants on the health line (e.g. "TLS verification off").
    `rate_limited` marks a wait the provider asked for (`ibmon.errors.RateLimited`).
    """

    state: HealthState
    detail: str = ""
    attempt: int = 0
    next_try_at: float | None = None
    since: float = field(default_factory=time.monotonic)
    notes: tuple[str, ...] = ()
    rate_limited: bool = False

    def describe(self, now: float | None = None, last_data_at: float | None = None) -> str:
        """One human line: 'reconnecting (attempt 3, next try in 4 s): timeout · updated 12 s ago'."""
        now = time.monotonic() if now is None else now
        text = self.state.value
        wait = max(0.0, (self.next_try_at or now) - now)
        if self.rate_limited:
            text = f"rate limited, next try in {wait:.0f} s"
        elif self.state is HealthState.RECONNECTING:
            text += f" (attempt {self.attempt}, next try in {wait:.0f} s)"
        if self.detail:
            text += f": {self.detail}"
        if last_data_at is not None:
            text += f" · updated {format_age(now - last_data_at)} ago"
        for note in self.notes:
            text += f" · {note}"
        return text


def _require_decimal(record: object, names: tuple[str, ...]) -> None:
    """Money must never be a float or a string in a record: fail where the plugin builds it."""
    for name in names:
        value = getattr(record, name)
        if value is not None and not isinstance(value, Decimal):
            raise TypeError(f"{type(record).__name__}.{name} must be a Decimal, not {type(value).__name__} "
                            f"({value!r}); use ibmon.money.dec()")


def format_age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def extra(**items: Any) -> tuple[tuple[str, str], ...]:
    """Build an `extra` tuple from keyword arguments, skipping None values."""
    return tuple((key, str(value)) for key, value in items.items() if value is not None)
