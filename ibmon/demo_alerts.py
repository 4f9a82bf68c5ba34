"""Example alert rules for `ibmon demo`: they fire on the simulators within a minute, so a new
user sees an alert (badge, notification, the alerts screen) without writing a rule. Wide
hysteresis keeps the simulators' random walks from firing and clearing them every few seconds."""

DEMO_RULES = [
    {"name": "Margin watch", "kind": "margin_level_below", "threshold": 100},
    {"name": "Price jump", "kind": "price_move", "threshold": 0.3, "window": "1m", "hysteresis": 60},
    {"name": "Big loss", "kind": "position_loss", "threshold": 1000, "currency": "USD", "hysteresis": 20},
    {"name": "New leads", "kind": "new_leads", "threshold": 0, "window": "2m"},
    {"name": "Deposit", "kind": "deposit_over", "threshold": 100, "window": "5m"},
    {"name": "Connection down", "kind": "connection_down", "threshold": 30},
]
