"""What the B2Core simulator can be told (`ibmon sim b2core --set KEY=VALUE`, `--help` lists them)."""

from ibmon.sdk import Option
from ibmon.simkit import FAULT_SETTINGS, SEED, TLS_SETTINGS

SETTINGS = (
    Option("accounts", "int", default=400, minimum=0, maximum=1_000_000, help="how many accounts the IB has"),
    Option("token_ttl", "float", default=3600.0, minimum=0, help="seconds a token lives"),
    Option("expires_in_unit", "str", default="s", choices=("s", "ms", "none"),
           help="how the token reply states the lifetime (none: it does not)"),
    Option("envelope", "str", default="data", choices=("data", "data_no_total", "bare"),
           help="account list replies as {data, total}, {data} or a bare list"),
    Option("max_limit", "int", default=1000, minimum=1,
           help="the largest page served (larger limits are cut silently)"),
    Option("interval", "float", default=1.0, minimum=0.01, help="seconds between drift steps of the balances"),
    Option("expire_tokens", "float", default=0.0, minimum=0,
           help="seconds between forced expiries of every token (0: never)"),
    SEED,
    *FAULT_SETTINGS,
    *TLS_SETTINGS,
)
