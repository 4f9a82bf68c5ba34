"""Delivering alerts: the engine run on the event loop, a notification in the app, the terminal
bell, an optional command hook, and the record in history.

The hook gets the alert as one JSON object on its stdin (secrets masked), runs without a shell in
its own process group with its output discarded, and is killed when it outlives the rule's
`command_timeout`. Hooks run as tasks, at most `MAX_HOOKS` at once and `MAX_WAITING` waiting; what
comes beyond is dropped and said once. Nothing here waits for a hook.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from ibmon.alerts import Alert, AlertEngine, Rule
from ibmon.secrets import redact
from ibmon.store import Store

log = logging.getLogger("ibmon.alerts")

EVALUATE_SECONDS = 0.5
#: Alerts kept for the alerts screen (active ones are always kept).
RECENT = 200
MAX_HOOKS = 4
MAX_WAITING = 50

Notify = Callable[[str, str, str], None]  # (message, title, severity)


def hook_payload(alert: Alert) -> bytes:
    """What a hook reads on stdin: the alert as JSON, every known secret masked."""
    document = {"source": "ibmon", **alert.as_json()}
    return redact(json.dumps(document, sort_keys=True)).encode()


class HookRunner:
    def __init__(self, notify: Notify) -> None:
        self.notify = notify
        self._slots = asyncio.Semaphore(MAX_HOOKS)
        self._tasks: set[asyncio.Task] = set()
        self._dropped_said = False

    def run(self, argv: tuple[str, ...], payload: bytes, timeout: float, label: str) -> None:
        if len(self._tasks) >= MAX_HOOKS + MAX_WAITING:
            if not self._dropped_said:
                self._dropped_said = True
                self.notify(f"too many alert commands at once: some were not run ({label})", "Alert command",
                            "warning")
            return
        task = asyncio.get_running_loop().create_task(self._run(argv, payload, timeout, label))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, argv: tuple[str, ...], payload: bytes, timeout: float, label: str) -> None:
        async with self._slots:
            outcome = await run_hook(argv, payload, timeout)
        if outcome:
            self.notify(f"{label}: {outcome}", "Alert command", "warning")

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


async def run_hook(argv: tuple[str, ...], payload: bytes, timeout: float) -> str | None:
    """Run one hook; None when it ran and exited 0, else why not (one line, naming the program)."""
    program = argv[0]
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL, start_new_session=True)
    except FileNotFoundError:
        return f'command "{program}" not found'
    except PermissionError:
        return f'command "{program}" is not executable'
    except OSError as exc:
        return f'command "{program}" could not run ({exc.strerror or type(exc).__name__})'
    try:
        await asyncio.wait_for(process.communicate(payload), timeout)
    except (TimeoutError, asyncio.CancelledError) as exc:
        _kill(process)
        await process.wait()
        if isinstance(exc, asyncio.CancelledError):
            raise
        return f'command "{program}" did not finish within {timeout:g} s and was stopped'
    if process.returncode:
        return f'command "{program}" failed with exit status {process.returncode}'
    return None


def _kill(process: asyncio.subprocess.Process) -> None:
    """The hook and whatever it started (its own process group)."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            process.kill()
    except (ProcessLookupError, PermissionError):
        pass


class AlertMonitor:
    """The rules evaluated every `interval` seconds on the running loop; what fires or clears is
    delivered and kept (`recent`), and written to history when there is one."""

    def __init__(self, rules: Iterable[Rule], store: Store, *, clock: Callable[[], float] = time.time,
                 interval: float = EVALUATE_SECONDS, history: Any = None) -> None:
        self.rules = list(rules)
        self.store = store
        self.clock = clock
        self.interval = interval
        self.history = history
        self.engine: AlertEngine | None = None
        self.recent: deque[Alert] = deque(maxlen=RECENT)
        #: Bumped at every change of what the badge and the alerts screen show.
        self.version = 0
        self._notify: Notify = lambda message, title, severity: None
        self._bell: Callable[[], None] = lambda: None
        self.hooks: HookRunner | None = None
        self._handle: asyncio.TimerHandle | None = None

    def start(self, notify: Notify, bell: Callable[[], None]) -> None:
        def masked(message: str, title: str, severity: str) -> None:  # the figures may hold a provider's echo
            notify(redact(message), redact(title), severity)

        self._notify, self._bell = masked, bell
        self.hooks = HookRunner(masked)
        if self.rules:  # no rules: no watcher collecting changes nobody reads
            self.engine = AlertEngine(self.rules, self.store)
            self._handle = asyncio.get_running_loop().call_later(self.interval, self._every_interval)

    async def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self.hooks is not None:
            await self.hooks.close()
        if self.engine is not None:
            self.engine.close()

    def _every_interval(self) -> None:
        try:
            self.evaluate()
        except Exception:  # one rule's bad figure must not end the watch of the others
            log.exception("alerts: evaluation failed")
        self._handle = asyncio.get_running_loop().call_later(self.interval, self._every_interval)

    def evaluate(self, now: float | None = None) -> list[Alert]:
        if self.engine is None:
            return []
        changes = self.engine.evaluate(self.clock() if now is None else now)
        ring = False
        for alert in changes:
            ring |= self._deliver(alert)
        if ring:
            self._bell()  # one bell for a burst
        if changes:
            self.version += 1
        return changes

    def _deliver(self, alert: Alert) -> bool:
        rule = alert.rule
        if alert.active:
            self.recent.appendleft(alert)
            self._notify(f"{alert.connection} {alert.subject}: {alert.figure_text()} ({rule.describe()})",
                         f"Alert: {rule.name}", "error")
        else:
            self._notify(f"{alert.connection} {alert.subject}: {alert.figure_text(alert.clear_figure)}"
                         if alert.clear_figure is not None else f"{alert.connection} {alert.subject}",
                         f"Cleared: {rule.name}", "information")
        if self.history is not None:
            self.history.record_alert(alert.row())
        if rule.command and self.hooks is not None:
            self.hooks.run(rule.command, hook_payload(alert), rule.command_timeout, f"alert {rule.name!r}")
        return alert.active and rule.bell

    # -- what the badge and the screen read ------------------------------------------------------

    def active(self) -> list[Alert]:
        return self.engine.active() if self.engine is not None else []

    def listed(self) -> list[Alert]:
        """Active alerts first (newest first), then the recent cleared ones."""
        active = self.active()
        return active + [alert for alert in self.recent if not alert.active]

    def unacknowledged(self) -> list[Alert]:
        return [alert for alert in self.active() if not alert.acknowledged]

    def acknowledge(self, alert_ids: Iterable[str]) -> int:
        wanted = set(alert_ids)
        count = 0
        for alert in self.listed():
            if alert.id in wanted and not alert.acknowledged:
                alert.acknowledged = True
                count += 1
        if count:
            self.version += 1
        return count
