"""The dashboard screen: four panels across all connections and a health line per connection.

Frames are driven by the store: the first change after a frame schedules the next one, at most 30 per
second, and nothing runs while nothing changes. Each frame drains one store watcher and hands each
panel only the keys that changed, so a burst of ticks on one symbol repaints one row once.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header

from ibmon.errors import describe_exception
from ibmon.keymap import CORE_BINDINGS
from ibmon.widgets.accounts import AccountsTable
from ibmon.widgets.health_bar import HealthBar
from ibmon.widgets.lead_funnel import LeadFunnel
from ibmon.widgets.live_table import LiveTable
from ibmon.widgets.positions import PositionsTable
from ibmon.widgets.selection import Selection
from ibmon.widgets.tick_board import TickBoard

if TYPE_CHECKING:  # pragma: no cover
    from ibmon.app import IbmonApp

log = logging.getLogger("ibmon.app")

FRAME_INTERVAL = 1 / 30
#: Below this width the tick board and the positions stack instead of sitting side by side.
WIDE_LAYOUT = 176
#: Below this height the health bar starts compact (one line) unless the user toggled it.
TALL_LAYOUT = 34
PROBLEM_TIMEOUT = 20.0


def core_binding(binding_id: str, action: str, *, show: bool = True, short: str | None = None,
                 priority: bool = False) -> Binding:
    keys, description = CORE_BINDINGS[binding_id]
    return Binding(keys, action, short or description, show=show, id=binding_id, priority=priority,
                   tooltip=description)


class DashboardScreen(Screen):
    """Four panels across all connections and a health line per connection."""

    BINDINGS = [
        core_binding("action", "quick_actions", short="Actions"),
        core_binding("provider_screen", "provider_screen", short="Screens"),
        core_binding("next_panel", "app.focus_next", show=False),
        core_binding("previous_panel", "app.focus_previous", show=False),
        core_binding("toggle_health", "toggle_health", show=False),
    ]

    def __init__(self, app: "IbmonApp") -> None:
        super().__init__(id="dashboard")
        self.ibmon = app
        self.store = app.store
        self.frame_interval = FRAME_INTERVAL
        #: Frames that found changes to show.
        self.frames = 0
        #: The next frame, when a change has scheduled one.
        self.frame_timer: Timer | None = None
        self._last_frame = 0.0
        self._health_toggled = False
        self._watcher = self.store.watch(self._schedule_frame)
        self._reported: set[str] = set()

    def compose(self) -> ComposeResult:
        yield Header()
        accounts = AccountsTable(self.store, id="accounts")
        accounts.border_title = "Balances"
        ticks = TickBoard(self.store, id="ticks")
        ticks.border_title = "Ticks"
        positions = PositionsTable(self.store, id="positions")
        positions.border_title = "Positions"
        leads = LeadFunnel(self.store, id="leads")
        leads.border_title = "Lead funnel"
        yield accounts
        with Horizontal(id="market"):
            yield ticks
            yield positions
        yield leads
        yield HealthBar(self.store, self.ibmon.connection_titles, self.ibmon.runtime.clock, id="health")
        yield Footer()

    def on_mount(self) -> None:
        self.accounts = self.query_one(AccountsTable)
        self.ticks = self.query_one(TickBoard)
        self.positions = self.query_one(PositionsTable)
        self.leads = self.query_one(LeadFunnel)
        self.health = self.query_one(HealthBar)
        self.second_timer = self.set_interval(1.0, self.every_second)
        self.frame()
        self.health.update_health()
        self.accounts.focus()

    def on_unmount(self) -> None:
        self.store.unwatch(self._watcher)

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < WIDE_LAYOUT, "-narrow")
        if not self._health_toggled:
            self.health.set_compact(event.size.height < TALL_LAYOUT)

    def _schedule_frame(self) -> None:
        """The first change since the last frame: show it one frame interval after that frame."""
        if not self.is_attached:
            return
        delay = max(0.001, self._last_frame + self.frame_interval - time.monotonic())  # Timer needs > 0
        self.frame_timer = self.set_timer(delay, self.frame, name="frame")

    def frame(self) -> None:
        """Hand each panel the keys changed since the last frame; nothing changed, nothing done."""
        watcher = self._watcher
        watcher.rearm()
        self._last_frame = time.monotonic()
        if not watcher.has_changes():
            return
        self.frames += 1
        for kind, panel in (("tick", self.ticks), ("position", self.positions), ("account", self.accounts),
                            ("leads", self.leads)):
            if changed := watcher.drain(kind):  # type: ignore[arg-type]
                self._show(panel, changed)
                if kind == "account":  # positions show their account's number
                    self._show(self.positions, changed, self.positions.accounts_changed)
        if watcher.drain("health"):
            self.health.update_health()

    def _show(self, panel: Any, changed: set, apply: Any = None) -> None:
        """A record a panel cannot show is reported once; the dashboard goes on."""
        try:
            (apply or panel.apply)(changed)
        except Exception as exc:
            reason = f"{panel.border_title}: cannot show an update: {describe_exception(exc)}"
            log.exception("%s", reason)
            if reason not in self._reported:
                self._reported.add(reason)
                self.ibmon.notify(reason, severity="error", timeout=PROBLEM_TIMEOUT)

    def every_second(self) -> None:
        self.health.update_health()
        self.ticks.refresh_ages()
        self.ibmon.check_terminal()

    # -- selection and actions -------------------------------------------------------------------

    def selection(self) -> Selection | None:
        """The record under the focused panel's cursor (see `Selection.problem` before acting)."""
        return self.focused.selection() if isinstance(self.focused, LiveTable) else None

    def on_key(self, event: events.Key) -> None:
        """A quick action's own key (`Action.key`) runs it on the selected row, unless a binding
        in force has that key."""
        if event.key in self.active_bindings:
            return
        picked = self.selection()
        action = self.ibmon.action_with_key(picked, event.key) if picked else None
        if picked is not None and action is not None:
            event.stop()
            problem = picked.problem()
            if problem:
                self.app.notify(problem, title=f"{action.title} — {picked.connection}", severity="warning")
                return
            self.ibmon.run_worker(self.ibmon.perform_action(picked.connection, action, picked.target,
                                                            check=picked.problem),
                                  group="actions", exit_on_error=False)

    def action_quick_actions(self) -> None:
        picked = self.selection()
        if picked is None:
            self.app.notify("Select a position, an account or a connection's row first.", severity="warning")
            return
        problem = picked.problem()
        if problem:
            self.app.notify(problem, title="Quick actions", severity="warning")
            return
        self.ibmon.run_worker(self.ibmon.quick_actions(picked), group="actions", exit_on_error=False)

    def action_provider_screen(self) -> None:
        picked = self.selection()
        connections = [picked.connection] if picked else list(self.ibmon.runtime.connections)
        if len(connections) != 1:
            self.app.notify("Select a row of the connection whose screen you want.", severity="warning")
            return
        self.ibmon.run_worker(self.ibmon.pick_provider_screen(connections[0]), group="screens",
                              exit_on_error=False)

    def action_open_screen(self, spec_id: str) -> None:
        """`screen.<id>`: the selected row's connection if it offers that screen, else the first that does."""
        picked = self.selection()
        offering = [name for name, conn in self.ibmon.runtime.connections.items()
                    if any(spec.id == spec_id for spec in self.ibmon.screen_specs(conn))]
        if not offering:
            self.app.notify(f"No connection offers the screen {spec_id!r}.", severity="warning")
            return
        name = picked.connection if picked and picked.connection in offering else offering[0]
        self.ibmon.open_provider_screen(name, spec_id)

    def action_toggle_health(self) -> None:
        self._health_toggled = True
        self.health.set_compact(not self.health.compact)
