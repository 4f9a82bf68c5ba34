"""The collector's edges: off loopback only with TLS and a token; tokens checked, rate-limited after
failures, never logged; a read-only token watches but runs nothing; a dashboard says when the
collector refuses its token."""

from __future__ import annotations

import asyncio
import json
import ssl

import httpx
import pytest
import websockets

from ibmon.attach import AttachRuntime
from ibmon.collect import LOGIN_FAILURES
from ibmon.desk import AttachSettings
from ibmon.model import HealthState
from ibmon.secrets import Secret
from ibmon.store import Store

from collect_support import collecting, ibmon, simulators, write_config

TOKEN = "full-token-0123456789abcdef"
READ_ONLY = "watch-token-0123456789abcdef"
WRONG = "wrong-token-0123456789abcdef"
TOKENS = {"COLLECT_TOKEN": TOKEN, "COLLECT_RO_TOKEN": READ_ONLY}


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    import trustme

    folder = tmp_path_factory.mktemp("collect-tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    return folder


@pytest.fixture(scope="module")
def sims():
    with simulators(only=["b2core"]) as running:
        yield running


@pytest.mark.parametrize("collect, missing", [
    ({}, "needs tls_cert and tls_key and a token"),
    ({"token": TOKEN}, "needs tls_cert and tls_key"),
    ("tls", "needs a token"),
])
def test_a_bind_off_loopback_without_tls_and_a_token_is_refused(tmp_path, sims, tls, collect, missing):
    if collect == "tls":
        collect = {"tls_cert": str(tls / "cert.pem"), "tls_key": str(tls / "key.pem")}
    config = write_config(tmp_path / "c.toml", sims.connections(), {"listen": "0.0.0.0", **collect})
    for command in (["collect"], ["config", "check"]):
        done = ibmon("--config", str(config), *command)
        out, err = done.communicate(timeout=60)
        assert done.returncode == 1, (command, out)
        assert f'listen = "0.0.0.0" is not loopback: it {missing}' in err
        assert "serving" not in out and TOKEN not in out + err


def tls_config(tmp_path, sims, tls, listen="0.0.0.0"):
    return write_config(tmp_path / "c.toml", sims.connections(), {
        "listen": listen, "tls_cert": str(tls / "cert.pem"), "tls_key": str(tls / "key.pem"),
        "token": {"env": "COLLECT_TOKEN"}, "read_only_token": {"env": "COLLECT_RO_TOKEN"}})


def client_tls(tls) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls / "ca.pem"))


async def attach(url: str, tls, token: str):
    return await websockets.connect(url, ssl=client_tls(tls), max_size=None,
                                    additional_headers={"Authorization": f"Bearer {token}"})


async def test_off_loopback_with_tls_and_tokens(tmp_path, sims, tls, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # the collector's own log folder
    config = tls_config(tmp_path, sims, tls)
    with collecting(config, env=TOKENS) as collector:
        port = collector.base.rsplit(":", 1)[1]
        base, url = f"https://127.0.0.1:{port}", f"wss://127.0.0.1:{port}/attach"
        async with httpx.AsyncClient(verify=client_tls(tls)) as http:
            assert (await http.get(f"{base}/metrics")).status_code == 401
            scraped = await http.get(f"{base}/metrics", headers={"Authorization": f"Bearer {READ_ONLY}"})
            assert scraped.status_code == 200 and "ibmon_connection_up" in scraped.text
            assert TOKEN not in scraped.text and READ_ONLY not in scraped.text
        with pytest.raises(Exception):  # no clear text on a TLS port
            await websockets.connect(f"ws://127.0.0.1:{port}/attach", open_timeout=5)

        # the full token: the whole picture, with the quick actions the connection offers
        ws = await attach(url, tls, TOKEN)
        full = json.loads(await ws.recv())
        assert full["t"] == "full" and full["role"] == "full"
        (connection,) = full["connections"]
        assert {"b2core.enable", "b2core.disable"} <= {a["id"] for a in connection["actions"]}
        await ws.close()

        # a read-only token watches: its mutating actions are refused by the collector
        ws = await attach(url, tls, READ_ONLY)
        full = json.loads(await ws.recv())
        assert full["role"] == "read-only" and full["connections"][0]["read_only"] is True
        account = next(r for r in full["records"] if r[0] == "account")
        await ws.send(json.dumps({"t": "action", "id": 1, "connection": account[1], "action": "b2core.disable",
                                  "kind": "account", "key": account[2]["id"]}))
        result = await next_result(ws)
        assert result["ok"] is False and "read-only" in result["message"]
        await ws.close()

        # wrong tokens: refused, then the address waits, even with the right token
        for _ in range(LOGIN_FAILURES):
            with pytest.raises(websockets.InvalidStatus) as refused:
                await attach(url, tls, WRONG)
            assert refused.value.response.status_code == 401
        with pytest.raises(websockets.InvalidStatus) as limited:
            await attach(url, tls, TOKEN)
        assert limited.value.response.status_code == 429
        assert int(limited.value.response.headers["Retry-After"]) > 0
        async with httpx.AsyncClient(verify=client_tls(tls)) as http:
            assert (await http.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).status_code == 429

    log = (tmp_path / "state" / "ibmon" / "log" / "ibmon.log").read_text()
    assert log.count("refused a login") == LOGIN_FAILURES + 1  # the scrape without a token, the wrong ones
    for secret in (TOKEN, READ_ONLY, WRONG):
        assert secret not in log


async def next_result(ws) -> dict:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if message["t"] == "result":
            return message


async def test_a_dashboard_says_when_the_collector_refuses_its_token(tmp_path, sims, tls):
    config = tls_config(tmp_path, sims, tls, listen="127.0.0.1")
    with collecting(config, env=TOKENS) as collector:
        url = collector.attach.replace("ws://", "wss://")
        runtime = AttachRuntime(Store(), AttachSettings(url=url, token=Secret(WRONG), ca=tls / "ca.pem"))
        await runtime.start()
        try:
            for _ in range(200):
                if runtime.store.state(runtime.link_name) is HealthState.RECONNECTING:
                    break
                await asyncio.sleep(0.05)
            health = runtime.store.health[runtime.link_name]
            assert health.state is HealthState.RECONNECTING
            assert health.detail == "the collector refused the token (attach_token)"
            assert WRONG not in health.describe()
        finally:
            await runtime.stop()
        good = AttachRuntime(Store(), AttachSettings(url=url, token=Secret(TOKEN), ca=tls / "ca.pem"))
        await good.start()
        try:
            for _ in range(200):
                if good.store.accounts:
                    break
                await asyncio.sleep(0.05)
            assert good.store.state(good.link_name) is HealthState.LIVE and good.store.accounts
        finally:
            await good.stop()
