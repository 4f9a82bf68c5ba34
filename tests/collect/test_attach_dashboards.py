"""Two dashboards attached to one `ibmon collect`: the same records in both, a quick action from one
confirmed there and run once on the collector, and one login per simulator whatever the number of
dashboards (the collector is the only client of the providers)."""

from __future__ import annotations

from decimal import Decimal

from ibmon.app import IbmonApp
from ibmon.attach import AttachRuntime
from ibmon.desk import AttachSettings
from ibmon.plugins import PluginHost
from ibmon.screens.confirm import ConfirmScreen
from ibmon.store import Store

from collect_support import collecting, notifications, simulators, until, write_config

CTRADER = "cTrader demo"
B2CORE_TOKENS = "/api/v2/ib/tokens"
CRM_LOGIN = "/api/v1/auth/login"


def records(store: Store) -> dict:
    return {"accounts": store.accounts, "positions": store.positions, "leads": store.leads,
            "ticks": {conn: set(ticks) for conn, ticks in store.ticks.items()}}


async def test_two_dashboards_share_one_collector(tmp_path):
    with simulators({"ctrader.interval": 3600}) as sims:
        config = write_config(tmp_path / "collect.toml", sims.connections())
        with collecting(config) as collector:
            host = PluginHost()
            host.load()
            first = AttachRuntime(Store(), AttachSettings(url=collector.attach))
            second = AttachRuntime(Store(), AttachSettings(url=collector.attach))
            one, two = IbmonApp(first, host), IbmonApp(second, host)
            async with one.run_test(size=(140, 40)) as pilot, two.run_test(size=(140, 40)) as pilot_two:
                names = {c["name"] for c in sims.connections()}

                def everything_in() -> bool:
                    """both dashboards show every connection's accounts"""
                    return all(set(rt.store.accounts) >= names - {"Impact CRM demo"} for rt in (first, second))

                await until(pilot, everything_in, timeout=30)
                assert first.store.health[first.link_name].state.value == "live"
                await until(pilot, lambda: records(first.store) == records(second.store), timeout=10)
                await until(pilot_two, lambda: one.dashboard.accounts.row_count == two.dashboard.accounts.row_count > 0,
                            timeout=10)

                # the deposit applies to demo accounts only: the collector says which
                conn = first.connections[CTRADER]
                deposit = next(a for a in conn.session.actions() if a.id == "ctrader.demo_deposit")
                demo = [a for a in first.store.accounts[CTRADER].values() if deposit.is_available(a)]
                live = [a for a in first.store.accounts[CTRADER].values() if not deposit.is_available(a)]
                assert demo and live
                account = demo[0]
                before = account.balance
                control = sims.control("ctrader")
                deposits_before = len(control.log("/deposit", "POST"))

                one.run_worker(one.perform_action(CTRADER, deposit, account))
                await until(pilot, lambda: isinstance(one.screen, ConfirmScreen))
                assert "Deposit" in one.screen.question and (account.name or account.id) in one.screen.question
                await pilot.press("y")
                await until(pilot, lambda: any("deposit" in n.lower() for n in notifications(one)
                                               if CTRADER in n), timeout=15)

                def balance_moved(store: Store) -> bool:
                    now = store.accounts[CTRADER][account.id].balance
                    return now is not None and now > before

                await until(pilot, lambda: balance_moved(first.store) and balance_moved(second.store), timeout=15)
                assert len(control.log("/deposit", "POST")) == deposits_before + 1
                assert not isinstance(two.screen, ConfirmScreen)  # nothing asked on the other dashboard
                gained = second.store.accounts[CTRADER][account.id].balance - before
                assert gained > Decimal(0)

            assert sims.control("xtb").logins() == 1
            assert sims.control("b2core").requests(B2CORE_TOKENS) == 1
            assert sims.control("crm").requests(CRM_LOGIN) == 1
