"""Every first-party plugin keeps the plugin contract (ibmon.testing.check_plugin_contract) against
its own simulator, as a third-party plugin's tests would check it."""

import pytest

from ibmon.plugins import PluginHost
from ibmon.testing import check_plugin_contract

FIRST_PARTY = ["b2core", "crm", "ctrader", "ibkr_flex", "xtb"]


@pytest.fixture(scope="module")
def host() -> PluginHost:
    host = PluginHost()
    host.load(only=FIRST_PARTY)
    assert not host.failures(), [(info.name, info.error) for info in host.failures()]
    return host


@pytest.mark.parametrize("name", FIRST_PARTY)
def test_first_party_plugin_keeps_the_contract(host, name):
    report = check_plugin_contract(host.providers[name], host.simulators[name])
    assert report.records and report.mode in ("poll", "stream")
    assert report.drop_error, "the dropped link raised nothing"
