"""The helpers a provider screen uses to show values as the dashboard shows them; imported only by
screens (`ScreenSpec` factories), alongside Textual itself.

* `safe_rich(value)`: any provider text as a Rich `Text` built literally, for every Textual widget
  (Static, Label, DataTable cells, options, titles); never hand provider text to an API that parses
  markup (`safe_markup` is for the few that always do);
* `money(value, currency)` to the currency's minor units, `exact_money` with every digit, `number`
  for prices and volumes, `when(value)` for times in the user's `time_format` and `timezone`;
  `MISSING` is how an absent value reads, `COMPUTED` marks a figure ibmon worked out;
* `sign_role(value)`: "up", "down" or "" for a signed amount;
* `watch_store(screen, view, kinds, refresh)`: `refresh()` on the screen's loop after the store's
  `kinds` change, while the screen is attached (unwatch the watcher it returns in `on_unmount`).
"""

from collections.abc import Callable, Iterable
from typing import Any

from ibmon.safe import safe_markup, safe_rich
from ibmon.widgets.format import COMPUTED, MISSING, PARTIAL, exact_money, money, number, sign_role, signed, when

__all__ = ["COMPUTED", "MISSING", "PARTIAL", "exact_money", "money", "number", "safe_markup", "safe_rich",
           "sign_role", "signed", "watch_store", "when"]


def watch_store(screen: Any, view: Any, kinds: Iterable[str], refresh: Callable[[], Any]) -> Any:
    """A watcher of `kinds` in `view` (a `StoreView`) whose changes call `refresh()` on `screen`'s
    loop, and only while the screen is attached: a store change may come from any task."""
    def changed() -> None:
        if screen.is_attached:
            screen.call_later(refresh)

    return view.watch(kinds=tuple(kinds), on_change=changed)
