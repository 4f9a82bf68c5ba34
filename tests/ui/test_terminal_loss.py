"""When the terminal goes away (SSH drop) the app exits normally: the runtime stops, sessions close."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

SCRIPT = r'''
import asyncio, json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from ui_support import add_example, load_host, make_runtime
from ibmon.app import IbmonApp

state, headless = Path(sys.argv[2]), sys.argv[3] == "headless"

async def main():
    host = load_host()
    sim = await host.simulators["example"].start(interval=0.2)
    runtime = make_runtime()
    add_example(runtime, host, sim)
    app = IbmonApp(runtime, host)

    async def ready(pilot):
        while not runtime.store.ticks:
            await asyncio.sleep(0.02)
        state.write_text("ready")

    await app.run_async(headless=headless, auto_pilot=ready)
    stopped = all(not conn.tasks for conn in runtime.connections.values())
    await sim.stop()
    state.write_text(json.dumps({"terminal_lost": app.terminal_lost, "runtime_stopped": stopped,
                                 "return_code": app.return_code}))

asyncio.run(main())
'''

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="needs SIGHUP and ptys")


def start(tmp_path: Path, mode: str, **popen) -> tuple[subprocess.Popen, Path]:
    script = tmp_path / "run_app.py"
    script.write_text(SCRIPT)
    state = tmp_path / "state"
    env = {**os.environ, "TEXTUAL": "", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, str(script), str(Path(__file__).parent), str(state), mode],
                               env=env, **popen)
    return process, state


def wait_ready(process: subprocess.Popen, state: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not (state.exists() and state.read_text() == "ready"):
        assert process.poll() is None, f"the app exited early ({process.returncode})"
        assert time.monotonic() < deadline, "the app did not start"
        time.sleep(0.05)


def outcome(process: subprocess.Popen, state: Path) -> dict:
    assert process.wait(timeout=15) == 0
    return json.loads(state.read_text())


def test_sighup_exits_the_app_cleanly(tmp_path: Path):
    process, state = start(tmp_path, "headless", stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        wait_ready(process, state)
        process.send_signal(signal.SIGHUP)
        assert outcome(process, state) == {"terminal_lost": "hangup signal", "runtime_stopped": True,
                                           "return_code": 0}
    finally:
        process.kill()


def test_closing_the_pseudo_terminal_exits_the_app_cleanly(tmp_path: Path):
    """The SSH server closes the terminal's master side; the app sees it gone and exits."""
    import pty

    master, slave = pty.openpty()
    process, state = start(tmp_path, "terminal", stdin=slave, stdout=slave, stderr=slave,
                           start_new_session=True)
    os.close(slave)

    stop = threading.Event()

    def drain() -> None:  # keep the terminal's buffer from filling while the app draws
        while not stop.is_set():
            if select.select([master], [], [], 0.05)[0]:
                try:
                    os.read(master, 65536)
                except OSError:
                    return

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        wait_ready(process, state)
        stop.set()
        reader.join()
        os.close(master)
        result = outcome(process, state)
        # Not the session's controlling terminal, so no SIGHUP: the once-a-second check notices.
        assert result == {"terminal_lost": "terminal closed", "runtime_stopped": True, "return_code": 0}
    finally:
        process.kill()
