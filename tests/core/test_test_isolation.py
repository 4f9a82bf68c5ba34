"""The test suite keeps out of the user's folders: in this process and in the commands it starts,
ibmon's config, log and data folders are under the run's temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import platformdirs

from ibmon import config as cfg
from ibmon.logs import log_dir
from ibmon.themes import user_themes_dir

IBMON = Path(sys.prefix) / "bin" / "ibmon"


def test_ibmon_folders_are_under_the_runs_temporary_folder(test_home):
    for folder in (cfg.default_path(), log_dir(), user_themes_dir(), platformdirs.user_cache_path("ibmon")):
        assert folder.is_relative_to(test_home), folder
    assert "IBMON_CONFIG" not in os.environ


def test_a_command_the_tests_start_uses_the_same_folders(test_home):
    shown = subprocess.run([str(IBMON), "config", "path"], capture_output=True, text=True, timeout=60,
                           check=True).stdout.strip()
    assert Path(shown) == cfg.default_path() and Path(shown).is_relative_to(test_home)
    logs = subprocess.run([sys.executable, "-c", "from ibmon.logs import log_dir; print(log_dir())"],
                          capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    assert Path(logs).is_relative_to(test_home)
