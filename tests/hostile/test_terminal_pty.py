"""The installed `ibmon` in a pseudo-terminal, on simulators holding hostile strings: the bytes it
writes carry none of the providers' escape sequences (no title change, no clipboard write, no C1
control, no bidi override), while the screen shows them as visible escapes; q still quits."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
import tomli_w

from ibmon import config as cfg

from terminal_support import hostile_connections, hostile_simulators

sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))
from test_pty import IBMON, Terminal  # noqa: E402

COLUMNS, LINES = 200, 60  # room for every hostile row


class Recorded:
    """A pyte stream that also keeps every byte the program wrote."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.data = bytearray()

    def feed(self, data: bytes) -> None:
        self.data += data
        self.stream.feed(data)


@pytest.mark.e2e
def test_the_dashboard_in_a_terminal_writes_no_provider_escape_sequence(tmp_path):
    assert IBMON.exists(), f"ibmon is not installed in {sys.prefix}"
    with hostile_simulators() as sims:
        config = tmp_path / "config.toml"
        cfg.write_private(config, tomli_w.dumps({"connections": hostile_connections(sims)}))
        env = {k: v for k, v in os.environ.items() if not k.startswith("IBMON_")}
        env.update(TERM="xterm-256color", XDG_CONFIG_HOME=str(tmp_path / "c"), XDG_STATE_HOME=str(tmp_path / "s"),
                   XDG_DATA_HOME=str(tmp_path / "d"))
        terminal = Terminal([str(IBMON), "--config", str(config)], env, size=(COLUMNS, LINES))
        recorded = terminal.stream = Recorded(terminal.stream)
        try:
            terminal.wait_for(re.escape("[@click=screen.co"), timeout=40)  # the XTB symbol, as written
            terminal.wait_for(re.escape("[b]\\x9bZ"), timeout=40)  # the Flex symbol, its C1 control escaped
            terminal.wait_for(re.escape("1000123          \\x1b…"), timeout=40)  # XTB's currency: ESC ] 0 (title)
            terminal.wait_for(re.escape("\\x1b]52;c;ZXZpbA==\\x07 [/] \\x1b[2J second line"), timeout=40)
            terminal.send(b"q")
            assert terminal.wait_exit() == 0
        finally:
            terminal.close()
    data = bytes(recorded.data)
    for sequence in (b"\x1b]0;pwned", b"\x1b]52;c;ZXZpbA==", "\x9b".encode(), "\u202e".encode(), b"\x7f", b"\x00"):
        assert sequence not in data, sequence
    assert "pwned" not in (terminal.screen.title or "")
