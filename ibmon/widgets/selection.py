"""What the cursor of a panel designates, and whether acting on it is still what the user meant."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def _fine() -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class Selection:
    """The record under a panel's cursor: its connection, its kind ("account", "position",
    "connection"), the record itself (`target`) and `subject`, which names it for a dialog (safe
    text, each provider field bounded on its own; accounts by their number).

    `check()` says why acting on it now would be wrong (None when it is fine): the row highlighted on
    screen is another one, or the record has gone from the store since. Ask it when the user acts,
    and again after every dialog before the action runs.
    """

    connection: str
    kind: str
    target: Any
    subject: str
    check: Callable[[], str | None] = field(default=_fine, compare=False)

    def problem(self) -> str | None:
        return self.check()
