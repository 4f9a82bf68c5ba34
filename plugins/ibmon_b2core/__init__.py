"""ibmon provider plugin: b2core (in progress)."""
