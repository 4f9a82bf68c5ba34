"""Logging to a rotating file, never to the terminal, with every record redacted.

While the dashboard owns the terminal, a library writing to stderr (websockets logs connection errors)
would tear the screen, so every record goes to a file under the platform's log folder. Crash reports
of unexpected exceptions are written next to it. `IBMON_LOG_LEVEL` sets the level (default INFO).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import time
import traceback
from pathlib import Path

import platformdirs

from ibmon.secrets import redact

ENV_LEVEL = "IBMON_LOG_LEVEL"
LOG_FILE = "ibmon.log"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then masks every known secret (messages, arguments and tracebacks)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def log_dir() -> Path:
    return platformdirs.user_log_path("ibmon")


def setup_logging() -> Path | None:
    """Send all logging to the rotating file; returns its path (None when no file can be written,
    in which case records are dropped rather than printed)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "ibmon", False)]:
        root.removeHandler(handler)
        handler.close()
    level = logging.getLevelName(os.environ.get(ENV_LEVEL, "INFO").strip().upper())
    root.setLevel(level if isinstance(level, int) else logging.INFO)
    path = log_dir() / LOG_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        handler, path = logging.NullHandler(), None
    handler.setFormatter(RedactingFormatter(FORMAT))
    handler.ibmon = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    logging.captureWarnings(True)
    return path


def write_crash_log(report: BaseException | str) -> Path | None:
    """Write the redacted traceback of an unexpected exception (or an already rendered report);
    returns the file, or None when it cannot be written."""
    text = report if isinstance(report, str) else "".join(traceback.format_exception(report))
    text = redact(text)
    logging.getLogger("ibmon").error("unexpected error\n%s", text)
    path = log_dir() / time.strftime("crash-%Y%m%d-%H%M%S.log")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError:
        return None
    return path
