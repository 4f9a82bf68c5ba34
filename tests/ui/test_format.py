"""How figures read on screen: money to its currency's minor units (exact in details), decimal
points lined up in a column, one time format everywhere."""

import datetime as dt
from decimal import Decimal

import pytest

from ibmon.widgets.format import (TimeFormat, as_datetime, exact_money, minor_units, money, number, signed,
                                  use_time_format, when)
from ibmon.widgets.live_table import split_decimal
from ibmon.widgets.sparkline import sparkline


@pytest.mark.parametrize("currency, places", [
    ("USD", 2), ("eur", 2), ("JPY", 0), ("KRW", 0), ("BHD", 3), ("KWD", 3), ("CLF", 4), ("BTC", 8),
    ("ETH", 8), ("USDT", 8), ("XYZ", 2), (None, 2), ("", 2),
])
def test_minor_units_follow_iso_4217_and_crypto_reads_to_the_satoshi(currency, places):
    assert minor_units(currency) == places


@pytest.mark.parametrize("raw, currency, shown", [
    ("2370.10000000", "USD", "2,370.10"), ("1234.565", "EUR", "1,234.57"), ("-1234.565", "EUR", "-1,234.57"),
    ("1500000.4", "JPY", "1,500,000"), ("1500000.5", "JPY", "1,500,001"), ("1.2345", "BHD", "1.235"),
    ("1.972976195753046123", "BTC", "1.97297620"), ("12.3", None, "12.30"), ("1E+3", "USD", "1,000.00"),
    ("0.000000000000000000", "USD", "0.00"),
    # the widest number a provider may send is still rounded exactly, not in exponent form
    ("123456789012345678901234.123456789", "BTC", "123,456,789,012,345,678,901,234.12345679"),
])
def test_money_is_rounded_half_up_to_the_currency_minor_units(raw, currency, shown):
    assert money(Decimal(raw), currency) == shown


@pytest.mark.parametrize("raw, shown", [
    ("2370.10000000", "2,370.10"), ("3.7141942606", "3.7141942606"), ("1E+3", "1,000"),
    ("-85.90000000", "-85.90"), ("0.00000000", "0.00"), ("12.3", "12.3"), ("-0.001", "-0.001"),
])
def test_exact_money_keeps_every_significant_digit(raw: str, shown: str):
    assert exact_money(Decimal(raw)) == shown
    assert Decimal(shown.replace(",", "")) == Decimal(raw)


def test_computed_partial_and_missing_values_are_marked():
    assert money(Decimal("5"), "USD", computed=True) == "≈5.00"
    assert money(Decimal("5"), "JPY", partial=True) == "5+?"
    assert money(Decimal("-5"), "USD", computed=True, partial=True) == "≈-5.00+?"
    assert money(None) == number(None) == exact_money(None) == "—"
    assert number(Decimal("1.08500")) == "1.08500"  # prices keep their pip digits
    assert [signed(n) for n in (3, 0, -2)] == ["+3", "±0", "-2"]


@pytest.mark.parametrize("text, parts", [
    ("1,234.50", ("1,234", ".50")), ("1,000", ("1,000", "")), ("≈-5.00+?", ("≈-5", ".00+?")),
    ("—", ("—", "")), ("0.12345678", ("0", ".12345678")),
])
def test_numbers_split_at_their_decimal_point(text, parts):
    assert split_decimal(text) == parts


def test_sparkline_scales_between_min_and_max():
    assert sparkline([Decimal(1), Decimal(2), Decimal(3)]) == "▁▅█"
    assert sparkline([Decimal(7)] * 3) == "▄▄▄"
    assert sparkline([]) == ""
    assert len(sparkline(list(map(Decimal, range(50))), 10)) == 10


MOMENT_MS = 1_767_323_045_000  # 2026-01-02 03:04:05 UTC


def test_times_read_in_the_configured_zone_and_pattern():
    tokyo = TimeFormat("%Y-%m-%d %H:%M:%S %Z", "Asia/Tokyo")
    assert tokyo(MOMENT_MS) == "2026-01-02 12:04:05 JST"  # Unix milliseconds
    assert tokyo("2026-01-02T03:04:05Z") == "2026-01-02 12:04:05 JST"  # ISO 8601 text
    assert tokyo(dt.datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02 12:04:05 JST"  # naive: UTC
    warsaw = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert TimeFormat("%H:%M %Z", "Europe/Warsaw")(warsaw) == "12:00 CEST"
    assert tokyo("2026-01-02") == "2026-01-02"  # a date alone is no moment: left as it is
    assert tokyo("not a time") == "not a time" and tokyo(None) == "—"
    assert as_datetime(10 ** 30) is None  # out of any calendar: not a time, no crash


def test_the_configured_format_is_the_one_every_caller_gets():
    try:
        use_time_format("%H:%M %Z", "UTC")
        assert when(MOMENT_MS) == "03:04 UTC"
    finally:
        use_time_format()
    local = dt.datetime.fromtimestamp(MOMENT_MS / 1000).astimezone()
    assert when(MOMENT_MS) == local.strftime("%Y-%m-%d %H:%M:%S %Z")  # the default: local time with its zone


def test_number_text_is_shared_per_value_and_reads_each_exponent_and_sign():
    texts = [number(Decimal(t)) for t in ("1.0", "1.00", "-0", "0", "100", "1E+2", "1.00")]
    assert texts == ["1.0", "1.00", "-0", "0", "100", "100", "1.00"]
    assert number(Decimal("1.25")) is number(Decimal("1.25"))  # one string for every row at this price
