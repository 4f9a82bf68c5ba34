"""How the dashboard shares the terminal's lines between its panels (no Textual here: the
dashboard measures, this decides, so the rule is testable on its own).

Every panel first gets its chrome (borders, column header, a filter line) and up to `floor` rows,
so each one shows something even at 80x24. The lines left go to the panels that have more rows to
show, one at a time to the one with the fewest rows per unit of weight, so a panel with few rows
(the tick board, the lead funnel) shows all of them and a long one (positions) takes the rest.
Lines nobody needs go to the `fill` panel, so the screen is always filled and nothing jumps when a
row arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Rows each panel gets before any panel gets more (when the terminal has room for that).
FLOOR = 2


@dataclass(frozen=True, slots=True)
class Want:
    """A panel's claim: `rows` it could show (an empty table shows one line of text), `chrome`
    lines around them, and its `weight` when rows are contested."""

    rows: int
    chrome: int
    weight: int = 1


def share_lines(available: int, wants: Sequence[Want], *, fill: int, floor: int = FLOOR) -> list[int]:
    """Outer heights (lines) of panels stacked in `available` lines; they add up to `available`
    whenever it holds every panel's chrome and one row."""
    rows = [max(1, want.rows) for want in wants]
    chrome = sum(want.chrome for want in wants)
    while floor > 1 and chrome + sum(min(r, floor) for r in rows) > available:
        floor -= 1
    given = [min(r, floor) for r in rows]
    left = available - chrome - sum(given)
    while left > 0:
        wanting = [i for i in range(len(wants)) if given[i] < rows[i]]
        if not wanting:
            break
        neediest = min(wanting, key=lambda i: (given[i] / max(1, wants[i].weight), i))
        given[neediest] += 1
        left -= 1
    if left > 0:
        given[fill] += left
    return [want.chrome + count for want, count in zip(wants, given)]
