"""ibmon provider plugin: ctrader (in progress)."""
