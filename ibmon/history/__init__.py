"""Embedded history: SQLite in the platform data folder, written by one background thread.

`History` (recorder.py) records the store's changes and gives the dashboard its trends and the
day's change; `HistoryDB` (db.py) is the file, read by `ibmon history` and the history screen;
`HistorySettings` (settings.py) are the config's keys.
"""

from ibmon.history.db import HistoryDB, HistoryError, Sample
from ibmon.history.recorder import History, day_start
from ibmon.history.settings import HistorySettings, default_path, read_settings

__all__ = ["History", "HistoryDB", "HistoryError", "HistorySettings", "Sample", "day_start", "default_path",
           "read_settings"]
