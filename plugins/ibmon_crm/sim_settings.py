"""What the Impact CRM simulator can be told (`ibmon sim crm --set KEY=VALUE`, `--help` lists them)."""

from ibmon.sdk import Option
from ibmon.simkit import FAULT_SETTINGS, TLS_SETTINGS

API_KEY = "sim-crm-api-key-6f1c2a"
DOMAIN = "ib-demo.impactcrm.local"
EMAIL = "ib.reports@example.com"
PASSWORD = "sim-crm-password"


def _rate(name: str, what: str, default: float) -> Option:
    return Option(name, "float", default=default, minimum=0, maximum=1000, help=f"mean {what} per tick")


SETTINGS = (
    Option("api_key", "str", default=API_KEY, help="the X-Api-Key the CRM accepts"),
    Option("domain", "str", default=DOMAIN, help="the X-DOMAIN the key is valid for"),
    Option("email", "str", default=EMAIL, help="the login's email"),
    Option("password", "str", default=PASSWORD, help="the login's password"),
    Option("leads", "int", default=5000, minimum=0, maximum=100_000_000, help="leads in the history"),
    Option("huge_leads", "int", default=0, minimum=0, maximum=1_000_000_000,
           help="leads in the history spread over a year, instead of `leads` (0: use leads)"),
    Option("history_days", "float", default=0.0, minimum=0, maximum=36_500,
           help="days the history spans (0: 120, or 365 with huge_leads)"),
    Option("tick", "float", default=1.0, minimum=0, help="seconds between arrivals (0: nothing arrives)"),
    _rate("lead_rate", "new leads", 0.1),
    _rate("transaction_rate", "new deposits and withdrawals", 0.1),
    _rate("position_rate", "closed positions", 0.3),
    Option("conversion", "float", default=0.22, minimum=0, maximum=1, help="share of leads that become customers"),
    Option("conversion_delay", "float", default=20.0, minimum=0, help="seconds from a lead to its registration"),
    Option("token_ttl", "float", default=3600.0, minimum=0, help="seconds a login token lives"),
    Option("expire_tokens", "int", default=0, minimum=0, help="every Nth data call finds its token expired (0: never)"),
    Option("seed", "int", default=7, help="random seed of the population and the arrivals"),
    *FAULT_SETTINGS,
    *TLS_SETTINGS,
)
