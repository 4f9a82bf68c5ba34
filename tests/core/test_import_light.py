import subprocess
import sys

HEAVY = ("textual", "httpx", "websockets", "aiohttp", "ibmon_xtb", "ibmon_ctrader", "ibmon_b2core", "ibmon_crm",
         "ibmon_ibkr_flex")


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return {line.split(".")[0] for line in out.split()}


def test_import_ibmon_imports_nothing_heavy():
    loaded = _modules_after("import ibmon")
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_plugin_api_imports_without_textual_or_network_libraries():
    loaded = _modules_after("import ibmon.api, ibmon.model, ibmon.store, ibmon.feeds, ibmon.plugins, ibmon.testing")
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_the_plugin_sdk_imports_without_textual_or_network_libraries():
    loaded = _modules_after("import ibmon.sdk, ibmon.sdk.ui")
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_hookimpl_marker_is_available_from_the_package():
    loaded = _modules_after("from ibmon import hookimpl; assert hookimpl.project_name == 'ibmon'")
    assert "textual" not in loaded


def test_loading_every_installed_plugin_imports_no_textual_or_network_library():
    loaded = _modules_after("from ibmon.plugins import PluginHost; PluginHost().load()")
    network = {"textual", "httpx", "websockets", "aiohttp"}
    assert not loaded & network, loaded & network


def test_the_simulator_kit_imports_aiohttp_only_when_a_server_is_made():
    assert "aiohttp" not in _modules_after("import ibmon.simkit")
    assert "aiohttp" in _modules_after("from ibmon.simkit import HttpSimulator; HttpSimulator()")
