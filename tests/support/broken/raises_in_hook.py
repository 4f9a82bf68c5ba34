"""A plugin that imports fine but raises in a hook call."""

from ibmon import hookimpl


@hookimpl
def ibmon_providers(register):
    raise ValueError("provider table exploded")


@hookimpl
def ibmon_commands(register):
    raise KeyError("no commands today")
