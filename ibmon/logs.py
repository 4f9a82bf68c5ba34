"""Logging to a rotating file, never to the terminal, with every record redacted.

While the dashboard owns the terminal, a library writing to stderr (websockets logs connection errors)
would tear the screen, so every record goes to a file under the platform's log folder. Crash reports
of unexpected exceptions are written next to it. `IBMON_LOG_LEVEL` sets the level (default INFO).

Logs and crash reports may quote what a provider said about an account, so only the user may read
them: the folder is made mode 700 and every file in it is created mode 600, whatever the umask.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import time
import traceback
from pathlib import Path

import platformdirs

from ibmon.config import write_private
from ibmon.safe import safe_text
from ibmon.secrets import redact

ENV_LEVEL = "IBMON_LOG_LEVEL"
LOG_FILE = "ibmon.log"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then masks every known secret (messages, arguments and tracebacks)."""

    def format(self, record: logging.LogRecord) -> str:
        # safe text too: provider bytes in a message must not drive the terminal of `tail -f`
        return safe_text(redact(super().format(record)), None, multiline=True)


def log_dir() -> Path:
    return platformdirs.user_log_path("ibmon")


def private_log_dir() -> Path:
    """The log folder, created (or narrowed) to mode 700; OSError when it cannot be."""
    folder = log_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o077:
        folder.chmod(0o700)
    return folder


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files (the first and every one after a rollover) are mode 600."""

    def _open(self):  # the one place logging opens the file
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)  # an older file keeps its mode on open: narrow it too
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


def setup_logging() -> Path | None:
    """Send all logging to the rotating file; returns its path (None when no file can be written,
    in which case records are dropped rather than printed)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "ibmon", False)]:
        root.removeHandler(handler)
        handler.close()
    level = logging.getLevelName(os.environ.get(ENV_LEVEL, "INFO").strip().upper())
    root.setLevel(level if isinstance(level, int) else logging.INFO)
    try:
        path: Path | None = private_log_dir() / LOG_FILE
        handler: logging.Handler = PrivateRotatingFileHandler(
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
    text = safe_text(redact(text), None, multiline=True)
    logging.getLogger("ibmon").error("unexpected error\n%s", text)
    try:
        path = private_log_dir() / time.strftime("crash-%Y%m%d-%H%M%S.log")
        write_private(path, text)
    except OSError:
        return None
    return path
