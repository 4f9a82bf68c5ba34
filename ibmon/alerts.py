"""Alert rules (`[[alerts]]` in the config) and the engine that evaluates them against the store.

A rule has a kind (what it measures: a figure per subject), a threshold, and for the kinds that
look at change, a window of seconds. An alert fires once when its figure crosses the threshold and
clears only when the figure is back past the threshold by the rule's hysteresis (5 % of the
threshold unless set), so a figure hovering at the threshold does not flap.

The engine reads the store through its watch API (like the panels) and keeps for each windowed rule
and subject the points of the window, bounded in count. `evaluate(now)` takes an explicit time, so
tests drive it on a fake clock. Delivery (notification, bell, command hook) is `ibmon.alerting`.
"""

from __future__ import annotations

import shlex
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ibmon.history.recorder import money_moves, narrowest
from ibmon.history.settings import duration_seconds
from ibmon.model import Account, HealthState, LeadCounts, Position
from ibmon.options import did_you_mean, quoted
from ibmon.store import Store

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class AlertKind:
    """`subject`: what one alert is about; `over`: fires when the figure goes over the threshold
    (else under it); `unit`: "%", "money", "s" or "" (a count); `windowed`: measured over a window."""

    subject: str
    over: bool
    unit: str
    windowed: bool
    help: str


KINDS: dict[str, AlertKind] = {
    "margin_level_below": AlertKind("account", False, "%", False, "an account's margin level below N %"),
    "equity_drop": AlertKind("account", True, "%", True, "an account's equity N % below its highest within the window"),
    "balance_below": AlertKind("account", False, "money", False, "an account's balance below N"),
    "position_loss": AlertKind("position", True, "money", False, "a position losing more than N"),
    "price_move": AlertKind("symbol", True, "%", True, "a symbol's mid price moving N % within the window"),
    "connection_down": AlertKind("connection", True, "s", False,
                                 "a connection stale, reconnecting or in error for N seconds"),
    "new_leads": AlertKind("leads", True, "", True, "more than N new leads within the window"),
    "new_registrations": AlertKind("leads", True, "", True, "more than N new registrations within the window"),
    "deposit_over": AlertKind("money", True, "money", True, "a deposit over N within the window"),
    "withdrawal_over": AlertKind("money", True, "money", True, "a withdrawal over N within the window"),
}
RULE_KEYS = ("name", "kind", "threshold", "window", "connection", "account", "symbol", "currency", "hysteresis",
             "bell", "command", "command_timeout")
DEFAULT_WINDOW = 300.0
DEFAULT_HYSTERESIS = Decimal(5)
DEFAULT_COMMAND_TIMEOUT = 10.0
COMMAND_TIMEOUT_RANGE = (0.1, 300.0)
#: Points kept per rule and subject (a window of changes several times a second stays bounded).
WINDOW_POINTS = 20_000
BAD_STATES = (HealthState.STALE, HealthState.RECONNECTING, HealthState.ERROR)


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str
    threshold: Decimal
    window: float = DEFAULT_WINDOW
    connection: str | None = None
    account: str | None = None
    symbol: str | None = None
    currency: str | None = None
    #: Percent of the threshold the figure must come back by before the alert clears.
    hysteresis: Decimal = DEFAULT_HYSTERESIS
    bell: bool = True
    command: tuple[str, ...] = ()
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT

    @property
    def spec(self) -> AlertKind:
        return KINDS[self.kind]

    def breached(self, figure: Decimal) -> bool:
        if self.kind == "connection_down":
            return figure >= self.threshold
        return figure > self.threshold if self.spec.over else figure < self.threshold

    def recovered(self, figure: Decimal) -> bool:
        band = self.threshold * self.hysteresis / HUNDRED
        return figure <= self.threshold - band if self.spec.over else figure >= self.threshold + band

    def describe(self) -> str:
        """The rule in words: "margin level below 150 %", "price move over 0.5 % within 60 s"."""
        spec = self.spec
        words = self.kind.replace("_", " ")
        if not words.endswith((" below", " over")):
            words += " over"
        text = f"{words} {format_figure(self.threshold, spec.unit, self.currency)}"
        if spec.windowed:
            text += f" within {self.window:g} s"
        return text


@dataclass
class Alert:
    """One firing of a rule for one subject, until it clears."""

    rule: Rule
    connection: str
    subject: str
    figure: Decimal
    fired_at: float
    currency: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    cleared_at: float | None = None
    clear_figure: Decimal | None = None
    acknowledged: bool = False

    @property
    def active(self) -> bool:
        return self.cleared_at is None

    def figure_text(self, figure: Decimal | None = None) -> str:
        return format_figure(self.figure if figure is None else figure, self.rule.spec.unit,
                             self.currency or self.rule.currency)

    def summary(self) -> str:
        """"Margin floor: Broker 7001 at 120.50 % (margin level below 150 %)"."""
        rule = self.rule.describe()
        text = f"{self.rule.name}: {self.connection} {self.subject} at {self.figure_text()}"
        return text if rule == self.rule.name else f"{text} ({rule})"

    def row(self) -> dict[str, Any]:
        """As the history database keeps it."""
        return {"id": self.id, "rule": self.rule.name, "kind": self.rule.kind, "connection": self.connection,
                "subject": self.subject, "threshold": format(self.rule.threshold, "f"),
                "figure": format(self.figure, "f"), "unit": self.rule.spec.unit, "fired_at": self.fired_at,
                "cleared_at": self.cleared_at,
                "clear_figure": None if self.clear_figure is None else format(self.clear_figure, "f")}

    def as_json(self) -> dict[str, Any]:
        """For scripts (the command hook, `ibmon alerts --json`, the snapshot): figures as decimal strings."""
        row = self.row()
        row["state"] = "active" if self.active else "cleared"
        row["rule_text"] = self.rule.describe()
        row["acknowledged"] = self.acknowledged
        return row


def format_figure(value: Decimal, unit: str, currency: str | None = None) -> str:
    if unit == "%":
        return f"{value.quantize(Decimal('0.01')):f} %"
    if unit == "s":
        return f"{int(value)} s"
    if unit == "money":
        return f"{value:f}" + (f" {currency}" if currency else "")
    return f"{value:f}"


# -- config ------------------------------------------------------------------------------------


def parse_rules(raw: Any, connections: Iterable[str], problems: list[str]) -> list[Rule]:
    """The `[[alerts]]` tables as rules; each mistake is one line in `problems` naming the rule and key."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        problems.append("alerts must be written as [[alerts]] tables")
        return []
    names = list(connections)
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, table in enumerate(raw, start=1):
        rule = _rule(index, table, names, problems)
        if rule is None:
            continue
        if rule.name in seen:
            problems.append(f"alert {quoted(rule.name)}: another rule has this name (names tell alerts apart)")
            continue
        seen.add(rule.name)
        rules.append(rule)
    return rules


def _rule(index: int, table: dict[str, Any], connections: list[str], problems: list[str]) -> Rule | None:
    name = table.get("name")
    where = f"alert {quoted(name)}" if isinstance(name, str) and name.strip() else f"alert #{index}"
    before = len(problems)

    def problem(text: str) -> None:
        problems.append(f"{where}: {text}")

    for key in table:
        if key not in RULE_KEYS:
            problem(f"unknown key {quoted(key)}{did_you_mean(key, RULE_KEYS)}")
    kind = table.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        hint = did_you_mean(kind, KINDS) if isinstance(kind, str) else ""
        problem(f'key "kind" must be one of {", ".join(KINDS)}, not {kind!r}{hint}')
        return None
    spec = KINDS[kind]
    threshold = _decimal(table.get("threshold"))
    if threshold is None or threshold < 0:
        problem(f'key "threshold" must be a number of at least 0 ({spec.help}), not {table.get("threshold")!r}')
    window = DEFAULT_WINDOW
    if "window" in table:
        window = duration_seconds(table["window"])  # type: ignore[assignment]
        if not spec.windowed:
            problem(f'key "window": a {kind} rule has no window (it looks at the latest figure)')
        elif window is None:
            problem(f'key "window" must be a number of seconds or a duration such as "5m", not {table["window"]!r}')
    scopes = {"connection": True, "account": spec.subject in ("account", "position"),
              "symbol": spec.subject in ("symbol", "position"), "currency": spec.unit == "money"}
    values: dict[str, str | None] = {}
    for key, allowed in scopes.items():
        value = table.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            problem(f'key "{key}" must be a non-empty string')
        elif value is not None and not allowed:
            problem(f'key "{key}": a {kind} rule is not about one {key}')
        values[key] = value if isinstance(value, str) else None
    if values["connection"] is not None and values["connection"] not in connections:
        problem(f'key "connection": no connection is called {quoted(values["connection"])}'
                f'{did_you_mean(values["connection"], connections)}')
    hysteresis = _decimal(table.get("hysteresis", DEFAULT_HYSTERESIS))
    if hysteresis is None or not 0 <= hysteresis <= 100:
        problem(f'key "hysteresis" must be a percent of the threshold from 0 to 100, not {table.get("hysteresis")!r}')
    bell = table.get("bell", True)
    if not isinstance(bell, bool):
        problem('key "bell" must be true or false')
    command = _command(table.get("command"), problem)
    timeout = table.get("command_timeout", DEFAULT_COMMAND_TIMEOUT)
    low, high = COMMAND_TIMEOUT_RANGE
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not low <= timeout <= high:
        problem(f'key "command_timeout" must be a number of seconds from {low:g} to {high:g}, not {timeout!r}')
    if isinstance(name, str) and not name.strip() or (name is not None and not isinstance(name, str)):
        problem('key "name" must be a non-empty string')
    if len(problems) > before:
        return None
    assert threshold is not None and hysteresis is not None and window is not None
    rule = Rule(name="", kind=kind, threshold=threshold, window=window, connection=values["connection"],
                account=values["account"], symbol=values["symbol"], currency=values["currency"],
                hysteresis=hysteresis, bell=bell, command=command, command_timeout=float(timeout))
    return Rule(**{**rule.__dict__, "name": name.strip() if isinstance(name, str) else rule.describe()})


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _command(value: Any, problem: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list) and value and all(isinstance(part, str) and part for part in value):
        return tuple(value)
    if isinstance(value, str) and value.strip():
        try:
            return tuple(shlex.split(value))
        except ValueError as exc:
            problem(f'key "command": cannot parse it ({exc})')
            return ()
    problem('key "command" must be a program and its arguments: "notify-send ibmon" or ["notify-send", "ibmon"]')
    return ()


# -- the engine --------------------------------------------------------------------------------


class _Track:
    """A rule's view of one subject: the window's points (windowed kinds) and its alert, if firing."""

    __slots__ = ("points", "alert", "subject", "currency")

    def __init__(self, subject: str, currency: str | None) -> None:
        self.points: deque[tuple[float, Decimal]] = deque(maxlen=WINDOW_POINTS)
        self.alert: Alert | None = None
        self.subject = subject
        self.currency = currency


class AlertEngine:
    """Evaluates `rules` against `store`; `evaluate(now)` returns the alerts that fired or cleared."""

    def __init__(self, rules: Iterable[Rule], store: Store) -> None:
        self.rules = list(rules)
        self.store = store
        self._watcher = store.watch()
        #: (rule index, connection, subject key) -> track
        self._tracks: dict[tuple[int, str, Any], _Track] = {}
        self._bad_since: dict[str, float] = {}
        self._leads: dict[tuple[str, str], LeadCounts] = {}
        self._by_subject: dict[str, list[int]] = {}
        for index, rule in enumerate(self.rules):
            self._by_subject.setdefault(rule.spec.subject, []).append(index)

    def close(self) -> None:
        self.store.unwatch(self._watcher)

    def active(self) -> list[Alert]:
        return sorted((t.alert for t in self._tracks.values() if t.alert is not None), key=lambda a: -a.fired_at)

    def evaluate(self, now: float) -> list[Alert]:
        changes: list[Alert] = []
        watcher = self._watcher
        store = self.store
        rules = self._by_subject
        for connection, account_id in watcher.drain("account"):
            account = store.accounts.get(connection, {}).get(account_id)  # type: ignore[call-overload]
            for index in rules.get("account", ()):
                self._account(index, connection, str(account_id), account, now, changes)
        for connection, key in watcher.drain("position"):
            position = store.positions.get(connection, {}).get(key)  # type: ignore[call-overload]
            for index in rules.get("position", ()):
                self._position(index, connection, key, position, now, changes)
        for connection, symbol in watcher.drain("tick"):
            tick = store.ticks.get(connection, {}).get(symbol)  # type: ignore[call-overload]
            for index in rules.get("symbol", ()):
                rule = self.rules[index]
                if not self._in_scope(rule, connection) or rule.symbol not in (None, symbol):
                    continue
                if tick is None:
                    self._gone(index, connection, symbol, now, changes)
                else:
                    self._point(index, connection, symbol, str(symbol), (tick.bid + tick.ask) / 2, now)
        for connection, window in watcher.drain("leads"):
            self._lead_counts(connection, str(window), now)
        watcher.drain("health")
        self._connections(now, changes)
        self._windows(now, changes)
        return changes

    # -- subjects --------------------------------------------------------------------------------

    @staticmethod
    def _in_scope(rule: Rule, connection: str) -> bool:
        return rule.connection is None or rule.connection == connection

    def _account(self, index: int, connection: str, account_id: str, account: Account | None, now: float,
                 changes: list[Alert]) -> None:
        rule = self.rules[index]
        if not self._in_scope(rule, connection):
            return
        if account is None:
            self._gone(index, connection, account_id, now, changes)
            return
        if rule.account not in (None, account.id, account.number):
            return
        if rule.currency not in (None, account.currency):
            return
        subject = account.number
        if rule.kind == "margin_level_below":
            if account.margin_level is not None:
                self._update(index, connection, account_id, subject, account.margin_level, now, changes)
        elif rule.kind == "balance_below":
            if account.balance is not None:
                self._update(index, connection, account_id, subject, account.balance, now, changes,
                             account.currency)
        elif rule.kind == "equity_drop":
            equity = account.equity if account.equity is not None else account.balance
            if equity is not None:
                self._point(index, connection, account_id, subject, equity, now)

    def _position(self, index: int, connection: str, key: Any, position: Position | None, now: float,
                  changes: list[Alert]) -> None:
        rule = self.rules[index]
        if not self._in_scope(rule, connection):
            return
        if position is None:
            self._gone(index, connection, key, now, changes)
            return
        number = self.store.account_number(connection, position.account)
        if rule.account not in (None, position.account, number) or rule.symbol not in (None, position.symbol):
            return
        if rule.currency in (None, position.currency) and position.profit is not None:
            subject = f"{number} {position.symbol} #{position.id}"
            self._update(index, connection, key, subject, -position.profit, now, changes, position.currency)

    def _lead_counts(self, connection: str, window: str, now: float) -> None:
        windows = self.store.leads.get(connection, {})
        counts = windows.get(window)
        if counts is None:
            return
        before = self._leads.get((connection, window))
        self._leads[(connection, window)] = counts
        if counts is not narrowest(windows.values()) or before is None:
            return
        same_days = (before.date_from, before.date_to) == (counts.date_from, counts.date_to)
        for index in self._by_subject.get("leads", ()):
            rule = self.rules[index]
            if self._in_scope(rule, connection) and same_days:
                grown = (counts.leads - before.leads if rule.kind == "new_leads"
                         else counts.registrations - before.registrations)
                if grown > 0:
                    self._point(index, connection, "funnel", "lead funnel", Decimal(grown), now)
        for currency, kind, amount in money_moves(before, counts):
            for index in self._by_subject.get("money", ()):
                rule = self.rules[index]
                if (self._in_scope(rule, connection) and rule.kind == f"{kind}_over"
                        and rule.currency in (None, currency)):
                    self._point(index, connection, currency, f"{kind}s", amount, now, currency)

    def _connections(self, now: float, changes: list[Alert]) -> None:
        health = self.store.health
        for connection in list(self._bad_since):
            if connection not in health:
                del self._bad_since[connection]
        for connection, record in health.items():
            if record.state in BAD_STATES:
                since = self._bad_since.setdefault(connection, now)
            else:
                self._bad_since.pop(connection, None)
                since = now
            for index in self._by_subject.get("connection", ()):
                if self._in_scope(self.rules[index], connection):
                    subject = record.state.value if record.state in BAD_STATES else "connection"
                    self._update(index, connection, None, subject, Decimal(int(now - since)), now, changes)
        for key, track in list(self._tracks.items()):
            index, connection, _subject = key
            if self.rules[index].kind == "connection_down" and connection not in health:
                self._gone(index, connection, None, now, changes)

    # -- windows ---------------------------------------------------------------------------------

    def _point(self, index: int, connection: str, key: Any, subject: str, value: Decimal, now: float,
               currency: str | None = None) -> None:
        track = self._track(index, connection, key, subject, currency)
        track.points.append((now, value))

    def _windows(self, now: float, changes: list[Alert]) -> None:
        """Every windowed figure again: points leave their window as time passes."""
        for (index, connection, key), track in list(self._tracks.items()):
            rule = self.rules[index]
            if not rule.spec.windowed:
                continue
            points = track.points
            while points and points[0][0] < now - rule.window:
                # keep the last point before the window for "change within" kinds: it is where the window starts
                if rule.kind in ("price_move", "equity_drop") and len(points) > 1 and points[1][0] <= now - rule.window:
                    points.popleft()
                elif rule.kind in ("price_move", "equity_drop"):
                    break
                else:
                    points.popleft()
            figure = self._figure(rule, points)
            if figure is not None:
                self._set(index, track, connection, figure, now, changes)
            if not points and track.alert is None:
                del self._tracks[(index, connection, key)]

    @staticmethod
    def _figure(rule: Rule, points: deque[tuple[float, Decimal]]) -> Decimal | None:
        if rule.kind in ("new_leads", "new_registrations"):
            return sum((value for _t, value in points), Decimal(0))
        if rule.kind in ("deposit_over", "withdrawal_over"):
            return max((value for _t, value in points), default=Decimal(0))
        if not points:
            return None
        last = points[-1][1]
        if rule.kind == "price_move":
            first = points[0][1]
            return abs(last - first) / first * HUNDRED if first else None
        highest = max(value for _t, value in points)  # equity_drop
        return (highest - last) / highest * HUNDRED if highest > 0 else None

    # -- state -----------------------------------------------------------------------------------

    def _track(self, index: int, connection: str, key: Any, subject: str, currency: str | None = None) -> _Track:
        track = self._tracks.get((index, connection, key))
        if track is None:
            track = self._tracks[(index, connection, key)] = _Track(subject, currency)
        track.subject = subject
        return track

    def _update(self, index: int, connection: str, key: Any, subject: str, figure: Decimal, now: float,
                changes: list[Alert], currency: str | None = None) -> None:
        track = self._track(index, connection, key, subject, currency)
        self._set(index, track, connection, figure, now, changes)
        if track.alert is None:
            del self._tracks[(index, connection, key)]

    def _set(self, index: int, track: _Track, connection: str, figure: Decimal, now: float,
             changes: list[Alert]) -> None:
        rule = self.rules[index]
        alert = track.alert
        if alert is None:
            if rule.breached(figure):
                track.alert = Alert(rule, connection, track.subject, figure, now, track.currency)
                changes.append(track.alert)
        elif rule.recovered(figure):
            alert.cleared_at, alert.clear_figure = now, figure
            track.alert = None
            changes.append(alert)
        else:
            alert.figure = figure  # the latest reading while it fires

    def _gone(self, index: int, connection: str, key: Any, now: float, changes: list[Alert]) -> None:
        """The subject left the store (an account removed, a position closed): its alert clears."""
        track = self._tracks.pop((index, connection, key), None)
        if track is not None and track.alert is not None:
            track.alert.cleared_at = now
            changes.append(track.alert)
