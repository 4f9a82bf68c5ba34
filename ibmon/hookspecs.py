"""The hook specifications a plugin implements.

A plugin is a module (an entry point of group ``ibmon``, or a single file in a configured
``plugin_dirs`` folder) with functions decorated by ``ibmon.hookimpl``::

    from ibmon import hookimpl
    from ibmon.api import Provider

    @hookimpl
    def ibmon_providers(register):
        register(Provider(name="acme", title="ACME", connect=AcmeSession, options=OPTIONS))

Every hook receives a ``register`` callback rather than returning values, so one implementation may
register several things and the host can attribute each to its plugin. The host calls each
implementation on its own, guarded: an exception is recorded against that plugin and the others run.
Hooks are for discovery and wiring only; nothing is called per tick.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("ibmon")


@hookspec
def ibmon_providers(register):
    """Register the providers this plugin offers.

    Call ``register(provider)`` with an ``ibmon.api.Provider`` for each kind of connection: its
    name (the ``provider`` key in config), a title, the declared options and a ``connect``
    callable returning an ``ibmon.api.Session``. Provider names are global: a second plugin
    registering a taken name is reported as failed for that provider.
    """


@hookspec
def ibmon_simulators(register):
    """Register protocol simulators for this plugin's providers.

    Call ``register(simulator)`` with an ``ibmon.api.Simulator``: ``start(host=..., **settings)``
    serves the provider's protocol on loopback and returns an ``ibmon.api.RunningSimulator`` whose
    ``connections`` reach it and whose ``control`` handle tests use; ``settings`` declares what it
    takes (checked before it starts). ``ibmon demo``, ``ibmon sim`` and the tests use them;
    ``ibmon.simkit`` is the kit to build one with.
    """


@hookspec
def ibmon_themes(register):
    """Register themes.

    Call ``register(path)`` with a theme TOML file (see themes/ibmon-dark.toml for the format) or
    ``register(theme)`` with an ``ibmon.api.ThemeSpec``. Broken themes are reported together in one
    notification and skipped.
    """


@hookspec
def ibmon_commands(register):
    """Register command palette entries.

    Call ``register(command)`` with an ``ibmon.api.Command``. Its ``run(app)`` is called when the
    user picks it in the palette (ctrl+p).
    """
