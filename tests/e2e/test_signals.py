"""SIGTERM and SIGQUIT end the installed `ibmon` in a pseudo-terminal as `q` does: exit status 0,
sessions closed, the alternate screen left and the terminal's echo and line editing restored."""

from __future__ import annotations

import signal
import termios
from pathlib import Path

import pytest

from pty_terminal import IBMON, Terminal, terminal_env

PLUGINS = Path(__file__).parent / "plugins"
ALTERNATE_SCREEN_ON, ALTERNATE_SCREEN_OFF = b"\x1b[?1049h", b"\x1b[?1049l"


@pytest.mark.e2e
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGQUIT], ids=["SIGTERM", "SIGQUIT"])
def test_a_signal_ends_the_dashboard_cleanly(tmp_path, signum):
    marker = tmp_path / "closed"
    config = tmp_path / "config.toml"
    config.write_text(f'[[connections]]\nname = "Marked"\nprovider = "marker"\nmarker = "{marker}"\n')
    config.chmod(0o600)
    terminal = Terminal([str(IBMON), "--config", str(config), "--plugin-dir", str(PLUGINS), "run"],
                        terminal_env(tmp_path, "session_marker"))
    try:
        terminal.wait_for(r"4,?242\.00")
        assert ALTERNATE_SCREEN_ON in terminal.output
        running = terminal.line_modes()
        assert not running & (termios.ECHO | termios.ICANON), "the dashboard runs with echo and ICANON off"
        shown = len(terminal.output)
        terminal.proc.send_signal(signum)
        assert terminal.wait_exit() == 0
        modes = terminal.line_modes()
    finally:
        terminal.close()
    assert ALTERNATE_SCREEN_OFF in terminal.output[shown:], "the alternate screen was not left"
    assert modes & termios.ECHO and modes & termios.ICANON, "echo and line editing were not restored"
    assert marker.read_text() == "closed", "the session was not closed"
