"""The store in Prometheus's exposition format (`ibmon collect`'s /metrics), through prometheus_client.

Every figure is read from the store when Prometheus scrapes, so a series exists exactly while its
record does. Labels are bounded by what the store holds and never carry a secret or an unbounded
value: connection, provider, account number, currency, symbol, funnel window and stage. No
position id is ever a label (open positions are counted per account).

Money leaves `Decimal` only here, as Prometheus's float (about 15 significant digits): the exact
figures stay in `ibmon snapshot --json` and on the attach endpoint.

Counters of reconnects and errors come from the health changes the collector sees (`saw_health`).
`alerts_active` is where the alert monitor plugs in its count of active alerts by rule kind.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ibmon.model import MONEY_FIELDS, Health, HealthState
from ibmon.store import Store

__all__ = ["CONTENT_TYPE_LATEST", "StoreMetrics"]

ACCOUNT_LABELS = ("connection", "provider", "account", "currency")
#: Account figures exported, by field (credit is not asked for: it is folded into equity anyway).
ACCOUNT_FIGURES = tuple(name for name in MONEY_FIELDS if name != "credit")
STAGES = ("leads", "registrations", "transactions")


class StoreMetrics:
    """A prometheus_client collector over one store. `providers()` maps connection → provider name;
    `alerts_active()` (the alerts engine's hook) gives active alerts by rule kind."""

    def __init__(self, store: Store, providers: Callable[[], dict[str, str]],
                 clock: Callable[[], float] = time.monotonic,
                 alerts_active: Callable[[], dict[str, int]] | None = None) -> None:
        self.store = store
        self.providers = providers
        self.clock = clock
        self.alerts_active = alerts_active
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)
        self.reconnects: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self._seen: dict[str, tuple[HealthState, float]] = {}

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def saw_health(self, connection: str, health: Health) -> None:
        """Count a new health state: a failure (reconnecting / error) or a fresh connect attempt."""
        mark = (health.state, health.since)
        if self._seen.get(connection) == mark:
            return
        self._seen[connection] = mark
        if health.state in (HealthState.RECONNECTING, HealthState.ERROR):
            self.errors[connection] += 1
        elif health.state is HealthState.CONNECTING and health.attempt > 0:
            self.reconnects[connection] += 1

    # -- the prometheus_client collector protocol ------------------------------------------------

    def collect(self) -> Iterator[Metric]:
        store, providers = self.store, self.providers()
        yield from self._accounts(store, providers)
        yield from self._ticks(store, providers)
        yield from self._leads(store, providers)
        yield from self._connections(store, providers)
        if self.alerts_active is not None:
            active = GaugeMetricFamily("ibmon_alerts_active", "Alerts active now, by rule kind",
                                       labels=("kind",))
            for kind, count in sorted(self.alerts_active().items()):
                active.add_metric((kind,), count)
            yield active

    def _accounts(self, store: Store, providers: dict[str, str]) -> Iterator[Metric]:
        figures = {name: GaugeMetricFamily(f"ibmon_account_{name}", f"Account {name.replace('_', ' ')} "
                                           "(a float: exact figures are in `ibmon snapshot --json`)",
                                           labels=ACCOUNT_LABELS) for name in ACCOUNT_FIGURES}
        open_positions = GaugeMetricFamily("ibmon_account_open_positions", "Open positions of the account",
                                           labels=ACCOUNT_LABELS)
        seen: set[tuple[str, ...]] = set()
        for conn, accounts in store.accounts.items():
            per_account = Counter(key[0] for key in store.positions.get(conn, {}))
            for account in accounts.values():
                labels = (conn, providers.get(conn, ""), account.number, account.currency or "")
                if labels in seen:  # two accounts shown by one number: one series, never a duplicate
                    continue
                seen.add(labels)
                for name, family in figures.items():
                    value = getattr(account, name)
                    if value is not None:
                        family.add_metric(labels, float(value))
                open_positions.add_metric(labels, per_account[account.id])
        yield from figures.values()
        yield open_positions

    def _ticks(self, store: Store, providers: dict[str, str]) -> Iterator[Metric]:
        bid = GaugeMetricFamily("ibmon_tick_bid", "Latest bid", labels=("connection", "provider", "symbol"))
        ask = GaugeMetricFamily("ibmon_tick_ask", "Latest ask", labels=("connection", "provider", "symbol"))
        for conn, ticks in store.ticks.items():
            for tick in ticks.values():
                labels = (conn, providers.get(conn, ""), tick.symbol)
                bid.add_metric(labels, float(tick.bid))
                ask.add_metric(labels, float(tick.ask))
        yield bid
        yield ask

    def _leads(self, store: Store, providers: dict[str, str]) -> Iterator[Metric]:
        counts = GaugeMetricFamily("ibmon_leads", "CRM funnel counts over the window, by stage",
                                   labels=("connection", "provider", "window", "stage"))
        for conn, windows in store.leads.items():
            for window in windows.values():
                for stage in STAGES:
                    counts.add_metric((conn, providers.get(conn, ""), window.window, stage), getattr(window, stage))
        yield counts

    def _connections(self, store: Store, providers: dict[str, str]) -> Iterator[Metric]:
        labels = ("connection", "provider")
        up = GaugeMetricFamily("ibmon_connection_up", "1 while the connection is live", labels=labels)
        state = GaugeMetricFamily("ibmon_connection_state", "1 for the connection's current state",
                                  labels=(*labels, "state"))
        age = GaugeMetricFamily("ibmon_connection_seconds_since_data", "Seconds since data last arrived",
                                labels=labels)
        reconnects = CounterMetricFamily("ibmon_connection_reconnects", "Reconnect attempts", labels=labels)
        errors = CounterMetricFamily("ibmon_connection_errors", "Failures (reconnecting or error)", labels=labels)
        now = self.clock()
        for conn, health in store.health.items():
            names = (conn, providers.get(conn, ""))
            up.add_metric(names, 1 if health.state is HealthState.LIVE else 0)
            for each in HealthState:
                state.add_metric((*names, each.value), 1 if health.state is each else 0)
            last = store.last_data.get(conn)
            if last is not None:
                age.add_metric(names, max(0.0, now - last))
            reconnects.add_metric(names, self.reconnects[conn])
            errors.add_metric(names, self.errors[conn])
        yield from (up, state, age, reconnects, errors)

