"""The B2Core plugin through the host: registration, polling into the store, quick actions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ibmon.errors import ConfigError, ProviderError
from ibmon.feeds import FeedRuntime
from ibmon.model import HealthState
from ibmon.plugins import PluginHost
from ibmon.store import Store
from ibmon.testing import make_context, wait_for
from ibmon_b2core.records import ACCOUNT_TYPES, facts, to_account
from test_b2core_support import PROVIDER, ListSink, connection_options, session_for, sim_of, simulator


def test_plugin_registers_provider_and_simulator():
    host = PluginHost()
    host.load(only=["b2core"])
    assert host.plugins["b2core"].status == "ok", host.plugins["b2core"].error
    provider = host.providers["b2core"]
    names = {option.name for option in provider.options}
    assert {"base_url", "client_id", "client_secret", "token", "page_size", "filters", "poll_seconds"} <= names
    assert provider.option("client_secret").secret and provider.option("token").secret
    assert provider.option("page_size").default == 1000  # few requests: 50 for 50,000 accounts
    assert "b2core" in host.simulators


async def test_registered_simulator_checks_its_settings_and_its_connection_reaches_it():
    host = PluginHost()
    host.load(only=["b2core"])
    simulator = host.simulators["b2core"]
    assert simulator.setting("accounts").default == 400 and simulator.setting("tls_cert")
    for wrong, named in (({"acounts": 25}, '"acounts" (did you mean "accounts"?)'),
                         ({"accounts": "25"}, '"accounts" must be an integer')):
        with pytest.raises(ConfigError) as caught:
            await simulator.start(**wrong)
        assert named in str(caught.value)
    running = await simulator.start(accounts=25, interval=3600, seed=3)
    try:
        [entry] = running.connections
        assert entry["provider"] == "b2core" and running.endpoints["api"] == entry["base_url"]
        session = session_for(running)
        sink = ListSink()
        try:
            await session.poll(sink)
        finally:
            await session.close()
        assert len(sink.by_id) == 25
    finally:
        await running.stop()


def test_the_declared_rule_needs_credentials_or_a_token():
    host = PluginHost()
    host.load(only=["b2core"])
    provider = host.providers["b2core"]
    with pytest.raises(ConfigError) as caught:
        make_context(provider, name="B", base_url="http://127.0.0.1:1/api", client_id="only-the-id")
    assert caught.value.problems == ['connection "B": needs "token", or "client_id" with "client_secret" '
                                     '("client_secret" missing)']
    for credentials in ({"token": "b2-token-4410"}, {"client_id": "id", "client_secret": "b2-secret-4410"}):
        provider.connect(make_context(provider, base_url="http://127.0.0.1:1/api", **credentials))


async def test_poll_maps_every_account_exactly():
    async with simulator(accounts=120) as running:
        session = session_for(running, page_size=50)
        sink = ListSink()
        try:
            await session.poll(sink)
        finally:
            await session.close()
        sim = sim_of(running)
        assert sink.by_id.keys() == sim.accounts().keys()
        for account_id, raw in sim.accounts().items():
            account = sink.by_id[account_id]
            info = facts(account)
            assert account.balance == raw["balance"] and account.equity == raw["equity"]
            assert account.credit == raw["credit"] and account.profit == raw["profit"]
            assert account.currency == raw["currency"] and account.name == raw["number"]
            assert info["number"] == raw["number"] and info["platform"] == raw["platformName"]
            assert info["group"] == raw["platformGroupName"] and info["environment"] == raw["environment"]
            assert info["type"] == ACCOUNT_TYPES[raw["type"]]
            assert info["enabled"] == ("yes" if raw["enabled"] else "no")
            assert info["archived"] == ("yes" if raw["archived"] else "no")
        assert {facts(a)["type"] for a in sink.by_id.values()} == set(ACCOUNT_TYPES.values())
        assert {"MetaTrader 4", "MetaTrader 5", "cTrader"} == {facts(a)["platform"] for a in sink.by_id.values()}
        assert {"demo", "production"} == {facts(a)["environment"] for a in sink.by_id.values()}
        btc = [a for a in sink.by_id.values() if a.currency == "BTC"]
        assert btc and all(a.balance.as_tuple().exponent == -18 for a in btc)


def test_an_account_record_holds_each_value_once():
    item = {"accountId": "a1", "number": "5001", "currency": "USD", "balance": "10.50", "equity": "10.50",
            "credit": "0.00", "profit": "0.00", "pnl": "-1.25", "platformName": "MetaTrader 5", "type": 2}
    account = to_account(item)
    assert account.equity is account.balance == Decimal("10.50")  # no credit: one Decimal for both
    assert to_account({**item, "accountId": "a2"}).credit is account.credit  # zeros of one text are shared
    assert to_account({**item, "equity": "10.5"}).equity.as_tuple().exponent == -1  # exact as sent
    assert "number" not in dict(account.extra) and facts(account)["number"] == "5001"  # the name is the number
    assert dict(account.extra)["pnl"] == "-1.25"
    with pytest.raises(ProviderError, match="equity: expected a number"):  # a flag is no equity, though True == 1
        to_account({**item, "balance": 1, "equity": True})


def test_type_names_follow_the_spec():
    assert ACCOUNT_TYPES[0] == "default"
    assert ACCOUNT_TYPES[4] == "B2Copy investment" and ACCOUNT_TYPES[5] == "B2Copy master"
    assert ACCOUNT_TYPES[6] == "PAMM investment" and ACCOUNT_TYPES[7] == "PAMM master"
    assert ACCOUNT_TYPES[8] == "MAM investment" and ACCOUNT_TYPES[9] == "MAM master"


async def test_filters_option_becomes_filter_parameters():
    async with simulator(accounts=80) as running:
        session = session_for(running, filters={"archived": False, "currency": "EUR"})
        sink = ListSink()
        try:
            await session.poll(sink)
        finally:
            await session.close()
        expected = {a["accountId"] for a in sim_of(running).accounts().values()
                    if not a["archived"] and a["currency"] == "EUR"}
        assert expected and sink.by_id.keys() == expected
        listed = [r for r in running.control.log() if r.path.endswith("/accounts")]
        assert listed[0].query["filter[archived]"] == "0" and listed[0].query["filter[currency]"] == "EUR"


async def _runtime_with(running, *, read_only=False, **options):
    store = Store()
    runtime = FeedRuntime(store, watchdog_interval=None)
    context = make_context(PROVIDER, name="B2", read_only=read_only,
                           **connection_options(running, poll_seconds=0.5, **options))
    runtime.add(PROVIDER, context)
    await runtime.start()
    return runtime, store


async def test_runtime_polls_into_the_store_and_follows_drifting_balances():
    async with simulator(accounts=40, interval=0.05) as running:
        runtime, store = await _runtime_with(running)
        try:
            await wait_for(lambda: len(store.accounts.get("B2", {})) == 40)
            assert store.health["B2"].state is HealthState.LIVE
            first = dict(store.accounts["B2"])
            await wait_for(lambda: any(store.accounts["B2"][key].balance != first[key].balance for key in first))
        finally:
            await runtime.stop()


async def test_tokens_expiring_during_polling_are_renewed_unseen():
    # Tokens outlive a few polls (0.5 s apart) but not many; a lifetime shorter than one loaded
    # request would expire a fresh token before its first use (the client then rightly gives up).
    async with simulator(accounts=10, expire_tokens=1.5) as running:
        runtime, store = await _runtime_with(running)
        try:
            session = runtime.connections["B2"].session
            await wait_for(lambda: session.client.tokens_fetched >= 3, timeout=30)
            assert store.health["B2"].state is HealthState.LIVE
            assert len(store.accounts["B2"]) == 10
        finally:
            await runtime.stop()


async def test_server_errors_show_on_the_health_line_with_the_server_message():
    async with simulator(accounts=10, error_rate=1.0) as running:
        runtime, store = await _runtime_with(running)
        try:
            await wait_for(lambda: store.health["B2"].state is HealthState.RECONNECTING)
            assert "simulated internal error" in store.health["B2"].detail
        finally:
            await runtime.stop()


async def test_disable_and_enable_actions_change_the_account_after_confirmation_text():
    async with simulator(accounts=30) as running:
        runtime, store = await _runtime_with(running)
        try:
            await wait_for(lambda: len(store.accounts.get("B2", {})) == 30)
            sim = sim_of(running)
            raw = next(a for a in sim.accounts().values() if a["enabled"])
            account = store.accounts["B2"][raw["accountId"]]
            actions = {action.id: action for action in runtime.connections["B2"].session.actions()}
            disable, enable = actions["b2core.disable"], actions["b2core.enable"]
            assert disable.target == enable.target == "account" and disable.mutating
            assert disable.is_available(account) and not enable.is_available(account)
            question = disable.question(account)
            assert raw["number"] in question and raw["platformName"] in question and "Disable" in question

            message = await runtime.run_action("B2", disable, account)
            assert raw["number"] in message and "disabled" in message
            assert sim.accounts()[raw["accountId"]]["enabled"] is False
            # The API's answer reaches the store at once, not at the next poll only.
            changed = store.accounts["B2"][raw["accountId"]]
            assert facts(changed)["enabled"] == "no" and enable.is_available(changed)

            await runtime.run_action("B2", enable, changed)
            assert sim.accounts()[raw["accountId"]]["enabled"] is True
        finally:
            await runtime.stop()


async def test_actions_are_refused_on_a_read_only_connection():
    async with simulator(accounts=5) as running:
        runtime, store = await _runtime_with(running, read_only=True)
        try:
            await wait_for(lambda: len(store.accounts.get("B2", {})) == 5)
            raw = next(iter(sim_of(running).accounts().values()))
            disable = runtime.connections["B2"].session.actions()[1]
            with pytest.raises(ProviderError, match="read-only"):
                await runtime.run_action("B2", disable, store.accounts["B2"][raw["accountId"]])
            assert sim_of(running).accounts()[raw["accountId"]]["enabled"] == raw["enabled"]
        finally:
            await runtime.stop()


async def test_action_errors_carry_the_server_message():
    async with simulator(accounts=5) as running:
        runtime, store = await _runtime_with(running)
        try:
            await wait_for(lambda: len(store.accounts.get("B2", {})) == 5)
            account = next(iter(store.accounts["B2"].values()))
            sim_of(running).remove_account(account.id)
            disable = runtime.connections["B2"].session.actions()[1]
            with pytest.raises(ProviderError) as caught:
                await runtime.run_action("B2", disable, account)
            assert f"Account {account.id} not found" in caught.value.message
        finally:
            await runtime.stop()


async def test_delete_asks_for_the_account_number_to_be_typed():
    async with simulator(accounts=5) as running:
        session = session_for(running)
        sink = ListSink()
        try:
            await session.poll(sink)
            account = next(iter(sink.by_id.values()))
            delete = session.delete_action()
            assert delete.typed_confirmation(account) == facts(account)["number"]
            assert "cannot be undone" in delete.question(account)
            result = await delete.run(account)
            assert "deleted" in result.message and result.removed == (("account", account.id),)
            assert account.id not in sim_of(running).accounts()
        finally:
            await session.close()


async def test_secrets_stay_out_of_reprs_and_errors():
    async with simulator(accounts=3) as running:
        options = connection_options(running, client_secret="a-wrong-but-secret-value")
        session = PROVIDER.connect(make_context(PROVIDER, **options))
        try:
            with pytest.raises(ProviderError) as caught:
                await session.poll(ListSink())
            assert "a-wrong-but-secret-value" not in caught.value.message
            assert "a-wrong-but-secret-value" not in repr(session.client.__dict__)
        finally:
            await session.close()
