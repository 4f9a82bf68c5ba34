"""What the Flex simulator can be told (`ibmon sim ibkr_flex --set KEY=VALUE`, `--help` lists them)."""

from ibmon.options import Option
from ibmon.simkit import FAULT_SETTINGS, SEED, TLS_SETTINGS

DEFAULT_TOKEN = "811302486412895127461539"
EXPIRED_TOKEN = "200000000000000000000001"
DEFAULT_QUERY = "987654"

SETTINGS = (
    Option("tokens", "list", default=[DEFAULT_TOKEN], help="tokens the service knows (the first goes into the demo connection)"),
    Option("expired_tokens", "list", default=[EXPIRED_TOKEN], help="tokens answered 1012 (expired)"),
    Option("query_ids", "list", default=[DEFAULT_QUERY], help="query ids the service knows"),
    Option("pending_polls", "int", default=2, minimum=0, help="GetStatement calls answered 1019 (in progress) per reference"),
    Option("min_interval", "float", default=1.0, minimum=0, help="seconds a token must wait between requests (else 1018)"),
    Option("max_per_minute", "int", default=10, minimum=1, help="requests a token may make in a minute (else 1018)"),
    Option("date_format", "str", default="yyyyMMdd", choices=("yyyyMMdd", "yyyy-MM-dd", "MM/dd/yyyy"),
           help="how statements write dates"),
    Option("datetime_separator", "str", default=";", choices=(";", ",", " ", "T"),
           help="what separates a statement's date from its time"),
    Option("interval", "float", default=1.0, minimum=0.01, help="seconds between market moves of the portfolio"),
    Option("poll_seconds", "float", default=30.0, minimum=1, help="poll_seconds written into the demo connection"),
    SEED,
    *FAULT_SETTINGS,
    *TLS_SETTINGS,
)
