"""ibmon: a plugin-based terminal monitor for introducing brokers.

Importing this package is cheap on purpose: no Textual, httpx, websockets or plugin is imported
until a command needs it.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    # `from ibmon import hookimpl` without importing pluggy for every `import ibmon`.
    if name == "hookimpl":
        import pluggy

        return pluggy.HookimplMarker("ibmon")
    raise AttributeError(f"module 'ibmon' has no attribute {name!r}")
