"""The installed `ibmon demo` in a pseudo-terminal: read the rendered screen, press q, exit 0."""

import sys
from pathlib import Path

import pytest

from pty_terminal import IBMON, Terminal, terminal_env

SUPPORT = Path(__file__).parents[1] / "support"


@pytest.mark.e2e
def test_installed_demo_renders_the_simulated_account_and_quits_on_q(tmp_path):
    assert IBMON.exists(), f"ibmon is not installed in {sys.prefix}"
    env = terminal_env(tmp_path, "example_plugin")
    terminal = Terminal([str(IBMON), "--plugin-dir", str(SUPPORT), "demo"], env)
    try:
        terminal.wait_for(r"10,?000\.00")  # the example account's balance
        terminal.wait_for(r"\bGOLD\b")  # a symbol only the tick board shows
        terminal.send(b"q")
        assert terminal.wait_exit() == 0
    finally:
        terminal.close()
    assert not (tmp_path / "c" / "ibmon").exists(), "demo must not write the user's config"
