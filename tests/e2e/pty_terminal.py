"""A pseudo-terminal running one command, rendered by pyte, for the tests of the installed command."""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pyte

IBMON = Path(sys.prefix) / "bin" / "ibmon"
COLUMNS, LINES = 120, 40


class Terminal:
    """A pseudo-terminal running one command, rendered by pyte; `output` keeps every byte written."""

    def __init__(self, argv: list[str], env: dict[str, str], size: tuple[int, int] = (COLUMNS, LINES)) -> None:
        columns, lines = size
        # The size is the pseudo-terminal's own: COLUMNS and LINES would pin it (they win over the
        # terminal's size in shutil.get_terminal_size), so a resize would never be seen.
        env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
        self.screen = pyte.Screen(columns, lines)
        self.stream = pyte.ByteStream(self.screen)
        self.output = bytearray()
        self.master, slave = os.openpty()
        self.slave_name = os.ttyname(slave)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, close_fds=True)
        os.close(slave)

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def cells(self) -> list[list[tuple]]:
        """Every cell of the screen with its looks (character, colours, bold, reverse)."""
        return [[(c.data, c.fg, c.bg, c.bold, c.reverse) for c in (self.screen.buffer[y][x] for x in range(self.screen.columns))]
                for y in range(self.screen.lines)]

    def resize(self, columns: int, lines: int) -> None:
        """Resize the terminal as a window manager would. The program runs in a session of its own
        without a controlling terminal, so the SIGWINCH the kernel would send is sent here."""
        self.screen.resize(lines, columns)
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        self.proc.send_signal(signal.SIGWINCH)

    def settle(self, quiet: float = 0.5, timeout: float = 20.0) -> None:
        """Render until the program has written nothing for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], quiet)
            if not ready:
                return
            if not self.pump(0):
                return
        raise AssertionError(f"still drawing after {timeout} s:\n{self.text()}")

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
        self.output += data
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

    def wait_until(self, predicate, timeout: float = 20.0) -> None:
        """Render until `predicate()` holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if not self.pump(0.1) and self.proc.poll() is not None:
                break
        raise AssertionError(f"{predicate.__doc__ or predicate} not met (exit {self.proc.poll()}):\n{self.text()}")

    def send(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def wait_exit(self, timeout: float = 20.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.pump(0.1)  # keep draining, or the child blocks writing to a full terminal
        if self.proc.poll() is None:
            raise AssertionError(f"still running after {timeout} s:\n{self.text()}")
        while self.pump(0.05) and select.select([self.master], [], [], 0)[0]:
            pass  # what the child wrote last
        return self.proc.returncode

    def line_modes(self) -> int:
        """The local modes (ECHO, ICANON...) the terminal is left in, read from its slave side."""
        fd = os.open(self.slave_name, os.O_RDWR | os.O_NOCTTY)
        try:
            return termios.tcgetattr(fd)[3]
        finally:
            os.close(fd)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        os.close(self.master)


def terminal_env(tmp_path: Path, plugins: str) -> dict[str, str]:
    """The environment of a command under test: a terminal, only `plugins` loaded, and
    config, state (logs) and data folders of its own under `tmp_path`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IBMON_")}
    env.update(TERM="xterm-256color", IBMON_PLUGINS=plugins,
               XDG_CONFIG_HOME=str(tmp_path / "c"), XDG_STATE_HOME=str(tmp_path / "s"),
               XDG_DATA_HOME=str(tmp_path / "d"))
    return env
