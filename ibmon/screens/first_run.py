"""What the dashboard shows when there is nothing to connect to: where the config goes and the two
commands that get a new user started. The path is the user's (any characters): shown as safe text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from ibmon.safe import safe_text


@dataclass(frozen=True)
class FirstRun:
    """Why there is nothing to show: no file at `config_path`, or a file without connections."""

    config_path: Path
    missing: bool = True


class Welcome(Static):
    """Shown in place of the panels while no connection is configured."""

    DEFAULT_CSS = """
    Welcome {
        height: 1fr;
        padding: 1 2;
        border: round $primary;
        border-title-color: $text-accent;
        border-title-style: bold;
        background: $surface;
        overflow-y: auto;
    }
    """

    def __init__(self, first_run: FirstRun, quit_key: str = "q", **kwargs) -> None:
        super().__init__(welcome_text(first_run, quit_key), **kwargs)
        self.border_title = "Welcome to ibmon"


def welcome_text(first_run: FirstRun, quit_key: str = "q") -> Text:
    path = safe_text(str(first_run.config_path), None)
    text = Text()
    if first_run.missing:
        text.append("There is no config file yet. ibmon reads it from\n\n    ")
    else:
        text.append("Your config file has no [[connections]]. ibmon read it from\n\n    ")
    text.append(path, style="bold")
    text.append("\n\nTo get started, quit and run one of these:\n")
    for command, what in (
        ("ibmon config init", "writes a commented template there, one example per provider;\n"
                              "fill in your connections, then check them: `ibmon config check`"),
        ("ibmon demo", "opens the dashboard on built-in simulators of every provider"),
    ):
        text.append(f"\n    {command}\n", style="bold")
        for line in what.split("\n"):
            text.append(f"        {line}\n")
    text.append(f"\nPress {quit_key} to quit, ? for the keys. `ibmon --help` lists every command.")
    return text
