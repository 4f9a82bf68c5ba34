"""One line above the status line while alerts are active: how many, how many not yet
acknowledged, the latest one, and the key of the alerts screen. Hidden when none is active."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ibmon.safe import safe_text


class AlertBadge(Static):
    DEFAULT_CSS = """
    AlertBadge { height: 1; padding: 0 1; background: $error 30%; display: none; }
    """

    def __init__(self, monitor, key_display: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.monitor = monitor
        self.key_display = key_display
        self._version = -1

    def update_alerts(self) -> bool:
        """Show the current alerts; True when the badge came or went (the layout changes)."""
        if self.monitor is None or self.monitor.version == self._version:
            return False
        self._version = self.monitor.version
        active = self.monitor.active()
        shown = bool(active)
        changed = shown != self.display
        self.display = shown
        if active:
            new = sum(not alert.acknowledged for alert in active)
            latest = active[0]
            count = f"⚠ {len(active)} alert{'s' if len(active) != 1 else ''}" + (f" ({new} new)" if new else "")
            text = f"{count} · {self.key_display}: list · {latest.summary()}"
            self.update(Text(safe_text(text, 300), style="bold", no_wrap=True, overflow="ellipsis"))
        return changed

    @property
    def lines(self) -> int:
        return 1 if self.display else 0
