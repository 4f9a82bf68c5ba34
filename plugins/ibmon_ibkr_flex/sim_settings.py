"""What the Flex simulator can be told (`ibmon sim ibkr_flex --set KEY=VALUE`, `--help` lists them)."""

from ibmon.sdk import Option
from ibmon.simkit import FAULT_SETTINGS, SEED, TLS_SETTINGS

from ibmon_ibkr_flex.dates import DATE_STYLES, SEPARATORS
from ibmon_ibkr_flex.sim_portfolio import POSITION_DETAILS, TRADE_TIMES

DEFAULT_TOKEN = "811302486412895127461539"
EXPIRED_TOKEN = "200000000000000000000001"
DEFAULT_QUERY = "987654"

SETTINGS = (
    Option("tokens", "list", default=[DEFAULT_TOKEN],
           help="tokens the service knows (the first goes into the demo connection)"),
    Option("expired_tokens", "list", default=[EXPIRED_TOKEN], help="tokens answered 1012 (expired)"),
    Option("query_ids", "list", default=[DEFAULT_QUERY], help="query ids the service knows"),
    Option("pending_polls", "int", default=2, minimum=0,
           help="GetStatement calls answered 1019 (in progress) per reference"),
    Option("min_interval", "float", default=1.0, minimum=0,
           help="seconds a token must wait between requests (else 1018)"),
    Option("max_per_minute", "int", default=10, minimum=1, help="requests a token may make in a minute (else 1018)"),
    # how the Flex query is set up: what its statements look like
    Option("date_format", "str", default="yyyyMMdd", choices=DATE_STYLES, help="how statements write dates"),
    Option("datetime_separator", "str", default=";", choices=SEPARATORS,
           help="what separates a statement's date from its time"),
    Option("position_detail", "str", default="summary+lot", choices=POSITION_DETAILS,
           help="open positions as summary rows, lot rows, or each summary followed by its lots"),
    Option("nav_sections", "bool", default=True, help='statements carry the "Net Asset Value" and "Change in NAV" '
                                                      "sections"),
    Option("base_summary", "bool", default=True, help="statements carry the BASE_SUMMARY cash row"),
    Option("trade_times", "str", default="dateTime", choices=TRADE_TIMES,
           help="trades timed by dateTime, or by tradeDate and tradeTime as older statements are"),
    Option("interval", "float", default=1.0, minimum=0.01, help="seconds between market moves of the portfolio"),
    Option("poll_seconds", "float", default=30.0, minimum=1, help="poll_seconds written into the demo connection"),
    SEED,
    *FAULT_SETTINGS,
    *TLS_SETTINGS,
)
