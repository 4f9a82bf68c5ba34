"""ibmon provider plugin: ibkr_flex (in progress)."""
