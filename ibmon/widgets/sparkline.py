"""Tiny text sparklines for table cells."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[Decimal | float], width: int = 10) -> str:
    """The last `width` values as block characters scaled between their min and max."""
    points = [float(v) for v in values[-width:]]  # display only: floats are fine for a shape
    if not points:
        return ""
    low, high = min(points), max(points)
    if high == low:
        return BLOCKS[len(BLOCKS) // 2 - 1] * len(points)
    scale = (len(BLOCKS) - 1) / (high - low)
    return "".join(BLOCKS[round((p - low) * scale)] for p in points)
