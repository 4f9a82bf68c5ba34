"""Text screenshots of the installed `ibmon demo`, for the README: the real app in a pseudo-terminal,
rendered by pyte, after it has run for a while.

    python tests/e2e/capture.py 80x24 160x48      # one fenced block per size, on stdout
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from pty_terminal import IBMON, Terminal, terminal_env

FIRST_PARTY = "xtb,ctrader,b2core,crm,ibkr_flex"


def capture(columns: int, lines: int, seconds: float) -> str:
    with tempfile.TemporaryDirectory() as home:
        terminal = Terminal([str(IBMON), "demo"], terminal_env(Path(home), FIRST_PARTY), size=(columns, lines))
        try:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                terminal.pump(0.05)
            text = "\n".join(line.rstrip() for line in terminal.text().split("\n"))
            terminal.send(b"q")
            terminal.wait_exit()
        finally:
            terminal.close()
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="+", metavar="COLSxLINES")
    parser.add_argument("--seconds", type=float, default=12.0, help="how long the demo runs first")
    args = parser.parse_args()
    for size in args.sizes:
        columns, lines = (int(n) for n in size.lower().split("x"))
        print(f"```\n{capture(columns, lines, args.seconds)}\n```\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
