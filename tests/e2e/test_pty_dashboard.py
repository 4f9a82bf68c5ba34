"""The installed `ibmon` in a pseudo-terminal at the sizes people use over SSH: `ibmon demo` at 80x24
shows positions and ticks (read from the rendered screen) and quits without a traceback; a resized
terminal shows exactly what a fresh start at that size shows; with no config the dashboard explains
how to start."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from pty_terminal import IBMON, Terminal, terminal_env

SUPPORT = Path(__file__).parents[1] / "support"
FIRST_PARTY = "xtb,ctrader,b2core,crm,ibkr_flex"
LEAVE_ALTERNATE_SCREEN = b"\x1b[?1049l"
NUMBER = r"-?[\d,]+\.\d+"


def panel_rows(text: str, title: str) -> list[str]:
    """The lines inside the panel titled `title`, below its column header."""
    lines = text.split("\n")
    top = next(i for i, line in enumerate(lines) if line.startswith(f"╭─ {title} "))
    bottom = next(i for i in range(top + 1, len(lines)) if lines[i].startswith("╰"))
    return [line.strip("│ ") for line in lines[top + 2:bottom]]


@pytest.mark.e2e
def test_demo_at_80x24_shows_positions_and_ticks_and_quits_without_a_traceback(tmp_path):
    assert IBMON.exists(), f"ibmon is not installed in {sys.prefix}"
    terminal = Terminal([str(IBMON), "demo"], terminal_env(tmp_path, FIRST_PARTY), size=(80, 24))
    position = re.compile(rf"^\S.*\s(buy|sell)\s+{NUMBER}?.*\d")
    quote = re.compile(rf"^[A-Z][\w.]*\s+\S.*\s{NUMBER}\s+{NUMBER}\s")
    try:
        terminal.wait_for(r"╭─ Positions ", timeout=30)
        terminal.wait_for(r"\n│ \S.*\s(buy|sell)\s", timeout=40)

        def both_shown() -> bool:
            """Two positions and two quotes on screen."""
            text = terminal.text()
            return (sum(bool(position.match(r)) for r in panel_rows(text, "Positions")) >= 2
                    and sum(bool(quote.match(r)) for r in panel_rows(text, "Ticks")) >= 2)

        terminal.wait_until(both_shown, timeout=40)
        text = terminal.text()
        for title in ("Balances", "Ticks", "Positions", "Lead funnel"):
            assert any(row.strip() for row in panel_rows(text, title)), f"{title} shows no row:\n{text}"
        assert text.split("\n")[-1].startswith(" ? Help  q Quit")
        shown = len(terminal.output)
        terminal.send(b"q")
        assert terminal.wait_exit() == 0
    finally:
        terminal.close()
    after = bytes(terminal.output[shown:])
    tail = after[after.rfind(LEAVE_ALTERNATE_SCREEN):]
    assert LEAVE_ALTERNATE_SCREEN in after and b"Traceback" not in tail and b"Exception" not in tail, tail[-2000:]


def book_config(tmp_path: Path, history: bool = True) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'history = {str(history).lower()}\n[[connections]]\nname = "Static"\nprovider = "static_book"\n')
    config.chmod(0o600)
    return config


def settled_screen(terminal: Terminal, marker: str) -> list[list[tuple]]:
    terminal.wait_for(marker, timeout=30)
    terminal.settle()
    return terminal.cells()


@pytest.mark.e2e
def test_a_resized_terminal_shows_what_a_fresh_start_at_that_size_shows(tmp_path):
    """Every cell (character, colours, attributes), so no remnant of the larger screen survives.
    Without history: its trends and the day's change fill in as it is read, at no fixed moment."""
    argv = [str(IBMON), "--config", str(book_config(tmp_path, history=False)), "--plugin-dir", str(SUPPORT)]
    env = terminal_env(tmp_path, "static_book")
    resized = Terminal(argv, env, size=(160, 33))  # under 34 lines: a one-line status, no ticking ages
    try:
        wide = settled_screen(resized, r"30 open")
        resized.resize(80, 24)
        small = settled_screen(resized, r"30 open")
        resized.resize(160, 33)
        wide_again = settled_screen(resized, r"30 open")
        resized.send(b"q")
        assert resized.wait_exit() == 0
    finally:
        resized.close()
    fresh = Terminal(argv, env, size=(80, 24))
    try:
        fresh_small = settled_screen(fresh, r"30 open")
        fresh.send(b"q")
        assert fresh.wait_exit() == 0
    finally:
        fresh.close()
    assert small == fresh_small, "\n".join("".join(c[0] for c in row) for row in small)
    assert wide_again == wide


@pytest.mark.e2e
def test_with_no_config_the_installed_dashboard_explains_how_to_start(tmp_path):
    env = terminal_env(tmp_path, FIRST_PARTY)
    terminal = Terminal([str(IBMON)], env, size=(80, 24))
    try:
        terminal.wait_for(r"Welcome to ibmon")
        terminal.wait_for(r"ibmon demo")
        text = terminal.text()
        assert "There is no config file yet" in text and "ibmon config init" in text
        assert re.sub(r"[\s│]+", "", text).find(re.sub(r"\s+", "", str(tmp_path / "c" / "ibmon" / "config.toml"))) >= 0
        terminal.send(b"q")
        assert terminal.wait_exit() == 0
    finally:
        terminal.close()
    assert not (tmp_path / "c" / "ibmon").exists(), "a first run writes nothing"
