"""What the xAPI simulator can be told (`ibmon sim xtb --set KEY=VALUE`, `--help` lists them)."""

from ibmon.sdk import Option
from ibmon.simkit import SEED, TLS_SETTINGS

DEFAULT_USERS = {"1000123": "xtb-demo-password", "1000456": "second-demo-password"}


def _seconds(name: str, default: float, what: str) -> Option:
    return Option(name, "float", default=default, minimum=0, maximum=3600, help=what)


SETTINGS = (
    Option("users", "table", default=DEFAULT_USERS, help='accounts as { "user id" = "password" } (the first goes '
                                                         "into the demo connection)"),
    Option("currency", "str", default="EUR", help="the accounts' currency (one the simulator has prices for): "
                                                  "profits and margins are converted into it"),
    Option("positions", "int", default=3, minimum=0, maximum=1000, help="open positions per account at the start"),
    Option("volatility", "float", default=0.00015, minimum=0, maximum=1,
           help="size of a price step (0: prices stand still)"),
    _seconds("tick_seconds", 0.1, "seconds between market steps and stream writes"),
    _seconds("churn_seconds", 6.0, "seconds between positions opening or closing by themselves (0: never)"),
    _seconds("keepalive_seconds", 3.0, "seconds between keepAlive records"),
    _seconds("candle_seconds", 60.0, "seconds between candle records"),
    _seconds("update_seconds", 0.5, "seconds between balance and profit records"),
    _seconds("trade_delay", 0.05, "seconds a trade transaction takes to execute"),
    # the connection rules of the xAPI spec
    _seconds("first_data_timeout", 1.0, "seconds a new connection may wait before its first command"),
    Option("command_limit", "int", default=1024, minimum=16, help="bytes a command may have"),
    _seconds("pacing", 0.2, "seconds commands must be apart (the 200 ms rule)"),
    Option("max_violations", "int", default=6, minimum=1, help="pacing violations in a row that drop the connection"),
    Option("max_connections", "int", default=50, minimum=0, help="connections per address (then EX008)"),
    # fault knobs
    _seconds("drop_every", 0.0, "seconds between forced disconnects of every connection (0: never)"),
    _seconds("reply_delay", 0.0, "seconds added before every main-connection reply"),
    Option("slow_commands", "table", default={}, help="seconds added before some replies, e.g. { getTrades = 2 }"),
    _seconds("malformed_every", 0.0, "seconds between malformed packets on the streams (0: never)"),
    Option("reject_logins", "bool", default=False, help="refuse every login with BE005"),
    Option("split_frames", "bool", default=False, help="write socket replies in small pieces"),
    Option("stream_silent", "bool", default=False,
           help="streams stay open but send nothing, not even keepAlive (a dead link the client cannot see)"),
    SEED,
    *TLS_SETTINGS,  # with a certificate, tls:// and wss:// endpoints beside tcp:// and ws://
)
