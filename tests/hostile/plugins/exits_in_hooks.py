"""A plugin that imports fine, then ends the process from its hooks: sys.exit() when asked for its
providers, a KeyboardInterrupt when asked for its palette commands."""

import sys

from ibmon import hookimpl


@hookimpl
def ibmon_providers(register):
    sys.exit(4)


@hookimpl
def ibmon_commands(register):
    raise KeyboardInterrupt
