import sys
from pathlib import Path

import pytest

SUPPORT = Path(__file__).parent / "support"


@pytest.fixture
def example_host():
    """A PluginHost with only the example single-file plugin loaded."""
    from ibmon.plugins import PluginHost

    host = PluginHost()
    host.load(plugin_dirs=[SUPPORT], only=["example_plugin"], entry_points=False)
    assert host.plugins["example_plugin"].status == "ok", host.plugins["example_plugin"].error
    return host
