"""`ibmon collect` on the simulators, scraped by a real Prometheus server on loopback: every account's
equity in Prometheus equals (as a float) what `ibmon snapshot --json` reports, and the scrape
authenticates with the collector's token without the token showing in any figure."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from collect_support import collecting, ibmon, simulators, write_config

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
EXAMPLES = Path(__file__).parents[2] / "examples"
TOKEN = "scrape-token-0123456789abcdef"
#: Nothing moves in the simulators' markets, so the collector and the snapshot read the same figures.
STILL = {"b2core.interval": 3600, "ctrader.interval": 3600, "ibkr_flex.interval": 3600, "xtb.tick_seconds": 3600,
         "crm.tick": 0}

pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="the prometheus binary is not installed "
                                                           "(Debian: apt-get install prometheus)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def query(api: str, expression: str) -> list[dict]:
    reply = httpx.get(f"{api}/api/v1/query", params={"query": expression}, timeout=5)
    reply.raise_for_status()
    return reply.json()["data"]["result"]


def snapshot_equities(config) -> dict[tuple[str, str], Decimal]:
    done = ibmon("--config", str(config), "snapshot", "--json", "--timeout", "20")
    out, err = done.communicate(timeout=60)
    assert done.returncode == 0, err
    equities = {}
    for connection in json.loads(out)["connections"]:
        for account in connection["accounts"]:
            if account["equity"] is not None:
                equities[(connection["name"], account["number"])] = Decimal(account["equity"])
    return equities


def test_prometheus_scrapes_the_equity_the_snapshot_reports(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRAPE_TOKEN", TOKEN)  # the config's token reference; the commands inherit it
    with simulators(STILL) as sims:
        config = write_config(tmp_path / "collect.toml", sims.connections(), {"token": {"env": "SCRAPE_TOKEN"}})
        expected = snapshot_equities(config)
        assert len(expected) > 10
        with collecting(config) as collector:
            target = collector.base.split("://", 1)[1]
            (tmp_path / "token").write_text(TOKEN)
            (tmp_path / "prometheus.yml").write_text(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                f"rule_files: ['{EXAMPLES / 'ibmon-alerts.yml'}']\n"
                "scrape_configs:\n  - job_name: ibmon\n"
                f"    authorization:\n      credentials_file: {tmp_path / 'token'}\n"
                f"    static_configs:\n      - targets: ['{target}']\n")
            port = free_port()
            api = f"http://127.0.0.1:{port}"
            server = subprocess.Popen(
                [PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{port}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                found = wait_for_series(api, len(expected))
                scraped = {(s["metric"]["connection"], s["metric"]["account"]): float(s["value"][1]) for s in found}
                assert scraped.keys() == expected.keys()
                for key, equity in expected.items():
                    assert scraped[key] == float(equity), key
                up = query(api, 'up{job="ibmon"}')
                assert up and up[0]["value"][1] == "1"
                live = query(api, "ibmon_connection_up")
                assert {s["metric"]["connection"] for s in live} == {c["name"] for c in sims.connections()}
                labels = httpx.get(f"{api}/api/v1/labels", timeout=5).json()["data"]
                assert "position" not in labels and "id" not in labels
                for label in labels:
                    values = httpx.get(f"{api}/api/v1/label/{label}/values", timeout=5).json()["data"]
                    assert not any(TOKEN in value for value in values)
                check_examples(api)
            finally:
                server.terminate()
                server.wait(20)


def wait_for_series(api: str, count: int, timeout: float = 60.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    found: list[dict] = []
    while time.monotonic() < deadline:
        try:
            found = query(api, "ibmon_account_equity")
        except httpx.HTTPError:
            found = []
        if len(found) >= count:
            return found
        time.sleep(0.5)
    raise AssertionError(f"Prometheus holds {len(found)} equity series of {count} after {timeout:g} s")


def check_examples(api: str) -> None:
    """The example alert rules evaluate on the live figures, and every figure the examples name exists."""
    deadline = time.monotonic() + 30
    while True:
        groups = httpx.get(f"{api}/api/v1/rules", timeout=5).json()["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        if rules and all(rule.get("lastEvaluation", "").startswith("20") for rule in rules) or \
                time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(rules) == 5 and all(rule["health"] == "ok" for rule in rules), rules
    names = set(httpx.get(f"{api}/api/v1/label/__name__/values", timeout=5).json()["data"])
    text = (EXAMPLES / "ibmon-alerts.yml").read_text() + (EXAMPLES / "grafana" / "ibmon-dashboard.json").read_text()
    named = set(re.findall(r"\bibmon_[a-z_]+", text))
    assert named and named <= names, named - names


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian: apt-get install prometheus)")
def test_the_example_scrape_config_and_rules_pass_promtool(tmp_path):
    for args in (["check", "config", str(EXAMPLES / "prometheus.yml")],
                 ["check", "rules", str(EXAMPLES / "ibmon-alerts.yml")]):
        done = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
    dashboard = json.loads((EXAMPLES / "grafana" / "ibmon-dashboard.json").read_text())
    assert dashboard["panels"] and all(target["expr"] for panel in dashboard["panels"] for target in panel["targets"])
