"""The installed `ibmon demo` in a pseudo-terminal: read the rendered screen, press q, exit 0."""

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pyte
import pytest

SUPPORT = Path(__file__).parents[1] / "support"
IBMON = Path(sys.prefix) / "bin" / "ibmon"
COLUMNS, LINES = 120, 40


class Terminal:
    """A pseudo-terminal running one command, rendered by pyte."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.screen = pyte.Screen(COLUMNS, LINES)
        self.stream = pyte.ByteStream(self.screen)
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, close_fds=True)
        os.close(slave)

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def pump(self, timeout: float) -> bool:
        """Render what arrives within `timeout`; False once the terminal is closed."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed its side
            return False
        if not data:
            return False
        self.stream.feed(data)
        return True

    def wait_for(self, pattern: str, timeout: float = 20.0) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.text())
            if match:
                return match
            if not self.pump(0.1) and self.proc.poll() is not None:
                break
        raise AssertionError(f"{pattern!r} not on screen (exit {self.proc.poll()}):\n{self.text()}")

    def send(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def wait_exit(self, timeout: float = 20.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.pump(0.1)  # keep draining, or the child blocks writing to a full terminal
        if self.proc.poll() is None:
            raise AssertionError(f"still running after {timeout} s:\n{self.text()}")
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        os.close(self.master)


@pytest.mark.e2e
def test_installed_demo_renders_the_simulated_account_and_quits_on_q(tmp_path):
    assert IBMON.exists(), f"ibmon is not installed in {sys.prefix}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IBMON_")}
    env.update(TERM="xterm-256color", COLUMNS=str(COLUMNS), LINES=str(LINES), IBMON_PLUGINS="example_plugin",
               XDG_CONFIG_HOME=str(tmp_path / "c"), XDG_STATE_HOME=str(tmp_path / "s"),
               XDG_DATA_HOME=str(tmp_path / "d"))
    terminal = Terminal([str(IBMON), "--plugin-dir", str(SUPPORT), "demo"], env)
    try:
        terminal.wait_for(r"10,?000\.00")  # the example account's balance
        terminal.wait_for(r"\bGOLD\b")  # a symbol only the tick board shows
        terminal.send(b"q")
        assert terminal.wait_exit() == 0
    finally:
        terminal.close()
    assert not (tmp_path / "c" / "ibmon").exists(), "demo must not write the user's config"
