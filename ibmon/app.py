"""The Textual app: the dashboard over every connection, provider screens, palette, help, keymap,
themes, quick actions, and a clean exit when the terminal goes away or a signal asks.

Data flows one way: the feed runtime writes the store, the dashboard (ibmon/screens/dashboard.py)
reads it at frame rate. The app never calls a provider except through the runtime's `run_action`.

Plugin code is contained: whatever a provider screen raises (an exception or an exit, in a handler,
an action, compose, mount, a render or a worker) closes that screen with a notification naming it
and its plugin (see ibmon/containment.py); whatever a plugin's actions or palette
commands raise is reported; the dashboard keeps running.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import signal
import sys
import time
import weakref
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen

from ibmon.api import Action, Command, ScreenSpec
from ibmon.bindings import Keys, resolve_keys
from ibmon.config import DEFAULT_LAYOUT, LAYOUTS
from ibmon.containment import ExitGuard, modules_involved, owning_screen, the_error
from ibmon.errors import PLUGIN_FAILURES, ProviderError, describe_exception
from ibmon.feeds import Connection, FeedRuntime
from ibmon.keymap import CORE_BINDINGS, core_binding
from ibmon.notices import Notice, NoticeLog
from ibmon.palette import IbmonCommands
from ibmon.plugins import PluginHost
from ibmon.safe import safe_text
from ibmon.screens.confirm import ConfirmScreen
from ibmon.screens.dashboard import PROBLEM_TIMEOUT, DashboardScreen, Selection
from ibmon.widgets.format import when
from ibmon.screens.first_run import FirstRun
from ibmon.screens.help import HelpScreen, legend_rows
from ibmon.screens.notices import NoticesScreen
from ibmon.screens.picker import Choice, Picker
from ibmon.secrets import redact
from ibmon.store import StoreView
from ibmon.textual_seams import FailureHook, add_binding, strips_free_of_cycles, write_changed_cells
from ibmon.themes import DEFAULT_THEME, discover_themes, to_textual_theme

log = logging.getLogger("ibmon.app")

#: Signals that end the app as `q` does (sessions closed, terminal restored), with what the log says.
EXIT_SIGNALS = {"SIGTERM": "terminate signal", "SIGQUIT": "quit signal"}


class IbmonApp(FailureHook):
    """The dashboard app. The CLI builds the runtime and plugin host and calls this constructor."""

    CSS_PATH = "ibmon.tcss"
    TITLE = "ibmon"
    COMMANDS = {IbmonCommands}
    BINDINGS = [
        core_binding("quit", "quit", short="Quit"),
        core_binding("help", "help", short="Help"),
        core_binding("palette", "command_palette", short="Palette", show=False, priority=True),
        core_binding("refresh", "refresh", short="Refresh"),
        core_binding("notifications", "notifications", short="Notices"),
        core_binding("theme", "next_theme", short="Theme", show=False),
        core_binding("back", "back", short="Back", show=False),
    ]

    class Noticed(Message):
        """A notification to show (posted, so `notify` may be called from any thread)."""

        def __init__(self, notice: Notice) -> None:
            super().__init__()
            self.notice = notice

    def __init__(self, runtime: FeedRuntime, host: PluginHost, *, theme: str = DEFAULT_THEME,
                 keys: dict[str, str] | None = None, read_only: bool = False,
                 user_themes_dir: Path | None = None, startup_problems: Sequence[str] = (),
                 panel_layout: str = DEFAULT_LAYOUT, first_run: FirstRun | None = None,
                 history: Any = None, alerts: Any = None) -> None:
        super().__init__()
        write_changed_cells()  # an SSH link carries the cells that changed, not whole lines
        strips_free_of_cycles()  # frames leave no garbage for the cyclic collector
        #: What the dashboard remembers (ibmon.history.History) and the alert rules it watches
        #: (ibmon.alerting.AlertMonitor); None when off.
        self.history = history
        self.alerts = alerts
        self.runtime = runtime
        self.host = host
        self.store = runtime.store
        #: What screens, widgets and plugin commands read the store through (no writes).
        self.view = StoreView(self.store)
        self.read_only = read_only
        #: How the dashboard arranges its panels (the config's `layout`: one of config.LAYOUTS).
        self.panel_layout = panel_layout
        #: Set when there is no config to show (the dashboard then explains how to start).
        self.first_run = first_run
        #: Every notification, newest first, and the one toast that shows the latest.
        self.notices = NoticeLog()
        self._toast_due = False
        self.keys = dict(keys or {})
        self.startup_problems = [redact(p) for p in startup_problems]
        self.requested_theme = theme
        #: Why the app exited on its own when its terminal went away ("hangup signal", "terminal closed").
        self.terminal_lost: str | None = None
        specs, self.theme_problems = discover_themes(host, user_themes_dir)
        self.theme_names: list[str] = []
        for spec in specs:
            self.register_theme(to_textual_theme(spec))
            if spec.name not in self.theme_names:
                self.theme_names.append(spec.name)
        self._tty_fd: int | None = None
        #: Open provider screens → (connection, title, plugin): their failures close them, not the app.
        self._provider_screens: weakref.WeakKeyDictionary[Screen, tuple[str, str, str | None]] = \
            weakref.WeakKeyDictionary()
        self._failed_screens: weakref.WeakSet[Screen] = weakref.WeakSet()
        #: The `screen.<id>` bindings added to the dashboard so far.
        self._bound_screens: set[str] = set()
        self._exit_guard = ExitGuard(self.contain_exit)

    # -- containment of provider screens ---------------------------------------------------------

    def contain_failure(self, error: BaseException) -> bool:
        """A failure of a plugin's screen (a provider screen, one a plugin's command pushed, or one
        opened over either) closes that screen and says so, once; the app keeps running. Any other
        failure is not contained (False)."""
        screen = owning_screen(error, self.screen_stack, lambda s: self._plugin_screen(s) is not None)
        if screen is None:
            return False
        if screen not in self._failed_screens:
            self._failed_screens.add(screen)
            where, title, plugin = self._plugin_screen(screen)  # type: ignore[misc]
            cause = the_error(error)
            log.error("%s screen of %s (plugin %s) failed", title, where, plugin,
                      exc_info=(type(cause), cause, cause.__traceback__))
            self.notify(f"{title} failed and was closed: {describe_exception(cause)}"
                        + (f" (plugin {plugin})" if plugin else ""),
                        title=where, severity="error", timeout=PROBLEM_TIMEOUT)
        while screen in self.screen_stack:  # with whatever it opened over itself
            self.pop_screen()
        return True

    def contain_exit(self, exit_: BaseException) -> bool:
        """`sys.exit()` or a KeyboardInterrupt in a task: a plugin screen's failure as above, or,
        when a plugin's code raised it in a task of its own (a session's reader, say), that task
        ends and the plugin is named; the app keeps running. Exits of the host's own code pass."""
        if self.contain_failure(exit_):
            return True
        plugin = next((p for p in map(self.host.plugin_of_module, modules_involved(exit_)) if p), None)
        if plugin is None:
            return False
        log.error("plugin %s tried to end the app from a task", plugin,
                  exc_info=(type(exit_), exit_, exit_.__traceback__))
        self.notify(f"plugin {plugin} tried to end the app ({describe_exception(exit_)}); "
                    "that task was stopped", title=f"plugin {plugin}", severity="error", timeout=PROBLEM_TIMEOUT)
        return True

    def _plugin_screen(self, screen: Screen) -> tuple[str, str, str | None] | None:
        """(connection or plugin, title, plugin) of a screen that plugin code made, else None."""
        if screen in self._provider_screens:
            return self._provider_screens[screen]
        plugin = self.host.plugin_of_module(type(screen).__module__)
        return None if plugin is None else (f"plugin {plugin}", type(screen).__name__, plugin)

    async def run_action(self, action: Any, default_namespace: Any = None, namespaces: Any = None) -> bool:
        """Textual's `run_action` (every binding goes through it, in the app's own message loop);
        an action of a provider screen that raises or exits is that screen's failure."""
        try:
            return await super().run_action(action, default_namespace, namespaces)
        except PLUGIN_FAILURES as exc:
            if self.contain_failure(exc):
                return True
            raise

    def get_default_screen(self) -> Screen:
        return DashboardScreen(self)

    @property
    def dashboard(self) -> DashboardScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, DashboardScreen)
        return screen

    # -- life cycle ------------------------------------------------------------------------------

    def on_load(self) -> None:
        """Before the terminal is taken over: from here on, signals end the app cleanly and exits
        raised by provider screens are contained."""
        self._exit_guard.install(asyncio.get_running_loop())
        self._watch_signals()

    async def on_mount(self) -> None:
        self.sub_title = "read-only" if self.read_only else ""
        self._apply_start_theme()
        self.runtime.notify_handler = self._runtime_notice
        self.runtime.connections_changed = self._connections_changed
        await self.runtime.start()
        self._start_memory()
        self._bind_provider_screens()
        self._apply_keymap()
        self._report_problems()
        self._watch_terminal()
        self.call_after_refresh(self._settle_memory)

    def _settle_memory(self) -> None:
        """Once the dashboard is up: what start-up built (modules, widgets, styles) lives as long
        as the app, so the garbage collector stops walking it (gen-2 collections walked it in
        30-100 ms, every few seconds while ticks stream in). No collection first: it would stall
        this frame for about as long, to free a few hundred objects."""
        gc.freeze()

    async def on_unmount(self) -> None:
        gc.unfreeze()  # (another app in this process, a test's, starts its own)
        self.runtime.notify_handler = None
        self.runtime.connections_changed = None
        if self.alerts is not None:
            await self.alerts.stop()
        if self.history is not None:
            await self.history.stop()
        await self.runtime.stop()
        self._exit_guard.uninstall()

    # -- history and alerts ----------------------------------------------------------------------

    def _start_memory(self) -> None:
        if self.history is not None:
            self.history.start(lambda message: self.notify(message, title="History", severity="error",
                                                           timeout=PROBLEM_TIMEOUT))
        if self.alerts is not None:
            self.alerts.start(lambda message, title, severity: self.notify(message, title=title, severity=severity),
                              self.bell)

    def open_history(self, panel: Any) -> None:
        from ibmon.screens.history import HistoryScreen, target_of

        target = target_of(panel, self.store)
        if target is None:
            self.notify("Select an account, a quote, a position or a lead window first.", severity="warning")
            return
        history = self.history
        off = "history = false in the config" if history is None else history.problem
        self.push_screen(HistoryScreen(target, None if off else history.path, off))

    def open_alerts(self) -> None:
        from ibmon.alerting import AlertMonitor
        from ibmon.screens.alerts import AlertsScreen

        if not isinstance(self.screen, AlertsScreen):
            self.push_screen(AlertsScreen(self.alerts or AlertMonitor([], self.store)))

    def _apply_start_theme(self) -> None:
        fallback = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
        if self.requested_theme in self.available_themes:
            self.theme = self.requested_theme
        else:
            self.theme = fallback
            known = ", ".join(self.theme_names) or fallback
            self.notify(f"Unknown theme {self.requested_theme!r}; using {fallback}. Themes: {known}.",
                        title="Theme", severity="warning", timeout=PROBLEM_TIMEOUT)

    def resolved_keys(self) -> Keys:
        """[keys] against the bindings and the declared screens of the connections' providers: the
        same decision `ibmon config check` reports (ibmon.bindings)."""
        connected = [conn.provider for conn in self.runtime.connections.values()]
        return resolve_keys(self.keys, [*self.host.providers.values(), *connected], connected)

    def _apply_keymap(self) -> None:
        resolved = self.resolved_keys()
        if resolved.problems or resolved.warnings:
            self.notify("\n".join(resolved.problems + resolved.warnings), title="Keys", severity="warning",
                        timeout=PROBLEM_TIMEOUT)
        self.set_keymap(resolved.keymap)

    def _report_problems(self) -> None:
        if self.startup_problems:
            self.notify("\n".join(self.startup_problems), title="Problems at start", severity="warning",
                        timeout=PROBLEM_TIMEOUT)
        failures = self.host.failures()
        if failures:
            self.notify("\n".join(f"{info.name}: {info.error}" for info in failures),
                        title=f"{len(failures)} plugin(s) failed", severity="error", timeout=PROBLEM_TIMEOUT)
        if self.theme_problems:
            self.notify("\n".join(self.theme_problems),
                        title=f"{len(self.theme_problems)} broken theme file(s) skipped", severity="warning",
                        timeout=PROBLEM_TIMEOUT)

    #: Characters of a notification's text and of its title.
    NOTICE_LIMIT, NOTICE_TITLE_LIMIT = 1_000, 120

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification is redacted, then shown literally as safe text (provider messages may
        hold brackets, escape sequences and any length): never as markup. Notifications that come
        while one is still up join its toast (`ibmon.notices`); all of them are listed by `n`."""
        notice = Notice(time.time(), safe_text(redact(title), self.NOTICE_TITLE_LIMIT),
                        safe_text(redact(message), self.NOTICE_LIMIT, multiline=True), str(severity),
                        self.NOTIFICATION_TIMEOUT if timeout is None else timeout)
        self.post_message(self.Noticed(notice))

    def on_ibmon_app_noticed(self, message: Noticed) -> None:
        self.notices.add(message.notice)
        if not self._toast_due:  # a burst of notifications makes one toast, once they are all in
            self._toast_due = True
            self.call_later(self._show_toast)

    def _show_toast(self) -> None:
        self._toast_due = False
        toast = self.notices.toast()
        if toast is None:
            return
        self.clear_notifications()
        super().notify(toast.message, title=toast.title, severity=toast.severity,  # type: ignore[arg-type]
                       timeout=toast.timeout, markup=False)

    def action_notifications(self) -> None:
        if not isinstance(self.screen, NoticesScreen):
            self.push_screen(NoticesScreen(list(self.notices.recent), self.format_time))

    @staticmethod
    def format_time(at: float) -> str:
        """A notification's time, in the configured time format like every time on screen."""
        return when(at)

    def action_help_quit(self) -> None:
        """Ctrl+C: say which key quits (Textual's own message is markup, which ibmon shows literally)."""
        self.notify(f"Press {self.key_display('quit')} to quit.", title="Quit?")

    def key_display(self, binding_id: str) -> str:
        """How the first key of a core binding reads, after the user's [keys]."""
        keys = self.keys.get(binding_id) or CORE_BINDINGS[binding_id][0]
        return self.get_key_display(Binding(keys.split(",")[0].strip(), ""))

    def connection_titles(self) -> dict[str, str]:
        return {name: conn.provider.title for name, conn in self.runtime.connections.items()}

    def _runtime_notice(self, connection: str, message: str, severity: str) -> None:
        self.notify(message, title=connection, severity=severity)

    # -- signals and terminal loss (SSH drop) ----------------------------------------------------

    def _watch_signals(self) -> None:
        """SIGTERM and SIGQUIT end the app as `q` does; SIGHUP means the terminal went away. The
        handlers stay until the event loop closes, so a signal during shutdown cannot kill the
        process before the terminal is restored."""
        loop = asyncio.get_running_loop()
        handlers: list[tuple[str, Callable[[str], None], str]] = [
            (name, self.stop_on_signal, reason) for name, reason in EXIT_SIGNALS.items()]
        handlers.append(("SIGHUP", self.terminal_gone, "hangup signal"))
        for name, handler, reason in handlers:
            number = getattr(signal, name, None)
            if number is None:
                continue  # Windows
            try:
                loop.add_signal_handler(number, handler, reason)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread

    def stop_on_signal(self, reason: str) -> None:
        log.info("%s: exiting", reason)
        self.exit()

    def _watch_terminal(self) -> None:
        stdin = sys.__stdin__
        if not self.is_headless and stdin is not None and stdin.isatty():
            self._tty_fd = stdin.fileno()

    def check_terminal(self) -> None:
        """Once a second: a hung-up terminal fails terminal ioctls; exit instead of spinning on EOF."""
        if self._tty_fd is None:
            return
        import termios

        try:
            termios.tcgetattr(self._tty_fd)
        except (termios.error, OSError):
            self.terminal_gone("terminal closed")

    def terminal_gone(self, reason: str) -> None:
        """The terminal went away: exit normally, so the runtime stops and sessions close."""
        if not self.terminal_lost:
            self.terminal_lost = reason
            log.info("terminal gone (%s): exiting", reason)
            self.exit()

    # -- core actions ----------------------------------------------------------------------------

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.binding_rows(), legend_rows()))

    def binding_rows(self) -> list[tuple[str, str, str]]:
        """The bindings in force on the dashboard (after the keymap): one row per action, with
        every key that triggers it, its description and its binding id (what [keys] remaps)."""
        grouped: dict[str, tuple[list[str], list[str]]] = {}
        descriptions: dict[str, str] = {}
        for active in self.dashboard.active_bindings.values():
            binding = active.binding
            if binding.system:
                continue
            keys, ids = grouped.setdefault(binding.action, ([], []))
            display = self.get_key_display(binding)
            if display not in keys:
                keys.append(display)
            if binding.id and binding.id not in ids:
                ids.append(binding.id)
            if binding.id in CORE_BINDINGS:  # ibmon's own words win over Textual's defaults
                descriptions[binding.action] = CORE_BINDINGS[binding.id][1]
            else:
                descriptions.setdefault(binding.action, binding.tooltip or binding.description or binding.action)
        rows = [(", ".join(keys), descriptions[action], ", ".join(ids)) for action, (keys, ids) in grouped.items()]
        rows.sort(key=lambda row: (row[2] == "", row[2], row[1]))
        return rows + self.action_key_rows()

    def action_key_rows(self) -> list[tuple[str, str, str]]:
        """Quick actions with their own key, for the selected row of their kind."""
        rows: list[tuple[str, str, str]] = []
        for conn in self.runtime.connections.values():
            for action in self.session_actions(conn):
                if not action.key:
                    continue
                row = (action.key, f"{action.title} (selected {action.target}, {conn.provider.title})",
                       "quick action")
                if row not in rows:
                    rows.append(row)
        return rows

    def action_back(self) -> None:
        """Leave a maximised panel, or a provider screen that has no way back of its own."""
        if self.screen.maximized is not None:
            self.screen.minimize()
        elif len(self.screen_stack) > 1:
            self.pop_screen()

    def use_layout(self, name: str) -> None:
        self.panel_layout = name
        self.dashboard.relayout()
        self.notify(f"Layout: {name}", timeout=2)

    def action_refresh(self, connection: str | None = None) -> None:
        self.runtime.refresh(connection)
        self.notify(f"Refreshing {connection or 'all connections'}", timeout=2)

    def action_next_theme(self) -> None:
        names = self.theme_names or list(self.available_themes)
        index = names.index(self.theme) + 1 if self.theme in names else 0
        self.switch_theme(names[index % len(names)])

    def switch_theme(self, name: str) -> None:
        self.theme = name
        self.notify(f"Theme: {name}", timeout=2)

    # -- quick actions ---------------------------------------------------------------------------

    def refusal(self, conn: Connection, action: Action) -> str | None:
        """Why `action` may not run now (None when it may)."""
        if action.mutating and (self.read_only or conn.context.read_only):
            return "read-only mode"
        return None

    def session_actions(self, conn: Connection) -> list[Action]:
        if conn.session is None:
            return []
        try:
            return list(conn.session.actions())
        except PLUGIN_FAILURES as exc:
            self.notify(f"actions() failed: {describe_exception(exc)}", title=conn.name, severity="error")
            return []

    def actions_for(self, picked: Selection) -> list[Action]:
        """The selected row's connection's actions that apply to it now."""
        conn = self.runtime.connections.get(picked.connection)
        actions = []
        for action in self.session_actions(conn) if conn else []:
            try:
                if action.target == picked.kind and action.is_available(picked.target):
                    actions.append(action)
            except PLUGIN_FAILURES as exc:
                self.notify(f"{action.title}: {describe_exception(exc)}", title=picked.connection, severity="error")
        return actions

    def action_with_key(self, picked: Selection, key: str) -> Action | None:
        conn = self.runtime.connections.get(picked.connection)
        if conn is None or not any(a.key == key for a in self.session_actions(conn)):
            return None
        return next((a for a in self.actions_for(picked) if a.key == key), None)

    async def quick_actions(self, picked: Selection) -> None:
        conn = self.runtime.connections.get(picked.connection)
        if conn is None or conn.session is None:
            self.notify(f"{picked.connection} is not connected.", severity="warning")
            return
        actions = self.actions_for(picked)
        if not actions:
            self.notify(f"No quick actions for this {picked.kind}.", title=picked.connection)
            return
        choices = [Choice(a.title + (" …" if a.mutating else ""), a, self.refusal(conn, a)) for a in actions]
        action = await self.push_screen_wait(Picker("Quick actions", redact(picked.subject), choices))
        if action is not None:
            await self.perform_action(picked.connection, action, picked.target, check=picked.problem)

    async def perform_action(self, connection: str, action: Action, target: Any,
                             check: Callable[[], str | None] | None = None) -> None:
        """Confirm (when it changes anything), run through the runtime, report as a notification.
        `check` says why the target may no longer be acted on (asked before running, after any dialog)."""
        conn = self.runtime.connections.get(connection)
        if conn is None:
            self.notify(f"No connection {connection!r}.", severity="error")
            return
        title = f"{action.title} — {connection}"
        reason = self.refusal(conn, action)
        if reason:
            self.notify(f"{action.title} is disabled: {reason}.", title=connection, severity="warning")
            return
        if action.mutating:
            try:
                question = redact(action.question(target))
                typed = action.typed_confirmation(target) if action.typed_confirmation else None
            except PLUGIN_FAILURES as exc:
                self.notify(describe_exception(exc), title=title, severity="error")
                return
            if not await self.push_screen_wait(ConfirmScreen(question, typed, title=title)):
                return
        problem = check() if check is not None else None
        if problem:
            self.notify(problem, title=title, severity="warning")
            return
        try:
            message = await self.runtime.run_action(connection, action, target)
        except ProviderError as exc:
            self.notify(exc.message, title=title, severity="error")
        except PLUGIN_FAILURES as exc:
            self.notify(describe_exception(exc), title=title, severity="error")
        else:
            self.notify(message or "done", title=title)

    async def _screen_run_action(self, connection: str, action: Action, target: Any) -> None:
        """`ScreenContext.run_action`: the same confirm-run-report flow, for provider screens."""
        worker = self.run_worker(self.perform_action(connection, action, target), group="actions",
                                 exit_on_error=False)
        await worker.wait()

    # -- provider screens ------------------------------------------------------------------------

    def screen_specs(self, conn: Connection) -> list[ScreenSpec]:
        """The screens `conn` can open now: its provider's declared ones, once it has a session."""
        return list(conn.provider.screens) if conn.session is not None else []

    def _bind_provider_screens(self) -> None:
        """`screen.<id>` bindings on the dashboard for the declared screens of the connections'
        providers, on the keys `resolve_keys` gives them (the user's, else the suggested one)."""
        dashboard = self.dashboard
        for binding_id, (spec, keys) in self.resolved_keys().screens.items():
            if binding_id not in self._bound_screens:
                self._bound_screens.add(binding_id)
                add_binding(dashboard, Binding(keys, f"open_screen({spec.id!r})", spec.title, show=False,
                                               id=binding_id, tooltip=f"Open {spec.title}"))

    def _connections_changed(self) -> None:
        """New connections while running (an attached dashboard's, from its collector): bind the
        keys of their providers' screens."""
        self._bind_provider_screens()
        self._apply_keymap()

    async def pick_provider_screen(self, connection: str, selected: Any = None) -> None:
        conn = self.runtime.connections.get(connection)
        specs = self.screen_specs(conn) if conn else []
        if not specs:
            self.notify(f"{connection} has no screens of its own.", title=connection)
            return
        spec_id = specs[0].id
        if len(specs) > 1:
            spec_id = await self.push_screen_wait(Picker(
                "Screens", connection, [Choice(spec.title, spec.id) for spec in specs]))
            if spec_id is None:
                return
        self.open_provider_screen(connection, spec_id, selected)

    def open_provider_screen(self, connection: str, spec_id: str, selected: Any = None) -> None:
        """Open a declared screen of `connection`; `selected` is the dashboard's selected record
        (the screen opens on it)."""
        conn = self.runtime.connections.get(connection)
        spec = next((s for s in self.screen_specs(conn) if s.id == spec_id), None) if conn else None
        if conn is None or conn.session is None or spec is None:
            self.notify(f"{connection} has no screen {spec_id!r}.", severity="warning")
            return
        context = self.runtime.screen_context(connection, self.view, partial(self._screen_run_action, connection),
                                              actions=partial(self.session_actions, conn), selected=selected)
        try:
            screen = spec.factory(context)
            self._provider_screens[screen] = (connection, spec.title, self.host.plugin_of(conn.provider.name))
            self.push_screen(screen)
        except PLUGIN_FAILURES as exc:
            self.notify(f"{spec.title} could not open: {describe_exception(exc)}", title=connection,
                        severity="error", timeout=PROBLEM_TIMEOUT)

    # -- command palette -------------------------------------------------------------------------

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        """(title, help, callback) of every command, core first, then the plugins'."""
        commands: list[tuple[str, str, Callable[[], Any]]] = [
            ("Refresh all connections", "Poll every polling connection now", self.action_refresh),
            ("Help: keys in force", "Show the bindings after your [keys] remapping", self.action_help),
            ("Show plugin failures", "Which plugins failed to load, and why", self.show_plugin_failures),
            ("Alerts", "Active and recent alerts; acknowledge them", self.open_alerts),
            ("Quit", "Stop every connection and exit", self.exit),
        ]
        for name, conn in self.runtime.connections.items():
            commands.append((f"Refresh {name}", f"Poll {name} now", partial(self.action_refresh, name)))
            for spec in self.screen_specs(conn):
                commands.append((f"Open {spec.title} — {name}", f"{conn.provider.title} screen",
                                 partial(self.open_provider_screen, name, spec.id)))
        for theme in self.theme_names:
            commands.append((f"Switch theme: {theme}", "Apply this theme", partial(self.switch_theme, theme)))
        for layout in LAYOUTS:
            commands.append((f"Layout: {layout}", "Arrange the dashboard's panels this way (the config's layout)",
                             partial(self.use_layout, layout)))
        for plugin, command in self.host.commands:
            commands.append((command.title, command.help or f"from plugin {plugin}",
                             partial(self.run_plugin_command, plugin, command)))
        return commands

    def show_plugin_failures(self) -> None:
        failures = self.host.failures()
        if not failures:
            self.notify("No plugin failed.", title="Plugins")
            return
        self.notify("\n".join(f"{info.name}: {info.error}" for info in failures),
                    title=f"{len(failures)} plugin(s) failed", severity="error", timeout=PROBLEM_TIMEOUT)

    def run_plugin_command(self, plugin: str, command: Command) -> None:
        async def run() -> None:
            try:
                result = command.run(self)
                if inspect.isawaitable(result):
                    await result
            except PLUGIN_FAILURES as exc:
                self.notify(f"{command.title} failed: {describe_exception(exc)}", title=f"plugin {plugin}",
                            severity="error")

        self.run_worker(run(), group="commands", exit_on_error=False)
