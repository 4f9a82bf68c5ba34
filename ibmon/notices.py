"""Notifications: the recent ones (bounded, newest first) and the one toast that shows them.

A toast per notification buries the dashboard when a dozen arrive at once ("new leads" from several
connections, a burst of failures). Instead, a notification that arrives while the toast is still
up joins it: the toast then reads "N notifications" with the newest lines, a repeated one counted
("×3"), and stays up as long as its longest-lived notification asked. Everything also goes into
`NoticeLog.recent`, which the notifications list shows. No Textual here: the app shows `Toast`s.

Text arrives already redacted and made safe by `IbmonApp.notify`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

#: Notifications the list keeps.
RECENT_LIMIT = 200
#: Lines of a toast that holds several notifications (the list has them all).
TOAST_LINES = 5
#: Characters of one notification in a toast holding several.
TOAST_ENTRY_LIMIT = 240
SEVERITIES = ("information", "warning", "error")


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification: when (Unix time), from where (`title`: usually the connection), what."""

    at: float
    title: str
    message: str
    severity: str = "information"
    timeout: float = 5.0

    @property
    def line(self) -> str:
        return f"{self.title}: {self.message}" if self.title else self.message


@dataclass(frozen=True, slots=True)
class Toast:
    """What the toast shows now: title, message, severity and seconds it stays up from now."""

    title: str
    message: str
    severity: str
    timeout: float


@dataclass
class _Entry:
    notice: Notice
    count: int = 1


@dataclass
class NoticeLog:
    clock: Callable[[], float] = time.time
    recent: deque[Notice] = field(default_factory=lambda: deque(maxlen=RECENT_LIMIT))
    _entries: list[_Entry] = field(default_factory=list)
    _until: float = 0.0

    def add(self, notice: Notice) -> None:
        """Record `notice`; it joins the toast when one is still up, else starts the next one."""
        self.recent.appendleft(notice)
        now = self.clock()
        if now >= self._until:
            self._entries = []
        same = next((e for e in self._entries if (e.notice.title, e.notice.message) == (notice.title, notice.message)),
                    None)
        if same is not None:
            self._entries.remove(same)
            same.notice, same.count = notice, same.count + 1
            self._entries.append(same)
        else:
            self._entries.append(_Entry(notice))
        self._until = max(self._until, now + notice.timeout)

    def toast(self) -> Toast | None:
        """The toast to show now in place of the current one (None when its time is up)."""
        timeout = self._until - self.clock()
        entries = self._entries
        if not entries or timeout <= 0:
            return None
        severity = max((e.notice.severity for e in entries), key=_rank)
        if len(entries) == 1 and entries[0].count == 1:
            notice = entries[0].notice
            return Toast(notice.title, notice.message, severity, timeout)
        total = sum(e.count for e in entries)
        shown = entries[-TOAST_LINES:]
        lines = [_cut(e.notice.line) + (f" ×{e.count}" if e.count > 1 else "") for e in shown]
        hidden = sum(e.count for e in entries[:-TOAST_LINES])
        if hidden:
            lines.insert(0, f"… {hidden} more in the notifications list")
        return Toast(f"{total} notifications", "\n".join(lines), severity, timeout)


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def _cut(text: str) -> str:
    return text if len(text) <= TOAST_ENTRY_LIMIT else text[:TOAST_ENTRY_LIMIT - 1] + "…"
