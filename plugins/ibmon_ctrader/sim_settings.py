"""What the cTrader simulator can be told (`ibmon sim ctrader --set KEY=VALUE`, `--help` lists them)."""

from ibmon.sdk import Option
from ibmon.simkit import FAULT_SETTINGS, SEED, TLS_SETTINGS

DEFAULT_TOKEN = "ctrader-sim-token-3f9c2a7e51"

SETTINGS = (
    Option("interval", "float", default=0.5, minimum=0.01,
           help="seconds between market steps (quotes, deals, deposits)"),
    Option("deals", "bool", default=True,
           help="positions open and close and clients deposit by themselves (off: only quotes move)"),
    Option("token", "str", default=DEFAULT_TOKEN, help="the access token with every scope"),
    Option("revoke_token", "bool", default=False, help="start with that token revoked (CH_ACCESS_TOKEN_INVALID)"),
    Option("history_deals", "int", default=80, minimum=0, maximum=100_000, help="past deals per account"),
    Option("history_cashflows", "int", default=40, minimum=0, maximum=100_000,
           help="past deposits and withdrawals per account"),
    SEED,
    *FAULT_SETTINGS,
    *TLS_SETTINGS,
)
