"""Per-currency totals of the rows a table shows, kept as rows come, change and go.

A table hands its `Totals` every record that starts or stops being shown (`add` / `remove`), so a
tick costs one subtraction and one addition per summed field, never a pass over every row; a new
filter rebuilds them once (`reset`). Sums are exact (a wide Decimal context) and never mix
currencies; records without a currency are not added up (they may be in different ones). A field
some shown rows do not report gives a partial total, marked "+?", instead of no total at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ibmon.widgets.format import MISSING, WIDE, money, sign_role

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Summed:
    """`field` of each record is added up into column `column`; `signed` colours the total by its sign."""

    column: int
    field: str
    signed: bool = False


class _Sum:
    __slots__ = ("total", "missing", "computed")

    def __init__(self) -> None:
        self.total = ZERO
        self.missing = 0
        self.computed = 0


class _Group:
    __slots__ = ("count", "sums")

    def __init__(self, fields: int) -> None:
        self.count = 0
        self.sums = [_Sum() for _ in range(fields)]


class Totals:
    """Totals per currency of `summed` fields over the records shown.

    `currency(record)` says which currency a record's amounts are in; `computed(record, field)` says
    whether ibmon worked a value out (the total is then marked "≈" too). `noun` names the rows in the
    label ("Σ 3 accounts"), put in column `label_column`, the currency in `currency_column`.
    Lines appear once the table shows at least `minimum` records.
    """

    def __init__(self, summed: Sequence[Summed], *, currency: Callable[[Any], str | None],
                 label_column: int, currency_column: int, noun: tuple[str, str],
                 computed: Callable[[Any, str], bool] | None = None, minimum: int = 2) -> None:
        self.summed = tuple(summed)
        self.currency = currency
        self.computed = computed
        self.label_column = label_column
        self.currency_column = currency_column
        self.noun = noun
        self.minimum = minimum
        self.groups: dict[str, _Group] = {}
        #: Records counted (with or without a currency).
        self.count = 0
        #: Something changed since `lines()` was last built.
        self.changed = True

    def empty(self) -> "Totals":
        """New totals of the same figures, counting nothing yet."""
        return Totals(self.summed, currency=self.currency, computed=self.computed, label_column=self.label_column,
                      currency_column=self.currency_column, noun=self.noun, minimum=self.minimum)

    def copy(self) -> "Totals":
        """New totals counting what these count."""
        totals = self.empty()
        totals.count = self.count
        for currency, group in self.groups.items():
            twin = totals.groups[currency] = _Group(len(self.summed))
            twin.count = group.count
            for mine, theirs in zip(twin.sums, group.sums):
                mine.total, mine.missing, mine.computed = theirs.total, theirs.missing, theirs.computed
        return totals

    def add(self, record: Any) -> None:
        self._count(record, 1)

    def remove(self, record: Any) -> None:
        self._count(record, -1)

    def reset(self, records: Iterable[Any]) -> None:
        self.groups.clear()
        self.count = 0
        for record in records:
            self._count(record, 1)
        self.changed = True

    def _count(self, record: Any, sign: int) -> None:
        self.count += sign
        self.changed = True
        currency = self.currency(record)
        if not currency:
            return
        group = self.groups.get(currency)
        if group is None:
            group = self.groups[currency] = _Group(len(self.summed))
        group.count += sign
        for summed, total in zip(self.summed, group.sums):
            value = getattr(record, summed.field)
            if value is None:
                total.missing += sign
                continue
            total.total = WIDE.add(total.total, value) if sign > 0 else WIDE.subtract(total.total, value)
            if self.computed is not None and self.computed(record, summed.field):
                total.computed += sign
        if not group.count:
            del self.groups[currency]

    def lines(self, width: int) -> list[list[Any]]:
        """One footer line per currency, `width` cells each, in currency order."""
        self.changed = False
        if self.count < self.minimum:
            return []
        lines = []
        singular, plural = self.noun
        for currency in sorted(self.groups):
            group = self.groups[currency]
            cells: list[Any] = [""] * width
            cells[self.label_column] = (f"Σ {group.count} {singular if group.count == 1 else plural}", "accent")
            cells[self.currency_column] = currency
            for summed, total in zip(self.summed, group.sums):
                if total.missing == group.count:
                    text = MISSING
                else:
                    text = money(total.total, currency, computed=total.computed > 0, partial=total.missing > 0)
                cells[summed.column] = (text, sign_role(total.total) if summed.signed else "")
            lines.append(cells)
        return lines
