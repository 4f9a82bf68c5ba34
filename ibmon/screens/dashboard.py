"""The dashboard screen: four panels across all connections, the status line and the keys.

Frames are driven by the store: the first change after a frame schedules the next one, at most 30 per
second, and nothing runs while nothing changes. Each frame drains one store watcher and hands each
panel only the keys that changed, so a burst of ticks on one symbol repaints one row once.

Layout: the panels share the terminal's lines by what they hold (`ibmon.layout.share_lines`): the
tick board and the lead funnel take the rows they need, positions the rest, and every panel shows
rows even at 80x24. The tick board sits beside the positions when both fit the width (`layout =
"auto"`), or as the config's `layout` says. The arrangement is worked out again when the terminal is
resized and when a panel's row count changes, and applied only when it differs, so a frame that
changes no count costs no layout pass. `z` maximises the focused panel (Textual's maximise: the
status line and the keys stay).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from textual import events
from textual.app import ComposeResult
from textual.containers import Container, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget

from ibmon.errors import describe_exception
from ibmon.keymap import core_binding
from ibmon.layout import Want, share_lines
from ibmon.screens.first_run import Welcome
from ibmon.widgets.accounts import AccountsTable
from ibmon.widgets.alert_badge import AlertBadge
from ibmon.widgets.health_bar import HealthBar
from ibmon.widgets.key_bar import KeyBar
from ibmon.widgets.lead_funnel import LeadFunnel
from ibmon.widgets.live_table import LiveTable
from ibmon.widgets.positions import PositionsTable
from ibmon.widgets.selection import Selection
from ibmon.widgets.tick_board import TickBoard

if TYPE_CHECKING:  # pragma: no cover
    from ibmon.api import Action, ScreenSpec
    from ibmon.feeds import Connection, FeedRuntime
    from ibmon.screens.first_run import FirstRun
    from ibmon.store import StoreView

log = logging.getLogger("ibmon.app")

FRAME_INTERVAL = 1 / 30
#: Records of one kind a frame takes in at most: a first refresh of 100,000 positions is shown over
#: several frames (the first screenful at once), and keys are answered between them.
FRAME_RECORDS = 2000
#: Below this height the status line starts compact (one line) unless the user toggled it.
TALL_LAYOUT = 34
PROBLEM_TIMEOUT = 20.0
#: Lines inside a table's border that are not rows: its column header.
HEADER_LINES = 1
#: Columns a table's vertical scrollbar takes.
SCROLLBAR = 1
#: How many times more of the contested rows a panel gets than the balances panel.
WEIGHTS = {"accounts": 1, "ticks": 2, "positions": 2, "leads": 1}


@runtime_checkable
class DashboardHost(Protocol):
    """What the dashboard needs of the app that shows it (the app is one; the dashboard does not
    import the app, which imports the dashboard): the data, the user's settings, and the app's ways
    to act on a selected row and to open provider screens."""

    #: The store, read-only.
    view: StoreView
    runtime: FeedRuntime
    read_only: bool
    #: The config's `layout` (one of config.LAYOUTS).
    panel_layout: str
    #: Set when there is no config to show (the dashboard then explains how to start).
    first_run: FirstRun | None
    #: History (ibmon.history.History) and the alert monitor (ibmon.alerting.AlertMonitor), or None.
    history: Any
    alerts: Any

    def connection_titles(self) -> dict[str, str]: ...

    def key_display(self, binding_id: str) -> str: ...

    def check_terminal(self) -> None: ...

    def action_with_key(self, picked: Selection, key: str) -> Action | None: ...

    async def perform_action(self, connection: str, action: Action, target: Any,
                             check: Callable[[], str | None] | None = None) -> None: ...

    async def quick_actions(self, picked: Selection) -> None: ...

    async def pick_provider_screen(self, connection: str, selected: Any = None) -> None: ...

    def screen_specs(self, conn: Connection) -> list[ScreenSpec]: ...

    def open_provider_screen(self, connection: str, spec_id: str, selected: Any = None) -> None: ...

    def open_history(self, panel: Any) -> None: ...

    def open_alerts(self) -> None: ...


class DashboardScreen(Screen):
    """Four panels across all connections, the status line and the keys."""

    BINDINGS = [
        core_binding("action", "quick_actions", short="Actions"),
        core_binding("provider_screen", "provider_screen", short="Screens"),
        core_binding("maximize", "toggle_maximize", short="Zoom"),
        core_binding("next_panel", "app.focus_next", short="Panel", show=False),
        core_binding("previous_panel", "app.focus_previous", show=False),
        core_binding("toggle_health", "toggle_health", short="Status", show=False),
        core_binding("history", "history", short="History", show=False),
        core_binding("alerts", "alerts", short="Alerts", show=False),
    ]
    #: What stays on screen beside a maximised panel: the status line and the keys.
    ALLOW_IN_MAXIMIZED_VIEW = "#bottom"
    #: Escape reaches the focused panel first (its filter), then `back` leaves the maximised view.
    ESCAPE_TO_MINIMIZE = False

    def __init__(self, app: DashboardHost) -> None:
        super().__init__(id="dashboard")
        self.ibmon = app
        self.view = app.view
        self.frame_interval = FRAME_INTERVAL
        #: Frames that found changes to show.
        self.frames = 0
        #: The next frame, when a change has scheduled one.
        self.frame_timer: Timer | None = None
        self._last_frame = 0.0
        self._health_toggled = False
        self._watcher = self.view.watch(on_change=self._schedule_frame)  # called in this context (Watcher)
        self._reported: set[str] = set()
        #: The arrangement last applied (what `relayout` compares against).
        self._plan: tuple | None = None
        self._toast_margin = 0

    def compose(self) -> ComposeResult:
        first_run = self.ibmon.first_run
        if first_run is not None:
            yield Welcome(first_run, self.ibmon.key_display("quit"), id="welcome")
        accounts = AccountsTable(self.view, self.ibmon.history, id="accounts")
        accounts.border_title = "Balances"
        ticks = TickBoard(self.view, self.ibmon.history, id="ticks")
        ticks.border_title = "Ticks"
        positions = PositionsTable(self.view, id="positions")
        positions.border_title = "Positions"
        leads = LeadFunnel(self.view, id="leads")
        leads.border_title = "Lead funnel"
        for table in (accounts, ticks, positions, leads):
            table.display = first_run is None
        yield accounts
        with Container(id="market"):
            yield ticks
            yield positions
        yield leads
        with Vertical(id="bottom"):
            yield AlertBadge(self.ibmon.alerts, self.ibmon.key_display("alerts"), id="alert-badge")
            yield HealthBar(self.view, self.ibmon.connection_titles, self.ibmon.runtime.clock, id="health")
            yield KeyBar("read-only" if self.ibmon.read_only else "", id="keys")

    def on_mount(self) -> None:
        self.accounts = self.query_one(AccountsTable)
        self.ticks = self.query_one(TickBoard)
        self.positions = self.query_one(PositionsTable)
        self.leads = self.query_one(LeadFunnel)
        self.market = self.query_one("#market", Container)
        self.health = self.query_one(HealthBar)
        self.keys = self.query_one(KeyBar)
        self.badge = self.query_one(AlertBadge)
        self.second_timer = self.set_interval(1.0, self.every_second)
        self.frame()
        self.update_status()
        self.accounts.focus()

    def on_unmount(self) -> None:
        self.view.unwatch(self._watcher)

    @property
    def tables(self) -> tuple[LiveTable, ...]:
        return (self.accounts, self.ticks, self.positions, self.leads)

    def on_resize(self, event: events.Resize) -> None:
        if not self._health_toggled:
            self.health.set_compact(event.size.height < TALL_LAYOUT)
        self.relayout()

    # -- layout ----------------------------------------------------------------------------------

    @property
    def stacked(self) -> bool:
        """Whether the tick board sits above the positions (else beside them)."""
        choice = self.ibmon.panel_layout
        if choice == "stacked":
            return True
        if choice == "side-by-side":
            return False
        return self.size.width < self._width_of(self.ticks) + self._width_of(self.positions)

    @staticmethod
    def _width_of(table: LiveTable) -> int:
        """Columns a table needs to show every column: its content, padding, border, scrollbar."""
        widths = table.column_widths
        content = max(table.virtual_size.width, sum(widths) + len(widths) - 1)
        return content + table.styles.gutter.width + SCROLLBAR

    @staticmethod
    def _want(table: LiveTable) -> Want:
        # Rows the filter lets through, total lines and the filter line; the header is chrome.
        return Want(table.content_height - HEADER_LINES, table.styles.gutter.height + HEADER_LINES,
                    WEIGHTS[table.id or ""])

    def relayout(self) -> None:
        """Share the lines between the panels again; apply it only when it changed."""
        if not self.is_mounted:
            return
        bottom = self.badge.lines + self.health.lines + self.keys.outer_size.height
        self._toasts_above(bottom)
        if self.maximized is not None or self.ibmon.first_run is not None:
            return
        available = self.size.height - bottom
        accounts, ticks, positions, leads = (self._want(t) for t in self.tables)
        if self.stacked:
            heights = tuple(share_lines(available, [accounts, ticks, positions, leads], fill=2))
            plan: tuple = ("stacked", heights)
        else:
            market = Want(max(ticks.rows, positions.rows), max(ticks.chrome, positions.chrome),
                          ticks.weight + positions.weight)
            top, middle, bottom = share_lines(available, [accounts, market, leads], fill=1)
            heights = (top, middle, middle, bottom)
            plan = ("side-by-side", heights, self._width_of(self.ticks))
        if plan == self._plan:
            return
        self._plan = plan
        stacked = plan[0] == "stacked"
        self.set_class(stacked, "-stacked")
        self.market.styles.layout = "vertical" if stacked else "horizontal"
        for table, height in zip(self.tables, heights):
            table.styles.height = height
            table.styles.width = "1fr"
        if not stacked:
            self.ticks.styles.width = min(plan[2], self.size.width // 2)
        self.call_after_refresh(self._cursors_in_view)

    def _toasts_above(self, lines: int) -> None:
        """Notifications show above the status line and the keys, never over them."""
        if lines != self._toast_margin:
            self._toast_margin = lines
            for rack in self.query_children("ToastRack"):
                rack.styles.margin = (0, 0, lines, 0)

    def _cursors_in_view(self) -> None:
        """After a resize, the cursor's row is still on screen (the panel scrolls to it)."""
        for table in self.tables:
            index = table.index_of(table.cursor_key) if table.cursor_key is not None else None
            if index is None:
                continue
            top = int(table.scroll_offset.y)
            visible = max(1, table.scrollable_content_region.height - HEADER_LINES)
            if index < top:
                table.scroll_to(y=index, animate=False)
            elif index >= top + visible:
                table.scroll_to(y=index - visible + 1, animate=False)

    def action_toggle_maximize(self) -> None:
        if self.maximized is not None:
            self.minimize()
            return
        table = self.focused if isinstance(self.focused, LiveTable) else None
        if table is None:
            self.app.notify("Move to a panel first (tab), then maximise it.", severity="warning")
            return
        self.maximize(table, container=False)

    def watch_maximized(self, maximized: Widget | None) -> None:
        """A maximised panel fills the screen; leaving it puts every panel back as it was."""
        if maximized is not None:
            maximized.styles.height = "1fr"
            maximized.styles.width = "1fr"
        else:
            self._plan = None
            self.relayout()
        self.call_after_refresh(self._cursors_in_view)

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
                changed = self._this_frame(kind, changed)
                self._show(panel, changed)
                if kind == "account":  # positions show their account's number
                    self._show(self.positions, changed, self.positions.accounts_changed)
        if watcher.drain("health"):
            self.update_status()
        self.relayout()

    def _this_frame(self, kind: str, changed: set) -> set:
        """At most FRAME_RECORDS of the changed keys; the rest wait for the next frame (scheduled now)."""
        if len(changed) <= FRAME_RECORDS:
            return changed
        keys = iter(changed)
        now = {next(keys) for _ in range(FRAME_RECORDS)}
        self._watcher.pending[kind].update(keys)  # type: ignore[index]
        if not self._watcher.signalled:
            self._watcher.signalled = True
            self._schedule_frame()
        return now

    def _show(self, panel: Any, changed: set, apply: Any = None) -> None:
        """A record a panel cannot show is reported once; the dashboard goes on."""
        try:
            (apply or panel.apply)(changed)
        except Exception as exc:
            reason = f"{panel.border_title}: cannot show an update: {describe_exception(exc)}"
            log.exception("%s", reason)
            if reason not in self._reported:
                self._reported.add(reason)
                self.app.notify(reason, severity="error", timeout=PROBLEM_TIMEOUT)

    def on_live_table_view_changed(self, event: LiveTable.ViewChanged) -> None:
        self.relayout()  # a filter narrowed the rows, or its line came or went

    def every_second(self) -> None:
        self.update_status()
        self.accounts.refresh_history()
        self.badge.update_alerts()
        self.ticks.refresh_ages()
        self.relayout()
        self.ibmon.check_terminal()

    def update_status(self) -> None:
        self.health.details_key = self.ibmon.key_display("toggle_health")
        self.health.update_health()

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
            self.app.run_worker(self.ibmon.perform_action(picked.connection, action, picked.target,
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
        self.app.run_worker(self.ibmon.quick_actions(picked), group="actions", exit_on_error=False)

    def selected_record(self) -> Any:
        """The record under the focused panel's cursor (an account, position, tick...), or None."""
        focused = self.focused
        return focused.selected_record() if isinstance(focused, LiveTable) else None

    def action_provider_screen(self) -> None:
        """The selected row's connection's screen, opened on the selected record."""
        picked = self.selection()
        connections = [picked.connection] if picked else list(self.ibmon.runtime.connections)
        if len(connections) != 1:
            self.app.notify("Select a row of the connection whose screen you want.", severity="warning")
            return
        selected = self.selected_record() if picked else None
        self.app.run_worker(self.ibmon.pick_provider_screen(connections[0], selected), group="screens",
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
        selected = self.selected_record() if picked and picked.connection == name else None
        self.ibmon.open_provider_screen(name, spec_id, selected)

    def action_history(self) -> None:
        self.ibmon.open_history(self.focused if isinstance(self.focused, LiveTable) else None)

    def action_alerts(self) -> None:
        self.ibmon.open_alerts()

    def action_toggle_health(self) -> None:
        self._health_toggled = True
        self.health.set_compact(not self.health.compact)
        self.relayout()
