"""An independent xAPI client (xapi-python) against the xtb simulator over WebSocket: the simulator
speaks the protocol, not just what our own client expects."""

import asyncio
import warnings

import pytest

from ibmon_xtb.sim import start as start_simulator

xapi = pytest.importorskip("xapi")


async def test_xapi_python_logs_in_reads_symbols_and_receives_ticks():
    sim = await start_simulator(churn_seconds=0, tick_seconds=0.05)
    try:
        host = sim.endpoints["main_ws"].removesuffix("/demo")  # xapi builds host + "/demo" and "/demoStream"
        user_id, password = sim.connections[0]["user_id"], sim.connections[0]["password"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # it uses websockets' legacy client
            client = await xapi.connect(user_id, password, host=host, type="demo")
        async with client:
            reply = await client.socket.getAllSymbols()
            assert reply["status"] is True
            names = {record["symbol"] for record in reply["returnData"]}
            assert names == set(sim.control.instruments())
            await client.stream.getTickPrices("EURUSD", minArrivalTime=1)
            ticks = []

            async def listen():
                async for message in client.stream.listen():
                    if message["command"] == "tickPrices":
                        ticks.append(message["data"])
                        if len(ticks) == 3:
                            return

            await asyncio.wait_for(listen(), 5)
            assert {t["symbol"] for t in ticks} == {"EURUSD"}
            assert all(t["ask"] > t["bid"] > 0 for t in ticks)
    finally:
        await sim.stop()


async def test_xapi_python_is_refused_with_a_wrong_password():
    sim = await start_simulator(churn_seconds=0)
    try:
        host = sim.endpoints["main_ws"].removesuffix("/demo")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            with pytest.raises(xapi.LoginFailed, match="BE005"):
                await xapi.connect(sim.connections[0]["user_id"], "wrong-password", host=host, type="demo")
    finally:
        await sim.stop()
