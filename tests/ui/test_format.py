"""How money reads on screen: the provider's value, never rounded, never in exponent form."""

from decimal import Decimal

import pytest

from ibmon.widgets.format import money, number, signed
from ibmon.widgets.sparkline import sparkline


@pytest.mark.parametrize("raw, shown", [
    ("2370.10000000", "2,370.10"), ("3.7141942606", "3.7141942606"), ("1E+3", "1,000"),
    ("-85.90000000", "-85.90"), ("0.00000000", "0.00"), ("12.3", "12.3"), ("-0.001", "-0.001"),
])
def test_money_keeps_every_significant_digit(raw: str, shown: str):
    assert money(Decimal(raw)) == shown
    assert Decimal(shown.replace(",", "")) == Decimal(raw)


def test_computed_and_missing_values_are_marked():
    assert money(Decimal("5"), computed=True) == "≈5"
    assert money(None) == number(None) == "—"
    assert number(Decimal("1.08500")) == "1.08500"  # prices keep their pip digits
    assert [signed(n) for n in (3, 0, -2)] == ["+3", "±0", "-2"]


def test_sparkline_scales_between_min_and_max():
    assert sparkline([Decimal(1), Decimal(2), Decimal(3)]) == "▁▅█"
    assert sparkline([Decimal(7)] * 3) == "▄▄▄"
    assert sparkline([]) == ""
    assert len(sparkline(list(map(Decimal, range(50))), 10)) == 10
