"""How numbers and times read on screen. Money is formatted from its Decimal, digit for digit."""

from __future__ import annotations

from decimal import Decimal

#: Marks a value ibmon computed rather than read from the provider.
COMPUTED = "≈"
MISSING = "—"


def money(value: Decimal | None, computed: bool = False) -> str:
    """Thousands separators and the provider's digits, never rounded; zeros past the cents are
    dropped ("2370.10000000" reads 2,370.10: the same value)."""
    if value is None:
        return MISSING
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        trimmed = value.normalize()
        value = trimmed if trimmed.as_tuple().exponent < -2 else value.quantize(Decimal("0.01"))  # type: ignore[operator]
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
