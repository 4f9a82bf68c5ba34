"""The config's history keys: `history` (on/off), `history_path`, `retention_days`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

KEYS = ("history", "history_path", "retention_days")
DEFAULT_RETENTION_DAYS = 90
RETENTION_RANGE = (1, 3650)
FILE_NAME = "history.sqlite3"
#: `ibmon demo` keeps its own file: simulated books never mix with the user's.
DEMO_FILE_NAME = "demo-history.sqlite3"


def default_path(demo: bool = False) -> Path:
    return platformdirs.user_data_path("ibmon") / (DEMO_FILE_NAME if demo else FILE_NAME)


@dataclass(frozen=True)
class HistorySettings:
    enabled: bool = True
    path: Path | None = None
    retention_days: int = DEFAULT_RETENTION_DAYS

    def resolved_path(self, demo: bool = False) -> Path:
        return self.path if self.path is not None else default_path(demo)


def read_settings(doc: dict[str, Any], problems: list[str], base: Path | None = None) -> HistorySettings:
    """The history keys of a config document; mistakes go to `problems`, one line each. A relative
    `history_path` is taken from the config file's folder."""
    enabled = doc.get("history", True)
    if not isinstance(enabled, bool):
        problems.append('key "history" must be true or false (false: keep no history)')
        enabled = True
    path = None
    raw = doc.get("history_path")
    if raw is not None and raw != "":  # empty: the platform data folder
        if not isinstance(raw, str) or not raw.strip():
            problems.append('key "history_path" must be a file path (a non-empty string)')
        else:
            path = Path(raw).expanduser()
            if not path.is_absolute():
                path = (base or Path.cwd()) / path
            if path.is_dir():
                problems.append(f'key "history_path": {path} is a folder; name a file in it, e.g. {path / FILE_NAME}')
    days = doc.get("retention_days", DEFAULT_RETENTION_DAYS)
    low, high = RETENTION_RANGE
    if isinstance(days, bool) or not isinstance(days, int) or not low <= days <= high:
        problems.append(f'key "retention_days" must be a whole number of days from {low} to {high}, not {days!r}')
        days = DEFAULT_RETENTION_DAYS
    return HistorySettings(enabled, path, days)


UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_seconds(value: Any) -> float | None:
    """Seconds from a number of seconds or text such as "90", "30s", "5m", "1h", "7d"; None when
    it is neither or not above zero."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and value.strip():
        raw = value.strip().lower()
        unit = UNITS.get(raw[-1])
        try:
            seconds = float(raw[:-1] if unit else raw) * (unit or 1)
        except ValueError:
            return None
    else:
        return None
    return seconds if 0 < seconds < float("inf") else None
