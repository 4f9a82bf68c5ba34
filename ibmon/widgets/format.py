"""How numbers and times read on screen. Money is formatted from its Decimal, digit for digit."""

from __future__ import annotations

from decimal import Decimal

#: Marks a value ibmon computed rather than read from the provider.
COMPUTED = "≈"
MISSING = "—"


def money(value: Decimal | None, computed: bool = False) -> str:
    """Thousands separators, every digit the provider sent, no exponent."""
    if value is None:
        return MISSING
    text = f"{value:,f}"
    return COMPUTED + text if computed else text


def number(value: Decimal | None) -> str:
    """A price or volume: exact, no separators (they would hide the pip digits)."""
    if value is None:
        return MISSING
    return f"{value:f}"


def signed(value: int) -> str:
    return f"+{value}" if value > 0 else str(value) if value < 0 else "±0"


def sign_role(value: Decimal | int | None) -> str:
    """The table role of a signed amount: green up, red down."""
    if value is None or value == 0:
        return ""
    return "up" if value > 0 else "down"
