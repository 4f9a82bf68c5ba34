"""SimulatorHost: simulators on loopback in their own thread, failures kept apart."""

import socket
from pathlib import Path

import pytest

from ibmon.errors import ConfigError
from ibmon.plugins import PluginHost
from ibmon.simulators import SimulatorHost

SUPPORT = Path(__file__).parent / "support"

EXTRA_SIMULATORS = '''
from ibmon import hookimpl
from ibmon.api import RunningSimulator, Simulator
from ibmon.options import Option


async def fails(host="127.0.0.1", **settings):
    raise OSError("port exploded")


async def twin(host="127.0.0.1", **settings):
    async def stop():
        STOPPED.append(True)
    return RunningSimulator(provider="twin", endpoints={"api": "http://nowhere"},
                            connections=[{"name": "Example demo", "provider": "twin", "seen": settings}], stop=stop)

STOPPED = []


@hookimpl
def ibmon_simulators(register):
    register(Simulator(provider="broken_sim", title="Broken", start=fails))
    register(Simulator(provider="twin", title="Twin", start=twin,
                       settings=(Option("interval", "float", default=1.0), Option("size", "int", default=3))))
'''


@pytest.fixture
def host(tmp_path, monkeypatch) -> PluginHost:
    monkeypatch.delenv("IBMON_PLUGINS", raising=False)
    (tmp_path / "extra_sims.py").write_text(EXTRA_SIMULATORS)
    host = PluginHost()
    host.load(plugin_dirs=[SUPPORT, tmp_path], entry_points=False)
    return host


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def refused(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_every_simulator_starts_and_one_failing_does_not_stop_the_others(host):
    with SimulatorHost(host) as sims:
        sims.start(settings={"interval": 30})
        assert sorted(r.provider for r in sims.running) == ["example", "twin"]
        assert sims.failures == {"broken_sim": "OSError: port exploded"}
        assert sims.failure_lines() == ['simulator "broken_sim" did not start: OSError: port exploded']
        entries = sims.connections()
        assert [e["name"] for e in entries] == ["Example demo", "Example demo 2"]
        assert entries[1]["seen"] == {"interval": 30, "size": 3}  # checked, defaults filled in
        url = entries[0]["url"]
        assert url.startswith("ws://127.0.0.1:") and not refused(port_of(url))
    assert refused(port_of(url))
    assert host.simulators["twin"].start.__globals__["STOPPED"] == [True]


def test_only_the_named_simulators_start(host):
    with SimulatorHost(host) as sims:
        sims.start(["twin"])
        assert [r.provider for r in sims.running] == ["twin"] and sims.failures == {}


def test_an_unknown_simulator_name_is_a_clear_error(host):
    sims = SimulatorHost(host)
    with pytest.raises(ConfigError) as caught:
        sims.start(["exampel", "twin"])
    assert caught.value.problems == ['no simulator for "exampel" (did you mean "example"?); '
                                     'simulators: broken_sim, example, twin']
    assert sims.running == []
    sims.stop()


def test_settings_are_checked_before_any_simulator_starts(host):
    sims = SimulatorHost(host)
    with pytest.raises(ConfigError) as caught:
        sims.start(["example", "twin"], {"intervall": 2, "size": "big"})
    assert caught.value.problems == [
        'unknown simulator setting "intervall" (did you mean "interval"?): no simulator started here '
        '(example, twin) takes it',
    ]
    with pytest.raises(ConfigError) as caught:
        sims.start(["example", "twin"], {"size": "big", "token": 7})
    assert sorted(caught.value.problems) == ['simulator "example": setting "token" must be a string, not an integer',
                                             'simulator "twin": setting "size" must be an integer, not a string']
    assert sims.running == [] and sims.failures == {}
    sims.stop()


def test_a_setting_goes_to_each_simulator_declaring_it_or_to_the_one_named(host):
    with SimulatorHost(host) as sims:
        sims.start(["example", "twin"], {"interval": 0.5, "twin.size": 9})
        seen = next(e for e in sims.connections() if e["provider"] == "twin")["seen"]
        assert seen == {"interval": 0.5, "size": 9}
        with pytest.raises(ConfigError, match='"example.size": the example simulator has no such setting'):
            sims.check_settings(["example", "twin"], {"example.size": 1})
