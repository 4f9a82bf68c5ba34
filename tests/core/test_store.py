import contextvars
from decimal import Decimal as D

from ibmon.model import TICK, Account, Health, HealthState, LeadCounts, Position, Tick
from ibmon.store import Store


def test_watcher_sees_existing_keys_then_only_changes():
    store = Store()
    store.set_account("c", Account(id="1", balance=D("10.00")))
    watcher = store.watch()
    assert watcher.drain("account") == {("c", "1")}
    assert watcher.drain("account") == set()
    store.set_tick("c", Tick("EURUSD", D("1.1"), D("1.2"), 1))
    assert watcher.drain("tick") == {("c", "EURUSD")} and not watcher.has_changes()


READER = contextvars.ContextVar("reader", default=None)


def test_a_watcher_is_called_in_the_context_it_was_made_in_wherever_the_change_comes_from():
    store = Store()
    seen = []
    token = READER.set("the dashboard")
    watcher = store.watch(on_change=lambda: seen.append(READER.get()))
    READER.reset(token)
    watcher.rearm()
    contextvars.Context().run(store.set_tick, "c", Tick("EURUSD", D("1.1"), D("1.2"), 1))  # another thread's callback
    watcher.rearm()
    store.set_tick("c", Tick("EURUSD", D("1.2"), D("1.3"), 2))  # the writer's own context
    assert seen == ["the dashboard", "the dashboard"]
    assert READER.get() is None  # the writer's context is left as it was


def test_many_ticks_of_one_symbol_coalesce_into_one_change_but_all_are_applied():
    store = Store()
    watcher = store.watch()
    for i in range(1000):
        store.set_tick("c", Tick("EURUSD", D(i), D(i + 1), i))
    assert watcher.drain("tick") == {("c", "EURUSD")}
    assert store.tick_count == 1000
    assert store.ticks["c"]["EURUSD"].bid == D(999)


def test_history_is_bounded_and_skips_repeats():
    store = Store(history_points=5)
    for i in range(20):
        store.set_tick("c", Tick("X", D(i), D(i), i))
        store.set_tick("c", Tick("X", D(i), D(i), i))
    assert store.history("c", "mid", "X") == [D(15), D(16), D(17), D(18), D(19)]


def test_replace_positions_removes_missing_only_in_scope():
    store = Store()
    p = lambda acc, pid: Position(account=acc, id=pid, symbol="X", side="buy", volume=D(1))
    store.replace_positions("c", [p("A", "1"), p("A", "2"), p("B", "9")])
    watcher = store.watch()
    watcher.drain("position")
    store.replace_positions("c", [p("A", "1")], account="A")
    assert set(store.positions["c"]) == {("A", "1"), ("B", "9")}
    assert watcher.drain("position") == {("c", ("A", "2"))}  # unchanged rows are not reported


def test_replace_accounts_reports_removed_and_changed():
    store = Store()
    store.replace_accounts("c", [Account(id="1", balance=D(1)), Account(id="2", balance=D(2))])
    watcher = store.watch()
    watcher.drain("account")
    store.replace_accounts("c", [Account(id="1", balance=D(5))])
    assert watcher.drain("account") == {("c", "1"), ("c", "2")}
    assert list(store.accounts["c"]) == ["1"]


def test_leads_keep_the_previous_counts():
    store = Store()
    store.set_leads("c", LeadCounts("7d", "2026-01-01", "2026-01-07", 5, 1, 0))
    store.set_leads("c", LeadCounts("7d", "2026-01-01", "2026-01-07", 8, 2, 1))
    assert store.previous_leads["c"]["7d"].leads == 5 and store.leads["c"]["7d"].leads == 8


def test_remove_connection_forgets_everything():
    store = Store()
    store.set_health("c", Health(HealthState.LIVE))
    store.set_tick("c", Tick("X", D(1), D(1), 1))
    watcher = store.watch()
    store.remove_connection("c")
    assert "c" not in store.ticks and "c" not in store.health and store.history("c", "mid", "X") == []
    assert ("c", None) in watcher.drain("health")


def test_a_series_that_never_moved_is_its_records_figure_and_keeps_its_points_once_it_moves():
    store = Store()
    store.set_account("c", Account(id="1", balance=D("10.00")))
    store.set_account("c", Account(id="1", balance=D("10.00"), currency="USD"))  # the figure stands
    assert store.history("c", "equity", "1") == [D("10.00")]
    assert store._history == {}  # nothing kept beside the record while the figure stands
    store.set_account("c", Account(id="1", balance=D("10.00"), equity=D("12.50")))
    store.set_account("c", Account(id="1", balance=D("11.00")))
    assert store.history("c", "equity", "1") == [D("10.00"), D("12.50"), D("11.00")]
    store.set_account("c", Account(id="1", balance=None))  # a figure that goes missing leaves the series
    assert store.history("c", "equity", "1") == [D("10.00"), D("12.50"), D("11.00")]
    store.set_tick("c", Tick("X", D("1.0"), D("1.2"), 1))
    assert store.history("c", "mid", "X") == [D("1.1")]
    assert store.history("c", "mid", "Y") == [] and store.history("c", "nothing", "X") == []


def test_a_removed_record_takes_its_series_with_it():
    store = Store()
    for bid in ("1.0", "1.1", "1.2"):
        store.set_tick("c", Tick("X", D(bid), D(bid), 1))
        store.set_tick("c", Tick("Y", D(bid), D(bid), 1))
    store.remove(TICK, "c", "X")
    store.replace_accounts("c", [Account(id="1", balance=D("1"))])
    store.replace_accounts("c", [Account(id="1", balance=D("2"))])
    assert store.history("c", "equity", "1") == [D("1"), D("2")]
    store.replace_accounts("c", [])
    assert store.history("c", "mid", "X") == [] and store.history("c", "equity", "1") == []
    assert store.history("c", "mid", "Y") == [D("1.0"), D("1.1"), D("1.2")]  # the others stay
    assert set(store._history[("c", "mid")]) == {"Y"} and store._history[("c", "equity")] == {}
