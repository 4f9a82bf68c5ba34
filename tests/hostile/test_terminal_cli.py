"""What the `ibmon` command prints for people, and what it logs, carries no raw control character:
a plugin's name, error or theme path, or a provider's text in a log record, cannot drive the
terminal that shows them (or `tail -f` of the log)."""

from __future__ import annotations

import logging

from ibmon import cli
from ibmon.logs import setup_logging

HOSTILE = "evil\x1b]0;owned\x07\x1b[2J\x9b1m\u202ename"


def test_error_lines_show_control_characters_as_escapes(capsys):
    cli.error(f"plugin {HOSTILE} failed")
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "\x9b" not in err and "\u202e" not in err
    assert "plugin evil\\x1b]0;owned\\x07\\x1b[2J\\x9b1m\\u202ename failed" in err


def test_plugins_listing_escapes_a_hostile_plugin_error(tmp_path, capsys, monkeypatch):
    (tmp_path / "hostile_name.py").write_text(f"raise RuntimeError({HOSTILE!r})\n")
    monkeypatch.setenv("IBMON_CONFIG", str(tmp_path / "none.toml"))
    for args in (["--plugin-dir", str(tmp_path), "plugins"], ["--plugin-dir", str(tmp_path), "plugins", "--json"]):
        assert cli.main(args) == 0
        out = capsys.readouterr().out
        assert "hostile_name" in out and "RuntimeError" in out
        assert not any(ch in out for ch in "\x1b\x07\x9b\u202e"), out


def test_log_records_hold_no_raw_control_characters(debug_home):
    root = logging.getLogger()
    level = root.level
    path = setup_logging()
    try:
        logging.getLogger("ibmon.test").warning("provider said %s\nsecond line", HOSTILE)
        for handler in root.handlers:
            handler.flush()
        text = path.read_text()
    finally:  # leave logging as the other tests expect it
        for handler in [h for h in root.handlers if getattr(h, "ibmon", False)]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)
    assert "provider said evil\\x1b]0;owned" in text and "\nsecond line" in text
    assert not any(ch in text for ch in "\x1b\x07\x9b\u202e")
