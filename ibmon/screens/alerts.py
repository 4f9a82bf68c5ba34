"""The alerts screen: active alerts first (newest first), then the recent cleared ones, with time,
rule, subject and figure. Enter or space acknowledges the highlighted alert, `a` every one; an
acknowledged alert stays listed until it clears but no longer counts as new on the badge.

Sized for 80x24: one line per alert, the rule's words in the line under the table for the
highlighted one. Provider text (account numbers, symbols) is shown as safe text, never markup.
"""

from __future__ import annotations


from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ibmon.alerting import AlertMonitor
from ibmon.alerts import Alert
from ibmon.safe import safe_text
from ibmon.widgets.format import when

STATES = {True: ("FIRING", "bold red"), False: ("clear", "dim")}


class AlertsScreen(Screen[None]):
    BINDINGS = [
        Binding("enter,space", "acknowledge", "Acknowledge"),
        Binding("a", "acknowledge_all", "Acknowledge all"),
        Binding("escape,q", "close", "Back"),
    ]
    DEFAULT_CSS = """
    AlertsScreen #alerts-title { height: 1; padding: 0 1; text-style: bold; }
    AlertsScreen DataTable { height: 1fr; }
    AlertsScreen #alerts-detail { height: 2; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, monitor: AlertMonitor) -> None:
        super().__init__()
        self.monitor = monitor
        self._shown_version = -1
        self._alerts: list[Alert] = []

    def compose(self) -> ComposeResult:
        yield Static(id="alerts-title")
        yield DataTable(id="alerts-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="alerts-detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Time", "State", "Ack", "Rule", "Subject", "Figure")
        self.refill()
        self.set_interval(1.0, self.refill)
        table.focus()

    def refill(self) -> None:
        if self.monitor.version == self._shown_version:
            return
        self._shown_version = self.monitor.version
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        self._alerts = self.monitor.listed()
        table.clear()
        for alert in self._alerts:
            state, style = STATES[alert.active]
            table.add_row(Text(when(alert.fired_at)), Text(state, style=style),
                          Text("✓" if alert.acknowledged else ("new" if alert.active else "")),
                          Text(safe_text(alert.rule.name, 24)),
                          Text(safe_text(f"{alert.connection} {alert.subject}", 28)),
                          Text(safe_text(alert.figure_text(alert.clear_figure if not alert.active and alert.clear_figure
                                                           is not None else None), 40)),  # its currency is a provider's
                          key=alert.id)
        if self._alerts:
            table.move_cursor(row=min(cursor, len(self._alerts) - 1))
        active = sum(alert.active for alert in self._alerts)
        new = len(self.monitor.unacknowledged())
        title = f"Alerts: {active} active, {new} new, {len(self._alerts) - active} cleared"
        if not self.monitor.rules:
            title = "Alerts: no rules ([[alerts]] in the config; `ibmon config check` validates them)"
        self.query_one("#alerts-title", Static).update(Text(title))
        self._detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # enter on a row: acknowledge it
        self.action_acknowledge()

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._detail()

    def _highlighted(self) -> Alert | None:
        table = self.query_one(DataTable)
        if not self._alerts or table.cursor_row >= len(self._alerts):
            return None
        return self._alerts[table.cursor_row]

    def _detail(self) -> None:
        alert = self._highlighted()
        text = ""
        if alert is not None:
            ended = (f" · cleared {when(alert.cleared_at)}"
                     if alert.cleared_at is not None else "")
            text = f"{alert.rule.name}: {alert.rule.describe()}{ended}\n{alert.connection} {alert.subject}"
        self.query_one("#alerts-detail", Static).update(Text(safe_text(text, 300, multiline=True)))

    def action_acknowledge(self) -> None:
        alert = self._highlighted()
        if alert is not None:
            self.monitor.acknowledge([alert.id])
            self.refill()

    def action_acknowledge_all(self) -> None:
        self.monitor.acknowledge(alert.id for alert in self._alerts)
        self.refill()

    def action_close(self) -> None:
        self.dismiss(None)
