"""Event-loop stalls: notice when code blocks the loop, measure for how long, and say whose code it was.

A heartbeat callback on the loop stamps the time every `interval` seconds; a daemon thread looks at
the stamp. When the stamp has not moved for `threshold` seconds while the same task stays current
(two looks at least threshold/2 apart, so a process that was merely descheduled is not blamed), the
thread notes the stall: the loop's current task and the innermost Python frame of the loop's thread.
When the loop runs again, the heartbeat reports the stall from the loop's thread, with its length.

`owner_of(task)` says whose task it is (the feed runtime names the connection); `report(owner,
seconds, where)` is called on the loop. The monitor never raises into the app: a failure stops it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("ibmon.stalls")

#: A loop that does not tick for this long is blocked.
STALL_SECONDS = 1.0


@dataclass(frozen=True)
class _Stall:
    since: float
    owner: str | None
    where: str


class StallMonitor:
    def __init__(self, owner_of: Callable[[asyncio.Task | None], str | None],
                 report: Callable[[str | None, float, str], Any], *, threshold: float = STALL_SECONDS,
                 interval: float = 0.1) -> None:
        self.owner_of = owner_of
        self.report = report
        self.threshold = threshold
        self.interval = min(interval, threshold / 4)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._beat_at = time.monotonic()
        self._handle: asyncio.TimerHandle | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._candidate: tuple[float, Any, float] | None = None  # (beat stamp, task, first seen)
        self._stall: _Stall | None = None

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if self._handle is not None:  # running already
            return
        self._loop = loop or asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._stop = threading.Event()  # a fresh one: the monitor may be started again after stop()
        self._beat_at = time.monotonic()
        self._handle = self._loop.call_later(self.interval, self._beat)
        self._thread = threading.Thread(target=self._watch, args=(self._stop,), name="ibmon-stall-monitor",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    # -- on the loop -----------------------------------------------------------------------------

    def _beat(self) -> None:
        now = time.monotonic()
        stall, self._stall = self._stall, None
        self._beat_at = now
        if self._stop.is_set() or self._loop is None:
            return
        try:
            self._handle = self._loop.call_later(self.interval, self._beat)
            if stall is not None:
                self.report(stall.owner, now - stall.since, stall.where)
        except Exception:  # never let the monitor break the app
            log.exception("the stall monitor failed and stopped")
            self.stop()

    # -- on the watchdog thread ------------------------------------------------------------------

    def _watch(self, stop: threading.Event) -> None:
        try:
            while not stop.wait(self.interval):
                self._look()
        except Exception:
            log.exception("the stall monitor failed and stopped")

    def _look(self) -> None:
        beat = self._beat_at
        now = time.monotonic()
        if now - beat < self.threshold / 2:
            self._candidate = None
            return
        if self._stall is not None and self._stall.since == beat:
            return  # noted already: the heartbeat reports it when the loop runs again
        task = asyncio.current_task(self._loop)
        candidate = self._candidate
        if candidate is None or candidate[0] != beat or candidate[1] is not task:
            self._candidate = (beat, task, now)
        elif now - beat >= self.threshold and now - candidate[2] >= self.threshold / 2:
            self._stall = _Stall(beat, self.owner_of(task), self._where())

    def _where(self) -> str:
        frame = sys._current_frames().get(self._loop_thread)
        if frame is None:
            return "unknown code"
        code = frame.f_code
        return f"{code.co_filename}:{frame.f_lineno} in {code.co_name}"
