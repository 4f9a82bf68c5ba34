import inspect

import ibmon.hookspecs as hookspecs


def _hooks():
    return [obj for name, obj in vars(hookspecs).items()
            if name.startswith("ibmon_") and inspect.isfunction(obj)]


def test_there_are_hooks_for_providers_simulators_themes_and_commands():
    names = {hook.__name__ for hook in _hooks()}
    assert {"ibmon_providers", "ibmon_simulators", "ibmon_themes", "ibmon_commands"} <= names


def test_every_hook_is_documented_and_takes_register():
    for hook in _hooks():
        doc = inspect.getdoc(hook) or ""
        assert len(doc.split()) >= 15, f"{hook.__name__} needs a docstring that explains it"
        assert "register(" in doc, f"{hook.__name__}'s docstring must show how to call register"
        assert list(inspect.signature(hook).parameters) == ["register"], hook.__name__
