"""The installed `ibmon sim` and `ibmon serve` as the tests of `ibmon serve` run them: processes of
their own, with config, state and data folders under the test's temporary folder."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

FIRST_PARTY = "xtb,ctrader,b2core,crm,ibkr_flex"
PASSWORD_VAR = "IBMON_TEST_SERVE_PASSWORD"
PASSWORD = "correct horse battery staple"
SERVING = re.compile(r"serving .* on (https?://\S+/) ")


def command_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IBMON_")}
    env.update(IBMON_PLUGINS=FIRST_PARTY, XDG_CONFIG_HOME=str(home / "c"), XDG_STATE_HOME=str(home / "s"),
               XDG_DATA_HOME=str(home / "d"), **extra)
    return env


def ibmon(*args: str) -> list[str]:
    return [sys.executable, "-m", "ibmon", *args]


class Simulators:
    """`ibmon sim` on every first-party simulator; `config` is the config it wrote."""

    def __init__(self, home: Path) -> None:
        self.config = home / "sim.toml"
        self.proc = subprocess.Popen(ibmon("sim", "--write-config", str(self.config)), env=command_env(home),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        deadline = time.monotonic() + 30
        while not self.config.exists() and self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if not self.config.exists():
            self.stop()
            raise AssertionError(f"ibmon sim wrote no config: {self.proc.stderr.read() if self.proc.stderr else ''}")

    def stop(self) -> None:
        stop(self.proc, signal.SIGINT)


def config_with_serve(sims_config: Path, target: Path, serve_table: str) -> Path:
    target.write_text(sims_config.read_text() + "\n[serve]\n" + serve_table)
    target.chmod(0o600)
    return target


class Server:
    """`ibmon serve --port 0` on `config`; `url` is the address it printed."""

    def __init__(self, config: Path, home: Path, *args: str, password: str | None = PASSWORD) -> None:
        extra = {PASSWORD_VAR: password} if password is not None else {}
        self.proc = subprocess.Popen(ibmon("--config", str(config), "serve", "--port", "0", *args),
                                     env=command_env(home, **extra), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.url = self._address()

    def _address(self) -> str:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""
        found = SERVING.search(line)
        if not found:
            self.stop()
            raise AssertionError(f"ibmon serve did not start: {line!r} {self.proc.stderr.read() if self.proc.stderr else ''}")
        return found.group(1)

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it (then its dashboards are stopped too)."""
        return stop(self.proc, signal.SIGTERM)


def stop(proc: subprocess.Popen, signum: int) -> int:
    """Stop `proc` with `signum`, killing its whole session if it does not end in time; the exit status."""
    if proc.poll() is None:
        proc.send_signal(signum)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode
