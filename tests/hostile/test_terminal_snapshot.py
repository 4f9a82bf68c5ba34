"""`ibmon snapshot` (the real command) against simulators holding hostile strings: the text form
shows them as safe text, the JSON form keeps them as data, and neither writes a raw control
character to the terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import tomli_w

from ibmon import config as cfg

from terminal_support import (
    CT_BROKEN, CT_CURRENCY, CT_ERROR, FLEX_SYMBOL, NAMES, XTB_CURRENCY, XTB_SYMBOL, hostile_connections,
    hostile_simulators, raw_controls,
)


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    with hostile_simulators() as sims:
        path = tmp_path_factory.mktemp("snapshot") / "config.toml"
        cfg.write_private(path, tomli_w.dumps({"connections": hostile_connections(sims)}))
        yield path


def snapshot(config, tmp_path, *flags: str) -> str:
    env = {**os.environ, **{var: str(tmp_path / var.lower()) for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME",
                                                                         "XDG_DATA_HOME")}}
    done = subprocess.run([sys.executable, "-m", "ibmon", "--config", str(config), "snapshot", "--timeout", "20",
                           *flags], capture_output=True, env=env, timeout=120)
    assert done.returncode == 1, done.stderr.decode()  # the broken connection fails the snapshot
    out = done.stdout.decode("utf-8")  # strict: a lone surrogate could not have been written
    assert raw_controls(done.stderr.decode("utf-8")) == []
    return out


def test_text_snapshot_shows_hostile_strings_as_safe_text(config, tmp_path):
    out = snapshot(config, tmp_path)
    assert raw_controls(out) == [], raw_controls(out)[:10]
    assert f"{NAMES['xtb']} (xtb): ok" in out and f"{NAMES['crm']} (crm): ok" in out
    assert "\\x1b]0;pwned\\x07" in out  # XTB's account currency
    assert XTB_SYMBOL in out and "[b]\\x9bZ" in out and "\\x9b6n" in out
    assert f"{CT_BROKEN} (ctrader): FAILED: INVALID_REQUEST: \\x1b]52;c;ZXZpbA==\\x07 [/] \\x1b[2J second line" in out


def test_json_snapshot_keeps_the_strings_as_data_and_escapes_them_for_the_terminal(config, tmp_path):
    out = snapshot(config, tmp_path, "--json")
    assert raw_controls(out) == [], raw_controls(out)[:10]
    assert "\\u009b6n" in out and "\\u202e" not in out  # JSON escapes, not display escapes
    connections = {c["name"]: c for c in json.loads(out)["connections"]}
    assert [a["currency"] for a in connections[NAMES["xtb"]]["accounts"]] == [XTB_CURRENCY]
    assert XTB_SYMBOL in {p["symbol"] for p in connections[NAMES["xtb"]]["positions"]}
    assert CT_CURRENCY in {a["currency"] for a in connections[NAMES["ctrader"]]["accounts"]}
    assert FLEX_SYMBOL in {p["symbol"] for p in connections[NAMES["ibkr_flex"]]["positions"]}
    assert CT_ERROR.replace("\n", " ") in connections[CT_BROKEN]["error"]
