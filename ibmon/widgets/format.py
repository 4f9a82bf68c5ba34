"""How numbers and times read on screen.

Money is shown to its currency's minor units (ISO 4217: JPY 0, USD 2, BHD 3; crypto to 8 places;
an unknown or missing currency: 2), rounded half up from the exact Decimal; `exact_money` keeps every
digit the provider sent, for details. Prices and volumes (`number`) are always exact.

Times read one way everywhere: `when()` formats with the process's `TimeFormat`, which the app sets
from the config's `time_format` and `timezone` (`use_time_format`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from functools import cached_property

#: Marks a value ibmon computed rather than read from the provider.
COMPUTED = "≈"
#: Follows a total some of whose rows do not report the figure (the total adds up those that do).
PARTIAL = "+?"
MISSING = "—"

#: ISO 4217 currencies whose minor unit is not the cent (every other code: 2 places).
MINOR_UNITS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
                     "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}
#: Crypto currencies and stablecoins: shown to 8 places (a satoshi).
CRYPTO = frozenset(("BTC", "XBT", "ETH", "USDT", "USDC", "DAI", "BUSD", "LTC", "BCH", "XRP", "SOL", "ADA",
                    "DOT", "DOGE", "TRX", "XLM", "BNB", "AVAX", "MATIC", "POL", "LINK", "UNI", "ETC", "XMR",
                    "TON", "SHIB"))
CRYPTO_PLACES = 8
DEFAULT_PLACES = 2
_QUANTA = {places: Decimal(1).scaleb(-places) for places in range(9)}
#: Room for every digit a provider number may have (ibmon.money bounds them) and for sums of many:
#: rounding and totals in this context are exact.
WIDE = Context(prec=100)


def minor_units(currency: str | None) -> int:
    """Decimal places money in `currency` is shown with."""
    if not currency:
        return DEFAULT_PLACES
    code = currency.strip().upper()
    if code in CRYPTO:
        return CRYPTO_PLACES
    return MINOR_UNITS.get(code, DEFAULT_PLACES)


def money(value: Decimal | None, currency: str | None = None, *, computed: bool = False,
          partial: bool = False) -> str:
    """An amount to `currency`'s minor units with thousands separators: 1,234.57, ¥1,235, 0.12345679 BTC.
    `computed` prefixes "≈" (ibmon worked it out), `partial` appends "+?" (a total missing some rows)."""
    if value is None:
        return MISSING
    places = minor_units(currency)
    value = value.quantize(_QUANTA[places], rounding=ROUND_HALF_UP, context=WIDE)
    text = f"{value:,f}"
    if computed:
        text = COMPUTED + text
    return text + PARTIAL if partial else text


def exact_money(value: Decimal | None, computed: bool = False) -> str:
    """Thousands separators and the provider's digits, never rounded; zeros past the cents are
    dropped ("2370.10000000" reads 2,370.10: the same value). For details and full-precision views."""
    if value is None:
        return MISSING
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        trimmed = value.normalize()
        value = trimmed if trimmed.as_tuple().exponent < -2 else value.quantize(_QUANTA[2])  # type: ignore[operator]
    text = f"{value:,f}"
    return COMPUTED + text if computed else text


#: Text of recent prices and volumes, one string per value, keyed by sign, digits and exponent
#: (1.0 and 1.00, 0 and -0 read differently): 10,000 positions at a few prices hold a few strings,
#: not 30,000. Bounded.
_NUMBERS: dict[tuple, str] = {}
NUMBERS_KEPT = 4096


def number(value: Decimal | None) -> str:
    """A price or volume: exact, no separators (they would hide the pip digits)."""
    if value is None:
        return MISSING
    key = value.as_tuple()
    text = _NUMBERS.get(key)
    if text is None:
        if len(_NUMBERS) >= NUMBERS_KEPT:
            _NUMBERS.clear()
        text = _NUMBERS[key] = f"{value:f}"
    return text


def signed(value: int) -> str:
    return f"+{value}" if value > 0 else str(value) if value < 0 else "±0"


def sign_role(value: Decimal | int | None) -> str:
    """The table role of a signed amount: green up, red down."""
    if value is None or value == 0:
        return ""
    return "up" if value > 0 else "down"


# -- times -----------------------------------------------------------------------------------


LOCAL = "local"


@dataclass(frozen=True)
class TimeFormat:
    """A strftime `pattern` (%Z: the zone's name) in a `zone` ("local": the system's, else an IANA
    name): the config's `time_format` and `timezone`, which it has checked."""

    pattern: str
    zone: str = LOCAL

    @classmethod
    def default(cls) -> "TimeFormat":
        from ibmon.config import DEFAULT_TIME_FORMAT, DEFAULT_TIMEZONE

        return cls(DEFAULT_TIME_FORMAT, DEFAULT_TIMEZONE)

    @cached_property
    def tzinfo(self) -> dt.tzinfo | None:
        if self.zone == LOCAL:
            return None
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.zone)

    def __call__(self, value: dt.datetime | int | float | str | None) -> str:
        """`value` (a datetime, naive meaning UTC; Unix milliseconds; or an ISO 8601 date and time) as
        this format reads it. Any other text (a date alone, say) is returned as it is; None reads "—"."""
        moment = as_datetime(value)
        if moment is None:
            return MISSING if value is None or value == "" else str(value)
        local = moment.astimezone(self.tzinfo)  # None: the system's zone
        return local.strftime(self.pattern)


def as_datetime(value: dt.datetime | int | float | str | None) -> dt.datetime | None:
    """An aware datetime from a datetime (naive: UTC), Unix milliseconds or ISO 8601 text."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(value / 1000, dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and ("T" in value or " " in value.strip()):  # a date alone is no moment
        try:
            return as_datetime(dt.datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


_time_format: TimeFormat | None = None


def use_time_format(pattern: str | None = None, zone: str = LOCAL) -> TimeFormat:
    """Make `pattern` in `zone` how every time reads from now on (the config's `time_format` and
    `timezone`); no pattern: the config's defaults."""
    global _time_format
    _time_format = TimeFormat(pattern, zone) if pattern is not None else TimeFormat.default()
    return _time_format


def time_format() -> TimeFormat:
    """How times read (the config's defaults until the app sets the user's)."""
    return _time_format or use_time_format()


def when(value: dt.datetime | int | float | str | None) -> str:
    """`value` in the configured time format (see `TimeFormat.__call__`)."""
    return time_format()(value)

