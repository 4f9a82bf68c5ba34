"""ibmon provider plugin: xtb (in progress)."""
